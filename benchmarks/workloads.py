"""The measured workloads, each written once for tapegrad and once for PyTorch.

Every ``make_*`` function returns ready-to-run callables (inputs built, warm caches
are the caller's business) so the timers measure the work and nothing else. Both
sides get the same float32 data; the CNN starts from the same weights on both sides.
"""

import numpy as np

import autograd
from autograd import functional as F


SEED = 0


def conv_flops(batch, channels, size, filters, kernel, padding, stride=1):
    """Multiply-adds x 2 of one conv2d forward: 2 N K C Fh Fw Ho Wo."""
    out = (size - kernel + 2 * padding) // stride + 1
    return 2 * batch * filters * channels * kernel * kernel * out * out


# ---------------------------------------------------------------- 1. conv2d

def make_conv(torch, batch, channels, size, filters, kernel, padding, stride=1):
    """Forward and forward+backward of conv2d with bias, on both sides.

    Returns {"ours": (forward, forward_backward), "torch": (...)}. Every input (x, the
    filters, the bias) requires a gradient, so backward computes dx, dw and db, as a
    conv inside a network does.
    """
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((batch, channels, size, size)).astype(np.float32)
    w = (rng.standard_normal((filters, channels, kernel, kernel)) * 0.1).astype(np.float32)
    b = rng.standard_normal(filters).astype(np.float32)
    out = (size - kernel + 2 * padding) // stride + 1
    upstream = rng.standard_normal((batch, filters, out, out)).astype(np.float32)

    ours = [autograd.Tensor(a, requires_grad=True) for a in (x, w, b)]

    def ours_forward():
        return F.conv2d(ours[0], ours[1], ours[2], stride=stride, padding=padding,
                        floor=stride > 1)  # PyTorch drops an incomplete last window

    def ours_forward_backward():
        for t in ours:
            t.grad = None
        ours_forward().backward(upstream)

    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    upstream_t = torch.from_numpy(upstream)

    def torch_forward():
        return torch.nn.functional.conv2d(theirs[0], theirs[1], theirs[2], stride=stride,
                                          padding=padding)

    def torch_forward_backward():
        for t in theirs:
            t.grad = None
        torch_forward().backward(upstream_t)

    return {"ours": (ours_forward, ours_forward_backward),
            "torch": (torch_forward, torch_forward_backward)}


def check_conv(torch, workload):
    """The two sides compute the same forward: a benchmark of a wrong result is worthless."""
    ours, theirs = workload["ours"][0]().data, workload["torch"][0]().detach().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-3)


def make_matmul(torch, size):
    """float32 (size x size) @ (size x size) in NumPy and in PyTorch: the machine's GEMM rate."""
    rng = np.random.default_rng(SEED)
    a = rng.standard_normal((size, size)).astype(np.float32)
    b = rng.standard_normal((size, size)).astype(np.float32)
    a_t, b_t = torch.from_numpy(a), torch.from_numpy(b)
    return {"ours": lambda: np.matmul(a, b), "torch": lambda: torch.matmul(a_t, b_t)}


# ---------------------------------------------------------------- 2. max pooling

def make_pool(torch, batch, channels, size):
    """2x2 stride-2 max pooling, forward+backward."""
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((batch, channels, size, size)).astype(np.float32)
    upstream = rng.standard_normal((batch, channels, size // 2, size // 2)).astype(np.float32)
    ours = autograd.Tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    upstream_t = torch.from_numpy(upstream)

    def ours_run():
        ours.grad = None
        F.max_pool2d(ours, 2).backward(upstream)

    def torch_run():
        theirs.grad = None
        torch.nn.functional.max_pool2d(theirs, 2).backward(upstream_t)

    return {"ours": ours_run, "torch": torch_run}


# ---------------------------------------------------------------- 4. graph overhead

def make_chain(torch, links):
    """Build ``a = a * w + b`` ``links`` times on 0-d tensors (2 nodes a link), then backward.

    Each callable returns (forward seconds, backward seconds) for the whole chain.
    """
    import time

    def chain(make):
        a, w, b = make(1.0), make(0.999), make(0.001)
        start = time.perf_counter()
        x = a
        for _ in range(links):
            x = x * w + b
        built = time.perf_counter()
        x.backward()
        done = time.perf_counter()
        return built - start, done - built

    def ours_scalar(value):
        return autograd.Tensor(np.float32(value), requires_grad=True)

    def torch_scalar(value):
        return torch.tensor(value, dtype=torch.float32, requires_grad=True)

    return {"ours": lambda: chain(ours_scalar), "torch": lambda: chain(torch_scalar)}
