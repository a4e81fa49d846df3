"""Convolution and pooling: PyTorch parity over a grid, gradchecks, output sizes, ties, dtypes.

Every test here runs twice: on the nodes' own math (``autograd.kernels("reference")``) and
on the fast kernels (``nodes/kernels/``); tests/test_kernels.py compares the two directly.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
import nodes
from autograd import functional as F
from helpers import compare_with_torch


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True, params=["fast", "reference"])
def kernels(request):
    with autograd.kernels(request.param):
        yield request.param


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def distinct(*shape, seed=0):
    """Values at least 0.1 apart, so max pooling has no ties and no kinks within eps."""
    size = int(np.prod(shape))
    return np.random.default_rng(seed).permutation(size).reshape(shape) * 0.1 - size * 0.05


# ---------------------------------------------------------------- conv vs PyTorch

# (N, C, H, W, K, Fh, Fw, stride, padding)
CONV2D_GRID = [
    (1, 1, 5, 5, 1, 3, 3, 1, 0),
    (2, 3, 7, 6, 4, 3, 2, 1, 0),            # non-square input and kernel
    (3, 2, 8, 8, 5, 3, 3, 2, 1),
    (2, 3, 9, 7, 2, 3, 3, (2, 1), (1, 0)),  # per-axis stride and padding
    (1, 4, 6, 10, 3, 1, 1, 1, 0),           # 1x1 filters
    (2, 1, 11, 9, 3, 5, 3, (3, 2), (2, 1)),
    (4, 3, 12, 12, 8, 3, 3, 1, 1),          # "same" padding, F=3, P=1
    (2, 2, 4, 5, 3, 4, 5, 1, 0),            # the kernel covers the whole input: 1x1 output
    (1, 2, 9, 9, 2, 2, 2, 3, 0),            # stride larger than the kernel (floored: 3x3)
    (5, 1, 6, 6, 2, 5, 5, 1, 2),
    (1, 3, 7, 7, 2, 3, 3, 3, (2, 1)),
    (2, 8, 6, 7, 8, 3, 3, 1, 1),            # dx as a convolution of dz (_dx_by_convolution)
]


@pytest.mark.parametrize("N, C, H, W, K, Fh, Fw, stride, padding", CONV2D_GRID)
def test_conv2d_matches_torch(torch, N, C, H, W, K, Fh, Fw, stride, padding):
    x, w, b = randn(N, C, H, W, seed=1), randn(K, C, Fh, Fw, seed=2), randn(K, seed=3)
    compare_with_torch(
        torch,
        lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding, floor=True),
        lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride=stride, padding=padding),
        x, w, b)


# (N, C, L, K, F, stride, padding)
CONV1D_GRID = [
    (1, 1, 10, 1, 3, 1, 0),
    (2, 3, 9, 4, 3, 2, 1),
    (3, 2, 16, 5, 5, 3, 2),
    (2, 1, 7, 2, 7, 1, 0),
    (1, 2, 12, 3, 1, 1, 0),
    (2, 2, 11, 3, 4, (2,), (1,)),
]


@pytest.mark.parametrize("N, C, L, K, Fl, stride, padding", CONV1D_GRID)
def test_conv1d_matches_torch(torch, N, C, L, K, Fl, stride, padding):
    x, w, b = randn(N, C, L, seed=4), randn(K, C, Fl, seed=5), randn(K, seed=6)
    compare_with_torch(
        torch,
        lambda x, w, b: F.conv1d(x, w, b, stride=stride, padding=padding, floor=True),
        lambda x, w, b: torch.nn.functional.conv1d(x, w, b, stride=stride, padding=padding),
        x, w, b)


# (N, C, H, W, K, Fh, Fw, stride, padding, dilation, groups)
CONV2D_DILATION_GROUPS_GRID = [
    (2, 3, 9, 8, 4, 3, 3, 1, 0, 2, 1),                  # dilation 2: taps two apart
    (1, 2, 11, 10, 3, 3, 2, (2, 1), (1, 2), (3, 2), 1),  # per-axis stride, padding, dilation
    (2, 4, 7, 7, 6, 3, 3, 1, 1, 1, 2),                  # two groups of 2 channels, 3 filters each
    (1, 6, 6, 5, 6, 3, 3, 1, 1, 1, 6),                  # depthwise: a filter per channel
    (2, 6, 8, 9, 12, 3, 3, 2, 1, 1, 3),                 # 3 groups, 4 filters per group, stride 2
    (3, 4, 10, 10, 4, 3, 3, 1, 2, 2, 4),                # depthwise and dilated
    (1, 4, 8, 8, 8, 1, 1, 1, 0, 1, 2),                  # grouped 1x1 filters
    (1, 2, 5, 5, 2, 2, 2, 1, 0, 4, 1),                  # the dilated kernel covers the whole input
]


@pytest.mark.parametrize("N, C, H, W, K, Fh, Fw, stride, padding, dilation, groups",
                         CONV2D_DILATION_GROUPS_GRID)
def test_conv2d_dilation_and_groups_match_torch(torch, N, C, H, W, K, Fh, Fw, stride, padding,
                                                dilation, groups):
    x, w, b = randn(N, C, H, W, seed=71), randn(K, C // groups, Fh, Fw, seed=72), randn(K, seed=73)
    compare_with_torch(
        torch,
        lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups, floor=True),
        lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups),
        x, w, b)


@pytest.mark.parametrize("N, C, L, K, Fl, stride, padding, dilation, groups", [
    (2, 3, 12, 2, 3, 1, 0, 2, 1),
    (1, 4, 15, 6, 3, 2, 2, 3, 2),
    (2, 3, 9, 3, 4, 1, 1, 1, 3),   # depthwise
    (1, 1, 7, 1, 2, 1, 0, 6, 1),   # the dilated kernel spans the input
])
def test_conv1d_dilation_and_groups_match_torch(torch, N, C, L, K, Fl, stride, padding, dilation,
                                                groups):
    x, w, b = randn(N, C, L, seed=74), randn(K, C // groups, Fl, seed=75), randn(K, seed=76)
    compare_with_torch(
        torch,
        lambda x, w: F.conv1d(x, w, None, stride, padding, dilation, groups, floor=True),
        lambda x, w: torch.nn.functional.conv1d(x, w, None, stride, padding, dilation, groups),
        x, w)
    compare_with_torch(
        torch,
        lambda x, w, b: F.conv1d(x, w, b, stride, padding, dilation, groups, floor=True),
        lambda x, w, b: torch.nn.functional.conv1d(x, w, b, stride, padding, dilation, groups),
        x, w, b)


def test_conv_without_bias_matches_torch(torch):
    x, w = randn(2, 3, 6, 5, seed=7), randn(4, 3, 2, 2, seed=8)
    compare_with_torch(torch, lambda x, w: F.conv2d(x, w, padding=(1, 2)),
                       lambda x, w: torch.nn.functional.conv2d(x, w, padding=(1, 2)), x, w)


# ---------------------------------------------------------------- pooling vs PyTorch

# (shape, kernel_size, stride)
POOL2D_GRID = [
    ((2, 3, 8, 8), 2, None),
    ((1, 2, 7, 9), 3, 1),          # overlapping windows
    ((2, 1, 9, 8), (3, 2), (2, 2)),
    ((2, 2, 6, 6), 3, 3),
    ((3, 2, 10, 7), (2, 3), (1, 2)),
    ((1, 1, 5, 5), 5, None),       # one window covers everything
    ((2, 2, 9, 9), 2, 3),          # stride larger than the kernel (floored)
]


@pytest.mark.parametrize("shape, kernel_size, stride", POOL2D_GRID)
def test_max_pool2d_matches_torch(torch, shape, kernel_size, stride):
    compare_with_torch(torch, lambda x: F.max_pool2d(x, kernel_size, stride, floor=True),
                       lambda x: torch.nn.functional.max_pool2d(x, kernel_size, stride),
                       distinct(*shape, seed=9))


@pytest.mark.parametrize("shape, kernel_size, stride", POOL2D_GRID)
def test_avg_pool2d_matches_torch(torch, shape, kernel_size, stride):
    compare_with_torch(torch, lambda x: F.avg_pool2d(x, kernel_size, stride, floor=True),
                       lambda x: torch.nn.functional.avg_pool2d(x, kernel_size, stride),
                       randn(*shape, seed=10))


POOL1D_GRID = [((2, 3, 10), 2, None), ((1, 2, 9), 3, 2), ((2, 1, 8), 4, 1), ((3, 2, 11), 3, 4)]


@pytest.mark.parametrize("shape, kernel_size, stride", POOL1D_GRID)
def test_pool1d_matches_torch(torch, shape, kernel_size, stride):
    compare_with_torch(torch, lambda x: F.max_pool1d(x, kernel_size, stride, floor=True),
                       lambda x: torch.nn.functional.max_pool1d(x, kernel_size, stride),
                       distinct(*shape, seed=11))
    compare_with_torch(torch, lambda x: F.avg_pool1d(x, kernel_size, stride, floor=True),
                       lambda x: torch.nn.functional.avg_pool1d(x, kernel_size, stride),
                       randn(*shape, seed=12))


# (shape, kernel_size, stride, padding, ceil_mode)
POOL2D_PADDING_GRID = [
    ((2, 3, 8, 8), 3, 2, 1, False),
    ((1, 2, 7, 9), 3, 2, 1, True),           # ceil_mode keeps the incomplete last window
    ((2, 1, 9, 8), (3, 2), (2, 2), (1, 0), True),
    ((2, 2, 6, 6), 2, 2, 1, False),
    ((1, 2, 5, 7), 2, 2, 0, True),           # ceil_mode: a last window of one column
    ((3, 2, 10, 7), (2, 3), (3, 2), (1, 1), True),
    ((1, 1, 1, 1), 2, 2, 1, True),           # a 1x1 input, the window mostly padding
    ((1, 1, 6, 6), 3, 3, 0, True),           # ceil_mode that changes nothing
    ((2, 1, 5, 5), 4, 3, 2, True),           # ceil's extra window would start in the padding
]


@pytest.mark.parametrize("shape, kernel_size, stride, padding, ceil_mode", POOL2D_PADDING_GRID)
def test_pool2d_padding_and_ceil_mode_match_torch(torch, shape, kernel_size, stride, padding,
                                                  ceil_mode):
    tf = torch.nn.functional
    compare_with_torch(
        torch, lambda x: F.max_pool2d(x, kernel_size, stride, padding, ceil_mode=ceil_mode,
                                      floor=not ceil_mode),
        lambda x: tf.max_pool2d(x, kernel_size, stride, padding, ceil_mode=ceil_mode),
        distinct(*shape, seed=77))
    for include in (True, False):
        compare_with_torch(
            torch, lambda x: F.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, include,
                                          floor=not ceil_mode),
            lambda x: tf.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, include),
            randn(*shape, seed=78))


@pytest.mark.parametrize("shape, kernel_size, stride, padding, ceil_mode", [
    ((2, 3, 10), 3, 2, 1, False), ((1, 2, 9), 2, 2, 1, True), ((2, 1, 8), 3, 3, 0, True),
    ((1, 1, 1), 3, 1, 1, False)])
def test_pool1d_padding_and_ceil_mode_match_torch(torch, shape, kernel_size, stride, padding,
                                                  ceil_mode):
    tf = torch.nn.functional
    compare_with_torch(
        torch, lambda x: F.max_pool1d(x, kernel_size, stride, padding, ceil_mode=ceil_mode,
                                      floor=not ceil_mode),
        lambda x: tf.max_pool1d(x, kernel_size, stride, padding, ceil_mode=ceil_mode),
        distinct(*shape, seed=79))
    compare_with_torch(
        torch, lambda x: F.avg_pool1d(x, kernel_size, stride, padding, ceil_mode,
                                      floor=not ceil_mode),
        lambda x: tf.avg_pool1d(x, kernel_size, stride, padding, ceil_mode),
        randn(*shape, seed=80))


def test_max_pool_padding_never_takes_the_gradient_as_in_torch(torch):
    """Inputs of -inf tie with the -inf padding: the first input takes the gradient (PyTorch's
    rule), so what arrives at a window still reaches the input."""
    x = np.full((1, 1, 4, 5), -np.inf)
    x[0, 0, 3, 4] = 1.0
    xt = autograd.Tensor(x, requires_grad=True)
    out = F.max_pool2d(xt, 3, 2, 1, ceil_mode=True)
    upstream = np.arange(1.0, 1.0 + out.data.size).reshape(out.shape)
    out.backward(upstream)
    reference = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.max_pool2d(reference, 3, 2, 1, ceil_mode=True)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    np.testing.assert_array_equal(xt.grad, reference.grad.numpy())
    assert xt.grad.sum() == upstream.sum()
    ints = nodes.MaxPoolNode(2, padding=1, floor=True).forwardPass(np.arange(9).reshape(1, 1, 3, 3))
    assert ints.tolist() == [[[[0, 2], [6, 8]]]]  # integers pad with their lowest value


def test_max_pool_ties_match_torch(torch):
    """Many ties (values from {0, 1, 2}) and overlapping windows: PyTorch's CPU kernel also
    gives a tie to the first maximum in row-major order, so the gradients agree exactly."""
    x = np.random.default_rng(13).integers(0, 3, size=(2, 3, 9, 8)).astype(np.float64)
    for kernel_size, stride in [(2, 2), (3, 1), (3, 2), ((2, 3), (1, 2))]:
        compare_with_torch(torch, lambda x: F.max_pool2d(x, kernel_size, stride, floor=True),
                           lambda x: torch.nn.functional.max_pool2d(x, kernel_size, stride), x)


# ---------------------------------------------------------------- gradchecks in float64

@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), ((1, 2), (2, 0))])
def test_conv2d_gradcheck(stride, padding):
    x = autograd.Tensor(randn(2, 2, 5, 6, seed=14), requires_grad=True)
    w = autograd.Tensor(randn(3, 2, 3, 2, seed=15), requires_grad=True)
    b = autograd.Tensor(randn(3, seed=16), requires_grad=True)
    assert autograd.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, floor=True),
                              x, w, b, atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, groups", [
    ((2, 4, 7, 6), (4, 2, 3, 2), 1, 1, 2, 2),
    ((1, 3, 8, 7), (3, 1, 2, 3), (2, 1), (0, 2), (3, 1), 3),   # depthwise
    ((2, 4, 9), (6, 2, 3), 2, 1, 2, 2),                        # 1-D
])
def test_conv_dilation_and_groups_gradcheck(x_shape, w_shape, stride, padding, dilation, groups):
    x = autograd.Tensor(randn(*x_shape, seed=81), requires_grad=True)
    w = autograd.Tensor(randn(*w_shape, seed=82), requires_grad=True)
    b = autograd.Tensor(randn(w_shape[0], seed=83), requires_grad=True)

    def conv(x, w, b):
        node = nodes.ConvolutionNode(stride, padding, True, dilation, groups)
        return autograd.apply(node, x, w, b)

    assert autograd.gradcheck(conv, x, w, b, atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("kernel_size, stride, padding, ceil_mode",
                         [(3, 2, 1, False), (2, 2, 1, True), ((3, 2), (2, 3), (1, 0), True)])
def test_pool_padding_and_ceil_mode_gradcheck(kernel_size, stride, padding, ceil_mode):
    x = autograd.Tensor(distinct(2, 2, 7, 6, seed=84), requires_grad=True)
    floor = not ceil_mode
    assert autograd.gradcheck(
        lambda x: F.max_pool2d(x, kernel_size, stride, padding, ceil_mode=ceil_mode, floor=floor),
        x, atol=1e-7, rtol=1e-6)
    for include in (True, False):
        assert autograd.gradcheck(
            lambda x: F.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, include, floor=floor),
            x, atol=1e-7, rtol=1e-6)


def test_conv_node_alone_gradcheck():
    """The node by itself (no bias, no reshape), 1-D, through autograd.apply."""
    x = autograd.Tensor(randn(2, 3, 8, seed=17), requires_grad=True)
    w = autograd.Tensor(randn(2, 3, 3, seed=18), requires_grad=True)

    def conv(x, w):
        return autograd.apply(nodes.ConvolutionNode(2, 1, floor=True), x, w)

    assert autograd.gradcheck(conv, x, w, atol=1e-7, rtol=1e-6)


def test_dx_as_a_convolution_of_dz_gradcheck():
    """A shape for which the shipped rule computes dx as a convolution of dz (C >= K/2,
    "same" padding), against central differences; and that the rule does pick it."""
    x = autograd.Tensor(randn(2, 8, 5, 4, seed=60), requires_grad=True)
    w = autograd.Tensor(randn(8, 8, 3, 3, seed=61), requires_grad=True)
    b = autograd.Tensor(randn(8, seed=62), requires_grad=True)
    assert autograd.gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=1), x, w, b,
                              atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("kernel_size, stride", [(2, None), (3, 1), ((2, 3), (2, 1))])
def test_pool_gradcheck(kernel_size, stride):
    x = autograd.Tensor(distinct(2, 2, 6, 7, seed=19), requires_grad=True)
    assert autograd.gradcheck(lambda x: F.max_pool2d(x, kernel_size, stride, floor=True), x,
                              atol=1e-7, rtol=1e-6)
    assert autograd.gradcheck(lambda x: F.avg_pool2d(x, kernel_size, stride, floor=True), x,
                              atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", [
    ((2, 3, 5, 6), (2, 3, 3, 2), 1, (1, 2)),     # stride 1: the by-rows columns
    ((2, 2, 6, 5), (3, 2, 2, 3), (2, 1), 1),     # stride 2: the by-pixel columns
    ((2, 2, 9), (3, 2, 4), 1, 2),                # 1-D
])
def test_conv_node_with_its_bias_gradcheck(x_shape, w_shape, stride, padding):
    """The bias as the node's third input: all three gradients against central differences."""
    x = autograd.Tensor(randn(*x_shape, seed=40), requires_grad=True)
    w = autograd.Tensor(randn(*w_shape, seed=41), requires_grad=True)
    b = autograd.Tensor(randn(w_shape[0], seed=42), requires_grad=True)

    def conv(x, w, b):
        return autograd.apply(nodes.ConvolutionNode(stride, padding, floor=True), x, w, b)

    assert autograd.gradcheck(conv, x, w, b, atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("needs", [(False, True, True), (True, False, False), (True, True, False),
                                   (False, False, True)])
def test_conv_returns_only_the_gradients_asked_for(needs):
    x, w, bias = randn(3, 2, 6, 6, seed=50), randn(4, 2, 3, 3, seed=51), randn(4, seed=52)
    full = nodes.ConvolutionNode(1, 1)
    dz = randn(*full.forwardPass(x, w, bias).shape, seed=53)
    expected = full.backwardPass(dz)
    node = nodes.ConvolutionNode(1, 1)
    node.needs_input_grad = needs
    node.forwardPass(x, w, bias)
    for wanted, got, want in zip(needs, node.backwardPass(dz), expected):
        if wanted:
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        else:
            assert got is None


@pytest.mark.parametrize("padding", [0, 1])
def test_conv_of_an_empty_batch(padding):
    """As in PyTorch: an empty output, an empty gradient for x, zero ones for w and the bias."""
    node = nodes.ConvolutionNode(1, padding)
    out = node.forwardPass(np.zeros((0, 3, 5, 5)), randn(2, 3, 3, 3, seed=54), randn(2, seed=55))
    assert out.shape == (0, 2, 3 + 2 * padding, 3 + 2 * padding)
    dx, dw, dbias = node.backwardPass(np.zeros(out.shape))
    assert dx.shape == (0, 3, 5, 5)
    np.testing.assert_array_equal(dw, np.zeros((2, 3, 3, 3)))
    np.testing.assert_array_equal(dbias, np.zeros(2))


def test_conv_bias_of_the_wrong_shape():
    node = nodes.ConvolutionNode()
    with pytest.raises(ValueError, match=r"conv bias must have shape \(4,\).*\(4, 2, 3, 3\).*\(4, 1\)"):
        node.forwardPass(np.zeros((1, 2, 5, 5)), np.zeros((4, 2, 3, 3)), np.zeros((4, 1)))


def test_gradcheck_catches_a_wrong_conv_backward():
    """The checks above can fail: a conv whose dw is off by a factor is caught."""
    class WrongConv(nodes.ConvolutionNode):
        def backwardPass(self, dz):
            dx, dw = super().backwardPass(dz)
            return dx, dw * 1.01

    w = autograd.Tensor(randn(2, 1, 2, 2, seed=20), requires_grad=True)
    x = randn(1, 1, 4, 4, seed=21)
    assert not autograd.gradcheck(lambda w: autograd.apply(WrongConv(), x, w), w,
                                  raise_exception=False)


# ---------------------------------------------------------------- the engine's view of the nodes

def test_conv_skips_the_input_gradient_when_not_needed():
    x = autograd.Tensor(randn(2, 1, 5, 5, seed=22))  # the first layer's input: no gradient
    w = autograd.Tensor(randn(2, 1, 3, 3, seed=23), requires_grad=True)
    out = F.conv2d(x, w)
    node = out.node
    assert node.needs_input_grad == (False, True)
    upstream = randn(*out.shape, seed=24)
    dx, dw = node.backwardPass(upstream)
    assert dx is None and dw.shape == w.shape
    out.backward(upstream)
    assert x.grad is None
    np.testing.assert_allclose(w.grad, dw)


def test_node_metadata():
    assert (nodes.ConvolutionNode.name, nodes.ConvolutionNode.symbol) == ("conv", "*")
    assert len(nodes.ConvolutionNode.rules) == 3  # x, w and the optional bias
    assert nodes.MaxPoolNode.name == "maxpool" and len(nodes.MaxPoolNode.rules) == 1
    assert nodes.AvgPoolNode.name == "avgpool" and len(nodes.AvgPoolNode.rules) == 1
    assert "first" in nodes.MaxPoolNode.__doc__  # the tie rule is documented


def test_the_stepper_shows_stride_and_dilation():
    """The step-through writes the conv's rule with S and D and gives their values."""
    x = autograd.Tensor(np.arange(10.0).reshape(1, 1, 10), name="x")
    w = autograd.Tensor(np.array([[[1.0, -1.0]]]), requires_grad=True, name="w")
    step = autograd.Stepper(F.conv1d(x, w, dilation=3).sum()).all_steps()[-1]
    text = step.explain()
    assert "x_pad[b, c, S·i + D·m, S·j + D·n] + bias[k] (S = 1, D = 3)" in text
    # the taps 3 apart: dw = (x[0] + ... + x[6], x[3] + ... + x[9])
    assert "dw[m, n] = Σᵢⱼ x[S·i+D·m, S·j+D·n] · dz[i, j] (S = 1, D = 3), so dw = [[[21.0, 42.0]]]" in text


def test_released_after_backward():
    x = autograd.Tensor(randn(1, 1, 5, 5, seed=25), requires_grad=True)
    w = autograd.Tensor(randn(1, 1, 2, 2, seed=26), requires_grad=True)
    out = F.max_pool2d(F.conv2d(x, w, padding=1), 2)
    conv = out.node._inputs[0].node
    out.sum().backward()
    assert not hasattr(conv, "store") and not hasattr(out.node, "x")
    with pytest.raises(RuntimeError, match="second time"):
        out.sum().backward()


# ---------------------------------------------------------------- output size and errors

def conv_error(x_shape, w_shape, **kwargs):
    conv = F.conv1d if len(x_shape) == 3 else F.conv2d
    with pytest.raises(ValueError) as info:
        conv(np.zeros(x_shape), np.zeros(w_shape), **kwargs)
    return str(info.value)


def test_output_size_not_whole_shows_the_computation():
    message = conv_error((1, 1, 7, 7), (1, 1, 3, 3), stride=3)
    assert "(7 - 3 + 2*0)/3 + 1 = 2.33 is not whole" in message
    assert "conv" in message and "(1, 1, 7, 7)" in message and "(1, 1, 3, 3)" in message
    assert "stride 1, 2 or 4" in message   # (7 - 3)/S + 1 is whole for these
    assert "padding 1 (output 3)" in message   # (7 - 3 + 2)/3 + 1 = 3
    assert "floor=True" in message


def test_output_size_error_for_one_axis_only():
    message = conv_error((1, 1, 7, 8), (1, 1, 3, 3), stride=(2, 2))
    assert "width (8 - 3 + 2*0)/2 + 1 = 3.5 is not whole" in message and "height" not in message


def test_floor_gives_pytorchs_size(torch):
    x, w = randn(1, 1, 7, 7, seed=27), randn(1, 1, 3, 3, seed=28)
    ours = F.conv2d(x, w, stride=3, floor=True)
    assert ours.shape == (1, 1, 2, 2)
    reference = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), stride=3).numpy()
    np.testing.assert_allclose(ours.data, reference, atol=1e-12)
    # The incomplete last window is dropped: the last row and column of x take no gradient.
    xt = autograd.Tensor(x, requires_grad=True)
    F.conv2d(xt, w, stride=3, floor=True).sum().backward()
    assert np.all(xt.grad[:, :, 6, :] == 0) and np.all(xt.grad[:, :, :, 6] == 0)


