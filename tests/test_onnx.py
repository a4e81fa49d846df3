"""ONNX both ways (issue 22): tapegrad's export run in onnxruntime, ONNX files loaded back as
tapegrad models (ours, and PyTorch's), and every kind of bad file a clear error."""

import inspect
import os

import numpy as np
import pytest

import autograd as ag
import nodes
from autograd import models, nn
from autograd import functional as F

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
import autograd.onnx as agonnx  # noqa: E402  (after the skip: it needs onnx)
from autograd.onnx import OnnxError  # noqa: E402

RNG = np.random.default_rng(22)


def images(n, shape=(1, 8, 8)):
    return RNG.standard_normal((n,) + shape).astype(np.float32)


def run_ort(path, *arrays):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, arrays)))


def ours(model, *arrays):
    if isinstance(model, nn.Module):
        model.eval()
    with ag.no_grad():
        out = model(*[ag.Tensor(a) for a in arrays])
    return out.data


def exported_matches(tmp_path, model, example, other, atol=1e-5, opset=None):
    """Export on ``example``, run ``other`` (another batch size) in onnxruntime, compare."""
    path = tmp_path / "model.onnx"
    mode = getattr(model, "training", None)
    agonnx.export(model, example, path, opset=opset)
    assert getattr(model, "training", None) == mode  # recorded in eval mode, then given back
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    arrays = other if isinstance(other, tuple) else (other,)
    got = run_ort(path, *arrays)[0]
    want = ours(model, *arrays)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=0, atol=atol)
    return path


# ---------------------------------------------------------------- export, run in onnxruntime

@pytest.mark.parametrize("kind", models.KINDS)
def test_the_digits_cnns_run_in_onnxruntime_for_another_batch_size(tmp_path, kind):
    model = models.digits_cnn(kind, rng=1)
    path = exported_matches(tmp_path, model, images(2), images(7))
    proto = onnx.load(str(path))
    assert sorted(t.name for t in proto.graph.initializer) == sorted(model.state_dict())
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    assert "Dropout" not in {n.op_type for n in proto.graph.node}  # dropout is the identity


def _trained_batchnorm():
    layer = nn.BatchNorm2d(3)
    layer(ag.Tensor(images(6, (3, 4, 4)) * 2 + 1))  # running statistics away from 0 and 1
    layer.weight.data[...] = [0.5, 2.0, -1.0]
    return layer


# Every layer of autograd.nn that computes (the losses are trained, not exported), with the
# options issue 22 names: conv stride, padding, dilation and groups, both poolings.
LAYERS = {
    "linear": (lambda: nn.Linear(5, 3, rng=0), (5,)),
    "conv1d": (lambda: nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, rng=0,
                                 floor=True), (4, 11)),
    "conv2d": (lambda: nn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2, rng=0,
                                 floor=True), (4, 9, 9)),
    "depthwise": (lambda: nn.Conv2d(3, 3, 3, padding=1, groups=3, bias=False, rng=0), (3, 5, 5)),
    "maxpool1d": (lambda: nn.MaxPool1d(3, stride=2, padding=1, ceil_mode=True), (2, 8)),
    "maxpool2d": (lambda: nn.MaxPool2d(2, stride=1, padding=1), (2, 5, 5)),
    "avgpool1d": (lambda: nn.AvgPool1d(2), (2, 8)),
    "avgpool2d": (lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
                  (2, 7, 7)),
    "adaptive": (lambda: nn.AdaptiveAvgPool2d((2, 3)), (2, 5, 7)),
    "batchnorm2d": (_trained_batchnorm, (3, 4, 4)),
    "batchnorm1d": (lambda: nn.BatchNorm1d(5).eval(), (5,)),
    "relu": (nn.ReLU, (6,)),
    "leaky_relu": (lambda: nn.LeakyReLU(0.2), (3, 4)),
    "tanh": (nn.Tanh, (6,)),
    "sigmoid": (nn.Sigmoid, (6,)),
    "softmax": (lambda: nn.Softmax(dim=1), (6,)),
    "log_softmax": (lambda: nn.LogSoftmax(dim=-1), (2, 6)),
    "identity": (nn.Identity, (6,)),
    "flatten": (nn.Flatten, (2, 3, 4)),
    "dropout": (lambda: nn.Dropout(0.5, rng=0), (6,)),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_every_layer_exports(tmp_path, name):
    make, shape = LAYERS[name]
    exported_matches(tmp_path, make(), images(3, shape), images(5, shape))


