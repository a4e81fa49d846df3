"""Graph views: the networkx export, DOT diagrams, rendering, clusters, big graphs, the CLI."""

import os
import re
import shutil
import xml.etree.ElementTree as ET
from collections import OrderedDict

import graphviz
import networkx as nx
import numpy as np
import pytest

import autograd as ag
from autograd.viz import (INSTALL_COMMAND, Diagram, GraphvizNotFound, draw, node_id, render,
                          tensor_ids, to_networkx)
from autograd.viz.draw import GRAD_COLOR, HIGHLIGHT_COLOR, OP_FILL, ROLE_FILL

HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT and not os.environ.get("CI"),
                               reason="Graphviz's dot is not installed (required in CI)")


def expression():
    """z = x * y + x with x = 2, y = 3 (float64): dz/dx = y + 1 = 4, dz/dy = x = 2."""
    x = ag.tensor(np.array([2.0]), requires_grad=True, name="x")
    y = ag.tensor(np.array([3.0]), requires_grad=True, name="y")
    product = x * y
    z = product + x
    return x, y, product, z


def course_example():
    """The course's f = W2 max(0, W1 x) (as in `python -m autograd demo`)."""
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.normal(size=(3,)).round(2), name="x")
    w1 = ag.tensor(rng.normal(size=(4, 3)).round(2), requires_grad=True, name="W1")
    w2 = ag.tensor(rng.normal(size=(1, 4)).round(2), requires_grad=True, name="W2")
    f = (w2 @ ag.maximum(0.0, w1 @ x)).sum()
    return x, w1, w2, f


def svg_text(path):
    """All the text an SVG file shows (it must parse as XML)."""
    return " ".join(element.text for element in ET.parse(path).getroot().iter() if element.text)


def statement(source, key):
    """The DOT statement that declares node ``key``."""
    found = re.findall(rf"^\s*{re.escape(key)} \[(.*)\]$", source, re.MULTILINE)
    assert len(found) == 1, f"{key} declared {len(found)} times in\n{source}"
    return found[0]


def shows_grad(text):
    return re.search(r"\bgrad\b", text) is not None


def declared(source):
    return re.findall(r"^\s*([tnm]\d+) \[", source, re.MULTILINE)


def clusters_of(source):
    """node id -> labels of the clusters around it, outermost first."""
    stack, where = [], {}
    pending = False
    for line in source.splitlines():
        text = line.strip()
        if text.startswith("subgraph cluster_"):
            stack.append(None)
            pending = True
        elif pending and text.startswith("graph ["):
            stack[-1] = re.search(r'label="?([^"\]]*?)"? labeljust', text).group(1)
            pending = False
        elif text == "}" and stack:
            stack.pop()
        else:
            match = re.match(r"([tnm]\d+) \[", text)
            if match:
                where[match.group(1)] = list(stack)
    return where


# ---------------------------------------------------------------- networkx

def test_networkx_of_a_known_expression():
    x, y, product, z = expression()
    multiply, add = product.node, z.node
    graph = to_networkx(z)
    assert isinstance(graph, nx.DiGraph)
    m, a = node_id(multiply), node_id(add)
    assert list(graph) == ["t0", "t1", m, "t2", a, "t3"]
    assert graph.graph["output"] == "t3"
    assert set(graph.edges) == {("t0", m), ("t1", m), (m, "t2"), ("t2", a), ("t0", a), (a, "t3")}
    assert graph.edges["t0", m] == {"kind": "input", "positions": (0,)}
    assert graph.edges["t1", m]["positions"] == (1,)
    assert graph.edges["t0", a]["positions"] == (1,)
    assert graph.edges[m, "t2"] == {"kind": "output"}

    nodes = graph.nodes
    assert nodes["t0"]["kind"] == "tensor" and nodes["t0"]["name"] == "x"
    assert nodes["t1"]["name"] == "y" and nodes["t1"]["role"] == "parameter"
    assert nodes["t2"]["role"] == "intermediate" and nodes["t2"]["name"] is None
    assert nodes["t3"]["role"] == "output"
    assert nodes["t2"]["seq"] == multiply._seq and nodes["t0"]["seq"] is None
    assert nodes["t3"]["shape"] == (1,) and nodes["t3"]["dtype"] == "float64"
    np.testing.assert_array_equal(nodes["t2"]["value"], [6.0])
    np.testing.assert_array_equal(nodes["t3"]["value"], [8.0])
    assert nodes["t3"]["summary"] is None
    assert all(nodes[k]["grad"] is None and nodes[k]["grad_summary"] is None
               for k in ("t0", "t1", "t2", "t3"))

    assert nodes[m] == {"kind": "op", "op": "multiply", "symbol": "*", "seq": multiply._seq,
                        "module": None, "module_kind": None, "shape": (1,), "dtype": "float64",
                        "rules": ("dx = y * dz", "dy = x * dz"), "node": multiply}
    assert nodes[a]["op"] == "add" and nodes[a]["symbol"] == "+"

    z.backward()
    after = to_networkx(z).nodes
    np.testing.assert_array_equal(after["t0"]["grad"], [4.0])
    np.testing.assert_array_equal(after["t1"]["grad"], [2.0])
    assert after["t2"]["grad"] is None  # intermediate gradients are not kept without retain_grad


