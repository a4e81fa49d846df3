"""The recorded graph as data: one walk in tape order, and ``to_networkx``.

Both diagrams and the networkx export read the graph through ``walk``, so they agree on
what is in it and on the names of its parts:

* an op node (one application of a ``nodes.Node``) is ``n{seq}``, its tape sequence number;
* a tensor is ``t{k}``, numbered in the order a walk in tape order meets it: for each op,
  in increasing sequence number, first its inputs in argument order (those not numbered
  yet: leaves, constants), then its output. The same graph gets the same ids every time,
  so frames of a step-through line up. ``tensor_ids(output)`` gives the mapping.

Nothing here changes the graph or releases it; nothing recurses (the walk is a loop over
``autograd.graph_nodes``, which is iterative), so a million-node chain exports.
"""

import gc
import re
from collections import namedtuple

import numpy as np

from ..tape import _outputs, graph_nodes
from ..tensor import Tensor

SMALL_ARRAY = 16  # arrays with at most this many elements are shown whole, larger ones summarised

Walk = namedtuple("Walk", "ops tensors ids outputs order output")
Walk.__doc__ = """The graph leading to ``output``, read once.

ops      the recorded nodes, in tape order (increasing sequence number)
tensors  every tensor in the graph, in id order (tensors[k] is ``t{k}``)
ids      id(tensor) -> "t{k}"
outputs  id(op) -> the tensor the op produced
order    tensors and ops interleaved as the walk met them: a topological order
output   the tensor the walk started from
"""


def node_id(node):
    """The DOT / networkx id of a recorded node: ``n{seq}``."""
    return f"n{node._seq}"


def _check_output(output, caller):
    if not isinstance(output, Tensor):
        raise TypeError(f"{caller}: expected the output Tensor of a computation (the graph is "
                        f"read backwards from it), got {type(output).__name__}")


def walk(output, caller="walk"):
    """Read the graph that leads to ``output`` (a Tensor) in tape order; see ``Walk``."""
    _check_output(output, caller)
    ops = graph_nodes(output)
    ops.reverse()
    # A node does not know its output tensor; its consumers (and the root) do.
    produced = _outputs(output, ops) if output._node is not None else {}
    ids, tensors, order = {}, [], []
    for op in ops:
        for tensor in op._inputs:
            if id(tensor) not in ids:
                ids[id(tensor)] = f"t{len(tensors)}"
                tensors.append(tensor)
                order.append(tensor)
        order.append(op)
        result = produced[id(op)]
        if id(result) not in ids:
            ids[id(result)] = f"t{len(tensors)}"
            tensors.append(result)
            order.append(result)
    if id(output) not in ids:  # a leaf: the graph is just this tensor
        ids[id(output)] = f"t{len(tensors)}"
        tensors.append(output)
        order.append(output)
    return Walk(ops, tensors, ids, produced, order, output)


def tensor_ids(output):
    """``{id(tensor): "t{k}"}`` for every tensor in the graph leading to ``output``.

    These are the DOT node ids ``draw`` gives tensors (op nodes are ``n{seq}``, see
    ``node_id``) and the networkx node ids of ``to_networkx``; they depend only on the
    graph, so every call on the same graph returns the same ids.
    """
    return walk(output, "tensor_ids").ids


def summary(array):
    """``{"min", "mean", "max"}`` of an array as Python floats (None for an empty array)."""
    if array.size == 0:
        return None
    return {"min": float(array.min()), "mean": float(array.mean()), "max": float(array.max())}


def role(tensor, output):
    """'output', 'intermediate', 'parameter' (a leaf that requires grad) or 'input'."""
    if tensor is output:
        return "output"
    if tensor._node is not None:
        return "intermediate"
    return "parameter" if tensor._requires_grad else "input"


def grad_of(tensor, grads):
    """The gradient to show: ``grads[tensor]`` when a mapping is given, else ``.grad``."""
    if grads is None:
        return tensor._grad
    return grads.get(tensor)


_RULE_TARGET = re.compile(r"\s*d([A-Za-z][A-Za-z0-9_]*)")


def argument_names(op):
    """Names of the op's inputs from its rules ('dx = ...' -> 'x'), or positions when unknown."""
    names = []
    for rule in op.rules[:len(op._inputs)]:  # a node with an optional input lists its rule last
        match = _RULE_TARGET.match(rule)
        names.append(match.group(1) if match else None)
    if len(names) != len(op._inputs) or None in names or len(set(names)) != len(names):
        return [str(position) for position in range(len(op._inputs))]
    return names


def to_networkx(output, grads=None):
    """The graph leading to ``output`` as a ``networkx.DiGraph``.

    Bipartite, like the course's computational graphs: one graph node per tensor (id
    ``t{k}``) and one per node application (id ``n{seq}``), edges in the direction data
    flows (input tensor -> op -> output tensor). Nodes are inserted in tape order, so
    ``list(G)`` is a topological order; ``G.graph["output"]`` is the id of ``output``.

    Tensor attributes: ``kind="tensor"``, ``name`` (a parameter's dotted name such as
    ``0.weight``, else None), ``role`` ("parameter": a leaf that requires grad, "input": a
    leaf that does not (data, constants), "intermediate", "output"), ``shape``, ``dtype``,
    ``seq`` (of the op that made it, None for leaves; its module is that op's ``module``),
    ``value`` (a copy for arrays of at most 16 elements, else None), ``summary`` ({min,
    mean, max} for larger arrays, else None), ``grad`` and ``grad_summary`` likewise once
    a gradient is known (``.grad``, or ``grads[tensor]`` when a mapping ``grads`` is
    given), else None.

    Op attributes: ``kind="op"``, ``op`` (the node's name: multiply, add, conv ...),
    ``symbol`` (the course's symbol or None), ``seq``, ``module`` and ``module_kind`` (the
    Module that ran it: ``conv1``, ``Conv2d``; '' for the root module, None outside
    modules), ``shape`` and ``dtype`` of its output, ``rules`` (the local chain rules), ``node`` (the Node itself).

    Edge attributes: ``kind`` ("input" or "output"); input edges also have ``positions``,
    the argument positions the tensor fills (``a * a`` gives one edge with (0, 1)).
    """
    import networkx as nx

    # A million-node graph makes millions of small dicts: the cyclic garbage collector would
    # rescan them again and again (the export took 2x longer), and none of them form cycles.
    collecting = gc.isenabled()
    gc.disable()
    try:
        graph_walk = walk(output, "to_networkx")
        graph = nx.DiGraph(output=graph_walk.ids[id(output)])
        dtype_names = {}
        graph.add_nodes_from(_node_rows(graph_walk, grads, dtype_names))
        graph.add_edges_from(_edge_rows(graph_walk))
    finally:
        if collecting:
            gc.enable()
    return graph


def _node_rows(graph_walk, grads, dtype_names):
    """(id, attributes) for each tensor and op, in the walk's (topological) order."""
    ids, outputs, output = graph_walk.ids, graph_walk.outputs, graph_walk.output
    for item in graph_walk.order:
        if isinstance(item, Tensor):
            yield ids[id(item)], _tensor_attributes(item, output, grads, dtype_names)
            continue
        result = outputs[id(item)].data
        scope = item._scope
        yield node_id(item), {
            "kind": "op", "op": item.name, "symbol": item.symbol, "seq": item._seq,
            "module": scope.path if scope is not None else None,
            "module_kind": scope.kind if scope is not None else None,
            "shape": result.shape, "dtype": _dtype_name(result, dtype_names),
            "rules": item.rules, "node": item}


def _edge_rows(graph_walk):
    """(from, to, attributes): input tensor -> op with its argument positions, op -> output."""
    ids = graph_walk.ids
    for tensor in graph_walk.tensors:
        if tensor._node is not None:
            yield node_id(tensor._node), ids[id(tensor)], {"kind": "output"}
    for op in graph_walk.ops:
        op_id = node_id(op)
        inputs = op._inputs
        if len(inputs) == 1:
            yield ids[id(inputs[0])], op_id, {"kind": "input", "positions": (0,)}
            continue
        positions = {}
        for position, tensor in enumerate(inputs):
            positions.setdefault(ids[id(tensor)], []).append(position)
        for tensor_key, where in positions.items():
            yield tensor_key, op_id, {"kind": "input", "positions": tuple(where)}


def _dtype_name(array, names):
    name = names.get(array.dtype)
    if name is None:
        name = names[array.dtype] = str(array.dtype)
    return name


def _tensor_attributes(tensor, output, grads, dtype_names):
    data = tensor.data
    dtype = _dtype_name(data, dtype_names)
    small = data.size <= SMALL_ARRAY
    grad = grad_of(tensor, grads)
    if grad is not None:
        grad = np.asarray(grad)
    producer = tensor._node
    return {
        "kind": "tensor", "name": tensor.name, "role": role(tensor, output),
        "shape": data.shape, "dtype": dtype,
        "seq": producer._seq if producer is not None else None,
        "value": data.copy() if small else None,
        "summary": None if small else summary(data),
        "grad": grad.copy() if grad is not None and grad.size <= SMALL_ARRAY else None,
        "grad_summary": summary(grad) if grad is not None and grad.size > SMALL_ARRAY else None,
    }
