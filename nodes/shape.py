"""Primitives that move elements without changing them: reshape, transpose, indexing,
broadcasting and joining."""

import numpy as np

from .base import Node, normalize_axis


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

    def onnx(self, graph, inputs):  # the batch size left open: Flatten writes (0, C·H·W)
        return graph.op("Reshape", inputs[0], graph.shape_input(inputs[0], graph.output_shape))


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

    def onnx(self, graph, inputs):
        return graph.op("Transpose", inputs[0], perm=list(self.perm))


class ExpandNode(Node):
    """z = x broadcast to a fixed shape; size-1 axes repeat, new axes go in front"""
    name, symbol = "expand", "expand"
    rules = ("dx = dz summed back to x's shape",)
    saved = ()

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forwardPass(self, x):
        return np.broadcast_to(x, self.shape)  # a read-only view: no copy

    def backwardPass(self, dz):
        return (dz,)  # the engine sums a broadcast gradient back to x's shape, as for x + y

    def onnx(self, graph, inputs):
        x = inputs[0]  # 1 where x has the size already: Expand keeps x's (the batch's) there
        sizes = (None,) * (len(self.shape) - len(graph.shape(x))) + graph.shape(x)
        shape = [1 if n == m else m for n, m in zip(sizes, self.shape)]
        return graph.op("Expand", x, graph.ints(shape))


class ConcatenateNode(Node):
    """z = x0, x1, ... joined along a fixed axis; every other axis must be the same size"""
    name, symbol = "cat", "cat"
    rules = ()  # one per input, written when the node runs: it takes any number of inputs
    saved = ()

    def __init__(self, axis=0):
        self.axis = axis

    def forwardPass(self, *xs):
        arrays = [np.asarray(x) for x in xs]
        if not arrays:
            raise ValueError("cat: nothing to join; give a list of at least one tensor")
        first = arrays[0]
        if first.ndim == 0:
            raise ValueError("cat: cannot join 0-d tensors along an axis; stack them "
                             "(autograd.stack) or give each an axis first (t.reshape(1))")
        axis = normalize_axis(self.name, self.axis, first.shape)
        for i, array in enumerate(arrays):
            others = array.shape[:axis] + array.shape[axis + 1:]
            if array.ndim != first.ndim or others != first.shape[:axis] + first.shape[axis + 1:]:
                raise ValueError(f"cat: tensor {i} has shape {array.shape} and tensor 0 has shape "
                                 f"{first.shape}; joined along axis {axis}, they must have the "
                                 "same number of axes and the same size on every other axis")
        self.axis_index, self.sizes = axis, [array.shape[axis] for array in arrays]
        self.rules = self._rules()
        return np.concatenate(arrays, axis=axis)

    def backwardPass(self, dz):
        bounds = np.cumsum(self.sizes)[:-1]
        return tuple(np.split(dz, bounds, axis=self.axis_index))

    def onnx(self, graph, inputs):
        return graph.op("Concat", *inputs, axis=self.axis_index)

    def _rules(self):
        """'dx1 = dz[:, 2:5], the part of dz where x1 went', one per input."""
        rules, start = [], 0
        for i, size in enumerate(self.sizes):
            index = ", ".join([":"] * self.axis_index + [f"{start}:{start + size}"])
            rules.append(f"dx{i} = dz[{index}], the part of dz where x{i} went")
            start += size
        return tuple(rules)


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

    def onnx(self, graph, inputs):  # Slice, Squeeze and Unsqueeze, or Gather for an array
        return graph.getitem(inputs[0], self.index)
