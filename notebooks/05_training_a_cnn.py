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
# # 5. Training a CNN on handwritten digits
#
# Everything so far, put together: the notes' architecture
# **INPUT - CONV - RELU - POOL - FC**, trained with mini-batch gradient descent on 1,797
# handwritten digits (8x8 grayscale images, shipped with tapegrad). Then a deeper network
# with **dropout**, and the same network with **batch normalisation**, its training curve
# measured beside the plain one. Along the way: a progress bar, the loss and accuracy curves,
# what the filters learned, the activation maps of one digit, and a confusion matrix. At the
# end the same steps on real **MNIST** digits, 28x28, with a small LeNet-like network.

# %%
from collections import OrderedDict

import matplotlib.pyplot as plt
import numpy as np
from tqdm.auto import tqdm

import autograd as ag
from autograd import data, draw, nn, optim
from autograd.models import digits_cnn, mnist_cnn

# %% [markdown]
# ## The data
#
# Each image is 8x8 pixels with values in [0, 1], stored as (N, channels, height, width).
# 20% of the digits are held out to test on: a network is only useful if it does well on
# digits it never trained on.

# %%
images, labels = data.load_digits()
x_train, x_test, y_train, y_test = data.train_test_split(images, labels, test_fraction=0.2, seed=0)
print("images:", images.shape, " train:", x_train.shape[0], " test:", x_test.shape[0])
assert images.shape == (1797, 1, 8, 8) and len(x_train) + len(x_test) == 1797

fig, axes = plt.subplots(2, 10, figsize=(10, 2.4))
for ax, image, label in zip(axes.ravel(), x_train, y_train):
    ax.imshow(image[0], cmap="gray_r")
    ax.set_title(str(label))
    ax.axis("off")
fig.tight_layout()

# %% [markdown]
# ## The model: INPUT - CONV - RELU - POOL - FC
#
# * INPUT [8x8x1];
# * CONV: 16 filters of 3x3 with zero padding 1, so the maps stay 8x8: [8x8x16];
# * RELU: $\max(0, x)$, the size does not change;
# * POOL: 2x2 max pooling, stride 2: [4x4x16];
# * FC: every one of the $4 \cdot 4 \cdot 16 = 256$ numbers to each of the 10 class scores.
#
# The summary lists the layers, their output shapes and their parameters:
# the CONV layer has $3 \cdot 3 \cdot 1 \cdot 16 + 16 = 160$, the FC layer
# $256 \cdot 10 + 10 = 2570$.

# %%
model = digits_cnn("basic", rng=0)
with ag.no_grad():
    model(ag.tensor(x_train[:1]))          # one digit through, so the summary shows the shapes
print(model)
assert model.num_parameters() == 160 + 2570

# %% [markdown]
# The scores become a loss with **cross-entropy**: softmax turns the 10 scores into
# probabilities, and the loss is $-\log$ of the probability given to the right digit (an
# untrained network guesses about evenly, so its loss is near $\log 10 \approx 2.3$). One
# mini-batch of 4 digits through the network, drawn one box per layer:

# %%
loss_fn = nn.CrossEntropyLoss()
small_loss = loss_fn(model(ag.tensor(x_train[:4])), y_train[:4])
print("loss of an untrained network:", small_loss.item())
draw(small_loss, expand=False, rankdir="TB")

# %% [markdown]
# `expand=True` (the default) opens every layer's box to show the nodes it recorded: the
# CONV layer is a `ConvolutionNode` and an addition for the bias, the RELU a `max` with 0,
# and the loss a `log_softmax` node, an indexing node that picks each digit's right class,
# and a sum scaled by $-1/N$.

# %% [markdown]
# ## Training
#
# Each step: a mini-batch of 32 digits forward, the loss, `backward()`, and the optimizer
# moves every weight against its gradient. We use Adam (gradient descent with a per-weight
# step size) with learning rate 0.01. One pass over the training digits is an epoch; after
# each we measure the accuracy on the training and the test digits.

# %%
def accuracy(model, x, y):
    """Fraction of images whose highest score is the right class (dropout off, nothing recorded)."""
    model.eval()
    with ag.no_grad():  # 500 images at a time, so big sets do not need big arrays
        predicted = np.concatenate([model(ag.tensor(x[i:i + 500])).data.argmax(axis=1)
                                    for i in range(0, len(x), 500)])
    model.train()
    return float((predicted == y).mean())


