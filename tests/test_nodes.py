"""Every primitive gradchecked in float64: the node alone, and through a whole backward()."""

import numpy as np
import pytest

import autograd as ag
import nodes
from helpers import away_from_kinks, broadcastable, check_node, split_work_between_threads

SHAPES = [(), (3,), (3, 4), (1, 4), (3, 1)]

BROADCAST_PAIRS = [(a, b) for a in SHAPES for b in SHAPES if broadcastable(a, b)]
BINARY = {
    "add": nodes.AdditionNode,
    "multiply": nodes.MultiplicationNode,
    "max": nodes.MaxNode,
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_binary_nodes_on_broadcast_pairs(name, shapes):
    rng = np.random.default_rng(1)
    x, y = (away_from_kinks(rng, s) for s in shapes)
    if name == "max":
        y = y + 0.1  # keep x and y apart: no ties
    check_node(BINARY[name], x, y)
    tx, ty = (ag.Tensor(a, requires_grad=True) for a in (x, y))
    assert ag.gradcheck(lambda a, b: ag.apply(BINARY[name](), a, b), tx, ty)


UNARY = {
    "negate": (nodes.NegationNode, lambda x: x),
    "power 3": (lambda: nodes.PowerNode(3), lambda x: x),
    "power -1.5": (lambda: nodes.PowerNode(-1.5), np.abs),
    "power 0.5": (lambda: nodes.PowerNode(0.5), np.abs),
    "exp": (nodes.ExpNode, lambda x: x),
    "log": (nodes.LogNode, np.abs),
    "tanh": (nodes.TanhNode, lambda x: x),
    "sigmoid": (nodes.SigmoidNode, lambda x: x),
    "sum all": (nodes.SumNode, lambda x: x),
    "sum axis 0": (lambda: nodes.SumNode(axis=0), lambda x: x),
    "sum axis -1 keepdims": (lambda: nodes.SumNode(axis=-1, keepdims=True), lambda x: x),
    "sum axes (0, 2)": (lambda: nodes.SumNode(axis=(0, 2)), lambda x: x),
    "amax all": (nodes.MaxReduceNode, lambda x: x),
    "amax axis 1": (lambda: nodes.MaxReduceNode(axis=1), lambda x: x),
    "amax axes (0, 2) keepdims": (lambda: nodes.MaxReduceNode(axis=(0, 2), keepdims=True), lambda x: x),
    "reshape": (lambda: nodes.ReshapeNode((4, -1)), lambda x: x),
    "transpose": (nodes.TransposeNode, lambda x: x),
    "transpose (1, 0, 2)": (lambda: nodes.TransposeNode((1, 0, 2)), lambda x: x),
    "getitem slice": (lambda: nodes.GetItemNode((slice(None), 1)), lambda x: x),
    "getitem fancy repeated": (lambda: nodes.GetItemNode(([0, 0, 1], [2, 2, 0])), lambda x: x),
    "getitem bool mask": (lambda: nodes.GetItemNode(np.arange(4) % 2 == 0), lambda x: x),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_nodes(name):
    make, domain = UNARY[name]
    rng = np.random.default_rng(2)
    shape = (4, 3, 2) if "(0, 2)" in name or "(1, 0, 2)" in name else (4, 3)
    x = domain(away_from_kinks(rng, shape))
    check_node(make, x)
    assert ag.gradcheck(lambda t: ag.apply(make(), t), ag.Tensor(x, requires_grad=True))


@pytest.mark.parametrize("shape", [(), (5,)])
def test_elementwise_nodes_on_small_shapes(shape):
    rng = np.random.default_rng(3)
    x = np.abs(away_from_kinks(rng, shape))
    for make in (nodes.ExpNode, nodes.LogNode, nodes.TanhNode, nodes.SigmoidNode,
                 nodes.NegationNode, lambda: nodes.PowerNode(2)):
        check_node(make, x)


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)),
                                    ((4,), (4,)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)),
                                    ((3, 4), (2, 4, 5)), ((1, 3, 4), (2, 4, 2))], ids=str)
def test_matmul(shapes):
    rng = np.random.default_rng(4)
    x, y = (rng.normal(size=s) for s in shapes)
    check_node(nodes.MatMulNode, x, y)
    tx, ty = (ag.Tensor(a, requires_grad=True) for a in (x, y))
    assert ag.gradcheck(lambda a, b: a @ b, tx, ty)