def test_networkx_gradients_agree_with_torch():
    torch = pytest.importorskip("torch")
    x, y, _, z = expression()
    z.backward()
    tx = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    ty = torch.tensor([3.0], dtype=torch.float64, requires_grad=True)
    (tx * ty + tx).sum().backward()
    nodes = to_networkx(z).nodes
    np.testing.assert_allclose(nodes["t0"]["grad"], tx.grad.numpy())
    np.testing.assert_allclose(nodes["t1"]["grad"], ty.grad.numpy())


def test_repeated_input_is_one_edge_with_both_positions():
    a = ag.tensor(np.array([1.5]), requires_grad=True, name="a")
    square = a * a
    graph = to_networkx(square)
    assert list(graph.predecessors(node_id(square.node))) == ["t0"]
    assert graph.edges["t0", node_id(square.node)]["positions"] == (0, 1)


def test_summary_for_large_arrays_and_values_for_small():
    big = ag.tensor(np.arange(20.0).reshape(4, 5), requires_grad=True, name="big")
    out = (big * 2.0).sum()
    out.backward()
    nodes = to_networkx(out).nodes
    assert nodes["t0"]["value"] is None
    assert nodes["t0"]["summary"] == {"min": 0.0, "mean": 9.5, "max": 19.0}
    assert nodes["t0"]["grad"] is None
    assert nodes["t0"]["grad_summary"] == {"min": 2.0, "mean": 2.0, "max": 2.0}
    np.testing.assert_array_equal(nodes["t1"]["value"], 2.0)  # the constant


def test_topological_order_agrees_with_the_tape():
    rng = np.random.default_rng(1)
    a = ag.tensor(rng.normal(size=(3,)), requires_grad=True)
    b = ag.tensor(rng.normal(size=(3,)), requires_grad=True)
    c = a * b
    d = (c + a).tanh() * (c - b).exp()  # a diamond: c feeds two branches
    out = (d * c).sum()
    graph = to_networkx(out)
    assert nx.is_directed_acyclic_graph(graph)
    position = {key: k for k, key in enumerate(graph)}
    assert all(position[u] < position[v] for u, v in graph.edges)
    op_seqs = [data["seq"] for _, data in graph.nodes(data=True) if data["kind"] == "op"]
    assert op_seqs == [node._seq for node in reversed(ag.graph_nodes(out))]
    # every tensor made by an op comes after it, every op after its inputs
    for key, data in graph.nodes(data=True):
        if data["kind"] == "tensor" and data["seq"] is not None:
            assert list(graph.predecessors(key)) == [f"n{data['seq']}"]


def test_ids_are_stable_and_shared_by_both_views():
    x, w1, w2, f = course_example()
    ids = tensor_ids(f)
    assert ids == tensor_ids(f)
    assert ids[id(w1)] == "t0" and ids[id(x)] == "t1"  # inputs of the first op, argument order
    assert ids[id(f)] == f"t{len(ids) - 1}"
    graph = to_networkx(f)
    tensor_keys = [k for k, d in graph.nodes(data=True) if d["kind"] == "tensor"]
    assert sorted(tensor_keys) == sorted(ids.values())
    assert draw(f).source == draw(f).source
    assert set(declared(draw(f).source)) == set(graph)


