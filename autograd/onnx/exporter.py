"""autograd.onnx.export: one recorded forward pass, written as an ONNX graph.

The tape already holds what ONNX needs: every node that ran, its inputs and its fixed
parameters, in an order where each node comes after its inputs (the sequence numbers).
Export walks it once, in that order, and asks each node for its ONNX operators (the
mapping its class declares beside its passes). Leaves become what they are: the example
inputs become graph inputs, parameters initializers under their state-dict names, and
every other constant a Constant operator.

Comparisons (``x > 0`` in leaky_relu's where) give constant masks that the tape does not
record, as they take no gradient; while the model runs here they are noted aside, so the
mask is written as the comparison of its operands and follows new inputs. (They are noted
in ``tensor._comparisons``, for this thread and the length of that one forward pass.)
"""

import contextlib
import os
import tempfile

import numpy as np
import onnx
from onnx import helper

from ..nn.module import Module
from ..tape import enable_grad
from ..tensor import Tensor, _comparisons
from . import OnnxError
from .builder import Graph, tensor_type

DEFAULT_OPSET = 18
BUFFERS_KEY = "tapegrad.buffers"  # metadata: the initializers that are buffers, not parameters
OPSETS = range(13, 22)  # the operators' meanings the mappings are written for

_COMPARISONS = {np.greater: "Greater", np.less: "Less", np.equal: "Equal",
                np.greater_equal: "GreaterOrEqual", np.less_equal: "LessOrEqual",
                np.not_equal: "Equal"}  # then Not


def export(model_or_fn, example_inputs, path, input_names=None, output_names=None,
           dynamic_batch=True, opset=None):
    opset = DEFAULT_OPSET if opset is None else opset
    if opset not in OPSETS:
        raise OnnxError(f"export: opset {opset!r} is not one tapegrad writes; use an opset from "
                        f"{OPSETS.start} to {OPSETS.stop - 1} (default {DEFAULT_OPSET})")
    examples = _examples(example_inputs, dynamic_batch)
    input_names = _names(input_names, len(examples), "input", "input_names")
    inputs = [Tensor(array, requires_grad=array.dtype.kind == "f") for array in examples]
    outputs, compared = _record(model_or_fn, inputs)
    output_names = _names(output_names, len(outputs), "output", "output_names")
    clash = set(input_names) & set(output_names)
    if clash:
        raise OnnxError(f"export: {sorted(clash)} named both an input and an output; give the "
                        "outputs other names with output_names=")
    parameters = {}
    if isinstance(model_or_fn, Module):
        parameters = {id(t): name for name, t in model_or_fn._named_state()}
    graph = _write(inputs, input_names, outputs, output_names, parameters, compared,
                   dynamic_batch, opset)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="tapegrad")
    if isinstance(model_or_fn, Module):  # so that load makes them buffers again, not parameters
        written = {t.name for t in graph.initializer}
        buffers = [name for name, _ in model_or_fn.named_buffers() if name in written]
        if buffers:
            helper.set_model_props(model, {BUFFERS_KEY: ",".join(buffers)})
    model.ir_version = helper.find_min_ir_version_for([helper.make_opsetid("", opset)])
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        first = str(error).strip().splitlines()[0]
        raise OnnxError(f"export: the ONNX graph written for this model does not pass "
                        f"onnx.checker ({first}); a node's onnx mapping is wrong") from error
    _save(model, os.fspath(path))
    return model


def _examples(example_inputs, dynamic_batch):
    values = example_inputs if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
    if not values:
        raise OnnxError("export: example_inputs is empty; give one example input per input of "
                        "the model (a tensor or array, or a tuple of them)")
    arrays = []
    for value in values:
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
        if array.dtype.kind not in "biuf":
            raise OnnxError(f"export: an example input has dtype {array.dtype}; give tensors or "
                            "arrays of numbers")
        arrays.append(array)
    if dynamic_batch:
        sizes = {a.shape[0] if a.ndim else None for a in arrays}
        if None in sizes or len(sizes) > 1:
            raise OnnxError(f"export: dynamic_batch=True takes axis 0 of every input as the batch "
                            f"axis, but the example inputs have shapes "
                            f"{[a.shape for a in arrays]}; give them one batch size, or pass "
                            "dynamic_batch=False for fixed shapes")
    return arrays


