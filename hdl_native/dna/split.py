"""Train / validation / test by gene family, so no family (and no sequence) is on two sides.

The README warns that instance names repeat across near-identical genes (HUMAPOC2, HUMAPOC2G, HUMAPOCII) and
that some rows are exact duplicates.  A row's family is the first FAMILY_PREFIX characters of its gene name
(the part before the first '-'): Genbank's 'HUM' plus the first four letters of the gene, which puts those
variants together.  Families that share an identical sequence are merged as well.  Whole families are then
dealt, in a seeded random order, to the test split until it holds TEST_FRACTION of the rows, then to
validation (VALIDATION_FRACTION; for choosing the epoch, since the test split is never used for a choice),
the rest train.
"""
import numpy as np

FAMILY_PREFIX = 7
TEST_FRACTION = 0.2
VALIDATION_FRACTION = 0.1


def family_of(name):
    """'HUMAPOC2G-DONOR-12' -> 'HUMAPOC'."""
    return name.split("-", 1)[0][:FAMILY_PREFIX]


def family_ids(names, sequences):
    """(N,) int: one id per family, families that share an identical sequence merged (union-find)."""
    parent = {}

    def root(key):
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    first_family_of_sequence = {}
    for name, sequence in zip(names, sequences):
        family, key = family_of(name), sequence.tobytes()
        other = first_family_of_sequence.setdefault(key, family)
        parent[root(family)] = root(other)
    roots = [root(family_of(name)) for name in names]
    numbering = {key: i for i, key in enumerate(dict.fromkeys(roots))}
    return np.array([numbering[key] for key in roots], np.int64)


def split_by_family(names, sequences, seed=0):
    """{'train', 'validation', 'test'}: row indices (sorted int64 arrays), whole families per split."""
    families = family_ids(names, sequences)
    order = np.random.default_rng(seed).permutation(families.max() + 1)
    sizes = np.bincount(families)
    assignment, total, dealt = {}, len(names), 0
    for family in order:
        if dealt < TEST_FRACTION * total:
            assignment[family] = "test"
        elif dealt < (TEST_FRACTION + VALIDATION_FRACTION) * total:
            assignment[family] = "validation"
        else:
            assignment[family] = "train"
        dealt += sizes[family]
    sides = np.array([assignment[family] for family in families])
    return {side: np.flatnonzero(sides == side) for side in ("train", "validation", "test")}
