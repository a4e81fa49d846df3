"""BatchNorm1d/2d against PyTorch (train and eval, running statistics over several steps, the
state dict both ways), and the buffers that hold the running statistics (register_buffer)."""

import numpy as np
import pytest

import autograd as ag
from autograd import nn


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def to_torch(torch, state):
    return {name: torch.from_numpy(np.array(value)) for name, value in state.items()}


def assert_state_equal(ours, theirs, atol=1e-12):
    """Every entry of our state dict equals PyTorch's: the same names in the same order."""
    mine, reference = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(reference)
    for name, value in mine.items():
        expected = reference[name].detach().numpy()
        assert value.shape == expected.shape and value.dtype == expected.dtype, name
        np.testing.assert_allclose(value, expected, atol=atol, rtol=0, err_msg=name)


# (layer, kwargs, input shape)
CASES = [
    ("BatchNorm1d", dict(num_features=3), (5, 3)),
    ("BatchNorm1d", dict(num_features=4), (2, 4, 6)),
    ("BatchNorm1d", dict(num_features=2), (1, 2, 5)),                 # a batch of 1, a length 5
    ("BatchNorm1d", dict(num_features=3, momentum=None), (4, 3)),     # the cumulative average
    ("BatchNorm2d", dict(num_features=3), (4, 3, 5, 6)),
    ("BatchNorm2d", dict(num_features=2, momentum=0.3, eps=1e-3), (2, 2, 3, 3)),
    ("BatchNorm2d", dict(num_features=1), (1, 1, 4, 4)),              # a batch of 1
    ("BatchNorm2d", dict(num_features=3, affine=False), (3, 3, 2, 4)),
    ("BatchNorm2d", dict(num_features=3, track_running_stats=False), (3, 3, 2, 4)),
    ("BatchNorm2d", dict(num_features=2, affine=False, track_running_stats=False), (2, 2, 3, 1)),
]


@pytest.mark.parametrize("kind, kwargs, shape", CASES)
def test_batchnorm_matches_pytorch_in_training_then_evaluation(torch, kind, kwargs, shape):
    """Four training steps (each a forward, a backward and an SGD step on the weights), then
    evaluation: every output, every gradient and every running statistic, float64."""
    rng = np.random.default_rng(sum(shape))
    ours = getattr(nn, kind)(**kwargs).to(np.float64)
    theirs = getattr(torch.nn, kind)(**kwargs).double()
    if ours.affine:  # weights away from 1 and 0, the same in both
        ours.weight.data[...] = rng.uniform(0.5, 1.5, size=ours.weight.shape)
        ours.bias.data[...] = rng.normal(size=ours.bias.shape)
    theirs.load_state_dict(to_torch(torch, ours.state_dict()))
    assert_state_equal(ours, theirs)
    for step in range(4):
        x = rng.normal(loc=step, scale=1 + step, size=shape)  # statistics that move
        upstream = rng.normal(size=shape)
        mine = ag.tensor(x, requires_grad=True)
        out = ours(mine)
        (out * upstream).sum().backward()
        reference = torch.tensor(x, requires_grad=True)
        expected = theirs(reference)
        (expected * torch.from_numpy(upstream)).sum().backward()
        np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=1e-9, rtol=0)
        np.testing.assert_allclose(mine.grad, reference.grad.numpy(), atol=1e-9, rtol=0)
        for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.grad, q.grad.numpy(), atol=1e-9, rtol=0, err_msg=name)
            p.data -= 0.1 * p.grad
            with torch.no_grad():
                q -= 0.1 * q.grad
            p.grad, q.grad = None, None
        assert_state_equal(ours, theirs, atol=1e-9)
    if ours.track_running_stats:
        assert ours.num_batches_tracked.item() == 4
        assert not np.allclose(ours.running_mean.data, 0)  # the statistics did move
    ours.eval(), theirs.eval()
    x = rng.normal(size=shape)
    mine = ag.tensor(x, requires_grad=True)
    out = ours(mine)
    out.sum().backward()
    reference = torch.tensor(x, requires_grad=True)
    expected = theirs(reference)
    expected.sum().backward()
    np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=1e-9, rtol=0)
    np.testing.assert_allclose(mine.grad, reference.grad.numpy(), atol=1e-9, rtol=0)
    assert_state_equal(ours, theirs, atol=1e-9)  # evaluation changed no statistic