def test_pool_output_size_error():
    with pytest.raises(ValueError, match=r"\(7 - 3\)/3 \+ 1 = 2\.33 is not whole") as info:
        F.max_pool2d(np.zeros((1, 1, 7, 7)), 3)
    assert "maxpool" in str(info.value) and "stride 1, 2 or 4" in str(info.value)
    assert F.max_pool2d(np.zeros((1, 1, 7, 7)), 3, floor=True).shape == (1, 1, 2, 2)
    with pytest.raises(ValueError, match="avgpool.*not whole"):
        F.avg_pool1d(np.zeros((1, 1, 7)), 2)


def test_dilation_is_in_the_output_size_error():
    message = conv_error((1, 1, 10, 10), (1, 1, 3, 3), stride=2, dilation=2)
    assert "(10 - 2*(3 - 1) - 1 + 2*0)/2 + 1 = 3.5 is not whole" in message
    assert "floor=True" in message
    message = conv_error((1, 1, 4, 9), (1, 1, 3, 3), dilation=(2, 1))
    assert "kernel height 3 dilated by 2 (reaching 5) is larger than the input height 4" in message
    assert "(4 - 2*(3 - 1) - 1 + 2*0)/1 + 1 = 0" in message
    with pytest.raises(ValueError, match=r"length \(12 - 3\*\(2 - 1\) - 1 \+ 2\*1\)/3 \+ 1 = 4\.33"):
        F.conv1d(np.zeros((1, 1, 12)), np.zeros((1, 1, 2)), stride=3, padding=1, dilation=3)


