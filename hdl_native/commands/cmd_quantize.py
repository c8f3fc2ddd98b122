"""Store a trained model's weights in 8, 4 or 2 bits (the tutorial's chapter 7).

equal-population: per weight tensor, the values are cut into 2^bits bins holding equally many values; each
value is stored as its bin's index and read back as the mean of its bin (a 2^bits-entry codebook per
tensor).  linear: symmetric integers, scale = max|w| / (2^(bits-1) - 1) per tensor, or per output channel
with --per-channel.  Biases stay float32.  The result is a state file that `evaluate`, `ocr --model` and
hdl_native.checkpoint.load_model read directly (as a float32 model); it records the scheme, the width and
the source state's test accuracy.

  hdl-native quantize letters.hdl --bits 4 --scheme equal-population --out letters-q4.hdl
  hdl-native evaluate letters-q4.hdl
"""
HELP = "store a model's weights in 8, 4 or 2 bits (equal-population bins or linear), biases float32"


def add_arguments(parser):
    from ..cli_types import int_choice
    from ..quantize.schemes import SCHEMES
    from ..quantize.section import QUANTIZED_BITS

    bits = int_choice(*QUANTIZED_BITS)
    parser.add_argument("state", metavar="STATE", help="a float32 state file (e.g. letters.hdl)")
    parser.add_argument("--bits", type=bits, required=True, metavar="BITS", help=f"bits per weight, {bits.allowed}")
    parser.add_argument("--scheme", choices=list(SCHEMES), default="equal-population",
                        help="equal-population bins with a codebook per tensor, or linear symmetric integers "
                             "(default: equal-population)")
    parser.add_argument("--per-channel", action="store_true",
                        help="linear only: one scale per output channel instead of one per tensor")
    parser.add_argument("--out", metavar="QSTATE", required=True, help="where to write the quantised state")
    parser.add_argument("--force", action="store_true", help="replace an existing QSTATE")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")


def run(args):
    from ..errors import HDLError
    from ..json_output import json_line
    from ..quantize.schemes import SCHEMES
    from ..quantize.state import quantize_state
    from ..training.outputs import check_derived_state

    check_derived_state(args.out, args.state, args.force, "quantised state file")
    if args.per_channel and not SCHEMES[args.scheme].per_channel_allowed:
        raise HDLError(f"--per-channel applies to --scheme linear; {args.scheme} has one codebook per tensor")
    result = quantize_state(args.state, args.out, args.scheme, args.bits, args.per_channel)
    per = "per output channel" if args.per_channel else "per tensor"
    print(f"{args.state} -> {result.path}: {args.scheme}, {args.bits} bits, {per}")
    for error in result.errors:
        print(f"  {error.name:<11} {str(error.shape):<16} max error {error.max_abs:.2e}   "
              f"rms error {error.rms:.2e} ({100 * error.rms / max(error.rms_weight, 1e-30):.1f}% of the rms weight)")
    print(f"  biases stay float32 ({result.n_float_values} values)")
    print(f"  {result.n_bytes} bytes = {100 * result.n_bytes / result.float_bytes:.1f}% of the float32 state "
          f"({result.float_bytes} bytes; the source file has {result.source_bytes})")
    if args.json:
        print(json_line(result.as_json()))
    return 0