def test_state_dict_round_trip_through_pytorch(torch):
    """A model with BatchNorm trained a little in PyTorch, loaded into tapegrad: the same
    evaluation outputs; and back: PyTorch loads tapegrad's state dict, buffers included."""
    def torch_model():
        return torch.nn.Sequential(
            torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
            torch.nn.Flatten(), torch.nn.Linear(64, 5), torch.nn.BatchNorm1d(5)).double()

    ours = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Flatten(), nn.Linear(64, 5), nn.BatchNorm1d(5)).to(np.float64)
    theirs = torch_model()
    rng = np.random.default_rng(0)
    for _ in range(3):
        theirs(torch.from_numpy(rng.normal(size=(6, 1, 4, 4)) + 2))
    theirs.eval()
    state = {name: value.numpy() for name, value in theirs.state_dict().items()}
    assert ours.load_state_dict(state) == ([], [])
    assert ours[1].num_batches_tracked.item() == 3
    assert ours[1].num_batches_tracked.data.dtype == np.int64
    ours.eval()
    x = rng.normal(size=(2, 1, 4, 4))
    np.testing.assert_allclose(ours(ag.tensor(x)).data,
                               theirs(torch.from_numpy(x)).detach().numpy(), atol=1e-12)

    ours.train()
    ours(ag.tensor(rng.normal(size=(7, 1, 4, 4))))  # tapegrad's own statistics now
    back = torch_model()
    back.load_state_dict(to_torch(torch, ours.state_dict()))  # strict: every key fits
    assert_state_equal(ours, back)
    assert back[1].num_batches_tracked.item() == 4
    back.eval(), ours.eval()
    np.testing.assert_allclose(ours(ag.tensor(x)).data,
                               back(torch.from_numpy(x)).detach().numpy(), atol=1e-12)


def test_saved_and_loaded_with_the_weights_file(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    model(ag.tensor(np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)))
    path = tmp_path / "weights.npz"
    ag.save(model.state_dict(), path)
    fresh = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    fresh.load_state_dict(ag.load(path))
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)
        assert a.dtype == b.dtype
    assert fresh[1].num_batches_tracked.item() == 1


# ---------------------------------------------------------------- buffers

def test_buffers_are_saved_but_are_not_parameters():
    bn = nn.BatchNorm2d(3)
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [name for name, _ in bn.named_buffers()] == ["running_mean", "running_var",
                                                       "num_batches_tracked"]
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]
    assert bn.num_parameters() == 6 and "total: 6 parameters" in repr(bn)
    x = ag.tensor(np.random.default_rng(2).normal(size=(4, 3, 2, 2)), requires_grad=True)
    bn(x).sum().backward()
    assert all(not b.requires_grad and b.grad is None for b in bn.buffers())
    assert bn.weight.grad is not None
    optimizer = ag.optim.SGD(bn.parameters(), lr=0.1)
    assert len(optimizer.params) == 2


def test_no_buffers_without_running_statistics():
    bn = nn.BatchNorm1d(2, affine=False, track_running_stats=False)
    assert bn.running_mean is None and bn.weight is None
    assert list(bn.state_dict()) == [] and list(bn.parameters()) == []
    x = np.random.default_rng(3).normal(size=(4, 2))
    bn.eval()  # no running statistics: the batch's, in evaluation too
    out = bn(ag.tensor(x)).data
    np.testing.assert_allclose(out, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), atol=1e-6)


