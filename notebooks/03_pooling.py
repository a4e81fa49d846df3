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
# # 3. Pooling and its gradient
#
# A **pooling layer** makes the activation maps smaller and more manageable: it
# downsamples each map on its own (the depth stays the same), which cuts the computation of
# the layers after it. **Max pooling** slides a window over the map, like a filter, and
# keeps the largest value in each window. It has no weights at all: it is a fixed function
# of its input.
#
# This notebook runs the notes' pooling examples by hand and with tapegrad, then looks at
# the gradient: where it goes, the notes' formula with an indicator, and what happens when
# a window holds two equal maxima.

# %%
import matplotlib.pyplot as plt
import numpy as np

import autograd as ag
from autograd import Stepper, draw, nn
from autograd import functional as F


# %%
def max_pool_by_hand(x, size, stride):
    """Y[i, j] = max of the size x size window of x whose top-left corner is (S*i, S*j)."""
    out_h = (x.shape[0] - size) // stride + 1
    out_w = (x.shape[1] - size) // stride + 1
    Y = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            Y[i, j] = x[stride * i:stride * i + size, stride * j:stride * j + size].max()
    return Y


def show_grid(ax, array, title, cmap="Blues"):
    ax.imshow(array, cmap=cmap)
    for (i, j), value in np.ndenumerate(array):
        ax.text(j, i, f"{value:g}", ha="center", va="center", fontsize=9)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])


# %% [markdown]
# ## 2x2 windows, stride 2
#
# The notes' single depth slice, max-pooled with 2x2 windows and stride 2: each window
# keeps one number out of four.

# %%
X = np.array([[1, 1, 2, 4],
              [5, 6, 7, 8],
              [3, 2, 1, 0],
              [1, 2, 3, 4]], dtype=np.float64)
print(max_pool_by_hand(X, 2, 2))

x = ag.tensor(X[None, None], requires_grad=True)     # (N, C, H, W) = (1, 1, 4, 4)
y = F.max_pool2d(x, 2, stride=2)
print(y.data[0, 0])
assert np.array_equal(y.data[0, 0], [[6, 8], [3, 4]])
assert np.array_equal(max_pool_by_hand(X, 2, 2), [[6, 8], [3, 4]])

# %% [markdown]
# ## The gradient: the indicator formula
#
# Forward, for stride 2:
# $Y_{ij} = \max\{X_{2i,2j},\ X_{2i+1,2j},\ X_{2i,2j+1},\ X_{2i+1,2j+1}\}$.
# Backward, the notes' formula:
# $$\left(\frac{\partial \mathcal L}{\partial X}\right)_{2i+m,\,2j+n}
#   = I\left(X_{2i+m,\,2j+n} = Y_{ij}\right)\left(\frac{\partial \mathcal L}{\partial Y}\right)_{ij},
#   \qquad m, n \in \{0, 1\}.$$
# The indicator $I$ is 1 where the input is the window's maximum and 0 elsewhere: the
# gradient of each window goes to its winner, and the three losers get nothing (moving them
# a little does not change the output).

# %%
def max_pool_grad_by_formula(X, Y, dY):
    """The notes' formula, literally: dX[2i+m, 2j+n] = I(X[2i+m, 2j+n] == Y[i, j]) * dY[i, j]."""
    dX = np.zeros_like(X)
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            for m in range(2):
                for n in range(2):
                    dX[2 * i + m, 2 * j + n] = (X[2 * i + m, 2 * j + n] == Y[i, j]) * dY[i, j]
    return dX


dY = np.array([[1.0, 2.0], [3.0, 4.0]])     # some gradient arriving from the layer above
y.backward(dY[None, None])
by_formula = max_pool_grad_by_formula(X, y.data[0, 0], dY)
print("engine:\n", x.grad[0, 0], "\nformula:\n", by_formula)
assert np.array_equal(x.grad[0, 0], by_formula)
assert np.array_equal(by_formula, [[0, 0, 0, 0], [0, 1, 0, 2], [3, 0, 0, 0], [0, 0, 0, 4]])

