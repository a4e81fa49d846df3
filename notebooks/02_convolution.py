# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. Convolution by hand and by the engine
#
# A fully connected layer joins every input to every output by its own weight. For a
# 32x32x3 image stretched into 3072 numbers and 10 class scores that is already 30,720
# weights, and it ignores what we know about images:
#
# * **spatial locality**: a pixel is mostly related to its neighbours;
# * **translation invariance**: an edge is an edge wherever it is in the picture.
#
# A **convolutional layer** slides one small **filter** over the image and computes a dot
# product at every position: the same few weights everywhere. This notebook computes the
# notes' examples twice, once with plain loops and once with tapegrad's convolution node,
# and checks that they agree.

# %%
import matplotlib.pyplot as plt
import numpy as np

import autograd as ag
from autograd import draw, nn
from autograd import functional as F

# %% [markdown]
# ## Sliding a filter, by hand
#
# The notes' formula, for an image $X$ with $n_c$ channels and an $F \times F \times n_c$
# filter $W$:
# $$Y_{ij} = \sum_{m=0}^{F-1}\sum_{n=0}^{F-1}\sum_{p} W_{m,n,p}\, X_{i+m,\,j+n,\,p}.$$
# The notes write the channel last ($n_h \times n_w \times n_c$); tapegrad, like PyTorch,
# puts it first: an image is (channels, height, width) and a batch of them
# (N, channels, height, width). The formula is the same. Here it is as loops, with a stride
# $S$ (how far the filter moves each time) and zero padding $P$ (a border of zeros):

# %%
def convolve_by_hand(image, filt, bias=0.0, stride=1, padding=0):
    """Y[i, j] = sum over m, n, p of filt[p, m, n] * X[p, S*i + m, S*j + n] + bias (X zero-padded).

    ``padding`` is one number for every side, or (rows, columns) of zeros.
    """
    channels, height, width = image.shape
    _, F_h, F_w = filt.shape
    pad_h, pad_w = (padding, padding) if np.ndim(padding) == 0 else padding
    X = np.zeros((channels, height + 2 * pad_h, width + 2 * pad_w))
    X[:, pad_h:pad_h + height, pad_w:pad_w + width] = image
    out_h = (X.shape[1] - F_h) // stride + 1
    out_w = (X.shape[2] - F_w) // stride + 1
    Y = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            window = X[:, stride * i:stride * i + F_h, stride * j:stride * j + F_w]
            Y[i, j] = np.sum(filt * window) + bias
    return Y


# %% [markdown]
# ### A 2x2x3 filter on a colour image
#
# The notes' first example slides a 2x2x3 filter whose weights are all 1 over a colour
# image: each output cell is the sum of the 12 cells under the filter, 4 in each of the red,
# green and blue channels, and the first one is 28. The slide shows the numbers, not the
# whole image; here is a small image (2 rows, 5 columns) that gives the slide's first row
# of the activation layer, 28, 36, 50, 45.

# %%
red = np.array([[5, 1, 5, 3, 5],
                [5, 0, 7, 4, 5]])
green = np.array([[5, 0, 6, 3, 5],
                  [5, 0, 7, 3, 5]])
blue = np.array([[3, 0, 5, 1, 5],
                 [4, 0, 5, 1, 5]])
colour_image = np.stack([red, green, blue]).astype(np.float64)    # (3 channels, 2, 5)
ones_filter = np.ones((3, 2, 2))

first_window = colour_image[:, 0:2, 0:2]
print("the 12 cells under the filter:\n", first_window, "\nsum:", first_window.sum())
assert first_window.size == 12 and first_window.sum() == 28

activation = convolve_by_hand(colour_image, ones_filter)
print("activation layer:", activation)
assert np.array_equal(activation, [[28, 36, 50, 45]])

# %% [markdown]
# The same with the engine: `F.conv2d` takes a batch of images (N, C, H, W) and a bank
# of filters (K, C, F, F), and records one `ConvolutionNode` on the tape.

# %%
images = ag.tensor(colour_image[None])                 # a batch of one image
filters = ag.tensor(ones_filter[None])                 # a bank of one filter
by_engine = F.conv2d(images, filters)
print(by_engine.shape, by_engine.data[0, 0])
assert np.array_equal(by_engine.data[0, 0], activation)

