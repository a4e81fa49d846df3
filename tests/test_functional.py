"""autograd.functional: softmax, losses, dropout, linear, flatten against PyTorch; errors."""

import numpy as np
import pytest

import autograd
import nodes
from autograd import functional as F
from helpers import compare_with_torch


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def randn(*shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


# ---------------------------------------------------------------- softmax family

@pytest.mark.parametrize("shape, axis", [((5,), -1), ((4, 7), -1), ((4, 7), 0), ((2, 3, 4), 1)])
def test_log_softmax_and_softmax_match_torch(torch, shape, axis):
    x = randn(*shape, seed=1, scale=3.0)
    compare_with_torch(torch, lambda x: F.log_softmax(x, axis),
                       lambda x: torch.log_softmax(x, dim=axis), x)
    compare_with_torch(torch, lambda x: F.softmax(x, axis), lambda x: torch.softmax(x, dim=axis), x)


def test_softmax_rows_sum_to_one_and_stay_finite():
    x = np.array([[1e4, 0.0, -1e4], [3.0, 3.0, 3.0]], dtype=np.float32)
    probabilities = F.softmax(x).data
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(probabilities, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-7)


def test_log_softmax_gradcheck():
    x = autograd.Tensor(randn(3, 5, seed=2), requires_grad=True)
    assert autograd.gradcheck(lambda x: F.log_softmax(x, axis=0), x, atol=1e-8, rtol=1e-6)
    assert autograd.gradcheck(lambda x: F.softmax(x), x, atol=1e-8, rtol=1e-6)


def test_log_softmax_is_one_fused_node():
    x = autograd.Tensor(randn(2, 3), requires_grad=True)
    out = F.log_softmax(x)
    assert isinstance(out.node, nodes.LogSoftmaxNode) and out.node.name == "log_softmax"
    assert out.node._inputs[0] is x


def test_log_softmax_bad_axis():
    with pytest.raises(ValueError, match=r"log_softmax.*axis 2.*\(2, 3\)"):
        F.log_softmax(np.zeros((2, 3)), axis=2)


# ---------------------------------------------------------------- cross-entropy

@pytest.mark.parametrize("N, C", [(1, 2), (5, 3), (16, 10)])
def test_cross_entropy_matches_torch(torch, N, C):
    logits = randn(N, C, seed=3, scale=2.0)
    targets = np.random.default_rng(4).integers(0, C, size=N)
    compare_with_torch(torch, lambda z: F.cross_entropy(z, targets),
                       lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(targets)),
                       logits)


def test_cross_entropy_gradcheck():
    logits = autograd.Tensor(randn(4, 5, seed=5), requires_grad=True)
    targets = np.array([0, 4, 2, 2])
    assert autograd.gradcheck(lambda z: F.cross_entropy(z, targets), logits, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_extreme_logits_finite_and_equal_to_torch(torch, dtype):
    logits = np.array([[1e4, -1e4, 0.0],
                       [-1e4, 1e4, 3.0],
                       [1e4, 1e4, -1e4],
                       [-1e4, -1e4, -1e4]], dtype=dtype)
    targets = np.array([1, 1, 0, 2])
    z = autograd.Tensor(logits, requires_grad=True)
    loss = F.cross_entropy(z, targets)
    loss.backward()
    assert loss.dtype == dtype and z.grad.dtype == dtype
    assert np.isfinite(loss.data) and np.all(np.isfinite(z.grad))
    tz = torch.tensor(logits, requires_grad=True)
    reference = torch.nn.functional.cross_entropy(tz, torch.tensor(targets))
    reference.backward()
    # Row 0 costs 2e4, row 1 costs 0, row 2 log 2, row 3 log 3: mean (2e4 + log 6)/4.
    assert loss.item() == pytest.approx((2e4 + np.log(6)) / 4, rel=1e-6)
    np.testing.assert_allclose(loss.data, reference.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(z.grad, tz.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_cross_entropy_accepts_a_targets_tensor_and_lists():
    logits = randn(3, 4, seed=6)
    a = F.cross_entropy(logits, autograd.Tensor(np.array([0, 3, 1])))
    b = F.cross_entropy(logits, [0, 3, 1])
    assert a.item() == b.item()


def test_cross_entropy_errors():
    logits = np.zeros((3, 4))
    with pytest.raises(TypeError, match=r"cross_entropy: targets must be integer.*float64"):
        F.cross_entropy(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"target 4 at position 1.*4 classes.*\[0, 3\]"):
        F.cross_entropy(logits, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"target -1 at position 2"):
        F.cross_entropy(logits, np.array([0, 1, -1]))
    with pytest.raises(ValueError, match=r"must have shape \(3,\).*\(3, 4\).*got shape \(2,\)"):
        F.cross_entropy(logits, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"targets must have shape \(3,\).*got shape \(3, 1\)"):
        F.cross_entropy(logits, np.array([[0], [1], [2]]))
    with pytest.raises(ValueError, match=r"logits must have shape \(N, C\).*\(4,\)"):
        F.cross_entropy(np.zeros(4), np.array([1]))


# ---------------------------------------------------------------- mse

@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2)])
def test_mse_loss_matches_torch(torch, shape):
    compare_with_torch(torch, F.mse_loss, torch.nn.functional.mse_loss,
                       randn(*shape, seed=7), randn(*shape, seed=8))


