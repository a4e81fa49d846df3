"""Convolution (the course's cross-correlation) of 1-D and 2-D inputs, with stride, zero
padding, dilation and groups."""

import numpy as np

from . import kernels
from .base import Node
from .geometry import check_params, conv_inputs, output_size, spatial_params, windows


class ConvolutionNode(Node):
    """z[b, k, i, j] = Σ_c Σ_m Σ_n w[k, c, m, n] · x_pad[b, c, S·i + D·m, S·j + D·n] + bias[k]
    for a fixed stride S and a fixed dilation D (the filter's taps D apart; D = 1: neighbours).

    The notes' Y_ij = Σ_m Σ_n W_mn X_{i+m, j+n}, summed over the channels c too: each output
    pixel is the dot product of one window of the zero-padded input with one filter.
    ``x`` is (N, C, H, W) and ``w`` (K, C, Fh, Fw), or (N, C, L) and (K, C, F) in 1-D (an
    image of height 1); the optional ``bias`` is (K,), one number per filter. ``stride``,
    ``padding`` and ``dilation`` are an int or one per spatial axis. ``groups`` G splits the
    channels and the filters into G groups, filter k seeing only its group's C/G channels,
    so w is (K, C/G, Fh, Fw); G = C is a depthwise convolution. The output size
    (W - D(F - 1) - 1 + 2P)/S + 1 must be whole unless ``floor=True``, which drops an
    incomplete last window as PyTorch does.

    The math below runs when ``TAPEGRAD_KERNELS=reference``; by default the same numbers
    come from the fast kernel in ``nodes/kernels/conv.py`` where it applies (no dilation,
    one group), and the tests compare the two.
    """
    name, symbol = "conv", "*"
    rules = ("dx[S·i+D·m, S·j+D·n] += w[m, n] · dz[i, j]",
             "dw[m, n] = Σᵢⱼ x[S·i+D·m, S·j+D·n] · dz[i, j]",
             "dbias = Σᵢⱼ dz[i, j]")
    saved = ("columns", "w", "fast")

    def __init__(self, stride=1, padding=0, floor=False, dilation=1, groups=1):
        self.stride = check_params(stride, "stride", self.name, 1)
        self.padding = check_params(padding, "padding", self.name, 0)
        self.dilation = check_params(dilation, "dilation", self.name, 1)
        self.groups = check_params(groups, "groups", self.name, 1, single=True)
        self.floor = bool(floor)

    def forwardPass(self, x, w, bias=None):
        x, w, bias = self._prepare(x, w, bias)  # checked; 1-D as height 1; one dtype
        self.fast = kernels.find("conv", self, x, w, bias)  # the same numbers, faster, or None
        if self.fast is not None:
            return self._finish(self.fast.forward(x, w, bias))
        (N, K, Ho, Wo), G = self.out_shape, self.groups
        self.columns, self.w = self._im2col(x), w  # (C·Fh·Fw, N·Ho·Wo): a column per window
        # each output pixel: one filter · one window of its group's channels
        z = w.reshape(G, K // G, -1) @ self._by_group(self.columns)
        z = z.reshape(K, N, Ho, Wo).transpose(1, 0, 2, 3)
        return self._finish(z if bias is None else z + bias.reshape(K, 1, 1))

    def backwardPass(self, dz):
        dz = np.asarray(dz).reshape(self.out_shape)
        needs = getattr(self, "needs_input_grad", (True,) * self.inputs)
        if self.fast is not None:
            dx, dw, dbias = self.fast.backward(dz, needs)
        else:
            w, (N, K, Ho, Wo), G = self.w, self.out_shape, self.groups
            (Sh, Sw), (Dh, Dw) = self.strides, self.dilations
            dz_rows = dz.transpose(1, 0, 2, 3).reshape(G, K // G, -1)  # as z was computed
            dw = (dz_rows @ self._by_group(self.columns).transpose(0, 2, 1)).reshape(w.shape)
            dbias = dz_rows.sum(axis=2).reshape(K)
            # col2im: each window's gradient, Σ_k w[k] · dz[k], added back where it was read
            C, (Fh, Fw) = w.shape[1] * G, w.shape[2:]
            d_columns = w.reshape(G, K // G, -1).transpose(0, 2, 1) @ dz_rows
            d_columns = d_columns.reshape(C, Fh, Fw, N, Ho, Wo)
            (H, W), (Ph, Pw) = self.in_size, self.pads
            dx_pad = np.zeros((N, C, H + 2 * Ph, W + 2 * Pw), dtype=d_columns.dtype)
            for m in range(Fh):
                for n in range(Fw):
                    dx_pad[:, :, Dh * m:Dh * m + Sh * Ho:Sh, Dw * n:Dw * n + Sw * Wo:Sw] += (
                        d_columns[:, m, n].transpose(1, 0, 2, 3))
            dx = dx_pad[:, :, Ph:Ph + H, Pw:Pw + W]
        grads = (self._finish(dx) if needs[0] else None, self._finish(dw) if needs[1] else None)
        return grads + ((dbias if needs[2] else None,) if self.inputs == 3 else ())

    def onnx(self, graph, inputs):
        n = self.spatial  # a 1-D conv has its own attributes, not the height-1 image's
        return graph.op("Conv", *inputs, strides=self.strides[-n:], pads=self.pads[-n:] * 2,
                        dilations=self.dilations[-n:], group=self.groups)

    def _im2col(self, x):
        """The windows of the zero-padded x as the columns of a matrix (C·Fh·Fw, N·Ho·Wo)."""
        (Ph, Pw), (Fh, Fw), (N, _, Ho, Wo) = self.pads, self.kernel, self.out_shape
        x_pad = np.pad(x, ((0, 0), (0, 0), (Ph, Ph), (Pw, Pw)))
        view = windows(x_pad, (Fh, Fw), self.strides, (Ho, Wo), self.dilations)
        # view is (N, C, Ho, Wo, Fh, Fw): one row of the matrix per (c, m, n), a column per window
        return view.transpose(1, 4, 5, 0, 2, 3).reshape(x.shape[1] * Fh * Fw, N * Ho * Wo)

    def _by_group(self, columns):
        """The columns (C·Fh·Fw, N·Ho·Wo) as G stacked matrices, one per group of channels."""
        rows, count = columns.shape
        return columns.reshape(self.groups, rows // self.groups, count)

    def _prepare(self, x, w, bias):
        """Check the inputs (``conv_inputs``), set the geometry; a 1-D input as height 1."""
        x, w, bias, spatial, axes = conv_inputs(x, w, bias, self.name, self.groups)
        stride, padding, dilation = (spatial_params(value, what, spatial, self.name) for value, what
                                     in ((self.stride, "stride"), (self.padding, "padding"),
                                         (self.dilation, "dilation")))
        sizes = tuple(output_size(axis, size, kernel, s, p, self.floor, dilation=d)
                      for axis, size, kernel, s, p, d
                      in zip(axes, x.shape[2:], w.shape[2:], stride, padding, dilation))
        self.spatial, self.inputs = spatial, 2 if bias is None else 3
        if spatial == 1:
            x, w = x[:, :, None, :], w[:, :, None, :]
            stride, dilation, sizes = ((1,) + value for value in (stride, dilation, sizes))
            padding = (0,) + padding
        self.strides, self.pads, self.dilations = stride, padding, dilation
        self.kernel, self.in_size = w.shape[2:], x.shape[2:]
        self.out_shape = (x.shape[0], w.shape[0]) + sizes
        return x, w, bias

    def _finish(self, array):
        """Drop the height-1 axis of a 1-D result."""
        return array[:, :, 0, :] if self.spatial == 1 else array
