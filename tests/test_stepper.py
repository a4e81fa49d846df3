"""The backprop step-through: the same generator as backward(), one node at a time."""

import json
import re
import sys

import numpy as np
import pytest

import autograd as ag
from autograd.viz.stepper import Stepper
from helpers import sum_to_shape



# ---------------------------------------------------------------- graphs used below

def course_example():
    """loss = 2 * (max(0, W1 x) * W2) with W1 = 1.5, x = 2, W2 = -4: the worked example."""
    w1 = ag.tensor(1.5, requires_grad=True, name="W1")
    x = ag.tensor(2.0, name="x")
    w2 = ag.tensor(-4.0, requires_grad=True, name="W2")
    hidden = ag.maximum(0.0, w1 * x)
    loss = (hidden * w2) * 2.0
    return loss, {"W1": w1, "W2": w2}


def mlp(seed=0):
    """f = W2 max(0, W1 x + b) with matrices, broadcasting, a reused tensor and a mean."""
    rng = np.random.default_rng(seed)
    x = ag.tensor(rng.normal(size=(5, 3)))
    w1 = ag.tensor(rng.normal(size=(3, 4)), requires_grad=True, name="W1")
    b = ag.tensor(rng.normal(size=(4,)), requires_grad=True, name="b")
    w2 = ag.tensor(rng.normal(size=(4, 2)), requires_grad=True, name="W2")
    hidden = ag.maximum(0.0, x @ w1 + b)
    out = hidden @ w2
    loss = (out * out).mean() + (hidden * b).sum() * 0.1 + out.tanh().sum()
    return loss, {"W1": w1, "b": b, "W2": w2}


def diamond():
    a = ag.tensor([1.0, -2.0, 3.0], requires_grad=True, name="a")
    return (a * a + a).sum(), {"a": a}


def small_cnn(seed=0):
    """conv (with bias) -> relu -> maxpool -> flatten -> linear -> cross-entropy, batch of 2."""
    from autograd import functional as F
    rng = np.random.default_rng(seed)
    x = ag.tensor(rng.normal(size=(2, 1, 6, 6)))
    w = ag.tensor(rng.normal(size=(3, 1, 3, 3)) * 0.5, requires_grad=True, name="conv.weight")
    b = ag.tensor(rng.normal(size=(3,)) * 0.1, requires_grad=True, name="conv.bias")
    fc = ag.tensor(rng.normal(size=(4, 27)) * 0.3, requires_grad=True, name="fc.weight")
    fcb = ag.tensor(np.zeros(4), requires_grad=True, name="fc.bias")
    h = F.max_pool2d(F.relu(F.conv2d(x, w, b, padding=1)), 2)
    logits = F.linear(F.flatten(h), fc, fcb)
    return F.cross_entropy(logits, np.array([1, 3])), {"w": w, "b": b, "fc": fc, "fcb": fcb}


def backward_grads(build, **kwargs):
    out, params = build(**kwargs)
    out.backward()
    return {name: p.grad for name, p in params.items()}


def stepped_grads(build, **kwargs):
    out, params = build(**kwargs)
    stepper = Stepper(out)
    stepper.run()
    assert stepper.done
    return {name: p.grad for name, p in params.items()}


# ---------------------------------------------------------------- the worked example, exactly

def test_course_example_text():
    loss, params = course_example()
    stepper = Stepper(loss)
    # Nodes are called by their tape sequence number, as in diagrams and error messages.
    n1, n2, n3, n4 = (node._seq for node in stepper.nodes)
    # The rules use the learner's names (W1, x, W2); an unnamed tensor gets the rule's slot
    # name, primed (x′) where the learner's x is another tensor; a constant number its value.
    assert [str(s) for s in stepper.forward_steps()] == [
        f"multiply #{n1}: z = W1 * x = 1.5 * 2.0 = 3.0",
        f"max #{n2}: z = max(0.0, y) elementwise = max(0.0, 3.0) elementwise = 3.0",
        f"multiply #{n3}: z = x′ * W2 = 3.0 * -4.0 = -12.0",
        f"multiply #{n4}: z = x′ * 2.0 = -12.0 * 2.0 = -24.0",
    ]
    assert [str(s) for s in stepper] == [
        f"multiply #{n4}: dz = 1.0 arrived; dx′ = 2.0 * dz = 2.0 * 1.0 = 2.0; "
        "no gradient to the constant 2.0",
        f"multiply #{n3}: dz = 2.0 arrived; dx′ = W2 * dz = -4.0 * 2.0 = -8.0; "
        "dW2 = x′ * dz = 3.0 * 2.0 = 6.0",
        f"max #{n2}: dz = -8.0 arrived; no gradient to the constant 0.0; "
        "dy = [0.0 < y] * dz = [0.0 < 3.0] * -8.0 = -8.0",
        f"multiply #{n1}: dz = -8.0 arrived; dW1 = x * dz = 2.0 * -8.0 = -16.0; x is a constant",
    ]
    assert [s.number for s in stepper.steps] == [4, 3, 2, 1]  # positions in this graph's tape
    assert params["W1"].grad == pytest.approx(-16.0) and params["W2"].grad == pytest.approx(6.0)


