"""autograd.nn: modules, parameters, layers against PyTorch, state dicts, summaries, errors."""

import math
from collections import OrderedDict

import numpy as np
import pytest

import autograd as ag
from autograd import functional as F
from autograd import nn
from autograd.data import load_digits
from autograd.models import digits_cnn
from helpers import compare_with_torch


def as64(model):
    return model.to(np.float64)


# ---------------------------------------------------------------- Parameter

def test_parameter_is_a_leaf_that_requires_grad():
    p = nn.Parameter([1.0, 2.0])
    assert isinstance(p, ag.Tensor) and p.requires_grad and p.is_leaf
    assert p.dtype == np.float32
    assert nn.Parameter(np.zeros(2)).dtype == np.float64  # arrays keep their dtype
    assert nn.Parameter(np.zeros(2, dtype=np.int64)).dtype == np.float32  # never integer
    assert nn.Parameter([1.0], requires_grad=False).requires_grad is False
    assert repr(p).startswith("Parameter containing:\ntensor(")


# ---------------------------------------------------------------- the module tree

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.conv(x))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(Block(), nn.MaxPool2d(2))
        self.head = nn.Linear(3 * 2 * 2, 4)
        self.scale = nn.Parameter(np.float32(2.0))

    def forward(self, x):
        return self.head(F.flatten(self.features(x))) * self.scale


def test_named_parameters_are_dotted_and_in_order():
    names = [name for name, _ in Net().named_parameters()]
    assert names == ["scale", "features.0.conv.weight", "features.0.conv.bias", "head.weight",
                     "head.bias"]


def test_named_modules_and_children():
    net = Net()
    assert [name for name, _ in net.named_modules()] == [
        "", "features", "features.0", "features.0.conv", "features.0.act", "features.1", "head"]
    assert list(net.children()) == [net.features, net.head]
    assert [type(m).__name__ for m in net.modules()][:3] == ["Net", "Sequential", "Block"]


def test_shared_parameters_and_modules_are_listed_once():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert model.num_parameters() == 12
    assert list(model.state_dict()) == ["0.weight", "0.bias"]
    assert "shared, shown above" in repr(model)
    assert "total: 12 parameters" in repr(model)


def test_a_very_deep_module_tree_needs_no_recursion():
    model = nn.Linear(2, 2)
    for _ in range(5000):  # far beyond Python's recursion limit
        model = nn.Sequential(model)
    names = [n for n, _ in model.named_parameters()]
    assert len(names) == 2 and names[0] == ".".join(["0"] * 5000) + ".weight"
    assert len(model.state_dict()) == 2
    model.eval()
    assert not any(m.training for m in model.modules())
    assert "total: 6 parameters" in repr(model)


def test_reassigning_and_deleting_attributes_updates_the_registry():
    net = Net()
    net.head = nn.Linear(12, 2)
    assert net.state_dict()["head.weight"].shape == (2, 12)
    net.head = None
    del net.scale
    assert [n for n, _ in net.named_parameters()] == ["features.0.conv.weight", "features.0.conv.bias"]


def test_forgetting_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"Broken: call super\(\).__init__\(\).*'fc'"):
        Broken()


def test_train_eval_zero_grad_and_to():
    net = Net()
    assert net.training and net.features[0].conv.training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    x = ag.tensor(np.ones((1, 2, 4, 4), dtype=np.float32))
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.to(np.float64)
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net(ag.tensor(np.ones((1, 2, 4, 4)))).dtype == np.float64


# ---------------------------------------------------------------- scopes and names on the tape

def test_nodes_remember_their_module_and_parameters_get_dotted_names():
    net = Net()
    out = net(ag.tensor(np.ones((1, 2, 4, 4), dtype=np.float32)))
    by_kind = {}
    for node in ag.graph_nodes(out):
        by_kind.setdefault(node._scope.kind, set()).add(node._scope.path)
    assert by_kind["Conv2d"] == {"features.0.conv"}
    assert by_kind["ReLU"] == {"features.0.act"}
    assert by_kind["MaxPool2d"] == {"features.1"}
    assert by_kind["Linear"] == {"head"}
    assert by_kind["Net"] == {""}  # flatten and the scale multiply run in Net.forward itself
    conv = [n for n in ag.graph_nodes(out) if n._scope.kind == "Conv2d"]
    assert conv[0]._scope.parent.path == "features.0" and conv[0]._scope.parent.kind == "Block"
    assert net.features[0].conv.weight.name == "features.0.conv.weight"
    assert net.scale.name == "scale"


