"""Forward values and gradients of every primitive against PyTorch, and broadcasting properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
from helpers import away_from_kinks, broadcastable, compare_with_torch

torch = pytest.importorskip("torch")


def compare(fn_ours, fn_torch, *arrays):
    compare_with_torch(torch, fn_ours, fn_torch, *arrays, atol=1e-10)


SHAPES = [(), (3,), (3, 4), (1, 4), (3, 1)]

PAIRS = [(a, b) for a in SHAPES for b in SHAPES if broadcastable(a, b)]

BINARY = {
    "add": (lambda x, y: x + y, lambda x, y: x + y),
    "sub": (lambda x, y: x - y, lambda x, y: x - y),
    "mul": (lambda x, y: x * y, lambda x, y: x * y),
    "div": (lambda x, y: x / y, lambda x, y: x / y),
    "maximum": (ag.maximum, torch.maximum),
    "pow": (lambda x, y: abs_(x) ** y, lambda x, y: x.abs() ** y),
}


def abs_(t):
    return ag.maximum(t, -t)


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("shapes", PAIRS, ids=str)
def test_binary_parity(name, shapes):
    rng = np.random.default_rng(5)
    x, y = (away_from_kinks(rng, s) for s in shapes)
    compare(*BINARY[name], x, y + 0.05)


UNARY = {
    "neg": (lambda x: -x, lambda x: -x),
    "pow3": (lambda x: x ** 3, lambda x: x ** 3),
    "exp": (lambda x: x.exp(), torch.exp),
    "log": (lambda x: (x * x).log(), lambda x: (x * x).log()),
    "tanh": (lambda x: x.tanh(), torch.tanh),
    "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid),
    "relu": (lambda x: x.relu(), torch.relu),
    "sum": (lambda x: x.sum(), torch.sum),
    "sum0": (lambda x: x.sum(axis=0), lambda x: x.sum(dim=0)),
    "mean1k": (lambda x: x.mean(axis=1, keepdims=True), lambda x: x.mean(dim=1, keepdim=True)),
    "max": (lambda x: x.max(), lambda x: x.max()),
    "max1": (lambda x: x.max(axis=1), lambda x: x.amax(dim=1)),
    "reshape": (lambda x: x.reshape(4, 3), lambda x: x.reshape(4, 3)),
    "T": (lambda x: x.T, lambda x: x.T),
    "getitem": (lambda x: x[1:, [0, 2, 2]], lambda x: x[1:, [0, 2, 2]]),
    "rdiv": (lambda x: 1.0 / x, lambda x: 1.0 / x),
    "rsub": (lambda x: 1.0 - x, lambda x: 1.0 - x),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_parity(name):
    x = away_from_kinks(np.random.default_rng(6), (3, 4))
    compare(*UNARY[name], x)


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)),
                                    ((4,), (4,)), ((2, 3, 4), (2, 4, 5)), ((3, 4), (2, 4, 5))], ids=str)
def test_matmul_parity(shapes):
    rng = np.random.default_rng(7)
    compare(lambda a, b: a @ b, lambda a, b: a @ b, *(rng.normal(size=s) for s in shapes))


def test_sigmoid_is_finite_for_huge_inputs_like_torch():
    compare(lambda x: x.sigmoid(), torch.sigmoid, np.array([-1e4, -50.0, 0.0, 50.0, 1e4]))


def test_a_small_network_matches_torch():
    rng = np.random.default_rng(8)
    x, w1, w2 = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=(4, 1))
    compare(lambda x, a, b: (ag.maximum(0.0, x @ a) @ b).tanh().mean(),
            lambda x, a, b: (torch.relu(x @ a) @ b).tanh().mean(), x, w1, w2)


@st.composite
def broadcast_pair(draw):
    """Two shapes that broadcast: dims drawn, then some set to 1 or dropped on one side."""
    ndim = draw(st.integers(0, 3))
    full = draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim))
    shapes = []
    for _ in range(2):
        keep = draw(st.integers(0, ndim))
        dims = [d if draw(st.booleans()) else 1 for d in full[ndim - keep:]]
        shapes.append(tuple(dims))
    return shapes


@settings(max_examples=60, deadline=None)
@given(broadcast_pair(), st.sampled_from(["add", "mul", "sub", "maximum"]))
def test_broadcasting_gradients_property(shapes, op):
    """For any broadcast pair, gradients have the inputs' shapes and match PyTorch."""
    rng = np.random.default_rng(9)
    x, y = (away_from_kinks(rng, s) for s in shapes)
    compare(*BINARY[op], x, y + 0.05)
