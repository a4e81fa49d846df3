"""Binary cross-entropy, fused into one node for numerical stability."""

import numpy as np

from .base import Node

# PyTorch's limits, so a probability of exactly 0 or 1 (a float32 sigmoid saturates to 1.0
# from x = 17) gives a finite loss and gradient: each log at least -100, and x (1 - x) at
# least 1e-12 where the gradient divides by it (PyTorch's 1e-12 is a float32 constant,
# 9.99999996e-13, in float64 too; the same number here gives the same gradient there).
LOG_FLOOR = -100.0
PRODUCT_FLOOR = float(np.float32(1e-12))


class BinaryCrossEntropyNode(Node):
    """z = -(t log x + (1 - t) log(1 - x)) elementwise, each log at least -100

    Fused (rather than composed from log, clamp and multiply) because at x = 0 or 1 the
    composition's backward divides 0 by 0: log's rule dz / x meets the 0 that the clamp
    sent. Here the gradient divides by max(x (1 - x), 1e-12), as PyTorch's does.
    """
    name, symbol = "binary_cross_entropy", "BCE"
    rules = ("dx = (x - t) / max(x * (1 - x), 1e-12) * dz", "dt = (log(1 - x) - log(x)) * dz")
    saved = ("x", "t")
    promotes = "float"

    def forwardPass(self, x, t):
        self.x, self.t = x, t
        with np.errstate(divide="ignore"):  # log(0) = -inf, then floored
            log_x = np.maximum(np.log(x), LOG_FLOOR)
            log_rest = np.maximum(np.log1p(-x), LOG_FLOOR)
        return (t - 1) * log_rest - t * log_x

    def backwardPass(self, dz):
        x, t = self.x, self.t
        needs_x, needs_t = getattr(self, "needs_input_grad", (True, True))
        dx = dt = None
        if needs_x:
            dx = (x - t) / np.maximum(x * (1 - x), PRODUCT_FLOOR) * dz
        if needs_t:
            with np.errstate(divide="ignore"):
                dt = (np.log1p(-x) - np.log(x)) * dz
        return dx, dt

    def onnx(self, graph, inputs):
        x, t = inputs
        one, floor = graph.constant(1, like=x), graph.constant(LOG_FLOOR, like=x)
        log_x = graph.op("Max", graph.op("Log", x), floor)
        log_rest = graph.op("Max", graph.op("Log", graph.op("Sub", one, x)), floor)
        return graph.op("Sub", graph.op("Mul", graph.op("Sub", t, one), log_rest),
                        graph.op("Mul", t, log_x))
