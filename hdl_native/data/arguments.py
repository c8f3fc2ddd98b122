"""The command-line options every data-using program shares: --data, --dataset, --seed."""
from ..cli_types import SEED
from .datasets import DATASETS
from .mixture import EXTRA_SOURCES, dataset_names
from .paths import DATA_ENV


def add_data_arguments(parser, default_dataset="mnist"):
    """Add --data DIR, --dataset NAME (one of DATASETS) and --seed INT (default 0) to an argparse parser."""
    parser.add_argument("--data", metavar="DIR", default=None,
                        help=f"data root holding mnist/, emnist/, letters/, unipen/, ... (default: ${DATA_ENV}, "
                             "else ~/.cache/hdl_native)")
    parser.add_argument("--dataset", type=dataset_names, default=default_dataset, metavar="NAME[,NAME[:W]...]",
                        help=f"which dataset to use: one of {', '.join(DATASETS)}, or a mixture of them (and "
                             f"{', '.join(EXTRA_SOURCES)}: digits and marks as the class 'other') separated by commas, "
                             "each optionally weighted, e.g. letters:4,unipen (default: "
                             f"{default_dataset})")
    parser.add_argument("--seed", type=SEED, default=0,
                        help=f"random seed for shuffling, augmentation and init, {SEED.allowed} (default: 0)")
    return parser
