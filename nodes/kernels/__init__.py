"""Fast kernels: the same numbers as the nodes' math, computed another way.

Each primitive in ``nodes/`` is written as its math, for learners to read beside the
course notes. Where a benchmark showed that math too slow for real work, a kernel here
computes the same result faster: convolution by blocked im2col in layouts made for the
matrix products (``conv.py``), max pooling in halving passes (``pool.py``), the batch
split between threads (``threads.py``), ReLU's passes split too (``elementwise.py``),
their large arrays in memory reused from step to step (``memory.py``).

The one dispatch: a node calls ``find(kernel_name, node, *inputs)`` and runs its own math
when that returns None. ``TAPEGRAD_KERNELS=reference`` (or, for a block of code,
``with autograd.kernels("reference"):``) makes every node run its math; the default,
``fast``, uses a kernel wherever there is one. The tests run the conv and pooling grid on
both and compare them.
"""

import contextlib
import os
import threading

from .conv import Convolution, Pointwise
from .elementwise import maximum
from .pool import MaxPool

CHOICES = ("fast", "reference")


def _from_environment():
    choice = os.environ.get("TAPEGRAD_KERNELS", "").strip().lower() or "fast"
    if choice not in CHOICES:
        raise ValueError(f"TAPEGRAD_KERNELS must be 'fast' or 'reference', got {choice!r}")
    return choice


DEFAULT = _from_environment()


class _Choice(threading.local):
    """The kernels in use, per thread (a new thread starts with DEFAULT)."""

    def __init__(self):
        self.name = DEFAULT


_choice = _Choice()


def selected():
    """'fast' or 'reference': the kernels this thread uses now."""
    return _choice.name


@contextlib.contextmanager
def use(name):
    """Context manager (and decorator): run the nodes inside on ``name``'s kernels, in this
    thread: ``"reference"`` for every primitive's plain math, ``"fast"`` for the kernels."""
    if name not in CHOICES:
        raise ValueError(f"kernels must be 'fast' or 'reference', got {name!r}")
    previous, _choice.name = _choice.name, name
    try:
        yield name
    finally:
        _choice.name = previous


def find(kernel, node, *inputs):
    """A fast kernel for this application of ``node`` (an object with ``forward`` and
    ``backward``, holding what its backward needs), or None: then the node runs its math."""
    if _choice.name == "reference":
        return None
    return _FAST[kernel](node, *inputs)


def _conv(node, x, w, bias):
    # Dilation and groups run the node's math: a fast kernel only where a benchmark says it
    # is needed, and none has asked for these yet.
    if node.dilations != (1, 1) or node.groups != 1:
        return None
    if tuple(node.kernel) == (1, 1) and node.strides == (1, 1) and node.pads == (0, 0):
        return Pointwise()
    return Convolution(node.out_shape[2:], node.strides, node.pads)


def _max_pool(node, x):
    # Padding and ceil_mode's extra windows run the node's math, for the same reason.
    if node.pads != (0, 0) or node.overhang != (0, 0):
        return None
    return MaxPool(node.kernel, node.strides, node.out_shape[2:])


_FAST = {"conv": _conv, "maxpool": _max_pool, "max": maximum}