def test_leaf_output_and_bad_output():
    leaf = ag.tensor(np.array([1.0, 2.0]), requires_grad=True, name="w")
    assert list(to_networkx(leaf)) == ["t0"]
    assert declared(draw(leaf).source) == ["t0"]
    with pytest.raises(TypeError, match="to_networkx: expected the output Tensor"):
        to_networkx(np.ones(3))
    with pytest.raises(TypeError, match="draw: expected the output Tensor"):
        draw([1.0])


# ---------------------------------------------------------------- DOT source

def test_dot_labels_and_colours_before_and_after_backward():
    x, y, product, z = expression()
    before = draw(z).source
    assert isinstance(draw(z), graphviz.Digraph)
    m = statement(before, node_id(product.node))
    assert "multiply" in m and "<B>*</B>" in m and f'fillcolor="{OP_FILL}"' in m
    assert "add" in statement(before, node_id(z.node))
    x_label = statement(before, "t0")
    assert "<B>x</B>" in x_label and f'fillcolor="{ROLE_FILL["parameter"]}"' in x_label
    assert "[2.0]" in x_label  # its value, written as the step-through writes numbers
    assert "[6.0]" in statement(before, "t2")
    assert not shows_grad(before) and GRAD_COLOR not in before  # nothing known yet, no zeros

    z.backward()
    after = draw(z).source
    assert GRAD_COLOR in after
    assert f'<FONT COLOR="{GRAD_COLOR}">grad [4.0]</FONT>' in statement(after, "t0")
    assert "grad [2.0]" in statement(after, "t1")
    assert not shows_grad(statement(after, "t2"))  # not retained
    assert not shows_grad(draw(z, show_grads=False).source)
    assert "[6.0]" not in draw(z, show_values=False).source


def test_given_gradients_replace_dot_grad():
    x, y, product, z = expression()
    z.backward()
    source = draw(z, grads={x: np.array([7.0]), product: np.array([1.0])}).source
    assert "grad [7.0]" in statement(source, "t0")
    assert not shows_grad(statement(source, "t1"))  # y's .grad is not shown: grads replaces it
    assert "grad [1.0]" in statement(source, "t2")  # intermediate gradients can be shown
    assert not shows_grad(draw(z, grads={}).source)
    with pytest.raises(TypeError, match="grads must be a mapping"):
        draw(z, grads=[np.array([1.0])])


def test_zero_is_drawn_without_a_sign():
    """A ReLU's backward can hand on -0.0; the diagram, like the step-through, writes 0.0."""
    x = ag.tensor(np.array([-0.0, 2.0]), requires_grad=True, name="x")
    big = ag.tensor(-np.arange(20.0).reshape(4, 5) * 0.0, requires_grad=True, name="big")
    out = (x * 3.0).sum() + big.sum()
    for rankdir in ("LR", "TB"):
        source = draw(out, grads={x: np.array([-0.0, 1.0]), big: np.full((4, 5), -0.0)},
                      rankdir=rankdir).source
        assert "grad [0.0, 1.0]" in source and "[0.0, 2.0]" in source
        assert "min 0.0  mean 0.0  max 0.0" in source  # the summary of a big array too
        assert not re.search(r"-0(\.0)?(?![.\d])", source), source


def test_highlight():
    x, y, product, z = expression()
    source = draw(z, highlight=product.node).source
    assert HIGHLIGHT_COLOR in statement(source, node_id(product.node))
    assert "penwidth=3" in statement(source, node_id(product.node))
    assert HIGHLIGHT_COLOR not in statement(source, node_id(z.node))
    both = draw(z, highlight=[product.node, x]).source
    assert HIGHLIGHT_COLOR in statement(both, node_id(product.node))
    assert HIGHLIGHT_COLOR in statement(both, "t0")
    other = ag.tensor(np.array([1.0]), requires_grad=True) * 2.0
    with pytest.raises(ValueError, match="not in the graph"):
        draw(z, highlight=other.node)
    with pytest.raises(TypeError, match="highlight takes Nodes or Tensors"):
        draw(z, highlight=["multiply"])


def test_scopes_made_by_hand_become_nested_clusters():
    x = ag.tensor(np.array([1.0, -2.0]), name="x")
    w = ag.tensor(np.array([0.5, 0.25]), requires_grad=True, name="block.layer.w")
    with ag.scope("block", "Block"):
        with ag.scope("layer", "Scale"):
            scaled = x * w
        h = scaled.relu()
    out = h.sum()
    source = draw(out).source
    where = clusters_of(source)
    assert where[node_id(scaled.node)] == ["block: Block", "block.layer: Scale"]
    assert where["t1"] == ["block: Block", "block.layer: Scale"]  # w: used only in the layer
    assert where[node_id(h.node)] == ["block: Block"]
    assert where[node_id(out.node)] == []
    flat = draw(out, group_by_layer=False).source
    assert "subgraph" not in flat