def raw_ops(x, y):
    """A graph of raw tensor ops: every primitive of nodes/ through its usual spelling."""
    a = (x * 2 - y / (y.abs() + 1)) ** 2 + x.sigmoid() - x.tanh() * y.sin() + (-y).cos().exp()
    b = ag.maximum(x, y) - ag.minimum(x, 0.5) + ag.where(x > y, x, y * 0.1) + x.abs().sqrt()
    c = (a.abs() + 1) ** (b * 0.1) + (x.clamp(-0.5, 0.5) + 1).log()
    m = c.reshape(c.shape[0], 3, 4).transpose(0, 2, 1)  # (N, 4, 3)
    m = m @ ag.Tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2))
    s = m.sum(axis=2) + m.max(axis=1, keepdims=True)[:, 0, :1] - m.min(axis=(1, 2))[:, None]
    picked = ag.cat([s[:, 1:3], s[..., ::-1], s[:, [0, 0, 3]], m[:, 2, None, 1]], axis=1)
    wide = picked[:, None, :].expand(picked.shape[0], 2, picked.shape[1]).reshape(-1, 20)
    probabilities = (wide * 0.1).sigmoid()  # not saturated: log(1 - p) would magnify an ulp
    bce = F.binary_cross_entropy(probabilities, y[:, :1].sigmoid() + wide * 0,
                                 reduction="none")
    return F.log_softmax(wide, axis=1) + bce


def test_comparisons_are_noted_in_the_exporting_thread_only(tmp_path):
    """export notes comparisons (a where's mask) for its own thread and for that one pass:
    Tensor is left as it was, and another thread comparing meanwhile is not noted."""
    import threading
    from autograd.tensor import _comparisons
    seen_elsewhere = []
    started, finish = threading.Event(), threading.Event()

    def other_thread():
        started.set()
        finish.wait(10)
        seen_elsewhere.append(_comparisons.notes)
        ag.Tensor(np.ones(3, np.float32)) > 0  # must not land in the export's notes

    thread = threading.Thread(target=other_thread)
    thread.start()
    started.wait(10)

    def fn(x):
        finish.set()
        thread.join(10)
        return ag.where(x > 0, x, x * 0.1)

    exported_matches(tmp_path, fn, images(3, (4,)), images(5, (4,)))
    assert seen_elsewhere == [None]
    assert _comparisons.notes is None


@pytest.mark.parametrize("opset", [13, 18, 21])  # reductions take their axes two ways
def test_a_graph_of_raw_tensor_ops(tmp_path, opset):
    x, y = images(2, (12,)), images(2, (12,))
    path = exported_matches(tmp_path, raw_ops, (x, y), (images(5, (12,)), images(5, (12,))),
                            opset=opset)
    used = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert {"Greater", "Where", "Gather", "Slice", "Expand", "Concat", "ReduceMax", "ReduceMin",
            "ReduceSum", "Pow", "Sqrt", "Sin", "Cos", "Max", "Min", "Abs", "Exp", "Log",
            "MatMul", "LogSoftmax", "Transpose", "Reshape", "Squeeze", "Unsqueeze", "Neg"} <= used
    back = agonnx.load(path)  # and each of those operators loads back
    other = (images(3, (12,)), images(3, (12,)))
    np.testing.assert_allclose(ours(back, *other), ours(raw_ops, *other), atol=1e-5)


def test_a_mask_stays_bool_beside_values_of_another_dtype(tmp_path):
    """x > 0 on float32 picks between float64 values: the mask is written as bool, not cast to
    the values' dtype (a Where's condition must be bool); != (Not) as well."""
    w = ag.Tensor(np.linspace(-1, 1, 4), requires_grad=True)  # float64

    def pick(x):
        return ag.where(x > 0, w, w * 2) + ag.where(x != 0, w * 3, w)

    path = exported_matches(tmp_path, pick, images(2, (4,)), images(5, (4,)))
    assert "Cast" not in {n.op_type for n in onnx.load(str(path)).graph.node}


