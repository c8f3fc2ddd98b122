"""Argument checks of the kernel backends: one for arrays, one for integer labels.

Shapes are checked when the graph is built (each op's ``infer``); these checks
are what keeps a backend method safe when it is called directly: NativeOps hands
raw pointers to nogil kernels, so every array must have the dtype, layout and
sizes the kernel assumes.  Errors name the argument.
"""
import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def describe(array):
    return f"shape {tuple(array.shape)} dtype {array.dtype}"


def check_arrays(*arguments, dtype=None, sizes=None, sizes_from="the other arguments"):
    """Check C-contiguous array arguments and the sizes they share; returns {letter: size}.

    arguments: (name, array, dims) tuples.  dims is a string with one letter per
    dimension ("NCHW"): a letter seen before, in an earlier array or in `sizes`
    ({letter: size} known from `sizes_from`), must have the same size.  dims may
    also be an exact shape tuple, or None for any shape.  Every array must have
    `dtype`; without it, the first must be float32 or float64 and the rest alike.
    TypeError for a wrong type or dtype, ValueError for a wrong layout or shape.
    This runs before every kernel call, so the passing path is kept lean: the
    messages are composed only once something is wrong.
    """
    known = dict(sizes) if sizes else {}
    for name, array, dims in arguments:
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{name} must be a numpy array, got {type(array).__name__}")
        if dtype is None:  # (not `!=`: numpy reads a None dtype as float64)
            if array.dtype not in FLOAT_DTYPES:
                raise TypeError(f"{name} must be float32 or float64, got {describe(array)}")
            dtype = array.dtype
        elif array.dtype != dtype:
            raise TypeError(f"{name} must have dtype {np.dtype(dtype)}, got {describe(array)}")
        if not array.flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous, got a strided view with {describe(array)}")
        if dims is None:
            continue
        shape = array.shape
        if type(dims) is tuple:
            if shape != dims:
                raise ValueError(f"{name} must have shape {dims}, got {describe(array)}")
        elif len(shape) != len(dims):
            raise ValueError(f"{name} must have shape ({', '.join(dims)}), got {describe(array)}")
        else:
            for letter, size in zip(dims, shape):
                if known.setdefault(letter, size) != size:
                    source = where_bound(letter, name, arguments, sizes, sizes_from)
                    raise size_error(name, array, dims, letter, known[letter], source)
    return known


def where_bound(letter, name, arguments, sizes, sizes_from):
    """Which argument gave `letter` its size: sizes_from, an argument before `name`, or `name` itself."""
    if sizes and letter in sizes:
        return sizes_from
    for earlier, _, dims in arguments:
        if earlier == name:
            return name
        if type(dims) is str and letter in dims:
            return earlier
    return name


def size_error(name, array, dims, letter, bound, source):
    return ValueError(f"{name} must have shape ({', '.join(dims)}) with {letter}={bound} (from {source}), "
                      f"got {describe(array)}")


def optional(name, array, dims):
    """The argument list for check_arrays of an array that may be None: empty when it is."""
    return [] if array is None else [(name, array, dims)]


def shape_sizes(name, shape, dims):
    """{letter: size} of a shape given as a tuple of ints, e.g. input_shape (N, C, H, W)."""
    sizes = tuple(int(size) for size in shape)
    if len(sizes) != len(dims) or min(sizes, default=0) < 0:
        raise ValueError(f"{name} must be {len(dims)} sizes ({', '.join(dims)}), got {tuple(shape)}")
    return dict(zip(dims, sizes))


def check_labels(op_name, labels, n_rows, n_classes=None):
    """Integer labels (n_rows,) -> contiguous int64; in [0, n_classes) when n_classes is given."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{op_name}: labels must be integers, got dtype {labels.dtype}")
    if labels.shape != (n_rows,):
        raise ValueError(f"{op_name}: labels must have shape ({n_rows},), got {labels.shape}")
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    if n_classes is not None and n_rows and (labels.min() < 0 or labels.max() >= n_classes):
        raise label_range_error(op_name, labels, n_classes)
    return labels


def label_range_error(op_name, labels, n_classes):
    """The ValueError for labels that hold a value outside [0, n_classes), naming the first such value."""
    bad = labels[(labels < 0) | (labels >= n_classes)][0]
    return ValueError(f"{op_name}: label {bad} is outside [0, {n_classes})")