# ---------------------------------------------------------------- layers (autograd.nn)

def small_cnn():
    from autograd import nn
    rng = np.random.default_rng(0)
    model = nn.Sequential(OrderedDict(
        features=nn.Sequential(nn.Conv2d(1, 2, 3, rng=rng), nn.ReLU(), nn.MaxPool2d(2)),
        flatten=nn.Flatten(),
        fc=nn.Linear(2 * 3 * 3, 3, rng=rng)))
    images = ag.tensor(rng.uniform(size=(2, 1, 8, 8)).astype(np.float32), name="images")
    logits = model(images)
    from autograd import functional as F
    loss = F.cross_entropy(logits, np.array([0, 2]))
    return model, images, loss


def test_clusters_for_a_small_cnn():
    model, images, loss = small_cnn()
    graph = to_networkx(loss)
    by_op = {}
    for key, data in graph.nodes(data=True):
        if data["kind"] == "op":
            by_op.setdefault((data["op"], data["module"]), []).append(key)
    conv = by_op[("conv", "features.0")][0]
    assert graph.nodes[conv]["module_kind"] == "Conv2d"
    assert not [k for (op, module), keys in by_op.items() for k in keys
                if op == "add" and module == "features.0"]  # the bias is the conv's third input
    bias = next(k for k, d in graph.nodes(data=True) if d.get("name") == "features.0.bias")
    assert graph.has_edge(bias, conv)
    names = {d["name"] for _, d in graph.nodes(data=True) if d["kind"] == "tensor"}
    assert {"features.0.weight", "features.0.bias", "fc.weight", "fc.bias", "images"} <= names

    source = draw(loss).source
    where = clusters_of(source)
    conv_box = ["Sequential", "features: Sequential", "features.0: Conv2d"]
    assert where[conv] == conv_box and where[bias] == conv_box
    weight = next(k for k, d in graph.nodes(data=True) if d.get("name") == "features.0.weight")
    assert where[weight] == conv_box
    pool = by_op[("maxpool", "features.2")][0]
    assert where[pool] == ["Sequential", "features: Sequential", "features.2: MaxPool2d"]
    log_softmax = by_op[("log_softmax", None)][0]
    assert where[log_softmax] == []  # the loss is outside the model


def test_layer_view_draws_each_layer_as_one_box():
    model, images, loss = small_cnn()
    loss.backward()
    source = draw(loss, expand=False).source
    keys = declared(source)
    boxes = [k for k in keys if k.startswith("m")]
    assert len(boxes) == 5  # Conv2d, ReLU, MaxPool2d, Flatten, Linear
    labels = {k: statement(source, k) for k in boxes}
    conv_box = next(label for label in labels.values()
                    if "<B>features.0</B>&#160;Conv2d" in label)  # a no-break space: see below
    assert "out (2, 2, 6, 6)" in conv_box and "weight (2, 1, 3, 3)" in conv_box
    assert GRAD_COLOR in conv_box  # the parameters' gradients, summarised
    assert "conv #" not in source and "features.0.weight" not in source
    where = clusters_of(source)
    conv_key = next(k for k, label in labels.items() if label is conv_box)
    assert where[conv_key] == ["Sequential", "features: Sequential"]
    assert "<B>images</B>" in source  # the data stays visible
    assert len(keys) < len(declared(draw(loss).source))


def test_default_cnn_draws_in_both_views():
    from autograd import models
    from autograd import data
    from autograd import functional as F
    model = models.digits_cnn(rng=0)
    images, labels = data.load_digits()
    loss = F.cross_entropy(model(ag.tensor(images[:2])), labels[:2])
    loss.backward()
    expanded = draw(loss).source
    assert "conv.weight" in expanded and "fc.bias" in expanded and "maxpool" in expanded
    layers = draw(loss, expand=False).source
    # A plain space after </B> would start the next text element of the SVG, and a browser
    # drops it ("convConv2d"): the labels use a no-break space there.
    for title in ("<B>conv</B>&#160;Conv2d", "<B>pool</B>&#160;MaxPool2d",
                  "<B>fc</B>&#160;Linear"):
        assert title in layers
    assert not re.search(r"</(B|FONT)> ", layers + expanded)