def test_expand_to_more_axes_keeps_the_batch_where_it_lands(tmp_path):
    """(N, 4) -> (3, N, 4): the batch is axis 1 of the output, whose axis 0 is 3 for any N."""
    path = exported_matches(tmp_path, lambda x: x.expand(3, x.shape[0], 4), images(2, (4,)),
                            images(5, (4,)))
    axis_0 = onnx.load(str(path)).graph.output[0].type.tensor_type.shape.dim[0]
    assert axis_0.dim_value == 3 and axis_0.dim_param == ""  # not said to follow the batch
    exported_matches(tmp_path, lambda x: x.expand(x.shape[0], 3, 4), images(2, (1, 4)),
                     images(5, (1, 4)))


def test_a_batch_reshaped_into_axis_0_stays_open(tmp_path):
    """(N, 3, 4, 4) -> (N·16, 3) -> (N, 48), as cross_entropy's rows: the shapes written must
    follow N, and an example batch of 1 must not fix them either."""
    def rows(x):
        scores = F.log_softmax(x.permute(0, 2, 3, 1).reshape(-1, 3), axis=1)
        return scores.reshape(x.shape[0], -1).sum(axis=1), scores
    for example in (images(2, (3, 4, 4)), images(1, (3, 4, 4))):
        path = tmp_path / "rows.onnx"
        agonnx.export(rows, example, path)
        x = images(5, (3, 4, 4))
        sums, scores = run_ort(path, x)
        want_sums, want_scores = (t.data for t in rows(ag.Tensor(x)))
        np.testing.assert_allclose(sums, want_sums, atol=2e-5)
        np.testing.assert_allclose(scores, want_scores, atol=1e-5)
    dims = [o.type.tensor_type.shape.dim[0].dim_param for o in onnx.load(str(path)).graph.output]
    assert dims == ["N", "N*16"]


def test_slices_of_the_batch_follow_its_size_and_fancy_indexing_is_refused(tmp_path):
    def shifted(x):
        return (x[1:] - x[:-1])[::-1, ..., -3:].reshape(-1, 6)
    exported_matches(tmp_path, shifted, images(3, (2, 5)), images(6, (2, 5)))
    with pytest.raises(OnnxError, match=r"export: getitem: the index .* mixes integer arrays"):
        agonnx.export(lambda x: x[[0, 1], [1, 0]], images(2, (3,)), tmp_path / "m.onnx")


def test_every_primitive_declares_its_onnx_mapping():
    classes = {cls for _, module in inspect.getmembers(nodes, inspect.ismodule)
               for _, cls in inspect.getmembers(module, inspect.isclass)
               if issubclass(cls, nodes.Node) and cls is not nodes.Node
               and cls.__module__.startswith("nodes.") and not cls.__name__.startswith("_")
               and not cls.__module__.startswith("nodes.kernels")}
    assert len(classes) >= 25
    lacking = [cls.__name__ for cls in classes if not (cls.onnx_op or "onnx" in dir(cls))]
    assert lacking == []


class Cube(nodes.Node):
    """z = x ** 3, a user's node without a mapping"""
    name = "cube"

    def forwardPass(self, x):
        self.x = x
        return x ** 3

    def backwardPass(self, dz):
        return (3 * self.x ** 2 * dz,)


