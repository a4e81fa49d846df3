"""Primitives that move elements without changing them: reshape, transpose, indexing."""

import numpy as np

from .base import Node


class ReshapeNode(Node):
    """z = x viewed with a new shape"""
    name, symbol = "reshape", "reshape"
    rules = ("dx = dz reshaped to x's shape",)
    saved = ()

    def __init__(self, shape):
        self.shape = shape

    def forwardPass(self, x):
        x = np.asarray(x)
        self.input_shape = x.shape
        return x.reshape(self.shape)

    def backwardPass(self, dz):
        return (np.reshape(dz, self.input_shape),)


class TransposeNode(Node):
    """z = x with its axes permuted (reversed when axes is None)"""
    name, symbol = "transpose", "ᵀ"
    rules = ("dx = dz with the inverse permutation",)
    saved = ()

    def __init__(self, axes=None):
        self.axes = axes

    def forwardPass(self, x):
        x = np.asarray(x)
        self.perm = tuple(range(x.ndim))[::-1] if self.axes is None else tuple(self.axes)
        return np.transpose(x, self.perm)

    def backwardPass(self, dz):
        return (np.transpose(dz, np.argsort(self.perm)),)


def _is_basic(index):
    """True when the index uses only ints, slices, None and Ellipsis (no repeated elements)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


class GetItemNode(Node):
    """z = x[index]; repeated elements of a fancy index add up their gradients"""
    name, symbol = "getitem", "[]"
    rules = ("dx = zeros like x, with dz added at [index]",)
    saved = ()

    def __init__(self, index):
        self.index = index

    def forwardPass(self, x):
        x = np.asarray(x)
        self.input_shape, self.input_dtype = x.shape, x.dtype
        return x[self.index]

    def backwardPass(self, dz):
        grad = np.zeros(self.input_shape, dtype=np.result_type(dz, self.input_dtype))
        if _is_basic(self.index):
            grad[self.index] = dz
        else:
            np.add.at(grad, self.index, dz)
        return (grad,)