# %%
fig, axes = plt.subplots(1, 4, figsize=(10, 2.6))
show_grid(axes[0], X, "X")
show_grid(axes[1], y.data[0, 0], "Y = maxpool(X)")
show_grid(axes[2], dY, "dL/dY (arrives)", cmap="Oranges")
show_grid(axes[3], x.grad[0, 0], "dL/dX (sent back)", cmap="Oranges")
fig.tight_layout()

# %% [markdown]
# Away from ties, max pooling is differentiable and `gradcheck` agrees with central
# differences:

# %%
assert ag.gradcheck(lambda x: F.max_pool2d(x, 2, stride=2), ag.tensor(X[None, None], requires_grad=True))

# %% [markdown]
# The pooling node is one node on the tape; stepping through it shows the rule it applies:

# %%
x = ag.tensor(X[None, None], requires_grad=True, name="X")
loss = (F.max_pool2d(x, 2) * dY).sum()
for step in Stepper(loss).run():
    print(step)
draw(loss)

# %% [markdown]
# ## 3x3 windows, stride 1 and stride 3
#
# The second set of notes pools the output of a convolution and ReLU, a 6x6 map with two
# ones. With 3x3 windows the output size is $(W_1 - F)/S + 1$ (pooling does not usually pad):
# stride 1 gives $(6-3)/1+1 = 4$, stride 3 gives $(6-3)/3+1 = 2$.

# %%
relu_output = np.zeros((6, 6))
relu_output[1, 4] = 1.0
relu_output[3, 1] = 1.0

stride_1 = F.max_pool2d(ag.tensor(relu_output[None, None]), 3, stride=1).data[0, 0]
stride_3 = F.max_pool2d(ag.tensor(relu_output[None, None]), 3, stride=3).data[0, 0]
print("stride 1:\n", stride_1, "\nstride 3:\n", stride_3)
assert np.array_equal(stride_1, [[0, 0, 1, 1], [1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 0, 0]])
assert np.array_equal(stride_3, [[0, 1], [1, 0]])
assert np.array_equal(stride_1, max_pool_by_hand(relu_output, 3, 1))
assert np.array_equal(stride_3, max_pool_by_hand(relu_output, 3, 3))

# %% [markdown]
# The same as a layer. `MaxPool2d` has no parameters: "no weights in max pooling".

# %%
pool = nn.MaxPool2d(3, stride=3)
assert pool.num_parameters() == 0
assert np.array_equal(pool(ag.tensor(relu_output[None, None])).data[0, 0], stride_3)

# %%
fig, axes = plt.subplots(1, 3, figsize=(8, 2.8))
show_grid(axes[0], relu_output, "conv + ReLU output")
show_grid(axes[1], stride_1, "3x3 max pool, stride 1")
show_grid(axes[2], stride_3, "3x3 max pool, stride 3")
fig.tight_layout()

# %% [markdown]
# ## Overlapping windows
#
# With stride 1 the windows overlap: one input can be the maximum of several windows. Its
# gradient is then the **sum** of what those windows send back (the chain rule adds the
# contributions of every path). Send a gradient of 1 into each of the 16 outputs:

# %%
x = ag.tensor(relu_output[None, None], requires_grad=True)
F.max_pool2d(x, 3, stride=1).sum().backward()
print(x.grad[0, 0])
assert x.grad[0, 0, 1, 4] == 4      # the top-right 1 is the maximum of 4 windows
assert x.grad[0, 0, 3, 1] == 6      # the bottom-left 1 of 6 windows
assert x.grad.sum() == 16           # 16 windows, each sends its 1 to exactly one input

# %% [markdown]
# 4 + 6 = 10 windows hold a 1. Where do the other 6 go? Those windows hold nine zeros:
# every cell is "the maximum". That is a **tie**, and each of them sent its gradient to its
# top-left cell.
#
# ## Ties
#
# The notes' indicator $I(X = Y)$ is 1 for *every* cell equal to the maximum. In a window
# of four equal values it would send the window's gradient to all four, so four times the
# gradient would come out as went in: wrong, since moving all four together moves the output
# only once. At a tie the maximum is not differentiable, and a library has to choose.
#
# tapegrad's rule (documented in `MaxPoolNode`): **the first maximum in the window, in
# reading order (row by row), takes the whole gradient**. It is PyTorch's choice too, and it
# keeps the total that leaves each window equal to what arrived.

