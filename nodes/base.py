"""The node contract shared by every primitive."""

import numpy as np


class Node:
    """One operation: ``forwardPass`` computes it, ``backwardPass`` sends the gradient back.

    ``forwardPass(*inputs)`` takes NumPy arrays and returns an array; it keeps exactly
    what the backward pass needs as attributes of ``self``.
    ``backwardPass(upstream)`` takes the gradient of the loss with respect to the
    output and returns a tuple with one gradient per input (``None`` for an input
    that takes none). Broadcasting is undone by the engine, not here.

    Fixed parameters (axis, stride, padding, exponent) go to ``__init__``.

    Class attributes read by the engine and the views:
      name     short lowercase name used in errors, diagrams and the step-through
      symbol   the course's symbol for the operation, when it has one
      rules    the local chain rule for each input, in symbols (output ``z``,
               upstream gradient ``dz``)
      saved    the attributes that hold arrays kept for backward; they are released
               after ``backward()`` unless ``retain_graph=True``. ``None`` means: every
               array-valued instance attribute set by ``forwardPass``.
    """

    name = "node"
    symbol = None
    rules = ()
    saved = None

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