def test_mse_loss_shape_mismatch():
    with pytest.raises(ValueError, match=r"mse_loss.*\(4, 1\).*\(4,\)"):
        F.mse_loss(np.zeros((4, 1)), np.zeros(4))


def test_mse_of_the_notes_cost():
    # C(W) = 1/N Σ (ỹ - y)², with the notes' first three terms
    predicted, actual = np.array([0.96, 0.10, 0.04]), np.array([1.0, 0.0, 0.0])
    expected = ((0.96 - 1) ** 2 + (0.10 - 0) ** 2 + (0.04 - 0) ** 2) / 3
    assert F.mse_loss(predicted, actual).item() == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------- dropout

def test_dropout_is_reproducible_with_a_seed_or_generator():
    x = np.ones((50, 40), dtype=np.float32)
    a = F.dropout(x, 0.3, rng=123).data
    b = F.dropout(x, 0.3, rng=np.random.default_rng(123)).data
    c = F.dropout(x, 0.3, rng=124).data
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dropout_scales_kept_units_and_drops_about_p():
    x = autograd.Tensor(np.full((200, 100), 3.0, dtype=np.float32), requires_grad=True)
    out = F.dropout(x, 0.25, rng=0)
    kept = out.data != 0
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data[kept], 3.0 / 0.75, rtol=1e-6)
    assert abs((~kept).mean() - 0.25) < 0.02              # 20,000 draws: sd about 0.003
    assert abs(out.data.mean() - 3.0) < 0.05                # inverted dropout keeps the mean
    out.backward(np.ones(out.shape, np.float32))
    np.testing.assert_allclose(x.grad[kept], 1 / 0.75, rtol=1e-6)
    assert np.all(x.grad[~kept] == 0)


def test_dropout_identity_when_not_training_or_p_zero():
    x = autograd.Tensor(randn(3, 4), requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, "0.5", None])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ValueError, match=r"dropout: p .* \[0, 1\)"):
        F.dropout(np.ones(3), p)


def test_dropout_gradient_matches_torch_with_the_same_mask(torch):
    x = randn(6, 5, seed=9)
    out = F.dropout(autograd.Tensor(x), 0.4, rng=7)
    mask = (out.data != 0).astype(np.float64)
    compare_with_torch(torch, lambda x: F.dropout(x, 0.4, rng=7),
                       lambda x: x * torch.tensor(mask) / 0.6, x, atol=1e-12)


# ---------------------------------------------------------------- relu, linear, flatten

def test_relu_matches_torch_and_gives_zero_gradient_at_zero(torch):
    x = np.array([[-2.0, 0.0, 3.0], [0.5, -0.0, 0.0]])
    compare_with_torch(torch, F.relu, torch.relu, x)
    xt = autograd.Tensor(x, requires_grad=True)
    F.relu(xt).sum().backward()
    assert xt.grad.tolist() == [[0, 0, 1], [1, 0, 0]]
    assert type(F.relu(xt).node) is nodes.MaxNode


def test_linear_matches_torch(torch):
    x, w, b = randn(4, 3, seed=10), randn(5, 3, seed=11), randn(5, seed=12)
    compare_with_torch(torch, F.linear, torch.nn.functional.linear, x, w, b)
    compare_with_torch(torch, lambda x, w: F.linear(x, w),
                       lambda x, w: torch.nn.functional.linear(x, w), randn(2, 6, 3, seed=13), w)


def test_linear_errors():
    with pytest.raises(ValueError, match=r"linear: the input of shape \(4, 2, 3\) must end in "
                                         r"in_features = 6"):
        F.linear(np.zeros((4, 2, 3)), np.zeros((5, 6)))
    with pytest.raises(ValueError, match=r"linear: the bias must have shape \(5,\)"):
        F.linear(np.zeros((4, 6)), np.zeros((5, 6)), np.zeros(6))


def test_flatten():
    x = autograd.Tensor(randn(2, 3, 4, 5), requires_grad=True)
    flat = F.flatten(x)
    assert flat.shape == (2, 60)
    assert F.flatten(x, 2).shape == (2, 3, 20)
    np.testing.assert_array_equal(flat.data, x.data.reshape(2, -1))
    flat.backward(np.arange(120.0).reshape(2, 60))
    np.testing.assert_array_equal(x.grad, np.arange(120.0).reshape(2, 3, 4, 5))


# ---------------------------------------------------------------- a small CNN end to end

def test_small_cnn_loss_and_all_gradients_match_torch(torch):
    rng = np.random.default_rng(14)
    x = rng.standard_normal((3, 2, 8, 8))
    w1, b1 = rng.standard_normal((4, 2, 3, 3)) * 0.5, rng.standard_normal(4)
    w2, b2 = rng.standard_normal((3, 4 * 4 * 4)) * 0.3, rng.standard_normal(3)
    targets = np.array([0, 2, 1])

    def ours(x, w1, b1, w2, b2):
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=1)), 2)
        return F.cross_entropy(F.linear(F.flatten(h), w2, b2), targets)

    def theirs(x, w1, b1, w2, b2):
        tf = torch.nn.functional
        h = tf.max_pool2d(tf.relu(tf.conv2d(x, w1, b1, padding=1)), 2)
        return tf.cross_entropy(tf.linear(h.flatten(1), w2, b2), torch.tensor(targets))

    compare_with_torch(torch, ours, theirs, x, w1, b1, w2, b2, atol=1e-10)