# %%
tied = np.array([[1.0, 1.0, 0.0, 2.0],
                 [1.0, 1.0, 2.0, 0.0],
                 [5.0, 0.0, 3.0, 3.0],
                 [5.0, 0.0, 3.0, 3.0]])
x = ag.tensor(tied[None, None], requires_grad=True)
y = F.max_pool2d(x, 2)
y.backward(dY[None, None])
formula = max_pool_grad_by_formula(tied, y.data[0, 0], dY)
print("Y =\n", y.data[0, 0])
print("the indicator formula, literally:\n", formula)
print("tapegrad (first maximum takes it):\n", x.grad[0, 0])
assert np.array_equal(x.grad[0, 0], [[1, 0, 0, 2], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]])
assert formula.sum() == 1 * 4 + 2 * 2 + 3 * 2 + 4 * 4 != dY.sum()

# %% [markdown]
# What leaves each window adds up to what arrived:

# %%
per_window = x.grad[0, 0].reshape(2, 2, 2, 2).sum(axis=(1, 3))
print(per_window)
assert np.array_equal(per_window, dY)

# %% [markdown]
# Central differences cannot settle a tie either: nudging one of two equal values up
# raises the maximum, nudging it down does not, and the average of the two slopes is 1/2.
# `gradcheck` reports the disagreement, and agrees again once the values are apart:

# %%
pair = ag.tensor(np.array([[[[2.0, 2.0], [0.0, 1.0]]]]), requires_grad=True)
print("at a tie:", ag.gradcheck(lambda x: F.max_pool2d(x, 2), pair, raise_exception=False))
apart = ag.tensor(np.array([[[[2.0, 1.9], [0.0, 1.0]]]]), requires_grad=True)
print("apart:   ", ag.gradcheck(lambda x: F.max_pool2d(x, 2), apart, raise_exception=False))
assert not ag.gradcheck(lambda x: F.max_pool2d(x, 2), pair, raise_exception=False)
assert ag.gradcheck(lambda x: F.max_pool2d(x, 2), apart)

# %% [markdown]
# ## Pooling the colour example
#
# The first set of notes pools its activation layer (8 rows of 4) with 2x2 windows and
# stride 2, halving both sides. Average pooling, the other common choice, keeps the mean of
# each window instead and sends a quarter of the gradient to each of the four cells.

# %%
activation_layer = np.array([[28, 36, 50, 45],
                             [35, 45, 15, 43],
                             [15, 1, 65, 25],
                             [15, 5, 38, 41],
                             [25, 6, 78, 45],
                             [35, 15, 15, 15],
                             [65, 25, 35, 5],
                             [15, 5, 68, 2]], dtype=np.float64)
x = ag.tensor(activation_layer[None, None], requires_grad=True)
max_pooled = F.max_pool2d(x, 2)
average_pooled = F.avg_pool2d(x, 2)
print("max:\n", max_pooled.data[0, 0], "\naverage:\n", average_pooled.data[0, 0])
assert np.array_equal(max_pooled.data[0, 0], max_pool_by_hand(activation_layer, 2, 2))
assert np.array_equal(max_pooled.data[0, 0], [[45, 50], [15, 65], [35, 78], [65, 68]])
average_pooled.sum().backward()
assert np.all(x.grad == 0.25)

# %%
fig, axes = plt.subplots(1, 3, figsize=(7, 3.5))
show_grid(axes[0], activation_layer, "activation layer")
show_grid(axes[1], max_pooled.data[0, 0], "2x2 max pool")
show_grid(axes[2], average_pooled.data[0, 0], "2x2 average pool")
fig.tight_layout()

# %% [markdown]
# **Summary.** A pooling layer takes a $W_1 \times H_1 \times D_1$ volume and two choices,
# the window size $F$ and the stride $S$ (commonly $F = 2, S = 2$ or $F = 3, S = 2$), and
# gives $W_2 = (W_1 - F)/S + 1$, $H_2 = (H_1 - F)/S + 1$, $D_2 = D_1$, with no parameters.
# Max pooling's gradient goes to each window's maximum (the first one, on ties) and adds up
# where windows overlap.
