"""check_nodes: each recorded node's backwardPass against central differences of its own
forwardPass, on the arrays it saw. It must flag exactly the node whose backward is wrong, tell a
random forward (dropout) apart from a wrong one, and change nothing (grads, the graph)."""

import json
import re
import shutil

import numpy as np
import pytest

import autograd as ag
from autograd import functional as F
from autograd import models
from nodes.base import Node


class UserConv(Node):
    """z[b, k, i, j] = Σ_c Σ_m Σ_n w[k, c, m, n] · x[b, c, S·i + m, S·j + n]  (no padding)

    A learner's convolution, written as the course's loops over the filter's offsets;
    ``bug`` plants one mistake in backwardPass: "transposed" uses the filter transposed
    for dx, "stride" forgets the stride where dx is scattered back."""
    name = "user_conv"
    rules = ("dx[S·i+m, S·j+n] += w[m, n] · dz[i, j]",
             "dw[m, n] = Σᵢⱼ x[S·i+m, S·j+n] · dz[i, j]")

    def __init__(self, stride=1, bug=None):
        self.stride, self.bug = stride, bug

    def forwardPass(self, x, w):
        self.x, self.w = x, w
        S, (F_, _) = self.stride, w.shape[2:]
        Ho = (x.shape[2] - F_) // S + 1
        Wo = (x.shape[3] - F_) // S + 1
        z = np.zeros((x.shape[0], w.shape[0], Ho, Wo), dtype=x.dtype)
        for m in range(F_):
            for n in range(F_):
                window = x[:, :, m:m + S * Ho:S, n:n + S * Wo:S]  # (N, C, Ho, Wo)
                z += np.einsum("kc,bcij->bkij", w[:, :, m, n], window)
        return z

    def backwardPass(self, dz):
        x, w, S = self.x, self.w, self.stride
        F_ = w.shape[2]
        Ho, Wo = dz.shape[2:]
        filt = w.transpose(0, 1, 3, 2) if self.bug == "transposed" else w
        step = 1 if self.bug == "stride" else S
        dx, dw = np.zeros_like(x), np.zeros_like(w)
        for m in range(F_):
            for n in range(F_):
                dx[:, :, m:m + step * Ho:step, n:n + step * Wo:step] += np.einsum(
                    "kc,bkij->bcij", filt[:, :, m, n], dz)
                dw[:, :, m, n] = np.einsum(
                    "bkij,bcij->kc", dz, x[:, :, m:m + S * Ho:S, n:n + S * Wo:S])
        return dx, dw


class UserDropout(Node):
    """z = x · mask / (1 - p), a new random mask at each call (the randomness is inside)"""
    name = "user_dropout"
    rules = ("dx = mask · dz / (1 - p)",)

    def __init__(self, p, rng):
        self.p, self.rng = p, rng

    def forwardPass(self, x):
        self.mask = (self.rng.random(x.shape) >= self.p) / (1 - self.p)
        return x * self.mask

    def backwardPass(self, dz):
        return (dz * self.mask,)


def small_cnn(bug=None, stride=1, dropout=False, seed=0):
    """Conv and ReLU, a user conv, then built-in nodes again: ReLU, max-pool, conv, ReLU,
    flatten, linear and the cross-entropy loss (20+ nodes in all). Returns (loss, the user
    conv's node, the parameters)."""
    rng = np.random.default_rng(seed)
    size = 10 if stride == 1 else 17  # the user conv's output is 8x8 either way
    x = ag.Tensor(rng.normal(size=(4, 2, size, size)), name="images")
    w0 = ag.Tensor(rng.normal(size=(2, 2, 3, 3)) * 0.5, requires_grad=True, name="w0")
    w1 = ag.Tensor(rng.normal(size=(3, 2, 3, 3)) * 0.5, requires_grad=True, name="w1")
    w2 = ag.Tensor(rng.normal(size=(4, 3, 3, 3)) * 0.5, requires_grad=True, name="w2")
    b2 = ag.Tensor(rng.normal(size=(4,)) * 0.1, requires_grad=True, name="b2")
    fc_w = ag.Tensor(rng.normal(size=(5, 16)) * 0.3, requires_grad=True, name="fc.weight")
    fc_b = ag.Tensor(np.zeros(5), requires_grad=True, name="fc.bias")
    scale = ag.Tensor(np.full((1, 3, 1, 1), 1.5), requires_grad=True, name="scale")
    conv = UserConv(stride, bug)
    h = F.relu(F.conv2d(x, w0, padding=1))                     # the size stays
    h = ag.apply(conv, h, w1)                                  # (4, 3, 8, 8)
    h = F.max_pool2d(F.relu(h * scale + 0.1), 2)               # (4, 3, 4, 4)
    h = F.relu(F.conv2d(h, w2, b2, padding=1))                 # (4, 4, 4, 4)
    if dropout:
        h = ag.apply(UserDropout(0.5, np.random.default_rng(7)), h)
    h = F.max_pool2d(h, 2)                                     # (4, 4, 2, 2)
    logits = F.linear(F.flatten(h), fc_w, fc_b)
    loss = F.cross_entropy(logits, ag.Tensor(np.array([0, 1, 2, 3])))
    loss = loss + 0.01 * (fc_w * fc_w).sum()
    return loss, conv, (w0, w1, w2, b2, fc_w, fc_b, scale)


