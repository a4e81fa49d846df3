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
# # 4. Backprop through a small CNN, by hand
#
# The notes end with "a taste of backpropagation" through the smallest CNN there is. A
# regression: the input $X$ is 5x1, there is **one filter of size 3**, with zero padding so
# the output is 5x1 too, then a ReLU, then a linear output and a squared loss.
#
# Forward pass:
# $$Z^1_i = (W^1)^\top X_{[i-1,\,i,\,i+1]} \quad (Z^1: 5 \times 1),\qquad
#   A^1_i = \mathrm{ReLU}(Z^1_i) \quad (A^1: 5 \times 1),$$
# $$A^2 = (W^2)^\top A^1 \quad (1 \times 1),\qquad L(A^2, y) = (A^2 - y)^2 .$$
#
# We compute the gradient of the loss with respect to the filter $W^1$ by hand, as the
# notes' product of three matrices, then let the engine do it and step through its
# backprop node by node.

# %%
import matplotlib.pyplot as plt
import numpy as np

import autograd as ag
from autograd import Stepper, draw
from autograd import functional as F

# %% [markdown]
# ## The numbers
#
# The pixels are numbered 1 to 5 as in the notes; $X_0$ and $X_6$ are the zero padding.

# %%
X = np.array([1.0, 2.0, -1.0, 3.0, -1.0])        # X_1 ... X_5
W1 = np.array([0.5, -1.0, 0.25])                 # the filter (W^1_1, W^1_2, W^1_3)
W2 = np.array([1.0, -0.5, 2.0, 0.5, -1.0])       # the linear output layer
y = 1.0                                          # the target

padded = np.concatenate([[0.0], X, [0.0]])       # X_0, X_1, ..., X_5, X_6
print("padded input X_0..X_6:", padded)

# %% [markdown]
# ## Forward, by hand
#
# $Z^1_2 = W^1_1 X_1 + W^1_2 X_2 + W^1_3 X_3$, and so on for each $i$:

# %%
Z1 = np.array([W1 @ padded[i - 1:i + 2] for i in range(1, 6)])
A1 = np.maximum(0.0, Z1)
A2 = W2 @ A1
L = (A2 - y) ** 2
print("Z1 =", Z1, "\nA1 =", A1, "\nA2 =", A2, "  L =", L)
assert np.array_equal(Z1, [-0.5, -1.75, 2.75, -3.75, 2.5])
assert A2 == 3.0 and L == 4.0

# %% [markdown]
# ## Backward, by hand: the notes' three matrices
#
# The chain rule for the filter:
# $$\frac{\partial L}{\partial W^1}
#   = \underbrace{\frac{\partial Z^1}{\partial W^1}}_{3 \times 5}\;
#     \underbrace{\frac{\partial A^1}{\partial Z^1}}_{5 \times 5}\;
#     \underbrace{\frac{\partial L}{\partial A^1}}_{5 \times 1}
#   \qquad (3 \times 1).$$
#
# **$\partial Z^1/\partial W^1$**: column $i$ holds the derivative of $Z^1_i$ with respect to
# the three weights, which is just the window $Z^1_i$ looked at:
# $(X_{i-1}, X_i, X_{i+1})$. So the 3x5 matrix is the input, shifted:
# $$\frac{\partial Z^1}{\partial W^1} =
# \begin{bmatrix} X_0 & X_1 & X_2 & X_3 & X_4 \\ X_1 & X_2 & X_3 & X_4 & X_5 \\
#                 X_2 & X_3 & X_4 & X_5 & X_6 \end{bmatrix}$$
# with the padding $X_0 = X_6 = 0$ in the corners.

# %%
dZ1_dW1 = np.stack([padded[0:5], padded[1:6], padded[2:7]])      # 3 x 5: shifted copies of X
print(dZ1_dW1)
assert dZ1_dW1.shape == (3, 5) and dZ1_dW1[0, 0] == 0 and dZ1_dW1[2, 4] == 0

# %% [markdown]
# **$\partial A^1/\partial Z^1$**: the ReLU acts on each entry alone, so this 5x5 matrix is
# diagonal, with 1 where $Z^1_i > 0$ and 0 where the unit is off.
#
# **$\partial L/\partial A^1$**: $L = (A^2 - y)^2$ and $A^2 = (W^2)^\top A^1$, so
# $\partial L/\partial A^1 = W^2 \cdot 2(A^2 - y)$.

# %%
dA1_dZ1 = np.diag((Z1 > 0).astype(float))                        # 5 x 5
dL_dA2 = 2 * (A2 - y)
dL_dA1 = W2 * dL_dA2                                             # 5 (x 1)
dL_dW1 = dZ1_dW1 @ dA1_dZ1 @ dL_dA1                              # (3x5)(5x5)(5x1) = 3 (x 1)
dL_dW2 = A1 * dL_dA2
print("dL/dA1 =", dL_dA1, "\ndL/dZ1 =", dA1_dZ1 @ dL_dA1, "\ndL/dW1 =", dL_dW1, "\ndL/dW2 =", dL_dW2)
assert np.array_equal(dL_dW1, [4.0, -4.0, 24.0])

