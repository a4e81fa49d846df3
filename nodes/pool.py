"""Max and average pooling over 1-D (N, C, L) and 2-D (N, C, H, W) inputs, without padding.

Both work on the Fh*Fw strided views of the input, one per offset inside the window
(view (m, n) holds x[.., S*i + m, S*j + n] for every output pixel (i, j)): the forward
pass combines the views elementwise, the backward pass adds into the same views. No
Python loop runs over batch items or output pixels.
"""

import numpy as np

from .base import Node
from .conv import batched_input, check_params, output_size, spatial_params
from .parallel import over_batch


class _PoolNode(Node):
    """Window geometry shared by max and average pooling."""

    def __init__(self, kernel_size, stride=None, floor=False):
        self.kernel_size = check_params(kernel_size, "kernel_size", self.name, 1)
        if stride is None:  # non-overlapping windows, as in PyTorch
            stride = kernel_size
        self.stride = check_params(stride, "stride", self.name, 1)
        self.floor = bool(floor)

    def _prepare(self, x):
        """x as (N, C, H, W) (height 1 for 1-D) and the geometry of the windows."""
        x, spatial, axes = batched_input(x, self.name)
        kernel = spatial_params(self.kernel_size, "kernel_size", spatial, self.name)
        stride = spatial_params(self.stride, "stride", spatial, self.name)
        sizes = [output_size(axis, size, f, s, 0, self.floor, padding_allowed=False)
                 for axis, size, f, s in zip(axes, x.shape[2:], kernel, stride)]
        if spatial == 1:
            x = x[:, :, None, :]
            kernel, stride, sizes = (1,) + kernel, (1,) + stride, [1] + sizes
        self.geometry = (spatial, x.shape, kernel, stride, tuple(sizes))
        return x

    def _windows(self, rows=slice(None)):
        """The index of each offset's strided view, (m, n) in row-major order.

        ``array[index]`` holds array[rows, :, S·i + m, S·j + n] for every output pixel (i, j).
        """
        _, _, (Fh, Fw), (Sh, Sw), (Ho, Wo) = self.geometry
        for m in range(Fh):
            for n in range(Fw):
                yield (rows, slice(None),
                       slice(m, m + Sh * Ho, Sh), slice(n, n + Sw * Wo, Sw))

    def _gradient_buffer(self, dtype):
        """An array for dx, and whether each window offset may simply assign its part.

        When windows do not overlap (stride >= kernel) every input element belongs to at
        most one window, so each offset writes its slice once instead of adding to it; and
        when they also tile the input exactly, no element is left to zero first.
        """
        _, shape, kernel, stride, sizes = self.geometry
        disjoint = all(s >= f for s, f in zip(stride, kernel))
        tiled = all(s == f and n * s == size
                    for s, f, n, size in zip(stride, kernel, sizes, shape[2:]))
        return (np.empty if tiled else np.zeros)(shape, dtype=dtype), disjoint

    def _finish(self, array):
        """Drop the height-1 axis of a 1-D result."""
        return array[:, :, 0, :] if self.geometry[0] == 1 else array