def test_a_layer_in_two_containers_is_named_after_the_one_calling_it():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    tail = nn.Sequential(model[1], model[2])  # the same layer objects, at positions 0 and 1
    x = ag.tensor(np.ones((1, 2), dtype=np.float32), requires_grad=True)
    paths = {n._scope.path: n._scope.kind for n in ag.graph_nodes(model(x))}
    assert paths == {"0": "Linear", "1": "ReLU", "2": "Linear"}
    paths = {n._scope.path: n._scope.kind for n in ag.graph_nodes(tail(x))}
    assert paths == {"0": "ReLU", "1": "Linear"}
    assert list(model[1:]._modules) == ["1", "2"]  # a slice keeps the names, as in PyTorch


def test_sequential_with_names_indexing_and_errors():
    model = nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 2, 3), relu=nn.ReLU()))
    assert model["conv"] is model[0] and len(model) == 2 and list(model)[1] is model.relu
    assert [n for n, _ in model.named_parameters()] == ["conv.weight", "conv.bias"]
    with pytest.raises(TypeError, match="layer '1' is a function, not a Module"):
        nn.Sequential(nn.ReLU(), F.relu)
    with pytest.raises(ValueError, match="cannot be called 'eval'.*hide the method"):
        nn.Sequential(OrderedDict(eval=nn.ReLU()))


# ---------------------------------------------------------------- summary

def test_summary_lists_layers_output_shapes_parameter_counts_and_total():
    model = digits_cnn()
    before = repr(model)
    assert "output shapes appear once the model has run" in before
    model(ag.tensor(np.zeros((5, 1, 8, 8), dtype=np.float32)))
    text = repr(model)
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "output", "shape", "parameters"]
    conv = next(line for line in lines if "(conv)" in line)
    assert "Conv2d(1, 16, kernel_size=3, padding=1)" in conv
    assert "(5, 16, 8, 8)" in conv and conv.endswith("160")
    assert "(5, 16, 4, 4)" in next(line for line in lines if "(pool)" in line)
    fc = next(line for line in lines if "(fc)" in line)
    assert "Linear(256, 10)" in fc and "(5, 10)" in fc and fc.endswith("2,570")
    assert lines[-1] == "total: 2,730 parameters"


# ---------------------------------------------------------------- state dicts

def test_state_dict_is_a_copy_with_dotted_names():
    model = digits_cnn()
    state = model.state_dict()
    assert list(state) == ["conv.weight", "conv.bias", "fc.weight", "fc.bias"]
    assert state["conv.weight"].shape == (16, 1, 3, 3) and state["fc.weight"].shape == (10, 256)
    state["fc.bias"][:] = 123.0
    assert not np.any(model.fc.bias.data == 123.0)


