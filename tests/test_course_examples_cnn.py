"""The course notes' worked examples on convolution and pooling, as exact tests.

Sources: ../shared/course-notes/001_*.txt (1-D and 2-D examples, max pooling 3x3 at
strides 1 and 3, parameter counts), 002_*.txt (output-size formula, the quiz) and
003_*.txt (output sizes, 2x2 max pooling and its gradient, the conv layer summary).
"""

import numpy as np
import pytest

import autograd
from autograd import functional as F


def as_batch(rows):
    """A single-channel image (or signal) as a batch of one: (1, 1, H, W) or (1, 1, L)."""
    return np.array(rows, dtype=np.float64)[None, None]


# ---------------------------------------------------------------- 001: the 2-D binary image

IMAGE_7x7 = [
    [0, 0, 0, 0, 0, 0, 0],
    [0, 1, 0, 1, 0, 0, 0],
    [0, 1, 0, 1, 0, 1, 0],
    [0, 1, 1, 1, 0, 0, 0],
    [0, 1, 0, 1, 0, 1, 0],
    [0, 1, 0, 1, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 0],
]
FILTER_3x3 = [
    [-1, -1, -1],
    [-1, 1, -1],
    [-1, -1, -1],
]
# "After convolution" in the notes, copied as printed (checked: no typo).
AFTER_CONVOLUTION = [
    [0, -4, 0, -3, -1],
    [-2, -7, -2, -4, 1],
    [-2, -5, -2, -5, -2],
    [-2, -7, -2, -5, 0],
    [0, -4, 0, -4, 0],
]
# "After convolution & ReLU": only the isolated pixel at (2, 5) of the image survives.
AFTER_RELU = [
    [0, 0, 0, 0, 0],
    [0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0],
]


def test_binary_image_convolution():
    out = F.conv2d(as_batch(IMAGE_7x7), as_batch(FILTER_3x3))
    assert out.shape == (1, 1, 5, 5)
    np.testing.assert_array_equal(out.data[0, 0], AFTER_CONVOLUTION)


def test_binary_image_convolution_then_relu():
    out = F.relu(F.conv2d(as_batch(IMAGE_7x7), as_batch(FILTER_3x3)))
    np.testing.assert_array_equal(out.data[0, 0], AFTER_RELU)


def test_the_notes_formula_cell_by_cell():
    """Y_ij = Σ_m Σ_n W_mn X_{i+m, j+n} (003), written out with loops as the independent check."""
    X, W = np.array(IMAGE_7x7), np.array(FILTER_3x3)
    Y = [[sum(W[m, n] * X[i + m, j + n] for m in range(3) for n in range(3)) for j in range(5)]
         for i in range(5)]
    np.testing.assert_array_equal(Y, AFTER_CONVOLUTION)


# ---------------------------------------------------------------- 001: the 1-D example

# The notes' 1-D image and its printed results are pictures lost from the text; what is
# left is the first window's arithmetic, "0 * -1 + 0 * 1 + 1 * -1 = -1", the filter with
# "bias +1", and "How many weights (including bias)? 4". This image is consistent with
# that line: it starts 0, 0, 1 and the filter is (-1, 1, -1).
SIGNAL = [0, 0, 1, 1, 1, 0, 1, 0, 0, 0]
FILTER_1D = [-1, 1, -1]
BIAS_1D = 1.0


def test_1d_first_window_is_the_notes_line():
    window = SIGNAL[:3]
    assert window == [0, 0, 1]
    terms = [x * w for x, w in zip(window, FILTER_1D)]
    assert terms == [0 * -1, 0 * 1, 1 * -1] and sum(terms) == -1
    out = F.conv1d(as_batch(SIGNAL), as_batch(FILTER_1D))
    assert out.data[0, 0, 0] == -1


