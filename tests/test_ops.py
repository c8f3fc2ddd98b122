"""Every op in opinfo.OPS: forward against numpy, and a float64 gradient check."""
import numpy as np
import pytest

from hdl_native import Tensor
from hdl_native.gradcheck import gradcheck
from opinfo import OPS

IDS = [op.name for op in OPS]


def leaves_for(arrays, dtype):
    return [Tensor(a.astype(dtype)) if a.dtype.kind == "f" else Tensor(a) for a in arrays]


@pytest.mark.parametrize("op", OPS, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_matches_reference(op, dtype):
    arrays = [np.asarray(a) for a in op.make_inputs(np.random.default_rng(1))]
    out = op.fn(*leaves_for(arrays, dtype))
    value = out.value
    expected = op.reference(*arrays)
    assert value.dtype == dtype, f"{op.name}: output dtype {value.dtype}, inputs {dtype}"
    assert value.shape == np.shape(expected), f"{op.name}: shape {value.shape} vs {np.shape(expected)}"
    assert out.shape == value.shape, f"{op.name}: built shape {out.shape} vs evaluated {value.shape}"
    rtol, atol = (1e-5, 1e-5) if dtype == np.float32 else (1e-10, 1e-12)
    np.testing.assert_allclose(value, expected, rtol=rtol, atol=atol, err_msg=op.name)


@pytest.mark.parametrize("op", [op for op in OPS if op.differentiable], ids=[op.name for op in OPS if op.differentiable])
def test_gradient_matches_finite_differences(op):
    arrays = [np.asarray(a) for a in op.make_inputs(np.random.default_rng(2))]
    gradcheck(op.fn, arrays, check=op.check, **op.tolerance)


def test_gradcheck_catches_a_wrong_gradient():
    """The checker itself must fail on a deliberately wrong backward rule."""
    from hdl_native import functional as F
    from hdl_native.gradcheck import GradcheckError
    from hdl_native.ops import Square

    class WrongSquare(Square):
        def backward(self, grad, needs):
            return (grad * self.x,)  # missing the factor 2

    def wrong(x):
        return Tensor._from_op(WrongSquare(), (x,))

    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(wrong, [np.random.default_rng(0).standard_normal(4)])
    gradcheck(F.square, [np.random.default_rng(0).standard_normal(4)])
