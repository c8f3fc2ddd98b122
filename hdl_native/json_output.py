"""The one JSON line a command prints for --json: always valid JSON, so nan and inf become null.

``json.dumps`` writes float nan/inf as the bare tokens NaN/Infinity, which strict parsers (``jq``,
JavaScript) reject.  A value that can legitimately be non-finite (a test loss when the model gives a
true label probability 0, the trace of a gradient-descent demo that diverged) is written as null.
"""
import json
import math
import numbers


def json_line(value):
    """`value` (dicts, lists, tuples, numbers, strings, numpy scalars) as one line of strict JSON."""
    return json.dumps(finite_or_null(value), allow_nan=False)


def finite_or_null(value):
    """A copy of `value` in which every nan or inf is None and numpy numbers are Python numbers."""
    if isinstance(value, dict):
        return {key: finite_or_null(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_null(item) for item in value]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None