def test_groups_that_do_not_divide_are_named():
    message = conv_error((1, 4, 5, 5), (6, 2, 3, 3), groups=3)
    assert "conv" in message
    assert "groups=3 must divide the 4 input channels (shape (1, 4, 5, 5))" in message
    assert "groups 1 or 2" in message
    message = conv_error((1, 4, 5, 5), (3, 2, 3, 3), groups=2)
    assert "groups=2 must divide the 3 filters (shape (3, 2, 3, 3))" in message
    message = conv_error((1, 4, 5, 5), (4, 4, 3, 3), groups=2)
    assert "expect 8" in message and "divided by groups: 4 / 2 = 2" in message
    with pytest.raises(TypeError, match="conv: groups must be an int, got 1.5"):
        nodes.ConvolutionNode(groups=1.5)
    with pytest.raises(ValueError, match="conv: groups must be at least 1"):
        nodes.ConvolutionNode(groups=0)
    with pytest.raises(ValueError, match="conv: dilation must be at least 1"):
        nodes.ConvolutionNode(dilation=(1, 0))


def test_pool_padding_and_ceil_mode_errors():
    with pytest.raises(ValueError, match="maxpool: padding 2 is more than half the kernel width 3"):
        F.max_pool2d(np.zeros((1, 1, 6, 6)), (4, 3), padding=2)
    with pytest.raises(ValueError, match="avgpool: floor=True drops .* ceil_mode=True keeps it"):
        F.avg_pool2d(np.zeros((1, 1, 6, 6)), 2, ceil_mode=True, floor=True)
    with pytest.raises(ValueError, match=r"\(7 - 2 \+ 2\*1\)/2 \+ 1 = 4\.5 is not whole.*ceil_mode=True"):
        F.max_pool2d(np.zeros((1, 1, 7, 8)), 2, padding=1)
    # height: ceil_mode's 5th window would start in the right padding, so PyTorch keeps 4
    assert F.max_pool2d(np.zeros((1, 1, 7, 8)), 2, padding=1, ceil_mode=True).shape == (1, 1, 4, 5)
    assert F.max_pool2d(np.zeros((1, 1, 7, 8)), 2, padding=0, ceil_mode=True).shape == (1, 1, 4, 4)