def test_register_buffer_in_a_module_of_ones_own():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("scale", np.array([2.0, 3.0]))
            self.register_buffer("scratch", np.zeros(2), persistent=False)

        def forward(self, x):
            return x * self.scale

    model = nn.Sequential(Scaled())
    assert isinstance(model[0].scale, ag.Tensor) and not model[0].scale.requires_grad
    assert list(model.state_dict()) == ["0.scale"]  # the non-persistent one is not saved
    assert [name for name, _ in model.named_buffers()] == ["0.scale", "0.scratch"]
    model[0].scale = np.array([4.0, 5.0])  # assigning replaces the buffer's value
    assert list(model.state_dict()) == ["0.scale"]
    np.testing.assert_array_equal(model(ag.tensor(np.ones(2))).data, [4.0, 5.0])
    model.load_state_dict({"0.scale": np.array([1.0, 1.0])})
    np.testing.assert_array_equal(model[0].scale.data, [1.0, 1.0])
    with pytest.raises(ValueError, match=r"shapes differ: 0.scale is \(2,\) in the model"):
        model.load_state_dict({"0.scale": np.ones(3)})
    with pytest.raises(TypeError, match="buffer 'scale' holds an array or a Tensor"):
        model[0].scale = 2.0
    with pytest.raises(ValueError, match="buffer 'scale' takes no gradient"):
        model[0].scale = ag.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(KeyError, match="'forward' is already an attribute"):
        model[0].register_buffer("forward", np.ones(1))
    del model[0].scale
    assert list(model.state_dict()) == []


def test_to_converts_float_buffers_and_keeps_the_count_an_integer():
    bn = nn.BatchNorm1d(2).to(np.float64)
    assert bn.running_mean.data.dtype == bn.running_var.data.dtype == np.float64
    assert bn.num_batches_tracked.data.dtype == np.int64


def test_loading_misses_a_buffer_strictly():
    bn = nn.BatchNorm1d(2)
    state = bn.state_dict()
    del state["running_var"]
    with pytest.raises(ValueError, match=r"missing: running_var \(2,\)"):
        bn.load_state_dict(state)
    assert bn.load_state_dict(state, strict=False).missing_keys == ["running_var"]


# ---------------------------------------------------------------- train() and eval()

def test_train_and_eval_switch_batchnorm_and_dropout_everywhere():
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5, rng=0),
                          nn.Sequential(nn.BatchNorm1d(4)))
    x = ag.tensor(np.random.default_rng(4).normal(size=(8, 4)).astype(np.float32))
    model.eval()
    first, second = model(x).data, model(x).data
    np.testing.assert_array_equal(first, second)  # no dropout, fixed statistics
    assert model[1].num_batches_tracked.item() == 0  # evaluation updates nothing
    np.testing.assert_allclose(model(x[:1]).data, first[:1], rtol=1e-6)  # rows independent
    model.train()
    model(x)
    assert model[1].num_batches_tracked.item() == model[3][0].num_batches_tracked.item() == 1
    assert not np.array_equal(model(x).data, first)


# ---------------------------------------------------------------- errors and gradcheck

def test_batchnorm_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"0 \(BatchNorm2d\) expects input \(N, C, H, W\) with "
                                         r"C = num_features = 3.*\(2, 4, 5, 5\)"):
        nn.Sequential(nn.BatchNorm2d(3))(np.zeros((2, 4, 5, 5)))
    with pytest.raises(ValueError, match=r"BatchNorm1d expects input \(N, C\) or \(N, C, L\)"):
        nn.BatchNorm1d(3)(np.zeros((2, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"BatchNorm1d: batch_norm: training needs more than one"):
        nn.BatchNorm1d(3)(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="BatchNorm1d: momentum must be a number in"):
        nn.BatchNorm1d(3, momentum=1.5)
    with pytest.raises(ValueError, match="BatchNorm2d: eps .* positive"):
        nn.BatchNorm2d(3, eps=0)
    with pytest.raises(ValueError, match="num_features must be a positive integer"):
        nn.BatchNorm2d(0)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradcheck(training):
    bn = nn.BatchNorm2d(2).to(np.float64)
    bn.weight.data[...] = [0.7, 1.3]
    bn.bias.data[...] = [0.1, -0.2]
    bn.running_mean.data[...] = [0.3, -0.1]
    bn.running_var.data[...] = [1.5, 0.8]
    bn.train(training)
    x = ag.tensor(np.random.default_rng(5).normal(size=(3, 2, 2, 3)), requires_grad=True)
    assert ag.gradcheck(bn, x, atol=1e-7, rtol=1e-6)  # the weights' gradients: test above
