"""Elementwise primitives: forward and backward side by side.

Binary nodes name their inputs ``x`` and ``y``, the output ``z`` and the upstream
gradient ``dz``. Inputs may broadcast against each other; each backwardPass returns
gradients in the broadcast shape and the engine sums them back to each input's shape.

Each class lists in ``__slots__`` the attributes it sets (its saved arrays and fixed
parameters). These nodes are made by the hundred thousand in long elementwise chains,
and one without an instance dict is quicker to make, to read, to release and for the
garbage collector to track (benchmarks/, "graph overhead").
"""

import numpy as np

from . import kernels
from .base import Node


class AdditionNode(Node):
    """z = x + y"""
    name, symbol = "add", "+"
    rules = ("dx = dz", "dy = dz")
    onnx_op = "Add"
    saved = ()
    promotes = "common"
    __slots__ = saved

    def forwardPass(self, x, y):
        return x + y

    def backwardPass(self, dz):
        return dz, dz


class MultiplicationNode(Node):
    """z = x * y"""
    name, symbol = "multiply", "*"
    rules = ("dx = y * dz", "dy = x * dz")
    onnx_op = "Mul"
    saved = ("x", "y")
    promotes = "common"
    __slots__ = saved

    def forwardPass(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backwardPass(self, dz):
        return self.y * dz, self.x * dz


class DivisionNode(Node):
    """z = x / y

    A fused node, not x * y ** -1 (the style guide allows one for numerical stability):
    y ** -1 overflows where x / y does not (1e-10 / 1e-310 is 1e300, 1 / 1e-310 is inf), and
    so does -x / y ** 2 in float32 for y = 1e-20. Dividing step by step, as PyTorch does,
    overflows only where the gradient itself does. Integers are divided as float32.
    """
    name, symbol = "divide", "/"
    rules = ("dx = dz / y", "dy = -(dz * z) / y")
    onnx_op = "Div"
    saved = ("y", "z")
    promotes = "float"
    __slots__ = saved

    def forwardPass(self, x, y):
        z = x / y
        self.y, self.z = y, z
        return z

    def backwardPass(self, dz):
        needs_x, needs_y = getattr(self, "needs_input_grad", (True, True))
        return (dz / self.y if needs_x else None,
                -(dz * self.z) / self.y if needs_y else None)  # the same rounding as dx where z = 1


class MaxNode(Node):
    """z = max(x, y) elementwise; a tie sends the whole gradient to x (the first input).

    ``max(0, x)`` is ReLU, as in the course notes: with the constant first, a tie at
    x = 0 gives x a zero gradient, as PyTorch's relu does. A NaN wins the max, value and
    gradient (x's, when both are NaN), as in max-pool: relu(NaN) passes the gradient, as
    PyTorch's relu does.
    """
    name, symbol = "max", "max"
    rules = ("dx = [x >= y] * dz", "dy = [x < y] * dz")  # and a NaN wins (docstring)
    saved = ("x_wins", "y_wins", "fast")
    promotes = "common"
    __slots__ = saved

    def forwardPass(self, x, y):
        # Keep only the masks of inputs that will want a gradient (the engine says which
        # before calling this): in ReLU, max(0, x), the constant 0 wants none.
        self.fast = kernels.find("max", self, x, y)  # large arrays: split between threads
        if self.fast is not None:
            return self.fast.forward(x, y)
        needs_x, needs_y = getattr(self, "needs_input_grad", (True, True))
        if needs_x or needs_y:
            x_wins = first_wins(x, y)
            if needs_x:
                self.x_wins = x_wins
            if needs_y:  # ReLU's: x_wins is its own, so inverted in place
                self.y_wins = (np.logical_not(x_wins, out=x_wins)
                               if not needs_x and type(x_wins) is np.ndarray else ~x_wins)
        return np.maximum(x, y)

    def backwardPass(self, dz):
        if self.fast is not None:
            return self.fast.backward(dz)
        needs_x, needs_y = getattr(self, "needs_input_grad", (True, True))
        # by selection, not dz * mask: where a side lost, its gradient is exactly 0
        return (np.where(self.x_wins, dz, 0) if needs_x else None,
                np.where(self.y_wins, dz, 0) if needs_y else None)

    def onnx(self, graph, inputs):
        x, y = inputs
        zero = graph.value(x)
        if zero is not None and zero.size == 1 and zero.item() == 0:  # max(0, y) is ReLU
            return graph.op("Relu", y)
        return graph.op("Max", x, y)


def first_wins(x, y, out=None):
    """Where max(x, y) takes x: x >= y, or x is NaN (a NaN wins the max, as np.maximum's)."""
    x = np.asarray(x)
    wins = np.greater_equal(x, y, out=out)
    if x.dtype.kind == "f" and (x.ndim or x.item() != x.item()):  # a 0-d x (ReLU's 0): one test
        wins = np.logical_or(wins, np.isnan(x), out=out)
    return wins


class MinNode(Node):
    """z = min(x, y) elementwise; a tie sends the whole gradient to x (the first input).

    The same rule as ``MaxNode``, so ``min(x, hi)`` in a clamp passes the gradient at
    x = hi, as PyTorch's clamp does. (PyTorch's ``minimum`` splits a tie's gradient in
    half between x and y.) A NaN sends no gradient to either input.
    """
    name, symbol = "min", "min"
    rules = ("dx = [x <= y] * dz", "dy = [x > y] * dz")
    onnx_op = "Min"
    saved = ("x_wins", "y_wins")
    promotes = "common"
    __slots__ = saved

    def forwardPass(self, x, y):
        needs_x, needs_y = getattr(self, "needs_input_grad", (True, True))
        if needs_x:
            self.x_wins = np.less_equal(x, y)
        if needs_y:
            self.y_wins = np.greater(x, y)
        return np.minimum(x, y)

    def backwardPass(self, dz):
        needs_x, needs_y = getattr(self, "needs_input_grad", (True, True))
        return (np.where(self.x_wins, dz, 0) if needs_x else None,
                np.where(self.y_wins, dz, 0) if needs_y else None)


class WhereNode(Node):
    """z = x where c, else y; c is a boolean condition, broadcast with x and y"""
    name, symbol = "where", "where"
    rules = ("dc = none: a condition takes no gradient", "dx = dz where c, else 0",
             "dy = 0 where c, else dz")
    onnx_op = "Where"
    saved = ("c",)
    __slots__ = saved

    def forwardPass(self, c, x, y):
        c = np.asarray(c)
        if c.dtype != np.bool_:
            raise TypeError(f"where: the condition must be boolean (such as x > 0), got dtype "
                            f"{c.dtype}; compare first, or convert with c != 0")
        self.c = c
        return np.where(c, x, y)

    def backwardPass(self, dz):
        # by selection: the side not chosen gets exactly 0, even where dz is inf or nan
        return None, np.where(self.c, dz, 0), np.where(self.c, 0, dz)


class NegationNode(Node):
    """z = -x"""
    name, symbol = "negate", "-"
    rules = ("dx = -dz",)
    onnx_op = "Neg"
    saved = ()
    __slots__ = saved

    def forwardPass(self, x):
        return -x

    def backwardPass(self, dz):
        return (-dz,)


def _power(x, p):
    """x ** p for a number p, as PyTorch computes it: in float32 and float64, p = 0.5 is
    sqrt(x) and p = -0.5 is 1 / sqrt(x), which differ from C's pow at the edges (sqrt(-inf)
    is NaN, sqrt(-0) is -0); float16 takes pow."""
    if p == 0.5 and x.dtype != np.float16:
        return np.sqrt(x)
    if p == -0.5 and x.dtype != np.float16:
        return 1 / np.sqrt(x)
    return _pow(x, p)


class PowerNode(Node):
    """z = x ** p for a fixed exponent p"""
    name, symbol = "power", "**"
    rules = ("dx = p * x ** (p - 1) * dz",)
    saved = ("x",)
    __slots__ = ("exponent", "x")

    def __init__(self, exponent):
        self.exponent = exponent

    def forwardPass(self, x):
        self.x = x
        if np.issubdtype(np.asarray(x).dtype, np.integer) and self.exponent < 0:
            x = np.asarray(x, dtype=np.float64)  # NumPy refuses integers to negative powers
        return _power(x, self.exponent)

    def backwardPass(self, dz):
        p = self.exponent
        if p == 0:  # x ** 0 is 1 everywhere, so its gradient is 0, at x = 0 too (not 0 * inf)
            return (np.zeros_like(dz),)
        return (p * _power(self.x, p - 1) * dz,)

    def onnx(self, graph, inputs):
        (x,) = inputs
        if self.exponent == 0.5:  # computed as sqrt here too
            return graph.op("Sqrt", x)
        return graph.op("Pow", x, graph.constant(self.exponent, like=x))


class TensorPowerNode(Node):
    """z = x ** y, the exponent an input too (PyTorch's pow of two tensors)

    Computed directly, so a negative base with an integer exponent has its real value
    ((-2) ** 3 = -8, where exp(y log x) is NaN). At the edges the gradients are PyTorch's:
    dx is 0 where y = 0 (x ** 0 is 1, at x = 0 too), dy is 0 where x = 0 and y >= 0, and
    dy is NaN for x < 0, where log x is not real.
    """
    name, symbol = "pow", "**"
    rules = ("dx = y * x ** (y - 1) * dz", "dy = z * log(x) * dz")
    onnx_op = "Pow"
    saved = ("x", "y", "z")
    promotes = "common"
    __slots__ = saved

    def forwardPass(self, x, y):
        if y.dtype.kind in "iu" and x.dtype.kind in "biu" and (y < 0).any():
            z = _integer_power(x, y)
        else:
            z = _pow(x, y)
        self.x, self.y, self.z = x, y, z
        return z

    def backwardPass(self, dz):
        x, y, z = self.x, self.y, self.z
        needs_x, needs_y = getattr(self, "needs_input_grad", (True, True))
        dx = dy = None
        with np.errstate(divide="ignore", invalid="ignore"):  # the NaN and inf are the answer
            if needs_x:
                dx = np.where(y == 0, 0, y * _pow(x, y - 1) * dz)
            if needs_y:  # PyTorch's form: dz times the factor (so an inf dz at x = 0 gives NaN)
                dy = dz * np.where((x == 0) & (y >= 0), 0, z * np.log(x))
        return dx, dy


def _pow(x, y):
    """np.power(x, y) as C's pow, which PyTorch's pow of tensors is: for an exponent of 0.5
    that every element shares, NumPy takes sqrt, which is NaN at -inf where pow is inf."""
    z = np.power(x, y)
    if z.dtype.kind == "f" and (x == -np.inf).any():
        z = np.where((x == -np.inf) & (y == 0.5), np.inf, z)
    return z


def _integer_power(x, y):
    """x ** y for integers, PyTorch's way where y < 0 (NumPy refuses): the integer part of
    1 / x ** -y, which is 1 for x = 1, ±1 for x = -1 and 0 otherwise."""
    z = np.power(x, np.maximum(y, 0))
    odd = (y % 2).astype(bool)
    negative = np.where(x == 1, 1, np.where(x == -1, np.where(odd, -1, 1), 0)).astype(z.dtype)
    return np.where(y < 0, negative, z)


class ExpNode(Node):
    """z = exp(x)"""
    name, symbol = "exp", "exp"
    rules = ("dx = z * dz",)
    onnx_op = "Exp"
    saved = ("z",)
    promotes = "float"
    __slots__ = saved

    def forwardPass(self, x):
        self.z = np.exp(x)
        return self.z

    def backwardPass(self, dz):
        return (self.z * dz,)


class LogNode(Node):
    """z = log(x)"""
    name, symbol = "log", "log"
    rules = ("dx = dz / x",)
    onnx_op = "Log"
    saved = ("x",)
    promotes = "float"
    __slots__ = saved

    def forwardPass(self, x):
        self.x = x
        return np.log(x)

    def backwardPass(self, dz):
        return (dz / self.x,)


class AbsNode(Node):
    """z = |x|; at x = 0 the gradient is 0, as in PyTorch"""
    name, symbol = "abs", "|x|"
    rules = ("dx = sign(x) * dz",)
    onnx_op = "Abs"
    saved = ("x",)
    __slots__ = saved

    def forwardPass(self, x):
        self.x = x
        return np.abs(x)

    def backwardPass(self, dz):
        x = self.x
        # by selection: at x = 0 (and for a NaN x) exactly 0, even where dz is inf or nan
        return (np.where(x > 0, dz, np.where(x < 0, -dz, 0)),)


class SinNode(Node):
    """z = sin(x)"""
    name, symbol = "sin", "sin"
    rules = ("dx = cos(x) * dz",)
    onnx_op = "Sin"
    saved = ("x",)
    promotes = "float"
    __slots__ = saved

    def forwardPass(self, x):
        self.x = x
        return np.sin(x)

    def backwardPass(self, dz):
        return (np.cos(self.x) * dz,)


class CosNode(Node):
    """z = cos(x)"""
    name, symbol = "cos", "cos"
    rules = ("dx = -sin(x) * dz",)
    onnx_op = "Cos"
    saved = ("x",)
    promotes = "float"
    __slots__ = saved

    def forwardPass(self, x):
        self.x = x
        return np.cos(x)

    def backwardPass(self, dz):
        return (-np.sin(self.x) * dz,)


class TanhNode(Node):
    """z = tanh(x)"""
    name, symbol = "tanh", "tanh"
    rules = ("dx = (1 - z ** 2) * dz",)
    onnx_op = "Tanh"
    saved = ("z",)
    promotes = "float"
    __slots__ = saved

    def forwardPass(self, x):
        self.z = np.tanh(x)
        return self.z

    def backwardPass(self, dz):
        return ((1 - self.z * self.z) * dz,)


class SigmoidNode(Node):
    """z = 1 / (1 + exp(-x))"""
    name, symbol = "sigmoid", "σ"
    rules = ("dx = z * (1 - z) * dz",)
    onnx_op = "Sigmoid"
    saved = ("z",)
    promotes = "float"
    __slots__ = saved

    def forwardPass(self, x):
        # exp(-log(1 + exp(-x))) never overflows, for large positive or negative x
        dtype = x.dtype if x.dtype.kind == "f" else np.float32  # float16 stays float16
        self.z = np.exp(-np.logaddexp(0, -x)).astype(dtype, copy=False)
        return self.z

    def backwardPass(self, dz):
        return (self.z * (1 - self.z) * dz,)
