"""The eight exercises, one per primitive of the course: the task, the cases (small, then
awkward: broadcasting, ties, stride 2, padding) and the mistakes learners make.

The wrong backward passes here are teaching material: they live in this package only,
never in ``nodes/``.
"""

import numpy as np

from .. import functional as F
from ..tape import broadcast_axes
from ..tensor import maximum
from . import given
from .check import Case, Exercise, Mistake

SHAPES_ARE_UNDONE = ("A gradient may have the output's shape where its input was broadcast:\n"
                     "the engine sums it back to the input's shape.")


def _values(shape, seed, low=-3, high=4):
    """Small whole numbers as floats: a wrong gradient is easy to see by hand."""
    return np.random.default_rng(seed).integers(low, high, size=shape).astype(float)


def _dz(shape, seed):
    """An upstream gradient with no 0 and no 1 in it, so a forgotten dz shows."""
    choices = [-2.0, -1.0, 0.5, 1.5, 2.0, 3.0]
    return np.asarray(np.random.default_rng(seed).choice(choices, size=shape))


def _distinct(shape, seed):
    """Values with no ties: a shuffled 0, 1, 2 ... (as floats)."""
    return np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape).astype(float)


def _reduced(grad, shape, reduce):
    """``grad`` (broadcast shape) brought to ``shape`` with ``reduce`` over the broadcast axes."""
    axes = broadcast_axes(grad.shape, tuple(shape))
    return reduce(grad, axis=axes).reshape(shape) if axes else grad


# ---------------------------------------------------------------- multiply

MEAN_NOT_SUM = ("a broadcast input was used at every position it was copied to, so its gradient "
                "is the SUM of its gradients over those positions, not their mean (or return it "
                "in the output's shape: the engine sums it)")

multiply = Exercise(
    "multiply", given.Multiply,
    "multiply: z = x * y, elementwise (x and y may broadcast).\n"
    "forwardPass keeps self.x and self.y.\n"
    "Derive the local derivatives ∂z/∂x and ∂z/∂y, and by the chain rule write\n"
    "backwardPass(self, dz) returning (dx, dy), where dx = ∂z/∂x · dz.\n" + SHAPES_ARE_UNDONE,
    rules=("dx = y · dz", "dy = x · dz"),
    reference=lambda x, y: x * y,
    cases=[
        Case("the course's numbers", {"x": np.array(3.0), "y": np.array(-4.0)}, np.array(2.0)),
        Case("vectors", {"x": _values(4, 1), "y": _values(4, 2)}, _dz(4, 3)),
        Case("broadcasting a row over a matrix", {"x": _values((2, 3), 4), "y": _values(3, 5)},
             _dz((2, 3), 6)),
        Case("a number times a matrix", {"x": np.array(1.5), "y": _values((2, 3), 7)},
             _dz((2, 3), 8)),
        Case("a column times a row", {"x": _values((3, 1), 9), "y": _values((1, 4), 10)},
             _dz((3, 4), 11)),
    ],
    mistakes=[
        Mistake("each input's gradient is the OTHER input times dz: dx = y · dz, dy = x · dz",
                lambda self, dz: (self.x * dz, self.y * dz)),
        Mistake("multiply by dz (the chain rule): dx = y · dz, not y alone",
                lambda self, dz: (self.y + 0 * self.x, self.x + 0 * self.y)),
        Mistake("the local derivative of x · y with respect to x is y, so dx = y · dz "
                "(dz alone is addition's rule)", lambda self, dz: (dz, dz)),
        Mistake(MEAN_NOT_SUM, lambda self, dz: (_reduced(self.y * dz, np.shape(self.x), np.mean),
                                                _reduced(self.x * dz, np.shape(self.y), np.mean))),
    ])


# ---------------------------------------------------------------- add

