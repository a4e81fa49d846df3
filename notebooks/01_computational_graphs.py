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
# # 1. Computational graphs and the chain rule
#
# A neural network is a big formula. To train it we need the derivative of a cost with
# respect to every weight. Writing that derivative by hand for a whole network is hopeless;
# instead we cut the formula into small operations, **nodes**, each of which knows two things:
#
# * `forwardPass`: compute its output from its inputs (and remember what it will need later);
# * `backwardPass`: given the gradient of the cost with respect to its output (the
#   *upstream* gradient), send a gradient back to each input: the **chain rule**, one node
#   at a time.
#
# The nodes and the arrows between them form the **computational graph**. This notebook
# builds a few graphs with tapegrad, draws them, and steps through them forward and
# backward, ending with a gradient-descent step on a small network.

# %%
import inspect

import numpy as np

import autograd as ag
import nodes
from autograd import Stepper, draw

# %% [markdown]
# ## The course's `MultiplicationNode`
#
# The notes write the multiplication node like this (their slide leaves out `self` in the
# argument lists; a method needs it):
#
# ```python
# class MultiplicationNode():
#     def forwardPass(input1, input2):
#         output = input1 * input2
#         self.input1 = input1
#         self.input2 = input2
#         return output
#     def backwardPass(dOutput):
#         dInput1 = self.input2 * dOutput
#         dInput2 = self.input1 * dOutput
#         return [dInput1, dInput2]
# ```
#
# tapegrad's node is the same idea, with the inputs called `x`, `y` and the output `z`:

# %%
print(inspect.getsource(nodes.MultiplicationNode))

# %% [markdown]
# Forward: `z = x * y`. Backward: the derivative of `x * y` with respect to `x` is `y`,
# so the gradient for `x` is `y` times the gradient that arrived, `dz`; and the other way
# round for `y`. The node *remembers* its inputs in the forward pass because the backward
# pass needs them.

# %%
node = nodes.MultiplicationNode()
z = node.forwardPass(3.0, -4.0)
dx, dy = node.backwardPass(2.0)      # suppose dz = 2 arrives from above
print("z =", z, "  dx =", dx, "  dy =", dy)
assert z == -12.0 and dx == -8.0 and dy == 6.0   # dx = y * dz = -4 * 2, dy = x * dz = 3 * 2

# %% [markdown]
# Every node states its local chain rule, which the diagrams and the step-through show:

# %%
for cls in (nodes.MultiplicationNode, nodes.AdditionNode, nodes.MaxNode):
    print(f"{cls.name}: {cls.__doc__.splitlines()[0]}\n    rules: {';  '.join(cls.rules)}")

# %% [markdown]
# ## A graph built with the Python API
#
# With tensors you do not call nodes yourself: every operator applies a node and the
# **tape** records it, in order. Here is the classic small example
# $f(x, y, z) = (x + y)\,z$ at $x = -2$, $y = 5$, $z = -4$.

# %%
x = ag.tensor(-2.0, requires_grad=True, name="x")
y = ag.tensor(5.0, requires_grad=True, name="y")
z = ag.tensor(-4.0, requires_grad=True, name="z")
q = x + y            # an AdditionNode is recorded
f = q * z            # a MultiplicationNode is recorded
print("f =", f.item(), " made by", f.node, " from", q.node)
assert f.item() == -12.0

# %% [markdown]
# The picture: round boxes are tensors (leaves you made, intermediate values, the
# output), the others are the nodes that ran.

# %%
draw(f)

# %% [markdown]
# ### Forward, node by node
#
# The stepper reads the tape. Its forward view lists each node with the numbers that went in
# and came out:

# %%
stepper = Stepper(f)
for forward_step in stepper.forward_steps():
    print(forward_step)

# %% [markdown]
# ### Backward, node by node
#
# Backprop starts at the output with $\partial f / \partial f = 1$ and walks the tape
# backwards. Each step runs one node's `backwardPass` and shows its local rule with the
# numbers filled in.
#
# The multiplication node gets `dz = 1` and sends `x+y = 3` to `z` and `z = -4` to `q`.
# The addition node passes its upstream gradient unchanged to both inputs, so `x` and `y`
# both get `-4`. That is the chain rule:
# $\frac{\partial f}{\partial x} = \frac{\partial f}{\partial q}\frac{\partial q}{\partial x} = z \cdot 1$.

# %%
first = stepper.step()
print(first)
second = stepper.step()
print(second)
assert stepper.step() is None        # two nodes, two steps: done
print("x.grad =", x.grad, " y.grad =", y.grad, " z.grad =", z.grad)
assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)