def test_a_node_without_a_mapping_is_an_error_naming_it_and_the_fix(tmp_path):
    with pytest.raises(OnnxError, match=r"node 'cube' \(Cube, #\d+\) has no ONNX mapping; give "
                                        r"Cube a class attribute onnx_op = 'OpType'.*onnx\(self"):
        agonnx.export(lambda x: ag.apply(Cube(), x).exp(), images(2, (3,)), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()

    class MappedCube(Cube):
        def onnx(self, graph, inputs):
            return graph.op("Pow", inputs[0], graph.constant(3.0, like=inputs[0]))

    exported_matches(tmp_path, lambda x: ag.apply(MappedCube(), x), images(2, (3,)),
                     images(4, (3,)))


def test_a_mapping_that_fails_shape_inference_is_an_onnx_error(tmp_path):
    class BadMatMul(Cube):
        def onnx(self, graph, inputs):  # (N, 3) @ (5, 2): no shape
            return graph.op("MatMul", inputs[0], graph.constant(np.ones((5, 2)), like=inputs[0]))

    with pytest.raises(OnnxError, match=r"export: the ONNX graph written for this model does "
                                        r"not pass onnx.checker \(.*MatMul.*\); a node's onnx "
                                        r"mapping is wrong"):
        agonnx.export(lambda x: ag.apply(BadMatMul(), x), images(2, (3,)), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_export_arguments_are_checked(tmp_path):
    model = models.digits_cnn(rng=0)
    with pytest.raises(OnnxError, match="opset 99 is not one tapegrad writes"):
        agonnx.export(model, images(2), tmp_path / "m.onnx", opset=99)
    with pytest.raises(OnnxError, match=r"input_names must be 1 different"):
        agonnx.export(model, images(2), tmp_path / "m.onnx", input_names=["a", "b"])
    with pytest.raises(OnnxError, match="one batch size, or pass dynamic_batch=False"):
        agonnx.export(lambda a, b: a + b, (images(2), images(3)), tmp_path / "m.onnx")
    path = tmp_path / "fixed.onnx"
    agonnx.export(model, images(2), path, dynamic_batch=False, input_names=["x"],
                  output_names=["scores"], opset=13)
    proto = onnx.load(str(path))
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == [2, 1, 8, 8]
    assert proto.graph.output[0].name == "scores" and proto.opset_import[0].version == 13


# ---------------------------------------------------------------- load: round trip

def test_round_trip_gives_the_same_outputs_and_gradients_and_can_be_stepped(tmp_path):
    model = models.digits_cnn("deeper", rng=3)
    path = tmp_path / "deeper.onnx"
    agonnx.export(model, images(2), path)
    back = agonnx.load(path)
    assert isinstance(back, nn.Module)
    assert list(back.state_dict()) == list(model.state_dict())
    assert all(p.requires_grad for p in back.parameters())
    x, labels = images(6), np.arange(6)
    np.testing.assert_allclose(ours(back, x), run_ort(path, x)[0], atol=1e-5)
    model.eval()
    for net in (model, back):
        net.zero_grad()
        F.cross_entropy(net(ag.Tensor(x)), labels).backward()
    for (name, mine), (_, theirs) in zip(model.named_parameters(), back.named_parameters()):
        np.testing.assert_allclose(theirs.grad, mine.grad, atol=1e-6, err_msg=name)
    loss = F.cross_entropy(back(ag.Tensor(x[:2])), labels[:2])
    assert "cluster" in ag.draw(loss).source  # a box per layer, from the ONNX node names
    stepper = ag.Stepper(loss)
    steps = list(stepper)
    assert any(step.node.name == "conv" for step in steps)
    # and it trains: one step of SGD lowers the loss
    optimizer = ag.optim.SGD(back.parameters(), lr=0.1)
    before = F.cross_entropy(back(ag.Tensor(x)), labels)
    back.zero_grad()
    before.backward()
    optimizer.step()
    assert F.cross_entropy(back(ag.Tensor(x)), labels).item() < before.item()


def test_batch_norm_round_trip_keeps_its_running_statistics_as_named_buffers(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1, rng=0), nn.BatchNorm2d(3), nn.ReLU(),
                          nn.Flatten(), nn.Linear(48, 2, rng=0))
    model(ag.Tensor(images(8, (1, 4, 4)) * 3 + 1))  # running statistics of its own
    model[1].eval()  # one layer in eval mode: each module's mode is given back as it was
    path = tmp_path / "bn.onnx"
    agonnx.export(model, images(2, (1, 4, 4)), path)
    assert [m.training for m in model.modules()] == [True, True, False, True, True, True]
    assert not model[1].running_mean.requires_grad
    back = agonnx.load(path)
    assert sorted(dict(back.named_buffers())) == ["1.running_mean", "1.running_var"]
    assert "1.running_mean" not in dict(back.named_parameters())
    back.load_state_dict({k: v for k, v in model.state_dict().items()
                          if k != "1.num_batches_tracked"})
    x = images(5, (1, 4, 4))
    np.testing.assert_allclose(ours(back, x), ours(model, x), atol=1e-6)
    np.testing.assert_allclose(run_ort(path, x)[0], ours(model, x), atol=1e-5)


def test_a_wrong_input_shape_is_a_clear_error(tmp_path):
    path = tmp_path / "m.onnx"
    agonnx.export(models.digits_cnn(rng=0), images(2), path)
    back = agonnx.load(path)
    with pytest.raises(ValueError, match=r"the input 'input' must have shape \('N', 1, 8, 8\)"):
        back(ag.Tensor(images(2, (1, 9, 9))))


# ---------------------------------------------------------------- load: a model from PyTorch

@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript exporter's notice
def test_a_pytorch_cnn_loads_and_matches_its_outputs_and_gradients(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, 3, stride=1, padding=1, groups=2), torch.nn.LeakyReLU(0.1),
        torch.nn.AvgPool2d(2), torch.nn.Flatten(), torch.nn.Dropout(0.3),
        torch.nn.Linear(24, 10), torch.nn.LogSoftmax(dim=1)).eval()
    path = tmp_path / "torch.onnx"
    torch.onnx.export(net, (torch.randn(2, 1, 8, 8),), str(path), dynamo=False,
                      input_names=["x"], dynamic_axes={"x": {0: "N"}})
    model = agonnx.load(path)
    assert set(model.state_dict()) == set(net.state_dict())
    x, labels = images(5), np.array([0, 3, 9, 1, 1])
    out = model(ag.Tensor(x))
    loss = F.nll_loss(out, labels)
    loss.backward()
    xt = torch.from_numpy(x)
    out_t = net(xt)
    torch.nn.functional.nll_loss(out_t, torch.from_numpy(labels)).backward()
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(out.data, run_ort(path, x)[0], atol=1e-5)
    params = dict(model.named_parameters())
    for name, p in net.named_parameters():
        np.testing.assert_allclose(params[name].grad, p.grad.numpy(), atol=1e-5, err_msg=name)
    assert len(list(ag.Stepper(F.nll_loss(model(ag.Tensor(x[:1])), labels[:1])))) > 5


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("opset", [11, 17])
def test_pytorch_batch_norm_view_and_clip_at_older_opsets(tmp_path, opset):
    """x.view(x.size(0), -1) exports as Shape, Gather, Unsqueeze, Concat and Reshape; batch
    norm's running statistics load as buffers; Clip and Softmax as opset 11 writes them."""
    torch = pytest.importorskip("torch")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4)
            self.fc, self.bn1 = torch.nn.Linear(64, 10), torch.nn.BatchNorm1d(10)

        def forward(self, x):
            x = torch.nn.functional.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)
            x = x.view(x.size(0), -1)
            return torch.softmax(self.bn1(self.fc(x)).clamp(-1, 1) - x[:, :10].sigmoid(), dim=1)

    torch.manual_seed(1)
    net = Net()
    for _ in range(3):  # running statistics of their own
        net(torch.randn(8, 1, 8, 8) * 2 + 1)
    net.eval()
    path = tmp_path / "net.onnx"
    torch.onnx.export(net, (torch.randn(2, 1, 8, 8),), str(path), dynamo=False,
                      opset_version=opset, do_constant_folding=False, input_names=["x"],
                      dynamic_axes={"x": {0: "N"}})
    model = agonnx.load(path)
    assert sorted(dict(model.named_buffers())) == ["bn.running_mean", "bn.running_var",
                                                    "bn1.running_mean", "bn1.running_var"]
    x = images(5)
    out = model(ag.Tensor(x))
    (out * out).sum().backward()
    out_t = net(torch.from_numpy(x))
    (out_t * out_t).sum().backward()
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), atol=1e-6)
    params = dict(model.named_parameters())
    for name, p in net.named_parameters():
        np.testing.assert_allclose(params[name].grad, p.grad.numpy(), atol=1e-5, err_msg=name)