def test_max_ties_go_to_the_first_input():
    node = nodes.MaxNode()
    assert node.forwardPass(np.array([1.0, 2.0]), np.array([1.0, 3.0])).tolist() == [1.0, 3.0]
    dx, dy = node.backwardPass(np.array([5.0, 7.0]))
    assert dx.tolist() == [5.0, 0.0] and dy.tolist() == [0.0, 7.0]


def test_relu_is_max_with_zero_first_and_zero_gradient_at_zero():
    x = ag.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    y = x.relu()
    assert isinstance(y.node, nodes.MaxNode)
    assert y.data.tolist() == [0.0, 0.0, 2.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]


def test_max_reduce_ties_go_to_the_first_maximum_and_keep_the_total():
    x = ag.tensor([[3.0, 1.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]


def test_course_multiplication_node_runs_as_written():
    node = nodes.MultiplicationNode()
    assert node.forwardPass(3.0, -4.0) == -12
    assert tuple(node.backwardPass(2.0)) == (-8, 6)


def test_every_node_class_has_name_docstring_and_rules():
    for cls in [getattr(nodes, n) for n in nodes.__all__ if n != "Node"]:
        assert cls.name and cls.name == cls.name.lower(), cls
        assert cls.__doc__ and cls.__doc__.strip(), cls
        n_inputs = cls.forwardPass.__code__.co_argcount - 1
        assert len(cls.rules) == n_inputs, f"{cls.__name__}: {len(cls.rules)} rules, {n_inputs} inputs"


@pytest.mark.parametrize("shapes", [((6, 3, 4, 5), (1, 3, 1, 1)),   # a conv's bias add
                                    ((), (6, 3, 4, 5)),             # ReLU: max(0, x)
                                    ((6, 3, 4, 5), (4, 5)),         # fewer axes
                                    ((1, 3, 4, 5), (6, 3, 4, 5)),   # the first axis broadcast
                                    ((6, 3, 4, 5), (6, 3, 4, 5))])
@pytest.mark.parametrize("needs", [(True, True), (False, True), (True, False)])
def test_large_elementwise_passes_split_between_threads_give_the_same_result(
        monkeypatch, shapes, needs):
    """Max (ReLU) splits large arrays between threads: the same numbers, NaN and ties too."""
    rng = np.random.default_rng(5)
    x, y = (rng.integers(-2, 3, size=shape).astype(np.float32) for shape in shapes)  # ties
    x.reshape(-1)[:3] = np.nan
    y.reshape(-1)[-2:] = np.nan
    dz = rng.standard_normal(np.broadcast_shapes(x.shape, y.shape)).astype(np.float32)

    def run():
        add, big = nodes.AdditionNode(), nodes.MaxNode()
        big.needs_input_grad = needs
        return [add.forwardPass(x, y), big.forwardPass(x, y),
                *[g for g in big.backwardPass(dz) if g is not None]]

    expected = run()
    calls = split_work_between_threads(monkeypatch, large=8)
    got = run()
    for a, b in zip(got, expected):
        assert a.dtype == b.dtype == np.float32 and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    # every pass of max ran in three parts; the add is not split
    assert len(calls) == 2 * (len(got) - 1)


def test_small_or_mixed_elementwise_inputs_are_not_split(monkeypatch):
    from nodes.kernels import threads as parallel
    monkeypatch.setattr(parallel, "LARGE", 8)
    ints, floats = np.arange(24).reshape(4, 6), np.ones((4, 6), np.float32)
    assert not parallel.is_large(ints, ints, 8)                    # not floating
    assert not parallel.is_large(floats, floats.astype(np.float64), 8)  # two dtypes
    assert not parallel.is_large(floats, 1.0, 8)                   # not an array
    assert not parallel.is_large(floats[:1, :1], floats[:1, :1], 8)  # small
    assert parallel.is_large(floats, np.zeros((), np.float32), 8)
    assert nodes.AdditionNode().forwardPass(2, 3) == 5


def test_relu_through_the_engine_takes_the_split_path(monkeypatch):
    calls = split_work_between_threads(monkeypatch, threads=2, large=8)
    x = ag.Tensor(np.linspace(-1, 1, 2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4),
                  requires_grad=True)
    b = ag.Tensor(np.ones((1, 3, 1, 1), np.float32), requires_grad=True)
    assert not calls
    ag.functional.relu(x + b).sum().backward()
    assert len(calls) == 2  # ReLU's forward and its backward
