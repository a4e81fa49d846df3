"""tapegrad's primitives: one class per operation, forwardPass and backwardPass side by side.

This package depends on NumPy only; it knows nothing of tensors, tapes or layers.
"""

from .base import Node
from .conv import ConvolutionNode
from .elementwise import (AdditionNode, ExpNode, LogNode, MaxNode, MultiplicationNode,
                          NegationNode, PowerNode, SigmoidNode, TanhNode)
from .linalg import MatMulNode
from .pool import AvgPoolNode, MaxPoolNode
from .reduce import MaxReduceNode, SumNode
from .shape import GetItemNode, ReshapeNode, TransposeNode
from .softmax import LogSoftmaxNode

__all__ = [
    "Node", "AdditionNode", "MultiplicationNode", "MaxNode", "NegationNode", "PowerNode",
    "ExpNode", "LogNode", "TanhNode", "SigmoidNode", "MatMulNode", "SumNode", "MaxReduceNode",
    "ReshapeNode", "TransposeNode", "GetItemNode", "ConvolutionNode", "MaxPoolNode", "AvgPoolNode",
    "LogSoftmaxNode",
]
