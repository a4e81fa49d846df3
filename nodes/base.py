"""The node contract shared by every primitive."""

import numpy as np


class Node:
    """One operation: ``forwardPass`` computes it, ``backwardPass`` sends the gradient back.

    ``forwardPass(*inputs)`` takes NumPy arrays and returns an array; it keeps exactly
    what the backward pass needs as attributes of ``self``.
    ``backwardPass(upstream)`` takes the gradient of the loss with respect to the
    output and returns a tuple with one gradient per input (``None`` for an input
    that takes none). Broadcasting is undone by the engine, not here. The engine checks
    both at the boundary: an output or a gradient that is not an array of real numbers
    (bool, int, float; NumPy and Python numbers are fine) is a TypeError naming the node.

    Fixed parameters (axis, stride, padding, exponent) go to ``__init__``. A node that
    takes axes checks them with ``normalize_axes`` (or ``normalize_axis`` for one), below.

    Class attributes read by the engine and the views:
      name     short lowercase name used in errors, diagrams and the step-through
      symbol   the course's symbol for the operation, when it has one
      rules    the local chain rule for each input, in symbols (output ``z``,
               upstream gradient ``dz``)
      saved    the attributes that hold arrays kept for backward; they are released
               after ``backward()`` unless ``retain_graph=True``. ``None`` means: every
               array-valued instance attribute set by ``forwardPass``.
      promotes how the engine sets the inputs' dtypes before ``forwardPass`` (PyTorch's
               type promotion, ``autograd.result_type``): ``None`` leaves arrays as they
               are; ``"common"`` casts every input to the inputs' result dtype (for
               elementwise ops); ``"float"`` does too, and makes an int or bool result
               dtype float32 (for ops whose values are not integers: exp, log, division).
               Python numbers always become arrays of the result dtype.
      onnx_op  the ONNX operator of a node that is one operator on the same inputs
               ("Exp"), read by ``autograd.onnx.export``. A node that needs more writes a
               method ``onnx(self, graph, inputs)`` beside its passes instead: it adds
               operators with ``graph.op("Conv", x, w, strides=[...])`` and returns the
               output's name (``graph`` is ``autograd.onnx.builder.Graph``). Inputs arrive
               in the output's dtype.
    """

    name = "node"
    symbol = None
    rules = ()
    saved = None
    promotes = None
    onnx_op = None

    # Engine bookkeeping, written by ``autograd.apply`` only: the input tensors, the
    # tape's sequence number, the module scope that created the node, whether the
    # saved arrays were released, which inputs need a gradient, the creating source
    # line (anomaly mode) and a weak reference to the output if its grad is retained.
    # ``needs_input_grad`` is set before ``forwardPass`` runs (all False when nothing is
    # recorded, as under no_grad), so a node may skip saving what no gradient will use;
    # a node called directly, outside the engine, should assume every input needs one.
    __slots__ = ("_inputs", "_seq", "_scope", "_released", "needs_input_grad",
                 "_origin", "_retained", "__dict__", "__weakref__")

    def forwardPass(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} must define forwardPass")

    def backwardPass(self, upstream):
        raise NotImplementedError(f"{type(self).__name__} must define backwardPass")

    def release(self):
        """Drop the arrays saved for backward (called by the engine after backward)."""
        names = type(self).saved
        if names is None:
            state = getattr(self, "__dict__", None) or {}
            names = [k for k, v in state.items() if isinstance(v, (np.ndarray, np.generic))]
        for attr in names:
            try:
                delattr(self, attr)
            except AttributeError:
                pass

    def __repr__(self):
        seq = getattr(self, "_seq", None)
        return f"<{type(self).__name__} {self.name}" + (f" #{seq}>" if seq is not None else ">")


# ---------------------------------------------------------------- axes

class AxisError(getattr(np, "exceptions", np).AxisError):  # np.AxisError before NumPy 1.25
    """An axis the input does not have, or one named twice.

    A subclass of NumPy's ``AxisError``, so it is both a ``ValueError`` and an
    ``IndexError``; the engine passes it on unchanged (it already names the op).
    """


def _dimensions(ndim):
    return f"{ndim} dimension" + ("" if ndim == 1 else "s")


def _checked_axis(op, axis, given, shape, kinds="an int"):
    """``axis`` as a non-negative int, or an error naming ``op`` and the input's shape."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be {kinds}, got {given!r}")
    ndim = len(shape)
    if -ndim <= axis < ndim:
        return int(axis) % ndim
    where = f"for a tensor of {_dimensions(ndim)} (shape {shape})"
    if ndim == 0:
        raise AxisError(f"{op}: axis {axis} is out of range {where}: a 0-d tensor has no axes; "
                        "use axis=None")
    raise AxisError(f"{op}: axis {axis} is out of range {where}; use an axis from {-ndim} to "
                    f"{ndim - 1}")


def normalize_axis(op, axis, shape):
    """One axis of an input of ``shape`` as a non-negative int; negative axes count from the end.

    An axis out of range raises ``AxisError`` naming ``op``, the axis and the shape: NumPy
    and PyTorch refuse it too, and wrapping it around would compute over the wrong axis.
    """
    return _checked_axis(op, axis, axis, shape)


_SEVERAL = "None, an int or a tuple of ints"


def normalize_axes(op, axis, shape):
    """``axis`` (None for every axis, an int, or a tuple or list of ints) as a sorted tuple.

    Every node that takes axes calls this, so each refuses the same inputs with the same
    message: an axis out of range, or one named twice (``(0, -2)`` on a 2-D input names
    axis 0 twice), raises ``AxisError`` naming ``op``.
    """
    if axis is None:
        return tuple(range(len(shape)))
    if isinstance(axis, (tuple, list)):
        axes = [_checked_axis(op, a, axis, shape, _SEVERAL) for a in axis]
    else:
        axes = [_checked_axis(op, axis, axis, shape, _SEVERAL)]
    if len(set(axes)) != len(axes):
        twice = next(a for a in axes if axes.count(a) > 1)
        raise AxisError(f"{op}: axis {tuple(axis)} names axis {twice} twice for a tensor of "
                        f"shape {shape}; name each axis once")
    return tuple(sorted(axes))
