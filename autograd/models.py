"""Ready-made models for the course: the digits CNN that ``python -m autograd train`` trains.

The notebooks, ``train`` and the diagram commands build their models here, so they all
show the same network.
"""

from collections import OrderedDict

from . import nn

KINDS = ("basic", "deeper")


def digits_cnn(kind="basic", rng=None):
    """The course's INPUT - CONV - RELU - POOL - FC network for the 8x8 digits.

    ``"basic"``: INPUT (N, 1, 8, 8) - CONV 16 filters 3x3, zero padding 1 (N, 16, 8, 8) -
    RELU - POOL max 2x2 stride 2 (N, 16, 4, 4) - FC 256 -> 10 class scores;
    2,730 parameters.

    ``"deeper"`` adds a second conv block and dropout: INPUT - CONV 16 - RELU - POOL
    (N, 16, 4, 4) - CONV 32 filters 3x3, padding 1 - RELU - POOL (N, 32, 2, 2) - DROPOUT
    p=0.25 - FC 128 -> 10; 6,090 parameters.

    The layers are named after the course's blocks (``conv``, ``relu``, ``pool``, ``fc``;
    numbered in the deeper model), so parameters are called ``conv.weight``, ``fc.bias``...
    ``rng`` (a seed or a numpy Generator) draws the initial weights and the dropout masks;
    without it they come from ``autograd.nn.manual_seed``'s generator.
    """
    rng = nn.init.generator(rng)  # one stream for every layer (and the dropout masks)
    if kind == "basic":
        layers = [
            ("conv", nn.Conv2d(1, 16, 3, padding=1, rng=rng)),
            ("relu", nn.ReLU()),
            ("pool", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()),
            ("fc", nn.Linear(16 * 4 * 4, 10, rng=rng)),
        ]
    elif kind == "deeper":
        layers = [
            ("conv1", nn.Conv2d(1, 16, 3, padding=1, rng=rng)),
            ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(16, 32, 3, padding=1, rng=rng)),
            ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()),
            ("dropout", nn.Dropout(0.25, rng=rng)),
            ("fc", nn.Linear(32 * 2 * 2, 10, rng=rng)),
        ]
    else:
        raise ValueError(f"digits_cnn: kind must be one of {', '.join(map(repr, KINDS))}, got {kind!r}")
    return nn.Sequential(OrderedDict(layers))