add = Exercise(
    "add", given.Add,
    "add: z = x + y, elementwise (x and y may broadcast: a bias added to every row).\n"
    "forwardPass keeps self.x_shape and self.y_shape.\n"
    "Derive ∂z/∂x and ∂z/∂y, and write backwardPass(self, dz) returning (dx, dy).\n"
    + SHAPES_ARE_UNDONE,
    rules=("dx = dz", "dy = dz"),
    reference=lambda x, y: x + y,
    cases=[
        Case("vectors", {"x": _values(3, 1), "y": _values(3, 2)}, _dz(3, 3)),
        Case("a bias added to each row", {"x": _values((3, 4), 4), "y": _values(4, 5)},
             _dz((3, 4), 6)),
        Case("a column added to each column", {"x": _values((2, 3), 7), "y": _values((2, 1), 8)},
             _dz((2, 3), 9)),
        Case("a number added to a matrix", {"x": np.array(2.0), "y": _values((2, 2), 10)},
             _dz((2, 2), 11)),
        Case("a column plus a row", {"x": _values((3, 1), 12), "y": _values((1, 4), 13)},
             _dz((3, 4), 14)),
    ],
    mistakes=[
        Mistake("multiply by dz (the chain rule): the local derivative of x + y is 1, so "
                "dx = 1 · dz = dz", lambda self, dz: (np.ones_like(dz), np.ones_like(dz))),
        Mistake("addition copies dz to both inputs whole: dx = dz and dy = dz, not half each",
                lambda self, dz: (dz / 2, dz / 2)),
        Mistake("dy = -dz is subtraction's rule; for x + y, dy = dz",
                lambda self, dz: (dz, -dz)),
        Mistake(MEAN_NOT_SUM, lambda self, dz: (_reduced(dz, self.x_shape, np.mean),
                                                _reduced(dz, self.y_shape, np.mean))),
    ])


# ---------------------------------------------------------------- max and ReLU

TIE_TO_X = ("a tie sends the whole gradient to ONE input, x (the first): dx = [x >= y] · dz, "
            "dy = [x < y] · dz")

maximum_exercise = Exercise(
    "maximum", given.Maximum,
    "maximum: z = max(x, y), elementwise; ReLU is max(0, x) (the course's f = W2 max(0, W1 x)).\n"
    "forwardPass keeps self.x and self.y.\n"
    "Derive where each input gets the gradient, and write backwardPass(self, dz) returning\n"
    "(dx, dy). The rule for a tie, x == y: the whole gradient goes to x, the first input\n"
    "(so max(0, x) gives x no gradient at x = 0, as PyTorch's relu). Route dz by selection\n"
    "(np.where), not by multiplying with a 0/1 mask.\n" + SHAPES_ARE_UNDONE,
    rules=("dx = [x >= y] · dz", "dy = [x < y] · dz"),
    reference=maximum,
    cases=[
        Case("no ties", {"x": _distinct(5, 1), "y": _distinct(5, 2)}, _dz(5, 3)),
        Case("ties: x == y in places", {"x": np.array([1.0, 2.0, -1.0, 0.0]),
                                        "y": np.array([1.0, -2.0, -1.0, 3.0])}, _dz(4, 4)),
        Case("ReLU, max(0, y): ties at y = 0", {"x": np.array(0.0),
                                                "y": np.array([-1.0, 0.0, 2.0, 0.0, 3.0])},
             _dz(5, 5)),
        Case("broadcasting, with ties", {"x": _values((2, 3), 6, -1, 2), "y": _values(3, 7, -1, 2)},
             _dz((2, 3), 8)),
    ],
    mistakes=[
        Mistake(TIE_TO_X + "; to both would count dz twice",
                lambda self, dz: (np.where(self.x >= self.y, dz, 0.0),
                                  np.where(self.y >= self.x, dz, 0.0))),
        Mistake(TIE_TO_X + "; to neither would lose dz",
                lambda self, dz: (np.where(self.x > self.y, dz, 0.0),
                                  np.where(self.y > self.x, dz, 0.0))),
        Mistake("a tie goes to x, the first input: dx = [x >= y] · dz (not [x > y]), "
                "dy = [x < y] · dz", lambda self, dz: (np.where(self.x > self.y, dz, 0.0),
                                                       np.where(self.x > self.y, 0.0, dz))),
        Mistake("the gradient goes to the input that WON the max: dx = [x >= y] · dz",
                lambda self, dz: (np.where(self.x < self.y, dz, 0.0),
                                  np.where(self.x < self.y, 0.0, dz))),
        Mistake("multiply the selection by dz: dx = [x >= y] · dz, not [x >= y]",
                lambda self, dz: (np.where(self.x >= self.y, 1.0, 0.0) + 0 * dz,
                                  np.where(self.x >= self.y, 0.0, 1.0) + 0 * dz)),
    ])


