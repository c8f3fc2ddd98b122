"""Learning one weight, as in the Grokking Deep Learning notes: hot/cold learning, gradient descent,
divergence with input 2, and the fix with alpha 0.1.  Prints the error of each step.

The network is prediction = input * weight and the error is (prediction - goal)^2.  The
gradient-descent runs use an hdl_native graph and backward().  No data and no randomness are
involved: --data, --dataset and --seed are accepted like every program's but have no effect.
"""

HELP = "Grokking notes: hot/cold learning, gradient descent, divergence and the alpha fix on one weight"


def add_arguments(parser):
    from ..cli_types import POSITIVE_INT, int_range
    from ..data import add_data_arguments

    # the divergence run multiplies its error by 9 a step: float64 overflows after about 320 steps
    iterations = int_range(1, 300)

    add_data_arguments(parser, default_dataset="mnist", seed_used=False)
    parser.add_argument("--iterations", type=iterations, default=20, metavar="N",
                        help=f"steps of each gradient-descent run, {iterations.allowed} (default: 20)")
    parser.add_argument("--every", type=POSITIVE_INT, default=100, metavar="K",
                        help=f"print every K-th step of the 1101-step hot/cold run, {POSITIVE_INT.allowed} "
                             "(default: 100)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object with every sequence on the last line")


def run(args):
    from ..json_output import json_line
    from ..programs import gd_demo

    traces = gd_demo.all_demos(iterations=args.iterations)
    for trace in traces:
        print(f"== {trace.name}: {trace.description}")
        every = args.every if trace.name == "hot_cold" else 1
        steps = sorted(set(range(0, len(trace.errors), every)) | {len(trace.errors) - 1})
        for step in steps:
            print(f"step {step:4d}  Error:{trace.errors[step]!r:<24} Prediction:{trace.predictions[step]!r}")
    if args.json:
        print(json_line({trace.name: trace.as_dict() for trace in traces}))
    return 0
