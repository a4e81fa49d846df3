"""Ready-made models for the course: one CNN per data set, each ``"basic"`` or ``"deeper"``.

``python -m autograd train``, ``draw``, ``step`` and the notebooks build their models here,
so they all show the same networks. ``for_data(name, kind)`` picks the one for a data set.

Every network is the course's pattern INPUT - [CONV - RELU - POOL] x blocks - FC: each
CONV keeps the size (zero padding of half the kernel), each POOL is max 2x2 stride 2 and
halves it. The layers are named after the course's blocks (``conv``, ``relu``, ``pool``,
``fc``; numbered when there are several), so parameters are called ``conv.weight``,
``fc.bias``... ``rng`` (a seed or a numpy Generator) draws the initial weights and the
dropout masks; without it they come from ``autograd.nn.manual_seed``'s generator.
"""

from collections import OrderedDict

import numpy as np

from . import nn

__all__ = ["digits_cnn", "mnist_cnn", "cifar10_cnn", "for_data", "matching", "KINDS", "DATA"]

KINDS = ("basic", "deeper")


def _cnn(owner, kind, image_shape, widths, kernel, hidden=None, dropout=0.0, rng=None):
    """INPUT - [CONV(width, kernel) - RELU - POOL] for each width - [DROPOUT] - FC (- RELU - DROPOUT - FC)."""
    if kind not in KINDS:
        raise ValueError(f"{owner}: kind must be one of {', '.join(map(repr, KINDS))}, got {kind!r}")
    rng = nn.init.generator(rng)  # one stream for every layer (and the dropout masks)
    channels, size, _ = image_shape
    numbered = len(widths) > 1
    layers = []
    for block, width in enumerate(widths, start=1):
        tag = str(block) if numbered else ""
        layers += [(f"conv{tag}", nn.Conv2d(channels, width, kernel, padding=kernel // 2, rng=rng)),
                   (f"relu{tag}", nn.ReLU()),
                   (f"pool{tag}", nn.MaxPool2d(2))]
        channels, size = width, size // 2
    layers.append(("flatten", nn.Flatten()))
    features = channels * size * size
    if hidden is None:
        if dropout:
            layers.append(("dropout", nn.Dropout(dropout, rng=rng)))
        layers.append(("fc", nn.Linear(features, 10, rng=rng)))
    else:
        layers += [("fc1", nn.Linear(features, hidden, rng=rng)),
                   (f"relu{len(widths) + 1}", nn.ReLU())]
        if dropout:
            layers.append(("dropout", nn.Dropout(dropout, rng=rng)))
        layers.append(("fc2", nn.Linear(hidden, 10, rng=rng)))
    return nn.Sequential(OrderedDict(layers))


def digits_cnn(kind="basic", rng=None):
    """The course's INPUT - CONV - RELU - POOL - FC network for the 8x8 digits.

    ``"basic"``: INPUT (N, 1, 8, 8) - CONV 16 filters 3x3, zero padding 1 (N, 16, 8, 8) -
    RELU - POOL max 2x2 stride 2 (N, 16, 4, 4) - FC 256 -> 10 class scores;
    2,730 parameters.

    ``"deeper"`` adds a second conv block and dropout: INPUT - CONV 16 - RELU - POOL
    (N, 16, 4, 4) - CONV 32 filters 3x3, padding 1 - RELU - POOL (N, 32, 2, 2) - DROPOUT
    p=0.25 - FC 128 -> 10; 6,090 parameters.
    """
    if kind == "deeper":
        return _cnn("digits_cnn", kind, (1, 8, 8), (16, 32), 3, dropout=0.25, rng=rng)
    return _cnn("digits_cnn", kind, (1, 8, 8), (16,), 3, rng=rng)


def mnist_cnn(kind="basic", rng=None):
    """A small LeNet-like network for 28x28 MNIST digits.

    ``"basic"``: INPUT (N, 1, 28, 28) - CONV 8 filters 5x5, padding 2 - RELU - POOL
    (N, 8, 14, 14) - CONV 16 filters 5x5, padding 2 - RELU - POOL (N, 16, 7, 7) - FC 784 -> 10;
    11,274 parameters. About 0.96 test accuracy on the shipped 5,000 digits after 10 epochs.

    ``"deeper"``: twice the filters (16, then 32) and, as in LeNet-5, a hidden FC layer with
    dropout: ... POOL (N, 32, 7, 7) - FC 1568 -> 128 - RELU - DROPOUT p=0.25 - FC 128 -> 10;
    215,370 parameters.
    """
    if kind == "deeper":
        return _cnn("mnist_cnn", kind, (1, 28, 28), (16, 32), 5, hidden=128, dropout=0.25, rng=rng)
    return _cnn("mnist_cnn", kind, (1, 28, 28), (8, 16), 5, rng=rng)


def cifar10_cnn(kind="basic", rng=None):
    """The course's INPUT - CONV - RELU - POOL - FC network for 32x32x3 CIFAR-10 images.

    ``"basic"``: INPUT [32x32x3] - CONV 12 filters 5x5x3, padding 2 [32x32x12] - RELU - POOL
    [16x16x12] - FC 3072 -> 10 class scores; 31,642 parameters.

    ``"deeper"``: INPUT - CONV 16 filters 3x3 - RELU - POOL [16x16x16] - CONV 32 filters 3x3 -
    RELU - POOL [8x8x32] - DROPOUT p=0.25 - FC 2048 -> 10; 25,578 parameters.
    """
    if kind == "deeper":
        return _cnn("cifar10_cnn", kind, (3, 32, 32), (16, 32), 3, dropout=0.25, rng=rng)
    return _cnn("cifar10_cnn", kind, (3, 32, 32), (12,), 5, rng=rng)


DATA = {"digits": digits_cnn, "mnist": mnist_cnn, "cifar10": cifar10_cnn}


def for_data(name, kind="basic", rng=None):
    """The model for the data set ``name`` (``"digits"``, ``"mnist"`` or ``"cifar10"``)."""
    if name not in DATA:
        raise ValueError(f"for_data: no model for the data set {name!r}; the data sets are "
                         f"{', '.join(map(repr, DATA))}")
    return DATA[name](kind, rng=rng)


def matching(state_dict):
    """The models of this module that ``state_dict`` fits: a list of ``(data, kind)`` pairs,
    such as ``[("digits", "deeper")]``, whose parameters have exactly its names and shapes
    (empty for weights of a network of one's own). The commands use it to say "these are
    the deeper model's weights: add --model deeper"."""
    shapes = {name: np.shape(value) for name, value in state_dict.items()}  # arrays or tensors
    found = []
    for data, build in DATA.items():
        for kind in KINDS:
            model = build(kind, rng=0)
            if {name: p.shape for name, p in model.named_parameters()} == shapes:
                found.append((data, kind))
    return found