# ---------------------------------------------------------------- matmul

matmul = Exercise(
    "matmul", given.MatMul,
    "matmul: z = x @ y, x (m, n), y (n, p), z (m, p): the course's W x.\n"
    "forwardPass keeps self.x and self.y.\n"
    "Derive dx (m, n) and dy (n, p) from dz (m, p), and write backwardPass(self, dz)\n"
    "returning (dx, dy). Let the shapes guide you: only one product of dz with y (or x) fits.",
    rules=("dx = dz @ yᵀ", "dy = xᵀ @ dz"),
    reference=lambda x, y: x @ y,
    cases=[
        Case("square matrices", {"x": _values((2, 2), 1), "y": _values((2, 2), 2)}, _dz((2, 2), 3)),
        Case("a weight matrix times a column, W x",
             {"x": _values((2, 3), 4), "y": _values((3, 1), 5)}, _dz((2, 1), 6)),
        Case("rectangular matrices", {"x": _values((2, 3), 7), "y": _values((3, 4), 8)},
             _dz((2, 4), 9)),
        Case("a row times a matrix", {"x": _values((1, 3), 10), "y": _values((3, 2), 11)},
             _dz((1, 2), 12)),
    ],
    mistakes=[
        Mistake("transpose the other matrix: dx = dz @ yᵀ, dy = xᵀ @ dz (the shapes say so: "
                "dz (m, p) @ yᵀ (p, n) is x's (m, n))",
                lambda self, dz: (dz @ self.y, self.x @ dz)),
        Mistake("the order matters: dx = dz @ yᵀ (dz on the left), dy = xᵀ @ dz (dz on the "
                "right)",
                lambda self, dz: (self.y.T @ dz, dz @ self.x.T)),
        Mistake("a matrix product, not elementwise: dx = dz @ yᵀ, dy = xᵀ @ dz",
                lambda self, dz: (dz * self.y, self.x * dz)),
    ])


# ---------------------------------------------------------------- sum

def _sum_backward(self, dz, expand=True, divide=False):
    dz = np.asarray(dz)
    if expand and not self.keepdims:
        dz = np.expand_dims(dz, self.axes)
    dx = np.broadcast_to(dz, self.x_shape)
    return (dx / np.prod([self.x_shape[a] for a in self.axes]) if divide else dx,)


sum_exercise = Exercise(
    "sum", given.Sum,
    "sum: z = Σ x over the axes self.axes (a tuple), with self.keepdims as np.sum's.\n"
    "forwardPass keeps self.x_shape, self.axes and self.keepdims.\n"
    "Derive ∂z/∂x for each element of x, and write backwardPass(self, dz) returning (dx,),\n"
    "dx of x's shape. Mind which axes dz lacks (np.expand_dims, np.broadcast_to).",
    rules=("dx = dz broadcast back over the summed axes to x's shape",),
    reference=lambda x, axis=None, keepdims=False: x.sum(axis=axis, keepdims=keepdims),
    cases=[
        Case("all of a vector", {"x": _values(4, 1)}, _dz((), 2)),
        Case("axis 0 of a matrix", {"x": _values((2, 3), 3)}, _dz(3, 4), {"axis": 0}),
        Case("axis 1 of a square matrix", {"x": _values((3, 3), 5)}, _dz(3, 6), {"axis": 1}),
        Case("axis 1, keepdims=True", {"x": _values((2, 3), 7)}, _dz((2, 1), 8),
             {"axis": 1, "keepdims": True}),
        Case("axes (0, 2) of a 3-D array", {"x": _values((2, 3, 2), 9)}, _dz(3, 10),
             {"axis": (0, 2)}),
    ],
    mistakes=[
        Mistake("dz lacks the summed axes: put them back with size 1 "
                "(np.expand_dims(dz, self.axes)) before broadcasting to x's shape, or NumPy "
                "lines dz up with the wrong axes", lambda self, dz: _sum_backward(self, dz, False)),
        Mistake("each element of x is added once, with slope 1: dx = dz broadcast back, not "
                "divided by the count (that is mean's rule)",
                lambda self, dz: _sum_backward(self, dz, divide=True)),
        Mistake("multiply by dz (the chain rule): dx = dz broadcast to x's shape, not 1",
                lambda self, dz: (np.ones(self.x_shape),)),
        Mistake("dx needs x's shape: broadcast dz back over the summed axes",
                lambda self, dz: (np.asarray(dz),)),
    ])


