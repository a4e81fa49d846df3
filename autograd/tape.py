"""The tape: node applications with sequence numbers, and backprop as one generator.

``apply`` runs a node's forwardPass on tensors and, when a gradient is wanted, records
the application: its inputs, a sequence number from a global counter, the module scope
that made it. Creation order is a topological order, so backprop visits the recorded
nodes in decreasing sequence number. ``backprop`` is the only backprop loop; ``backward``
runs it to the end and the step-through pauses between its steps.
"""

import collections
import contextlib
import copy
import itertools
import operator
import os
import threading
import traceback
import zlib
from collections import namedtuple

import numpy as np

from nodes.base import AxisError, Node
from nodes.kernels.memory import owns as _kernel_memory

from .tensor import REAL_KINDS, Tensor, as_array_like, dtype_error, result_type

_sequence = itertools.count()


class _State(threading.local):
    """The switches read on every node application, one set per thread, as in PyTorch.

    ``threading.local`` runs ``__init__`` again in each thread that first reads them, so a
    new thread starts recording, with anomaly mode off and no module scope, whatever the
    thread that started it had switched on; a ``no_grad`` block in one thread never stops
    another thread's recording.
    """

    def __init__(self):
        self.grad_enabled = True
        self.anomaly = False
        self.scope = None  # the Scope of the Module whose forward is running, for diagrams


state = _State()

# Reading a thread's own switch costs about 45 ns more than reading a global (three reads
# a node made recording the 0-d chain 9% slower), so ``apply`` skips the reads while every
# thread has every switch at its default: ``_all_default`` is True exactly when ``_away``,
# the number of switches set away from their default over all threads, is 0. A thread's
# own change updates it before the change returns, so ``_all_default`` is never True
# while the reading thread's own switches are away from their defaults.
_DEFAULTS = {"grad_enabled": True, "anomaly": False, "scope": None}
_away = 0
_all_default = True
_away_lock = threading.Lock()


def _switch(name, value):
    """Set this thread's switch ``name`` (a key of ``_DEFAULTS``) to ``value``."""
    global _away, _all_default
    default = _DEFAULTS[name]
    with _away_lock:
        _away += (value is not default) - (getattr(state, name) is not default)
        setattr(state, name, value)
        _all_default = _away == 0


# ---------------------------------------------------------------- recording switches

class _Switch(contextlib.ContextDecorator):
    """A context manager and decorator that sets one of ``state``'s switches and restores it.

    Used as a decorator it enters a fresh copy per call: the one it was made as would keep
    a single remembered previous value for every thread and every recursive call.
    """

    def _recreate_cm(self):
        return type(self)()


class no_grad(_Switch):
    """Context manager and decorator: nothing computed inside is recorded on the tape.

    Per thread: other threads keep recording.
    """

    def __enter__(self):
        self._previous = state.grad_enabled
        _switch("grad_enabled", False)
        return self

    def __exit__(self, *exc):
        _switch("grad_enabled", self._previous)
        return False


class enable_grad(no_grad):
    """Context manager and decorator: record again inside a ``no_grad`` block."""

    def __enter__(self):
        self._previous = state.grad_enabled
        _switch("grad_enabled", True)
        return self


def is_grad_enabled():
    """Whether nodes applied in this thread are recorded now (False inside ``no_grad``)."""
    return state.grad_enabled


class detect_anomaly(_Switch):
    """Raise at the first node whose output or gradient holds NaN or inf (in this thread).

    The error names the node and the line of user code that created it. Recording the
    line costs a stack walk per node, so this mode is for debugging only.
    """

    def __enter__(self):
        self._previous = state.anomaly
        _switch("anomaly", True)
        return self

    def __exit__(self, *exc):
        _switch("anomaly", self._previous)
        return False


class AnomalyError(FloatingPointError):
    """A node produced NaN or inf while ``detect_anomaly()`` was active."""


