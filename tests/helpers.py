"""Test helpers shared by the test files: one numerical-gradient routine used at two levels,
and one comparison with PyTorch."""

import numpy as np

import autograd


def numeric_grads(f, arrays, upstream, eps=1e-6):
    """Central differences of sum(upstream * f(*arrays)) with respect to each array (float64)."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        flat, gflat = a.reshape(-1), g.reshape(-1)
        for k in range(flat.size):
            original = flat[k]
            flat[k] = original + eps
            plus = np.sum(upstream * f(*arrays))
            flat[k] = original - eps
            minus = np.sum(upstream * f(*arrays))
            flat[k] = original
            gflat[k] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def sum_to_shape(grad, shape):
    """Sum a broadcast-shaped gradient down to ``shape`` (what the engine does)."""
    grad = np.asarray(grad, dtype=np.float64)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def check_node(make_node, *arrays, atol=1e-6, rtol=1e-5, seed=0):
    """One node's backwardPass alone, called directly, against central differences of forwardPass."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    node = make_node()
    out = node.forwardPass(*[a.copy() for a in arrays])
    upstream = np.random.default_rng(seed).uniform(0.5, 1.5, size=np.shape(out))
    grads = node.backwardPass(upstream)
    assert len(grads) == len(arrays), f"{node.name}: {len(grads)} gradients for {len(arrays)} inputs"
    expected = numeric_grads(lambda *xs: make_node().forwardPass(*xs), arrays, upstream)
    for i, (a, g, e) in enumerate(zip(arrays, grads, expected)):
        g = sum_to_shape(g, a.shape)
        assert g.shape == a.shape, f"{node.name}: gradient {i} has shape {g.shape}, input {a.shape}"
        np.testing.assert_allclose(g, e, atol=atol, rtol=rtol, err_msg=f"{node.name} input {i}")


def away_from_kinks(rng, shape, low=0.2, high=2.0):
    """Random values with |x| in [low, high]: no ties, no zeros, no kinks of max or abs."""
    magnitude = rng.uniform(low, high, size=shape)
    return magnitude * rng.choice([-1.0, 1.0], size=shape)


def broadcastable(a, b):
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def compare_with_torch(torch, ours, theirs, *arrays, seed=0, atol=1e-9, rtol=1e-7):
    """Run ``ours`` on Tensors and ``theirs`` on torch tensors, both float64, with the same
    random upstream gradient; the outputs and every input's gradient must agree."""
    mine = [autograd.Tensor(a, requires_grad=True) for a in arrays]
    out = ours(*mine)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(upstream)
    reference_inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
    reference = theirs(*reference_inputs)
    reference.backward(torch.tensor(upstream))
    assert out.shape == tuple(reference.shape)
    np.testing.assert_allclose(out.data, reference.detach().numpy(), rtol=rtol, atol=atol)
    for i, (m, r) in enumerate(zip(mine, reference_inputs)):
        assert m.grad is not None, f"input {i} got no gradient"
        np.testing.assert_allclose(m.grad, r.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i}")


def split_work_between_threads(monkeypatch, threads=3, large=None):
    """Make every job split between ``threads`` threads (``large``: elementwise passes
    from that many elements); returns the list of the parts handed to the pool."""
    from nodes.kernels import threads as pool
    monkeypatch.setattr(pool, "THREADS", threads)
    monkeypatch.setattr(pool, "MIN_ELEMENTS", 0)
    if large is not None:
        from nodes.kernels import elementwise, memory
        monkeypatch.setattr(pool, "LARGE", large)
        monkeypatch.setattr(elementwise, "MIN_BYTES", large)  # ReLU's kernel from there on
        monkeypatch.setattr(memory, "MIN_BYTES", large)  # and its arrays in kernel memory
    calls = []
    real_start = pool._Worker.start
    monkeypatch.setattr(pool._Worker, "start",
                        lambda self, *a: calls.append(a) or real_start(self, *a))
    return calls