def test_load_state_dict_round_trip_in_place():
    nn.manual_seed(1)
    a = digits_cnn()
    nn.manual_seed(2)
    b = digits_cnn()
    weight = b.conv.weight.data
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert b.conv.weight.data is weight  # copied into the same arrays: optimizers keep working
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    x = ag.tensor(np.random.default_rng(0).random((3, 1, 8, 8), dtype=np.float32))
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_load_state_dict_keeps_the_models_dtype():
    model = digits_cnn()
    state = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_load_state_dict_lists_missing_unexpected_and_misshaped_entries():
    model = digits_cnn()
    before = model.state_dict()
    state = model.state_dict()
    del state["fc.bias"]
    state["fc.weight"] = np.zeros((10, 128), dtype=np.float32)
    state["conv2.weight"] = np.zeros((32, 16, 3, 3), dtype=np.float32)
    state["conv.bias"] = state["conv.bias"] + 1
    with pytest.raises(ValueError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "fc.weight is (10, 256) in the model but (10, 128) in the state dict" in message
    assert "missing: fc.bias (10,)" in message
    assert "unexpected: conv2.weight (32, 16, 3, 3)" in message
    for name, array in model.state_dict().items():  # nothing was changed
        np.testing.assert_array_equal(array, before[name], err_msg=name)


def test_load_state_dict_not_strict_skips_missing_and_unexpected_but_never_misshaped():
    model = digits_cnn()
    state = {"conv.weight": np.ones((16, 1, 3, 3)), "extra": np.zeros(2)}
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["conv.bias", "fc.weight", "fc.bias"]
    assert result.unexpected_keys == ["extra"]
    assert np.all(model.conv.weight.data == 1)
    with pytest.raises(ValueError, match=r"conv.weight is \(16, 1, 3, 3\) in the model but \(3,\)"):
        model.load_state_dict({"conv.weight": np.ones(3)}, strict=False)
    with pytest.raises(ValueError, match=r"missing: conv.bias.*different model.*strict=False"):
        model.load_state_dict({"conv.weight": np.ones((16, 1, 3, 3))})


# ---------------------------------------------------------------- initialisation

def test_initialisation_is_uniform_in_one_over_sqrt_fan_in():
    nn.manual_seed(0)
    conv = nn.Conv2d(4, 64, 5)
    bound = 1 / math.sqrt(4 * 5 * 5)
    w = conv.weight.data
    assert w.dtype == np.float32 and np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.95 * bound  # fills the interval
    assert abs(w.mean()) < 0.05 * bound and abs(w.var() - bound ** 2 / 3) < 0.1 * bound ** 2 / 3
    assert np.abs(conv.bias.data).max() <= bound
    linear = nn.Linear(300, 200)
    assert np.abs(linear.weight.data).max() <= 1 / math.sqrt(300)
    assert np.abs(linear.weight.data).max() > 0.95 / math.sqrt(300)


def test_initialisation_is_seedable():
    nn.manual_seed(5)
    a = digits_cnn()
    nn.manual_seed(5)
    b = digits_cnn()
    c = digits_cnn()
    np.testing.assert_array_equal(a.fc.weight.data, b.fc.weight.data)
    assert not np.array_equal(b.fc.weight.data, c.fc.weight.data)
    d, e = nn.Linear(3, 3, rng=7), nn.Linear(3, 3, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(d.weight.data, e.weight.data)
    # the bias is not a copy of the weight's first draws
    assert not np.array_equal(d.bias.data, d.weight.data[0])


def test_course_quiz_conv_output_size_and_760_parameters():
    conv = nn.Conv2d(3, 10, 5, padding=2)
    assert conv.num_parameters() == 5 * 5 * 3 * 10 + 10 == 760
    out = conv(ag.tensor(np.zeros((1, 3, 128, 128), dtype=np.float32)))
    assert out.shape == (1, 10, 128, 128)
    assert nn.Linear(10, 10).num_parameters() == 10 * 11  # the notes' fully connected count


# ---------------------------------------------------------------- layers against PyTorch

def torch_parity(torch, ours, theirs, x_shape, seed=0):
    """Forward and every gradient (input and parameters) of a layer, float64, atol 1e-9."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=x_shape)
    as64(ours)
    for p in ours.parameters():
        p.data[...] = rng.normal(size=p.shape)  # not just the init range
    theirs = theirs.double()
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    a = ag.tensor(x, requires_grad=True)
    out = ours(a)
    upstream = rng.normal(size=out.shape)
    (out * upstream).sum().backward()
    t = torch.tensor(x, requires_grad=True)
    expected = theirs(t)
    (expected * torch.from_numpy(upstream)).sum().backward()
    np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=1e-9, rtol=0)
    np.testing.assert_allclose(a.grad, t.grad.numpy(), atol=1e-9, rtol=0)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), atol=1e-9, rtol=0, err_msg=name)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_pytorch(bias):
    torch = pytest.importorskip("torch")
    torch_parity(torch, nn.Linear(5, 3, bias=bias), torch.nn.Linear(5, 3, bias=bias), (4, 5))
    torch_parity(torch, nn.Linear(5, 3, bias=bias), torch.nn.Linear(5, 3, bias=bias), (2, 3, 5))


@pytest.mark.parametrize("args, x_shape", [
    (dict(in_channels=2, out_channels=3, kernel_size=3), (2, 2, 7, 6)),
    (dict(in_channels=1, out_channels=4, kernel_size=3, padding=1), (3, 1, 8, 8)),
    (dict(in_channels=3, out_channels=2, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0)), (2, 3, 7, 5)),
    (dict(in_channels=2, out_channels=2, kernel_size=2, stride=2, bias=False), (1, 2, 6, 4)),
])
def test_conv2d_matches_pytorch(args, x_shape):
    torch = pytest.importorskip("torch")
    torch_parity(torch, nn.Conv2d(**args), torch.nn.Conv2d(**args), x_shape)


@pytest.mark.parametrize("layer, args, x_shape", [
    ("Conv2d", dict(in_channels=2, out_channels=3, kernel_size=3, dilation=2), (2, 2, 8, 7)),
    ("Conv2d", dict(in_channels=4, out_channels=6, kernel_size=3, padding=1, groups=2), (1, 4, 5, 5)),
    ("Conv2d", dict(in_channels=3, out_channels=3, kernel_size=(3, 2), groups=3, dilation=(1, 2),
                    stride=2, padding=(1, 0), bias=False), (2, 3, 7, 9)),   # depthwise
    ("Conv1d", dict(in_channels=4, out_channels=2, kernel_size=3, dilation=3, groups=2), (2, 4, 11)),
    ("Conv1d", dict(in_channels=2, out_channels=4, kernel_size=1, groups=2), (1, 2, 5)),
])
def test_dilated_and_grouped_conv_layers_match_pytorch(layer, args, x_shape):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, layer)(**args), getattr(torch.nn, layer)(**args)
    assert ours.weight.shape == tuple(theirs.weight.shape)  # (out, in / groups, ...)
    torch_parity(torch, ours, theirs, x_shape)


def test_grouped_conv_initialisation_counts_the_channels_one_filter_sees():
    conv = nn.Conv2d(8, 4, 3, groups=4, rng=0)
    bound = 1 / math.sqrt(2 * 3 * 3)  # fan_in: 8 / 4 channels x 3 x 3
    assert conv.weight.shape == (4, 2, 3, 3) and conv.num_parameters() == 4 * 2 * 9 + 4
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.weight.data).max() > 0.8 * bound
    assert "\nConv2d(8, 4, kernel_size=3, groups=4)  " in repr(conv)
    assert "dilation=(2, 1)" in repr(nn.Conv2d(1, 1, 3, dilation=(2, 1)))
    with pytest.raises(ValueError, match="Conv2d: groups=4 must divide in_channels=6"):
        nn.Conv2d(6, 4, 3, groups=4)
    with pytest.raises(ValueError, match="Conv1d: groups=3 must divide out_channels=4"):
        nn.Conv1d(3, 4, 3, groups=3)
    with pytest.raises(ValueError, match="Conv2d: dilation must be a positive integer, got 0"):
        nn.Conv2d(1, 1, 3, dilation=0)
    with pytest.raises(ValueError, match=r"^0 \(Conv2d\): .*\(10 - 2\*\(3 - 1\) - 1 \+ 2\*0\)/2"):
        nn.Sequential(nn.Conv2d(1, 1, 3, stride=2, dilation=2))(np.zeros((1, 1, 10, 10)))


@pytest.mark.parametrize("args, x_shape", [
    (dict(in_channels=2, out_channels=3, kernel_size=3), (2, 2, 9)),
    (dict(in_channels=1, out_channels=2, kernel_size=4, stride=2, padding=1), (3, 1, 10)),
])
def test_conv1d_matches_pytorch(args, x_shape):
    torch = pytest.importorskip("torch")
    torch_parity(torch, nn.Conv1d(**args), torch.nn.Conv1d(**args), x_shape)


@pytest.mark.parametrize("ours, theirs, x_shape", [
    (lambda: nn.MaxPool2d(2), lambda t: t.nn.MaxPool2d(2), (2, 3, 6, 4)),
    (lambda: nn.MaxPool2d(3, stride=1), lambda t: t.nn.MaxPool2d(3, stride=1), (1, 2, 5, 5)),
    (lambda: nn.AvgPool2d(2), lambda t: t.nn.AvgPool2d(2), (2, 3, 6, 4)),
    (lambda: nn.AvgPool2d((2, 3), stride=(2, 1)), lambda t: t.nn.AvgPool2d((2, 3), stride=(2, 1)), (1, 2, 6, 5)),
    (lambda: nn.ReLU(), lambda t: t.nn.ReLU(), (3, 4)),
    (lambda: nn.Flatten(), lambda t: t.nn.Flatten(), (2, 3, 2, 2)),
    (lambda: nn.MaxPool2d(3, 2, 1), lambda t: t.nn.MaxPool2d(3, 2, 1), (2, 2, 7, 5)),
    (lambda: nn.MaxPool2d(2, ceil_mode=True), lambda t: t.nn.MaxPool2d(2, ceil_mode=True),
     (1, 2, 5, 7)),
    (lambda: nn.AvgPool2d(3, 2, 1, True), lambda t: t.nn.AvgPool2d(3, 2, 1, True), (1, 1, 6, 7)),
    (lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False, floor=True),
     lambda t: t.nn.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 1, 6, 7)),
    (lambda: nn.MaxPool1d(2), lambda t: t.nn.MaxPool1d(2), (2, 3, 8)),
    (lambda: nn.MaxPool1d(3, 2, 1, ceil_mode=True), lambda t: t.nn.MaxPool1d(3, 2, 1, ceil_mode=True),
     (1, 2, 8)),
    (lambda: nn.AvgPool1d(3, 1), lambda t: t.nn.AvgPool1d(3, 1), (2, 2, 5)),
    (lambda: nn.AvgPool1d(2, 2, 1, True), lambda t: t.nn.AvgPool1d(2, 2, 1, True), (1, 3, 6)),
    (lambda: nn.Identity(54, unused=True), lambda t: t.nn.Identity(54, unused=True), (2, 3)),
    (lambda: nn.Softmax(dim=1), lambda t: t.nn.Softmax(dim=1), (3, 4)),
    (lambda: nn.Softmax(dim=-1), lambda t: t.nn.Softmax(dim=-1), (2, 3, 4)),
    (lambda: nn.LogSoftmax(dim=1), lambda t: t.nn.LogSoftmax(dim=1), (3, 4, 2)),
    (lambda: nn.LogSoftmax(dim=0), lambda t: t.nn.LogSoftmax(dim=0), (1, 5)),
    (lambda: nn.Tanh(), lambda t: t.nn.Tanh(), (2, 3, 4)),
    (lambda: nn.Sigmoid(), lambda t: t.nn.Sigmoid(), (1, 5)),
    (lambda: nn.LeakyReLU(), lambda t: t.nn.LeakyReLU(), (4, 3)),
    (lambda: nn.LeakyReLU(0.2), lambda t: t.nn.LeakyReLU(0.2), (2, 2, 3)),
    (lambda: nn.AdaptiveAvgPool2d(1), lambda t: t.nn.AdaptiveAvgPool2d(1), (2, 3, 5, 4)),
    (lambda: nn.AdaptiveAvgPool2d((3, 2)), lambda t: t.nn.AdaptiveAvgPool2d((3, 2)), (1, 2, 7, 5)),
    (lambda: nn.AdaptiveAvgPool2d((None, 2)), lambda t: t.nn.AdaptiveAvgPool2d((None, 2)),
     (2, 1, 3, 6)),
    (lambda: nn.AdaptiveAvgPool2d(4), lambda t: t.nn.AdaptiveAvgPool2d(4), (3, 4, 4)),  # (C, H, W)
])
def test_parameter_free_layers_match_pytorch(ours, theirs, x_shape):
    torch = pytest.importorskip("torch")
    torch_parity(torch, ours(), theirs(torch), x_shape)


def test_losses_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 4)) * 3
    targets = np.array([0, 3, 1, 1, 2, 0])
    compare_with_torch(torch, lambda a: nn.CrossEntropyLoss()(a, targets),
                       lambda t: torch.nn.CrossEntropyLoss()(t, torch.from_numpy(targets)),
                       logits, atol=1e-12)
    target = rng.normal(size=(6, 4))
    compare_with_torch(torch, lambda a: nn.MSELoss()(a, target),
                       lambda t: torch.nn.MSELoss()(t, torch.from_numpy(target)), logits, atol=1e-12)


LOSSES = [  # (ours, theirs, scores, targets)
    ("NLLLoss", dict(), "log_probs", "classes"),
    ("NLLLoss", dict(reduction="sum", ignore_index=2), "log_probs", "classes"),
    ("NLLLoss", dict(weight=[1.0, 2.0, 0.5, 1.5], reduction="none"), "log_probs", "classes"),
    ("CrossEntropyLoss", dict(label_smoothing=0.1), "scores", "classes"),
    ("CrossEntropyLoss", dict(weight=[1.0, 2.0, 0.5, 1.5], ignore_index=0), "scores", "classes"),
    ("BCELoss", dict(), "probabilities", "bits"),
    ("BCELoss", dict(reduction="sum"), "probabilities", "soft"),
    ("BCEWithLogitsLoss", dict(), "scores", "bits"),
    ("BCEWithLogitsLoss", dict(reduction="none", pos_weight=[2.0, 1.0, 0.5, 3.0]), "scores", "soft"),
]


@pytest.mark.parametrize("kind, kwargs, scores, targets", LOSSES)
def test_new_losses_match_pytorch(kind, kwargs, scores, targets):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    logits = rng.normal(size=(6, 4)) * 3
    inputs = {"scores": logits, "probabilities": 1 / (1 + np.exp(-logits)),
              "log_probs": logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))}[scores]
    target = {"classes": np.array([0, 3, 1, 2, 2, 0]),
              "bits": rng.integers(0, 2, size=(6, 4)).astype(np.float64),
              "soft": rng.uniform(size=(6, 4))}[targets]
    theirs_kwargs = {k: torch.tensor(v, dtype=torch.float64) if isinstance(v, list) else v
                     for k, v in kwargs.items()}
    loss = getattr(nn, kind)(**kwargs)
    reference = getattr(torch.nn, kind)(**theirs_kwargs)
    compare_with_torch(torch, lambda a: loss(a, target),
                       lambda t: reference(t, torch.from_numpy(target)), inputs, atol=1e-12)


def test_a_network_ending_in_log_softmax_and_nll_loss_is_cross_entropy():
    rng = np.random.default_rng(7)
    logits = ag.tensor(rng.normal(size=(5, 3)))
    targets = np.array([2, 0, 1, 1, 0])
    nll = nn.NLLLoss()(nn.LogSoftmax(dim=1)(logits), targets)
    assert nll.item() == pytest.approx(nn.CrossEntropyLoss()(logits, targets).item(), abs=1e-12)
    with pytest.raises(ValueError, match="NLLLoss: reduction must be 'mean', 'sum' or 'none'"):
        nn.NLLLoss(reduction="average")
    with pytest.raises(ValueError, match=r"^BCELoss: binary_cross_entropy: the input must be "
                                         r"probabilities in \[0, 1\]"):
        nn.BCELoss()(logits, np.zeros((5, 3)))


def test_new_layers_in_the_summary_and_the_diagrams():
    model = nn.Sequential(OrderedDict(
        conv=nn.Conv2d(1, 4, 3, padding=2, dilation=2, rng=0), bn=nn.BatchNorm2d(4),
        act=nn.LeakyReLU(0.1), pool=nn.MaxPool2d(2, ceil_mode=True), gap=nn.AdaptiveAvgPool2d(1),
        flat=nn.Flatten(), fc=nn.Linear(4, 3, rng=0), out=nn.LogSoftmax(dim=1)))
    x = ag.tensor(np.random.default_rng(8).normal(size=(2, 1, 5, 5)), name="images")
    loss = nn.NLLLoss()(model(x), np.array([0, 2]))
    rows = [" ".join(line.split()) for line in repr(model).splitlines()]
    for row in ["(conv): Conv2d(1, 4, kernel_size=3, padding=2, dilation=2) (2, 4, 5, 5) 40",
                "(bn): BatchNorm2d(4) (2, 4, 5, 5) 8",
                "(act): LeakyReLU(negative_slope=0.1) (2, 4, 5, 5)",
                "(pool): MaxPool2d(kernel_size=2, ceil_mode=True) (2, 4, 3, 3)",
                "(gap): AdaptiveAvgPool2d(output_size=1) (2, 4, 1, 1)",
                "(out): LogSoftmax(dim=1) (2, 3)",
                "total: 63 parameters"]:  # the running statistics are not parameters
        assert row in rows, row
    layers = ag.draw(loss, expand=False).source
    for title in ("conv</B>&#160;Conv2d", "bn</B>&#160;BatchNorm2d", "act</B>&#160;LeakyReLU",
                  "pool</B>&#160;MaxPool2d", "gap</B>&#160;AdaptiveAvgPool2d",
                  "out</B>&#160;LogSoftmax"):
        assert title in layers, title
    expanded = ag.draw(loss).source
    assert "bn.weight" in expanded and "bn.bias" in expanded and "maxpool" in expanded


@pytest.mark.parametrize("kind", ["basic", "deeper"])
def test_digits_cnn_loss_and_gradients_match_pytorch(kind):
    torch = pytest.importorskip("torch")
    nn.manual_seed(0)
    model = as64(digits_cnn(kind)).eval()  # eval: no dropout, so both compute the same thing
    layers = [torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
    if kind == "deeper":
        layers += [torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
    layers += [torch.nn.Flatten(), torch.nn.Linear(256 if kind == "basic" else 128, 10)]
    reference = torch.nn.Sequential(*layers).double().eval()
    ours = list(model.state_dict().values())
    for q, array in zip(reference.parameters(), ours):
        assert tuple(q.shape) == array.shape
        q.data = torch.from_numpy(array.copy())
    images, labels = load_digits()
    x, y = images[:16].astype(np.float64), labels[:16]
    loss = nn.CrossEntropyLoss()(model(ag.tensor(x)), y)
    loss.backward()
    expected = torch.nn.CrossEntropyLoss()(reference(torch.from_numpy(x)), torch.from_numpy(y))
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), abs=1e-12)
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), atol=1e-10, rtol=0, err_msg=name)


def test_small_cnn_gradients_match_central_differences_float64():
    """backward() through a whole model (every layer kind) against central differences."""
    nn.manual_seed(3)
    model = as64(nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                               nn.MaxPool2d(1), nn.Flatten(),
                               nn.Linear(12, 3)))
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 2, 4, 4))
    targets = np.array([0, 2])
    loss_fn = nn.CrossEntropyLoss()
    model.zero_grad()
    loss_fn(model(ag.tensor(x)), targets).backward()
    eps = 1e-6
    for name, p in model.named_parameters():
        numeric = np.zeros_like(p.data)
        flat = p.data.reshape(-1)
        with ag.no_grad():
            for k in range(flat.size):
                original = flat[k]
                flat[k] = original + eps
                plus = loss_fn(model(ag.tensor(x)), targets).item()
                flat[k] = original - eps
                minus = loss_fn(model(ag.tensor(x)), targets).item()
                flat[k] = original
                numeric.reshape(-1)[k] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(p.grad, numeric, atol=1e-7, rtol=1e-5, err_msg=name)
    # and the input gradient, with the library's own gradcheck
    assert ag.gradcheck(lambda t: loss_fn(model(t), targets), ag.tensor(x, requires_grad=True))


# ---------------------------------------------------------------- dropout

def test_dropout_scales_in_training_and_is_the_identity_in_eval():
    layer = nn.Dropout(0.25, rng=0)
    x = ag.tensor(np.ones((200, 100), dtype=np.float32), requires_grad=True)
    y = layer(x)
    kept = y.data != 0
    assert 0.72 < kept.mean() < 0.78
    assert np.allclose(y.data[kept], 1 / 0.75)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.75, rtol=1e-6)  # gradient flows only where kept
    layer.eval()
    assert layer(x) is x or np.array_equal(layer(x).data, x.data)


def test_dropout_masks_are_seedable():
    x = ag.tensor(np.ones((10, 10), dtype=np.float32))
    a, b = nn.Dropout(0.5, rng=3), nn.Dropout(0.5, rng=3)
    first = a(x).data
    np.testing.assert_array_equal(first, b(x).data)
    assert not np.array_equal(first, a(x).data)  # a new mask each call
    nn.manual_seed(9)
    c = nn.Dropout(0.5)(x).data
    nn.manual_seed(9)
    np.testing.assert_array_equal(c, nn.Dropout(0.5)(x).data)


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, "0.5"])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ValueError, match=r"Dropout: p is the probability.*\[0, 1\)"):
        nn.Dropout(p)


# ---------------------------------------------------------------- clear errors

def test_wrong_input_shape_names_the_layer_and_what_it_expects():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            return self.conv1(x)

    model = Model()
    with pytest.raises(ValueError, match=r"conv1 \(Conv2d\) expects input \(N, 3, H, W\).*"
                                         r"3 channel\(s\).*got shape \(2, 1, 8, 8\)"):
        model(ag.tensor(np.zeros((2, 1, 8, 8), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"conv1 \(Conv2d\).*got shape \(3, 8, 8\); add a batch axis"):
        model(ag.tensor(np.zeros((3, 8, 8), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"^Conv2d expects input"):  # called on its own: no path
        nn.Conv2d(3, 4, 3)(np.zeros((1, 2, 5, 5)))
    model = nn.Sequential(OrderedDict(flatten=nn.Flatten(), fc=nn.Linear(256, 10)))
    with pytest.raises(ValueError, match=r"fc \(Linear\) expects input \(\.\.\., 256\).*"
                                         r"got shape \(2, 64\); the input has 64 features, so "
                                         r"this layer needs in_features=64: Linear\(64, 10\)"):
        model(np.zeros((2, 1, 8, 8), dtype=np.float32))
    with pytest.raises(ValueError, match=r"^Conv1d expects input \(N, 2, L\)"):
        nn.Conv1d(2, 2, 3)(np.zeros((1, 2, 5, 5)))
    with pytest.raises(ValueError, match=r"^MaxPool2d expects input \(N, C, H, W\), got shape \(4, 4\)"):
        nn.MaxPool2d(2)(np.zeros((4, 4)))


def test_output_size_that_is_not_whole_names_the_layer():
    model = nn.Sequential(nn.Conv2d(1, 1, 3, stride=3))
    with pytest.raises(ValueError, match=r"^0 \(Conv2d\): .*7"):
        model(np.zeros((1, 1, 7, 7)))
    floored = nn.Conv2d(1, 1, 3, stride=3, floor=True)
    assert floored(np.zeros((1, 1, 7, 7))).shape == (1, 1, 2, 2)


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Linear(0, 3), "Linear: in_features must be a positive integer, got 0"),
    (lambda: nn.Conv2d(1, 2, 0), "Conv2d: kernel_size must be a positive integer, got 0"),
    (lambda: nn.Conv2d(1, 2, 3, stride=0), "Conv2d: stride must be >= 1"),
    (lambda: nn.Conv2d(1, 2, 3, padding=-1), "padding >= 0"),
    (lambda: nn.Conv2d(1, 2, (3, 3, 3)), r"kernel_size must be an int or 2 ints"),
    (lambda: nn.MaxPool2d(0), "MaxPool2d: kernel_size must be a positive integer"),
    (lambda: nn.MaxPool1d(2, padding=2), "MaxPool1d: padding must be between 0 and half"),
    (lambda: nn.AvgPool2d(2, ceil_mode=True, floor=True), "AvgPool2d: floor=True drops"),
    (lambda: nn.Softmax(), r"Softmax: pass dim.*Softmax\(dim=1\)"),
    (lambda: nn.LogSoftmax(1.0), "LogSoftmax: dim must be an int"),
    (lambda: digits_cnn("huge"), "kind must be one of 'basic', 'deeper', got 'huge'"),
])
def test_bad_layer_arguments(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_replacing_a_layer_keeps_its_place_in_a_sequential():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    replacement = nn.Linear(3, 4)
    setattr(model, "0", replacement)
    assert list(model._modules) == ["0", "1", "2"] and model._modules["0"] is replacement
    assert model(ag.Tensor(np.ones((1, 3)))).shape == (1, 2)
