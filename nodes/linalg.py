"""Matrix multiplication, with NumPy's matmul rules for 1-D and batched inputs."""

import numpy as np

from .base import Node
# matmul(x, y) is x @ y, with a large product split between tapegrad's threads
from .kernels.threads import matmul


class MatMulNode(Node):
    """z = x @ y"""
    name, symbol = "matmul", "@"
    rules = ("dx = dz @ yᵀ", "dy = xᵀ @ dz")
    onnx_op = "MatMul"  # NumPy's rules for 1-D and batched inputs, as here
    saved = ("x", "y")

    def forwardPass(self, x, y):
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError("matmul: both inputs need at least one dimension; "
                             f"got shapes {x.shape} and {y.shape} (use * for scalars)")
        self.x, self.y = x, y
        return matmul(x, y)  # x @ y

    def backwardPass(self, dz):
        x, y = self.x, self.y
        if x.ndim == 1 and y.ndim == 1:  # a dot product
            return dz * y, dz * x
        # Treat a 1-D x as a row and a 1-D y as a column, as matmul does, then drop them again.
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        dz2 = np.asarray(dz)
        if x.ndim == 1:
            dz2 = np.expand_dims(dz2, -2)
        if y.ndim == 1:
            dz2 = np.expand_dims(dz2, -1)
        dx = matmul(dz2, np.swapaxes(y2, -1, -2))  # dz @ yᵀ
        dy = matmul(np.swapaxes(x2, -1, -2), dz2)  # xᵀ @ dz
        if x.ndim == 1:
            dx = dx[..., 0, :]
        if y.ndim == 1:
            dy = dy[..., 0]
        return dx, dy