def _names(names, count, stem, what):
    if names is None:
        return [stem] if count == 1 else [f"{stem}_{i}" for i in range(count)]
    names = list(names)
    if len(names) != count or len(set(names)) != count or not all(
            isinstance(n, str) and n for n in names):
        raise OnnxError(f"export: {what} must be {count} different non-empty strings, one per "
                        f"{stem}, got {names!r}")
    return names


def _record(model_or_fn, inputs):
    """Run the model once on the inputs (in eval mode): its outputs and the comparisons made."""
    if not callable(model_or_fn):
        raise OnnxError(f"export: the model must be a Module or a function of tensors, got "
                        f"{type(model_or_fn).__name__}")
    modules = list(model_or_fn.modules()) if isinstance(model_or_fn, Module) else []
    modes = [module.training for module in modules]
    # Floating buffers (batch norm's running statistics) are recorded for this one pass, so
    # the file holds them under their names, as initializers, rather than folded numbers.
    buffers = [t for t in model_or_fn.buffers() if t.data.dtype.kind == "f"
               and not t._requires_grad] if modules else []
    if modules:
        model_or_fn.eval()  # dropout is the identity, batch norm uses its running statistics
    for buffer in buffers:
        buffer._requires_grad = True
    try:
        with enable_grad(), _noting_comparisons() as compared:
            outputs = model_or_fn(*inputs)
    finally:
        for buffer in buffers:
            buffer._requires_grad = False
        for module, mode in zip(modules, modes):
            object.__setattr__(module, "training", mode)
    outputs = tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)
    if not outputs or not all(isinstance(out, Tensor) for out in outputs):
        raise OnnxError("export: the model must return a Tensor or a tuple of Tensors, got "
                        f"{[type(out).__name__ for out in outputs]}")
    return outputs, compared


@contextlib.contextmanager
def _noting_comparisons():
    """Note each comparison's operands while the model runs in this thread (results kept, so
    ids stay theirs); other threads' comparisons are not noted."""
    noted = {}
    previous, _comparisons.notes = _comparisons.notes, noted
    try:
        yield noted
    finally:
        _comparisons.notes = previous


def _recorded_nodes(outputs, compared):
    """Every recorded node the outputs depend on, through comparisons too, in tape order."""
    found, stack = {}, list(outputs)
    while stack:
        tensor = stack.pop()
        node = tensor._node
        if node is not None:
            if id(node) in found:
                continue
            found[id(node)] = node
            stack.extend(node._inputs)
        elif id(tensor) in compared:
            _, left, right, _ = compared[id(tensor)]
            stack.extend(t for t in (left, right) if isinstance(t, Tensor))
    return sorted(found.values(), key=lambda node: node._seq)


def _label(node):
    """The layer a node was made in, as the prefix of its operators' names ('features/0')."""
    scope = getattr(node, "_scope", None)
    return scope.path.replace(".", "/") if scope is not None and scope.path else ""


def _no_mapping(node):
    kind = type(node).__name__
    where = f" in layer '{node._scope.path}'" if getattr(node, "_scope", None) and \
        node._scope.path else ""
    return OnnxError(
        f"export: node '{node.name}' ({kind}, #{node._seq}{where}) has no ONNX mapping; give "
        f"{kind} a class attribute onnx_op = 'OpType' if it is one ONNX operator on the same "
        "inputs, or a method onnx(self, graph, inputs) that adds operators with graph.op(...) "
        "and returns its output's name (as ExpNode and ReshapeNode in nodes/ do)")


