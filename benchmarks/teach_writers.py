"""Phase 4 across many writers: how much better does the reader read a new writer's letters after that writer
teaches it a few of them with `hdl-native letters --finetune`, and what does it forget meanwhile?

For each of --writers writers (drawn by --seed among those with at least MIN_LETTERS letters), the writer's
letters are shuffled and split: up to --teach of each letter (default 2: the alphabet written twice) go into a
crops directory exactly as `ocr --crops` writes one (28x28 PNGs, bright ink on black, and labels.tsv with the
right labels, as a user would leave it after correcting), the rest are the judge.  Then, as a user would:

    hdl-native letters --finetune DIR [--model STATE] --out DIR/mine.hdl      # the default 2,500 batches

and the judge letters are read by the reader before and after, as `ocr` reads a crop (hdl_native.ocr.model's
classifier: its shifted copies, temperature and offset on 'other'; a letter counts when the most probable class
is its own).  What the lesson costs everyone else is measured twice: on up to OTHERS letters of the split's other
writers (the same for every writer of a run), read the same way, and by the fine-tune's own report of the test
splits before and after (each source of the reader's dataset).

--split test takes unipen's test writers (61 writers the shipped reader never saw); --split heldout the writers
the reader's own run held out of training (hdl-native letters --holdout, rebuilt from the settings the state
records, as `hdl-native calibrate` does), for choosing anything without looking at the judge.  Not a test: it
measures.  About 1.5 minutes a writer on a 2-core Zen 5 (the 2,500-batch fine-tune, loading and measuring).

Usage: HDL_DATA=../shared/data python benchmarks/teach_writers.py --split heldout|test [--writers 8] [--seed 0]
  [--teach 2] [--model STATE] [--threads 2] [--out DIR] [--json] [-- EXTRA letters --finetune OPTIONS]
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ocr_nonletters import heldout_letters  # noqa: E402

from hdl_native.data import find_data_root, load_dataset  # noqa: E402
from hdl_native.data.datasets import LETTERS  # noqa: E402
from hdl_native.data.mixture import recorded_writers  # noqa: E402
from hdl_native.ocr.model import load_letter_classifier  # noqa: E402
from hdl_native.ocr.user_crops import LABELS_FILE, crop_names  # noqa: E402
from hdl_native.threads import set_num_threads  # noqa: E402

MIN_LETTERS = 150  # a writer taught 52 letters keeps about 100 or more to judge by
OTHERS = 3000  # letters of the other writers read before and after each lesson


def writers_letters(split, state, root, seed):
    """(uint8 (n, 28, 28), labels (n,) in 0..25, writers (n,)) of the split's letters whose writer is recorded."""
    if split == "test":
        test = load_dataset("unipen", "test", root)
        images, labels, writers = test.images, test.labels, recorded_writers(test)
    else:
        images, labels, writers = heldout_letters(state, root, seed)
    known = writers >= 0
    return images[known], labels[known], writers[known]


def chosen_writers(writers, count, seed):
    """The ids of `count` writers of at least MIN_LETTERS letters, drawn by `seed`, in the drawn order."""
    ids, counts = np.unique(writers, return_counts=True)
    eligible = ids[counts >= MIN_LETTERS]
    if len(eligible) < count:
        raise SystemExit(f"only {len(eligible)} writers have at least {MIN_LETTERS} letters; asked for {count}")
    return np.random.default_rng([seed, 1]).permutation(eligible)[:count]


def lesson_and_judge(labels, teach, rng):
    """(indices taught, indices judged) of one writer's letters (labels (n,)): the first `teach` of each letter in
    a shuffled order are taught, the rest judged."""
    order = rng.permutation(len(labels))
    seen = np.zeros(len(LETTERS), np.int64)
    taught = []
    for k in order:
        if seen[labels[k]] < teach:
            seen[labels[k]] += 1
            taught.append(k)
    taught = np.array(sorted(taught), np.int64)
    return taught, np.setdiff1d(np.arange(len(labels)), taught)


