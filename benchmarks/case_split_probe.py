"""A probe for issue 13's reader: train with upper and lower case as separate classes (52), merged when reading
(p(a) + p(A)), against training with them merged (26), on unipen alone, and measure both on writers held out of
unipen's *training* split (the test split is not read).

unipen (and nistvowels, chars74k) ship a case file beside the merged labels (unipen/README.md); the shipped
reader merges the cases, so its class 'a' holds two shapes.  This writes, under --work, unipen's training split
cut by writer (HOLDOUT_WRITERS writers, drawn with a fixed seed, held out) twice: labels 0..25 (dataset u26) and
0..51 (u52: + 26 for a capital), trains the reader's network on one with `hdl-native letters` (Adam, cosine
step, --distort 0.75: the recipe's, without its mixture, touching pairs and class balance), and prints one JSON
line: the held-out writers' accuracy and mean negative log-likelihood of the merged 26 letters.

  HDL_DATA=../shared/data python benchmarks/case_split_probe.py 26|52 --seed S [--epochs 10] [--threads 1]
"""
import argparse
import gzip
import json
import sys
from pathlib import Path

import numpy as np

from hdl_native.data import datasets, find_data_root
from hdl_native.data.idx import read_idx, write_idx

HOLDOUT_WRITERS = 50
CAPITALS = [letter.upper() for letter in datasets.LETTERS]


def split_by_writer(source, work):
    """Write unipen's training split, HOLDOUT_WRITERS writers held out as 'test', as datasets u26 and u52."""
    if (work / "u52" / "u52-test-labels-idx1-ubyte.gz").is_file():
        return
    images = read_idx(source / "unipen-train-images-idx3-ubyte.gz")
    labels = read_idx(source / "unipen-train-labels-idx1-ubyte.gz").astype(np.int64)
    capital = read_idx(source / "unipen-train-case-idx1-ubyte.gz").astype(np.int64)
    with gzip.open(source / "unipen-train-meta.tsv.gz", "rt") as stream:  # the first two columns name the writer
        writers = np.array(["\t".join(line.split("\t")[:2]) for line in stream])
    held_out = np.isin(writers, np.random.default_rng(12345).choice(np.unique(writers), HOLDOUT_WRITERS,
                                                                     replace=False))
    for name, named in (("u26", labels), ("u52", labels + 26 * capital)):
        (work / name).mkdir(parents=True, exist_ok=True)
        for split, part in (("train", ~held_out), ("test", held_out)):
            write_idx(work / name / f"{name}-{split}-images-idx3-ubyte.gz", images[part])
            write_idx(work / name / f"{name}-{split}-labels-idx1-ubyte.gz", named[part].astype(np.uint8))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("classes", choices=["26", "52"])
    parser.add_argument("--seed", default="0")
    parser.add_argument("--epochs", default="10")
    parser.add_argument("--threads", default="1")
    parser.add_argument("--data", default=None, help="data root holding unipen/ (default: $HDL_DATA)")
    parser.add_argument("--work", default="/tmp/case-split-probe", help="where the split sets and states go")
    args = parser.parse_args(argv)
    work = Path(args.work)
    split_by_writer(find_data_root(args.data) / "unipen", work)
    datasets.DATASETS["u26"] = datasets.letter_set("u26", "unipen (CC BY 4.0), cut by writer")
    spec = datasets.letter_set("u52", "unipen (CC BY 4.0), cut by writer, cases apart")
    datasets.DATASETS["u52"] = datasets.DatasetSpec(**{**spec.__dict__, "classes": datasets.LETTERS + CAPITALS})
    from hdl_native.checkpoint import load_checkpoint, load_model
    from hdl_native.cli import main as hdl_native
    from hdl_native.training.evaluate import Evaluator

    name, state = f"u{args.classes}", work / f"u{args.classes}-seed{args.seed}-epochs{args.epochs}.hdl"
    code = hdl_native(["letters", "--model", "letters-vgg", "--dataset", name, "--adam", "--lr-schedule", "cosine",
                       "--epochs", args.epochs, "--distort", "0.75", "--seed", args.seed, "--threads", args.threads,
                       "--validate-every", "100000", "--no-db", "--quiet", "--force", "--out", str(state),
                       "--data", str(work)])
    if code:
        return code
    model, _ = load_model(state)
    images = read_idx(work / "u26" / "u26-test-images-idx3-ubyte.gz")
    labels = read_idx(work / "u26" / "u26-test-labels-idx1-ubyte.gz").astype(np.int64)
    log_probs = Evaluator(model, normalization=load_checkpoint(state).get("normalization")).predict_log_probs(images)
    probabilities = np.exp(log_probs - log_probs.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    if args.classes == "52":
        probabilities = probabilities[:, :26] + probabilities[:, 26:]
    right = probabilities[np.arange(len(labels)), labels]
    print(json.dumps({"classes": int(args.classes), "seed": int(args.seed), "epochs": int(args.epochs),
                      "held_out_images": int(len(labels)), "held_out_writers": HOLDOUT_WRITERS,
                      "accuracy": round(100.0 * float(np.mean(probabilities.argmax(axis=1) == labels)), 3),
                      "nll": round(float(-np.mean(np.log(right + 1e-12))), 4)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