Scope = namedtuple("Scope", "path kind parent")
Scope.__doc__ = """The module a node was made in: dotted path ('features.0'), class name, enclosing scope."""


@contextlib.contextmanager
def scope(name, kind=None):
    """Label the nodes created inside with a module's dotted path and kind.

    ``nn.Module.__call__`` enters one per module: nested calls join their names with dots,
    and the root module (name '') gets the path ''. Nodes keep the Scope in ``_scope``.
    """
    previous = state.scope
    if previous is None or not previous.path:
        path = name or ""
    else:
        path = f"{previous.path}.{name}" if name else previous.path
    current = Scope(path, kind, previous)
    _switch("scope", current)
    try:
        yield current
    finally:
        _switch("scope", previous)


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_NODES_DIR = os.path.join(os.path.dirname(_PACKAGE_DIR), "nodes")


def _user_line():
    """'file:line: code' of the innermost frame outside this package and nodes/."""
    for frame in reversed(traceback.extract_stack()):
        path = os.path.abspath(frame.filename)
        if not (path.startswith(_PACKAGE_DIR) or path.startswith(_NODES_DIR)):
            return f"{frame.filename}:{frame.lineno}: {(frame.line or '').strip()}"
    return "<unknown>"


def _describe(node):
    seq = getattr(node, "_seq", None)
    label = node.name if seq is None else f"{node.name} #{seq}"
    origin = getattr(node, "_origin", None)
    return label + (f" (created at {origin})" if origin else "")


def _non_finite(array):
    return array.dtype.kind in "fc" and not np.isfinite(array).all()


# ---------------------------------------------------------------- saved arrays stay as saved

# A node's backwardPass reads the arrays its forwardPass saved, so if one changes in place
# in between, the gradient silently comes from the new values. NumPy arrays cannot count
# their own edits (``x.data *= 2`` goes through no Tensor method), so the engine uses two
# rules, by where an array comes from:
# * An array a recorded node made (its output) is read-only from the start: NumPy refuses
#   an edit at the line that tries it. ``detach().clone()`` gives a copy to edit.
# * An array from outside the graph (a parameter, an input, a constant, a detached tensor)
#   stays writable: optimizers update parameters in place, and a graph that will never be
#   backpropagated must not stop them. Instead the first node of a graph to save it
#   records a ``_Saved``: the array and a checksum of its bytes. Every tensor computed
#   from that node carries the record (``Tensor._holds``, the union over its inputs), so
#   backward() checks them all before its first step and refuses, naming the node, if an
#   array changed since. The cost is a CRC-32 of each outside array a graph saves, once
#   when it is saved and once per backward (about 0.2 ms a megabyte).


class _Saved:
    """An outside array a node saved for backward, and how it was then (see above)."""

    __slots__ = ("array", "shape", "checksum", "node", "position")

    def __init__(self, array, node, position):
        self.array, self.shape, self.checksum = array, array.shape, _checksum(array)
        self.node, self.position = node, position  # the first node that saved it, for errors

    def changed(self):
        return self.array.shape != self.shape or _checksum(self.array) != self.checksum


def _checksum(array):
    return zlib.crc32(array if array.flags.c_contiguous else np.ascontiguousarray(array))


def _with_saved(holds, array, node, position):
    """``holds`` (a tuple of _Saved, or None) with ``array`` in it, unless it is read-only
    (then it cannot change: a graph's own output, a broadcast view, a constant NumPy will
    not write) or this graph recorded it already."""
    if holds is None:
        return (_Saved(array, node, position),) if array.flags.writeable else None
    for saved in holds:
        if saved.array is array:
            return holds
    return holds + (_Saved(array, node, position),) if array.flags.writeable else holds


def _with_kept(holds, array, node, position):
    """``_with_saved``, for an input the node may read in backward: only if the node kept
    it (``_keeps``). A conv keeps its columns, not x, and a max-pool its masks: checking
    an input it never reads again would cost a checksum of it twice a step for nothing."""
    if not array.flags.writeable or not _keeps(node, array):
        return holds
    return _with_saved(holds, array, node, position)