# %% [markdown]
# Only $Z^1_3$ and $Z^1_5$ are positive, so only columns 3 and 5 of the shifted-input
# matrix contribute: $\partial L / \partial W^1 = 8\,(X_2, X_3, X_4) - 4\,(X_4, X_5, X_6)$.

# %%
assert np.array_equal(dL_dW1, 8 * padded[2:5] - 4 * padded[4:7])

# %% [markdown]
# ## The same network on the engine
#
# One `conv1d` with padding 1 (a `ConvolutionNode`), the ReLU (`max(0, ·)`), a matrix
# product for the output layer and the squared loss. Shapes as the engine wants them: the
# input is a batch of one signal with one channel, (1, 1, 5), and the filter bank holds one
# filter of one channel, (1, 1, 3).

# %%
x = ag.tensor(X.reshape(1, 1, 5), name="X")
w1 = ag.tensor(W1.reshape(1, 1, 3), requires_grad=True, name="W1")
w2 = ag.tensor(W2, requires_grad=True, name="W2")


def network(x, w1, w2):
    z1 = F.conv1d(x, w1, padding=1)           # Z1: (1, 1, 5)
    a1 = F.relu(z1)                           # A1
    a2 = w2 @ a1.reshape(5)                   # A2 = W2ᵀ A1, a scalar
    return z1, a1, a2, (a2 - y) ** 2          # L


z1, a1, a2, loss = network(x, w1, w2)
print("Z1 =", z1.data.ravel(), "  L =", loss.item())
assert np.array_equal(z1.data.ravel(), Z1) and loss.item() == L

# %%
draw(loss)

# %% [markdown]
# ### $\partial Z^1 / \partial W^1$ from the engine
#
# Backprop from $Z^1_i$ alone (an upstream gradient of 1 on entry $i$, 0 elsewhere) gives
# $\partial Z^1_i / \partial W^1$: column $i$ of the matrix above. Five backprops, five
# columns: the shifted inputs.

# %%
columns = []
for i in range(5):
    w = ag.tensor(W1.reshape(1, 1, 3), requires_grad=True)
    one_hot = np.zeros((1, 1, 5))
    one_hot[0, 0, i] = 1.0
    F.conv1d(x, w, padding=1).backward(one_hot)
    columns.append(w.grad.ravel())
from_engine = np.stack(columns, axis=1)
print(from_engine)
assert np.array_equal(from_engine, dZ1_dW1)

# %% [markdown]
# ### The whole gradient

# %%
loss.backward(retain_graph=True)      # keep the graph: we step through it below
print("W1.grad =", w1.grad.ravel(), "  W2.grad =", w2.grad)
assert np.array_equal(w1.grad.ravel(), dL_dW1)
assert np.array_equal(w2.grad, dL_dW2)
assert ag.gradcheck(lambda w1, w2: network(x, w1, w2)[-1], w1, w2)

# %% [markdown]
# ## Node by node
#
# The stepper replays the same backprop one node at a time. Each step is one
# `backwardPass`: the gradient that arrived (`dz`) and what the node sent to each input.
# Read it from the top: the square sends $2(A^2 - y) = 4$, the matrix product turns it
# into $\partial L/\partial A^1 = 4 W^2$, the ReLU zeroes the entries whose unit was off,
# and the convolution turns $\partial L / \partial Z^1$ into $\partial L / \partial W^1$.

# %%
w1.grad = w2.grad = None
stepper = Stepper(loss)
for step in stepper:
    print(step, end="\n\n")

# %% [markdown]
# The same numbers as by hand, at each node:

# %%
by_op = {step.op: step for step in stepper.steps}
assert by_op["matmul"].upstream == dL_dA2                                   # dL/dA2 arrives at A2 = W2ᵀ A1
assert np.array_equal(by_op["max"].upstream.ravel(), dL_dA1)                # dL/dA1 arrives at the ReLU
assert np.array_equal(by_op["conv"].upstream.ravel(), dA1_dZ1 @ dL_dA1)     # dL/dZ1 arrives at the conv
assert np.array_equal(by_op["conv"].grads[1].ravel(), dL_dW1)               # the conv sends dL/dW1
assert np.array_equal(w1.grad.ravel(), dL_dW1)

# %% [markdown]
# In Jupyter the same steps, with the diagram (Prev/Next, or Play):

# %%
stepper.widget(forward=True)

# %% [markdown]
# ## One step of gradient descent
#
# $W \leftarrow W - r\,\partial L/\partial W$ with learning rate $r = 0.002$, then the loss
# again; and 29 more steps.

# %%
r = 0.002
losses = [loss.item()]
for _ in range(30):
    w1.grad = w2.grad = None
    *_, loss = network(x, w1, w2)
    loss.backward()
    w1.data -= r * w1.grad
    w2.data -= r * w2.grad
    losses.append(network(x, w1, w2)[-1].item())
print(f"loss: {losses[0]:.3f} -> {losses[1]:.3f} after one step -> {losses[-1]:.5f} after {len(losses) - 1}")
assert losses[1] < losses[0] and losses[-1] < 0.01

fig, ax = plt.subplots(figsize=(5, 3))
ax.semilogy(losses, marker=".")
ax.set_xlabel("step")
ax.set_ylabel("loss (log scale)")
ax.set_title("the small CNN fits its one example")
fig.tight_layout()