def test_imported_operators_of_other_exporters(tmp_path):
    """Gemm with transB, BatchNormalization, Softmax, Flatten, Reshape with 0 and -1,
    Identity, Dropout and Constant: built by hand as another exporter writes them."""
    from onnx import TensorProto, helper, numpy_helper
    w, b = RNG.standard_normal((4, 12)).astype(np.float32), np.ones(4, np.float32)
    stats = [RNG.standard_normal(3).astype(np.float32) for _ in range(3)]
    var = (RNG.random(3) + 0.5).astype(np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in
             ((w, "fc.weight"), (b, "fc.bias"), (stats[0], "bn.weight"), (stats[1], "bn.bias"),
              (stats[2], "bn.running_mean"), (var, "bn.running_var"))]
    shape = helper.make_node("Constant", [], ["shape"],
                             value=numpy_helper.from_array(np.array([0, -1], np.int64)))
    graph = helper.make_graph([
        helper.make_node("BatchNormalization", ["x", "bn.weight", "bn.bias", "bn.running_mean",
                                                "bn.running_var"], ["n"], epsilon=1e-3),
        helper.make_node("Identity", ["n"], ["i"]), shape,
        helper.make_node("Reshape", ["i", "shape"], ["r"]),
        helper.make_node("Dropout", ["r"], ["d"]),
        helper.make_node("Gemm", ["d", "fc.weight", "fc.bias"], ["g"], transB=1, alpha=0.5),
        helper.make_node("Softmax", ["g"], ["y"], axis=1)], "other",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])], inits)
    path = tmp_path / "other.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                                ir_version=8), str(path))
    model = agonnx.load(path)
    assert [n for n, _ in model.named_parameters()] == ["fc.weight", "fc.bias", "bn.weight",
                                                         "bn.bias"]
    assert sorted(dict(model.named_buffers())) == ["bn.running_mean", "bn.running_var"]
    x = images(3, (3, 2, 2))
    np.testing.assert_allclose(ours(model, x), run_ort(path, x)[0], atol=1e-6)