def _keeps(node, array):
    """Whether ``node`` holds ``array``, or memory it shares, in one of its saved
    attributes, or inside an object (a fast kernel) held there, one level down; and, to
    be safe, whenever it holds something else (a list, a dict) or lists no ``saved``."""
    names = type(node).saved
    if names is None:
        return True
    owner = _owner(array)
    for name in names:
        if _holds_array(getattr(node, name, None), array, 1, owner):
            return True
    return False


def _owner(array):
    """The array whose memory ``array`` views (itself when it owns its memory), or None
    when that memory is not an array's own (a buffer, a memory map, a pointer)."""
    base = array.base
    while isinstance(base, np.ndarray):
        array, base = base, base.base
    return array if base is None and array.flags.owndata else None


_PLAIN = (bool, int, float, str, np.generic, np.dtype)
_INTEGERS = (int, np.integer)


def _holds_array(value, array, depth, owner):
    # Runs for every attribute of a node and of its kernel, for each outside array a
    # node is given (a conv's x, filters and bias): loops, not generators, and no call
    # into NumPy for two arrays of two different owning arrays, which never overlap.
    if value is None or isinstance(value, _PLAIN):
        return False
    if isinstance(value, np.ndarray):
        if value is array:
            return True
        other = _owner(value)
        if owner is not None and other is not None and other is not owner:
            return False
        return np.may_share_memory(value, array)
    if isinstance(value, tuple):
        for item in value:
            if not isinstance(item, _INTEGERS):
                break
        else:
            return False  # a shape or a stride
    if depth and hasattr(value, "__dict__") and not isinstance(value, type):
        items = vars(value).values()
    elif depth and isinstance(value, (list, tuple)):
        items = value
    else:
        return True  # something else: assume it may hold the array
    for item in items:
        if _holds_array(item, array, depth - 1, owner):
            return True
    return False


def _union(first, second):
    """The records of both inputs' graphs, each array once."""
    arrays = {id(saved.array) for saved in first}
    extra = tuple(saved for saved in second if id(saved.array) not in arrays)
    return first + extra if extra else first


def _shared_output(out, node, arrays, holds):
    """The records for an output that shares memory with something: an input array handed
    back as it is (recorded like an outside input), or a view (read-only itself, and the
    array it views recorded when that is writable: an outside input's, or another)."""
    for position, array in enumerate(arrays):
        if out is array:
            return _with_saved(holds, out, node, position)
    out.setflags(False)
    base = out.base
    if not isinstance(base, np.ndarray):
        return holds  # no base, or memory NumPy does not own (bytes, mmap)
    # A block of the kernels' memory (nodes/kernels/memory.py) is shared by no one: what
    # can change is the input array the output views, if it is writable, not the block.
    kernel_memory = _kernel_memory(base)
    for position, array in enumerate(arrays):
        if base is array or base is array.base:
            return _with_saved(holds, array if kernel_memory else base, node, position)
    if kernel_memory:
        return holds  # a new output made in the kernels' memory
    return _with_saved(holds, base, node, None)


def _check_unchanged(root):
    """Raise before backprop starts if an outside array the graph saved has changed."""
    holds = root._holds
    if holds is not None:
        for saved in holds:
            if saved.changed():
                raise _changed_error(saved)


def _what_changed(saved):
    """Which array of its node a changed ``_Saved`` is, and how it changed, for errors."""
    node, position = saved.node, saved.position
    if position is None:
        what = f"the array of shape {saved.shape} its output is a view of"
    else:
        tensor = node._inputs[position]
        name = f"'{tensor.name}', " if tensor.name else ""
        what = f"its input {position} ({name}shape {tensor.shape})"
    how = "changed shape" if saved.array.shape != saved.shape else "was changed in place"
    return what, how