def test_1d_convolution_with_bias_then_relu():
    x, w = as_batch(SIGNAL), as_batch(FILTER_1D)
    b = np.array([BIAS_1D])
    convolved = F.conv1d(x, w)
    np.testing.assert_array_equal(convolved.data[0, 0], [-1, 0, -1, 0, -2, 1, -1, 0])
    with_bias = F.conv1d(x, w, b)
    np.testing.assert_array_equal(with_bias.data[0, 0], [0, 1, 0, 1, -1, 2, 0, 1])
    np.testing.assert_array_equal(F.relu(with_bias).data[0, 0], [0, 1, 0, 1, 0, 2, 0, 1])


def test_1d_parameter_counts():
    # "How many weights (including bias)? 4"
    assert np.size(FILTER_1D) + np.size([BIAS_1D]) == 4
    weight, bias = np.zeros((10, 10)), np.zeros(10)                 # fully connected, 10 in, 10 out
    assert weight.size + bias.size == 10 * 11 == 110
    assert F.linear(np.zeros((1, 10)), weight, bias).shape == (1, 10)


# ---------------------------------------------------------------- 001: max pooling 3x3

RELU_OUTPUT_6x6 = [
    [0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 0],
    [0, 1, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0],
]


def test_max_pool_3x3_stride_1():
    out = F.max_pool2d(as_batch(RELU_OUTPUT_6x6), 3, stride=1)
    np.testing.assert_array_equal(out.data[0, 0], [[0, 0, 1, 1],
                                                   [1, 1, 1, 1],
                                                   [1, 1, 0, 0],
                                                   [1, 1, 0, 0]])


def test_max_pool_3x3_stride_3():
    out = F.max_pool2d(as_batch(RELU_OUTPUT_6x6), 3, stride=3)
    np.testing.assert_array_equal(out.data[0, 0], [[0, 1], [1, 0]])


def test_max_pool_has_no_weights():
    # "No weights in max pooling": the node has one input, the image.
    out = F.max_pool2d(autograd.Tensor(as_batch(RELU_OUTPUT_6x6), requires_grad=True), 3)
    assert len(out.node._inputs) == 1


# ------------------------------------------------------------ 003: 2x2 max pooling, its gradient

SLICE_4x4 = [
    [1, 1, 2, 4],
    [5, 6, 7, 8],
    [3, 2, 1, 0],
    [1, 2, 3, 4],
]


def test_max_pool_2x2_stride_2():
    out = F.max_pool2d(as_batch(SLICE_4x4), 2, stride=2)
    np.testing.assert_array_equal(out.data[0, 0], [[6, 8], [3, 4]])


def test_max_pool_gradient_is_the_indicator_formula():
    """(dL/dX)_{2i+m, 2j+n} = I(X_{2i+m, 2j+n} = Y_ij) (dL/dY)_ij"""
    x = autograd.Tensor(as_batch(SLICE_4x4), requires_grad=True)
    y = F.max_pool2d(x, 2, 2)
    upstream = np.array([[10.0, 20.0], [30.0, 40.0]])
    y.backward(upstream[None, None])
    X, Y = np.array(SLICE_4x4), y.data[0, 0]
    expected = np.zeros((4, 4))
    for i in range(2):
        for j in range(2):
            for m in range(2):
                for n in range(2):
                    indicator = X[2 * i + m, 2 * j + n] == Y[i, j]
                    expected[2 * i + m, 2 * j + n] = indicator * upstream[i, j]
    np.testing.assert_array_equal(x.grad[0, 0], expected)
    np.testing.assert_array_equal(x.grad[0, 0], [[0, 0, 0, 0],
                                                 [0, 10, 0, 20],
                                                 [30, 0, 0, 0],
                                                 [0, 0, 0, 40]])


# ---------------------------------------------------------------- 002/003: output sizes, parameters

def conv_output(height, width, channels, filters, kernel, stride=1, padding=0):
    x = np.zeros((1, channels, height, width))
    w = np.zeros((filters, channels, kernel, kernel))
    return F.conv2d(x, w, np.zeros(filters), stride=stride, padding=padding).shape