def fit(model, epochs, lr=0.01, seed=0, description="training",
        train=(x_train, y_train), test=(x_test, y_test), optimizer=optim.Adam):
    """Train on mini-batches of 32 (with Adam unless ``optimizer`` names another); the
    per-epoch loss and train/test accuracy.

    ``train`` and ``test`` are (images, labels) pairs: the 8x8 digits unless given.
    """
    optimizer = optimizer(model.parameters(), lr=lr)
    batches = data.batches(*train, batch_size=32, seed=seed)
    history = {"loss": [], "train": [], "test": []}
    model.train()
    progress = tqdm(range(epochs), desc=description, unit="epoch")
    for _ in progress:
        total = 0.0
        for xb, yb in batches:
            loss = loss_fn(model(ag.tensor(xb)), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
        history["loss"].append(total / len(train[1]))
        history["train"].append(accuracy(model, *train))
        history["test"].append(accuracy(model, *test))
        progress.set_postfix(loss=f"{history['loss'][-1]:.3f}", test=f"{history['test'][-1]:.3f}")
    return history


history = fit(model, epochs=10, description="INPUT-CONV-RELU-POOL-FC")
print(f"test accuracy: {history['test'][-1]:.3f}")
assert history["loss"][-1] < history["loss"][0]
assert history["test"][-1] > 0.9

# %%
def plot_history(histories):
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.2))
    for name, h in histories.items():
        epochs = range(1, len(h["loss"]) + 1)
        line, = ax_loss.plot(epochs, h["loss"], marker=".", label=name)
        ax_acc.plot(epochs, h["train"], marker=".", color=line.get_color(), label=f"{name}: train")
        ax_acc.plot(epochs, h["test"], linestyle="--", color=line.get_color(), label=f"{name}: test")
    ax_loss.set(xlabel="epoch", ylabel="training loss (cross-entropy)", yscale="log")
    ax_acc.set(xlabel="epoch", ylabel="accuracy")
    ax_loss.legend()
    ax_acc.legend(fontsize=8)
    fig.tight_layout()


plot_history({"basic": history})

# %% [markdown]
# ## What the filters learned
#
# The 16 filters of the CONV layer, 3x3 each (dark: negative weights, light: positive).
# They started random; training shaped them into small edge and stroke detectors.

# %%
filters = model.conv.weight.data[:, 0]              # (16, 3, 3)
fig, axes = plt.subplots(2, 8, figsize=(10, 2.8))
for k, ax in enumerate(axes.ravel()):
    ax.imshow(filters[k], cmap="gray")
    ax.set_title(f"filter {k}", fontsize=8)
    ax.axis("off")
fig.suptitle("learned 3x3 filters")
fig.tight_layout()

# %% [markdown]
# ## Activation maps
#
# One test digit through the network, layer by layer: the 16 activation maps after CONV and
# RELU (8x8), and after POOL (4x4). Each map shows where its filter found its pattern.

# %%
digit = ag.tensor(x_test[:1])
with ag.no_grad():
    after_relu = model.relu(model.conv(digit)).data[0]
    after_pool = model.pool(model.relu(model.conv(digit))).data[0]
assert after_relu.shape == (16, 8, 8) and after_pool.shape == (16, 4, 4)
assert (after_relu >= 0).all()

fig, axes = plt.subplots(2, 17, figsize=(14, 2.2))
axes[0, 0].imshow(x_test[0, 0], cmap="gray_r")
axes[0, 0].set_title(f"digit {y_test[0]}", fontsize=8)
for k in range(16):
    axes[0, k + 1].imshow(after_relu[k], cmap="magma")
    axes[0, k + 1].set_title(str(k), fontsize=8)
    axes[1, k + 1].imshow(after_pool[k], cmap="magma")
for ax in axes.ravel():
    ax.axis("off")
fig.suptitle("the 16 activation maps: after CONV+RELU (8x8, top) and after POOL (4x4, bottom)")
fig.tight_layout()

