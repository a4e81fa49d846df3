"""The object a node's ONNX mapping writes into (``graph`` in ``Node.onnx(self, graph, inputs)``).

A mapping gets the ONNX names of its inputs and returns the name of its output; in
between it adds operators with ``graph.op("Conv", x, w, strides=[1, 1])``, constants with
``graph.constant(value, like=x)`` and integer lists with ``graph.ints([0, -1])``. The
builder knows each value's recorded shape and dtype, and whether its axis 0 grows with
the batch (``graph.batched(x)``), so a shape recorded on the example can be written with
the batch size left open.
"""

import itertools

import numpy as np
from onnx import helper, numpy_helper

from . import OnnxError

_END = np.iinfo(np.int64).max  # a Slice's "to the end"
_BOOLEAN = {"Greater", "Less", "Equal", "GreaterOrEqual", "LessOrEqual", "Not"}  # give masks


class Graph:
    """The ONNX nodes and initializers of one export, built in topological order."""

    def __init__(self, opset):
        self.opset = opset
        self.nodes, self.initializers = [], []
        self.prefix = ""             # the current node's layer ('features/0'): names start so
        self.output_shape = None     # the current tapegrad node's output shape, as recorded
        self._shapes, self._dtypes, self._batched, self._constants = {}, {}, set(), {}
        self._counter = itertools.count()

    # ------------------------------------------------------------ what mappings call
    def op(self, op_type, *inputs, **attributes):
        """Add one ONNX operator on ``inputs`` (names; None for an optional input left out)
        and return the name of its output. Attributes that are None are left out."""
        number = next(self._counter)
        output = f"{self.prefix}/{op_type}_{number}" if self.prefix else f"{op_type}_{number}"
        attributes = {k: v for k, v in attributes.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, ["" if i is None else i for i in inputs],
                                           [output], name=output, **attributes))
        given = [i for i in inputs if i is not None]
        if op_type in _BOOLEAN:  # a mask, whatever its operands' dtype: Where's condition
            self._dtypes[output] = np.dtype(np.bool_)
        elif given:
            self._dtypes[output] = self._dtypes.get(given[0])
        if any(i in self._batched for i in given) and self._keeps_batch(op_type, given,
                                                                        attributes):
            self._batched.add(output)
        return output

    def _keeps_batch(self, op_type, inputs, attributes):
        """Whether axis 0 of an operator's output comes from a batched input's axis 0."""
        if op_type == "Transpose":
            return attributes["perm"][0] == 0
        if op_type == "MatMul":  # x @ w keeps x's rows; w @ x only broadcasts a stack of x
            x, w = inputs
            return (x in self._batched and len(self._shapes.get(x, ())) >= 2) or (
                w in self._batched and len(self._shapes.get(w, ())) >= 3)
        if op_type == "Gather":
            return attributes.get("axis", 0) != 0
        if op_type == "Expand":  # x's axis 0 where the ranks match and the shape writes 1 there
            target = self.value(inputs[1])
            return len(self._shapes.get(inputs[0], ())) == len(target) and target[0] == 1
        return True

    def constant(self, value, like=None):
        """A Constant operator holding ``value``, in the dtype of the value named ``like``
        (or its own); its name."""
        dtype = self._dtypes.get(like)
        if dtype is None:
            dtype = np.asarray(value).dtype
        array = np.asarray(value, dtype=dtype)
        number = next(self._counter)
        name = f"{self.prefix}/const_{number}" if self.prefix else f"const_{number}"
        self.nodes.append(helper.make_node("Constant", [], [name], name=name,
                                           value=numpy_helper.from_array(array, name)))
        self._note(name, array.shape, array.dtype, batched=False, value=array)
        return name

    def ints(self, values):
        """A 1-D int64 constant (the shapes, axes and indices ONNX takes as inputs)."""
        return self.constant(np.asarray(list(values), dtype=np.int64).reshape(-1))

    def batched(self, name):
        """Whether axis 0 of the value ``name`` follows the batch size: the batch axis, one
        the batch was reshaped into ((N·16, 3) from (N, 3, 4, 4)), or a slice of it
        (x[1:]). Shapes written for it leave that size open."""
        return name in self._batched

    def shape(self, name):
        """The value's shape as recorded on the example inputs."""
        return self._shapes[name]

    def value(self, name):
        """The array of a constant value, or None for a value computed from the inputs."""
        return self._constants.get(name)

    def shape_input(self, x, shape):
        """``shape`` (recorded) as an int64 constant for Reshape: 0 (copy the input's axis)
        or -1 (infer it) in place of the first axis, when x's first axis grows with the
        batch (row-major order keeps the batch in the leading axes)."""
        dims = list(shape)
        if self.batched(x) and dims:
            dims[0] = 0 if dims[0] == self.shape(x)[0] else -1
        return self.ints(dims)

    def reduce(self, op_type, x, axes, keepdims):
        """A ReduceSum/ReduceMax/ReduceMin over ``axes`` (the axes are an input from opset 13
        for ReduceSum and 18 for the others, an attribute before)."""
        keepdims = int(bool(keepdims))
        since = 13 if op_type == "ReduceSum" else 18
        if not axes:  # a 0-d input: nothing to reduce (an empty list would mean every axis)
            return self.op("Identity", x)
        if self.opset >= since:
            out = self.op(op_type, x, self.ints(axes), keepdims=keepdims)
        else:
            out = self.op(op_type, x, axes=list(axes), keepdims=keepdims)
        if 0 in axes:
            self._batched.discard(out)
        return out

    def getitem(self, x, index):
        """x[index] for NumPy's basic indexing (ints, slices, None, ...), or one integer array
        on one axis (Gather); a clear error for other fancy indexing."""
        parts = index if isinstance(index, tuple) else (index,)
        shape = self.shape(x)
        arrays = [i for i, p in enumerate(parts) if isinstance(p, (np.ndarray, list))]
        if arrays:
            return self._gather(x, parts, arrays, shape)
        if Ellipsis in parts:
            at = parts.index(Ellipsis)
            consuming = sum(p is not None and p is not Ellipsis for p in parts)
            parts = parts[:at] + (slice(None),) * (len(shape) - consuming) + parts[at + 1:]
        parts = parts + (slice(None),) * (len(shape) - sum(p is not None for p in parts))
        starts, ends, axes, steps, squeeze, new_axes = [], [], [], [], [], []
        axis = out_axis = 0
        for part in parts:
            if part is None:  # a new axis of size 1 in the output
                new_axes.append(out_axis)
                out_axis += 1
                continue
            if isinstance(part, slice):
                if part.indices(shape[axis]) != (0, shape[axis], 1):
                    # as written, not as numbers of the example: x[1:] on the batch axis
                    # follows the batch size; ONNX counts negatives from the end too
                    step = 1 if part.step is None else int(part.step)
                    start = (0 if step > 0 else -1) if part.start is None else int(part.start)
                    stop = (_END if step > 0 else -_END) if part.stop is None else int(part.stop)
                    starts.append(start), ends.append(stop), axes.append(axis), steps.append(step)
                out_axis += 1
            else:  # an int: one element, then the axis is dropped
                i = int(part) % shape[axis]
                starts.append(i), ends.append(i + 1), axes.append(axis), steps.append(1)
                squeeze.append(axis)
            axis += 1
        out = x
        if axes:
            out = self.op("Slice", x, self.ints(starts), self.ints(ends), self.ints(axes),
                          self.ints(steps))
        if squeeze:
            out = self.op("Squeeze", out, self.ints(squeeze))
        if new_axes:
            out = self.op("Unsqueeze", out, self.ints(new_axes))
        if 0 in squeeze or 0 in new_axes:
            self._batched.discard(out)  # axis 0 is no longer the batch's
        return out

    def _gather(self, x, parts, arrays, shape):
        others = [p for i, p in enumerate(parts) if i not in arrays]
        if len(arrays) != 1 or any(not (isinstance(p, slice) and p == slice(None)) for p in others):
            raise self._refuse(f"the index {_short(parts)} mixes integer arrays with other "
                               "indices, which the export does not write; index with one "
                               "integer array on one axis (x[:, idx]), or with ints and slices")
        axis = arrays[0]
        indices = np.asarray(parts[axis])
        if indices.dtype == np.bool_:
            raise self._refuse("a boolean mask as an index gives a shape that depends on the "
                               "values, which an ONNX graph cannot have; use where(mask, x, 0)")
        indices = np.where(indices < 0, indices + shape[axis], indices).astype(np.int64)
        return self.op("Gather", x, self.constant(indices), axis=axis)

    def _refuse(self, why):
        where = f" (in layer '{self.prefix.replace('/', '.')}')" if self.prefix else ""
        return OnnxError(f"export: getitem{where}: {why}")

    # ------------------------------------------------------------ what the exporter calls
    def _note(self, name, shape, dtype, batched, value=None):
        self._shapes[name], self._dtypes[name] = tuple(shape), np.dtype(dtype)
        if batched:
            self._batched.add(name)
        if value is not None:
            self._constants[name] = value

    def initializer(self, name, array):
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        self._note(name, np.shape(array), np.asarray(array).dtype, batched=False)
        return name

    def cast(self, name, dtype):
        """The value ``name`` in ``dtype``: a constant cast here, another through Cast."""
        dtype = np.dtype(dtype)
        if self._dtypes.get(name) == dtype:
            return name
        value = self.value(name)
        if value is not None:
            return self.constant(value.astype(dtype))
        out = self.op("Cast", name, to=helper.np_dtype_to_tensor_dtype(dtype))
        self._dtypes[out] = dtype
        return out


def _short(parts):
    text = repr(parts)
    return text if len(text) <= 60 else text[:57] + "..."


def tensor_type(dtype):
    """The ONNX element type of a NumPy dtype."""
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


__all__ = ["Graph", "tensor_type"]
