"""Tensor: an array, its gradient and the node that made it. Every operator calls a node."""

import threading
import warnings
import weakref

import numpy as np

import nodes
from nodes.base import AxisError, normalize_axis, normalize_axes

DEFAULT_FLOAT = np.float32


# The dtype kinds a tensor may hold: bool, signed and unsigned int, float. Object, string,
# bytes, datetime, timedelta and structured (void) arrays are not numbers, and complex
# numbers are refused because every gradient in tapegrad is real: NumPy would silently
# drop an imaginary part when a complex gradient meets a real tensor.
REAL_KINDS = "biuf"


def dtype_error(dtype, where):
    """The TypeError for data of ``dtype`` that a tensor cannot hold, naming ``where``."""
    if dtype.kind == "c":
        return TypeError(f"{where}: complex data (dtype {dtype}) is not supported: tapegrad's "
                         "gradients are real; keep the real and imaginary parts as two float "
                         "tensors (z.real, z.imag)")
    return TypeError(f"{where}: cannot make a tensor of dtype {dtype}: tensors hold float, int "
                     "or bool numbers (only float tensors can require a gradient); convert the "
                     "data first, e.g. np.asarray(data, dtype=np.float32)")


def as_array_like(value, like=None, where="Tensor"):
    """An array for ``value``; Python numbers take the dtype ``like`` when it is given.

    This and ``Tensor()`` are where outside data becomes the arrays the nodes see, so both
    refuse what a tensor cannot hold (see ``REAL_KINDS``), naming ``where``.
    """
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in REAL_KINDS:
            raise dtype_error(value.dtype, where)
        return value
    if isinstance(value, np.generic):
        if value.dtype.kind not in REAL_KINDS:
            raise dtype_error(value.dtype, where)
        return np.asarray(value)
    if like is not None and type(value) in (bool, int, float):
        if like.kind == "f":
            return np.asarray(value, dtype=like)
        return np.asarray(value).astype(like)  # a cast, as PyTorch's: uint8 * -1 wraps
    return _from_python(value, where)


def _from_python(value, where="Tensor"):
    """Python data as PyTorch reads it: floats become float32, ints int64, bools bool."""
    array = np.asarray(value)
    if array.dtype == np.float64:
        return array.astype(DEFAULT_FLOAT)
    if array.dtype.kind == "i":
        return array.astype(np.int64, copy=False)
    if array.dtype.kind not in REAL_KINDS:
        raise dtype_error(array.dtype, f"{where} (from {type(value).__name__} data)")
    return array


# ---------------------------------------------------------------- the one dtype rule

_BOOL, _INT64, _DEFAULT = np.dtype(np.bool_), np.dtype(np.int64), np.dtype(DEFAULT_FLOAT)


def _rank(dtype):
    """bool < int < float: a kind higher up holds the values of those below."""
    return 2 if dtype.kind == "f" else 0 if dtype.kind == "b" else 1


def _promote(first, second):
    """PyTorch's promote_types: the higher kind wins whatever the sizes (int64 and float16
    give float16); within a kind, the wider (uint8 and int8 give int16)."""
    if first is None or second is None:
        return second if first is None else first
    if _rank(first) != _rank(second):
        return first if _rank(first) > _rank(second) else second
    return np.promote_types(first, second)


def _combine(higher, lower):
    """A group of lower priority changes the result only when its kind is higher."""
    if higher is None or lower is None:
        return lower if higher is None else higher
    return _promote(higher, lower) if _rank(lower) > _rank(higher) else higher


def result_type(*values, floating=False):
    """The dtype of an elementwise op on ``values``, by PyTorch's rule (torch.result_type).

    Tensors and arrays with axes decide first; 0-d tensors and arrays, then Python numbers
    (ints as int64, floats as float32), count only when their kind (bool < int < float) is
    higher: ``float16 tensor * 2.5`` stays float16 and ``int8 tensor + 0-d int64`` int8,
    but ``int tensor * 2.5`` is float32. With ``floating`` (exp, log, division) an int or
    bool result becomes float32. The engine casts the inputs of elementwise nodes to it
    (``Node.promotes``), so no node computes in a dtype of its own.
    """
    dims = zeros = numbers = None
    for value in values:
        if isinstance(value, Tensor):
            value = value.data
        if isinstance(value, (bool, int, float)):  # Python numbers (np.float64 is a float)
            dtype = _BOOL if isinstance(value, bool) else (
                _INT64 if isinstance(value, int) else _DEFAULT)
            numbers = _promote(numbers, dtype)
            continue
        if not isinstance(value, (np.ndarray, np.generic)):
            try:
                value = _from_python(value)
            except TypeError:
                continue  # lifting the input will say what is wrong with it
        if value.dtype.kind not in REAL_KINDS:
            continue
        if value.ndim:
            dims = _promote(dims, value.dtype)
        else:
            zeros = _promote(zeros, value.dtype)
    dtype = _combine(dims, _combine(zeros, numbers))
    if dtype is None or (floating and dtype.kind != "f"):
        return _DEFAULT
    return dtype