# %% [markdown]
# ## The confusion matrix
#
# Row: the true digit; column: the network's answer. The diagonal counts the right answers;
# everything off it is a mistake, and shows which digits get mixed up.

# %%
model.eval()
with ag.no_grad():
    predicted = model(ag.tensor(x_test)).data.argmax(axis=1)
confusion = np.zeros((10, 10), dtype=int)
np.add.at(confusion, (y_test, predicted), 1)
assert confusion.sum() == len(y_test)
assert np.array_equal(confusion.sum(axis=1), np.bincount(y_test, minlength=10))
assert np.trace(confusion) / len(y_test) == history["test"][-1]

fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.imshow(confusion, cmap="Blues")
for (i, j), count in np.ndenumerate(confusion):
    if count:
        ax.text(j, i, count, ha="center", va="center", fontsize=8,
                color="white" if count > confusion.max() / 2 else "black")
ax.set(xlabel="predicted digit", ylabel="true digit", xticks=range(10), yticks=range(10),
       title=f"test accuracy {np.trace(confusion) / len(y_test):.3f}")
off_diagonal = confusion - np.diag(np.diag(confusion))
i, j = np.unravel_index(off_diagonal.argmax(), off_diagonal.shape)
print(f"most common mistake: {i} taken for {j} ({off_diagonal[i, j]} times)")

# %% [markdown]
# ## Running it outside tapegrad: ONNX
#
# A trained network can leave. `autograd.onnx.export` records one forward pass and writes
# each node as ONNX operators, the format every runtime reads, with the batch size left
# open. onnxruntime, which production runs, gives the same scores for all the test digits
# at once; `autograd.onnx.load` would bring the file back as a tapegrad model.

# %%
import os
import tempfile

import onnxruntime

import autograd.onnx

with tempfile.TemporaryDirectory() as folder:  # a folder of its own, gone after this cell
    path = os.path.join(folder, "digits_cnn.onnx")
    autograd.onnx.export(model, x_test[:2], path)
    session = onnxruntime.InferenceSession(path)
onnx_scores = session.run(None, {"input": x_test})[0]
with ag.no_grad():
    our_scores = model(ag.tensor(x_test)).data
print("scores:", onnx_scores.shape, " largest difference from tapegrad's:",
      np.abs(onnx_scores - our_scores).max())
assert np.abs(onnx_scores - our_scores).max() < 1e-5
assert (onnx_scores.argmax(axis=1) == predicted).all()

# %% [markdown]
# ## A deeper network, with dropout
#
# The notes' typical architecture stacks more blocks: INPUT - CONV - RELU - POOL - CONV -
# RELU - POOL - FC. A bigger network can also memorise its training data instead of
# learning what digits look like (overfitting). **Dropout**: "in each SGD step, randomly
# ignore a fraction $p$ of neurons", usually in one dropout layer close to the output.
#
# During training each element is zeroed with probability $p$ and the survivors are scaled
# by $1/(1-p)$, so the expected value stays the same; at test time (`model.eval()`)
# dropout does nothing.

# %%
dropout = nn.Dropout(0.25, rng=0)
ones = ag.tensor(np.ones((4, 8), dtype=np.float32))
print("training mode:\n", dropout(ones).data)
kept = dropout(ag.tensor(np.ones((1000, 100), dtype=np.float32))).data
print("fraction zeroed:", (kept == 0).mean(), " survivors scaled to", kept.max())
assert abs((kept == 0).mean() - 0.25) < 0.01 and np.isclose(kept.max(), 1 / 0.75)
dropout.eval()
assert np.array_equal(dropout(ones).data, ones.data)   # the identity at test time

# %% [markdown]
# Two copies of the deeper network, starting from the same weights: one with dropout
# $p = 0.25$ before the FC layer, one with the dropout switched off.

# %%
with_dropout = digits_cnn("deeper", rng=1)
without_dropout = digits_cnn("deeper", rng=1)
without_dropout.dropout.p = 0.0
with ag.no_grad():
    with_dropout(ag.tensor(x_train[:1]))
print(with_dropout)
assert with_dropout.num_parameters() == 6090