# %% [markdown]
# A filter with ones on the blue channel only and zeros elsewhere sees only blue: a new
# activation layer, "representing blue colours" (the slide's 7, 10, 12).

# %%
blue_filter = np.zeros((3, 2, 2))
blue_filter[2] = 1.0
blue_activation = convolve_by_hand(colour_image, blue_filter)
print("blue activation:", blue_activation)
assert np.array_equal(blue_activation[0, :3], [7, 10, 12])

# %% [markdown]
# ### Several filters, several activation maps
#
# A layer holds a **filter bank**: each filter gives one activation map, and the maps
# stacked are the layer's output, a new image with one channel per filter. With 5 filters,
# 5 activation layers:

# %%
rng = np.random.default_rng(0)
bank = np.concatenate([ones_filter[None], blue_filter[None], rng.integers(-1, 2, size=(3, 3, 2, 2))])
maps = F.conv2d(images, ag.tensor(bank))
print("5 filters of shape", bank.shape[1:], "->", maps.shape)
for k in range(5):
    assert np.array_equal(maps.data[0, k], convolve_by_hand(colour_image, bank[k]))

# %%
fig, axes = plt.subplots(1, 8, figsize=(14, 1.6))
panels = [(channel, name, cmap) for channel, name, cmap in
          zip(colour_image, ["red", "green", "blue"], ["Reds", "Greens", "Blues"])]
panels += [(maps.data[0, k], f"map {k}", "Greys") for k in range(5)]
for ax, (array, title, cmap) in zip(axes, panels):
    ax.imshow(array, cmap=cmap, alpha=0.6)
    for (i, j), value in np.ndenumerate(array):
        ax.text(j, i, f"{value:g}", ha="center", va="center", fontsize=8)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("a 3-channel image and the 5 activation maps of a bank of 5 filters")
fig.tight_layout()

# %% [markdown]
# These activation layers, after a nonlinearity, are the images the next layer looks at.
#
# ## A 1-D example: a filter with a bias, then ReLU
#
# The second set of notes starts in one dimension: a 10-pixel binary image and the filter
# $(-1, 1, -1)$. (Deep learning's "convolution" does not flip the filter; mathematicians
# call this cross-correlation. The notes mark it with a star.) At one position the filter
# covers the pixels 0, 0, 1:
# $$0 \cdot (-1) + 0 \cdot 1 + 1 \cdot (-1) = -1.$$
# The image itself is a picture in the slides; we use one whose windows give that sum. With
# a zero on each end (padding 1) the output has 10 values, like the input.

# %%
signal = np.array([0, 0, 1, 1, 1, 0, 1, 0, 0, 0], dtype=np.float64)
filter_1d = np.array([-1.0, 1.0, -1.0])
assert signal[0:3] @ filter_1d == -1

# as a 1-pixel-high image: zeros added at the two ends, not above and below
after_convolution = convolve_by_hand(signal[None, None], filter_1d[None, None], padding=(0, 1))[0]
print("after convolution:", after_convolution)

# %% [markdown]
# The engine's `F.conv1d` works on (N, C, L) signals. With the bias $+1$ and a ReLU the
# filter becomes a detector: its output is largest at an isolated 1 with 0s on both sides.

# %%
x = ag.tensor(signal[None, None])                      # (1 example, 1 channel, 10 pixels)
w = ag.tensor(filter_1d[None, None], requires_grad=True)
b = ag.tensor(np.array([1.0]), requires_grad=True)
z = F.conv1d(x, w, b, padding=1)
a = F.relu(z)
print("after convolution, bias +1:", z.data[0, 0])
print("after ReLU:                ", a.data[0, 0])
assert np.array_equal(z.data[0, 0], after_convolution + 1)
assert np.array_equal(a.data[0, 0], np.maximum(after_convolution + 1, 0))
assert a.data[0, 0].argmax() == 6      # the lone 1 at position 6 lights up most

# %%
fig, axes = plt.subplots(3, 1, figsize=(6, 2.4), sharex=True)
for ax, row, title in zip(axes, [signal, z.data[0, 0], a.data[0, 0]],
                          ["image", "convolution + bias", "ReLU"]):
    ax.imshow(row[None], cmap="gray", aspect="auto")
    for k, value in enumerate(row):
        ax.text(k, 0, f"{value:g}", ha="center", va="center", color="tab:red")
    ax.set_yticks([])
    ax.set_ylabel(title, rotation=0, ha="right", va="center")
