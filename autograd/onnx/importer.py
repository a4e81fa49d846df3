"""autograd.onnx.load: an ONNX model as a tapegrad Module, to train, draw and step through.

The file is checked whole before anything is built: it must parse as an ONNX model, use
an opset tapegrad reads, have inputs, form no cycle, pass onnx.checker, and use only
operators tapegrad has (one error lists every one it lacks). Then ``OnnxModel.forward``
replays the graph, node after node in topological order, with tapegrad's operations
(``OPS`` below): a Conv is ``F.conv2d``, a Gemm a matmul and an add, and so on, so every
step lands on the tape like any model's.
"""

import collections
import math
import os
import re

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import helper, numpy_helper

from .. import functional as F
from ..nn.module import Module, Parameter
from ..tape import scope
from ..tensor import Tensor, cat, maximum, minimum, where
from . import OnnxError
from .exporter import BUFFERS_KEY

OPSETS = range(7, 24)  # the default domain's versions whose operators are read as written here


# ---------------------------------------------------------------- the operators

OPS = {}


def _op(*names):
    def register(function):
        for name in names:
            OPS[name] = function
        return function
    return register


def _ints(value):
    """A shape, axes or indices input as a list of Python ints."""
    return [int(v) for v in np.asarray(value.data if isinstance(value, Tensor) else value).ravel()]


def _axes(node, axes):
    """The axes of Squeeze, Unsqueeze and the reductions: the input ``axes`` from some opset,
    the attribute before; None when neither is given."""
    if axes is not None:
        return _ints(axes)
    axes = node.attrs.get("axes")
    return None if axes is None else list(axes)


def _pads(node, spatial):
    """ONNX's pads (begins, then ends) as tapegrad's symmetric padding, or an F.pad first."""
    pads = list(node.attrs.get("pads", [0] * 2 * spatial))
    begins, ends = pads[:spatial], pads[spatial:]
    return begins, ends


@_op("Identity")
def _identity(node, x):
    return x


@_op("Dropout")
def _dropout(node, x, *rest):  # inference: the identity (the mask, if asked for, keeps all)
    return x if len(node.outputs) == 1 else (x, Tensor(np.ones(x.shape, np.bool_)))


@_op("Add")
def _add(node, a, b):
    return a + b


@_op("Sub")
def _sub(node, a, b):
    return a - b


@_op("Mul")
def _mul(node, a, b):
    return a * b


@_op("Div")
def _div(node, a, b):
    return a / b


@_op("Pow")
def _pow(node, a, b):
    if not b.requires_grad and b.data.size == 1 and a.dtype.kind == "f":
        return a ** float(b.data.reshape(()))  # a fixed exponent: the power node
    return a ** b


@_op("Max", "Min", "Sum")
def _variadic(node, *xs):
    combine = {"Max": maximum, "Min": minimum, "Sum": lambda a, b: a + b}[node.op_type]
    out = xs[0]
    for x in xs[1:]:
        out = combine(out, x)
    return out


@_op("Neg")
def _neg(node, x):
    return -x


@_op("Relu")
def _relu(node, x):
    return F.relu(x)


@_op("LeakyRelu")
def _leaky_relu(node, x):
    return F.leaky_relu(x, node.attrs.get("alpha", 0.01))


@_op("Exp", "Log", "Tanh", "Sigmoid", "Abs", "Sin", "Cos", "Sqrt")
def _unary(node, x):
    return getattr(x, node.op_type.lower())()


@_op("Reciprocal")
def _reciprocal(node, x):
    return 1 / x


@_op("Clip")
def _clip(node, x, low=None, high=None):
    low = node.attrs.get("min") if low is None else low
    high = node.attrs.get("max") if high is None else high
    return x if low is None and high is None else x.clamp(low, high)


@_op("Where")
def _where(node, condition, a, b):
    return where(condition.data.astype(np.bool_), a, b)


@_op("Greater", "Less", "Equal", "GreaterOrEqual", "LessOrEqual")
def _compare(node, a, b):
    compare = {"Greater": np.greater, "Less": np.less, "Equal": np.equal,
               "GreaterOrEqual": np.greater_equal, "LessOrEqual": np.less_equal}[node.op_type]
    return Tensor(compare(a.data, b.data))  # a mask takes no gradient


@_op("Not")
def _not(node, x):
    return Tensor(np.logical_not(x.data))


@_op("MatMul")
def _matmul(node, a, b):
    return a @ b