def test_course_example_explain_names_tensors_and_finality():
    loss, _ = course_example()
    stepper = Stepper(loss)
    n2, n3 = stepper.nodes[1]._seq, stepper.nodes[2]._seq
    stepper.step()
    text = stepper.step().explain()
    assert text.splitlines() == [
        f"multiply #{n3}: z = x′ * W2",
        f"inputs: x′: output of max #{n2}, W2",
        "dz = 2.0 arrived",
        f"dx′ = W2 * dz = -4.0 * 2.0 = -8.0   → output of max #{n2}: final",
        "dW2 = x′ * dz = 3.0 * 2.0 = 6.0   → W2: final",
    ]


def test_large_arrays_are_summarised_not_written_out():
    x = ag.tensor(np.arange(20.0).reshape(4, 5), requires_grad=True, name="X")
    y = ag.tensor(np.full((4, 5), 2.0), name="Y")
    step = Stepper((x * y).sum()).all_steps()[1]
    text = str(step)
    assert text.startswith(f"multiply #{step.seq}: dz = ⟨4×5⟩ (min 1.0, mean 1.0, max 1.0) arrived; ")
    assert "dX = Y * dz = ⟨4×5⟩ * ⟨4×5⟩ = ⟨4×5⟩ (min 2.0, mean 2.0, max 2.0)" in text
    assert "0.0, 1.0, 2.0" not in text  # 20 elements: no values written out


def test_broadcast_gradient_says_it_was_summed():
    a = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    s = ag.tensor(2.0, requires_grad=True)
    step = Stepper((a * s).sum()).all_steps()[1]
    assert str(step).endswith("dy = x * dz = [1.0, 2.0, 3.0] * [1.0, 1.0, 1.0], summed to shape () = 6.0")


def test_layer_appears_in_the_text():
    w = ag.tensor(3.0, requires_grad=True)
    with ag.scope("fc1", "Linear"):
        out = w * 2.0
    step = Stepper(out).step()
    assert step.layer == "fc1" and step.kind == "Linear"
    assert str(step).startswith(f"multiply #{step.seq} (fc1 Linear): dz = 1.0 arrived")


# ---------------------------------------------------------------- the same backprop as backward()

@pytest.mark.parametrize("build", [course_example, mlp, diamond])
def test_steps_in_reverse_tape_order_cover_every_node(build):
    out, _ = build()
    graph = ag.graph_nodes(out)
    steps = Stepper(out).run()
    seqs = [s.seq for s in steps]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs)
    assert [s.node for s in steps] == graph  # every node that leads to the output, once
    assert [s.index for s in steps] == list(range(1, len(steps) + 1))
    numbers = [s.number for s in steps]
    assert numbers == list(range(len(graph), 0, -1))


@pytest.mark.parametrize("build", [course_example, mlp, diamond,
                                   small_cnn])
def test_run_gives_the_gradients_of_backward(build):
    expected = backward_grads(build)
    got = stepped_grads(build)
    for name in expected:
        assert got[name] is not None and got[name].dtype == expected[name].dtype
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


