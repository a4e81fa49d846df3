"""Random initial weights, as PyTorch's layers draw them, from a seedable NumPy generator.

Layers draw from the module-level generator unless they are given ``rng=`` (a seed or a
``numpy.random.Generator``). It starts seeded with 0, so a fresh process builds the same
model every time; ``manual_seed(s)`` restarts it.
"""

import math

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed):
    """Restart the generator layers draw their initial weights (and dropout masks) from."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator(rng=None):
    """``rng`` as a Generator: the module-level one for None, a new one for an int seed."""
    if rng is None:
        return _generator
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def fan_in_uniform(shape, fan_in, rng=None, dtype=np.float32):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for Linear and Conv weights
    (kaiming_uniform with a = sqrt(5), whose bound works out to 1/sqrt(fan_in)) and biases."""
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return generator(rng).uniform(-bound, bound, size=shape).astype(dtype)
