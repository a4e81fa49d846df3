"""Worked answers to the exercises: try yours first.

Each class fills in the ``backwardPass`` of the forward pass it subclasses; the notebook
``07_exercises`` uses them when TAPEGRAD_SOLUTIONS=1 is set (as the tests do).
"""

import numpy as np

from . import given


class Multiply(given.Multiply):
    def backwardPass(self, dz):
        return self.y * dz, self.x * dz  # each input's gradient: the other input times dz


class Add(given.Add):
    def backwardPass(self, dz):
        return dz, dz  # broadcast inputs: the engine sums dz back to their shapes


class Maximum(given.Maximum):
    def backwardPass(self, dz):
        x_wins = self.x >= self.y  # a tie goes to x, the first input
        return np.where(x_wins, dz, 0.0), np.where(x_wins, 0.0, dz)


class MatMul(given.MatMul):
    def backwardPass(self, dz):
        return dz @ self.y.T, self.x.T @ dz


class Sum(given.Sum):
    def backwardPass(self, dz):
        if not self.keepdims:
            dz = np.expand_dims(dz, self.axes)  # put the summed axes back, with size 1
        return (np.broadcast_to(dz, self.x_shape),)


class Conv(given.Conv):
    def backwardPass(self, dz):
        S, P, w, F = self.stride, self.padding, self.w, self.w.shape[2]
        dx_pad, dw = np.zeros_like(self.x_pad), np.zeros_like(w)
        for i in range(dz.shape[2]):
            for j in range(dz.shape[3]):
                window = self.x_pad[:, :, S * i:S * i + F, S * j:S * j + F]
                dw += np.einsum("bk,bcmn->kcmn", dz[:, :, i, j], window)
                dx_pad[:, :, S * i:S * i + F, S * j:S * j + F] += np.einsum(
                    "bk,kcmn->bcmn", dz[:, :, i, j], w)
        H, W = dx_pad.shape[2] - 2 * P, dx_pad.shape[3] - 2 * P
        return dx_pad[:, :, P:P + H, P:P + W], dw  # the padding takes no gradient


class MaxPool(given.MaxPool):
    def backwardPass(self, dz):
        F, S, x = self.kernel_size, self.stride, self.x
        dx = np.zeros_like(x)
        N, C = x.shape[:2]
        b, c = np.indices((N, C))
        for i in range(dz.shape[2]):
            for j in range(dz.shape[3]):
                window = x[:, :, S * i:S * i + F, S * j:S * j + F].reshape(N, C, F * F)
                m, n = np.divmod(window.argmax(axis=2), F)  # the first maximum
                dx[b, c, S * i + m, S * j + n] += dz[:, :, i, j]
        return (dx,)


class SoftmaxCrossEntropy(given.SoftmaxCrossEntropy):
    def backwardPass(self, dz):
        N = self.p.shape[0]
        one_hot = np.zeros_like(self.p)
        one_hot[np.arange(N), self.labels] = 1.0
        return ((self.p - one_hot) / N * dz,)
