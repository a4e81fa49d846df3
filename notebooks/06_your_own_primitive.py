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
# # 6. Beyond the notes: your own primitive
#
# Every operation in tapegrad is a node like the course's `MultiplicationNode`: a class
# with a `forwardPass` and a `backwardPass`. Adding an operation of your own takes one
# class and one line that applies it; the engine then records it, backpropagates through
# it, draws it and steps through it like the built-in ones.
#
# Our example is the **leaky ReLU**: like ReLU, but negative inputs keep a small slope $a$
# instead of being cut to zero, so a unit that is off still passes a little gradient:
# $$z = \begin{cases} x & x > 0 \\ a\,x & x \le 0 \end{cases}\qquad
#   \frac{\partial z}{\partial x} = \begin{cases} 1 & x > 0 \\ a & x \le 0 \end{cases}$$

# %%
from collections import OrderedDict

import numpy as np

import autograd as ag
from autograd import Stepper, data, draw, nn, optim
from nodes import Node


# %% [markdown]
# ## Write it
#
# * `forwardPass(x)` gets NumPy arrays, computes the output and **saves what backward will
#   need** on `self` (here: where x was positive).
# * `backwardPass(dz)` gets the gradient of the loss with respect to the output and
#   returns a tuple with **one gradient per input**, in the input's shape.
# * The slope $a$ is a fixed parameter, not an input: it goes to `__init__` (it does not
#   get a gradient).
# * `name`, `symbol` and `rules` are what errors, diagrams and the stepper show; `saved`
#   names the arrays the engine may free once backward has run.

# %%
class LeakyReLUNode(Node):
    """z = x if x > 0 else a * x, for a fixed slope a"""
    name, symbol = "leaky_relu", "lrelu"
    rules = ("dx = ([x > 0] + a * [x <= 0]) * dz",)
    saved = ("positive",)

    def __init__(self, slope=0.1):
        self.slope = slope

    def forwardPass(self, x):
        self.positive = x > 0
        return np.where(self.positive, x, self.slope * x)

    def backwardPass(self, dz):
        return (np.where(self.positive, dz, self.slope * dz),)


def leaky_relu(x, slope=0.1):
    """The one line that makes it usable on tensors: apply the node, and the tape records it."""
    return ag.apply(LeakyReLUNode(slope), x)


# %% [markdown]
# The node on its own, with plain numbers, as we did with `MultiplicationNode`:

# %%
node = LeakyReLUNode(slope=0.1)
print(node.forwardPass(np.array([-2.0, 0.5, 3.0])))
print(node.backwardPass(np.array([1.0, 1.0, 10.0])))
assert np.allclose(node.forwardPass(np.array([-2.0, 0.5, 3.0])), [-0.2, 0.5, 3.0])
assert np.allclose(node.backwardPass(np.array([1.0, 1.0, 10.0]))[0], [0.1, 1.0, 10.0])

# %% [markdown]
# One node object stands for one application: it keeps that application's inputs and saved
# arrays. `ag.apply` of an instance that was applied before records a fresh copy of it
# (same class, same slope), so the earlier graph keeps its own; `leaky_relu` simply makes a
# new node each call.

# %%
a, b = ag.tensor([-2.0], requires_grad=True), ag.tensor([3.0], requires_grad=True)
ya, yb = ag.apply(node, a), ag.apply(node, b)   # the second application is a copy of node
ya.sum().backward()
assert ya.node is node and yb.node is not node and type(yb.node) is LeakyReLUNode
assert np.allclose(a.grad, [0.1]) and b.grad is None   # the first graph was left as it was

# %% [markdown]
# ## Gradcheck it
#
# `gradcheck` runs `backward()` through the function and compares every gradient with
# central differences $\frac{f(x+\epsilon) - f(x-\epsilon)}{2\epsilon}$ in float64. Keep the
# inputs away from the kink at 0, where the function has no derivative.

# %%
rng = np.random.default_rng(0)
x = ag.tensor(rng.uniform(0.2, 2.0, size=(3, 4)) * rng.choice([-1.0, 1.0], size=(3, 4)), requires_grad=True)
assert ag.gradcheck(lambda x: leaky_relu(x, slope=0.1), x)
assert ag.gradcheck(lambda x: leaky_relu(x, slope=0.3) * x, x)     # used twice in one graph
print("LeakyReLUNode passes gradcheck")

# %% [markdown]
# The same function can be written as a composition of built-in nodes,
# $\max(a x, x)$ for $0 < a < 1$. Same values, same gradients: a primitive of its own only
# pays when it is faster, saves memory or is numerically safer.

# %%
x1 = ag.tensor(x.data, requires_grad=True)
x2 = ag.tensor(x.data, requires_grad=True)
leaky_relu(x1, 0.1).sum().backward()
ag.maximum(x2, 0.1 * x2).sum().backward()
assert np.allclose(leaky_relu(x1, 0.1).data, ag.maximum(x2, 0.1 * x2).data)
assert np.allclose(x1.grad, x2.grad)

# %% [markdown]
# ### A bug gradcheck catches
#
# Here is a version with a classic mistake: backward forgets the slope, as if it were a
# plain ReLU. The forward pass is right, so the outputs look fine; only the gradient is
# wrong, and `gradcheck` says which element disagrees and by how much.