@_op("Gemm")
def _gemm(node, a, b, c=None):
    """Y = alpha · A' @ B' + beta · C, A' and B' transposed when transA, transB say so."""
    a = a.T if node.attrs.get("transA", 0) else a
    b = b.T if node.attrs.get("transB", 0) else b
    alpha, beta = node.attrs.get("alpha", 1.0), node.attrs.get("beta", 1.0)
    out = a @ b if alpha == 1.0 else (a @ b) * alpha
    if c is None:
        return out
    return out + (c if beta == 1.0 else c * beta)


@_op("Conv")
def _conv(node, x, w, b=None):
    spatial = w.ndim - 2
    begins, ends = _pads(node, spatial)
    if begins != ends:  # tapegrad pads alike on both sides: pad first
        x = F.pad(x, [n for axis in reversed(range(spatial)) for n in (begins[axis], ends[axis])])
        begins = [0] * spatial
    conv = F.conv1d if spatial == 1 else F.conv2d
    single = (lambda v: v[0]) if spatial == 1 else tuple
    return conv(x, w, b, single(node.attrs.get("strides", [1] * spatial)), single(begins),
                single(node.attrs.get("dilations", [1] * spatial)), node.attrs.get("group", 1),
                floor=True)  # ONNX rounds the output size down, as PyTorch


@_op("MaxPool", "AveragePool")
def _pool(node, x):
    spatial = x.ndim - 2
    kernel = list(node.attrs["kernel_shape"])
    stride = list(node.attrs.get("strides", [1] * spatial))
    begins, ends = _pads(node, spatial)
    single = (lambda v: v[0]) if spatial == 1 else tuple
    ceil = bool(node.attrs.get("ceil_mode", 0))
    arguments = (x, single(kernel), single(stride), single(begins))
    if node.op_type == "MaxPool":
        pool = F.max_pool1d if spatial == 1 else F.max_pool2d
        return pool(*arguments, ceil_mode=ceil, floor=not ceil)
    pool = F.avg_pool1d if spatial == 1 else F.avg_pool2d
    return pool(*arguments, ceil, bool(node.attrs.get("count_include_pad", 0)), floor=not ceil)


@_op("GlobalAveragePool")
def _global_average_pool(node, x):
    return x.mean(axis=tuple(range(2, x.ndim)), keepdims=True)


@_op("BatchNormalization")
def _batch_norm(node, x, scale, bias, mean, var):
    return F.batch_norm(x, mean, var, scale, bias, training=False,
                        eps=node.attrs.get("epsilon", 1e-5))


@_op("Softmax", "LogSoftmax")
def _softmax(node, x):
    function = F.softmax if node.op_type == "Softmax" else F.log_softmax
    if node.opset >= 13:
        return function(x, node.attrs.get("axis", -1))
    axis = node.attrs.get("axis", 1) % x.ndim  # before opset 13: over axes axis.. as one
    rows = x.reshape(math.prod(x.shape[:axis]), -1)
    return function(rows, 1).reshape(x.shape)


@_op("Flatten")
def _flatten(node, x):
    axis = node.attrs.get("axis", 1) % (x.ndim + 1) if x.ndim else 0
    return x.reshape(math.prod(x.shape[:axis]), math.prod(x.shape[axis:]))


@_op("Reshape")
def _reshape(node, x, shape):
    dims = _ints(shape)
    if not node.attrs.get("allowzero", 0):
        dims = [x.shape[i] if d == 0 else d for i, d in enumerate(dims)]
    return x.reshape(tuple(dims))


@_op("Transpose")
def _transpose(node, x):
    return x.permute(node.attrs.get("perm", list(reversed(range(x.ndim)))))


@_op("Concat")
def _concat(node, *xs):
    return cat(list(xs), axis=node.attrs["axis"])


@_op("Squeeze")
def _squeeze(node, x, axes=None):
    axes = _axes(node, axes)
    return x.squeeze(None if axes is None else tuple(axes))


@_op("Unsqueeze")
def _unsqueeze(node, x, axes=None):
    axes = _axes(node, axes)
    axes = sorted(a % (x.ndim + len(axes)) for a in axes)  # positions in the output
    shape = list(x.shape)
    for axis in axes:
        shape.insert(axis, 1)
    return x.reshape(tuple(shape))


@_op("ReduceSum", "ReduceMax", "ReduceMin", "ReduceMean")
def _reduce(node, x, axes=None):
    axes = _axes(node, axes)
    if not axes:
        if node.attrs.get("noop_with_empty_axes", 0):
            return x
        axes = None
    keep = bool(node.attrs.get("keepdims", 1))
    method = {"ReduceSum": x.sum, "ReduceMax": x.max, "ReduceMin": x.min, "ReduceMean": x.mean}
    return method[node.op_type](None if axes is None else tuple(axes), keep)