# ---------------------------------------------------------------- big graphs

def chain(length):
    x = ag.tensor(np.float64(0.5), requires_grad=True, name="x")
    y = x
    for _ in range(length):
        y = -y
    return x, y


def test_a_chain_deeper_than_the_recursion_limit():
    x, y = chain(20_000)
    graph = to_networkx(y)
    assert graph.number_of_nodes() == 2 * 20_000 + 1
    assert graph.graph["output"] == "t20000"
    with pytest.warns(UserWarning, match="nearest the output"):
        diagram = draw(y)
    assert len(declared(diagram.source)) == 1500  # each op drawn with the tensor it made
    assert "nearest the output" in diagram.source  # the note is in the picture too
    assert "<B>output</B>" in statement(diagram.source, node_id(y.node))  # the output is kept


@pytest.mark.slow
def test_a_million_node_chain_exports_to_networkx():
    x, y = chain(1_000_000)
    graph = to_networkx(y)
    assert graph.number_of_nodes() == 2_000_001 and graph.number_of_edges() == 2_000_000
    assert graph.nodes["t0"]["name"] == "x"
    assert graph.nodes["t1000000"]["role"] == "output"
    assert float(graph.nodes["t1000000"]["value"]) == 0.5  # an even number of negations
    first = graph.nodes[next(iter(graph.successors("t0")))]
    assert first["op"] == "negate" and first["seq"] == min(n._seq for n in ag.graph_nodes(y))


def test_too_many_nodes_fall_back_to_the_layer_view():
    model, images, loss = small_cnn()
    total = len(ag.graph_nodes(loss)) + len(tensor_ids(loss))
    with pytest.warns(UserWarning, match="showing the layer view"):
        diagram = draw(loss, max_nodes=total - 1)
    assert any(k.startswith("m") for k in declared(diagram.source))
    assert "layer view" in diagram.source
    with pytest.raises(ValueError, match="max_nodes must be a positive integer"):
        draw(loss, max_nodes=0)


# ---------------------------------------------------------------- the graph is only read

def snapshot(nodes, tensors):
    """What a view could change: each node's attributes (arrays by identity and value),
    its inputs and released flag, each tensor's data and grad."""
    state = []
    for node in nodes:
        attributes = {k: (v, v.copy() if isinstance(v, np.ndarray) else None)
                      for k, v in vars(node).items()}
        state.append((node, attributes, node._inputs, node._released))
    return state, [(t, t.data.copy(), t._grad) for t in tensors]  # _grad: every tensor, leaf or not


def assert_unchanged(snap):
    nodes, tensors = snap
    for node, attributes, inputs, released in nodes:
        assert vars(node).keys() == attributes.keys()
        for key, (value, copy) in attributes.items():
            assert vars(node)[key] is value
            if copy is not None:
                np.testing.assert_array_equal(value, copy)
        assert node._inputs is inputs and node._released == released
    for tensor, data, grad in tensors:
        np.testing.assert_array_equal(tensor.data, data)
        assert tensor._grad is grad


def test_drawing_does_not_change_the_graph():
    def gradients(view):
        x, w1, w2, f = course_example()
        nodes = ag.graph_nodes(f)
        tensors = [t for node in nodes for t in node._inputs] + [f]
        before = snapshot(nodes, tensors)
        if view:
            draw(f)
            draw(f, expand=False, highlight=nodes[0], grads={w1: np.ones((4, 3))})
            to_networkx(f)
            tensor_ids(f)
            assert_unchanged(before)
        f.backward()
        if view:  # after a backward that released the graph, the views still work
            after = snapshot(nodes, tensors)
            assert shows_grad(draw(f).source)
            assert to_networkx(f).number_of_nodes() == len(tensor_ids(f)) + len(nodes)
            assert_unchanged(after)
        return w1.grad, w2.grad

    plain, viewed = gradients(False), gradients(True)
    for a, b in zip(plain, viewed):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- rendering