def test_initializers_under_a_module_method_s_name_load_into_one_layer(tmp_path):
    """'eval.weight' and 'eval.bias' (eval is a Module method): one layer 'eval_' holds both;
    'a-b' and 'a_b', the same once made attribute names, stay two layers."""
    from onnx import TensorProto, helper, numpy_helper
    arrays = {name: RNG.standard_normal(shape).astype(np.float32) for name, shape in
              (("eval.weight", (3, 4)), ("eval.bias", (4,)), ("a-b.weight", (4,)),
               ("a_b.weight", (4,)))}
    graph = helper.make_graph([
        helper.make_node("Gemm", ["x", "eval.weight", "eval.bias"], ["g"]),
        helper.make_node("Mul", ["g", "a-b.weight"], ["m"]),
        helper.make_node("Add", ["m", "a_b.weight"], ["y"])], "names",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        [numpy_helper.from_array(a, n) for n, a in arrays.items()])
    path = tmp_path / "names.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                                ir_version=8), str(path))
    model = agonnx.load(path)
    names = [n for n, _ in model.named_parameters()]
    assert names == ["eval_.weight", "eval_.bias", "a_b.weight", "a_b_.weight"]
    for name, file_name in zip(names, arrays):
        np.testing.assert_array_equal(dict(model.named_parameters())[name].data,
                                      arrays[file_name])
    x = images(4, (3,))
    np.testing.assert_allclose(ours(model, x), run_ort(path, x)[0], atol=1e-6)


def test_the_notebooks_extra_installs_what_the_notebooks_import():
    import configparser
    import pathlib
    import re
    root = pathlib.Path(__file__).resolve().parents[1]
    config = configparser.ConfigParser()
    config.read(root / "setup.cfg")
    extra = {re.split(r"[<>=\[ ]", line.strip())[0] for line in
             config["options.extras_require"]["notebooks"].split("\n") if line.strip()}
    imported = {name for script in (root / "notebooks").glob("*.py")
                for name in re.findall(r"^(?:import|from) ([\w.]+)", script.read_text(), re.M)}
    needs = {"onnx": "autograd.onnx", "onnxruntime": "onnxruntime", "matplotlib": "matplotlib"}
    assert "autograd.onnx" in imported  # notebook 05 runs its export in onnxruntime
    assert {package for package, module in needs.items() if module in imported} <= extra


# ---------------------------------------------------------------- bad files

def _model_bytes(tmp_path):
    path = tmp_path / "good.onnx"
    agonnx.export(models.digits_cnn(rng=0), images(2), path)
    return path.read_bytes()


def _edited(tmp_path, name, edit):
    proto = onnx.load_from_string(_model_bytes(tmp_path))
    edit(proto)
    path = tmp_path / name
    path.write_bytes(proto.SerializeToString())
    return path


def _cycle(proto):
    nodes_ = proto.graph.node
    first, last = nodes_[0], nodes_[len(nodes_) - 2]
    first.input[0] = last.output[0]  # the first conv reads what the last add writes