@_op("Expand")
def _expand(node, x, shape):
    return x.expand(np.broadcast_shapes(x.shape, tuple(_ints(shape))))


@_op("Slice")
def _slice(node, x, starts, ends, axes=None, steps=None):
    starts, ends = _ints(starts), _ints(ends)
    axes = list(range(len(starts))) if axes is None else _ints(axes)
    steps = [1] * len(starts) if steps is None else _ints(steps)
    index = [slice(None)] * x.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        size = x.shape[axis]
        start, end = (v + size if v < 0 else v for v in (start, end))
        if step > 0:
            start, end = min(max(start, 0), size), min(max(end, 0), size)
        else:  # ONNX's end -1 is "before the first element", Python's None
            start, end = min(max(start, 0), size - 1), min(max(end, -1), size - 1)
        index[axis % x.ndim] = slice(start, None if end < 0 else end, step)
    return x[tuple(index)]


@_op("Gather")
def _gather(node, x, indices):
    axis = node.attrs.get("axis", 0) % x.ndim
    return x[(slice(None),) * axis + (np.asarray(indices.data, dtype=np.int64),)]


@_op("Shape")
def _shape(node, x):
    shape = np.array(x.shape, np.int64)
    return Tensor(shape[node.attrs.get("start", 0):node.attrs.get("end", len(shape))])


@_op("Cast")
def _cast(node, x):
    dtype = helper.tensor_dtype_to_np_dtype(node.attrs["to"])
    if x.dtype == dtype:
        return x
    if x.requires_grad:
        raise OnnxError(f"{node.label}: Cast from {x.dtype} to {dtype} of a value that takes a "
                        "gradient is not something tapegrad records; export the model in one "
                        "float dtype")
    return Tensor(x.data.astype(dtype))


def _unsupported_use(node):
    """Why tapegrad cannot run this node (an attribute it does not read), or None."""
    attrs = node.attrs
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    if auto_pad not in ("NOTSET", "VALID"):
        return f"auto_pad={auto_pad}"
    if node.op_type in ("MaxPool", "AveragePool"):
        if any(d != 1 for d in attrs.get("dilations", [])):
            return "dilations"
        if len(node.outputs) > 1:
            return "an Indices output"
        begins, ends = _pads(node, len(attrs.get("kernel_shape", ())))
        if begins != ends:
            return "pads that differ before and after"
    if node.op_type == "BatchNormalization" and (attrs.get("training_mode", 0)
                                                 or len(node.outputs) > 1):
        return "training_mode (batch statistics)"
    if node.op_type == "Conv" and "kernel_shape" in attrs and len(attrs["kernel_shape"]) > 2:
        return f"{len(attrs['kernel_shape'])}-D kernels"
    return None


# ---------------------------------------------------------------- reading the file

class _Node:
    """One ONNX node, its attributes read once."""

    def __init__(self, proto, opset):
        self.op_type, self.domain = proto.op_type, proto.domain
        self.name = proto.name or f"{proto.op_type}_{proto.output[0] if proto.output else ''}"
        self.inputs, self.outputs = list(proto.input), list(proto.output)
        self.attrs = {a.name: helper.get_attribute_value(a) for a in proto.attribute}
        self.opset = opset
        # the layer: a node "/features/0/Conv" (PyTorch's names) or "conv/Conv_0" (tapegrad's)
        # belongs to "features.0" or "conv", so diagrams box each layer
        self.layer = ".".join(part for part in self.name.split("/")[:-1] if part)
        self.label = f"{self.op_type} node '{self.name}'"


def _fail(path, cause):
    return OnnxError(f"{path}: {cause}")


def _read(path):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise _fail(path, f"cannot read the file: {error.strerror or error}") from None
    if not data:
        raise _fail(path, "the file is empty, so it holds no ONNX model; export the model again")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as error:
        raise _fail(path, f"not an ONNX model: the bytes do not parse as one ({error}); the file "
                          "may be truncated, or another format") from None
    if not model.ir_version or not model.HasField("graph") or not model.opset_import:
        raise _fail(path, "not an ONNX model: it parses as a protobuf message, but without an "
                          "ONNX model's IR version, graph and opset; is it another protobuf "
                          "file (a TensorFlow graph, a Caffe model)?")
    return model


