"""ReLU's passes over large float arrays (max(x, y) and its masks), split between threads.

A large elementwise pass is bound by memory traffic, and two cores move more of it than
one: on this project's 2-core machine a pass over a 64x16x32x32 float32 array took 0.78 ms
on one thread and 0.55 ms on two. ``MaxNode`` in ``nodes/elementwise.py`` holds the math.
"""

import numpy as np

from .pool import all_finite
from .threads import elementwise, is_large


# bytes: from here on the kernel's passes beat the math's ``np.where`` (for ReLU's backward
# over 131,072 float32 numbers here: 0.48 ms, against 0.06 ms for a product with the mask)
MIN_BYTES = 16 << 10


def maximum(node, x, y):
    """The kernel for ``MaxNode`` when x and y are arrays of one float dtype, one of them
    ``MIN_BYTES`` or more; None otherwise. Its arrays come from the kernels' memory from
    ``memory.MIN_BYTES`` on, and are split between threads from ``threads.LARGE`` elements."""
    if type(x) is not np.ndarray or not is_large(x, y, MIN_BYTES):
        return None
    return Maximum(getattr(node, "needs_input_grad", (True, True)))


class Maximum:
    """max(x, y) with the masks of the inputs that need a gradient; ties go to x, and a NaN
    wins (x's, when both are NaN), as in ``MaxNode``.

    ReLU, max(c, y) for a finite number c that needs no gradient, keeps no mask: y won
    exactly where z != c (where y > c, or y is NaN: z = y; where y <= c, z = c), so the
    backward pass reads the output, which the tape keeps anyway. That is one pass over the
    array in forward instead of three (the max, the comparison, its negation), and one
    boolean array less to hold until backward."""

    def __init__(self, needs):
        self.needs = needs
        self.z = None

    def forward(self, x, y):
        needs_x, needs_y = self.needs
        if not needs_x and needs_y and x.ndim == 0 and np.isfinite(x):
            self.c = x  # backward reads the output z, not a mask

            def max_only(x, y, out):
                np.maximum(x, y, out=out[0])

            self.z = elementwise(max_only, x, y, [y.dtype])[0]
            return self.z

        def passes(x, y, out):
            np.maximum(x, y, out=out[0])
            masks = iter(out[1:])
            if needs_x:
                _first_wins(x, y, next(masks))
            if needs_y:
                mask = next(masks)
                np.logical_not(_first_wins(x, y, mask), out=mask)

        dtypes = [x.dtype] + [bool for needed in self.needs if needed]
        z, *masks = elementwise(passes, x, y, dtypes)
        self.masks = [masks.pop(0) if needed else None for needed in self.needs]
        return z

    def backward(self, dz):
        if self.z is not None:
            return None, _select(dz, None, self.z, self.c)
        return tuple(None if mask is None else _select(dz, mask) for mask in self.masks)


def _first_wins(x, y, out):
    """x >= y, or x is NaN, into ``out`` (``MaxNode``'s rule; kernels do not import nodes)."""
    np.greater_equal(x, y, out=out)
    if x.dtype.kind == "f" and (x.ndim or np.isnan(x)):  # a 0-d x (ReLU's 0): one test
        np.logical_or(out, np.isnan(x), out=out)
    return out


def _select(dz, mask, z=None, c=None):
    """dz where mask (or, given the output z of max(c, y), where z != c), else exactly 0,
    split between threads when large: a product with the mask, unless an inf or NaN
    arrived (inf · 0 is NaN; see ``pool._route``). Each part checks its own rows right
    after the product, while they are in the cache: as a pass of its own before the
    split, the check took 0.35 ms of ReLU's 0.6 here."""
    if mask is None:
        if type(dz) is not np.ndarray or dz.shape != z.shape:
            return np.where(z != c, dz, 0)

        def from_output(dz, z, out):
            _product(dz, np.not_equal(z, c, out=out[1]), out[0])

        return elementwise(from_output, dz, z, [dz.dtype, bool])[0]
    if type(dz) is not np.ndarray or dz.shape != mask.shape:
        return np.where(mask, dz, 0)

    def part(dz, mask, out):
        _product(dz, mask, out[0])

    return elementwise(part, dz, mask, [dz.dtype])[0]


def _product(dz, mask, out):
    """out = dz where mask, else exactly 0, for one part of the rows."""
    with np.errstate(invalid="ignore"):  # inf · 0, replaced right below
        np.multiply(dz, mask, out=out)
    if not all_finite(dz):
        out[...] = np.where(mask, dz, 0)