def statuses(results):
    return {check.name: check.status for check in results}


def test_a_right_graph_is_all_ok_and_has_20_nodes():
    loss, conv, _ = small_cnn()
    results = ag.check_nodes(loss)
    nodes = {check.node for check in results}
    assert len(ag.graph_nodes(loss)) >= 20
    assert len(nodes) == len(ag.graph_nodes(loss))  # every node with an input to check
    assert all(check.ok for check in results), str(results)
    assert results.wrong() == []


@pytest.mark.parametrize("bug, stride, wrong_input", [("transposed", 1, 0), ("stride", 2, 0)])
def test_exactly_the_node_with_the_wrong_backward_is_flagged(bug, stride, wrong_input):
    loss, conv, _ = small_cnn(bug=bug, stride=stride)
    assert len(ag.graph_nodes(loss)) >= 20
    results = ag.check_nodes(loss)
    wrong = results.wrong()
    assert [(c.node, c.input) for c in wrong] == [(conv, wrong_input)], str(results)
    assert wrong[0].name == f"user_conv #{conv._seq}" and wrong[0].seq == conv._seq
    assert not wrong[0].ok and wrong[0].error > 1e-3
    # dw is right in both variants, and every other node is ok
    assert all(c.ok for c in results if c is not wrong[0]), str(results)
    assert results.summary(conv)[0] == "wrong"
    assert "WRONG" in results.summary(conv)[1]
    table = str(results)
    line = next(row for row in table.splitlines() if row.startswith(f"user_conv #{conv._seq}")
                and " wrong " in row)
    assert f"{wrong_input} x" in line


def test_stride_1_makes_the_stride_bug_harmless_and_it_is_not_flagged():
    loss, conv, _ = small_cnn(bug="stride", stride=1)
    assert ag.check_nodes(loss).wrong() == []


def test_small_inputs_are_checked_elementwise_and_name_the_element():
    x = ag.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    w = ag.Tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)

    class WrongMatMul(Node):
        """z = x @ w"""
        name, rules = "matmul_user", ("dx = dz @ wᵀ", "dw = xᵀ @ dz")

        def forwardPass(self, x, w):
            self.x, self.w = x, w
            return x @ w

        def backwardPass(self, dz):
            return dz @ self.w, self.x.T @ dz  # dx forgets the transpose

    out = ag.apply(WrongMatMul(), x, w).sum()
    results = ag.check_nodes(out)
    node = out.node._inputs[0].node
    by_input = {c.input: c for c in results.for_node(node)}
    assert by_input[0].status == "wrong" and by_input[1].status == "ok"
    assert by_input[0].detail.startswith("element [0, ") and "differences" in by_input[0].detail
    assert by_input[1].detail == "4 elements"


def test_grads_and_the_recorded_graph_are_unchanged():
    loss, conv, params = small_cnn()
    ag.check_nodes(loss)  # before backward: no gradient appears anywhere
    assert all(p._grad is None for p in params)
    saved_w = conv.w
    loss.backward(retain_graph=True)
    grads = [p.grad.copy() for p in params]
    results = ag.check_nodes(loss)
    assert conv.w is saved_w  # the recorded node keeps what it saved
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad, g)
    walk = ag.viz.walk(loss)
    assert all(t._grad is None for t in walk.tensors if t._node is not None)
    # backward through the same graph again adds exactly the same gradients
    loss.backward()
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad, 2 * g)
    assert all(c.ok for c in results)


def test_after_backward_released_the_graph_it_recomputes_and_agrees():
    loss, conv, _ = small_cnn(bug="transposed")
    before = ag.check_nodes(loss)
    loss.backward()  # releases every node's saved arrays
    assert conv._released and not hasattr(conv, "x")
    after = ag.check_nodes(loss)
    assert [(c.name, c.input, c.status, c.error) for c in after] == \
        [(c.name, c.input, c.status, c.error) for c in before]