def test_channel_mismatch():
    message = conv_error((1, 3, 5, 5), (2, 4, 3, 3))
    assert "conv" in message and "3 channels" in message and "(2, 4, 3, 3)" in message


@pytest.mark.parametrize("x_shape, w_shape", [
    ((1, 0, 5, 5), (2, 0, 3, 3)),   # no input channels
    ((1, 1, 5, 5), (0, 1, 3, 3)),   # no filters
    ((1, 1, 5, 5), (2, 1, 0, 0)),   # a 0x0 kernel
    ((1, 1, 5, 5), (2, 1, 3, 0)),   # a kernel of width 0
    ((2, 0, 7), (3, 0, 2)),         # 1-D, no channels
])
def test_empty_channels_filters_or_kernel_are_named(x_shape, w_shape):
    """Not a ZeroDivisionError from deep inside: the node, both shapes and the rule."""
    message = conv_error(x_shape, w_shape)
    assert "conv" in message and str(x_shape) in message and str(w_shape) in message
    assert "at least one channel, one filter and a kernel of at least 1x1" in message


@pytest.mark.parametrize("kernel_size", [0, (1, 0), (0, 2)])
def test_a_zero_pooling_window_is_named(kernel_size):
    for make in (nodes.MaxPoolNode, nodes.AvgPoolNode):
        with pytest.raises(ValueError, match=r"pool: kernel_size must be at least 1"):
            autograd.apply(make(kernel_size), autograd.Tensor(np.zeros((1, 1, 4, 4))))