@needs_dot
def test_rendered_svg_parses_and_names_ops_and_parameters(tmp_path):
    x, w1, w2, f = course_example()
    f.backward()
    path = render(draw(f), tmp_path / "course.svg")
    assert os.fspath(path) == os.fspath(tmp_path / "course.svg")
    assert os.listdir(tmp_path) == ["course.svg"]  # exactly the file asked for, nothing else
    assert ET.parse(path).getroot().tag.endswith("svg")
    text = svg_text(path)
    for word in ("matmul", "max", "sum", "W1", "W2", "grad"):
        assert word in text


@needs_dot
def test_render_formats_and_the_digraph_render_method(tmp_path):
    x, y, product, z = expression()
    diagram = draw(z)
    assert isinstance(diagram, Diagram)
    png = diagram.render(tmp_path / "z.png")
    with open(png, "rb") as file:
        assert file.read(8) == b"\x89PNG\r\n\x1a\n"
    render(diagram, tmp_path / "z.pdf")
    render(diagram, tmp_path / "picture", format="svg")
    assert sorted(os.listdir(tmp_path)) == ["picture", "z.pdf", "z.png"]
    with open(tmp_path / "z.pdf", "rb") as file:
        assert file.read(4) == b"%PDF"
    assert ET.parse(tmp_path / "picture").getroot().tag.endswith("svg")
    with pytest.raises(ValueError, match="cannot tell the image format"):
        render(diagram, tmp_path / "z.unknown")
    assert "image/svg+xml" in diagram._repr_mimebundle_()


def test_missing_dot_is_a_clear_error(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    x, y, product, z = expression()
    diagram = draw(z)
    assert "multiply" in diagram.source  # the DOT text needs no Graphviz
    with pytest.raises(GraphvizNotFound) as error:
        render(diagram, tmp_path / "z.svg")
    message = str(error.value)
    assert "Graphviz is missing" in message and INSTALL_COMMAND in message
    assert INSTALL_COMMAND == "apt-get install -y --no-install-recommends graphviz"
    assert isinstance(error.value, graphviz.ExecutableNotFound)
    with pytest.raises(GraphvizNotFound):
        diagram.render(tmp_path / "z.svg")
    with pytest.raises(GraphvizNotFound):
        diagram.pipe(format="svg")
    assert not (tmp_path / "z.svg").exists()
    bundle = diagram._repr_mimebundle_()  # what Jupyter calls: a message, not a traceback
    assert INSTALL_COMMAND in bundle["text/plain"]


# ---------------------------------------------------------------- python -m autograd draw

def test_draw_command_writes_graph_svg(tmp_path, monkeypatch, capsys):
    from autograd.__main__ import main
    monkeypatch.chdir(tmp_path)
    if not HAVE_DOT and not os.environ.get("CI"):
        monkeypatch.setenv("PATH", str(tmp_path))
        assert main(["draw"]) == 1
        assert INSTALL_COMMAND in capsys.readouterr().err
        pytest.skip("Graphviz's dot is not installed")
    assert main(["draw"]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "graph.svg") in out
    text = svg_text(tmp_path / "graph.svg")
    for word in ("conv", "maxpool", "conv.weight", "fc.bias", "grad"):
        assert word in text
    assert main(["draw", "--by-layer", "--out", "layers.png"]) == 0
    assert "layers.png" in capsys.readouterr().out
    with open(tmp_path / "layers.png", "rb") as file:
        assert file.read(4) == b"\x89PNG"
    assert main(["draw"]) == 0
    assert "graph.svg exists; writing graph-1.svg instead" in capsys.readouterr().out  # never over it
    assert sorted(os.listdir(tmp_path)) == ["graph-1.svg", "graph.svg", "layers.png"]


def test_draw_command_without_dot(tmp_path, monkeypatch, capsys):
    from autograd.__main__ import main
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["draw"]) == 1
    assert INSTALL_COMMAND in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


@needs_dot
def test_draw_model_leaves_the_models_gradients_alone(tmp_path):
    from autograd import models
    from autograd import data
    from autograd.commands.draw import draw_model
    model = models.digits_cnn(rng=0)
    markers = [np.full(p.shape, 7.0, dtype=p.dtype) for p in model.parameters()]
    for p, marker in zip(model.parameters(), markers):
        p.grad = marker
    images, labels = data.load_digits()
    path = draw_model(model, images[:2], labels[:2], tmp_path / "model.svg", expand=False)
    assert all(p.grad is marker for p, marker in zip(model.parameters(), markers))
    text = svg_text(path)
    assert "grad min" in text and not re.search(r"mean 7\s", text)  # this batch's gradients