def _changed_error(saved):
    what, how = _what_changed(saved)
    return RuntimeError(
        f"backward(): {_describe(saved.node)} needs {what} as it was when the node ran, and "
        f"that array {how} afterwards (by an optimizer step, or an edit through .data, .numpy() "
        "or detach()), so the gradient would come from the new values. Call backward() "
        "before changing it, or run the forward pass again after the change; to change it "
        "while this graph still needs it, give the graph a copy (.clone() it before the "
        "operation)")


# ---------------------------------------------------------------- forward: apply

def _lift(inputs, node):
    """The inputs as tensors, and the dtype to cast their arrays to (None: as they are).

    This is where inputs become arrays, so the dtype rule (``result_type``, PyTorch's) is
    applied here and nowhere else: Python numbers become arrays of the result dtype, and
    a node that ``promotes`` gets every input in it.
    """
    promotes = node.promotes
    common = numbers = None
    for value in inputs:  # the usual cases first: tensors of one dtype, and Python numbers
        if isinstance(value, Tensor):
            if common is None:
                common = value.data.dtype
            elif value.data.dtype is not common:
                break
        elif type(value) in (int, float):
            numbers = True
        else:
            break
    else:
        if common is not None and (common.kind == "f" or (not numbers and promotes != "float")):
            if not numbers:
                return inputs, None  # nothing to lift or cast
            # a Python number never widens a float tensor: it takes the tensors' dtype
            return tuple(value if isinstance(value, Tensor) else
                         _constant(value, common, node.name) for value in inputs), None
    dtype = result_type(*inputs, floating=promotes == "float")
    inputs = tuple(value if isinstance(value, Tensor) else _constant(value, dtype, node.name)
                   for value in inputs)
    return inputs, (dtype if promotes is not None else None)


def _cast(array, dtype):
    """``array`` in ``dtype``; a cast copy is read-only, as only this application holds it."""
    if array.dtype == dtype:
        return array
    array = array.astype(dtype)
    array.setflags(False)
    return array


def _constant(value, like, where):
    """A constant input as a tensor: a NumPy array as it is, numbers as a new read-only array
    (no one else can change it, so no graph need record it: see "saved arrays stay as saved")."""
    array = as_array_like(value, like, where)
    if array is not value:
        array.setflags(False)
    return Tensor._wrap(array, False)


_new_tensor = Tensor.__new__
_ndarray, _asarray, _generic = np.ndarray, np.asarray, np.generic  # faster than np.ndarray
# Checking a dtype by identity first saves half the time of reading ``dtype.kind``, once
# per node and per gradient, for the two dtypes nearly every array has.
_FLOAT32, _FLOAT64 = np.dtype(np.float32), np.dtype(np.float64)

# Every node keeps a tuple ``needs_input_grad``; nodes share one tuple per pattern, as
# every object a node keeps alive is one more for the cyclic garbage collector to
# traverse, and GC time grows with the graph. _PAIRS[x][y] is (x, y) for two inputs.
_shared_flags = {}
_PAIRS = (((False, False), (False, True)), ((True, False), (True, True)))
_NEITHER = _PAIRS[False][False]


def _shape_error(node, inputs, error):
    shapes = " and ".join(str(t.data.shape) for t in inputs)
    if "read-only" in str(error):  # NumPy's words for writing into a read-only array
        return ValueError(
            f"{node.name}: forwardPass wrote into one of its inputs (of shapes {shapes}), and "
            "that array is read-only: a recorded node made it, and a graph may need it as it "
            "is. Compute a new array instead of changing an input in place")
    return ValueError(f"{node.name}: cannot apply to inputs of shapes {shapes}: {error}")