histories = {
    "dropout 0.25": fit(with_dropout, epochs=12, seed=1, description="deeper, with dropout"),
    "no dropout": fit(without_dropout, epochs=12, seed=1, description="deeper, without dropout"),
}
for name, h in histories.items():
    print(f"{name:>12}: training loss {h['loss'][-1]:.4f}, train accuracy {h['train'][-1]:.3f}, "
          f"test accuracy {h['test'][-1]:.3f}")
    assert h["test"][-1] > 0.9
assert histories["dropout 0.25"]["loss"][-1] > histories["no dropout"]["loss"][-1]

# %%
plot_history(histories)

# %% [markdown]
# What dropout does here:
#
# * Without dropout the training loss heads for zero and the training accuracy for 100%:
#   the network ends up fitting its 1,438 training digits perfectly, memorising them.
# * With dropout every step trains a different, randomly thinned network, so the training
#   loss stays higher and noisier: the network cannot rely on any single unit and has to
#   spread what it learns.
# * The test accuracies come out close. This network is small and the digits are easy, so
#   there is little overfitting for dropout to cure, and which one wins depends on the seed.
#   Dropout pays off in networks that are large compared with their data; try it with a
#   wider FC layer or fewer training digits.

# %% [markdown]
# ## Batch normalisation
#
# While a network trains, the numbers each layer receives keep changing: their scale and
# offset depend on every weight before it. **Batch normalisation** (`nn.BatchNorm2d`) puts
# each channel back to mean 0 and variance 1 over the mini-batch, then lets the network
# choose the scale and offset it wants. For channel $c$, over the $N$ images of the batch
# and all their pixels:
#
# $$\mu_c = \text{mean}(x_c), \quad \sigma^2_c = \text{var}(x_c), \quad
# \hat{x}_c = \frac{x_c - \mu_c}{\sqrt{\sigma^2_c + \epsilon}}, \quad
# y_c = \gamma_c \hat{x}_c + \beta_c$$
#
# $\gamma$ (`weight`) and $\beta$ (`bias`) are learned, two numbers per channel. The layer
# also keeps **running averages** of $\mu_c$ and $\sigma^2_c$ (moving 10% of the way to each
# batch's, `momentum=0.1`): in evaluation mode (`model.eval()`) it normalises with those
# instead, so a digit's answer does not depend on the other digits in its batch. They are
# *buffers*: saved in the state dict, never given a gradient, never moved by the optimizer.
# The whole layer is a composition of nodes (means, a subtraction, a power, products), so
# its gradient comes from backprop like everything else.

# %%
batchnorm = nn.BatchNorm2d(3)
maps = ag.tensor(np.random.default_rng(0).normal(loc=5.0, scale=4.0, size=(8, 3, 6, 6)))
normalised = batchnorm(maps).data                    # training mode: the batch's statistics
print("mean per channel:", normalised.mean(axis=(0, 2, 3)).round(6))
print("std per channel: ", normalised.std(axis=(0, 2, 3)).round(4))
print("running mean after one batch:", batchnorm.running_mean.data.round(3))
print("state dict:", list(batchnorm.state_dict()))
print("parameters:", [name for name, _ in batchnorm.named_parameters()])
assert np.allclose(normalised.mean(axis=(0, 2, 3)), 0, atol=1e-6)
assert np.allclose(normalised.std(axis=(0, 2, 3)), 1, atol=1e-3)
assert np.allclose(batchnorm.running_mean.data, 0.1 * maps.data.mean(axis=(0, 2, 3)))

batchnorm.eval()                                     # evaluation: the running statistics
one_digit, in_a_batch = batchnorm(maps[:1]).data, batchnorm(maps).data[:1]
assert np.allclose(one_digit, in_a_batch)            # no longer depends on its batch

# %% [markdown]
# Its effect on training, measured: the deeper network (two CONV blocks, no dropout) twice,
# from the same initial weights and on the same mini-batches, once plain and once with a
# BatchNorm2d after each CONV: INPUT - CONV - **BN** - RELU - POOL - CONV - **BN** - RELU -
# POOL - FC. Both train with plain gradient descent (`optim.SGD`, learning rate 0.1), where
# the difference shows best; Adam rescales each weight's step itself and hides part of it.