# ---------------------------------------------------------------- conv

def _conv_backward(self, dz, filter_of=lambda w: w, accumulate=True, strided=True, crop=True,
                   whole_batch=True):
    """The conv's backward pass, with one of its steps done wrong when asked."""
    S, P, w, Fs = self.stride if strided else 1, self.padding, self.w, self.w.shape[2]
    dx_pad, dw = np.zeros_like(self.x_pad), np.zeros_like(w)
    for i in range(dz.shape[2]):
        for j in range(dz.shape[3]):
            window = self.x_pad[:, :, S * i:S * i + Fs, S * j:S * j + Fs]
            dz_ij = dz[:, :, i, j] if whole_batch else dz[:1, :, i, j]
            dw += np.einsum("bk,bcmn->kcmn", dz_ij, window[:len(dz_ij)])
            back = np.einsum("bk,kcmn->bcmn", dz[:, :, i, j], filter_of(w))
            if accumulate:
                dx_pad[:, :, S * i:S * i + Fs, S * j:S * j + Fs] += back
            else:
                dx_pad[:, :, S * i:S * i + Fs, S * j:S * j + Fs] = back
    if not crop:
        return dx_pad, dw
    H, W = dx_pad.shape[2] - 2 * P, dx_pad.shape[3] - 2 * P
    return dx_pad[:, :, P:P + H, P:P + W], dw


SAME_FILTER = ("dx sends dz back through the filter as it read x, w[k, c, m, n], neither "
               "transposed nor flipped: dx_pad[b, c, S·i+m, S·j+n] += "
               "Σ_k w[k, c, m, n] · dz[b, k, i, j]")

conv = Exercise(
    "conv", given.Conv,
    "conv: z[b, k, i, j] = Σ_c Σ_m Σ_n w[k, c, m, n] · x_pad[b, c, S·i + m, S·j + n]\n"
    "x (N, C, H, W), K filters w (K, C, F, F), stride S = self.stride, zero padding\n"
    "P = self.padding (x_pad: x with P zeros on each side). forwardPass keeps self.x_pad and\n"
    "self.w. Each output element is one window of x_pad dotted with one filter: derive what\n"
    "each window element and each filter weight gets from dz[b, k, i, j], and write\n"
    "backwardPass(self, dz) returning (dx, dw), dx of x's shape (the padding takes none).",
    rules=("dx_pad[b, c, S·i+m, S·j+n] += Σ_k w[k, c, m, n] · dz[b, k, i, j], then crop the "
           "padding",
           "dw[k, c, m, n] = Σ_b Σ_i Σ_j x_pad[b, c, S·i+m, S·j+n] · dz[b, k, i, j]"),
    reference=lambda x, w, stride=1, padding=0: F.conv2d(x, w, stride=stride, padding=padding),
    cases=[
        Case("one channel, one filter",
             {"x": _values((1, 1, 4, 4), 1), "w": _values((1, 1, 2, 2), 2)}, _dz((1, 1, 3, 3), 3)),
        Case("channels, filters and a batch of 2",
             {"x": _values((2, 3, 4, 4), 4), "w": _values((2, 3, 3, 3), 5)}, _dz((2, 2, 2, 2), 6)),
        Case("stride 2", {"x": _values((1, 2, 5, 5), 7), "w": _values((2, 2, 3, 3), 8)},
             _dz((1, 2, 2, 2), 9), {"stride": 2}),
        Case("padding 1", {"x": _values((1, 1, 4, 4), 10), "w": _values((1, 1, 3, 3), 11)},
             _dz((1, 1, 4, 4), 12), {"padding": 1}),
        Case("stride 2 and padding 1",
             {"x": _values((2, 2, 5, 5), 13), "w": _values((3, 2, 3, 3), 14)},
             _dz((2, 3, 3, 3), 15), {"stride": 2, "padding": 1}),
    ],
    mistakes=[
        Mistake(SAME_FILTER, lambda self, dz: _conv_backward(
            self, dz, filter_of=lambda w: w.transpose(0, 1, 3, 2))),
        Mistake(SAME_FILTER, lambda self, dz: _conv_backward(
            self, dz, filter_of=lambda w: w[:, :, ::-1, ::-1])),
        Mistake("windows overlap: an input read by several windows gets the SUM of their "
                "gradients (+=, not =)",
                lambda self, dz: _conv_backward(self, dz, accumulate=False)),
        Mistake("output (i, j) read the window at (S·i, S·j): with a stride, dx and dw use "
                "x_pad[S·i+m, S·j+n], not x_pad[i+m, j+n]",
                lambda self, dz: _conv_backward(self, dz, strided=False)),
        Mistake("the padding takes no gradient: crop dx_pad back to x's shape, "
                "dx = dx_pad[:, :, P:P+H, P:P+W]",
                lambda self, dz: _conv_backward(self, dz, crop=False)),
        Mistake("the filter is shared by every example of the batch: dw sums over b too",
                lambda self, dz: _conv_backward(self, dz, whole_batch=False)),
    ])