# %%
class BuggyLeakyReLUNode(LeakyReLUNode):
    def backwardPass(self, dz):
        return (np.where(self.positive, dz, 0.0),)      # forgot: a * dz where x <= 0


try:
    ag.gradcheck(lambda x: ag.apply(BuggyLeakyReLUNode(0.1), x), x)
    caught = None
except ag.GradcheckError as error:
    caught = error
    print(error)
assert caught is not None

# %% [markdown]
# ### Mistakes the engine catches for you
#
# The engine checks what `backwardPass` returns and names the node when it is wrong: the
# number of gradients must match the inputs, and each must have its input's shape (or the
# broadcast shape, which the engine sums back).

# %%
class ForgotTheTupleNode(LeakyReLUNode):
    def backwardPass(self, dz):
        return np.where(self.positive, dz, self.slope * dz)     # not wrapped in a tuple


class WrongShapeNode(LeakyReLUNode):
    def backwardPass(self, dz):
        return (dz.sum(axis=0),)


for bad in (ForgotTheTupleNode, WrongShapeNode):
    try:
        ag.apply(bad(), x).sum().backward()
    except (TypeError, ValueError) as error:
        print(f"{bad.__name__}: {error}\n")
        assert "leaky_relu" in str(error)
    else:
        raise AssertionError(f"{bad.__name__} should have been refused")

# %% [markdown]
# What `saved` is for: after `backward()` the engine frees the saved arrays, so training
# does not keep every batch's masks alive. A second backward through the same graph is
# then a clear error (pass `retain_graph=True` to the first one to keep them).

# %%
y = leaky_relu(x).sum()
y.backward()
try:
    y.backward()
except RuntimeError as error:
    print(error)
    assert "second time" in str(error)

# %% [markdown]
# ## Draw it
#
# A small network with the new node in the middle, $f = W_2\,\mathrm{lrelu}(W_1 x)$:

# %%
x_in = ag.tensor(np.array([1.0, -2.0, 0.5]), name="x")
W1 = ag.tensor(np.array([[1.0, 0.5, 0.0], [-1.0, 1.0, 1.0]]), requires_grad=True, name="W1")
W2 = ag.tensor(np.array([[2.0, -1.0]]), requires_grad=True, name="W2")
hidden = W1 @ x_in                     # [0, -2.5]
f = (W2 @ leaky_relu(hidden, slope=0.1)).sum()
print("W1 x =", hidden.data, " f =", f.item())
assert np.allclose(hidden.data, [0.0, -2.5]) and np.isclose(f.item(), 0.25)
draw(f)

# %% [markdown]
# ## Step through it
#
# The stepper shows our rule, with the numbers: the second hidden unit is negative, so its
# gradient is scaled by $a = 0.1$ instead of being cut to zero. The first sits exactly on
# the kink, $x = 0$, and our rule sends it the slope $a$ there (the `<=`): a choice, like the
# tie rule of `max`, and one to document.

# %%
stepper = Stepper(f)
for step in stepper:
    print(step, end="\n\n")
lrelu_step = next(step for step in stepper.steps if step.op == "leaky_relu")
assert np.allclose(lrelu_step.upstream, [2.0, -1.0])
assert np.allclose(lrelu_step.grads[0], [0.2, -0.1])
assert np.allclose(W1.grad, np.outer([0.2, -0.1], x_in.data))

# %%
stepper.widget(forward=True)

# %% [markdown]
# ## Use it in a network
#
# A module wraps the function so it can sit in a `Sequential`. Put it where the ReLU of
# notebook 5's INPUT-CONV-RELU-POOL-FC network was and train for a few epochs: the new node
# is recorded, backpropagated and optimised like every built-in one.

# %%
class LeakyReLU(nn.Module):
    def __init__(self, slope=0.1):
        super().__init__()
        self.slope = slope

    def forward(self, x):
        return leaky_relu(x, self.slope)


model = nn.Sequential(OrderedDict(
    conv=nn.Conv2d(1, 16, 3, padding=1, rng=0),
    relu=LeakyReLU(0.1),
    pool=nn.MaxPool2d(2),
    flatten=nn.Flatten(),
    fc=nn.Linear(16 * 4 * 4, 10, rng=1),
))
images, labels = data.load_digits()
x_train, x_test, y_train, y_test = data.train_test_split(images, labels, seed=0)
optimizer = optim.Adam(model.parameters(), lr=0.01)
loss_fn = nn.CrossEntropyLoss()
for epoch in range(3):
    for xb, yb in data.batches(x_train, y_train, 32, seed=epoch):
        loss = loss_fn(model(ag.tensor(xb)), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
model.eval()
with ag.no_grad():
    test_accuracy = (model(ag.tensor(x_test)).data.argmax(axis=1) == y_test).mean()
print(f"test accuracy with leaky ReLU after 3 epochs: {test_accuracy:.3f}")
assert test_accuracy > 0.9

# %% [markdown]
# The graph of the trained network on two test digits: the `leaky_relu` node sits where
# the ReLU's `max` was, inside the `relu` layer's box.

# %%
draw(loss_fn(model(ag.tensor(x_test[:2])), y_test[:2]), rankdir="TB")