class MaxPoolNode(_PoolNode):
    """z[i, j] = max over the window of x[S·i+m, S·j+n]

    The gradient goes to the maximum of each window (the notes' indicator formula
    I(x = z) · dz). Ties: the FIRST maximum in row-major window order takes the whole
    gradient, as MaxNode and MaxReduceNode give ties to the first (and as PyTorch does),
    so what leaves a window adds up to what arrived. A NaN wins the max, and the first
    NaN of a window takes its gradient. Where windows overlap, an input that is the
    maximum of several windows receives the sum of their gradients.
    """
    name, symbol = "maxpool", "max"
    rules = ("dx[S·i+m, S·j+n] += [x[S·i+m, S·j+n] is window (i, j)'s first max] · dz[i, j]",)
    saved = ("x", "z", "left_wins", "top_wins")

    def forwardPass(self, x):
        x = self._prepare(x)
        if self._halves():
            return self._finish(self._forward_halves(x))
        _, _, _, _, (Ho, Wo) = self.geometry
        z = np.empty(x.shape[:2] + (Ho, Wo), dtype=x.dtype)

        def part(start, stop):
            rows = slice(start, stop)
            windows = self._windows(rows)
            np.copyto(z[rows], x[next(windows)])
            # The max of the Fh*Fw strided views: faster than reshaping into windows and reducing.
            for index in windows:
                np.maximum(z[rows], x[index], out=z[rows])

        over_batch(part, x.shape[0], x.size)
        self.x, self.z = x, z
        return self._finish(z)

    def _halves(self):
        """Whether the windows are 2x2, 1x2 or 2x1 at their own stride (``_forward_halves``)."""
        _, _, kernel, stride, _ = self.geometry
        return kernel == stride and set(kernel) <= {1, 2} and 2 in kernel

    def _forward_halves(self, x):
        """2x2 windows at stride 2 (or 1x2, 2x1), in two halving passes with their masks.

        The max of each pair of neighbouring columns first, then of each pair of rows of
        those: each pass is an elementwise op over views that NumPy walks as long runs,
        where the general path takes Fh·Fw views of short rows. A pass keeps which side
        won (the left, the top on ties), and the backward pass only multiplies by these
        masks. Ties go to the first maximum in row-major order, as on the general path:
        the top row wins a tie of rows, and within it the left column.
        """
        N, C, _, _ = x.shape
        _, _, (Fh, Fw), _, (Ho, Wo) = self.geometry
        v = x[:, :, :Ho * Fh, :Wo * Fw]  # floor=True may leave a last row or column out
        columns = np.empty((N, C, Ho * Fh, Wo), dtype=x.dtype) if Fw == 2 else v
        z = np.empty((N, C, Ho, Wo), dtype=x.dtype) if Fh == 2 else columns
        left_wins = np.empty(columns.shape, dtype=bool) if Fw == 2 else None
        top_wins = np.empty(z.shape, dtype=bool) if Fh == 2 else None

        def part(start, stop):
            rows = slice(start, stop)
            if Fw == 2:
                left, right = v[rows, :, :, 0::2], v[rows, :, :, 1::2]
                np.greater_equal(left, right, out=left_wins[rows])
                np.maximum(left, right, out=columns[rows])
            if Fh == 2:
                top, bottom = columns[rows, :, 0::2], columns[rows, :, 1::2]
                np.greater_equal(top, bottom, out=top_wins[rows])
                np.maximum(top, bottom, out=z[rows])

        over_batch(part, N, x.size)
        if z.dtype.kind in "fc" and not np.isfinite(z.sum()):
            # x >= NaN is False: make a NaN win its pair, as np.maximum lets it win the max
            if Fw == 2:
                left_wins |= np.isnan(v[:, :, :, 0::2])
            if Fh == 2:
                top_wins |= np.isnan(columns[:, :, 0::2])
        self.left_wins, self.top_wins, self.dtype = left_wins, top_wins, x.dtype
        return z

    def backwardPass(self, dz):
        if self._halves():
            return (self._finish(self._backward_halves(dz)),)
        x, z = self.x, self.z
        dz = np.asarray(dz).reshape(z.shape)
        dx, disjoint = self._gradient_buffer(np.result_type(dz.dtype, x.dtype))
        # Visit the offsets in row-major order: the first one holding the window's maximum
        # claims the window's gradient; an equal value found later finds the window taken.
        nan_windows = z.dtype.kind in "fc" and np.isnan(z).any()

        def part(start, stop):
            rows = slice(start, stop)
            z_part, dz_part = z[rows], dz[rows]
            unclaimed = np.ones(z_part.shape, dtype=bool)
            for index in self._windows(rows):
                hit = x[index] == z_part
                if nan_windows:  # NaN wins max: the first NaN of a window takes its gradient
                    hit |= np.isnan(x[index])
                hit &= unclaimed
                unclaimed ^= hit  # hit is inside unclaimed: this removes it
                # (multiplying by the mask is much faster than np.add(..., where=hit))
                if disjoint:
                    np.multiply(dz_part, hit, out=dx[index])
                else:
                    dx[index] += dz_part * hit

        over_batch(part, x.shape[0], x.size)
        return (self._finish(dx),)

    def _backward_halves(self, dz):
        """The transpose of ``_forward_halves``: each pass sends dz to the side that won."""
        left_wins, top_wins = self.left_wins, self.top_wins
        _, shape, (Fh, Fw), _, (Ho, Wo) = self.geometry
        N, C = shape[:2]
        dz = np.asarray(dz)
        dz = dz.astype(np.result_type(dz.dtype, self.dtype), copy=False).reshape(N, C, Ho, Wo)
        dx, _ = self._gradient_buffer(dz.dtype)
        dv = dx[:, :, :Ho * Fh, :Wo * Fw]
        d_columns = np.empty((N, C, Ho * Fh, Wo), dtype=dz.dtype) if Fh == 2 and Fw == 2 else dv

        def part(start, stop):
            rows = slice(start, stop)
            upstream = dz[rows]
            if Fh == 2:
                wins = top_wins[rows]
                np.multiply(upstream, wins, out=d_columns[rows, :, 0::2])
                np.multiply(upstream, ~wins, out=d_columns[rows, :, 1::2])
                upstream = d_columns[rows]
            if Fw == 2:
                wins = left_wins[rows]
                np.multiply(upstream, wins, out=dv[rows, :, :, 0::2])
                np.multiply(upstream, ~wins, out=dv[rows, :, :, 1::2])

        over_batch(part, N, dx.size)
        return dx


class AvgPoolNode(_PoolNode):
    """z[i, j] = mean over the window of x[S·i+m, S·j+n]"""
    name, symbol = "avgpool", "avg"
    rules = ("dx[S·i+m, S·j+n] += dz[i, j] / (Fh·Fw)",)
    saved = ()

    def forwardPass(self, x):
        x = self._prepare(x)
        windows = self._windows()
        total = x[next(windows)].astype(np.result_type(x.dtype, np.float32), copy=True)
        for index in windows:
            total += x[index]
        _, _, (Fh, Fw), _, _ = self.geometry
        total *= 1.0 / (Fh * Fw)
        self.dtype = total.dtype
        return self._finish(total)

    def backwardPass(self, dz):
        _, shape, (Fh, Fw), _, (Ho, Wo) = self.geometry
        dz = np.asarray(dz, dtype=self.dtype).reshape(shape[0], shape[1], Ho, Wo)
        share = dz * (1.0 / (Fh * Fw))
        dx, disjoint = self._gradient_buffer(self.dtype)
        for index in self._windows():
            if disjoint:
                dx[index] = share
            else:
                dx[index] += share
        return (self._finish(dx),)
