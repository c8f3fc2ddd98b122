"""Count the English letter 5-gram `hdl-native ocr` reads words with (hdl_native/ocr/language.py).

    HDL_DATA=../shared/data python tools/count_letter_ngrams.py [--text FILE] [--out FILE]

Counts every 1- to 5-gram of letters in the words of the text (default: tiny shakespeare, public domain,
$HDL_DATA/text/tinyshakespeare.txt) and writes them to hdl_native/pretrained/english-letters.npz.  The other
text of text/, the tutorial's blog posts, is not counted: benchmarks/ocr_nonletters.py --words english builds
its pages of English words from it, so the model is judged on words it was not counted from.
"""
import argparse
import hashlib
import os
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(CHECKOUT))

from hdl_native.errors import HDLError  # noqa: E402
from hdl_native.ocr.language import ORDER, SHIPPED, count_ngrams, save_ngrams, words_of  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_text = Path(os.environ.get("HDL_DATA", "../shared/data")) / "text" / "tinyshakespeare.txt"
    parser.add_argument("--text", type=Path, default=default_text, help=f"text to count (default {default_text})")
    parser.add_argument("--out", type=Path, default=SHIPPED["english"], help="n-gram file to write")
    args = parser.parse_args(argv)
    try:
        data = args.text.read_bytes()
    except OSError as error:
        print(f"count_letter_ngrams: cannot read {args.text}: {error.strerror}", file=sys.stderr)
        return 2
    words = words_of(data.decode("utf-8", errors="replace"))
    if not words:
        print(f"count_letter_ngrams: {args.text} holds no words of letters a-z", file=sys.stderr)
        return 2
    tables = count_ngrams(words, ORDER)
    source = (f"letter 1- to {ORDER}-grams of the {len(words)} words of {args.text.name} (sha256 "
              f"{hashlib.sha256(data).hexdigest()}); tiny shakespeare is public-domain text, from "
              "github.com/karpathy/char-rnn data/tinyshakespeare/input.txt")
    try:
        save_ngrams(args.out, tables, source)
    except HDLError as error:
        print(f"count_letter_ngrams: {error}", file=sys.stderr)
        return 2
    print(f"{args.out}: {sum(len(codes) for codes, _ in tables.values())} n-grams, {args.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