# %%
def deeper_cnn(batch_norm, seed=2):
    """INPUT - [CONV - (BN) - RELU - POOL] x 2 - FC for the 8x8 digits."""
    rng = np.random.default_rng(seed)  # the BN layers draw nothing: the same weights either way
    layers, channels = [], 1
    for block, width in enumerate((16, 32), start=1):
        layers.append((f"conv{block}", nn.Conv2d(channels, width, 3, padding=1, rng=rng)))
        if batch_norm:
            layers.append((f"bn{block}", nn.BatchNorm2d(width)))
        layers += [(f"relu{block}", nn.ReLU()), (f"pool{block}", nn.MaxPool2d(2))]
        channels = width
    layers += [("flatten", nn.Flatten()), ("fc", nn.Linear(32 * 2 * 2, 10, rng=rng))]
    return nn.Sequential(OrderedDict(layers))


plain, normalised_cnn = deeper_cnn(batch_norm=False), deeper_cnn(batch_norm=True)
assert np.array_equal(plain.conv1.weight.data, normalised_cnn.conv1.weight.data)
with ag.no_grad():
    normalised_cnn(ag.tensor(x_train[:1]))
print(normalised_cnn)
assert normalised_cnn.num_parameters() == plain.num_parameters() + 2 * (16 + 32)



def at_the_start(batch_norm):
    """For a fresh network: the spread (std) of the numbers that reach the FC layer, and the
    size of the first CONV layer's gradient, on 256 training digits."""
    model = deeper_cnn(batch_norm)
    features = model[:-1](ag.tensor(x_train[:256]))          # every layer but the FC
    loss_fn(model.fc(features), y_train[:256]).backward()
    return features.data.std(), np.linalg.norm(model.conv1.weight.grad)


for batch_norm in (False, True):
    spread, gradient = at_the_start(batch_norm)
    print(f"{'with' if batch_norm else 'without'} BatchNorm, at the start: FC input std "
          f"{spread:.2f}, |d conv1.weight| {gradient:.3f}")
assert at_the_start(True)[1] > 5 * at_the_start(False)[1]

bn_histories = {
    "without BatchNorm": fit(plain, epochs=10, lr=0.1, optimizer=optim.SGD,
                             description="SGD, plain"),
    "with BatchNorm": fit(normalised_cnn, epochs=10, lr=0.1, optimizer=optim.SGD,
                          description="SGD, BatchNorm"),
}
for name, h in bn_histories.items():
    print(f"{name:>17}: training loss after 1 epoch {h['loss'][0]:.3f}, after 10 "
          f"{h['loss'][-1]:.4f}; test accuracy {h['test'][-1]:.3f}")
plain_loss = bn_histories["without BatchNorm"]["loss"]
bn_loss = bn_histories["with BatchNorm"]["loss"]
assert bn_loss[0] < 0.6 * plain_loss[0] and bn_loss[-1] < 0.5 * plain_loss[-1]
assert all(h["test"][-1] > 0.9 for h in bn_histories.values())
plot_history(bn_histories)

# %% [markdown]
# What the curves show:
#
# * Without BatchNorm the loss sits near $\log 10 \approx 2.3$ (guessing) for the first
#   epochs. The measurement above says why: the initial weights shrink the numbers at every
#   layer, so the scores start near 0 and the first layer's gradient is more than ten times
#   smaller than with BatchNorm. With BatchNorm every channel has variance 1 from the first
#   step, and the loss falls at once.
# * It stays ahead: a lower training loss at every epoch, for the same number of steps.
# * The price: two more numbers per channel, and a little more work per step.
# * Try the other way round: with a larger learning rate (0.4) the plain network catches up
#   much of the way. BatchNorm's gift is that one learning rate suits every layer, so
#   training is less sensitive to that choice. And remember `model.eval()` before testing:
#   `accuracy` above does it, so the test digits are normalised with the running statistics.

# %% [markdown]
# ## Real MNIST digits, 28x28
#
# The 8x8 digits train in seconds, but the digits of every course and tutorial are
# **MNIST**'s: 28x28 grayscale images, 60,000 to train on and 10,000 to test. tapegrad
# ships 5,000 real ones (500 of each digit); `data.load_mnist(folder)` reads the full set
# from its IDX files if you have them, and `data.load_cifar10(path)` reads CIFAR-10 the
# same way: every loader returns the same `(images, labels)`, so `fit` serves them all.
#
# The shipped file is sorted by label: its last 1,000 rows are all 8s and 9s. So the
# split is **stratified**: 100 of each digit held out, 400 of each to train on.