def test_kernel_larger_than_padded_input():
    message = conv_error((1, 1, 4, 6), (1, 1, 7, 3), padding=1)
    assert "conv" in message and "larger than the input height 4" in message
    assert "padded by 1" in message and "(1, 1, 4, 6)" in message


def test_wrong_ndim():
    with pytest.raises(ValueError, match=r"conv2d.*\(N, C, H, W\).*\(1, 5, 5\).*x\[None\]"):
        F.conv2d(np.zeros((1, 5, 5)), np.zeros((1, 1, 3, 3)))
    message = conv_error((1, 1, 5, 5), (1, 3, 3))
    assert "conv" in message and "(K, C, Fh, Fw)" in message
    with pytest.raises(ValueError, match=r"conv.*\(N, C, L\).*\(N, C, H, W\)"):
        autograd.apply(nodes.ConvolutionNode(), np.zeros((5, 5)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"maxpool.*\(2, 2\)"):
        autograd.apply(nodes.MaxPoolNode(2), np.zeros((2, 2)))


def test_bad_parameters():
    with pytest.raises(ValueError, match="conv: stride must be at least 1"):
        nodes.ConvolutionNode(stride=0)
    with pytest.raises(ValueError, match="conv: padding must be at least 0"):
        nodes.ConvolutionNode(padding=(1, -1))
    with pytest.raises(TypeError, match="maxpool: kernel_size"):
        nodes.MaxPoolNode(2.5)
    with pytest.raises(ValueError, match="padding .* has 2 entries.*1 spatial axis"):
        F.conv1d(np.zeros((1, 1, 8)), np.zeros((1, 1, 3)), padding=(1, 1))
    with pytest.raises(ValueError, match=r"conv2d: the bias must have shape \(2,\)"):
        F.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((2, 1, 3, 3)), np.zeros(3))


