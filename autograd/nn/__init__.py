"""Neural-network building blocks: Module, Parameter and layers made by composing nodes.

    from autograd import nn
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
    print(model)            # a summary: layers, output shapes once run, parameter counts

Initial weights come from a seedable NumPy generator: ``nn.manual_seed(0)`` before building
a model makes it reproducible (each layer also takes ``rng=``).
"""

from .init import manual_seed
from .layers import (AvgPool2d, Conv1d, Conv2d, CrossEntropyLoss, Dropout, Flatten, Linear,
                     MaxPool2d, MSELoss, ReLU)
from .module import IncompatibleKeys, Module, Parameter, Sequential, summary

__all__ = [
    "Module", "Parameter", "Sequential", "Linear", "Conv1d", "Conv2d", "MaxPool2d", "AvgPool2d",
    "ReLU", "Flatten", "Dropout", "CrossEntropyLoss", "MSELoss", "manual_seed", "summary",
    "IncompatibleKeys",
]
