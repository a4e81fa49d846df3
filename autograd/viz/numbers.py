"""Numbers as every view writes them: the step-through's text, the widget, the page, the diagrams.

One function, ``number``, writes one value; ``written_out`` writes a small array on one line
with it. A zero is always written ``0.0``: a ReLU's backward (``dz`` times a 0/1 mask)
gives ``-0.0`` where ``dz`` was negative, and a learner reading ``-0.0`` looks for a sign
that means nothing.
"""

import math

import numpy as np


def number(value, digits=4):
    """One value rounded to ``digits`` significant digits, written as Python writes floats.

    ``2.0``, ``-0.0111``, ``1.27e-09``; integers and booleans as they are; never ``-0.0``.
    """
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    return repr(float(f"{value:.{digits}g}") + 0.0)  # + 0.0 turns -0.0 into 0.0


def written_out(array, digits=4):
    """A small array's values on one line: ``3.0``, ``[1.0, -2.0]``, ``[[1.0, 2.0], [3.0, 4.0]]``"""
    array = np.asarray(array)
    if array.ndim == 0:
        return number(array.item(), digits)
    if array.ndim == 1:
        return "[" + ", ".join(number(v, digits) for v in array.tolist()) + "]"
    # nested as deep as the array has axes (not the graph): a handful of levels at most
    return "[" + ", ".join(written_out(row, digits) for row in array) + "]"