fig.tight_layout()

# %% [markdown]
# How many weights, including the bias? The filter has 3 and the bias 1: **4**, however
# long the image. A fully connected layer with 10 inputs and 10 outputs needs
# $10 \times 11 = 110$ (10 weights and a bias per output).

# %%
conv_layer = nn.Conv1d(1, 1, 3, padding=1)
fully_connected = nn.Linear(10, 10)
print("Conv1d(1, 1, 3):", conv_layer.num_parameters(), "  Linear(10, 10):", fully_connected.num_parameters())
assert conv_layer.num_parameters() == 4 and fully_connected.num_parameters() == 110

# %% [markdown]
# ## The 2-D binary-image example
#
# A 5x5 binary image (1 is white), padded with a border of zeros to 7x7, and a 3x3 filter
# of $-1$ with $+1$ in the middle: it responds to a white pixel whose neighbours are black.

# %%
binary_image = np.array([[1, 0, 1, 0, 0],
                         [1, 0, 1, 0, 1],
                         [1, 1, 1, 0, 0],
                         [1, 0, 1, 0, 1],
                         [1, 0, 1, 0, 1]], dtype=np.float64)
centre_filter = -np.ones((3, 3))
centre_filter[1, 1] = 1.0

notes_after_convolution = np.array([[0, -4, 0, -3, -1],
                                    [-2, -7, -2, -4, 1],
                                    [-2, -5, -2, -5, -2],
                                    [-2, -7, -2, -5, 0],
                                    [0, -4, 0, -4, 0]])

by_hand = convolve_by_hand(binary_image[None], centre_filter[None], padding=1)
by_engine = F.conv2d(ag.tensor(binary_image[None, None]), ag.tensor(centre_filter[None, None]), padding=1)
print(by_engine.data[0, 0])
assert np.array_equal(by_hand, notes_after_convolution)
assert np.array_equal(by_engine.data[0, 0], notes_after_convolution)

# %% [markdown]
# After the ReLU only one pixel survives: the lone white pixel at row 2, column 5 (counting
# from 1), the only white pixel with no white neighbour.

# %%
after_relu = F.relu(by_engine).data[0, 0]
print(after_relu)
expected = np.zeros((5, 5))
expected[1, 4] = 1
assert np.array_equal(after_relu, expected)

# %%
fig, axes = plt.subplots(1, 4, figsize=(10, 2.6))
panels = [(np.pad(binary_image, 1), "image, padded to 7x7"), (centre_filter, "filter"),
          (by_engine.data[0, 0], "after convolution"), (after_relu, "after ReLU")]
for ax, (array, title) in zip(axes, panels):
    ax.imshow(array, cmap="gray")
    for (i, j), value in np.ndenumerate(array):
        ax.text(j, i, f"{value:g}", ha="center", va="center", color="tab:red", fontsize=8)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()

# %% [markdown]
# With a filter of unknowns $w_1 \dots w_9$ and a bias $b$, every output pixel is
# $w \cdot (\text{3x3 window}) + b$: 10 numbers to learn, the same 10 at every position.
#
# ## Channels
#
# An RGB image is three images; a filter for it has the same depth, 3, and the dot product
# runs over all three channels (the third sum in the formula). One filter still gives one
# activation map. The notes' example: a 32x32x3 image and six 5x5x3 filters give six 28x28
# maps, a "new image" of size 28x28x6.

# %%
image_32 = rng.uniform(0, 1, size=(1, 3, 32, 32))
six_filters = rng.normal(size=(6, 3, 5, 5))
stacked = F.conv2d(ag.tensor(image_32), ag.tensor(six_filters))
print(stacked.shape)
assert stacked.shape == (1, 6, 28, 28)
for k in range(6):
    assert np.allclose(stacked.data[0, k], convolve_by_hand(image_32[0], six_filters[k]))

# %% [markdown]
# ## Stride
#
# The stride is how many cells the filter moves each time. The notes' 7x7 input and 3x3
# filter: stride 1 gives a 5x5 output, stride 2 a 3x3 output.

