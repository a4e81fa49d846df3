"""Neural-network building blocks: Module, Parameter and layers made by composing nodes.

    from autograd import nn
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
    print(model)            # a summary: layers, output shapes once run, parameter counts

Initial weights come from a seedable NumPy generator: ``nn.manual_seed(0)`` before building
a model makes it reproducible (each layer also takes ``rng=``).
"""

from .init import manual_seed
from .layers import (AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, BatchNorm1d, BatchNorm2d, BCELoss,
                     BCEWithLogitsLoss, Conv1d, Conv2d, CrossEntropyLoss, Dropout, Flatten,
                     Identity, LeakyReLU, Linear, LogSoftmax, MaxPool1d, MaxPool2d, MSELoss,
                     NLLLoss, ReLU, Sigmoid, Softmax, Tanh)
from .module import IncompatibleKeys, Module, Parameter, Sequential, summary

__all__ = [
    "Module", "Parameter", "Sequential", "Linear", "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d",
    "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d", "ReLU",
    "LeakyReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "Identity", "Flatten", "Dropout",
    "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "MSELoss", "manual_seed",
    "summary", "IncompatibleKeys",
]