# %% [markdown]
# After the last step every `.grad` is what `f.backward()` gives: the stepper drives the
# engine's one backprop loop and pauses between its steps. In Jupyter,
# `stepper.widget(forward=True)` shows the same thing with Prev/Next buttons and the
# diagram, the current node highlighted:

# %%
Stepper(q * z).widget(forward=True)

# %% [markdown]
# ## The chain rule: $h(g(x))$
#
# $x \to g \to h$: the chain rule says $\frac{dh}{dx} = \frac{dh}{dg}\frac{dg}{dx}$.
# Take $g = 3x$ and $h = g \cdot g$. At $x = 2$: $g = 6$, $h = 36$,
# $\frac{dh}{dg} = 2g = 12$, $\frac{dg}{dx} = 3$, so $\frac{dh}{dx} = 36$.
#
# Note `g * g`: one multiplication node whose two inputs are the same tensor. Each input
# slot sends back its own gradient (`6` and `6`) and the engine **adds** them: that is
# where the `2` in $2g$ comes from.

# %%
x = ag.tensor(2.0, requires_grad=True, name="x")
g = x * 3.0
h = g * g
steps = Stepper(h).run()
for step in steps:
    print(step)
print("dh/dx =", x.grad)
assert h.item() == 36.0 and x.grad == 36.0

# %% [markdown]
# ## A two-layer network: $f = W_2 \max(0, W_1 x)$
#
# The notes' linear score function is $f = Wx$: with a 32x32x3 CIFAR image stretched to
# 3072 numbers and 10 classes, $W$ is 10x3072 and each score is the dot product of one row
# of $W$ with the image. The two-layer network puts a ReLU, $\max(0, \cdot)$, between two
# such layers. With 100 hidden units:

# %%
rng = np.random.default_rng(0)
image = ag.tensor(rng.uniform(0, 1, size=3072))
W1_cifar = ag.tensor(rng.normal(0, 0.01, size=(100, 3072)), requires_grad=True)
W2_cifar = ag.tensor(rng.normal(0, 0.01, size=(10, 100)), requires_grad=True)
scores = W2_cifar @ ag.maximum(0.0, W1_cifar @ image)
print("scores:", scores.shape, " weights:", W1_cifar.size + W2_cifar.size)
assert scores.shape == (10,) and W1_cifar.size + W2_cifar.size == 3072 * 100 + 100 * 10

# %% [markdown]
# Small enough to follow by hand: 3 inputs, 4 hidden units, 2 outputs.

# %%
x = ag.tensor(np.array([1.0, -2.0, 3.0]), name="x")
W1 = ag.tensor(np.array([[1.0, 0.0, 1.0],
                         [0.0, 1.0, 0.0],
                         [1.0, 1.0, 1.0],
                         [-1.0, 0.0, 0.0]]), requires_grad=True, name="W1")
W2 = ag.tensor(np.array([[1.0, -1.0, 2.0, 0.5],
                         [0.0, 1.0, -1.0, 1.0]]), requires_grad=True, name="W2")
hidden = W1 @ x                    # [4, -2, 2, -1]
active = ag.maximum(0.0, hidden)   # [4, 0, 2, 0]
f = W2 @ active
print("W1 x =", hidden.data, " max(0, W1 x) =", active.data, " f =", f.data)
assert np.array_equal(f.data, [8.0, -2.0])

# %%
draw(f)

# %% [markdown]
# Backward, with an upstream gradient $df$ on the two scores. The rules, one node at a time:
#
# * `f = W2 @ a`: $dW_2 = df\, a^\top$ (an outer product) and $da = W_2^\top df$;
# * `a = max(0, h)`: $dh = [h > 0]\; da$ (the gradient passes where the unit was active);
# * `h = W1 @ x`: $dW_1 = dh\, x^\top$.

# %%
df = np.array([1.0, -1.0])
f.backward(df)

dW2 = np.outer(df, active.data)
da = W2.data.T @ df
dh = (hidden.data > 0) * da
dW1 = np.outer(dh, x.data)
print("dW2 =\n", W2.grad, "\ndW1 =\n", W1.grad)
assert np.allclose(W2.grad, dW2) and np.allclose(W1.grad, dW1)
assert np.array_equal(W1.grad, [[1, -2, 3], [0, 0, 0], [3, -6, 9], [0, 0, 0]])

# %% [markdown]
# Hidden units 2 and 4 were off (negative before the ReLU), so the rows of $dW_1$ that
# feed them are zero: no gradient flows through a unit that is switched off.
#
# `gradcheck` compares the engine's gradients with central differences,
# $\frac{f(w + \epsilon) - f(w - \epsilon)}{2\epsilon}$, one weight at a time, in float64:

# %%
assert ag.gradcheck(lambda W1, W2: W2 @ ag.maximum(0.0, W1 @ x), W1, W2)

# %% [markdown]
# ## The cost and one step of gradient descent
#
# (1) The model gives predictions $\tilde y$. (2) Its performance is measured by a cost,
# here the mean squared error
# $$C(\mathbf W) = \frac1N \sum_i (\tilde y_i - y_i)^2 .$$
# The notes spell out some of the terms for a classifier with 0/1 targets:

# %%
predicted = ag.tensor(np.array([0.96, 0.10, 0.04, 0.70, 0.02, 0.99]))
target = ag.tensor(np.array([1.0, 0.0, 0.0, 1.0, 0.0, 1.0]))
squared = (predicted - target) ** 2
print("terms:", squared.data.round(4), " sum:", squared.sum().item(), " mean:", squared.mean().item())
assert np.allclose(squared.data, [0.0016, 0.01, 0.0016, 0.09, 0.0004, 0.0001])
assert np.isclose(squared.sum().item(), 0.1037)

# %% [markdown]
# (3) The gradient of the cost says how to change each weight. Gradient descent takes a
# small step against it:
# $$\mathbf W \leftarrow \mathbf W - r\,\nabla C(\mathbf W),$$
# where $r$ is the **learning rate**. Let us fit the small network above to a few examples.

# %%
inputs = np.array([[1.0, -2.0, 3.0],
                   [0.5, 1.0, -1.0],
                   [2.0, 0.0, 1.0],
                   [-1.0, 1.0, 0.5]])
targets = np.array([[1.0, 0.0],
                    [0.0, 1.0],
                    [1.0, 1.0],
                    [0.0, 0.0]])


def cost(W1, W2):
    """C(W) = mean over examples and outputs of (W2 max(0, W1 x) - y)^2; a row of X per example."""
    predictions = ag.maximum(0.0, ag.tensor(inputs) @ W1.T) @ W2.T
    return ((predictions - targets) ** 2).mean()


W1 = ag.tensor(np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [-1.0, 0.0, 0.0]]),
               requires_grad=True, name="W1")
W2 = ag.tensor(np.array([[1.0, -1.0, 2.0, 0.5], [0.0, 1.0, -1.0, 1.0]]) * 0.1,
               requires_grad=True, name="W2")
C = cost(W1, W2)
C.backward()
print("cost before:", C.item())

# %% [markdown]
# The notes' table lists, for every weight, its gradient on each training example and the
# **average over the training data**. The gradient of the mean cost is exactly that
# average of per-example gradients:

# %%
per_example = []
for i in range(len(inputs)):
    W1_i = ag.tensor(W1.data, requires_grad=True)
    W2_i = ag.tensor(W2.data, requires_grad=True)
    prediction = W2_i @ ag.maximum(0.0, W1_i @ inputs[i])
    (((prediction - targets[i]) ** 2).sum() / targets.size).backward()
    per_example.append(W2_i.grad * len(inputs))
print("dC/dW2[0, :] on each example:\n", np.array([g[0] for g in per_example]).round(3))
print("average over the training data:", np.mean(per_example, axis=0)[0].round(3))
assert np.allclose(np.mean(per_example, axis=0), W2.grad)

# %% [markdown]
# Now the step, with learning rate $r = 0.05$, and the cost again. The update changes the
# weights' arrays (`.data`) in place: it is not part of the model, so nothing is recorded
# on the tape (the optimizers in `autograd.optim` do the same). The gradients are then
# cleared, because `backward()` adds to whatever `.grad` already holds.

# %%
r = 0.05
W1.data -= r * W1.grad
W2.data -= r * W2.grad
W1.grad = W2.grad = None
C_after = cost(W1, W2)
print(f"cost after one step: {C_after.item():.4f} (was {C.item():.4f})")
assert C_after.item() < C.item()

# %% [markdown]
# A few more steps, and the cost as a picture:

# %%
import matplotlib.pyplot as plt

history = [C.item(), C_after.item()]
for _ in range(40):
    C_now = cost(W1, W2)
    C_now.backward()
    W1.data -= r * W1.grad
    W2.data -= r * W2.grad
    W1.grad = W2.grad = None
    history.append(cost(W1, W2).item())
assert history[-1] < history[0] / 2

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(history, marker=".")
ax.set_xlabel("gradient-descent step")
ax.set_ylabel("cost C(W)")
ax.set_title(f"learning rate r = {r}")
fig.tight_layout()

# %% [markdown]
# And the graph of the cost itself: the same nodes as before, plus the ones that compute
# the squared error and the mean.

# %%
draw(cost(W1, W2))