def _opset(path, model):
    versions = {entry.domain or "ai.onnx": entry.version for entry in model.opset_import}
    version = versions.get("ai.onnx")
    if version is None:
        raise _fail(path, "the model imports no version of the standard ONNX operators (opset)")
    if version > OPSETS.stop - 1:
        raise _fail(path, f"the model uses ONNX opset {version}, newer than tapegrad reads (up to "
                          f"{OPSETS.stop - 1}); export it again with an older opset, e.g. "
                          f"torch.onnx.export(..., opset_version={OPSETS.stop - 1})")
    if version < OPSETS.start:
        raise _fail(path, f"the model uses ONNX opset {version}, older than tapegrad reads (from "
                          f"{OPSETS.start}); convert it with onnx.version_converter")
    return version


def _sorted(path, graph):
    """The graph's nodes in an order where each comes after the nodes it reads from (Kahn's
    algorithm, no recursion), or an error naming the nodes on a cycle."""
    producer = {}
    for index, node in enumerate(graph.node):
        for name in node.output:
            producer[name] = index
    waiting = [{producer[name] for name in node.input if name in producer} for node in graph.node]
    readers = [[] for _ in graph.node]
    for index, sources in enumerate(waiting):
        for source in sources:
            readers[source].append(index)
    ready = collections.deque(index for index, sources in enumerate(waiting) if not sources)
    order = []
    while ready:
        index = ready.popleft()
        order.append(index)
        for reader in readers[index]:
            waiting[reader].discard(index)
            if not waiting[reader]:
                ready.append(reader)
    if len(order) < len(graph.node):
        done = set(order)
        stuck = [graph.node[i].name or graph.node[i].op_type for i in range(len(graph.node))
                 if i not in done]
        raise _fail(path, f"the graph has a cycle: nodes {', '.join(map(repr, stuck[:6]))}"
                          f"{' ...' if len(stuck) > 6 else ''} never get all their inputs: some "
                          "wait, directly or through others, for their own output")
    return [graph.node[i] for i in order]


def load(path):
    path = os.fspath(path)
    model = _read(path)
    opset = _opset(path, model)
    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    inputs = [value for value in graph.input if value.name not in initializers]
    if not inputs:
        raise _fail(path, "the model has no inputs (graph.input lists none besides the "
                          "initializers), so there is nothing to feed it; export it with an input")
    protos = _sorted(path, graph)
    if list(protos) != list(graph.node):  # the checker wants them in order
        graph.ClearField("node")
        graph.node.extend(protos)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as error:
        first = str(error).strip().splitlines()[0]
        raise _fail(path, f"not a valid ONNX model: {first}") from None
    nodes = [_Node(proto, opset) for proto in protos]
    lacking = []
    for node in nodes:
        if node.op_type == "Constant":
            continue
        if node.domain not in ("", "ai.onnx") or node.op_type not in OPS:
            lacking.append(f"{node.op_type} (node '{node.name}')")
        else:
            why = _unsupported_use(node)
            if why:
                lacking.append(f"{node.op_type} with {why} (node '{node.name}')")
    if lacking:
        raise _fail(path, f"tapegrad has no operation for {len(lacking)} node"
                          f"{'s' if len(lacking) > 1 else ''} of this model: "
                          f"{', '.join(lacking)}; only these operators load: "
                          f"{', '.join(sorted(OPS))}")
    buffers = {name for entry in model.metadata_props if entry.key == BUFFERS_KEY
               for name in entry.value.split(",")}  # written by autograd.onnx.export
    return OnnxModel(path, graph, nodes, inputs, initializers, buffers)


# ---------------------------------------------------------------- the model

# Inputs that hold no learned number: batch norm's running statistics (buffers) and the
# shapes, axes and exponents other operators read.
_STATISTICS = {"BatchNormalization": (3, 4)}
_FIXED = {"Reshape": (1,), "Expand": (1,), "Slice": (1, 2, 3, 4), "Squeeze": (1,),
          "Unsqueeze": (1,), "ReduceSum": (1,), "ReduceMax": (1,), "ReduceMin": (1,),
          "ReduceMean": (1,), "Gather": (1,), "Pow": (1,), "Clip": (1, 2), "Where": (0,)}


class Weights(Module):
    """The parameters and buffers under one part of their dotted names ('conv1' holds
    'conv1.weight' and 'conv1.bias'); the operators that use them are in the graph."""

    def extra_repr(self):
        return ", ".join(list(self._parameters) + list(self._buffers))


def _attribute(part, taken):
    """A name part as a module attribute: word characters only, not a Module method."""
    name = re.sub(r"\W", "_", part) or "_"
    while hasattr(Module, name) or name in taken:
        name += "_"
    return name