def _what(value):
    """A short description of a value a user's node gave back, for error messages."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, (list, tuple)):
        kinds = sorted({type(item).__name__ for item in value})
        return f"a {type(value).__name__} of {len(value)} ({', '.join(kinds) or 'nothing'})"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _not_a_node(node):
    if isinstance(node, type):
        got = f"the class {node.__name__} itself"
        hint = f"pass an instance: apply({node.__name__}(), ...)"
    else:
        got = f"{type(node).__name__} {getattr(node, '__name__', None) or _what(node)}"
        hint = ("subclass nodes.Node with forwardPass and backwardPass, and pass an instance: "
                "apply(MyNode(), x)")
    return TypeError(f"apply expects a nodes.Node instance, got {got}; {hint}")


def _real_array(node, value, what):
    """``value`` as an array of real numbers, or a TypeError naming the node and ``what``.

    Checks what a node gives back, its output and its gradients, at the boundary: NumPy
    arrays, NumPy scalars and Python numbers are accepted (NumPy gives 0-d results as
    scalars, and the course's scalar nodes return Python floats); a list would otherwise
    become a stacked array, None a 0-d object array, and a complex gradient would lose
    its imaginary part when added to a real one.
    """
    if isinstance(value, (np.ndarray, np.generic, int, float)):
        value = np.asarray(value)  # subclasses (np.matrix, masked arrays) become plain arrays
        if value.dtype.kind in REAL_KINDS:
            return value
    if isinstance(value, (np.ndarray, complex)) and np.asarray(value).dtype.kind == "c":
        rule = "tapegrad's gradients are real, so complex numbers are not supported"
    else:
        rule = "it must be one NumPy array of real numbers (float, int or bool)"
    raise TypeError(f"{type(node).__name__} ({_describe(node)}): {what} {_what(value)}; {rule}")


def apply(node, *inputs):
    """Run ``node.forwardPass`` on the inputs' arrays and record it on the tape.

    Inputs may be tensors, arrays or Python numbers (constants). The result requires a
    gradient when any input does and recording is enabled (not inside ``no_grad``).

    One node object, one application: a node keeps the inputs and the arrays of the
    application it records, so applying an instance that was recorded before would rewire
    that earlier graph. The engine then records a fresh copy of it instead (same class,
    same fixed parameters, nothing saved), and the instance you hold keeps describing its
    first application.
    """
    if isinstance(node, Node) and getattr(node, "_seq", None) is not None:
        node = _fresh_copy(node)
    return _apply(node, *inputs)


def _fresh_copy(node):
    """A copy of a recorded node with its fixed parameters and none of its application."""
    fresh = copy.copy(node)
    fresh.release()  # the saved arrays belong to the earlier application
    for slot in ("_inputs", "_seq", "_scope", "_released", "_origin", "_retained"):
        try:
            delattr(fresh, slot)
        except AttributeError:
            pass
    return fresh


def _apply(node, *inputs):
    """``apply`` for a node made for this application (every operator makes a new one)."""
    # This runs once per node, and a chain of small tensors spends most of its time here
    # (see benchmarks/, "graph overhead"). The commonest case, two inputs that are already
    # tensors (every binary operator), is spelled out: no loops, no argument tuples.
    # ``needs_input_grad`` is set before forwardPass, so a node saves only what the gradients
    # that will be asked for need (ReLU keeps one mask, not two); all False when nothing
    # will be recorded, so under no_grad a node need not save anything.
    if not isinstance(node, Node):
        raise _not_a_node(node)
    if len(inputs) == 2 and isinstance(inputs[0], Tensor) and isinstance(inputs[1], Tensor):
        x, y = inputs
        flags = (_PAIRS[x._requires_grad][y._requires_grad] if _all_default or state.grad_enabled
                 else _NEITHER)
        node.needs_input_grad = flags
        xd, yd, arrays = x.data, y.data, None
        dtype = xd.dtype
        if ((dtype is not yd.dtype or (dtype is not _FLOAT32 and dtype is not _FLOAT64))
                and node.promotes is not None):  # the dtype rule, as in _lift
            dtype = result_type(x, y, floating=node.promotes == "float")
            xd, yd = _cast(xd, dtype), _cast(yd, dtype)
        try:
            out = node.forwardPass(xd, yd)
        except AxisError:
            raise  # it names the op, the axis and the shape already
        except ValueError as error:
            raise _shape_error(node, inputs, error) from error
    else:
        inputs, dtype = _lift(inputs, node)
        recording = _all_default or state.grad_enabled
        flags = tuple([t._requires_grad and recording for t in inputs])
        flags = node.needs_input_grad = _shared_flags.setdefault(flags, flags)
        xd = yd = None
        arrays = [t.data for t in inputs]
        if dtype is not None:
            arrays = [_cast(array, dtype) for array in arrays]
        try:
            out = node.forwardPass(*arrays)
        except AxisError:
            raise  # it names the op, the axis and the shape already
        except ValueError as error:
            raise _shape_error(node, inputs, error) from error
    if type(out) is not _ndarray:
        if isinstance(out, _generic):
            out = _asarray(out)  # NumPy gives 0-d results as scalars
        else:
            out = _real_array(node, out, "forwardPass returned")
    requires_grad = True in flags
    dtype = out.dtype
    if dtype is not _FLOAT32 and dtype is not _FLOAT64 and dtype.kind != "f":
        out = _real_array(node, out, "forwardPass returned")
        # An int or bool output takes no gradient, as in PyTorch: a user node's argmax,
        # say, is a constant to the graph. (Only float tensors can require a gradient.)
        requires_grad = False
    result = _new_tensor(Tensor)  # Tensor._wrap, inlined
    result.data = out
    result._grad = None
    result._requires_grad = requires_grad
    result.name = None
    if not requires_grad:
        result._node = None
        result._holds = None
        return result
    result._node = node
    node._inputs = inputs
    node._seq = next(_sequence)
    node._scope = None if _all_default else state.scope
    node._released = False
    node._retained = None
    if not _all_default and state.anomaly:
        node._origin = _user_line()
        if _non_finite(out):
            raise AnomalyError(f"{_describe(node)} produced NaN or inf in its output "
                               f"of shape {out.shape}")
    else:
        node._origin = None
    # Keep what backwardPass may read as it was (see "saved arrays stay as saved"): the
    # output is read-only, and a node that saves anything records its outside inputs. Two
    # tensors (every binary operator) are spelled out; in a chain such as a = a * w + b the
    # record for w is the last one its input carries, and is found without a call.
    if arrays is None:
        holds, other = x._holds, y._holds
        if other is not None and other is not holds:
            holds = other if holds is None else _union(holds, other)
        saved = node.saved
        if saved is None or saved:
            if x._node is None:
                holds = _with_kept(holds, xd, node, 0)
            if y._node is None and (holds is None or holds[-1].array is not yd):
                holds = _with_kept(holds, yd, node, 1)
        if out.base is None and out is not xd and out is not yd:
            out.setflags(False)
        else:
            holds = _shared_output(out, node, (xd, yd), holds)
    else:
        holds = None
        for tensor in inputs:
            other = tensor._holds
            if other is not None and other is not holds:
                holds = other if holds is None else _union(holds, other)
        saved = node.saved
        if saved is None or saved:
            for position, tensor in enumerate(inputs):
                if tensor._node is None:
                    holds = _with_kept(holds, arrays[position], node, position)
        if out.base is None and not any([out is array for array in arrays]):
            out.setflags(False)
        else:
            holds = _shared_output(out, node, arrays, holds)
    result._holds = holds
    return result


# ---------------------------------------------------------------- backward: one loop

Step = namedtuple("Step", "node upstream grads")
Step.__doc__ = """One node's backward: the gradient that arrived and what it sent to each input."""
_new_step = tuple.__new__  # Step(...) without the Python-level __new__ namedtuple adds


def graph_nodes(root):
    """The recorded nodes that lead to ``root`` (a Tensor), in decreasing sequence number.

    Iterative depth-first search: no recursion, so a million-node chain is fine.
    """
    start = root._node
    if start is None:
        return []
    seen = {id(start)}
    stack, found = [start], []
    mark, push = seen.add, stack.append  # bound once: the loop runs once per node
    while stack:
        node = stack.pop()
        found.append(node)
        for tensor in node._inputs:
            child = tensor._node
            if child is not None and id(child) not in seen:
                mark(id(child))
                push(child)
    found.sort(key=_seq_of, reverse=True)
    return found


_seq_of = operator.attrgetter("_seq")


def broadcast_axes(broadcast_shape, shape):
    """The axes of ``broadcast_shape`` that broadcasting an array of ``shape`` to it added
    or stretched (the ones a gradient is summed over), or None when it does not broadcast
    to that shape."""
    extra = len(broadcast_shape) - len(shape)
    if extra < 0 or not all(size in (1, b) for size, b in zip(shape, broadcast_shape[extra:])):
        return None
    return tuple(range(extra)) + tuple(extra + i for i, size in enumerate(shape)
                                       if size == 1 and broadcast_shape[extra + i] != 1)


def unbroadcast(grad, shape, node, position):
    """Sum a gradient back to an input's shape, undoing NumPy broadcasting.

    The gradient must have the input's shape, or the shape the input was broadcast to
    (extra leading axes, or size > 1 where the input has size 1); anything else is a
    bug in the node's backwardPass and is reported with both shapes.
    """
    if grad.shape == shape:
        return grad
    axes = broadcast_axes(grad.shape, shape)
    if axes is not None:
        leading = 0  # how many of the first axes are summed
        while leading < len(axes) and axes[leading] == leading:
            leading += 1
        if 0 < leading < len(axes):
            # Sum the leading axes first, then the rest: NumPy sums a conv bias's gradient,
            # axes (0, 2, 3), twice as fast this way as in one call.
            grad = grad.sum(axis=axes[:leading])
            axes = tuple(axis - leading for axis in axes[leading:])
        return grad.sum(axis=axes).reshape(shape)
    raise ValueError(
        f"{_describe(node)}: backwardPass returned a gradient of shape {grad.shape} for input "
        f"{position}, whose shape is {shape}; return a gradient of the input's shape (or of "
        "the broadcast shape, which the engine sums back)")


def _check_grads(node, grads):
    if not isinstance(grads, (tuple, list)):
        raise TypeError(f"{_describe(node)}: backwardPass must return a tuple with one gradient "
                        f"per input (None for none), got {type(grads).__name__}; "
                        "for a single input return (grad,)")
    if len(grads) != len(node._inputs):
        raise ValueError(f"{_describe(node)}: backwardPass returned {len(grads)} gradients for "
                         f"{len(node._inputs)} inputs of shapes "
                         f"{', '.join(str(t.shape) for t in node._inputs)}; return one per input")


def _check_grad(node, position, grad):
    """One gradient from ``backwardPass`` as a real array (see ``_real_array``), or a TypeError."""
    return _real_array(node, grad, f"backwardPass returned, as the gradient for input {position},")


def _released_error(node):
    return RuntimeError(
        f"Trying to backpropagate through {_describe(node)} a second time: the arrays it "
        "saved for backward were released after the first backward(). Pass "
        "retain_graph=True to the first backward() to backpropagate through this graph "
        "again, or run the forward pass again.")


def _initial_grad(root, grad):
    if not root._requires_grad:
        raise RuntimeError("backward(): this tensor does not require grad: none of the tensors "
                           "it was computed from has requires_grad=True, or it was computed "
                           "inside no_grad()")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward() without grad= needs a scalar output, but this one has shape "
                f"{root.shape}: reduce it first (y.sum().backward()) or pass grad= an array "
                f"of shape {root.shape}")
        return np.ones_like(root.data)
    grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad)
    if grad.dtype.kind not in REAL_KINDS:  # before the cast, which would drop an imaginary part
        raise dtype_error(grad.dtype, "backward(grad=...)")
    grad = grad.astype(root.data.dtype, copy=False)
    if grad.shape != root.shape:
        raise ValueError(f"backward(grad=...): the gradient has shape {grad.shape} but the "
                         f"output has shape {root.shape}; they must match")
    return grad