# %%
mnist_images, mnist_labels = data.load_mnist()
mx_train, mx_test, my_train, my_test = data.train_test_split(
    mnist_images, mnist_labels, test_fraction=0.2, seed=0, stratify=True)
print("images:", mnist_images.shape, " train:", len(mx_train), " test:", len(mx_test))
assert mnist_images.shape == (5000, 1, 28, 28)
assert np.bincount(my_test).tolist() == [100] * 10

first_of_each = [int(np.argmax(my_test == digit)) for digit in range(10)]
fig, axes = plt.subplots(1, 10, figsize=(10, 1.4))
for ax, k in zip(axes, first_of_each):
    ax.imshow(mx_test[k, 0], cmap="gray_r")
    ax.set_title(str(my_test[k]))
    ax.axis("off")
fig.suptitle("real MNIST digits, 28x28")
fig.tight_layout()

# %% [markdown]
# A bigger image calls for one more block. The network is LeNet-like,
# INPUT - CONV - RELU - POOL - CONV - RELU - POOL - FC:
#
# * INPUT [28x28x1];
# * CONV: 8 filters of 5x5 with zero padding 2 [28x28x8]; RELU; POOL 2x2 [14x14x8];
# * CONV: 16 filters of 5x5x8, padding 2 [14x14x16]; RELU; POOL 2x2 [7x7x16];
# * FC: $7 \cdot 7 \cdot 16 = 784$ numbers to 10 class scores.
#
# Parameters: $5 \cdot 5 \cdot 1 \cdot 8 + 8 = 208$, then $5 \cdot 5 \cdot 8 \cdot 16 + 16 = 3216$,
# then $784 \cdot 10 + 10 = 7850$. Three epochs with Adam at a smaller learning rate (0.002)
# take a few seconds; `python -m autograd train --data mnist` trains the same network for
# ten epochs, to about 0.97.

# %%
mnist_model = mnist_cnn(rng=0)
with ag.no_grad():
    mnist_model(ag.tensor(mx_train[:1]))
print(mnist_model)
assert mnist_model.num_parameters() == 208 + 3216 + 7850

mnist_history = fit(mnist_model, epochs=3, lr=0.002, description="MNIST, LeNet-like",
                    train=(mx_train, my_train), test=(mx_test, my_test))
print(f"MNIST test accuracy: {mnist_history['test'][-1]:.3f}")
assert mnist_history["test"][-1] > 0.9
plot_history({"MNIST": mnist_history})

# %% [markdown]
# What the first CONV layer learned, and what it makes of four test digits: its 8 filters
# (5x5), and for each digit its 8 **feature maps** after CONV and RELU, 28x28 like the
# digit. Each map lights up where its filter's pattern (an edge at some angle, a stroke)
# occurs in the digit.

# %%
mnist_filters = mnist_model.conv1.weight.data[:, 0]          # (8, 5, 5)
shown = mx_test[first_of_each[:4]]
with ag.no_grad():
    feature_maps = mnist_model.relu1(mnist_model.conv1(ag.tensor(shown))).data  # (4, 8, 28, 28)
assert mnist_filters.shape == (8, 5, 5) and feature_maps.shape == (4, 8, 28, 28)
assert (feature_maps >= 0).all() and feature_maps.max() > 0

fig, axes = plt.subplots(5, 9, figsize=(10, 5.8))
axes[0, 0].set_title("digit", fontsize=8)
for k in range(8):
    axes[0, k + 1].imshow(mnist_filters[k], cmap="gray")
    axes[0, k + 1].set_title(f"filter {k}", fontsize=8)
for row, image in enumerate(shown, start=1):
    axes[row, 0].imshow(image[0], cmap="gray_r")
    for k in range(8):
        axes[row, k + 1].imshow(feature_maps[row - 1, k], cmap="magma")
for ax in axes.ravel():
    ax.axis("off")
fig.suptitle("the first CONV layer after training: its 5x5 filters (top row) and the feature maps "
             "of four test digits")
fig.tight_layout()