# ---------------------------------------------------------------- max pooling

def _pool_backward(self, dz, pick="first", accumulate=True, strided=True):
    """Max pooling's backward pass, with one of its steps done wrong when asked."""
    Fs, S, x = self.kernel_size, self.stride if strided else 1, self.x
    dx = np.zeros_like(x)
    N, C = x.shape[:2]
    for i in range(dz.shape[2]):
        for j in range(dz.shape[3]):
            window = x[:, :, S * i:S * i + Fs, S * j:S * j + Fs]
            flat = window.reshape(N, C, Fs * Fs)
            if pick == "first":
                chosen = np.arange(Fs * Fs) == flat.argmax(axis=2)[..., None]
            elif pick == "last":
                last = Fs * Fs - 1 - flat[..., ::-1].argmax(axis=2)
                chosen = np.arange(Fs * Fs) == last[..., None]
            elif pick == "every tie":
                chosen = flat == flat.max(axis=2, keepdims=True)
            else:  # the whole window
                chosen = np.ones(flat.shape, bool)
            back = np.where(chosen, dz[:, :, i, j, None], 0.0).reshape(window.shape)
            if accumulate:
                dx[:, :, S * i:S * i + Fs, S * j:S * j + Fs] += back
            else:
                dx[:, :, S * i:S * i + Fs, S * j:S * j + Fs] = back
    return (dx,)


COURSE_POOL = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], float)
COURSE_RELU = np.zeros((6, 6))
COURSE_RELU[1, 4] = COURSE_RELU[3, 1] = 1.0