def _accumulate_leaf(tensor, grad):
    dtype = tensor.data.dtype
    if tensor._grad is None:
        tensor._grad = grad.astype(dtype)  # astype copies: own it, grads may be shared or views
    else:
        if grad.dtype != dtype:
            grad = grad.astype(dtype)
        tensor._grad = tensor._grad + grad


def backprop(root, grad=None, retain_graph=False, retain_grads=False):
    """Yield a ``Step`` per node, from the output back to the leaves.

    Gradients are added where a tensor feeds several nodes; a node runs once all its
    consumers (which all have larger sequence numbers) have sent their gradient. Leaf
    gradients accumulate into ``.grad``; an intermediate tensor keeps its gradient only
    after ``retain_grad()``, or, with ``retain_grads=True``, every tensor of the graph
    does (for diagrams: training without it keeps no intermediate gradient alive).
    Without ``retain_graph`` each node's saved arrays are released as soon as its
    backwardPass has run.

    Before the first step, a graph that was released, or one an array of which a node
    saved was changed in place since, is refused with a RuntimeError naming the node.
    """
    upstream = _initial_grad(root, grad)
    if root._node is None:
        _accumulate_leaf(root, upstream)
        return
    nodes = graph_nodes(root)
    for node in nodes:
        if node._released:
            raise _released_error(node)
    _check_unchanged(root)
    outputs = _outputs(root, nodes) if retain_grads else None
    pending = {id(root._node): upstream}
    anomaly = state.anomaly
    # The loop body runs once per node, so the checks that pass in the common case (a tuple
    # of the right length, gradients of the input's shape) are inlined before the helpers
    # that report what is wrong.
    for node in nodes:
        upstream = pending.pop(id(node), None)
        if upstream is None:  # no consumer sent a gradient this way
            if not retain_graph:
                node.release()
                node._released = True
            continue
        if node._retained is not None or outputs is not None:
            kept = node._retained() if outputs is None else outputs[id(node)]
            if kept is not None:
                _accumulate_leaf(kept, upstream)
        grads = node.backwardPass(upstream)
        if not retain_graph:
            node.release()
            node._released = True
        inputs = node._inputs
        if type(grads) is not tuple or len(grads) != len(inputs):
            _check_grads(node, grads)
        sent = []
        for position, tensor in enumerate(inputs):
            g = grads[position]
            if g is None or not tensor._requires_grad:
                sent.append(None)
                continue
            if type(g) is not _ndarray:
                g = _asarray(g) if isinstance(g, _generic) else _check_grad(node, position, g)
            dtype = g.dtype
            if dtype is not _FLOAT32 and dtype is not _FLOAT64 and dtype.kind not in REAL_KINDS:
                g = _check_grad(node, position, g)
            shape = tensor.data.shape
            if g.shape != shape:
                g = unbroadcast(g, shape, node, position)
            if anomaly and _non_finite(g):
                raise AnomalyError(f"{_describe(node)} produced NaN or inf in the gradient "
                                   f"for its input {position} of shape {tensor.shape}")
            sent.append(g)
            child = tensor._node
            if child is None:
                _accumulate_leaf(tensor, g)
            else:
                key = id(child)
                previous = pending.get(key)
                pending[key] = g if previous is None else previous + g
        yield _new_step(Step, (node, upstream, tuple(sent)))


def _outputs(root, nodes):
    """id(node) -> the tensor it made, for ``retain_grads``: a node does not know its
    output, its consumers (and the root) do."""
    outputs = {id(root._node): root}
    for node in nodes:
        for tensor in node._inputs:
            if tensor._node is not None:
                outputs.setdefault(id(tensor._node), tensor)
    return outputs


def backward(root, grad=None, retain_graph=False, retain_grads=False):
    """Run backprop from ``root`` to the end (see ``backprop``)."""
    collections.deque(backprop(root, grad, retain_graph, retain_grads), maxlen=0)  # in C
