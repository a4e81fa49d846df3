"""tapegrad: a tape-based automatic-differentiation engine for learning and teaching.

Import name ``autograd``; the primitives live in the sibling package ``nodes``.
"""

from . import allocator

allocator.tune()  # before the first big array: see autograd/allocator.py

from .tensor import Tensor, maximum, tensor  # first: the tape imports Tensor
from .tensor import cat, concatenate, minimum, stack, where
from .gradcheck import GradcheckError, gradcheck
from .checks import NodeCheck, NodeChecks, check_nodes
from .tape import (AnomalyError, Step, apply, backprop, backward, detect_anomaly, enable_grad,
                   graph_nodes, is_grad_enabled, no_grad, scope)
from . import data, functional, nn, optim
from .serialization import load, save
from .viz import draw, to_networkx
from .viz.stepper import Stepper
from nodes.kernels import use as kernels  # with autograd.kernels("reference"): the nodes' math

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "maximum", "minimum", "where", "cat", "concatenate", "stack",
    "apply", "backward", "backprop", "Step", "graph_nodes",
    "scope", "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly", "AnomalyError",
    "gradcheck", "GradcheckError", "check_nodes", "NodeCheck", "NodeChecks",
    "nn", "optim", "data", "functional", "save", "load",
    "draw", "to_networkx", "Stepper", "kernels",
]


def __getattr__(name):
    """``autograd.onnx`` on first use, as ``torch.onnx``: it is an optional extra (its
    functions say how to install onnx when it is missing), so ``import autograd`` does
    not import it."""
    if name == "onnx":
        import importlib
        return importlib.import_module(".onnx", __name__)
    raise AttributeError(f"module 'autograd' has no attribute {name!r}")