max_pool = Exercise(
    "max_pool", given.MaxPool,
    "max_pool: z[b, c, i, j] = max over m, n < F of x[b, c, S·i + m, S·j + n]\n"
    "windows F x F (F = self.kernel_size), stride S = self.stride, no padding.\n"
    "forwardPass keeps self.x. Derive where dz[b, c, i, j] goes (the notes' indicator\n"
    "I(x = z)), and write backwardPass(self, dz) returning (dx,). Ties: the FIRST maximum of\n"
    "a window in row-major order (what argmax finds) takes the window's whole gradient, so\n"
    "what leaves a window adds up to what arrived. Windows may overlap.",
    rules=("dx[b, c, S·i+m, S·j+n] += [x there is window (i, j)'s first maximum] · "
           "dz[b, c, i, j]",),
    reference=lambda x, kernel_size=2, stride=None: F.max_pool2d(x, kernel_size, stride),
    cases=[
        Case("the course's 2x2 windows, stride 2", {"x": COURSE_POOL[None, None]},
             _dz((1, 1, 2, 2), 1)),
        Case("channels and a batch", {"x": _distinct((2, 2, 4, 4), 2)}, _dz((2, 2, 2, 2), 3)),
        Case("ties in a window", {"x": _values((1, 2, 4, 4), 4, 0, 3)}, _dz((1, 2, 2, 2), 5)),
        Case("the course's 3x3 windows, stride 1 (overlapping, ties)",
             {"x": COURSE_RELU[None, None]}, _dz((1, 1, 4, 4), 6), {"kernel_size": 3, "stride": 1}),
        Case("3x3 windows, stride 2", {"x": _values((2, 1, 5, 5), 7, 0, 4)}, _dz((2, 1, 2, 2), 8),
             {"kernel_size": 3, "stride": 2}),
    ],
    mistakes=[
        Mistake("a window's gradient goes to ONE element, its first maximum in row-major order; "
                "sending dz to every element equal to the maximum (the notes' I(x = z) read "
                "literally) counts it more than once",
                lambda self, dz: _pool_backward(self, dz, pick="every tie")),
        Mistake("ties: the FIRST maximum in row-major order takes dz (what argmax finds), not "
                "the last", lambda self, dz: _pool_backward(self, dz, pick="last")),
        Mistake("windows overlap: an element that is the maximum of several windows gets the SUM "
                "of their gradients (+=, not =)",
                lambda self, dz: _pool_backward(self, dz, accumulate=False)),
        Mistake("max pooling sends dz to the window's maximum only, not to the whole window",
                lambda self, dz: _pool_backward(self, dz, pick="whole window")),
        Mistake("window (i, j) starts at (S·i, S·j): with stride S its maximum is at "
                "x[S·i+m, S·j+n], not x[i+m, j+n]",
                lambda self, dz: _pool_backward(self, dz, strided=False)),
    ])


# ---------------------------------------------------------------- softmax with cross-entropy

def _ce_backward(self, dz, mean=True, one_hot=True, times_dz=True):
    N = self.p.shape[0]
    target = np.zeros_like(self.p)
    if one_hot:
        target[np.arange(N), self.labels] = 1.0
    dx = (self.p - target) / (N if mean else 1)
    return (dx * dz if times_dz else dx,)


softmax_cross_entropy = Exercise(
    "softmax_cross_entropy", given.SoftmaxCrossEntropy,
    "softmax_cross_entropy: L = -(1/N) Σ_b log p[b, y_b], p = softmax of each row of x\n"
    "x (N, K) class scores; y, the N true classes, is fixed (given to __init__).\n"
    "forwardPass keeps self.p (N, K) and self.labels. Derive ∂L/∂x[b, k] (softmax and log\n"
    "together give a short answer), and write backwardPass(self, dz) returning (dx,).\n"
    "dz is the 0-d gradient arriving at L: 1 when L is the loss itself.",
    rules=("dx = (p - onehot(y)) / N · dz",),
    reference=lambda x, labels: F.cross_entropy(x, labels),
    cases=[
        Case("one example", {"x": np.array([[2.0, 1.0, -1.0]])}, np.array(1.0),
             {"labels": np.array([0])}),
        Case("a batch of 4", {"x": _values((4, 5), 1) / 2}, np.array(1.0),
             {"labels": np.array([0, 3, 4, 3])}),
        Case("a loss scaled downstream, dz = 2.5", {"x": _values((3, 4), 2) / 2}, np.array(2.5),
             {"labels": np.array([1, 0, 2])}),
        Case("large scores", {"x": np.array([[1000.0, 998.0, 0.0], [-5.0, 5.0, 1000.0]])},
             np.array(1.0), {"labels": np.array([1, 2])}),
    ],
    mistakes=[
        Mistake("L is the MEAN over the N examples: divide by N, dx = (p - onehot(y)) / N · dz",
                lambda self, dz: _ce_backward(self, dz, mean=False)),
        Mistake("subtract 1 at each example's true class: dx = (p - onehot(y)) / N · dz",
                lambda self, dz: _ce_backward(self, dz, one_hot=False)),
        Mistake("multiply by dz: the loss may be scaled (or added to others) downstream, "
                "dx = (p - onehot(y)) / N · dz",
                lambda self, dz: _ce_backward(self, dz, times_dz=False)),
    ])


EXERCISES = [multiply, add, maximum_exercise, matmul, sum_exercise, conv, max_pool,
             softmax_cross_entropy]
