"""The shipped reader in int8 on its stored activation ranges against the letters-split calibration that
`ocr --dtype int8` falls back to for states without them, and against float32: accuracy and argmax
agreement on the letters and unipen test splits, and the letters read on the OCR test pages.

  HDL_DATA=../shared/data python benchmarks/int8_calibration.py
"""
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main():
    from test_ocr_pages import make_pages, read_pages

    from hdl_native.checkpoint import PRETRAINED_LETTERS, load_checkpoint, load_model, save_entries
    from hdl_native.data import find_data_root, load_dataset
    from hdl_native.int8 import Int8Classifier
    from hdl_native.ocr.crops import normalize
    from hdl_native.ocr.model import calibration_letters, load_letter_classifier
    from hdl_native.tensor import Tensor

    root = find_data_root(None)
    model, meta = load_model(PRETRAINED_LETTERS)
    mean, std = meta["normalization"]["mean"], meta["normalization"]["std"]
    networks = {"512 letters of the letters training split": Int8Classifier.from_float(
                    model, calibration_letters(root, mean, std)),
                "the stored ranges": Int8Classifier.from_float(model, ranges=meta["int8_ranges"])}
    for name in ("letters", "unipen"):
        test = load_dataset(name, "test", root)
        images = normalize(test.images, mean, std)
        floats = np.concatenate([np.asarray(model.logits(Tensor(images[i:i + 2000])).value).argmax(1)
                                 for i in range(0, len(images), 2000)])
        print(f"{name} test ({len(images)}): float32 {np.mean(floats == test.labels):.2%}")
        for label, network in networks.items():
            read = network.logits(images).argmax(1)
            print(f"  int8 on {label}: {np.mean(read == test.labels):.2%}, agreement {np.mean(read == floats):.2%}")
    with tempfile.TemporaryDirectory() as folder:
        without = Path(folder) / "without-ranges.hdl"
        entries = {k: v for k, v in load_checkpoint(PRETRAINED_LETTERS).items() if k not in ("format_version",
                                                                                                "int8_ranges")}
        save_entries(without, entries)
        pages, _ = make_pages(root, Path(folder))
        for label, state, dtype in (("float32", None, "float32"), ("int8 on the stored ranges", None, "int8"),
                                    ("int8 on the letters split", without, "int8")):
            _, correct, total = read_pages(pages, load_letter_classifier(state, dtype, root))
            print(f"OCR test pages, {label}: {correct}/{total} = {correct / total:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
