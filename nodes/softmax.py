"""Log-softmax along an axis, fused into one node for numerical stability."""

import numpy as np

from .base import Node, normalize_axis


class LogSoftmaxNode(Node):
    """z = x - log Σ exp(x) along axis

    Fused (rather than composed from exp, sum and log) because the composition overflows:
    exp(1e4) is inf in float32 and float64. Subtracting the maximum first keeps every
    exponent <= 0, so the result and its gradient stay finite for any finite input.
    """
    name, symbol = "log_softmax", "log softmax"
    rules = ("dx = dz - exp(z) · Σ dz",)
    saved = ("z",)

    def __init__(self, axis=-1):
        self.axis = axis

    def forwardPass(self, x):
        x = np.asarray(x)
        if x.ndim == 0:
            raise ValueError("log_softmax needs at least one axis to normalise over, got a "
                             "0-d input")
        normalize_axis(self.name, self.axis, x.shape)
        if x.dtype.kind != "f":
            x = x.astype(np.float32)
        if x.size == 0:  # nothing to normalise (NumPy has no max of no values): as PyTorch
            self.z = np.zeros(x.shape, x.dtype)
            return self.z
        shifted = x - np.max(x, axis=self.axis, keepdims=True)
        self.z = shifted - np.log(np.sum(np.exp(shifted), axis=self.axis, keepdims=True))
        return self.z

    def backwardPass(self, dz):
        z = self.z
        return (dz - np.exp(z) * np.sum(dz, axis=self.axis, keepdims=True),)

    def onnx(self, graph, inputs):
        return graph.op("LogSoftmax", inputs[0], axis=self.axis)
