"""Random small graphs built from the op table, compared with PyTorch: every value, and the
gradient of every leaf.

Hypothesis draws a program: leaves of random shapes, then up to eight ops from the rows of
tests/op_table.py that have a ``graph`` use, each on earlier values (so values feed several
ops, and binary ops broadcast), with the row's parameters. The loss adds up every value
times a fixed random weight, so every node's gradient counts. A failure prints the
program, its seed included, shrunk by Hypothesis to a small one; to run it again, call
``check_program`` on the ``Program(...)`` printed, or add the ``@reproduce_failure`` line
Hypothesis prints.

It runs ``TAPEGRAD_GRAPH_EXAMPLES`` examples (default 6000: about 20 s on one core).
"""

import dataclasses
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import autograd as ag
from op_table import OPS

torch = pytest.importorskip("torch")

GRAPH_OPS = [op for op in OPS if op.graph is not None]
EXAMPLES = int(os.environ.get("TAPEGRAD_GRAPH_EXAMPLES", "6000"))

# What an input of each domain is fed: the same expression in both libraries.
DOMAINS = {
    "any": lambda v: v,
    "positive": lambda v: v * v + 0.5,       # >= 0.5: log, sqrt, a divisor, a base
    "bounded": lambda v: v.tanh() * 2.0,     # |v| <= 2: exp, an exponent
}


@dataclasses.dataclass(frozen=True)
class Leaf:
    shape: tuple


@dataclasses.dataclass(frozen=True)
class Step:
    op: str            # a row's name
    inputs: tuple      # value numbers
    kwargs: dict


@dataclasses.dataclass(frozen=True)
class Program:
    seed: int          # the leaves' values and the loss weights
    values: tuple      # Leaf or Step, in the order they are made: value k is values[k]

    def __repr__(self):
        lines = [f"seed = {self.seed}"]
        for k, value in enumerate(self.values):
            if isinstance(value, Leaf):
                lines.append(f"v{k} = leaf {value.shape}")
                continue
            args = ", ".join([f"v{i}" for i in value.inputs] +
                             [f"{key}={v!r}" for key, v in value.kwargs.items()])
            lines.append(f"v{k} = {value.op}({args})")
        return "Program(\n    " + "\n    ".join(lines) + ")"


ROWS = {op.name: op for op in GRAPH_OPS}


def _apply(library, op, values, kwargs):
    """Run a step in ``library`` ('ours' or 'theirs') on the values, fed through domains."""
    fed = [DOMAINS[domain](v) for domain, v in zip(op.graph.domains, values)]
    if library == "ours":
        return op.ours(*fed, **kwargs)
    theirs = op.theirs_at_ties or op.theirs  # tapegrad's tie rule, should a tie appear
    return theirs(*fed, **kwargs)


def _shape_of(op, shapes, kwargs):
    """The step's output shape, by PyTorch (None when PyTorch refuses these inputs)."""
    values = [torch.full(shape, 0.5, dtype=torch.float64) for shape in shapes]
    try:
        return tuple(_apply("theirs", op, values, kwargs).shape)
    except (RuntimeError, ValueError, IndexError, TypeError):
        return None


def _broadcast_partner(draw, shape):
    """A shape that broadcasts with ``shape``: fewer leading axes, some axes set to 1."""
    keep = draw(st.integers(0, len(shape)))
    return tuple(n if draw(st.booleans()) else 1 for n in shape[len(shape) - keep:])


