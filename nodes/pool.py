"""Max and average pooling over 1-D (N, C, L) and 2-D (N, C, H, W) inputs, without padding."""

import numpy as np

from . import kernels
from .base import Node
from .geometry import batched_input, check_params, output_size, spatial_params, windows


class _PoolNode(Node):
    """Window geometry shared by max and average pooling."""

    def __init__(self, kernel_size, stride=None, floor=False):
        self.kernel_size = check_params(kernel_size, "kernel_size", self.name, 1)
        if stride is None:  # non-overlapping windows, as in PyTorch
            stride = kernel_size
        self.stride = check_params(stride, "stride", self.name, 1)
        self.floor = bool(floor)

    def _prepare(self, x):
        """x as (N, C, H, W) (height 1 for 1-D), with the geometry of its windows set."""
        x, spatial, axes = batched_input(x, self.name)
        kernel = spatial_params(self.kernel_size, "kernel_size", spatial, self.name)
        stride = spatial_params(self.stride, "stride", spatial, self.name)
        sizes = tuple(output_size(axis, size, f, s, 0, self.floor, padding_allowed=False)
                      for axis, size, f, s in zip(axes, x.shape[2:], kernel, stride))
        self.spatial = spatial
        if spatial == 1:  # a 1-D signal is an image of height 1
            x = x[:, :, None, :]
            kernel, stride, sizes = (1,) + kernel, (1,) + stride, (1,) + sizes
        self.kernel, self.strides = kernel, stride
        self.in_shape, self.out_shape = x.shape, x.shape[:2] + sizes
        return x

    def _scatter(self, per_offset, dtype):
        """dx: for each offset (m, n) in the window, per_offset(m, n) (N, C, Ho, Wo) added to
        x[.., S·i + m, S·j + n]: windows that overlap add up."""
        dx = np.zeros(self.in_shape, dtype=dtype)
        (Fh, Fw), (Sh, Sw), (Ho, Wo) = self.kernel, self.strides, self.out_shape[2:]
        for m in range(Fh):
            for n in range(Fw):
                dx[:, :, m:m + Sh * Ho:Sh, n:n + Sw * Wo:Sw] += per_offset(m, n)
        return dx

    def _finish(self, array):
        """Drop the height-1 axis of a 1-D result."""
        return array[:, :, 0, :] if self.spatial == 1 else array


class MaxPoolNode(_PoolNode):
    """z[i, j] = max over the window of x[S·i+m, S·j+n]

    The gradient goes to the maximum of each window: the notes' indicator formula
    I(x = z) · dz. Ties: the FIRST maximum in row-major window order takes the whole
    gradient (as PyTorch does), so what leaves a window adds up to what arrived. A NaN
    wins the max, and the first NaN of a window takes its gradient. Where windows
    overlap, an input that is the maximum of several windows gets the sum of their
    gradients. By default the numbers come from ``nodes/kernels/pool.py``.
    """
    name, symbol = "maxpool", "max"
    rules = ("dx[S·i+m, S·j+n] += [x[S·i+m, S·j+n] is window (i, j)'s first max] · dz[i, j]",)
    saved = ("winner", "fast")

    def forwardPass(self, x):
        x = self._prepare(x)
        self.fast = kernels.find("maxpool", self, x)  # the same numbers, faster, or None
        if self.fast is not None:
            return self._finish(self.fast.forward(x))
        N, C, Ho, Wo = self.out_shape
        flat = windows(x, self.kernel, self.strides, (Ho, Wo)).reshape(N, C, Ho, Wo, -1)
        self.winner = flat.argmax(axis=-1)  # the first maximum (or the first NaN), m·Fw + n
        self.dtype = x.dtype
        return self._finish(np.take_along_axis(flat, self.winner[..., None], axis=-1)[..., 0])

    def backwardPass(self, dz):
        dz = np.asarray(dz).reshape(self.out_shape)
        if self.fast is not None:
            return (self._finish(self.fast.backward(dz)),)
        Fw = self.kernel[1]
        # I(x is the window's max) · dz, by selection: exactly 0 where it is not
        dx = self._scatter(lambda m, n: np.where(self.winner == m * Fw + n, dz, 0),
                           np.result_type(dz.dtype, self.dtype))
        return (self._finish(dx),)


class AvgPoolNode(_PoolNode):
    """z[i, j] = mean over the window of x[S·i+m, S·j+n]"""
    name, symbol = "avgpool", "avg"
    rules = ("dx[S·i+m, S·j+n] += dz[i, j] / (Fh·Fw)",)
    saved = ()

    def forwardPass(self, x):
        x = self._prepare(x)
        self.dtype = np.result_type(x.dtype, np.float32)
        z = windows(x, self.kernel, self.strides, self.out_shape[2:]).mean(
            axis=(4, 5), dtype=self.dtype)
        return self._finish(z)

    def backwardPass(self, dz):
        Fh, Fw = self.kernel
        share = np.asarray(dz, dtype=self.dtype).reshape(self.out_shape) / (Fh * Fw)
        return (self._finish(self._scatter(lambda m, n: share, self.dtype)),)
