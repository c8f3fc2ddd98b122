"""Every sample of every op in opinfo.OPS x backend {numpy, native} x threads {1, 2}.

Checks:
- forward against the float64 reference, for float32 and float64 inputs;
- the declared dtype and shape of the built node against its evaluated value;
- a float64 central-difference gradient check (the small samples);
- backward against a float64 reference gradient, for float32 and float64
  (the ops with native kernels: where the float32 fast paths meet float64).
The reference always sees exactly the values the op saw (float32 inputs
are widened back to float64), so the tolerance only has to cover the op.
"""
import functools

import numpy as np
import pytest

import hdl_native
from hdl_native import Tensor, ops
from hdl_native import functional as F
from hdl_native.gradcheck import GradcheckError, gradcheck
from opinfo import BACKENDS, OPS, THREADS, assert_close, running_on

DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]
# Python's operator methods; every one Tensor defines must have a record.
OPERATOR_METHODS = (
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
    "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__matmul__", "__rmatmul__", "__pow__", "__rpow__",
    "__neg__", "__pos__", "__abs__", "__getitem__",
)


def cases(wanted=lambda op, sample: True):
    return [pytest.param(op, sample, id=f"{op.api}-{sample.label}")
            for op in OPS for sample in op.samples if wanted(op, sample)]


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(params=THREADS)
def n_threads(request):
    return request.param


@pytest.fixture
def on_backend(backend, n_threads):
    with running_on(backend, n_threads):
        assert hdl_native.get_ops().name == backend
        yield


def sample_arrays(sample, seed):
    return [np.asarray(a) for a in sample.make_inputs(np.random.default_rng(seed))]


def as_dtype(arrays, dtype):
    """Float arrays in `dtype`, labels untouched."""
    return [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]


def widened(arrays):
    """The same values in float64: what the reference is evaluated on."""
    return as_dtype(arrays, np.float64)


def leaves(arrays, requires_grad=False):
    return [Tensor(a, requires_grad=requires_grad and a.dtype.kind == "f") for a in arrays]


@pytest.mark.parametrize("op,sample", cases())
@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_matches_float64_reference(op, sample, dtype, on_backend):
    arrays = as_dtype(sample_arrays(sample, seed=1), dtype)
    out = op.fn(*leaves(arrays), **sample.kwargs)
    expected = op.reference(*widened(arrays), **sample.kwargs)
    assert_close(out.value, expected, dtype, f"{op.api} {sample.label}")


@pytest.mark.parametrize("op,sample", cases())
@pytest.mark.parametrize("dtype", DTYPES)
def test_declared_dtype_and_shape_match_the_value(op, sample, dtype, on_backend):
    out = op.fn(*leaves(as_dtype(sample_arrays(sample, seed=1), dtype)), **sample.kwargs)
    assert out.dtype == dtype, f"{op.api}: {np.dtype(dtype)} inputs, declared output {out.dtype}"
    value = out.value
    assert value.dtype == out.dtype, f"{op.api}: declared {out.dtype}, computed {value.dtype}"
    assert value.shape == out.shape, f"{op.api}: declared shape {out.shape}, computed {value.shape}"


@pytest.mark.parametrize("op,sample", cases(lambda op, sample: sample.gradcheck))
def test_gradient_matches_finite_differences(op, sample, on_backend):
    gradcheck(functools.partial(op.fn, **sample.kwargs), sample_arrays(sample, seed=2))


@pytest.mark.parametrize("op,sample", cases(lambda op, sample: op.reference_grad is not None))
@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_matches_float64_reference_gradient(op, sample, dtype, on_backend):
    arrays = as_dtype(sample_arrays(sample, seed=3), dtype)
    inputs = leaves(arrays, requires_grad=True)
    out = op.fn(*inputs, **sample.kwargs)
    grad_output = np.random.default_rng(4).standard_normal(out.shape).astype(dtype)
    out.backward(grad_output)
    expected = op.reference_grad(grad_output.astype(np.float64), *widened(arrays), **sample.kwargs)
    float_inputs = [leaf for leaf in inputs if leaf.requires_grad]
    assert len(expected) == len(float_inputs)
    for index, (leaf, want) in enumerate(zip(float_inputs, expected)):
        assert_close(leaf.grad, want, dtype, f"{op.api} {sample.label}: gradient of float input {index}")


# ---------------------------------------------------------------- the table is complete
def public_functions():
    """F's public callables: its own functions and its aliases of operators and Tensor methods."""
    return {f"F.{name}" for name, function in vars(F).items()
            if callable(function) and not name.startswith("_") and not isinstance(function, type)}


def tensor_operators():
    return {f"Tensor.{name}" for name in OPERATOR_METHODS
            if getattr(Tensor, name, None) is not getattr(object, name, None)}


def test_every_public_function_and_operator_has_a_record():
    functions, operators = public_functions(), tensor_operators()
    assert "F.conv2d" in functions and "Tensor.__add__" in operators, "the scan for public ops found too little"
    apis = {op.api for op in OPS}
    assert not (functions | operators) - apis, "ops without a record in opinfo.OPS"
    assert not apis - (functions | operators), "records for callables that are not public ops"


def test_every_op_class_is_made_by_some_record():
    made = set()
    for op in OPS:
        for sample in op.samples:
            out = op.fn(*leaves(sample_arrays(sample, seed=1)), **sample.kwargs)
            made.add(type(out.op).__name__)
    assert not set(ops.__all__) - {"Op"} - made, "op classes that no record's output node uses"


# ---------------------------------------------------------------- the checker itself
class SquareMissingItsFactorTwo(ops.Square):
    """Square's forward with half of Square's gradient: d(x^2)/dx = x instead of 2x."""

    def backward(self, *args, **kwargs):
        return tuple(None if grad is None else 0.5 * grad for grad in super().backward(*args, **kwargs))


def square_missing_its_factor_two(x):
    """A graph node running the wrong rule: the one line that knows how a node is made from an op."""
    return SquareMissingItsFactorTwo.apply(x)


def test_gradcheck_catches_a_wrong_gradient():
    inputs = [np.random.default_rng(0).standard_normal(4)]
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(square_missing_its_factor_two, inputs)
    gradcheck(F.square, inputs)


class SquareWithANanGradient(ops.Square):
    def backward(self, grad, needs):
        (right,) = super().backward(grad, needs)
        right[0] = np.nan
        return (right,)


def test_gradcheck_catches_a_nan_gradient():
    inputs = [np.random.default_rng(0).standard_normal(4)]
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(4,\)\) wrong at \(0,\): numeric .*, analytic nan"):
        gradcheck(SquareWithANanGradient.apply, inputs)  # NaN > bound is False: it used to pass
