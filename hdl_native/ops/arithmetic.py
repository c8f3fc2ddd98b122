"""Elementwise arithmetic (with broadcasting), scalar ops and matmul.

Each op's backward sits right below its forward.
"""
import numpy as np

from .base import Op, broadcast_shape, float_result_dtype, unbroadcast


class BinaryOp(Op):
    def infer(self, a, b):
        return broadcast_shape(self, a, b), float_result_dtype(a, b)

    def remember_shapes(self, a, b):
        self.shape_a, self.shape_b = a.shape, b.shape


class Add(BinaryOp):
    name = "add"

    def forward(self, a, b):
        self.remember_shapes(a, b)
        return np.add(a, b)

    def backward(self, grad, needs):
        return (unbroadcast(grad, self.shape_a) if needs[0] else None,
                unbroadcast(grad, self.shape_b) if needs[1] else None)


class Sub(BinaryOp):
    name = "sub"

    def forward(self, a, b):
        self.remember_shapes(a, b)
        return np.subtract(a, b)

    def backward(self, grad, needs):
        return (unbroadcast(grad, self.shape_a) if needs[0] else None,
                unbroadcast(-grad, self.shape_b) if needs[1] else None)


class Mul(BinaryOp):
    name = "mul"

    def forward(self, a, b):
        self.a, self.b = a, b
        return np.multiply(a, b)

    def backward(self, grad, needs):
        return (unbroadcast(grad * self.b, self.a.shape) if needs[0] else None,
                unbroadcast(grad * self.a, self.b.shape) if needs[1] else None)


class Div(BinaryOp):
    """a / b; the denominator gets its gradient too: d(a/b)/db = -a / b^2."""

    name = "div"

    def forward(self, a, b):
        self.a, self.b = a, b
        return np.divide(a, b)

    def backward(self, grad, needs):
        grad_a = unbroadcast(grad / self.b, self.a.shape) if needs[0] else None
        grad_b = unbroadcast(-grad * self.a / (self.b * self.b), self.b.shape) if needs[1] else None
        return grad_a, grad_b


class UnaryOp(Op):
    def infer(self, x):
        return x.shape, float_result_dtype(x)


class Neg(UnaryOp):
    name = "neg"

    def forward(self, x):
        return np.negative(x)

    def backward(self, grad, needs):
        return (-grad,)


class ScalarMul(UnaryOp):
    name = "scalar_mul"

    def __init__(self, scalar):
        self.scalar = float(scalar)

    def forward(self, x):
        return x * x.dtype.type(self.scalar)

    def backward(self, grad, needs):
        return (grad * grad.dtype.type(self.scalar),)


class ScalarAdd(UnaryOp):
    name = "scalar_add"

    def __init__(self, scalar):
        self.scalar = float(scalar)

    def forward(self, x):
        return x + x.dtype.type(self.scalar)

    def backward(self, grad, needs):
        return (grad,)


class Square(UnaryOp):
    name = "square"

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, grad, needs):
        return (2 * grad * self.x,)


class Pow(UnaryOp):
    """x ** p for a constant exponent p."""

    name = "pow"

    def __init__(self, exponent):
        self.exponent = float(exponent)

    def forward(self, x):
        self.x = x
        return np.power(x, x.dtype.type(self.exponent))

    def backward(self, grad, needs):
        p = self.x.dtype.type(self.exponent)
        return (grad * p * np.power(self.x, p - 1),)


class Exp(UnaryOp):
    name = "exp"

    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, grad, needs):
        return (grad * self.out,)


class Log(UnaryOp):
    name = "log"

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, grad, needs):
        return (grad / self.x,)


class MatMul(Op):
    """(N, F) @ (F, G) -> (N, G)."""

    name = "matmul"

    def infer(self, a, b):
        if a.ndim != 2 or b.ndim != 2:
            raise self.shape_error("needs two 2-d operands", a, b)
        if a.shape[1] is not None and b.shape[0] is not None and a.shape[1] != b.shape[0]:
            raise self.shape_error("inner dimensions differ", a, b)
        return (a.shape[0], b.shape[1]), float_result_dtype(a, b)

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, grad, needs):
        return (grad @ self.b.T if needs[0] else None,
                self.a.T @ grad if needs[1] else None)