def test_an_input_changed_in_place_since_the_forward_pass_is_a_clear_error():
    loss, conv, params = small_cnn()
    loss.backward()
    optimizer = ag.optim.SGD(params, lr=0.1)
    optimizer.step()  # the parameters the graph saw change in place
    with pytest.raises(RuntimeError, match=r"check_nodes: conv #\d+ saw its input 1 \('w0', "
                                           r"shape \(2, 2, 3, 3\)\) .* changed in place since "
                                           r".*before optimizer.step\(\)"):
        ag.check_nodes(loss)


def test_a_random_forward_is_not_deterministic_not_wrong_and_its_generator_is_put_back():
    loss, conv, _ = small_cnn(dropout=True)
    dropout = next(n for n in ag.graph_nodes(loss) if n.name == "user_dropout")
    expected = np.random.default_rng(7)
    expected.random(dropout.mask.shape)  # the draw the forward pass made
    state = np.random.get_state()
    results = ag.check_nodes(loss)
    (check,) = results.for_node(dropout)
    assert check.status == "not deterministic" and not check.ok
    assert "dropout" in check.detail and np.isnan(check.error)
    assert results.wrong() == []
    assert results.summary(dropout)[0] == "not deterministic"
    # the node's generator and NumPy's global one draw as if nothing had been checked
    assert dropout.rng.random() == expected.random()
    assert np.random.get_state()[1].tolist() == state[1].tolist()


def test_ties_in_max_pooling_after_relu_are_checked_away_from_the_ties():
    x = ag.Tensor(np.array([[[[-1.0, -2.0, 3.0, 0.5], [-0.5, -0.1, 1.0, 2.5],
                              [0.7, 0.2, -3.0, -1.0], [0.1, 0.9, -2.0, -0.3]]]] * 6),
                  requires_grad=True)
    out = (F.max_pool2d(F.relu(x), 2) * 2.0).sum()
    results = ag.check_nodes(out)
    pool = next(c for c in results if c.node.name == "maxpool")
    assert pool.ok and "ties and zeros left out" in pool.detail


def test_ties_between_the_inputs_of_max_are_left_out_and_the_rest_checked():
    rng = np.random.default_rng(3)
    x = rng.normal(size=40)
    y = rng.normal(size=40)
    y[::4] = x[::4]  # ten ties, where max has a kink
    x, y = ag.Tensor(x, requires_grad=True), ag.Tensor(y, requires_grad=True)
    out = (ag.maximum(x, y) * ag.Tensor(rng.normal(size=40))).sum()
    results = ag.check_nodes(out)
    checks = results.for_node(out.node._inputs[0].node._inputs[0].node)
    assert [c.status for c in checks] == ["ok", "ok"], str(results)
    assert all("ties and zeros left out" in c.detail for c in checks)


def test_an_infinite_output_or_an_all_kink_input_is_not_checked_rather_than_wrong():
    x = ag.Tensor([0.0, 1.0, 2.0], requires_grad=True)
    with np.errstate(divide="ignore"):
        out = (x.log() * 1.0).sum()
    results = ag.check_nodes(out)  # quiet: the forward pass warned already
    (log,) = [c for c in results if c.node.name == "log"]
    assert log.status == "not checked" and "inf or NaN" in log.detail
    zeros = ag.Tensor(np.zeros(4), requires_grad=True)
    results = ag.check_nodes(F.relu(zeros).sum())
    (relu,) = [c for c in results if c.node.name == "max"]
    assert relu.status == "not checked" and "kink" in relu.detail and np.isnan(relu.error)
    assert results.summary(relu.node)[0] == "not checked"


def test_errors_name_what_to_do():
    with pytest.raises(TypeError, match="check_nodes: expected the output Tensor"):
        ag.check_nodes(np.ones(3))
    with pytest.raises(ValueError, match="nothing to check"):
        ag.check_nodes(ag.Tensor([1.0, 2.0]) * 2.0)


def test_the_results_print_as_a_table_and_as_html():
    loss, conv, _ = small_cnn(bug="transposed")
    results = ag.check_nodes(loss)
    lines = str(results).splitlines()
    assert lines[0].split() == ["node", "input", "status", "error", "detail"]
    assert len(lines) == len(results) + 2 and lines[-1] == f"{len(results)} checks, 1 wrong"
    assert repr(results) == str(results)
    page = results._repr_html_()
    assert page.count("<tr>") == len(results) + 1 and page.count("#ffcdd2") == 1


def test_the_digits_cnn_on_a_batch_of_8_checks_right_on_both_kernels():
    model = models.digits_cnn(rng=0)
    images, labels = ag.data.load_digits()
    for choice in ("fast", "reference"):
        with ag.kernels(choice):
            loss = F.cross_entropy(model(ag.Tensor(images[:8])), ag.Tensor(labels[:8]))
            results = ag.check_nodes(loss)
        assert len(results) >= 10 and all(check.ok for check in results), str(results)