def test_quiz_128x128x3_ten_5x5_filters_pad_2():
    # W = (128 + 2*2 - 5)/1 + 1 = 128: the output is 128x128x10 (N, K, H, W here)
    assert conv_output(128, 128, 3, 10, 5, padding=2) == (1, 10, 128, 128)
    assert 5 * 5 * 3 * 10 + 10 == 760  # the notes' answer 2, checked against the layer below


def test_32x32x3_ten_5x5_filters_pad_2():
    assert conv_output(32, 32, 3, 10, 5, padding=2) == (1, 10, 32, 32)


def test_parameter_count_of_a_conv_layer_is_760():
    # F*F*D1 weights per filter, K filters and K biases
    weight, bias = np.zeros((10, 3, 5, 5)), np.zeros(10)
    assert weight.size + bias.size == (5 * 5 * 3 + 1) * 10 == 760
    assert F.conv2d(np.zeros((1, 3, 32, 32)), weight, bias, padding=2).shape == (1, 10, 32, 32)


@pytest.mark.parametrize("stride, padding, size", [(1, 0, 5), (2, 0, 3), (1, 1, 7)])
def test_7x7_input_3x3_filter(stride, padding, size):
    assert conv_output(7, 7, 1, 1, 3, stride, padding) == (1, 1, size, size)


def test_7x7_input_3x3_filter_stride_3_does_not_fit():
    with pytest.raises(ValueError, match=r"\(7 - 3 \+ 2\*0\)/3 \+ 1 = 2\.33 is not whole"):
        conv_output(7, 7, 1, 1, 3, stride=3)


def test_32x32_shrinks_without_padding():
    assert conv_output(32, 32, 1, 1, 3) == (1, 1, 30, 30)      # "32x32 and F = 3: 30x30"
    x = np.zeros((1, 1, 32, 32))
    for size in (28, 24):                                      # "32 -> 28 -> 24 ..."
        x = F.conv2d(x, np.zeros((1, 1, 5, 5))).data
        assert x.shape == (1, 1, size, size)


def test_filter_as_large_as_the_padded_input_is_a_fully_connected_layer():
    """Quiz answer 3: when F = N + 2P the conv layer is 'just a VNN'."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 5, 5))
    b = rng.standard_normal(4)
    conv = F.conv2d(x, w, b)
    assert conv.shape == (2, 4, 1, 1)
    dense = F.linear(F.flatten(x), w.reshape(4, -1), b)
    np.testing.assert_allclose(conv.data[:, :, 0, 0], dense.data, rtol=1e-12)


def test_pooling_output_size_formula():
    # W2 = (W1 - F)/S + 1 with F = 2, S = 2 and F = 3, S = 2 (the notes' common settings)
    assert F.max_pool2d(np.zeros((1, 12, 32, 32)), 2, 2).shape == (1, 12, 16, 16)
    assert F.max_pool2d(np.zeros((1, 1, 7, 7)), 3, 2).shape == (1, 1, 3, 3)


# ---------------------------------------------------------------- 001: a taste of backpropagation

def test_dZ_dW_is_the_matrix_of_shifted_inputs():
    """Regression with one filter of size 3 and padding on a 5x1 input: Z_i = W^T X_[i-1,i,i+1],
    so dloss/dW = (dZ/dW) dloss/dZ with dZ/dW the 3x5 matrix [X_0..X_4; X_1..X_5; X_2..X_6]
    (X_0 and X_6 are the zero padding)."""
    X = np.array([2.0, -1.0, 3.0, 0.5, 4.0])
    w = autograd.Tensor(np.array([[[0.3, -0.2, 0.5]]]), requires_grad=True)
    Z = F.conv1d(X[None, None], w, padding=1)
    assert Z.shape == (1, 1, 5)
    dloss_dZ = np.array([1.0, -2.0, 0.5, 3.0, -1.5])
    Z.backward(dloss_dZ[None, None])
    padded = np.concatenate([[0.0], X, [0.0]])
    dZ_dW = np.stack([padded[0:5], padded[1:6], padded[2:7]])
    np.testing.assert_allclose(w.grad[0, 0], dZ_dW @ dloss_dZ, rtol=1e-12)