@st.composite
def programs(draw):
    ndim = draw(st.integers(0, 3))
    base = tuple(draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim)))
    values = [Leaf(_broadcast_partner(draw, base)) for _ in range(draw(st.integers(1, 2)))]
    shapes = [leaf.shape for leaf in values]
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(GRAPH_OPS))
        first = draw(st.integers(0, len(shapes) - 1))
        inputs = [first]
        if op.graph.arity == 2:
            if op.graph.second == "matmul":
                if not shapes[first]:
                    continue
                partner = (shapes[first][-1], draw(st.integers(1, 3)))
            elif op.graph.second == "same":
                partner = shapes[first]
            else:
                partner = _broadcast_partner(draw, shapes[first])
            found = [i for i, s in enumerate(shapes) if s == partner]
            if found and draw(st.booleans()):
                inputs.append(draw(st.sampled_from(found)))
            else:  # a new leaf
                values.append(Leaf(partner))
                shapes.append(partner)
                inputs.append(len(shapes) - 1)
        input_shapes = [shapes[i] for i in inputs]
        choose = lambda options: draw(st.sampled_from(options))  # noqa: E731
        kwargs = op.graph.params(input_shapes, choose) if op.graph.params else {}
        shape = None if kwargs is None else _shape_of(op, input_shapes, kwargs)
        if shape is None:
            continue
        values.append(Step(op.name, tuple(inputs), kwargs))
        shapes.append(shape)
    return Program(draw(st.integers(0, 2**32 - 1)), tuple(values))


def run_program(program, library):
    """Every value of the program in ``library`` ('ours' or 'theirs'), and its leaves
    (which require a gradient)."""
    rng = np.random.default_rng(program.seed)
    make = ag.Tensor if library == "ours" else torch.tensor
    values, leaves = [], []
    for value in program.values:
        if isinstance(value, Leaf):
            array = rng.uniform(0.3, 1.5, size=value.shape) * rng.choice([-1.0, 1.0],
                                                                          size=value.shape)
            leaves.append(make(array, requires_grad=True))
            values.append(leaves[-1])
        else:
            op = ROWS[value.op]
            values.append(_apply(library, op, [values[i] for i in value.inputs], value.kwargs))
    return leaves, values


def check_program(program):
    """Every value and every leaf's gradient of ``program`` against PyTorch."""
    leaves, values = run_program(program, "ours")
    reference_leaves, reference_values = run_program(program, "theirs")
    rng = np.random.default_rng(program.seed + 1)
    weights = [rng.standard_normal(v.shape) for v in values]
    for k, (v, r) in enumerate(zip(values, reference_values)):
        np.testing.assert_allclose(v.data, r.detach().numpy(), rtol=1e-7, atol=1e-9,
                                   err_msg=f"value v{k} of {program!r}")
    loss = sum(((v * w).sum() for v, w in zip(values, weights)), start=0.0)
    reference = sum(((r * torch.tensor(w)).sum() for r, w in zip(reference_values, weights)),
                    start=torch.zeros((), dtype=torch.float64))
    loss.backward()
    reference.backward()
    for k, (leaf, r) in enumerate(zip(leaves, reference_leaves)):
        np.testing.assert_allclose(leaf.grad, r.grad.numpy(), rtol=1e-7, atol=1e-9,
                                   err_msg=f"gradient of leaf {k} of {program!r}")


@settings(max_examples=EXAMPLES, deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(programs())
def test_random_graphs_match_pytorch(program):
    check_program(program)


def test_a_program_reads_as_it_runs():
    """The printed program is what runs: its text names each op and its inputs, and a
    wrong reference is caught (the check can fail)."""
    program = Program(7, (Leaf((2, 3)), Leaf((3,)), Step("ag.maximum", (0, 1), {}),
                          Step("Tensor.sum", (2,), dict(axis=0, keepdims=False))))
    text = repr(program)
    assert "v2 = ag.maximum(v0, v1)" in text and "v3 = Tensor.sum(v2, axis=0" in text
    assert "seed = 7" in text
    check_program(program)
    wrong = Program(7, program.values[:2] + (Step("ag.minimum", (0, 1), {}),))
    original = ROWS["ag.minimum"]
    try:
        ROWS["ag.minimum"] = dataclasses.replace(original, ours=ag.maximum)
        with pytest.raises(AssertionError, match="v2 = ag.minimum"):
            check_program(wrong)
    finally:
        ROWS["ag.minimum"] = original
