"""The command-line options every data-using program shares: --data, --dataset, --seed."""
from ..cli_types import SEED
from .datasets import DATASETS
from .paths import DATA_ENV


def add_data_arguments(parser, default_dataset="mnist"):
    """Add --data DIR, --dataset NAME (one of DATASETS) and --seed INT (default 0) to an argparse parser."""
    parser.add_argument("--data", metavar="DIR", default=None,
                        help=f"data root holding mnist/, emnist/, letters/ (default: ${DATA_ENV}, "
                             "else ~/.cache/hdl_native)")
    parser.add_argument("--dataset", choices=list(DATASETS), default=default_dataset,
                        help=f"which dataset to use (default: {default_dataset})")
    parser.add_argument("--seed", type=SEED, default=0,
                        help=f"random seed for shuffling, augmentation and init, {SEED.allowed} (default: 0)")
    return parser