def test_cnn_stepped_gradients_match_torch_and_central_differences():
    torch = pytest.importorskip("torch")
    loss, params = small_cnn()
    Stepper(loss).run()
    TF = torch.nn.functional
    tp = {k: torch.tensor(v.data, requires_grad=True) for k, v in params.items()}
    x = torch.tensor(np.random.default_rng(0).normal(size=(2, 1, 6, 6)))
    h = TF.max_pool2d(torch.relu(TF.conv2d(x, tp["w"], tp["b"], padding=1)), 2)
    torch_loss = TF.cross_entropy(TF.linear(h.flatten(1), tp["fc"], tp["fcb"]), torch.tensor([1, 3]))
    torch_loss.backward()
    assert loss.item() == pytest.approx(torch_loss.item(), rel=1e-12)
    for k in params:
        np.testing.assert_allclose(params[k].grad, tp[k].grad.numpy(), atol=1e-10, err_msg=k)
    # and one element of the conv weight against central differences of the loss (float64)
    eps = 1e-6

    def loss_at(delta):
        _, fresh = small_cnn()
        weight = fresh["w"].data.copy()  # a tensor in a graph may hold a read-only array
        weight[0, 0, 1, 1] += delta
        fresh["w"] = ag.tensor(weight)
        with ag.no_grad():
            return _rebuild_cnn_with(fresh).item()

    numeric = (loss_at(eps) - loss_at(-eps)) / (2 * eps)
    assert params["w"].grad[0, 0, 1, 1] == pytest.approx(numeric, rel=1e-6)


def _rebuild_cnn_with(params):
    from autograd import functional as F
    x = ag.tensor(np.random.default_rng(0).normal(size=(2, 1, 6, 6)))  # small_cnn's first draw
    h = F.max_pool2d(F.relu(F.conv2d(x, params["w"], params["b"], padding=1)), 2)
    logits = F.linear(F.flatten(h), params["fc"], params["fcb"])
    return F.cross_entropy(logits, np.array([1, 3]))


def leaf_parameters(out):
    """The leaves that require grad, in the order the tape first meets them."""
    found, seen = [], set()
    for node in reversed(ag.graph_nodes(out)):
        for t in node._inputs:
            if t.is_leaf and t.requires_grad and id(t) not in seen:
                seen.add(id(t))
                found.append(t)
    return found


def test_default_digits_cnn_steps_like_backward():
    from autograd.commands.step import cnn_example
    loss, _ = cnn_example(seed=0)
    stepper = Stepper(loss)
    steps = stepper.run()
    assert {"conv", "maxpool", "log_softmax"} <= {s.op for s in steps}
    assert any(s.layer for s in steps)  # steps know the layer that made their node
    stepped = leaf_parameters(loss)
    assert len(stepped) >= 4 and all(t.name for t in stepped)  # the model's named parameters
    fresh, _ = cnn_example(seed=0)  # same seed: the same weights and digits
    fresh.backward()
    expected = leaf_parameters(fresh)
    assert [t.name for t in stepped] == [t.name for t in expected]
    for a, b in zip(stepped, expected):
        np.testing.assert_array_equal(a.data, b.data)
        np.testing.assert_array_equal(a.grad, b.grad, err_msg=a.name)


def test_upstream_is_what_arrived_and_matches_retained_grads():
    out, _ = mlp()
    stepper = Stepper(out)
    steps = stepper.run()
    # The same graph's intermediate gradients, from an ordinary backward with retain_grad.
    out2, _ = mlp()
    nodes2 = ag.graph_nodes(out2)
    outputs2 = {id(out2._node): out2}
    for node in nodes2:
        for t in node._inputs:
            if t._node is not None:
                outputs2[id(t._node)] = t
    for t in outputs2.values():
        t.retain_grad()
    out2.backward()
    for step, node2 in zip(steps, nodes2):
        assert step.node.name == node2.name
        expected = outputs2[id(node2)].grad if outputs2[id(node2)] is not out2 else np.ones(())
        np.testing.assert_allclose(step.upstream, expected, rtol=1e-12, atol=0)
        assert step.upstream.shape == step.output.shape


def test_each_step_satisfies_its_local_rule():
    out, _ = mlp()
    checked = set()
    for step in Stepper(out):
        dz = step.upstream
        xs = [t.data for t in step.inputs]
        if step.op == "multiply":
            expected = (xs[1] * dz, xs[0] * dz)
        elif step.op == "add":
            expected = (dz, dz)
        elif step.op == "max":
            expected = ((xs[0] >= xs[1]) * dz, (xs[0] < xs[1]) * dz)
        elif step.op == "matmul":
            expected = (dz @ xs[1].T, xs[0].T @ dz)
        else:
            continue
        checked.add(step.op)
        for tensor, sent, want in zip(step.inputs, step.grads, expected):
            if not tensor.requires_grad:
                assert sent is None
                continue
            np.testing.assert_allclose(sent, sum_to_shape(want, tensor.shape), rtol=1e-12,
                                       err_msg=f"{step.label} input {tensor.shape}")
    assert checked == {"multiply", "add", "max", "matmul"}


def test_gradients_known_so_far_add_up_to_the_leaf_grads():
    out, params = mlp()
    stepper = Stepper(out)
    stepper.run()
    known = stepper.known_grads()
    for p in params.values():
        np.testing.assert_allclose(known[p], p.grad, rtol=1e-12)
    assert known[out] == 1.0


# ---------------------------------------------------------------- back, goto, reset

def test_back_then_step_gives_the_same_step_and_restores_grads():
    out, params = mlp()
    stepper = Stepper(out)
    for _ in range(len(stepper) - 1):  # all but the first node: W1 gets its gradient last
        stepper.step()
    before = {k: None if p.grad is None else p.grad.copy() for k, p in params.items()}
    last = stepper.step()
    assert params["W1"].grad is not None
    previous = stepper.back()
    assert previous is stepper.steps[-1] and previous.index == last.index - 1
    for k, p in params.items():  # the gradients are back to what they were before that step
        if before[k] is None:
            assert p.grad is None, k
        else:
            np.testing.assert_array_equal(p.grad, before[k], err_msg=k)
    again = stepper.step()
    assert again.node is last.node and again.index == last.index and str(again) == str(last)
    assert again.final == last.final and again.waiting == last.waiting
    np.testing.assert_array_equal(again.upstream, last.upstream)
    for a, b in zip(again.grads, last.grads):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a, b)
    assert stepper.step() is None and stepper.done
    expected = backward_grads(mlp)
    for k, p in params.items():
        np.testing.assert_array_equal(p.grad, expected[k], err_msg=k)


def test_back_at_start_goto_and_reset():
    out, params = course_example()
    params["W1"].grad = np.array(10.0, dtype=np.float32)  # gradients accumulate, as in backward
    stepper = Stepper(out)
    assert stepper.back() is None and stepper.position == 0
    assert stepper.goto(3).index == 3
    assert stepper.goto(1).index == 1 and stepper.position == 1
    stepper.run()
    assert params["W1"].grad == pytest.approx(10.0 - 16.0)
    stepper.reset()
    assert stepper.position == 0 and not stepper.done
    assert params["W1"].grad == pytest.approx(10.0) and params["W2"].grad is None
    assert len(stepper.all_steps()) == 4 and stepper.position == 0  # all_steps doesn't move it
    with pytest.raises(ValueError, match="position must be >= 0"):
        stepper.goto(-1)


def test_finality_on_a_diamond():
    out, params = diamond()
    a = params["a"]
    stepper = Stepper(out)
    sum_step = stepper.step()
    assert sum_step.op == "sum" and sum_step.final == (True,)
    add_step = stepper.step()
    assert add_step.op == "add"
    assert add_step.final == (True, False)  # a*a is done; a still waits for the multiply
    multiply = f"multiply #{stepper.nodes[0]._seq}"
    assert add_step.waiting == ((), (multiply,))
    assert not stepper.is_final(a) and a.grad is not None  # a partial gradient is there already
    np.testing.assert_array_equal(a.grad, [1.0, 1.0, 1.0])
    mul_step = stepper.step()
    assert mul_step.op == "multiply" and mul_step.final == (True, True)
    assert stepper.is_final(a)
    np.testing.assert_array_equal(a.grad, 2 * a.data + 1)
    assert f"a: waits for {multiply}" in add_step.explain()
    assert stepper.step() is None


def test_constant_inputs_get_no_gradient_and_no_flag():
    loss, _ = course_example()
    first = Stepper(loss).step()
    assert first.grads[1] is None and first.final[1] is None


def test_non_scalar_output_with_grad_and_errors():
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    y = a * 3.0
    with pytest.raises(RuntimeError, match="scalar output"):
        Stepper(y)
    Stepper(y, grad=np.array([1.0, -1.0], dtype=np.float32)).run()
    np.testing.assert_array_equal(a.grad, [3.0, -3.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        Stepper(ag.tensor(1.0) * 2.0)
    with pytest.raises(TypeError, match="output Tensor"):
        Stepper(np.ones(3))
    z = (a * a).sum()
    z.backward()  # releases the graph
    with pytest.raises(RuntimeError, match="second time"):
        Stepper(z)


def test_stepper_keeps_the_graph_and_a_leaf_output_works():
    a = ag.tensor(2.0, requires_grad=True)
    z = a * a
    stepper = Stepper(z)
    stepper.run()
    z.backward()  # the stepper retained the graph: a second backward still works
    assert a.grad == pytest.approx(8.0)
    leaf = ag.tensor(5.0, requires_grad=True)
    s = Stepper(leaf)
    assert len(s) == 0 and s.step() is None and leaf.grad == pytest.approx(1.0)


def test_long_chain_without_recursion():
    x = ag.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(20000):  # far beyond the recursion limit
        y = y * 1.0
    stepper = Stepper(y)
    assert len(stepper.forward_steps()) == 20000
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(200)
        steps = sum(1 for _ in stepper)
    finally:
        sys.setrecursionlimit(limit)
    assert steps == 20000 and x.grad == pytest.approx(1.0)


# ---------------------------------------------------------------- frames, widget, page

def test_frames_carry_known_grads_and_highlight():
    out, params = diamond()
    stepper = Stepper(out)
    frames = stepper.frames(forward=True)
    assert len(frames) == 3 + 1 + 3  # forward steps, the start, backward steps
    assert frames[0]["grads"] == {} and frames[0]["highlight"] is stepper.nodes[0]
    assert [f["counter"] for f in frames] == [
        "forward 1 of 3", "forward 2 of 3", "forward 3 of 3", "backward: start",
        "backward 1 of 3", "backward 2 of 3", "backward 3 of 3"]  # one numbering
    assert all(f["title"].startswith(f["counter"]) for f in frames)
    # The forward pass shows each value once its node has run: a (a leaf), then a*a, ...
    a_times_a = stepper.nodes[0]
    assert [len(f["values"]) for f in frames[:3]] == [2, 3, 4]
    assert frames[0]["values"][-1] is stepper.forward_steps()[0].output
    assert id(stepper.forward_steps()[1].output) not in {id(t) for t in frames[0]["values"]}
    assert a_times_a is frames[0]["highlight"]
    start = frames[3]
    assert start["highlight"] is out and list(start["grads"]) == [out]  # backprop starts there
    assert start["values"] is None
    after_add = frames[5]
    assert after_add["highlight"].name == "add"
    np.testing.assert_array_equal(after_add["grads"][params["a"]], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(frames[6]["grads"][params["a"]], 2 * params["a"].data + 1)
    assert frames[6]["text"] == stepper.all_steps()[2].explain()


def test_widget_driven_from_python():
    pytest.importorskip("ipywidgets")
    out, _ = course_example()
    stepper = Stepper(out)
    view = stepper.widget()
    steps = stepper.all_steps()
    assert view.slider.max == len(steps) and view.frame == 0
    assert view.play.max == view.slider.max  # Play drives the slider in the browser (jslink)
    assert view.prev_button.disabled and "backprop starts" in view.text.value

    def svg():
        assert len(view.diagram.outputs) == 1
        return view.diagram.outputs[0]["data"]["image/svg+xml"]

    start_svg = svg()
    view.next_button.click()
    assert view.frame == 1
    assert f"multiply #{steps[0].seq}" in view.title.value
    assert _html_text(view.text.value) == steps[0].explain()
    first_svg = svg()
    assert first_svg != start_svg and "<svg" in first_svg
    view.slider.value = 2
    assert _html_text(view.text.value) == steps[1].explain()
    assert f"multiply #{steps[1].seq}: dz = 2.0 arrived" not in view.text.value  # explain(), not str()
    assert "dx′ = W2 * dz = -4.0 * 2.0 = -8.0" in _html_text(view.text.value)
    view.prev_button.click()
    assert view.frame == 1 and svg() == first_svg
    view.slider.value = view.slider.max
    assert view.next_button.disabled
    view.next_button.click()
    assert view.frame == view.slider.max
    assert stepper.position == 0  # the view does not move the stepper


def _html_text(value):
    import html
    return html.unescape(re.sub(r"<[^>]+>", "", value))


def svg_nodes(svg):
    """{DOT id: (stroke colours, texts)} of the node groups in a Graphviz SVG."""
    import xml.etree.ElementTree as ET
    ns = "{http://www.w3.org/2000/svg}"
    found = {}
    for group in ET.fromstring(svg).iter(ns + "g"):
        if group.get("class") != "node":
            continue
        title = group.find(ns + "title").text
        strokes = {e.get("stroke") for e in group.iter() if e.get("stroke")}
        texts = " ".join(t.text or "" for t in group.iter(ns + "text"))
        found[title] = (strokes, texts)
    return found


def test_widget_highlights_the_current_node_and_shows_known_grads():
    pytest.importorskip("ipywidgets")
    from autograd.viz.draw import HIGHLIGHT_COLOR
    from autograd.viz.graph import tensor_ids
    for rankdir in ("TB", "LR"):  # top to bottom (the default) an op and its result are one node
        out, params = course_example()
        stepper = Stepper(out)
        view = stepper.widget(rankdir=rankdir)
        ids = tensor_ids(out)

        def drawn(tensor):
            if rankdir == "TB" and tensor._node is not None:
                return f"n{tensor._node._seq}"
            return ids[id(tensor)]

        steps = stepper.all_steps()
        hidden = steps[1].inputs[0]  # max's output, which gets -8.0 at step 2
        for frame in range(len(steps) + 1):
            view.slider.value = frame
            nodes = svg_nodes(view.diagram.outputs[0]["data"]["image/svg+xml"])
            highlighted = {key for key, (strokes, _) in nodes.items()
                           if HIGHLIGHT_COLOR in strokes}
            # at the start the output, where backprop starts; then the node that ran
            assert highlighted == ({drawn(out)} if frame == 0
                                   else {f"n{steps[frame - 1].seq}"}), (rankdir, frame)
            hidden_text = nodes[drawn(hidden)][1]
            w1_text = nodes[ids[id(params["W1"])]][1]
            assert ("grad -8" in hidden_text) == (frame >= 2), (frame, hidden_text)
            assert ("grad -16" in w1_text) == (frame == 4), (frame, w1_text)
        # The view shows recorded frames: the stepper stays where it was, gradients untouched.
        assert stepper.position == 0 and params["W1"].grad is None


def test_widget_without_ipywidgets_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    out, _ = course_example()
    with pytest.raises(ImportError, match=r"tapegrad\[notebooks\]"):
        Stepper(out).widget()


def test_widget_text_only(monkeypatch):
    pytest.importorskip("ipywidgets")
    out, _ = course_example()
    stepper = Stepper(out)
    view = stepper.widget(diagrams=False)
    view.next_button.click()
    assert view.diagram.outputs == () and f"multiply #{stepper.nodes[-1]._seq}" in view.text.value


def _frames_of(page):
    found = re.search(r'<script id="frames" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


def test_html_page_is_self_contained_and_never_overwrites(tmp_path):
    out, _ = course_example()
    stepper = Stepper(out)
    path = tmp_path / "step.html"
    assert stepper.to_html(path, diagrams=True) == str(path)
    page = path.read_text(encoding="utf-8")
    frames = _frames_of(page)
    assert len(frames) == 5
    assert [f["text"] for f in frames[1:]] == [s.explain() for s in stepper.all_steps()]
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page)
    assert "http://" not in page.replace("http://www.w3.org/", "") and "https://" not in page
    assert page.count("</script>") == 3  # frames, pictures, code: no JSON ends its element early
    assert all(f["svg"].startswith("<svg") for f in frames)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        stepper.to_html(path)
    assert path.read_text(encoding="utf-8") == page
    stepper.to_html(path, overwrite=True, forward=True, diagrams=False)
    assert len(_frames_of(path.read_text(encoding="utf-8"))) == 4 + 5


def test_html_escapes_names(tmp_path):
    w = ag.tensor(2.0, requires_grad=True, name="</script><b>w")
    path = tmp_path / "p.html"
    Stepper(w * 3.0).to_html(path, diagrams=False, title="<i>t</i>")
    page = path.read_text(encoding="utf-8")
    assert "</script><b>" not in page and "<i>t</i>" not in page
    assert any("</script><b>w" in f["text"] for f in _frames_of(page))


# ---------------------------------------------------------------- the command

def test_step_command_writes_a_page_and_never_overwrites(tmp_path, monkeypatch, capsys):
    from autograd.__main__ import main
    monkeypatch.chdir(tmp_path)
    assert main(["step"]) == 0
    page = (tmp_path / "step.html").read_text(encoding="utf-8")
    assert "wrote step.html" in capsys.readouterr().out
    frames = _frames_of(page)
    assert frames[1]["title"].startswith("backward 1 of") and "<svg" in frames[1]["svg"]
    assert main(["step"]) == 0
    assert "writing step-1.html instead" in capsys.readouterr().out
    assert (tmp_path / "step.html").read_text(encoding="utf-8") == page
    assert (tmp_path / "step-1.html").exists()
    (tmp_path / "step.html").write_text("old")
    assert main(["step", "--force", "--forward"]) == 0
    assert len(_frames_of((tmp_path / "step.html").read_text(encoding="utf-8"))) > len(frames)


@pytest.mark.slow
def test_step_command_cnn(tmp_path, capsys):
    from autograd.__main__ import main
    out = tmp_path / "cnn.html"
    assert main(["step", "--cnn", "--out", str(out)]) == 0
    frames = _frames_of(out.read_text(encoding="utf-8"))
    texts = "\n".join(f["text"] for f in frames)
    assert "conv #" in texts and "maxpool #" in texts and "log_softmax #" in texts
    assert all("<svg" in f["svg"] for f in frames)


def test_without_graphviz_the_error_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    from autograd.__main__ import main
    out, _ = course_example()
    stepper = Stepper(out)
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on it
    with pytest.raises(RuntimeError, match=r"apt-get install -y --no-install-recommends graphviz"):
        stepper.to_html(tmp_path / "a.html")
    assert not (tmp_path / "a.html").exists()  # nothing half-written
    stepper.to_html(tmp_path / "b.html", diagrams=False)  # the text alone needs no Graphviz
    monkeypatch.chdir(tmp_path)
    assert main(["step"]) == 1
    assert "--text-only" in capsys.readouterr().err
    assert main(["step", "--text-only"]) == 0


def test_bad_grad_error_names_the_stepper():
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"Stepper: backward\(grad=...\): the gradient has shape \(3,\)"):
        Stepper(a * 2.0, grad=np.ones(3))


def test_interval_must_be_positive(tmp_path):
    out, _ = course_example()
    with pytest.raises(ValueError, match="Stepper.to_html: interval"):
        Stepper(out).to_html(tmp_path / "x.html", interval=0, diagrams=False)
    assert not (tmp_path / "x.html").exists()


# ---------------------------------------------------------------- text a learner can follow

def test_rules_use_the_learners_names():
    """f = W2 max(0, W1 x): W1, x, W2 are called by their names, not by the slots x, y."""
    from autograd.commands.demo import course_graph
    x, w1, w2, hidden, f = course_graph()
    stepper = Stepper(f)
    matmul = stepper.forward_steps()[0]
    assert str(matmul).startswith(f"matmul #{matmul.seq}: z = W1 @ x = [[")
    assert matmul.explain().splitlines()[1] == "inputs: W1, x (constant)"
    first = next(s for s in stepper.run() if s.node is matmul.node)
    equation = first.explain().splitlines()[3]
    assert equation.startswith("dW1 = dz @ xᵀ = ") and equation.endswith("→ W1: final")
    second = stepper.steps[1]  # W2 @ max(0, W1 x): W2 by name, the unnamed input by its slot
    assert str(second).startswith(f"matmul #{second.seq}: dz = [1.0] arrived; dW2 = dz @ yᵀ")
    assert "inputs: W2, y: output of max #" in second.explain()


def test_slot_names_that_clash_with_the_learners_are_primed():
    x = ag.tensor(3.0, requires_grad=True, name="x")
    y = ag.tensor(-4.0, requires_grad=True, name="y")
    stepper = Stepper((x * y) * 2.0)
    outer = stepper.step()  # its input is the unnamed x * y, not the learner's x
    assert str(outer) == (f"multiply #{outer.seq}: dz = 1.0 arrived; dx′ = 2.0 * dz = 2.0 * 1.0 "
                          "= 2.0; no gradient to the constant 2.0")
    assert f"inputs: x′: output of multiply #{stepper.nodes[0]._seq}, a constant 2.0" \
        in outer.explain()


def test_zero_is_never_written_with_a_sign():
    from autograd.viz.numbers import number
    from autograd.viz.step_text import show
    assert number(-0.0) == "0.0" and number(np.float32(-0.0)) == "0.0" and number(-1e-7) == "-1e-07"
    assert show(np.array([-0.73, -0.0, 0.0])) == "[-0.73, 0.0, 0.0]"
    # A ReLU's backward masks a negative gradient: what arrives below it may be -0.0.
    a = ag.tensor([-1.0, 2.0, -3.0, 0.5], requires_grad=True, name="a")
    out = (ag.maximum(0.0, a) * -3.0).sum()
    text = "\n".join(step.explain() for step in Stepper(out).run())
    text += "\n".join(f["text"] for f in Stepper(out).frames(forward=True))
    assert not re.search(r"-0\.0(?!\d)", text), text


def test_a_rule_in_words_keeps_its_parameter_apart_from_the_values():
    """Notebook 6's leaky ReLU: the slope a is a parameter, the list after it the output."""
    from nodes import Node

    class LeakyReLUNode(Node):
        """z = x if x > 0 else a * x, for a fixed slope a"""
        name, symbol = "leaky_relu", "lrelu"
        rules = ("dx = ([x > 0] + a * [x <= 0]) * dz",)

        def __init__(self, slope):
            self.slope = slope

        def forwardPass(self, x):
            self.positive = x > 0
            return np.where(self.positive, x, self.slope * x)

        def backwardPass(self, dz):
            return (np.where(self.positive, dz, self.slope * dz),)

    h = ag.tensor([0.0, -2.5], requires_grad=True, name="h")
    out = (ag.apply(LeakyReLUNode(0.1), h) * ag.tensor([2.0, -1.0], name="W")).sum()
    stepper = Stepper(out)
    forward = str(stepper.forward_steps()[0])
    assert forward.endswith("z = h if h > 0 else a * h, for a fixed slope a (a = 0.1), "
                            "so z = [0.0, -0.25]"), forward
    assert "slope a = [" not in forward
    backward = stepper.run()[-1].explain()
    assert "dh = ([h > 0] + a * [h <= 0]) * dz = ([[0.0, -2.5] > 0] + 0.1 * " in backward
    assert backward.splitlines()[0].endswith("for a fixed slope a (a = 0.1)")


def test_forward_frames_show_each_value_when_its_node_runs():
    pytest.importorskip("graphviz")
    from autograd.viz.step_diagram import frame_svg
    x = ag.tensor(3.0, requires_grad=True, name="x")
    out = ((x * 7.0) + 5.0) * 11.0  # 21.0, then 26.0, then 286.0
    stepper = Stepper(out)
    frames = stepper.frames(forward=True)
    texts = []
    for frame in frames[:3]:
        svg, focus = frame_svg(out, frame)
        assert focus == f"n{frame['highlight']._seq}"
        texts.append(" ".join(t for _, t in svg_nodes(svg).values()))
    assert "21.0" in texts[0] and "26.0" not in texts[0] and "286.0" not in texts[0]
    assert "26.0" in texts[1] and "286.0" not in texts[1]
    assert "286.0" in texts[2]
    assert all("3.0" in text for text in texts)  # the input is known from the start


def test_widget_text_breaks_between_words():
    pytest.importorskip("ipywidgets")
    out, _ = course_example()
    view = Stepper(out).widget(diagrams=False)
    assert "word-break: normal" in view.text.value and "overflow-wrap: break-word" in view.text.value


def test_demo_shows_gradients_flowing_and_says_what_a_dead_unit_is(capsys):
    from autograd.__main__ import main
    from autograd.commands.demo import SEED, course_graph
    x, w1, w2, hidden, f = course_graph(SEED)
    assert (hidden.data > 0).sum() >= 3  # the default seed: most hidden units carry a gradient
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "df/dW1" in out and not re.search(r"-0\.?(?![.\d])", out)  # no -0. printed
    dead = [i + 1 for i in np.flatnonzero(hidden.data <= 0)]
    if dead:
        assert f"hidden unit {dead[0]}" in out and "That is what a ReLU does" in out
    assert main(["demo", "--seed", "0"]) == 0  # seed 0: three dead units, said so
    assert "hidden units 2, 3, 4" in " ".join(capsys.readouterr().out.split())
