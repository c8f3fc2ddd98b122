"""Issue 15's quantisation table: a float32 state at 8, 4 and 2 bits under each scheme, on the real test split.

Runs exactly these commands in-process for every row and prints one Markdown table (accuracy and mean
test loss from `evaluate --json`; sizes and weight errors from `quantize --json`, the percentage of the float32
state with the same entries; the weight error is the rms of (dequantised - float32) over all weights, in percent
of their rms):

  hdl-native evaluate STATE --json --threads 1
  hdl-native quantize STATE --bits B --scheme S [--per-channel] --out OUT/NAME-S-B.hdl --force --json
  hdl-native evaluate OUT/NAME-S-B.hdl --json --threads 1

With --finetune-batches N, two rows more: 4 and 2 bits equal-population after N batches of quantisation-aware
fine-tuning (`quantize ... --finetune-batches N`, on the images STATE's run trained on; about 0.1 s a batch for the
shipped reader).

Usage: HDL_DATA=/work/shared/data python benchmarks/quantize_table.py STATE [OUT] [--finetune-batches N]
(about 10 s a row)
"""
import contextlib
import io
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout, as `python -m hdl_native` from it

from hdl_native.cli import main  # noqa: E402

ROWS = [(bits, scheme, per_channel) for bits in (8, 4, 2)
        for scheme, per_channel in (("equal-population", False), ("linear", False), ("linear", True))]


def json_of(argv):
    """The JSON object `hdl-native ARGV --json` prints last."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(argv)
    if code != 0:
        raise SystemExit(f"hdl-native {' '.join(argv)} failed with exit code {code}")
    return json.loads(printed.getvalue().strip().splitlines()[-1])


def main_table(state, out, finetune_batches=None):
    out.mkdir(parents=True, exist_ok=True)
    reference = json_of(["evaluate", str(state), "--json", "--threads", "1"])
    print("| bits | scheme | test accuracy | vs float32 | test loss | weight error | bytes | % of float32 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    float_bytes = None
    rows = [(bits, scheme, per_channel, None) for bits, scheme, per_channel in ROWS]
    if finetune_batches:
        rows += [(bits, "equal-population", False, finetune_batches) for bits in (4, 2)]
    for bits, scheme, per_channel, batches in rows:
        tuned = ["--finetune-batches", str(batches), "--quiet"] if batches else []
        tuned_tag = f"-ft{batches}" if batches else ""
        name = f"{state.stem}-{scheme}{'-channel' if per_channel else ''}-{bits}{tuned_tag}.hdl"
        written = json_of(["quantize", str(state), "--bits", str(bits), "--scheme", scheme, *tuned,
                           *(["--per-channel"] if per_channel else []), "--out", str(out / name), "--force", "--json"])
        evaluated = json_of(["evaluate", str(out / name), "--json", "--threads", "1"])
        float_bytes = written["float32_bytes"]
        label = f"{scheme}{' per channel' if per_channel else ''}{f', {batches} batches fine-tuned' if batches else ''}"
        print(f"| {bits} | {label} | {evaluated['test_accuracy']:.2f}% | "
              f"{evaluated['test_accuracy'] - reference['test_accuracy']:+.2f} | {evaluated['loss']:.4f} | "
              f"{relative_rms_error(written['tensors']):.2f}% | {written['bytes']} | "
              f"{written['percent_of_float32']:.1f}% |")
    print(f"| 32 | float32 | {reference['test_accuracy']:.2f}% | | {reference['loss']:.4f} | 0 | {float_bytes} "
          "| 100% |")


def relative_rms_error(tensors):
    """The rms error of all quantised weights together, in percent of their rms value."""
    sizes = [math.prod(tensor["shape"]) for tensor in tensors]
    squared_error = sum(size * tensor["rms_error"] ** 2 for size, tensor in zip(sizes, tensors))
    squared_weight = sum(size * tensor["rms_weight"] ** 2 for size, tensor in zip(sizes, tensors))
    return 100 * math.sqrt(squared_error / squared_weight)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    batches = None
    if "--finetune-batches" in arguments:
        at = arguments.index("--finetune-batches")
        if at + 1 >= len(arguments) or not arguments[at + 1].isdigit() or int(arguments[at + 1]) < 1:
            raise SystemExit(__doc__)
        batches = int(arguments[at + 1])
        del arguments[at:at + 2]
    if len(arguments) not in (1, 2):
        raise SystemExit(__doc__)
    main_table(Path(arguments[0]), Path(arguments[1] if len(arguments) == 2 else "/tmp/hdl_quant"), batches)