# ---------------------------------------------------------------- max pooling: ties and totals

def pool_grad(x, kernel_size, stride=None, upstream=None):
    xt = autograd.Tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    out = F.max_pool2d(xt, kernel_size, stride, floor=True)
    upstream = np.ones(out.shape) if upstream is None else np.asarray(upstream, dtype=np.float64)
    out.backward(upstream)
    return out.data, xt.grad


def test_tie_goes_to_the_first_maximum_in_row_major_order():
    _, grad = pool_grad(np.full((1, 1, 2, 2), 7.0), 2, upstream=[[[[3.0]]]])
    assert grad[0, 0].tolist() == [[3.0, 0.0], [0.0, 0.0]]
    # (0, 1) comes before (1, 0) in row-major order
    _, grad = pool_grad([[[[0.0, 5.0], [5.0, 1.0]]]], 2, upstream=[[[[2.0]]]])
    assert grad[0, 0].tolist() == [[0.0, 2.0], [0.0, 0.0]]
    # 1-D: the leftmost of equal values
    xt = autograd.Tensor(np.array([[[1.0, 4.0, 4.0, 2.0]]]), requires_grad=True)
    F.max_pool1d(xt, 4).backward(np.array([[[5.0]]]))
    assert xt.grad.tolist() == [[[0.0, 5.0, 0.0, 0.0]]]


def reference_max_pool_grad(x, kernel_size, stride, upstream):
    """Window by window: np.argmax of the flattened window is its first maximum in row-major
    order; that input gets the window's upstream gradient."""
    (Fh, Fw), (Sh, Sw) = np.broadcast_to(kernel_size, 2), np.broadcast_to(stride, 2)
    grad = np.zeros_like(x)
    for n, c, i, j in np.ndindex(*upstream.shape):
        window = x[n, c, Sh * i:Sh * i + Fh, Sw * j:Sw * j + Fw]
        m, k = np.unravel_index(np.argmax(window), window.shape)
        grad[n, c, Sh * i + m, Sw * j + k] += upstream[n, c, i, j]
    return grad


@pytest.mark.parametrize("kernel_size, stride", [(2, 2), (3, 1), (3, 2), ((2, 3), (1, 2))])
def test_window_gradient_adds_up_to_what_arrived(kernel_size, stride):
    x = np.random.default_rng(29).integers(0, 3, size=(2, 2, 9, 8)).astype(np.float64)  # many ties
    shape = pool_grad(x, kernel_size, stride)[0].shape
    upstream = np.random.default_rng(30).uniform(0.5, 1.5, size=shape)
    _, grad = pool_grad(x, kernel_size, stride, upstream)
    np.testing.assert_allclose(grad.sum(axis=(2, 3)), upstream.sum(axis=(2, 3)), rtol=1e-12)
    np.testing.assert_allclose(grad, reference_max_pool_grad(x, kernel_size, stride, upstream),
                               rtol=1e-12)


