"""Numbers at the edges (issue 26): a node applied twice, powers and quotients at 0 and
at the limits of a float, gradients routed by selection, empty tensors. Each expected
value is PyTorch's, computed here when it is installed."""

import numpy as np
import pytest

import autograd as ag
import nodes
from autograd import functional as F

torch = pytest.importorskip("torch")


def grads_of(make, *values, dtype=np.float64):
    """tapegrad's value and gradients of make(*tensors).sum()."""
    xs = [ag.tensor(np.array(v, dtype=dtype), requires_grad=True) for v in values]
    out = make(*xs)
    out.sum().backward()
    return out.data, [x.grad for x in xs]


def torch_grads_of(make, *values, dtype=torch.float64):
    xs = [torch.tensor(v, dtype=dtype, requires_grad=True) for v in values]
    out = make(*xs)
    out.sum().backward()
    return out.detach().numpy(), [x.grad.numpy() for x in xs]


def assert_same(ours, theirs, rtol=1e-12):
    ours_value, ours_grads = ours
    their_value, their_grads = theirs
    np.testing.assert_allclose(ours_value, their_value, rtol=rtol, equal_nan=True)
    assert ours_value.dtype == their_value.dtype
    for mine, yours in zip(ours_grads, their_grads):
        np.testing.assert_allclose(mine, yours, rtol=rtol, equal_nan=True)


# ---------------------------------------------------------------- one node, one application

def test_a_node_applied_twice_leaves_the_first_graph_as_it_was():
    a, b, c, d = (ag.tensor([float(v)], requires_grad=True) for v in (2, 3, 5, 7))
    node = nodes.MultiplicationNode()
    first = ag.apply(node, a, b)
    second = ag.apply(node, c, d)
    first.sum().backward()
    assert a.grad.tolist() == [3.0] and b.grad.tolist() == [2.0]
    assert c.grad is None and d.grad is None
    second.sum().backward()
    assert c.grad.tolist() == [7.0] and d.grad.tolist() == [5.0]
    # the instance held describes its first application; the second is a copy of its class
    assert first.node is node and second.node is not node
    assert type(second.node) is nodes.MultiplicationNode


def test_a_node_reused_keeps_its_fixed_parameters_and_works_in_a_loop():
    node = nodes.PowerNode(3)
    x = ag.tensor([2.0], requires_grad=True)
    for _ in range(3):
        y = ag.apply(node, x)
        y.sum().backward()
    assert x.grad.tolist() == [36.0]  # 3 * 2**2, three times


def test_a_node_reused_under_no_grad_does_not_change_the_recorded_graph():
    a, b = ag.tensor([2.0], requires_grad=True), ag.tensor([3.0], requires_grad=True)
    node = nodes.MultiplicationNode()
    y = ag.apply(node, a, b)
    with ag.no_grad():
        ag.apply(node, ag.tensor([10.0]), ag.tensor([20.0]))
    y.sum().backward()
    assert a.grad.tolist() == [3.0] and b.grad.tolist() == [2.0]
