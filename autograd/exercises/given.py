"""The forward passes the exercises give: subclass one and write its ``backwardPass``.

Each class is a node as in ``nodes/``, written as the course writes it, and keeps on
``self`` what a backward pass needs (the attributes its docstring lists). Its
``backwardPass`` is the learner's to write: it gets ``dz``, the gradient of the loss
with respect to the output ``z``, and returns one gradient per input, in a tuple.
"""

import numpy as np

from nodes import Node

NOT_WRITTEN = "your backward pass here"


class _Given(Node):
    rules = ("dx = ?",)

    def backwardPass(self, dz):
        raise NotImplementedError(NOT_WRITTEN)


class Multiply(_Given):
    """z = x * y elementwise; keeps self.x and self.y."""
    name, symbol = "multiply", "*"
    rules = ("dx = ?", "dy = ?")

    def forwardPass(self, x, y):
        self.x, self.y = x, y
        return x * y


class Add(_Given):
    """z = x + y elementwise; keeps the inputs' shapes, self.x_shape and self.y_shape."""
    name, symbol = "add", "+"
    rules = ("dx = ?", "dy = ?")

    def forwardPass(self, x, y):
        self.x_shape, self.y_shape = np.shape(x), np.shape(y)
        return x + y


class Maximum(_Given):
    """z = max(x, y) elementwise (ReLU is max(0, x)); keeps self.x and self.y."""
    name, symbol = "max", "max"
    rules = ("dx = ?", "dy = ?")

    def forwardPass(self, x, y):
        self.x, self.y = x, y
        return np.maximum(x, y)


class MatMul(_Given):
    """z = x @ y for matrices x (m, n) and y (n, p); keeps self.x and self.y."""
    name, symbol = "matmul", "@"
    rules = ("dx = ?", "dy = ?")

    def forwardPass(self, x, y):
        if np.ndim(x) != 2 or np.ndim(y) != 2:
            raise ValueError(f"matmul exercise: x and y must be matrices, got shapes "
                             f"{np.shape(x)} and {np.shape(y)}")
        self.x, self.y = x, y
        return x @ y


class Sum(_Given):
    """z = Σ x over self.axes (a tuple: every axis when axis=None); keeps self.x_shape, and
    self.keepdims (True: the summed axes stay, with size 1)."""
    name, symbol = "sum", "Σ"

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forwardPass(self, x):
        self.x_shape = np.shape(x)
        self.axes = tuple(range(np.ndim(x))) if self.axis is None else tuple(
            a % np.ndim(x) for a in np.atleast_1d(self.axis))
        return np.sum(x, axis=self.axes, keepdims=self.keepdims)


class Conv(_Given):
    """z[b, k, i, j] = Σ_c Σ_m Σ_n w[k, c, m, n] · x_pad[b, c, S·i + m, S·j + n]

    The course's convolution (a cross-correlation) of x (N, C, H, W) with K filters
    w (K, C, F, F), stride S = self.stride, zero padding P = self.padding. Keeps
    self.x_pad (x with P zeros on each side) and self.w.
    """
    name, symbol = "conv", "*"
    rules = ("dx = ?", "dw = ?")

    def __init__(self, stride=1, padding=0):
        self.stride, self.padding = stride, padding

    def forwardPass(self, x, w):
        S, P, F = self.stride, self.padding, w.shape[2]
        self.x_pad = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
        self.w = w
        Ho, Wo = (self.x_pad.shape[2] - F) // S + 1, (self.x_pad.shape[3] - F) // S + 1
        z = np.zeros((x.shape[0], w.shape[0], Ho, Wo))
        for i in range(Ho):
            for j in range(Wo):
                window = self.x_pad[:, :, S * i:S * i + F, S * j:S * j + F]  # (N, C, F, F)
                z[:, :, i, j] = np.einsum("bcmn,kcmn->bk", window, w)  # a dot product per filter
        return z


class MaxPool(_Given):
    """z[b, c, i, j] = max over m, n < F of x[b, c, S·i + m, S·j + n]

    Windows of F x F (F = self.kernel_size), stride S = self.stride (F by default), no
    padding. Keeps self.x. The rule for ties: the FIRST maximum of a window, in row-major
    order (what ``argmax`` finds), takes the window's whole gradient.
    """
    name, symbol = "maxpool", "max"

    def __init__(self, kernel_size=2, stride=None):
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride

    def forwardPass(self, x):
        F, S = self.kernel_size, self.stride
        self.x = x
        N, C, H, W = x.shape
        z = np.zeros((N, C, (H - F) // S + 1, (W - F) // S + 1))
        for i in range(z.shape[2]):
            for j in range(z.shape[3]):
                z[:, :, i, j] = x[:, :, S * i:S * i + F, S * j:S * j + F].max(axis=(2, 3))
        return z


class SoftmaxCrossEntropy(_Given):
    """L = -(1/N) Σ_b log p[b, y_b], with p = softmax(x) over each row of the scores x (N, K)

    The labels y (N integers) are fixed, given to ``__init__``. Keeps self.p (the
    probabilities, (N, K)) and self.labels.
    """
    name, symbol = "softmax_cross_entropy", "CE"

    def __init__(self, labels):
        self.labels = np.asarray(labels)

    def forwardPass(self, x):
        shifted = x - x.max(axis=1, keepdims=True)  # the same p, and exp never overflows
        self.p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        N = x.shape[0]
        return np.asarray(-np.mean(np.log(self.p[np.arange(N), self.labels])))
