"""Reductions over axes: sum, max and min."""

import numpy as np

from .base import Node, normalize_axes


class SumNode(Node):
    """z = sum of x over axis"""
    name, symbol = "sum", "Σ"
    rules = ("dx = dz broadcast to x's shape",)
    saved = ()

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forwardPass(self, x):
        x = np.asarray(x)
        self.input_shape = x.shape
        self.axes = normalize_axes(self.name, self.axis, x.shape)
        return np.sum(x, axis=self.axes, keepdims=self.keepdims)

    def backwardPass(self, dz):
        dz = np.asarray(dz)
        if not self.keepdims:
            dz = np.expand_dims(dz, self.axes)
        return (np.broadcast_to(dz, self.input_shape),)

    def onnx(self, graph, inputs):
        return graph.reduce("ReduceSum", inputs[0], self.axes, self.keepdims)


def _to_first(x, axes, keepdims, dz, find):
    """dz sent to the first extreme (``find`` is np.argmax or np.argmin) of x over axes;
    every other element gets exactly 0."""
    kept = [a for a in range(x.ndim) if a not in axes]
    # Move the reduced axes last and flatten them, so one argmax finds each first extreme.
    moved = np.transpose(x, kept + list(axes))
    flat = moved.reshape(moved.shape[:len(kept)] + (-1,))
    first = find(flat, axis=-1)[..., None]
    dz = np.asarray(dz)
    if keepdims:
        dz = np.squeeze(dz, axis=axes)
    grad = np.zeros(flat.shape, dtype=np.result_type(dz, x))
    np.put_along_axis(grad, first, dz[..., None], axis=-1)
    grad = grad.reshape(moved.shape)
    return np.transpose(grad, np.argsort(kept + list(axes)))


def _not_empty(name, x, what):
    if x.size == 0:
        raise ValueError(f"{name}: cannot take the {what} of an empty array of shape {x.shape}")


class MaxReduceNode(Node):
    """z = max of x over axis; on ties the first maximum (lowest index) takes the gradient."""
    name, symbol = "amax", "max"
    rules = ("dx = [x is the first maximum] * dz",)
    saved = ("x",)
    # MinReduceNode is this node with min in place of max
    extreme, find, what = staticmethod(np.max), staticmethod(np.argmax), "maximum"
    onnx_reduce = "ReduceMax"

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forwardPass(self, x):
        x = np.asarray(x)
        self.axes = normalize_axes(self.name, self.axis, x.shape)
        _not_empty(self.name, x, self.what)
        self.x = x
        return self.extreme(x, axis=self.axes, keepdims=self.keepdims)

    def backwardPass(self, dz):
        return (_to_first(self.x, self.axes, self.keepdims, dz, self.find),)

    def onnx(self, graph, inputs):
        return graph.reduce(self.onnx_reduce, inputs[0], self.axes, self.keepdims)


class MinReduceNode(MaxReduceNode):
    """z = min of x over axis; on ties the first minimum (lowest index) takes the gradient."""
    name, symbol = "amin", "min"
    rules = ("dx = [x is the first minimum] * dz",)
    extreme, find, what = staticmethod(np.min), staticmethod(np.argmin), "minimum"
    onnx_reduce = "ReduceMin"