def test_non_overlapping_windows_each_send_exactly_their_gradient():
    x = np.random.default_rng(31).integers(0, 2, size=(1, 1, 6, 6)).astype(np.float64)
    upstream = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    out, grad = pool_grad(x, 2, 2, upstream)
    windows = grad.reshape(3, 2, 3, 2).transpose(0, 2, 1, 3).reshape(3, 3, 4)
    np.testing.assert_array_equal(windows.sum(axis=-1), upstream[0, 0])
    assert np.all((windows != 0).sum(axis=-1) == 1)  # one winner per window, even with ties
    winners = x.reshape(3, 2, 3, 2).transpose(0, 2, 1, 3).reshape(3, 3, 4)[windows != 0]
    np.testing.assert_array_equal(winners, out[0, 0].ravel())


def test_nan_takes_the_gradient_as_in_torch(torch):
    x = np.arange(32.0).reshape(1, 2, 4, 4)
    x[0, 0, 1, 0] = np.nan
    x[0, 1, 2, 2] = np.nan
    for kernel_size, stride in [(2, 2), (3, 1)]:
        out, grad = pool_grad(x, kernel_size, stride)
        reference = torch.tensor(x, requires_grad=True)
        torch.nn.functional.max_pool2d(reference, kernel_size, stride).sum().backward()
        np.testing.assert_array_equal(grad, reference.grad.numpy())


def max_pool_by_loops(x, kernel, stride, upstream):
    """Max pooling and its gradient one window at a time: the first maximum in row-major
    order wins, and a NaN beats every number (the first NaN of a window wins)."""
    (fh, fw), (sh, sw) = kernel, stride
    N, C, H, W = x.shape
    Ho, Wo = (H - fh) // sh + 1, (W - fw) // sw + 1
    out, grad = np.empty((N, C, Ho, Wo), dtype=x.dtype), np.zeros(x.shape)
    for b, c, i, j in np.ndindex(N, C, Ho, Wo):
        window = x[b, c, i * sh:i * sh + fh, j * sw:j * sw + fw].ravel()
        nans = np.flatnonzero(np.isnan(window)) if window.dtype.kind == "f" else []
        first = nans[0] if len(nans) else int(np.argmax(window))  # argmax: the first maximum
        out[b, c, i, j] = window[first]
        grad[b, c, i * sh + first // fw, j * sw + first % fw] += upstream[b, c, i, j]
    return out, grad


@pytest.mark.parametrize("kernel", [(2, 2), (1, 2), (2, 1)])
@pytest.mark.parametrize("size", [(6, 8), (7, 9)])  # tiled, and with a row and column left over
def test_two_by_two_pooling_ties_nans_and_leftovers(kernel, size):
    """2x2 (and 1x2, 2x1) windows at their own stride take a path of their own (two halving
    passes); it must agree with the window-by-window definition on ties, NaN and inf."""
    rng = np.random.default_rng(29)
    x = rng.integers(0, 3, size=(3, 2) + size).astype(np.float32)  # ties everywhere
    x.flat[rng.choice(x.size, 12, replace=False)] = np.nan  # some windows hold two NaNs
    x.flat[rng.choice(x.size, 4, replace=False)] = np.inf
    upstream = rng.standard_normal((3, 2, size[0] // kernel[0], size[1] // kernel[1]))
    expected_out, expected_grad = max_pool_by_loops(x, kernel, kernel, upstream)
    node = nodes.MaxPoolNode(kernel, floor=True)
    np.testing.assert_array_equal(node.forwardPass(x), expected_out)
    (grad,) = node.backwardPass(upstream)
    assert grad.dtype == np.float64  # float32 input, float64 gradient: the wider type
    np.testing.assert_array_equal(grad, expected_grad)

    ints = rng.integers(-2, 2, size=x.shape)  # integers: no NaN, and no sum to check
    node = nodes.MaxPoolNode(kernel, floor=True)
    expected_out, expected_grad = max_pool_by_loops(ints, kernel, kernel, upstream)
    np.testing.assert_array_equal(node.forwardPass(ints), expected_out)
    np.testing.assert_array_equal(node.backwardPass(upstream)[0], expected_grad)


def test_overlapping_windows_add():
    # One large value inside all four 2x2 windows of a 3x3 input at stride 1.
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 9.0
    _, grad = pool_grad(x, 2, 1, upstream=[[[[1.0, 2.0], [3.0, 4.0]]]])
    expected = np.zeros((3, 3))
    expected[1, 1] = 10.0
    np.testing.assert_array_equal(grad[0, 0], expected)


# ---------------------------------------------------------------- dtypes

@pytest.mark.parametrize("build", [
    lambda x, w, b: F.conv2d(x, w, b, padding=1),
    lambda x, w, b: F.max_pool2d(F.conv2d(x, w, b, stride=(1, 3), padding=(1, 0)), (2, 1)),
    lambda x, w, b: F.avg_pool2d(F.conv2d(x, w, b), 2, 1),
    lambda x, w, b: F.conv1d(x[:, :, 0, :], w[:, :, 0, :], b, padding=1),
])
def test_float32_stays_float32(build):
    x = autograd.Tensor(randn(2, 3, 6, 6, seed=32).astype(np.float32), requires_grad=True)
    w = autograd.Tensor(randn(4, 3, 3, 3, seed=33).astype(np.float32), requires_grad=True)
    b = autograd.Tensor(np.zeros(4, np.float32), requires_grad=True)
    out = build(x, w, b)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    for t in (x, w, b):
        assert t.grad.dtype == np.float32
    # and the node itself computes in float32 (no silent float64 intermediate)
    node = nodes.ConvolutionNode(padding=1)
    y = node.forwardPass(x.data, w.data)
    dx, dw = node.backwardPass(np.ones(y.shape, np.float32))
    assert y.dtype == dx.dtype == dw.dtype == np.float32
    for pool in (nodes.MaxPoolNode(2), nodes.AvgPoolNode(2)):
        z = pool.forwardPass(x.data)
        assert z.dtype == pool.backwardPass(np.ones(z.shape, np.float32))[0].dtype == np.float32


def test_float32_agrees_with_float64():
    x, w = randn(3, 2, 10, 9, seed=34), randn(4, 2, 3, 3, seed=35)
    single = F.conv2d(x.astype(np.float32), w.astype(np.float32), stride=(1, 2), padding=1,
                      floor=True)
    double = F.conv2d(x, w, stride=(1, 2), padding=1, floor=True)
    np.testing.assert_allclose(single.data, double.data, rtol=1e-5, atol=1e-5)


def test_1d_error_names_the_length():
    with pytest.raises(ValueError, match=r"output length \(8 - 3 \+ 2\*0\)/2 \+ 1 = 3\.5 is not"):
        F.conv1d(np.zeros((1, 1, 8)), np.zeros((1, 1, 3)), stride=2)


# ---------------------------------------------------------------- random geometries (hypothesis)

@st.composite
def conv_geometry(draw):
    spatial = draw(st.sampled_from([1, 2]))
    N, C, K = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(spatial))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(spatial))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(spatial))
    size = tuple(draw(st.integers(max(1, f - 2 * p), 9)) for f, p in zip(kernel, padding))
    return spatial, (N, C) + size, (K, C) + kernel, stride, padding