BAD = {
    "empty": (lambda tmp: b"", "the file is empty"),
    "truncated": (lambda tmp: _model_bytes(tmp)[:300], "not an ONNX model: the bytes do not parse"),
    "random": (lambda tmp: np.random.default_rng(0).bytes(4000), "not an ONNX model"),
    "another protobuf": (lambda tmp: __import__("google.protobuf.descriptor_pb2").protobuf
                         .descriptor_pb2.FileDescriptorProto(name="x.proto", package="a.b")
                         .SerializeToString(), "not an ONNX model"),
    "newer opset": (lambda tmp: _edited(tmp, "o.onnx", lambda p: setattr(
        p.opset_import[0], "version", 99)).read_bytes(), "opset 99, newer than tapegrad reads"),
    "no inputs": (lambda tmp: _edited(tmp, "n.onnx", lambda p: p.graph.ClearField("input"))
                  .read_bytes(), "the model has no inputs"),
    "cycle": (lambda tmp: _edited(tmp, "c.onnx", _cycle).read_bytes(), "the graph has a cycle"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_file_is_one_clear_error_naming_it(tmp_path, case):
    make, message = BAD[case]
    path = tmp_path / "bad.onnx"
    path.write_bytes(make(tmp_path))
    with pytest.raises(OnnxError) as error:
        agonnx.load(path)
    text = str(error.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_a_missing_file_names_it(tmp_path):
    with pytest.raises(OnnxError, match=r"missing\.onnx: cannot read the file"):
        agonnx.load(tmp_path / "missing.onnx")


def test_unsupported_operators_are_listed_all_at_once(tmp_path):
    def edit(proto):
        proto.graph.node[1].op_type = "Selu"  # was Relu
        proto.graph.node[2].op_type = "LpPool"  # was MaxPool
        proto.graph.node[1].name, proto.graph.node[2].name = "act", "pool"
    path = _edited(tmp_path, "u.onnx", edit)
    with pytest.raises(OnnxError, match=r"no operation for 2 nodes of this model: Selu \(node "
                                        r"'act'\), LpPool \(node 'pool'\)"):
        agonnx.load(path)


# ---------------------------------------------------------------- the command

def test_without_onnx_the_errors_say_how_to_install_it(tmp_path, monkeypatch, capsys):
    from autograd.__main__ import main
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)  # as if not installed
    with pytest.raises(ImportError, match=r"autograd.onnx.load needs the onnx package.*"
                                          r"pip install tapegrad\[onnx\]"):
        agonnx.load(tmp_path / "m.onnx")
    code = main(["train", "--epochs", "1", "--out", str(tmp_path / "w.npz"), "--onnx",
                 str(tmp_path / "m.onnx")])
    assert code == 2 and os.listdir(tmp_path) == []  # refused before training
    assert "error: --onnx needs the onnx package" in capsys.readouterr().err


def test_train_writes_the_model_as_onnx_and_never_over_a_file(tmp_path, capsys):
    from autograd.__main__ import main
    from autograd.data import load_digits
    target = tmp_path / "model.onnx"
    target.write_bytes(b"precious")
    code = main(["train", "--no-progress", "--epochs", "1", "--out", str(tmp_path / "w.npz"),
                 "--onnx", str(target)])
    out = capsys.readouterr().out
    assert code == 0 and target.read_bytes() == b"precious"
    written = tmp_path / "model-1.onnx"
    assert f"saving the ONNX model to {written} instead" in out
    model = models.digits_cnn()
    model.load_state_dict(ag.load(str(tmp_path / "w.npz")))
    x = load_digits()[0][:9]
    np.testing.assert_allclose(run_ort(written, x)[0], ours(model, x), atol=1e-5)
    assert sorted(os.listdir(tmp_path)) == ["model-1.onnx", "model.onnx", "w.npz", "w.svg"]


def test_train_refuses_an_onnx_path_it_cannot_write_before_training(tmp_path, capsys):
    from autograd.__main__ import main
    code = main(["train", "--no-progress", "--out", str(tmp_path / "w.npz"),
                 "--onnx", str(tmp_path / "missing" / "m.onnx")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("error: cannot write") and err[0].endswith("choose another --onnx")
    assert not (tmp_path / "w.npz").exists()  # nothing trained, nothing written


def test_ag_onnx_is_there_on_first_use_and_import_autograd_does_not_load_it():
    import subprocess
    import sys
    code = ("import sys, autograd as ag; assert 'autograd.onnx' not in sys.modules; "
            "assert 'onnx' not in sys.modules; assert ag.onnx.export is "
            "sys.modules['autograd.onnx'].export; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr
