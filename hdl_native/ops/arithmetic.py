"""Elementwise arithmetic (with broadcasting), scalar ops and matmul.

Each op's backward sits right below its forward; the array math is the
backend's (kernels/numpy_ops.py).
"""
from ..kernels import get_ops
from ..tensor import contiguous
from .base import ElementwiseOp, FloatOp, broadcast_shape


class BinaryOp(FloatOp):
    """Two inputs broadcast against each other; backward sums each gradient back to its input's shape."""

    def infer(self, a, b):
        return broadcast_shape(self, a, b), self.infer_dtype(a, b)

    def remember_shapes(self, a, b):
        self.shape_a, self.shape_b = a.shape, b.shape

    def to_input_shapes(self, grad_a, grad_b, needs):
        ops = get_ops()
        return (ops.sum_to_shape(grad_a, self.shape_a) if needs[0] else None,
                ops.sum_to_shape(grad_b, self.shape_b) if needs[1] else None)


class Add(BinaryOp):
    """a + b.  Gradient: grad to both (summed back over broadcast axes)."""

    name = "add"

    def forward(self, a, b):
        self.remember_shapes(a, b)
        return get_ops().add(self.as_float(a), self.as_float(b))

    def backward(self, grad, needs):
        return self.to_input_shapes(grad, grad, needs)


class Sub(BinaryOp):
    """a - b.  Gradient: grad to a, -grad to b."""

    name = "sub"

    def forward(self, a, b):
        self.remember_shapes(a, b)
        return get_ops().subtract(self.as_float(a), self.as_float(b))

    def backward(self, grad, needs):
        return self.to_input_shapes(grad, get_ops().negative(grad) if needs[1] else None, needs)


class Mul(BinaryOp):
    """a * b elementwise.  Gradient: grad * b to a, grad * a to b (each input saved for the other)."""

    name = "mul"

    def forward(self, a, b):
        self.remember_shapes(a, b)
        self.a, self.b = self.as_float(a), self.as_float(b)
        return get_ops().multiply(self.a, self.b)

    def backward(self, grad, needs):
        ops = get_ops()
        return self.to_input_shapes(ops.multiply(grad, self.b) if needs[0] else None,
                                    ops.multiply(grad, self.a) if needs[1] else None, needs)


class Div(BinaryOp):
    """a / b; the denominator gets its gradient too: d(a/b)/db = -a / b^2."""

    name = "div"

    def forward(self, a, b):
        self.remember_shapes(a, b)
        self.a, self.b = self.as_float(a), self.as_float(b)
        return get_ops().divide(self.a, self.b)

    def backward(self, grad, needs):
        return self.to_input_shapes(*get_ops().divide_backward(grad, self.a, self.b), needs)


class UnaryOp(FloatOp):
    """One input; the output has its shape (and its float dtype)."""

    def infer(self, x):
        return x.shape, self.infer_dtype(x)


class Neg(UnaryOp):
    """-x.  Gradient: -grad."""

    name = "neg"

    def forward(self, x):
        return get_ops().negative(self.as_float(x))

    def backward(self, grad, needs):
        return (get_ops().negative(grad),)


class ScalarMul(UnaryOp):
    """x * scalar for a Python number."""

    name = "scalar_mul"

    def __init__(self, scalar):
        self.scalar = float(scalar)

    def forward(self, x):
        return get_ops().scale(self.as_float(x), self.scalar)

    def backward(self, grad, needs):
        return (get_ops().scale(grad, self.scalar),)


class ScalarAdd(UnaryOp):
    """x + scalar for a Python number."""

    name = "scalar_add"

    def __init__(self, scalar):
        self.scalar = float(scalar)

    def forward(self, x):
        return get_ops().shift(self.as_float(x), self.scalar)

    def backward(self, grad, needs):
        return (grad,)


class Square(ElementwiseOp):
    """x^2.  Gradient: 2 x grad (square_backward, from the saved input)."""

    name = stem = "square"
    saves = "input"


class Pow(UnaryOp):
    """x ** p for a constant exponent p."""

    name = "pow"

    def __init__(self, exponent):
        self.exponent = float(exponent)

    def forward(self, x):
        self.x = self.as_float(x)
        return get_ops().power(self.x, self.exponent)

    def backward(self, grad, needs):
        return (get_ops().power_backward(self.x, self.exponent, grad),)


class Exp(ElementwiseOp):
    """e^x.  Gradient: grad * e^x, the saved output itself (exp_backward)."""

    name = stem = "exp"


class Log(ElementwiseOp):
    """Natural log.  Gradient: grad / x (log_backward, from the saved input)."""

    name = stem = "log"
    saves = "input"


class MatMul(FloatOp):
    """(N, F) @ (F, G) -> (N, G), on the same GEMM path as linear."""

    name = "matmul"

    def infer(self, a, b):
        if a.ndim != 2 or b.ndim != 2:
            raise self.shape_error("needs two 2-d operands", a, b)
        if a.shape[1] is not None and b.shape[0] is not None and a.shape[1] != b.shape[0]:
            raise self.shape_error("inner dimensions differ", a, b)
        return (a.shape[0], b.shape[1]), self.infer_dtype(a, b)

    def forward(self, a, b):
        self.a, self.b = contiguous(self.as_float(a)), contiguous(self.as_float(b))
        return get_ops().matmul(self.a, self.b)

    def backward(self, grad, needs):
        return get_ops().matmul_backward(contiguous(grad), self.a, self.b, needs)