def _index(index):
    """A tensor index with tensors replaced by their arrays, and arrays and lists copied:
    the node keeps the index for backward, where a later edit of the caller's array would
    send the gradient elsewhere."""
    if isinstance(index, tuple):
        return tuple(_index(part) for part in index)
    if isinstance(index, Tensor):
        return index.data.copy()
    if isinstance(index, np.ndarray):
        return index.copy()
    if isinstance(index, list):
        return [_index(part) for part in index]
    return index


class _ComparisonNotes(threading.local):
    """Comparisons take no gradient, so the tape does not record them; while
    ``autograd.onnx.export`` runs a model, ``notes`` (a dict, in that thread only) keeps each
    comparison's operands so the file can compute the mask from new inputs."""
    notes = None


_comparisons = _ComparisonNotes()


class Tensor:
    """An n-dimensional array that can record the operations made on it.

    ``Tensor(data, requires_grad=False, dtype=None, name=None)``: NumPy arrays keep their
    dtype (and are copied); Python floats become float32 and ints int64, as in PyTorch.
    Only floating-point tensors can require a gradient. ``name`` labels the tensor in
    diagrams and the step-through (modules name their parameters, e.g. ``0.weight``).
    """

    # ``_holds``: for a tensor a recorded node made, the records of the outside arrays the
    # nodes it was computed from saved, checked before backward (see autograd/tape.py).
    __slots__ = ("data", "_grad", "_requires_grad", "_node", "name", "_holds", "__weakref__")
    __hash__ = object.__hash__  # comparisons are elementwise, so hash by identity

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        if isinstance(data, Tensor):
            data = data.data
        if isinstance(data, (np.ndarray, np.generic)):
            if data.dtype.kind == "c":  # a real dtype= would drop the imaginary part silently
                raise dtype_error(data.dtype, "Tensor")
            array = np.array(data, dtype=dtype)
        else:
            array = _from_python(data)
            if dtype is not None:  # from the data as given: through float32, 1e-310 becomes 0
                array = np.array(data if array.dtype.kind == "f" else array, dtype=dtype)
        if array.dtype.kind not in REAL_KINDS:  # the data's dtype, or the one asked for
            raise dtype_error(array.dtype, "Tensor")
        self.data = array
        self._grad = None
        self._node = None
        self._holds = None
        self.name = name
        self._requires_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _wrap(cls, array, requires_grad):
        """The engine's constructor: no copy and no checks."""
        tensor = cls.__new__(cls)
        tensor.data = array
        tensor._grad = None
        tensor._requires_grad = requires_grad
        tensor._node = None
        tensor.name = None
        tensor._holds = None
        return tensor

    # ------------------------------------------------------------ properties
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        value = bool(value)
        if value and self.data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require a gradient, but this one has dtype "
                f"{self.data.dtype}: create it from floats (3.0, not 3) or pass dtype=np.float32")
        if not value and self._node is not None:
            raise RuntimeError("requires_grad can only be switched off on a leaf tensor; "
                               "use .detach() to get a copy outside the graph")
        self._requires_grad = value

    @property
    def grad(self):
        """The gradient ``backward()`` left: on leaves that require grad, and on tensors after
        ``retain_grad()`` or ``backward(retain_grads=True)``. Reading it on another tensor
        warns, as PyTorch does, since it is None."""
        grad = self._grad  # (tapegrad's own views read ``_grad``: no warning for them)
        if grad is None and self._node is not None and not self._retains_grad():
            node = self._node
            warnings.warn(
                f".grad of a tensor that is not a leaf (the output of {node.name} "
                f"#{node._seq}) is None: backward() keeps gradients only in leaves (tensors "
                "you made with requires_grad=True, and parameters). Call .retain_grad() on "
                "this tensor before backward() to keep its gradient too, or call "
                "backward(retain_grads=True) to keep every tensor's.",
                UserWarning, stacklevel=2)
        return grad

    def _retains_grad(self):
        retained = self._node._retained
        return retained is not None and retained() is self

    @property
    def node(self):
        """The node application that produced this tensor (None for leaves)."""
        return self._node

    @property
    def is_leaf(self):
        return self._node is None

    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    T = property(lambda self: self.transpose())

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def item(self):
        """The number in a tensor of one element, as a Python float, int or bool."""
        if self.data.size != 1:
            raise ValueError(_scalar_message(self, "item()"))
        return self.data.item()

    def numpy(self):
        """The array itself, not a copy (read-only when a recorded node made it)."""
        return self.data

    def __float__(self):
        if self.data.size != 1:
            raise TypeError(_scalar_message(self, "float()"))
        return float(self.data.item())  # shape (1, 1) too, as item() and PyTorch

    def __bool__(self):
        return bool(self.data)

    def detach(self):
        """The same data, outside the graph (no gradient, no node): it shares the array, so
        it is read-only whenever this tensor's is; ``detach().clone()`` is a copy to edit."""
        return Tensor._wrap(self.data, False)

    def clone(self):
        """A copy of the data that stays in the graph: gradients flow back through it.

        Give a graph a copy when the original will change before backward: after
        ``y = (w.clone() * x).sum()`` the graph keeps its own copy, so ``w`` can be updated
        in place before ``y.backward()``. Like every tensor a recorded node makes, the copy
        is read-only while it is in a graph; outside one (no gradient needed, or under
        ``no_grad``) it is a plain writable copy.
        """
        # x + (-0) is x exactly, signed zeros and NaNs included; addition saves nothing, so
        # the graph holds the copy, not this tensor.
        zero = np.array(-0.0 if self.data.dtype.kind == "f" else 0, dtype=self.data.dtype)
        return apply(nodes.AdditionNode(), self, zero)

    def retain_grad(self):
        """Keep this intermediate tensor's gradient in ``.grad`` during backward."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        if self._node is not None:
            self._node._retained = weakref.ref(self)

    def backward(self, grad=None, retain_graph=False, retain_grads=False):
        """Backpropagate from this tensor; see ``autograd.backprop``. ``retain_grads=True``
        keeps the gradient of every tensor of the graph in its ``.grad`` (for diagrams)."""
        if self.data.dtype.kind != "f":
            raise RuntimeError(
                f"backward() on a tensor of dtype {self.data.dtype}: an integer or boolean "
                "result (argmax, argmin, a comparison) has no gradient, since a small change "
                "of the input leaves it the same or makes it jump; call backward() on a float "
                "result, such as the loss")
        backward(self, grad, retain_graph, retain_grads)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ""
        if self.data.dtype not in (np.float32, np.int64, np.bool_):
            extra += f", dtype={self.data.dtype}"
        if self._node is not None:
            extra += f", node={self._node.name}"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # ------------------------------------------------------------ arithmetic
    def __add__(self, other):
        return apply(nodes.AdditionNode(), self, other)

    def __radd__(self, other):
        return apply(nodes.AdditionNode(), other, self)

    def __sub__(self, other):
        return apply(nodes.AdditionNode(), self, _negated(other, self, "sub"))

    def __rsub__(self, other):
        return apply(nodes.AdditionNode(), other, _negated(self, other, "rsub"))

    def __mul__(self, other):
        return apply(nodes.MultiplicationNode(), self, other)

    def __rmul__(self, other):
        return apply(nodes.MultiplicationNode(), other, self)

    def __truediv__(self, other):
        return apply(nodes.elementwise.DivisionNode(), self, other)

    def __rtruediv__(self, other):
        return apply(nodes.elementwise.DivisionNode(), other, self)

    def __pow__(self, exponent):
        # A number exponent is PowerNode's fixed parameter when it cannot change the dtype
        # (a Python number never widens a float tensor); otherwise the exponent is an input.
        if isinstance(exponent, (int, float)) and self.data.dtype.kind == "f":
            return apply(nodes.PowerNode(exponent), self)
        if type(exponent) is int and exponent < 0:  # PyTorch refuses it too
            raise ValueError(f"pow: an integer tensor (dtype {self.data.dtype}) to the negative "
                             f"integer power {exponent} is not an integer; make the base float "
                             f"first: (x * 1.0) ** {exponent}")
        return apply(nodes.elementwise.TensorPowerNode(), self, exponent)

    def __rpow__(self, base):
        return apply(nodes.elementwise.TensorPowerNode(), base, self)

    def __matmul__(self, other):
        return apply(nodes.MatMulNode(), self, other)

    def __rmatmul__(self, other):
        return apply(nodes.MatMulNode(), other, self)

    def __neg__(self):
        return apply(nodes.NegationNode(), self)

    def __getitem__(self, index):
        return apply(nodes.GetItemNode(_index(index)), self)

    # Comparisons give boolean tensors outside the graph, as in NumPy and PyTorch.
    def _compare(self, other, op):
        data = other.data if isinstance(other, Tensor) else other
        result = Tensor._wrap(np.asarray(op(self.data, data)), False)
        notes = _comparisons.notes
        if notes is not None:  # autograd.onnx.export is recording a forward pass here
            notes[id(result)] = (op, self, other, result)
        return result

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    # NumPy's ufuncs on a tensor. Those that Python's operators stand for (array * tensor,
    # array @ tensor, array < tensor, np.add(array, tensor)) run the tensor's operator, so
    # they are recorded. Any other (np.exp(t), np.maximum(0, t)) would compute outside the
    # graph, where no gradient flows, so it is a TypeError naming tapegrad's own op.
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = f"np.{ufunc.__name__}"
        if "out" in kwargs:
            raise TypeError(f"{name}(..., out=array) with a tensor: NumPy cannot write a tensor "
                            "into an array (as in `array += tensor`); write `a = a + t`, which "
                            "makes a new tensor")
        if method != "__call__":
            raise TypeError(f"{name}.{method}() on a tensor: NumPy would compute outside "
                            "tapegrad's graph; use the tensor's methods (t.sum(), t.max()), or "
                            f"{name}.{method}() on t.data for the values alone")
        operator = _OPERATOR_UFUNCS.get(ufunc.__name__)
        if operator is not None and not kwargs:
            if len(inputs) == 1:
                return getattr(self, operator[0])()
            first, second = inputs
            if isinstance(first, Tensor):
                return getattr(first, operator[0])(second)
            return getattr(second, operator[1])(first)
        # how the call reads on the values alone: np.maximum(0, t.data)
        values = ", ".join("t.data" if isinstance(x, Tensor) else
                           repr(x) if isinstance(x, (int, float)) else "..." for x in inputs)
        values = f"{name}({values})"
        if operator is not None:
            raise TypeError(f"{name}() on a tensor with {', '.join(kwargs)}=: tapegrad's "
                            f"operators take no such argument; leave it out, or use {values}")
        if f"{'d' * ufunc.nin}->{'?' * ufunc.nout}" in ufunc.types:  # a test: no gradient
            raise TypeError(f"{name}() on a tensor: NumPy's functions do not take tensors; "
                            f"{values} gives the answer for the values")
        instead = _UFUNC_OPS.get(ufunc.__name__)
        instead = (f"use {instead}, recorded with its gradient" if instead else
                   f"tapegrad has no {ufunc.__name__} op: write one as a node (README, 'Your "
                   "own primitive')")
        raise TypeError(f"{name}() on a tensor: NumPy computes outside tapegrad's graph, so no "
                        f"gradient would flow; {instead}; or {values} for the values alone")

    # ------------------------------------------------------------ reductions
    # Each takes NumPy's axis=/keepdims= or PyTorch's dim=/keepdim= (one of each pair).
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _axis_and_keep("sum", axis, keepdims, dim, keepdim)
        return apply(nodes.SumNode(axis, keepdims), self)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _axis_and_keep("mean", axis, keepdims, dim, keepdim)
        axes = normalize_axes("mean", axis, self.shape)
        count = _count(self.shape, axes)
        # the mean of no values is 0 / 0, NaN, as in PyTorch
        return self.sum(axes, keepdims) * (1.0 / count if count else float("nan"))

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """The maximum over axis (values only, as NumPy's max and PyTorch's amax); on ties the
        first maximum takes the whole gradient (PyTorch's x.max() splits it evenly)."""
        axis, keepdims = _axis_and_keep("max", axis, keepdims, dim, keepdim)
        return apply(nodes.MaxReduceNode(axis, keepdims), self)

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """The minimum over axis (values only, as NumPy's min and PyTorch's amin); on ties the
        first minimum takes the whole gradient, as in ``max``."""
        axis, keepdims = _axis_and_keep("min", axis, keepdims, dim, keepdim)
        return apply(nodes.MinReduceNode(axis, keepdims), self)

    def var(self, axis=None, unbiased=None, keepdims=False, *, correction=None, dim=None,
            keepdim=None):
        """Σ (x - mean)² / (n - correction) over axis: PyTorch's arguments and its default,
        correction=1 (the unbiased estimate); ``unbiased=False`` is correction=0. A
        composition of mean, subtraction, product and sum."""
        return self._variance("var", axis, unbiased, keepdims, correction, dim, keepdim)

    def std(self, axis=None, unbiased=None, keepdims=False, *, correction=None, dim=None,
            keepdim=None):
        """The square root of ``var`` (same arguments, correction=1 by default)."""
        return self._variance("std", axis, unbiased, keepdims, correction, dim, keepdim) ** 0.5

    def _variance(self, op, axis, unbiased, keepdims, correction, dim, keepdim):
        axis, keepdims = _axis_and_keep(op, axis, keepdims, dim, keepdim)
        axes = normalize_axes(op, axis, self.shape)
        correction = _correction(op, correction, unbiased)
        count = _count(self.shape, axes)
        centered = self - self.mean(axes, keepdims=True)
        freedom = count - correction
        if freedom <= 0:
            warnings.warn(f"{op}: {count} value{'s' if count != 1 else ''} with correction="
                          f"{correction} leave no degrees of freedom, so the result is inf or "
                          "nan, as in PyTorch; use correction=0 for the spread of these values "
                          "alone", RuntimeWarning, stacklevel=3)
        scale = 1.0 / freedom if freedom > 0 else np.inf
        with np.errstate(invalid="ignore"):  # 0 * inf: nan, as 0 / 0 is in PyTorch
            return (centered * centered).sum(axes, keepdims) * scale

    def logsumexp(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """log Σ exp(x) over axis, as m + log Σ exp(x - m) with m the maximum taken as a
        constant: no exponent is above 0, so it cannot overflow, and the gradient is still
        softmax(x) (m cancels out). A composition of subtraction, exp, sum, log, addition."""
        axis, keepdims = _axis_and_keep("logsumexp", axis, keepdims, dim, keepdim)
        axes = normalize_axes("logsumexp", axis, self.shape)
        if _count(self.shape, axes) == 0:
            shift = np.zeros(tuple(1 if a in axes else n for a, n in enumerate(self.shape)),
                             self.dtype)
        else:
            shift = np.max(self.data, axis=axes, keepdims=True)
            shift = np.where(np.isfinite(shift), shift, 0).astype(self.dtype)  # x = ±inf: as is
        shift.setflags(write=False)  # made here: no record needed (see _private)
        total = (self - shift).exp().sum(axes, keepdims).log()
        return total + (shift if keepdims else _private_array(np.squeeze(shift, axis=axes)))

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """The index of the first maximum along axis (of the flattened tensor when axis is
        None), as an int64 tensor outside the graph: an index has no gradient."""
        return self._index_of("argmax", np.argmax, axis, keepdims, dim, keepdim)

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """The index of the first minimum, as ``argmax`` gives the first maximum."""
        return self._index_of("argmin", np.argmin, axis, keepdims, dim, keepdim)

    def _index_of(self, op, find, axis, keepdims, dim, keepdim):
        axis, keepdims = _axis_and_keep(op, axis, keepdims, dim, keepdim)
        if self.data.size == 0:
            raise ValueError(f"{op}: an empty tensor (shape {self.shape}) has no {op[3:]}imum")
        if axis is not None:
            axis = normalize_axis(op, axis, self.shape)
        index = find(self.data, axis=axis, keepdims=keepdims)
        return Tensor._wrap(np.asarray(index, dtype=np.int64), False)

    # ------------------------------------------------------------ shapes
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return apply(nodes.ReshapeNode(shape), self)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return apply(nodes.TransposeNode(axes or None), self)

    def permute(self, *axes, dims=None):
        """The axes in a new order, every axis named once: ``t.permute(2, 0, 1)`` puts axis 2
        first (PyTorch's permute; NumPy's transpose with axes)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if dims is not None:
            if axes:
                raise TypeError("permute: give the axes or dims=, not both")
            axes = tuple(dims)
        normalize_axes("permute", axes, self.shape)  # each axis in range, none twice
        if len(axes) != self.ndim:
            raise ValueError(f"permute: {len(axes)} axes {tuple(axes)} for a tensor of shape "
                             f"{self.shape}; name each of its {self.ndim} axes once, in the new "
                             "order")
        return apply(nodes.TransposeNode(tuple(int(a) % self.ndim for a in axes)), self)

    def flatten(self, start_axis=0, end_axis=-1, *, start_dim=None, end_dim=None):
        """Axes start_axis to end_axis (both included) become one; a 0-d tensor becomes shape
        (1,). PyTorch's start_dim=/end_dim= are accepted too."""
        start_axis = _either("flatten", "start_axis", start_axis, "start_dim", start_dim, 0)
        end_axis = _either("flatten", "end_axis", end_axis, "end_dim", end_dim, -1)
        shape = self.shape or (1,)
        start = normalize_axis("flatten", start_axis, shape)
        end = normalize_axis("flatten", end_axis, shape)
        if start > end:
            raise ValueError(f"flatten: start axis {start_axis} comes after end axis {end_axis} "
                             f"for a tensor of shape {self.shape}; give start <= end")
        size = 1
        for n in shape[start:end + 1]:
            size *= n
        return self.reshape(shape[:start] + (size,) + shape[end + 1:])

    def squeeze(self, axis=None, *, dim=None):
        """Without its size-1 axes: every one (axis None), or those named; a named axis of
        another size stays, as in PyTorch (NumPy would refuse it). A reshape."""
        axis = _either("squeeze", "axis", axis, "dim", dim)
        axes = normalize_axes("squeeze", axis, self.shape)
        return self.reshape(tuple(n for a, n in enumerate(self.shape)
                                  if not (a in axes and n == 1)))

    def unsqueeze(self, axis=None, *, dim=None):
        """With a new axis of size 1 at position ``axis`` (from -ndim-1 to ndim). A reshape."""
        axis = _either("unsqueeze", "axis", axis, "dim", dim)
        position = _new_axis("unsqueeze", axis, self.shape)
        return self.reshape(self.shape[:position] + (1,) + self.shape[position:])

    def expand(self, *shape):
        """This tensor broadcast to ``shape`` without copying, as PyTorch's expand: size-1 axes
        repeat, new axes go in front, -1 keeps an axis's size. The gradient is summed back."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return apply(nodes.ExpandNode(_broadcast_shape("expand", self.shape, shape)), self)

    def broadcast_to(self, shape):
        """This tensor broadcast to ``shape`` (NumPy's and PyTorch's broadcast_to): ``expand``."""
        return apply(nodes.ExpandNode(_broadcast_shape("broadcast_to", self.shape, shape)), self)

    # ------------------------------------------------------------ elementwise functions
    def exp(self):
        return apply(nodes.ExpNode(), self)

    def log(self):
        return apply(nodes.LogNode(), self)

    def tanh(self):
        return apply(nodes.TanhNode(), self)

    def sigmoid(self):
        return apply(nodes.SigmoidNode(), self)

    def relu(self):
        """max(0, x): a MaxNode with the constant 0 first, as in the course notes.

        The 0 is a Python int, so the result keeps x's dtype (an int tensor stays int)."""
        return apply(nodes.MaxNode(), 0, self)

    def abs(self):
        """|x|; the gradient at 0 is 0, as in PyTorch."""
        return apply(nodes.AbsNode(), self)

    __abs__ = abs

    def sqrt(self):
        """x ** 0.5: the power node, whose rule gives 0.5 x^-0.5 dz."""
        return self ** 0.5

    def sin(self):
        return apply(nodes.SinNode(), self)

    def cos(self):
        return apply(nodes.CosNode(), self)

    def clamp(self, min=None, max=None):
        """x limited to [min, max], either bound None, a number or a tensor: min(max(x, min),
        max). x keeps the gradient where min <= x <= max (bounds included, as in PyTorch);
        a bound takes it where it wins. With min > max every element is max, as in PyTorch."""
        if min is None and max is None:
            raise ValueError("clamp: give min=, max= or both; with neither there is nothing "
                             "to clamp")
        out = self if min is None else maximum(self, min)
        return out if max is None else minimum(out, max)

    clip = clamp


def _scalar_message(tensor, call):
    return (f"{call} needs a tensor of one element, but this one has {tensor.data.size} "
            f"(shape {tensor.shape}): reduce it first (t.sum(), t.mean()), pick one element "
            "(t[0, 1]), or take the whole array as t.data")


# ufunc name -> the Tensor method when the tensor comes first, and when it comes second.
_OPERATOR_UFUNCS = {
    "add": ("__add__", "__radd__"), "subtract": ("__sub__", "__rsub__"),
    "multiply": ("__mul__", "__rmul__"), "divide": ("__truediv__", "__rtruediv__"),
    "power": ("__pow__", "__rpow__"), "matmul": ("__matmul__", "__rmatmul__"),
    "negative": ("__neg__", None), "absolute": ("__abs__", None),
    "equal": ("__eq__", "__eq__"), "not_equal": ("__ne__", "__ne__"),
    "less": ("__lt__", "__gt__"), "less_equal": ("__le__", "__ge__"),
    "greater": ("__gt__", "__lt__"), "greater_equal": ("__ge__", "__le__"),
}
# NumPy ufuncs that tapegrad has as ops, and how to call them on a tensor t.
_UFUNC_OPS = {
    "exp": "t.exp()", "log": "t.log()", "tanh": "t.tanh()",
    "maximum": "ag.maximum(a, b) or t.relu()",
    "sqrt": "t ** 0.5 or t.sqrt()", "square": "t ** 2", "reciprocal": "1 / t",
    "sin": "t.sin()", "cos": "t.cos()", "minimum": "ag.minimum(a, b)", "fabs": "t.abs()",
}


def _negated(value, other, op):
    """-value for ``other - value``, computed in the subtraction's result dtype.

    A constant is cast first: negating uint8 1 before the cast would wrap to 255. A tensor
    that requires a gradient is a float, whose negation never wraps, and is negated in
    the graph.
    """
    if isinstance(value, Tensor) and value._requires_grad:
        return -value
    dtype = result_type(value, other)
    array = as_array_like(value.data if isinstance(value, Tensor) else value, dtype, op)
    if array.dtype != dtype:
        array = array.astype(dtype)
    array = np.asarray(-array)  # NumPy negates a 0-d array into a scalar
    if not array.ndim and not isinstance(value, (Tensor, np.ndarray, np.generic)):
        return array.item()  # a Python number stays one, so it widens nothing (result_type)
    array.setflags(False)  # made here: no one else can change it (see _private)
    return Tensor._wrap(array, False)


def _private(tensor):
    """``tensor``, an intermediate only this operator holds, with its array read-only.

    A node that saves an array that might change records it and checks it before backward
    (autograd/tape.py, "saved arrays stay as saved"); an array no one else can reach needs
    no record, and read-only says so. Without this, ``x = x / 2.0`` in a loop would add
    one record per step to the graph.
    """
    tensor.data.setflags(False)
    return tensor


def tensor(data, requires_grad=False, dtype=None, name=None):
    """Make a tensor, as ``torch.tensor`` does."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def maximum(a, b):
    """Elementwise max(a, b) of tensors, arrays or Python numbers; a tie sends the whole
    gradient to ``a`` (PyTorch's maximum splits it in half)."""
    return apply(nodes.MaxNode(), a, b)


def minimum(a, b):
    """Elementwise min(a, b); a tie sends the whole gradient to ``a``, as in ``maximum``."""
    return apply(nodes.MinNode(), a, b)


def where(condition, a, b):
    """``a`` where the boolean ``condition`` holds, else ``b`` (the three broadcast together).
    Each element's gradient goes to the side it came from; the condition takes none."""
    return apply(nodes.WhereNode(), condition, a, b)


def cat(tensors, axis=0, *, dim=None):
    """The tensors joined along an existing axis; every other axis must match (PyTorch's
    cat, NumPy's concatenate). One node, whose gradient hands each input its part."""
    axis = _either("cat", "axis", axis, "dim", dim, 0)
    return apply(nodes.ConcatenateNode(axis), *_tensors("cat", tensors))


concatenate = cat


def stack(tensors, axis=0, *, dim=None):
    """The tensors, all of one shape, joined along a new axis at ``axis``: each gets the axis
    (unsqueeze, a reshape), then ``cat`` joins them."""
    axis = _either("stack", "axis", axis, "dim", dim, 0)
    tensors = _tensors("stack", tensors)
    first = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != first:
            raise ValueError(f"stack: tensor {i} has shape {t.shape} and tensor 0 has shape "
                             f"{first}; stack joins tensors of one shape (cat joins along an "
                             "existing axis)")
    position = _new_axis("stack", axis, first)
    return cat([t.unsqueeze(position) for t in tensors], position)


# ---------------------------------------------------------------- argument helpers

def _either(op, name, value, torch_name, torch_value, default=None):
    """NumPy's ``name=`` or PyTorch's ``torch_name=`` for one argument (not both)."""
    if torch_value is None:
        return value
    if value is not default and not (default is not None and value == default):
        raise TypeError(f"{op}: give {name}= or {torch_name}=, not both (they are the same "
                        "argument, by NumPy's and by PyTorch's name)")
    return torch_value


def _axis_and_keep(op, axis, keepdims, dim, keepdim):
    return (_either(op, "axis", axis, "dim", dim),
            bool(_either(op, "keepdims", keepdims, "keepdim", keepdim, False)))


def _count(shape, axes):
    count = 1
    for a in axes:
        count *= shape[a]
    return count


def _correction(op, correction, unbiased):
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}: give correction= or unbiased=, not both (unbiased=True is "
                        "correction=1, unbiased=False is correction=0)")
    if unbiased is not None:
        return 1 if unbiased else 0
    return 1 if correction is None else correction


def _private_array(array):
    array.setflags(write=False)
    return array


def _new_axis(op, axis, shape):
    """The position of a new axis in a tensor of ``shape``: from -ndim-1 to ndim."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: the new axis must be an int, got {axis!r}")
    ndim = len(shape)
    if not -ndim - 1 <= axis <= ndim:
        raise AxisError(f"{op}: axis {axis} is out of range for a tensor of shape {shape}: a new "
                        f"axis goes at a position from {-ndim - 1} to {ndim}")
    return int(axis) % (ndim + 1)


def _broadcast_shape(op, shape, target):
    """``target`` with each -1 replaced by the size it keeps, or an error naming the axis that
    cannot grow."""
    try:
        target = tuple(int(n) for n in target)
    except TypeError:
        raise TypeError(f"{op}: the shape must be ints, got {target!r}") from None
    extra = len(target) - len(shape)
    if extra < 0:
        raise ValueError(f"{op}: cannot broadcast a tensor of shape {shape} to {target}, which "
                         "has fewer axes; new axes go in front, none are removed")
    result = list(target[:extra])
    if any(n < 0 for n in result):
        raise ValueError(f"{op}: -1 keeps the size of an existing axis, but {target} puts it on "
                         f"a new leading axis (the tensor has shape {shape})")
    for axis, (n, want) in enumerate(zip(shape, target[extra:])):
        want = n if want == -1 else want
        if n != want and n != 1:
            raise ValueError(f"{op}: cannot broadcast a tensor of shape {shape} to {target}: its "
                             f"axis {axis} has size {n}, which is neither 1 nor {want}; only "
                             "size-1 axes grow")
        result.append(want)
    return tuple(result)


def _tensors(op, values):
    """A list of tensors for cat and stack; arrays and numbers become constants of the first
    float tensor's dtype."""
    if isinstance(values, (Tensor, np.ndarray)) or not isinstance(values, (list, tuple)):
        raise TypeError(f"{op}: expects a list or tuple of tensors, got "
                        f"{type(values).__name__}; write {op}([a, b])")
    if not values:
        raise ValueError(f"{op}: the list is empty; give at least one tensor")
    like = next((v.dtype for v in values if isinstance(v, Tensor) and v.dtype.kind == "f"),
                None)
    return [v if isinstance(v, Tensor) else Tensor._wrap(as_array_like(v, like, op), False)
            for v in values]


# Setting .grad is the slot's own setter, in C: the tape sets it on every tensor it makes.
Tensor.grad = Tensor.grad.setter(Tensor._grad.__set__)

# The tape needs Tensor at import time; Tensor needs the tape only when called.
from .tape import _apply as apply, backward  # noqa: E402  (operators make fresh nodes)