@settings(max_examples=40, deadline=None)
@given(conv_geometry(), st.booleans(), st.integers(0, 2**16))
def test_conv_random_geometry_matches_torch(torch, geometry, with_bias, seed):
    spatial, x_shape, w_shape, stride, padding = geometry
    ours = F.conv1d if spatial == 1 else F.conv2d
    theirs = torch.nn.functional.conv1d if spatial == 1 else torch.nn.functional.conv2d
    arrays = [randn(*x_shape, seed=seed), randn(*w_shape, seed=seed + 1)]
    if with_bias:
        arrays.append(randn(w_shape[0], seed=seed + 2))
    compare_with_torch(torch, lambda *a: ours(*a, stride=stride, padding=padding, floor=True),
                       lambda *a: theirs(*a, stride=stride, padding=padding), *arrays, seed=seed)


@st.composite
def dilated_grouped_geometry(draw):
    spatial, (N, C, *_), (K, _, *kernel), stride, padding = draw(conv_geometry())
    groups = draw(st.integers(1, 3))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(spatial))
    reach = [d * (f - 1) + 1 for d, f in zip(dilation, kernel)]
    size = tuple(draw(st.integers(max(1, r - 2 * p), 10)) for r, p in zip(reach, padding))
    return (spatial, (N, C * groups) + size, (K * groups, C) + tuple(kernel), stride, padding,
            dilation, groups)


@settings(max_examples=30, deadline=None)
@given(dilated_grouped_geometry(), st.integers(0, 2**16))
def test_conv_random_dilation_and_groups_match_torch(torch, geometry, seed):
    spatial, x_shape, w_shape, stride, padding, dilation, groups = geometry
    ours = F.conv1d if spatial == 1 else F.conv2d
    theirs = torch.nn.functional.conv1d if spatial == 1 else torch.nn.functional.conv2d
    arrays = [randn(*x_shape, seed=seed), randn(*w_shape, seed=seed + 1), randn(w_shape[0], seed=seed + 2)]
    compare_with_torch(torch, lambda *a: ours(*a, stride, padding, dilation, groups, floor=True),
                       lambda *a: theirs(*a, stride, padding, dilation, groups), *arrays, seed=seed)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
                  st.integers(0, 6), st.integers(0, 6), st.integers(0, 2**16))
def test_pool_random_geometry_matches_torch(torch, fh, fw, sh, sw, extra_h, extra_w, seed):
    x = np.random.default_rng(seed).integers(0, 4, size=(2, 2, fh + extra_h, fw + extra_w)) * 1.0
    tf = torch.nn.functional
    compare_with_torch(torch, lambda x: F.max_pool2d(x, (fh, fw), (sh, sw), floor=True),
                       lambda x: tf.max_pool2d(x, (fh, fw), (sh, sw)), x, seed=seed)
    compare_with_torch(torch, lambda x: F.avg_pool2d(x, (fh, fw), (sh, sw), floor=True),
                       lambda x: tf.avg_pool2d(x, (fh, fw), (sh, sw)), x, seed=seed)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 2), st.integers(0, 2), st.integers(0, 6), st.integers(0, 6), st.booleans(),
       st.booleans(), st.integers(0, 2**16))
def test_pool_random_padding_and_ceil_mode_match_torch(torch, fh, fw, sh, sw, ph, pw, extra_h,
                                                       extra_w, ceil_mode, include, seed):
    """Padding up to half the window, ceil_mode on and off, inputs from one pixel up, with
    ties (values from {0, 1, 2, 3}) and negatives that meet the padding."""
    ph, pw = min(ph, fh // 2), min(pw, fw // 2)
    shape = (2, 2, max(1, fh - 2 * ph) + extra_h, max(1, fw - 2 * pw) + extra_w)
    x = np.random.default_rng(seed).integers(-3, 4, size=shape) * 1.0
    tf, args = torch.nn.functional, ((fh, fw), (sh, sw), (ph, pw))
    floor = not ceil_mode  # tapegrad's floor=True: PyTorch's default rounding
    compare_with_torch(torch, lambda x: F.max_pool2d(x, *args, ceil_mode=ceil_mode, floor=floor),
                       lambda x: tf.max_pool2d(x, *args, ceil_mode=ceil_mode), x, seed=seed)
    compare_with_torch(torch, lambda x: F.avg_pool2d(x, *args, ceil_mode, include, floor=floor),
                       lambda x: tf.avg_pool2d(x, *args, ceil_mode, include), x, seed=seed)