def op_line(source, node):
    return next(line for line in source.splitlines() if line.strip().startswith(f"n{node._seq} "))


def test_draw_colours_each_op_by_its_check(tmp_path):
    loss, conv, _ = small_cnn(bug="transposed")
    results = ag.check_nodes(loss)
    loss.backward(retain_grads=True)
    for rankdir in ("TB", "LR"):
        diagram = ag.draw(loss, check=results, rankdir=rankdir)
        if shutil.which("dot"):  # dot reads every label (a malformed one is an error)
            svg = ag.viz.render(diagram, tmp_path / f"{rankdir}.svg")
            assert "dx wrong, error" in open(svg, encoding="utf-8").read()
        source = diagram.source
        wrong = op_line(source, conv)
        assert "#ffcdd2" in wrong and "dx wrong, error" in wrong and "WRONG" in wrong
        others = [n for n in ag.graph_nodes(loss) if n is not conv]
        for node in others:
            line = op_line(source, node)
            assert "#c8e6c9" in line and "tooltip=\"check: ok (error" in line, line
    # a node the results do not cover is grey, saying so
    other_loss, _, _ = small_cnn()
    source = ag.draw(other_loss, check=results, rankdir="LR").source
    line = op_line(source, other_loss.node)
    assert "#e0e0e0" in line and "not checked" in line
    with pytest.raises(TypeError, match="draw: check takes the results of autograd.check_nodes"):
        ag.draw(loss, check=[1, 2])


def test_draw_layer_boxes_take_their_worst_ops_colour():
    model = models.digits_cnn(rng=0)
    images, labels = ag.data.load_digits()
    loss = F.cross_entropy(model(ag.Tensor(images[:2])), ag.Tensor(labels[:2]))
    results = ag.check_nodes(loss)
    conv = next(n for n in ag.graph_nodes(loss) if n.name == "conv")
    results[0].status, results[0].ok, results[0].error = "wrong", False, 0.5  # as if dw were
    assert results[0].node is conv
    source = ag.draw(loss, check=results, expand=False).source
    boxes = [line for line in source.splitlines() if "shape=box" in line and "#dbe9f8" not in line
             and "conv #" in line and "conv: Conv2d" not in line]
    assert any("#ffcdd2" in line and "dw wrong, error 0.5" in line for line in boxes), boxes


def _frames_of(page):
    found = re.search(r'<script id="frames" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


def test_the_stepper_says_each_nodes_check_in_its_text_page_and_widget(tmp_path):
    loss, conv, _ = small_cnn(bug="transposed")
    results = ag.check_nodes(loss)
    stepper = ag.Stepper(loss, check=results)
    steps = stepper.all_steps()
    conv_step = next(step for step in steps if step.node is conv)
    assert conv_step.check[0] == "wrong"
    assert conv_step.explain().splitlines()[-1].startswith("check: WRONG, error ")
    assert "; check: WRONG, error " in str(conv_step) and " for dx (" in str(conv_step)
    ok_step = steps[0]
    assert ok_step.check[0] == "ok" and ok_step.explain().splitlines()[-1].startswith("check: ok")
    forward = next(item for item in stepper.forward_steps() if item.node is conv)
    assert "check: WRONG" in forward.explain()
    # without results, no check line anywhere
    plain = ag.Stepper(loss)
    assert plain.all_steps()[0].check is None and "check:" not in plain.all_steps()[0].explain()
    # the page: each step's title and text, and the conv red in its diagrams
    page = tmp_path / "step.html"
    stepper.to_html(page, forward=True, diagrams=bool(shutil.which("dot")))
    frames = _frames_of(page.read_text(encoding="utf-8"))
    conv_frames = [f for f in frames if f"user_conv #{conv._seq}" in f["title"]]
    assert len(conv_frames) == 2  # forward and backward
    assert all(f["title"].endswith("(check: wrong)") and "check: WRONG" in f["text"]
               for f in conv_frames)
    if shutil.which("dot"):
        assert all("dx wrong, error" in f["svg"] and "#ffcdd2" in f["svg"] for f in frames)
    # the widget shows the same frames
    pytest.importorskip("ipywidgets")
    view = stepper.widget(forward=True, diagrams=False)
    view.slider.value = next(k for k, f in enumerate(view.frames) if f["step"] is conv_step)
    assert "(check: wrong)" in view.title.value and "check: WRONG" in view.text.value
    with pytest.raises(TypeError, match="Stepper: check takes the results of autograd.check_nodes"):
        ag.Stepper(loss, check={"conv": "ok"})