def write_lesson(directory, images, labels):
    """A crops directory as `ocr --crops` writes one, its labels corrected: one PNG per letter and labels.tsv."""
    directory.mkdir(parents=True)
    lines = ["# a writer's letters, labelled right (benchmarks/teach_writers.py)"]
    for name, image, label in zip(crop_names([len(images)]), images, labels):  # one line of boxes, as ocr names them
        Image.fromarray(image).save(directory / name)
        lines.append(f"{name}\t{LETTERS[label]}\t1.00")
    (directory / LABELS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")


def judged(classifier, images, labels):
    """Percent of `images` the reader (ocr.model.load_letter_classifier's) reads as their `labels`, as `ocr` reads."""
    column = [classifier.classes.index(letter) for letter in LETTERS]
    read = classifier.probabilities(images).argmax(axis=1)
    return 100.0 * float(np.mean(read == np.array(column)[labels]))


def finetune(directory, model, threads, extra):
    """Run `hdl-native letters --finetune` on the directory; returns its JSON summary."""
    command = [sys.executable, "-m", "hdl_native", "letters", "--finetune", str(directory),
               "--out", str(directory / "mine.hdl"), "--threads", str(threads), "--no-db", "--quiet", "--json",
               "--force", *(["--model", model] if model else []), *extra]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("heldout", "test"), required=True)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--teach", type=int, default=2, help="letters of each class taught (default 2)")
    parser.add_argument("--model", default=None, help="the reader's state (default: the shipped one)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="keep the crops and fine-tuned states here")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("extra", nargs="*", help="after --: more options for letters --finetune")
    args = parser.parse_args(argv)
    set_num_threads(args.threads)
    root = find_data_root(None)
    images, labels, writers = writers_letters(args.split, args.model, root, args.seed)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="teach-writers-"))
    rows = []
    chosen = chosen_writers(writers, args.writers, args.seed)
    pool = np.flatnonzero(~np.isin(writers, chosen))
    other_letters = np.sort(np.random.default_rng([args.seed, 3]).permutation(pool)[:OTHERS])
    reader = load_letter_classifier(args.model)  # read once; each lesson's reader once too
    others_before = judged(reader, images[other_letters], labels[other_letters])
    for n, writer in enumerate(chosen):
        mine = np.flatnonzero(writers == writer)
        taught, judge = lesson_and_judge(labels[mine], args.teach, np.random.default_rng([args.seed, 2, n]))
        directory = out / f"writer{n + 1:02d}"
        write_lesson(directory, images[mine[taught]], labels[mine[taught]])
        summary = finetune(directory, args.model, args.threads, args.extra)
        taught_reader = load_letter_classifier(str(directory / "mine.hdl"))
        before = judged(reader, images[mine[judge]], labels[mine[judge]])
        after = judged(taught_reader, images[mine[judge]], labels[mine[judge]])
        others_after = judged(taught_reader, images[other_letters], labels[other_letters])
        splits = {name: summary["accuracy_after"][name] - summary["accuracy_before"][name]
                  for name in summary["accuracy_before"] if not name.startswith("your crops")}
        rows.append({"writer": int(writer), "taught": len(taught), "judged": len(judge), "before": before,
                     "after": after, "other_writers_change": others_after - others_before,
                     "test_splits_change": splits, "batches": summary["batches"],
                     "seconds": summary["run_train_seconds"]})
        print(f"writer {n + 1} (id {writer}): taught {len(taught)}, judged {len(judge)}: {before:.2f}% -> "
              f"{after:.2f}% ({after - before:+.2f}); {summary['batches']} batches; {len(other_letters)} letters "
              f"of the other writers {others_before:.2f}% -> {others_after:.2f}% "
              f"({others_after - others_before:+.2f}); "
              "the test splits: " + ", ".join(f"{name} {change:+.2f}" for name, change in splits.items()), flush=True)
    gains = np.array([row["after"] - row["before"] for row in rows])
    mean_before = np.mean([row["before"] for row in rows])
    mean_after = np.mean([row["after"] for row in rows])
    print(f"{args.split} writers: {len(rows)}, mean {mean_before:.2f}% -> {mean_after:.2f}% ({gains.mean():+.2f}, "
          f"from {gains.min():+.2f} to {gains.max():+.2f}; {int(np.sum(gains > 0))} gain, "
          f"{int(np.sum(gains < 0))} lose); the other writers' letters "
          f"{np.mean([row['other_writers_change'] for row in rows]):+.2f} on average")
    if args.json:
        print(json.dumps({"split": args.split, "seed": args.seed, "teach": args.teach, "writers": rows,
                          "mean_before": mean_before, "mean_after": mean_after}))


if __name__ == "__main__":
    main()