# %%
image_7 = ag.tensor(rng.uniform(size=(1, 1, 7, 7)))
filter_3 = ag.tensor(rng.uniform(size=(1, 1, 3, 3)))
for stride, size in [(1, 5), (2, 3)]:
    out = F.conv2d(image_7, filter_3, stride=stride)
    print(f"stride {stride}: {out.shape[2]}x{out.shape[3]}")
    assert out.shape[2:] == (size, size)
    assert np.allclose(out.data[0, 0], convolve_by_hand(image_7.data[0], filter_3.data[0], stride=stride))

# %% [markdown]
# **Stride 3 does not fit**: $(7 - 3)/3 + 1 = 2.33$. The filter would hang over the edge.
# tapegrad refuses and says what would fit, rather than silently dropping the last
# window (PyTorch drops it; `floor=True` asks for that behaviour):

# %%
try:
    F.conv2d(image_7, filter_3, stride=3)
except ValueError as error:
    print(error)
    message = str(error)
assert "2.33" in message
print("with floor=True:", F.conv2d(image_7, filter_3, stride=3, floor=True).shape)

# %% [markdown]
# The first set of notes shows the same problem on the colour image: with stride 2 the
# filter gives 28 and 50, and the third box "runs out of space". Zero padding makes the
# stride fit: with a column of zeros on the right the third box gives 30. (The engine's
# `padding=` pads every side equally, as PyTorch does; `np.pad` pads one side.)

# %%
try:
    F.conv2d(images, filters, stride=2)
except ValueError as error:
    print(error)
padded_right = np.pad(colour_image, ((0, 0), (0, 0), (0, 1)))   # one column of zeros on the right
with_padding = F.conv2d(ag.tensor(padded_right[None]), filters, stride=2)
print("stride 2 with a column of zeros:", with_padding.data[0, 0])
assert np.array_equal(convolve_by_hand(colour_image, ones_filter, stride=2), [[28, 50]])
assert np.array_equal(with_padding.data[0, 0], [[28, 50, 30]])

# %% [markdown]
# ## Zero padding
#
# Without padding the image shrinks at every layer: 7x7 becomes 5x5, and a 32x32 input
# convolved again and again with 5x5 filters goes 32, 28, 24, ... Shrinking too fast is not
# good. Padding the border with $P = (F-1)/2$ zeros keeps the size at stride 1: the 7x7
# input with a 1-pixel border gives a 7x7 output.

# %%
print("7x7, 3x3 filter, padding 1:", F.conv2d(image_7, filter_3, padding=1).shape[2:])
assert F.conv2d(image_7, filter_3, padding=1).shape[2:] == (7, 7)

x = ag.tensor(rng.uniform(size=(1, 1, 32, 32)))
five = ag.tensor(rng.uniform(size=(1, 1, 5, 5)) * 0.1)
sizes = [x.shape[2]]
for _ in range(3):
    x = F.conv2d(x, five)
    sizes.append(x.shape[2])
print("no padding, 5x5 filters:", " -> ".join(map(str, sizes)))
assert sizes == [32, 28, 24, 20]
assert F.conv2d(ag.tensor(image_32[:, :1]), five, padding=2).shape[2:] == (32, 32)

# %% [markdown]
# ## The output-size formula
#
# For an $N \times N$ input, an $F \times F$ filter, stride $S$ and padding $P$:
# $$W = \frac{N + 2P - F}{S} + 1.$$
# Here it is next to the engine's output, for every example above (N = 32, F = 3 gives
# 30 without padding and 32 with padding 1):

# %%
def output_size(N, F, S=1, P=0):
    """(N + 2P - F) / S + 1, which must be whole."""
    return (N + 2 * P - F) / S + 1


for N, F_size, S, P in [(7, 3, 1, 0), (7, 3, 2, 0), (7, 3, 3, 0), (7, 3, 1, 1),
                        (32, 3, 1, 0), (32, 3, 1, 1), (32, 5, 1, 2)]:
    predicted = output_size(N, F_size, S, P)
    x = ag.tensor(np.zeros((1, 1, N, N)))
    try:
        engine = F.conv2d(x, ag.tensor(np.zeros((1, 1, F_size, F_size))), stride=S, padding=P).shape[2]
    except ValueError:
        engine = "does not fit"
    print(f"N={N:3} F={F_size} S={S} P={P}:  formula {predicted:6.2f}   engine {engine}")
    if predicted == int(predicted):
        assert engine == predicted
    else:
        assert engine == "does not fit"

