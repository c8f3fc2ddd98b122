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

    arguments: (name, array, dims) or (name, array, dims, required_dtype) tuples.
    dims is a string with one letter per dimension ("NCHW"): a letter seen before,
    in an earlier array or in `sizes` ({letter: size} known from `sizes_from`),
    must have the same size.  dims may also be an exact shape tuple, or None for
    any shape.  Arrays without a required dtype must be float32 or float64, all of
    one dtype (`dtype` when given, else the first's).
    TypeError for a wrong type or dtype, ValueError for a wrong layout or shape.
    """
    known = {letter: (size, sizes_from) for letter, size in (sizes or {}).items()}
    for name, array, dims, *required in arguments:
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{name} must be a numpy array, got {type(array).__name__}")
        if required:
            if array.dtype != required[0]:
                raise TypeError(f"{name} must have dtype {np.dtype(required[0])}, got {describe(array)}")
        elif array.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{name} must be float32 or float64, got {describe(array)}")
        elif dtype is None:
            dtype = array.dtype
        elif array.dtype != dtype:
            raise TypeError(f"{name} must have dtype {dtype} like the other inputs, got {describe(array)}")
        if not array.flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous, got a strided view with {describe(array)}")
        if isinstance(dims, tuple):
            if array.shape != dims:
                raise ValueError(f"{name} must have shape {dims}, got {describe(array)}")
        elif dims is not None:
            check_dims(name, array, dims, known)
    return {letter: size for letter, (size, _) in known.items()}


def optional(name, array, dims):
    """The argument list for check_arrays of an array that may be None: empty when it is."""
    return [] if array is None else [(name, array, dims)]


def check_dims(name, array, dims, known):
    """array.shape must fit the letters `dims`; binds new letters in `known` ({letter: (size, source)})."""
    expected = f"({', '.join(dims)})"
    if array.ndim != len(dims):
        raise ValueError(f"{name} must have shape {expected}, got {describe(array)}")
    for letter, size in zip(dims, array.shape):
        bound, source = known.setdefault(letter, (size, name))
        if size != bound:
            raise ValueError(f"{name} must have shape {expected} with {letter}={bound} (from {source}), "
                             f"got {describe(array)}")


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