class OnnxModel(Module):
    """A model read from an ONNX file: ``forward`` replays its graph with tapegrad's
    operations. Its initializers are Parameters (and buffers, for batch norm's running
    statistics) under their names in the file, so ``state_dict()`` has the names of the
    model it was exported from (PyTorch's ``conv1.weight``)."""

    def __init__(self, path, graph, nodes, inputs, initializers, buffers=()):
        super().__init__()
        learned, statistics = set(), set(buffers)
        for node in nodes:
            for position, name in enumerate(node.inputs):
                if name not in initializers:
                    continue
                if position in _STATISTICS.get(node.op_type, ()):
                    statistics.add(name)
                elif position not in _FIXED.get(node.op_type, ()) and name not in buffers:
                    learned.add(name)
        constants, owners, layers = {}, {}, {(): self}
        for name, proto in initializers.items():
            array = numpy_helper.to_array(proto).copy()
            if array.dtype.kind == "f" and name in learned:
                owners[name] = self._place(layers, name, Parameter(array))
            elif array.dtype.kind == "f" and name in statistics:
                owners[name] = self._place(layers, name, array, buffer=True)
            else:
                constants[name] = Tensor(array)
        for node in nodes:
            if node.op_type == "Constant":
                constants[node.outputs[0]] = Tensor(_constant_value(node))
        spec = {"path": path, "nodes": [n for n in nodes if n.op_type != "Constant"],
                "constants": constants, "owners": owners,
                "inputs": [(v.name, _dims(v), _dtype(v)) for v in inputs],
                "outputs": [v.name for v in graph.output]}
        object.__setattr__(self, "_onnx", spec)

    def _place(self, layers, name, value, buffer=False):
        """Register ``value`` under its dotted name; the (module, attribute) that holds it.
        ``layers`` maps each name's leading parts, as a tuple, to the module made for them
        (() to the model), so 'eval.weight' and 'eval.bias' share the layer 'eval_'."""
        parts = tuple(name.split("."))
        module = self
        for depth in range(1, len(parts)):
            child = layers.get(parts[:depth])
            if child is None:
                child = layers[parts[:depth]] = Weights()
                setattr(module, _attribute(parts[depth - 1], module.__dict__), child)
            module = child
        attribute = _attribute(parts[-1], module.__dict__)
        if buffer:
            module.register_buffer(attribute, value)
        else:
            setattr(module, attribute, value)
        return module, attribute

    def forward(self, *inputs):
        spec = self._onnx
        expected = spec["inputs"]
        if len(inputs) != len(expected):
            raise ValueError(f"{spec['path']}: the model takes {len(expected)} input"
                             f"{'s' if len(expected) > 1 else ''} "
                             f"({', '.join(name for name, _, _ in expected)}), got {len(inputs)}")
        values = dict(spec["constants"])
        for name, (module, attribute) in spec["owners"].items():
            values[name] = getattr(module, attribute)
        for (name, dims, dtype), value in zip(expected, inputs):
            value = value if isinstance(value, Tensor) else Tensor(np.asarray(value, dtype))
            if value.ndim != len(dims) or any(d is not None and d != n
                                              for d, n in zip(dims, value.shape)):
                shape = tuple("N" if d is None else d for d in dims)
                raise ValueError(f"{spec['path']}: the input '{name}' must have shape {shape} "
                                 f"(N: any size), got {value.shape}")
            values[name] = value
        for node in spec["nodes"]:
            arguments = [values[name] if name else None for name in node.inputs]
            while arguments and arguments[-1] is None:
                arguments.pop()
            try:
                with scope(node.layer, node.op_type if node.layer else None):
                    results = OPS[node.op_type](node, *arguments)
            except (ValueError, TypeError) as error:  # a tapegrad op's words, with the ONNX node
                raise type(error)(f"{spec['path']}: {node.label}: {error}") from error
            results = results if isinstance(results, tuple) else (results,)
            values.update(zip(node.outputs, results))
        outputs = tuple(values[name] for name in spec["outputs"])
        return outputs[0] if len(outputs) == 1 else outputs

    def extra_repr(self):
        return repr(os.path.basename(self._onnx["path"]))


def _constant_value(node):
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in node.attrs:
            value = node.attrs[key]
            if key == "value":
                return numpy_helper.to_array(value)
            return np.asarray(value, np.float32 if "float" in key else np.int64)
    raise OnnxError(f"{node.label}: a Constant of a kind tapegrad does not read "
                    f"({', '.join(node.attrs)})")


def _dims(value):
    """An input's shape: an int per fixed axis, None per named or unknown one."""
    shape = value.type.tensor_type.shape
    return [d.dim_value if d.HasField("dim_value") else None for d in shape.dim]


def _dtype(value):
    return helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type)