# %% [markdown]
# ## The quiz
#
# Given a 128x128x3 input, ten 5x5x3 filters, padding 2 and stride 1:
#
# 1. What are the output dimensions? $W = (128 + 2 \cdot 2 - 5)/1 + 1 = 128$, and one map
#    per filter: **128x128x10**.
# 2. How many parameters? Each filter has $5 \cdot 5 \cdot 3$ weights and a bias:
#    $5 \cdot 5 \cdot 3 \cdot 10 + 10 =$ **760**.

# %%
quiz_layer = nn.Conv2d(3, 10, 5, padding=2)
quiz_output = quiz_layer(ag.tensor(np.zeros((1, 3, 128, 128), dtype=np.float32)))
print("output:", quiz_output.shape, " parameters:", quiz_layer.num_parameters())
assert output_size(128, 5, 1, 2) == 128
assert quiz_output.shape == (1, 10, 128, 128)
assert quiz_layer.num_parameters() == 5 * 5 * 3 * 10 + 10 == 760

# %% [markdown]
# The same layer on the CS231n 32x32x3 input: 32x32x10, and again 76 parameters per filter,
# 760 in all (the count does not depend on the image size).

# %%
small_output = quiz_layer(ag.tensor(np.zeros((1, 3, 32, 32), dtype=np.float32)))
assert small_output.shape == (1, 10, 32, 32) and quiz_layer.weight.data[0].size + 1 == 76

# %% [markdown]
# 3. What if $F = N + 2P$? Then the filter covers the whole (padded) image, the output is
#    1x1 per filter, and each output is a dot product of a filter with the *whole* input:
#    "then it's just a VNN", a fully connected layer. Check it: a 5x5x3 "image", ten 5x5x3
#    filters, and a `Linear` layer with the same weights flattened.

# %%
tiny = ag.tensor(rng.normal(size=(1, 3, 5, 5)))
conv_weights = ag.tensor(rng.normal(size=(10, 3, 5, 5)))
as_conv = F.conv2d(tiny, conv_weights)
as_linear = F.linear(tiny.reshape(1, -1), conv_weights.reshape(10, -1))
print(as_conv.shape, as_linear.shape)
assert as_conv.shape == (1, 10, 1, 1)
assert np.allclose(as_conv.data.reshape(1, 10), as_linear.data)

# %% [markdown]
# ## The gradient of a convolution
#
# The convolution node also sends gradients back, to the image and to the filter; the
# same filter is used at every position, so its gradient adds up the contributions of all
# positions. `gradcheck` compares it with central differences:

# %%
x = ag.tensor(rng.normal(size=(2, 3, 6, 6)), requires_grad=True)
w = ag.tensor(rng.normal(size=(4, 3, 3, 3)), requires_grad=True)
b = ag.tensor(rng.normal(size=4), requires_grad=True)
assert ag.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=1, padding=1), x, w, b)
assert ag.gradcheck(lambda x, w: F.conv2d(x, w, stride=3), x, w)
print("conv2d gradients agree with central differences")

# %% [markdown]
# The 1-D detector as a graph: a convolution node (the bias is its third input), and the ReLU
# (`max` with the constant 0).

# %%
draw(F.relu(F.conv1d(ag.tensor(signal[None, None]), ag.tensor(filter_1d[None, None], requires_grad=True, name="w"),
                     ag.tensor(np.array([1.0]), requires_grad=True, name="b"), padding=1)))

# %% [markdown]
# **Summary.** A convolutional layer takes a $W_1 \times H_1 \times D_1$ volume and four
# choices: the number of filters $K$, their size $F$, the stride $S$ and the zero padding
# $P$. It gives a $W_2 \times H_2 \times K$ volume with $W_2 = (W_1 - F + 2P)/S + 1$, and
# learns $(F \cdot F \cdot D_1) \cdot K$ weights and $K$ biases. Convolutional layers are
# strung together with nonlinearities (ReLU) and pooling layers, the subject of the next
# notebook.
