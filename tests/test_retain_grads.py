"""backward(retain_grads=True) keeps every tensor's gradient (for diagrams); without it, no
intermediate tensor holds a gradient after backward, so training memory stays flat."""

import shutil

import numpy as np
import pytest

import autograd as ag
from autograd import functional as F
from autograd import models


def small_graph():
    x = ag.Tensor([1.0, -2.0, 3.0], requires_grad=True, name="x")
    w = ag.Tensor([0.5, 0.25, -1.0], requires_grad=True, name="w")
    h = x * w
    r = ag.maximum(0.0, h)
    y = (r * r).sum()
    return x, w, h, r, y


def test_retain_grads_keeps_every_tensors_gradient_as_retain_grad_does():
    x, w, h, r, y = small_graph()
    y.backward(retain_grads=True)
    # by hand: h = [0.5, -0.5, -3], r = [0.5, 0, 0], y = sum r², dy/dr = 2r, dr/dh = [h > 0]
    np.testing.assert_allclose(y.grad, 1.0)
    np.testing.assert_allclose(r.grad, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(h.grad, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(x.grad, [0.5, 0.0, 0.0])
    np.testing.assert_allclose(w.grad, [1.0, 0.0, 0.0])
    # the same numbers retain_grad() gives for one tensor
    x2, w2, h2, r2, y2 = small_graph()
    h2.retain_grad()
    y2.backward()
    np.testing.assert_array_equal(h2.grad, h.grad)


def test_without_retain_grads_no_intermediate_tensor_keeps_a_gradient():
    # What keeps training memory flat: after backward() the only gradients alive are the
    # parameters' (and the inputs' that asked for one), never an activation's.
    model = models.digits_cnn(rng=0)
    images, labels = ag.data.load_digits()
    optimizer = ag.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(2):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(ag.Tensor(images[:8])), ag.Tensor(labels[:8]))
        loss.backward()
        optimizer.step()
        walk = ag.viz.walk(loss)
        intermediates = [t for t in walk.tensors if t._node is not None]
        assert len(intermediates) > 5
        assert all(t._grad is None for t in intermediates)
        assert all(p._grad is not None for p in model.parameters())


def test_retain_grads_is_for_one_backward_only():
    x, w, h, r, y = small_graph()
    y.backward(retain_graph=True, retain_grads=True)
    assert h._grad is not None
    h._grad = r._grad = y._grad = None
    y.backward()  # an ordinary backward of the same graph afterwards keeps none
    assert h._grad is None and r._grad is None and y._grad is None


def test_retain_grads_accumulates_like_leaves_and_adds_where_a_tensor_is_used_twice():
    x = ag.Tensor([2.0], requires_grad=True)
    h = x * 3.0
    y = (h * h).sum()  # dy/dh = 2h = 12
    y.backward(retain_graph=True, retain_grads=True)
    np.testing.assert_allclose(h.grad, [12.0])
    y.backward(retain_grads=True)
    np.testing.assert_allclose(h.grad, [24.0])
    np.testing.assert_allclose(x.grad, [72.0])


def test_autograd_backward_takes_the_flag_and_networkx_shows_each_gradient():
    nx = pytest.importorskip("networkx")
    x, w, h, r, y = small_graph()
    ag.backward(y, retain_grads=True)
    graph = ag.to_networkx(y)
    ids = ag.viz.tensor_ids(y)
    assert isinstance(graph, nx.DiGraph)
    for tensor in (x, w, h, r, y):
        np.testing.assert_array_equal(graph.nodes[ids[id(tensor)]]["grad"], tensor.grad)
    # without the flag an intermediate shows no gradient
    x2, w2, h2, r2, y2 = small_graph()
    y2.backward()
    assert ag.to_networkx(y2).nodes[ag.viz.tensor_ids(y2)[id(h2)]]["grad"] is None


def test_draw_writes_each_intermediate_gradient():
    x, w, h, r, y = small_graph()
    y.backward(retain_grads=True)
    source = ag.draw(y, rankdir="LR").source
    # w, h and r have the gradient [1, 0, 0], x [0.5, 0, 0]; without the flag only the leaves
    assert source.count("grad [1.0, 0.0, 0.0]") == 3 and "grad [0.5, 0.0, 0.0]" in source
    x2, w2, h2, r2, y2 = small_graph()
    y2.backward()
    assert ag.draw(y2, rankdir="LR").source.count("grad [1.0, 0.0, 0.0]") == 1


def test_the_draw_command_shows_the_gradient_of_every_tensor(tmp_path):
    if not shutil.which("dot"):
        pytest.skip("needs Graphviz's dot")
    from autograd.commands.draw import draw_model
    model = models.digits_cnn(rng=0)
    images, labels = ag.data.load_digits()
    svg = open(draw_model(model, images[:2], labels[:2], str(tmp_path / "graph.svg")),
               encoding="utf-8").read()
    # 4 parameters and 10 op outputs (conv, relu, pool, flatten, transpose, matmul, add,
    # log_softmax, getitem, sum, the loss ...): the leaves alone would be 4
    assert svg.count(">grad ") >= 12
    assert all(p.grad is None for p in model.parameters())  # the model's own are left alone
