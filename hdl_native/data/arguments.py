"""The command-line options every data-using program shares: --data, --dataset, --seed."""
import argparse

from ..cli_types import SEED
from .datasets import DATASETS
from .mixture import EXTRA_SOURCES, dataset_names
from .paths import DATA_ENV


class StoreGiven(argparse.Action):
    """Store the value, and set `<dest>_given` True: a command that takes the value from elsewhere (a model's state)
    can refuse the option when it was given, and still use the default when it was not."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        setattr(namespace, f"{self.dest}_given", True)


def add_argument_noting_given(parser, *flags, **options):
    """parser.add_argument(*flags, **options), with args.<dest>_given saying whether the option was given (False
    by default, True once StoreGiven has stored it)."""
    action = parser.add_argument(*flags, action=StoreGiven, **options)
    parser.set_defaults(**{f"{action.dest}_given": False})
    return action


def add_data_arguments(parser, default_dataset="mnist", seed_used=True):
    """Add --data DIR, --dataset NAME (one of DATASETS; args.dataset_given says whether it was given) and --seed
    INT (default 0) to an argparse parser; seed_used=False for a program with nothing random (its help says so)."""
    parser.add_argument("--data", metavar="DIR", default=None,
                        help=f"data root holding mnist/, emnist/, letters/, unipen/, ... (default: ${DATA_ENV}, "
                             "else ~/.cache/hdl_native)")
    add_argument_noting_given(parser, "--dataset", type=dataset_names, default=default_dataset,
                              metavar="NAME[,NAME[:W]...]",
                              help=f"which dataset to use: one of {', '.join(DATASETS)}, or a mixture of them "
                                   f"(and {', '.join(EXTRA_SOURCES)}: digits and marks as the class 'other') "
                                   "separated by commas, each optionally weighted, e.g. letters:4,unipen (default: "
                                   f"{default_dataset})")
    seed_help = ("random seed for shuffling, augmentation and init" if seed_used else
                 "accepted as every program accepts it; nothing here is random, so it changes nothing")
    parser.add_argument("--seed", type=SEED, default=0, help=f"{seed_help}, {SEED.allowed} (default: 0)")
    return parser