def _write(inputs, input_names, outputs, output_names, parameters, compared, dynamic_batch,
           opset):
    graph = Graph(opset)
    batch = inputs[0].shape[0] if dynamic_batch else None
    names = {}  # id(tensor) -> its value's name, for leaves; id(node) -> output name
    for tensor, name in zip(inputs, input_names):
        graph._note(name, tensor.shape, tensor.dtype, batched=dynamic_batch)
        names[id(tensor)] = name
    taken = set(input_names) | set(output_names)
    made_by = {}  # id(node) -> the tensor it made (its shape and dtype)
    nodes = _recorded_nodes(outputs, compared)
    for node in nodes:
        for tensor in node._inputs:
            if tensor._node is not None:
                made_by[id(tensor._node)] = tensor
    for tensor in outputs:
        if tensor._node is not None:
            made_by[id(tensor._node)] = tensor

    def name_of(tensor):
        node = tensor._node
        if node is not None:
            return names[id(node)]
        if id(tensor) in names:
            return names[id(tensor)]
        if id(tensor) in parameters or tensor.requires_grad:
            name = parameters.get(id(tensor)) or tensor.name or "parameter"
            base, k = name, 1
            while name in taken:
                name, k = f"{base}_{k}", k + 1
            taken.add(name)
            graph.initializer(name, tensor.data)
        elif id(tensor) in compared:
            name = comparison(*compared[id(tensor)][:3])
        else:
            name = graph.constant(tensor.data)
        names[id(tensor)] = name
        return name

    def comparison(op, left, right):
        a = name_of(left)
        b = name_of(right) if isinstance(right, Tensor) else graph.constant(right, like=a)
        b = graph.cast(b, graph._dtypes[a])
        out = graph.op(_COMPARISONS[op], a, b)
        return graph.op("Not", out) if op is np.not_equal else out

    for node in nodes:
        out = made_by[id(node)]
        graph.prefix, graph.output_shape = _label(node), out.shape
        arguments = [name_of(t) for t in node._inputs]
        arguments = [a if graph._dtypes[a] == np.bool_ else graph.cast(a, out.dtype)
                     for a in arguments]
        mapping = getattr(node, "onnx", None)
        if callable(mapping):
            result = mapping(graph, arguments)
        elif getattr(node, "onnx_op", None):
            result = graph.op(node.onnx_op, *arguments)
        else:
            raise _no_mapping(node)
        graph._shapes[result], graph._dtypes[result] = out.shape, out.dtype
        if out.ndim == 0:
            graph._batched.discard(result)
        names[id(node)] = result

    graph_outputs = []
    for tensor, name in zip(outputs, output_names):
        value = name_of(tensor)
        graph.nodes.append(helper.make_node("Identity", [value], [name], name=f"output/{name}"))
        graph_outputs.append(_value_info(name, tensor, graph.batched(value) and batch))
    graph_inputs = [_value_info(name, t, batch) for t, name in zip(inputs, input_names)]
    used = {name for node in graph.nodes for name in node.input}
    kept = [node for node in graph.nodes if node.op_type != "Constant" or node.output[0] in used]
    return helper.make_graph(kept, "tapegrad", graph_inputs, graph_outputs, graph.initializers)


def _value_info(name, tensor, batch):
    """A graph input's or output's type; axis 0 'N' (or 'N*16') when it follows the batch."""
    dims = list(tensor.shape)
    if batch and dims:
        dims[0] = "N" if dims[0] == batch else (f"N*{dims[0] // batch}" if dims[0] % batch == 0
                                                else f"{name}_rows")
    return helper.make_tensor_value_info(name, tensor_type(tensor.dtype), dims)


def _save(model, path):
    """Write the file whole or not at all (a temporary file, then renamed)."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(suffix=".onnx.part", dir=folder)
        os.close(handle)
        try:
            onnx.save_model(model, temporary)
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)
    except OSError as error:
        raise OnnxError(f"export: cannot write {path}: {error.strerror or error}") from None
