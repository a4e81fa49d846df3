"""tapegrad's primitives: one class per operation, forwardPass and backwardPass side by side.

This package depends on NumPy only; it knows nothing of tensors, tapes or layers.
"""

from .base import Node
from .conv import ConvolutionNode
from .elementwise import (AbsNode, AdditionNode, CosNode, ExpNode, LogNode, MaxNode, MinNode,
                          MultiplicationNode, NegationNode, PowerNode, SigmoidNode, SinNode,
                          TanhNode, WhereNode)
from .linalg import MatMulNode
from .loss import BinaryCrossEntropyNode
from .pool import AvgPoolNode, MaxPoolNode
from .reduce import MaxReduceNode, MinReduceNode, SumNode
from .shape import ConcatenateNode, ExpandNode, GetItemNode, ReshapeNode, TransposeNode
from .softmax import LogSoftmaxNode

__all__ = [
    "Node", "AdditionNode", "MultiplicationNode", "MaxNode", "NegationNode", "PowerNode",
    "ExpNode", "LogNode", "TanhNode", "SigmoidNode", "MatMulNode", "SumNode", "MaxReduceNode",
    "ReshapeNode", "TransposeNode", "GetItemNode", "ConvolutionNode", "MaxPoolNode", "AvgPoolNode",
    "LogSoftmaxNode",
    "AbsNode", "SinNode", "CosNode", "MinNode", "WhereNode", "MinReduceNode", "ExpandNode",
    "ConcatenateNode", "BinaryCrossEntropyNode",
]
