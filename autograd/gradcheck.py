"""Check gradients from backward() against central differences in float64."""

import numpy as np

from .tape import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """backward() and central differences disagree."""


def gradcheck(fn, *tensors, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """Compare ``backward()`` with central differences for every element of every input.

    ``fn(*tensors)`` must return a Tensor. The inputs are copied to float64; those with
    ``requires_grad=True`` are checked (arrays and numbers are passed as constants).
    A non-scalar output is reduced to ``sum(v * fn(...))`` with a fixed random ``v``,
    which checks the whole Jacobian against that direction.

    Returns True, or raises ``GradcheckError`` naming the input, the element and both
    values (``raise_exception=False`` returns False instead).
    """
    inputs = [Tensor(t.data.astype(np.float64), requires_grad=t.requires_grad)
              if isinstance(t, Tensor) else t for t in tensors]
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")

    output = fn(*inputs)
    if not isinstance(output, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(output).__name__}")
    direction = np.random.default_rng(seed).uniform(0.5, 1.5, size=output.shape)

    def scalar(out):
        return float(np.sum(direction * out.data))

    (output * direction).sum().backward()

    for i in checked:
        x = inputs[i]
        analytic = np.zeros_like(x.data) if x.grad is None else x.grad
        numeric = np.zeros_like(x.data)
        flat = x.data.reshape(-1)  # a view: perturbing it perturbs x
        with no_grad():
            for k in range(flat.size):
                original = flat[k]
                flat[k] = original + eps
                plus = scalar(fn(*inputs))
                flat[k] = original - eps
                minus = scalar(fn(*inputs))
                flat[k] = original
                numeric.reshape(-1)[k] = (plus - minus) / (2 * eps)
        bad = ~np.isclose(analytic, numeric, atol=atol, rtol=rtol)
        if bad.any():
            where = tuple(int(j) for j in np.argwhere(bad)[0])
            message = (f"gradcheck: input {i} (shape {x.shape}), element {where}: backward() gave "
                       f"{analytic[where]!r} but central differences give {numeric[where]!r} "
                       f"({int(bad.sum())} of {bad.size} elements differ; atol={atol}, rtol={rtol})")
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True
