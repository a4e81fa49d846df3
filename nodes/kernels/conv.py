"""The fast convolution: im2col a block of examples at a time, laid out for the products.

``nodes/conv.py`` holds the convolution's math, as a learner reads it. This computes the
same numbers faster, and the tests compare the two on a grid of shapes
(``TAPEGRAD_KERNELS=reference`` runs the math instead). What it does beyond the math:
- the columns (the windows as rows of a matrix) are copied a block of examples at a
  time, into a buffer reused block after block, so they stay in the cache;
- with stride 1, the columns are laid out "by rows" of the flattened input, and with many
  channels split by kernel rows, so that copies are long runs (``_Columns``);
- the bias rides in the products (a row of ones);
- at stride 1 with enough channels, dx is a convolution of dz with the flipped filters
  instead of a scatter of the columns' gradient (``_dx_by_convolution``);
- the batch is split between threads (``threads.over_batch``).
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import memory
from .threads import over_batch


class Convolution:
    """The fast kernel for one application of a ``ConvolutionNode`` to 2-D inputs: x (N, C,
    H, W), w (K, C, Fh, Fw), an optional bias (K,), all of one dtype (the node checks
    shapes and dtypes, and turns 1-D into 2-D, before asking for it)."""

    def __init__(self, sizes, stride, padding):
        self.sizes, self.stride, self.padding = sizes, stride, padding

    def forward(self, x, w, bias):
        self.shape, self.w, self.has_bias = x.shape, w, bias is not None
        out, self.store = _convolve(x, w, bias, self.sizes, self.stride, self.padding)
        return out

    def backward(self, dz, needs):
        """(dx, dw, dbias) for dz (N, K, Ho, Wo); ``needs`` says which of them to compute
        (None for the others)."""
        (N, C, H, W), (Ho, Wo), stride, padding = self.shape, self.sizes, self.stride, self.padding
        w, has_bias = self.w, self.has_bias
        K, _, Fh, Fw = w.shape
        needs_x, needs_params = needs[0], any(needs[1:])
        dz = np.asarray(dz, dtype=w.dtype).reshape(N, K, Ho, Wo)
        columns = _Columns((N, C, H, W), w.dtype, (Fh, Fw), (Ho, Wo), stride, padding, has_bias)
        columns.attach(self.store)
        param_parts = {}  # by first example, summed in order so the result does not depend on timing
        transposed = needs_x and _dx_by_convolution(C, K, (Fh, Fw), stride, padding)
        scatters = needs_x and not transposed
        weights_t = np.swapaxes(columns.weights(w, None), -1, -2) if scatters else None
        dpadded = columns.gradient_store() if scatters else None

        def backward_part(start, stop):
            count = stop - start
            block = columns.buffer(count) if needs_params else None
            spread = columns.spread_buffer(count, K)
            dcols = columns.scatter_buffer(count) if scatters else None
            total = None
            for first in range(start, stop, columns.block):
                last = min(stop, first + columns.block)
                dz_cols = columns.spread(spread, dz[first:last])
                if needs_params:
                    part = columns.param_products(columns.fill(block, first, last), dz_cols)
                    total = part if total is None else total + part
                if scatters:
                    columns.scatter(dpadded[first:last], weights_t, dz_cols, dcols)
            if total is None:  # an empty batch: the gradients are zero
                total = np.zeros((columns.rows, K), dtype=w.dtype)
            param_parts[start] = total

        if needs_params or scatters:
            over_batch(backward_part, N, dz.size)
        dx = dw = dbias = None
        if needs_params:
            parts = [param_parts[start] for start in sorted(param_parts)]
            total = sum(parts[1:], parts[0])
            if needs[1]:
                dw = columns.filters(total[:C * Fh * Fw].T)
            if has_bias and needs[2]:
                dbias = total[-1].copy()
        if transposed:  # see _dx_by_convolution
            flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
            dx, _ = _convolve(dz, flipped, None, (H, W), (1, 1),
                              (Fh - 1 - padding[0], Fw - 1 - padding[1]), kept=False)
        elif needs_x:
            dx = columns.unpad(dpadded)
        return dx, dw, dbias


class Pointwise:
    """The fast kernel for a 1x1 convolution at stride 1 without padding: each example's
    output is one matrix product, w (K, C) @ x[b] (C, H·W), so the input is its own columns
    and nothing is copied. Benchmark shape (e), 64x32x16x16 -> 64 filters: forward 0.75 ms
    against 1.00 ms through ``Convolution``'s columns, forward+backward 2.11 against 2.72
    (``benchmarks.run``, 2026-12-07); then 0.49 ms forward with the bias added block by
    block (``POINTWISE_BLOCK_BYTES``) and a writable x copied by the parts."""

    def forward(self, x, w, bias):
        N, C, H, W = x.shape
        K = w.shape[0]
        kept = _room_to_keep(x)  # if a copy, the parts below fill it
        self.x, self.w, self.has_bias = kept, w, bias is not None
        x3, w2 = x.reshape(N, C, H * W), w.reshape(K, C)
        kept3 = kept.reshape(N, C, H * W)
        out = memory.empty((N, K, H * W), x.dtype)
        # the products of a few examples at a time, then the bias added to them while they
        # are still in the cache, instead of a pass of its own over the whole output
        block = max(1, POINTWISE_BLOCK_BYTES // (K * H * W * x.dtype.itemsize))

        def part(start, stop):
            if kept is not x:
                np.copyto(kept3[start:stop], x3[start:stop])
            for first in range(start, stop, block):
                last = min(stop, first + block)
                np.matmul(w2, x3[first:last], out=out[first:last])
                if bias is not None:
                    out[first:last] += bias[:, None]

        over_batch(part, N, out.size)
        return out.reshape(N, K, H, W)

    def backward(self, dz, needs):
        x, w = self.x, self.w
        N, C, H, W = x.shape
        K = w.shape[0]
        dz3 = np.asarray(dz, dtype=w.dtype).reshape(N, K, H * W)
        x3, w2 = x.reshape(N, C, H * W), w.reshape(K, C)
        dx = memory.empty((N, C, H * W), w.dtype) if needs[0] else None
        parts = {}  # dw by first example, summed in order: the result does not depend on timing

        def part(start, stop):
            if dx is not None:
                np.matmul(w2.T, dz3[start:stop], out=dx[start:stop])
            if needs[1]:
                parts[start] = np.matmul(dz3[start:stop], x3[start:stop].transpose(0, 2, 1)).sum(0)

        over_batch(part, N, dz3.size)
        dw = None
        if needs[1]:
            ordered = [parts[start] for start in sorted(parts)]
            dw = sum(ordered[1:], ordered[0]).reshape(w.shape)
        dbias = dz3.sum(axis=(0, 2)) if self.has_bias and needs[2] else None
        return (None if dx is None else dx.reshape(N, C, H, W)), dw, dbias


def _room_to_keep(x):
    """Where to keep x for backward: x itself when read-only (a graph's output, which
    cannot change), else room for a copy in the kernels' memory, which the caller's parts
    fill, each its own examples. The engine checksums an outside array a node keeps, when
    recorded and again before backward, to catch an edit in place; a copy is cheaper than
    those two passes (for 2 MiB here, 0.13 ms against 0.7 ms) and cannot change."""
    return x if not x.flags.writeable else memory.empty(x.shape, x.dtype)


def _convolve(x, w, bias, sizes, stride, padding, kept=True):
    """The output (N, K, Ho, Wo) of 2-D x (N, C, H, W) and w (K, C, Fh, Fw) of one dtype,
    checked by the caller, and the store of the padded input that backward reads (``kept``;
    False when no backward will read it)."""
    N, K = x.shape[0], w.shape[0]
    columns = _Columns(x.shape, x.dtype, w.shape[2:], sizes, stride, padding, bias is not None)
    store = columns.new_store(x, kept)
    weights = columns.weights(w, bias)
    out = memory.empty((N, K) + tuple(sizes), x.dtype)

    def forward_part(start, stop):
        columns.pad(x, start, stop)
        block = columns.buffer(stop - start)
        scratch = columns.product_buffer(stop - start, K)
        for first in range(start, stop, columns.block):
            last = min(stop, first + columns.block)
            cols = columns.fill(block, first, last)
            columns.product(weights, bias, cols, out[first:last], scratch)

    over_batch(forward_part, N, out.size)
    return out, store


class _Columns:
    """im2col for blocks of examples of a padded input, and its way back (col2im).

    The forward pass does not keep the columns, which are C·Fh·Fw times the size of the
    input; backward copies them again. Measured on this project's machine (shape (b),
    batch 64, one thread): copying them into a fresh array, with the last step's still
    alive, took 1.85 ms, into one reused buffer 0.88 ms. In a training step the conv
    backward went from 10.0 to 10.5 ms, and peak RSS over 200 steps from 99 to 78 MiB.

    An example's columns hold, in row (c, m, n) and the column of output pixel (i, j),
    x_pad[c, S·i + m, S·j + n]; with a bias, a last row of ones. The padded input is kept
    flat in ``store``. Two layouts:

    - by pixel (rows in (c, m, n) order, M = Ho·Wo columns): one strided copy of Ho runs
      of Wo numbers per row.
    - by rows (stride 1, see ``_by_rows`` for when): flatten the stored input of
      an example (C, Hp, Wq) to one run of C·L numbers, L = Hp·Wq. Pixel (i, j) then
      reads flat position c·L + (i·Wq + j) + (m·Wq + n - d), where d is the part of the
      width's padding that is not stored (below). So with rows in (m, n, c) order and a
      column per position i·Wq + j, every row is a contiguous slice of that run, and the
      C rows of kernel offset (m, n) together are the run shifted by m·Wq + n - d:
      ``fill`` copies rows of M numbers, not Ho pieces of Wo, and ``scatter`` adds back
      one run of about C·L numbers per offset. Only the first M = (Ho - 1)·Wq + Wo
      columns of each row are used.

      The width's padding: zero columns stored at both ends of every image row would
      cost Fw - 1 columns per output row that hold no pixel, computed by the products
      and dropped by a pass over the output (``pixels``). When the padding Pw is at
      most (Fw - 1)/2, as in "same" convolutions, it is not stored (Wq = W, d = Pw):
      a window that hangs over a row's end reads the next or previous row instead (or
      ``store``'s d spare numbers at either end), and ``_clear_wraps`` sets those
      entries, the ones with j + n - d outside [0, W), to the padding's zero. The
      products then have W - Wo = Fw - 1 - 2·Pw unused columns per row, none for a
      "same" convolution, whose products go straight into the output.

      Split by kernel rows (``split``, see ``_split``): the rows of kernel row m are
      those of kernel row 0 shifted by m·Wq columns. So only the C·Fw rows (n, c) of
      m = 0 are copied, over ``span`` = (Fh - 1)·Wq + M columns, and the products are Fh
      per block, of the filters' kernel row m with the columns m·Wq to m·Wq + M, added
      up. That copies Fh times less, and the products, with an inner dimension of C·Fw
      instead of C·Fh·Fw, ran faster per multiply-add too. Measured on this project's
      machine (one thread, (32, inner) @ (inner, 256) float32 products, 8 at a time):
      84 GFLOP/s for an inner dimension of 48, 54 for 144 and 145. An odd one is slow
      (65 for 49), so the bias is added after the products instead of riding as a row
      of ones; backward keeps the row of ones for dbias.

      ``direct``: split columns with no stored width padding are copied from x itself,
      a run per kernel column clipped to stay inside x, into a buffer whose padding rows
      stay zero. So no padded copy of x is made, and the input's gradient is added
      straight into dx. One thread, benchmark shape (b): forward 3.68 ms against 3.78
      from the padded copy (medians of 70 runs, alternating); forward+backward 14.1
      against 13.9.
    """

    def __init__(self, shape, dtype, kernel, output, stride, padding, has_bias):
        N, C, H, W = shape
        self.N, self.C, self.H, self.W = shape
        (self.Fh, self.Fw), (self.Ho, self.Wo) = kernel, output
        (self.Sh, self.Sw), (self.Ph, self.Pw) = stride, padding
        self.dtype, self.has_bias = np.dtype(dtype), has_bias
        self.by_rows = _by_rows(self.Sh, self.Sw, C, self.Fw, self.Pw)
        self.split = self.by_rows and _split(C, self.Fh, self.Fw)
        # the width's padding that is read across row ends instead of stored (see above)
        self.d = self.Pw if self.by_rows and 2 * self.Pw <= self.Fw - 1 else 0
        self.Qw = self.Pw - self.d  # zero columns stored on each side
        self.Hp, self.Wq = H + 2 * self.Ph, W + 2 * self.Qw
        self.L = self.Hp * self.Wq
        self.M = (self.Ho - 1) * self.Wq + self.Wo if self.by_rows else self.Ho * self.Wo
        self.cropped = self.by_rows and self.Wq != self.Wo  # products with unused columns
        self.rows = C * self.Fh * self.Fw + has_bias  # of the filters' matrix (``weights``)
        # the columns copied per example: their rows (``fill``) and, by rows, their offsets
        # into the flat padded input (``scatter``) and how many of the L columns are read
        if self.split:
            self.copied_rows = C * self.Fw + has_bias
            self.offsets = [n - self.d for n in range(self.Fw)]
            self.span = (self.Fh - 1) * self.Wq + self.M
        else:
            self.copied_rows = self.rows
            self.offsets = [m * self.Wq + n - self.d for m in range(self.Fh)
                            for n in range(self.Fw)]
            self.span = self.M
        self.width = self.L if self.by_rows else self.M  # of a row in ``buffer``
        block_bytes = SPLIT_BLOCK_BYTES if self.split else BLOCK_BYTES
        self.block = max(1, block_bytes // (self.copied_rows * self.width * self.dtype.itemsize))
        # split columns with no stored width padding are read from x itself (see ``fill``)
        self.direct = self.split and self.Qw == 0
        self.copies = bool(self.Ph or self.Qw or self.d) and not self.direct  # False: x itself
        # where the input sits inside the stored padding, as (rows, columns) slices
        self.inside = (slice(self.Ph, self.Ph + H), slice(self.Qw, self.Qw + W))
        self.copied_from = None  # x, when ``pad`` copies it into an unpadded store

    def new_store(self, x, kept=True):
        """Room for the padded input with its zeros (``pad`` copies x in), or x itself when
        nothing is padded: room for a copy of it when it is not contiguous, or when
        ``kept`` for backward and writable (see ``_room_to_keep``), which ``pad`` fills,
        each part its own examples. The zeros are written here, before the work is split:
        as few small NumPy calls as possible run on two threads at once (BLOCK_BYTES)."""
        if not self.copies:
            if x.flags.c_contiguous and not (kept and x.flags.writeable):
                self.attach(x.reshape(-1))
            else:
                self.copied_from = x
                self.attach(memory.empty((x.size,), self.dtype))
            return self.store
        store = memory.empty((self.N * self.C * self.L + 2 * self.d,), self.dtype)
        store[:self.d] = 0  # read only into entries _clear_wraps sets to zero
        store[store.size - self.d:] = 0
        self.attach(store)
        rows, columns = self.inside
        if self.Ph:
            self.padded[:, :, :rows.start] = 0
            self.padded[:, :, rows.stop:] = 0
        if self.Qw:
            self.padded[:, :, rows, :columns.start] = 0
            self.padded[:, :, rows, columns.stop:] = 0
        return store

    def attach(self, store):
        """Read the padded input from ``store`` (as made by ``new_store``)."""
        self.store, d, item = store, self.d, self.dtype.itemsize
        if self.direct:
            self.inputs = store.reshape(self.N, self.C, self.H * self.W)
            return
        self.padded = store[d:d + self.N * self.C * self.L].reshape(
            self.N, self.C, self.Hp, self.Wq)
        if self.split:  # [b, n, c, p] = padded[b].flat[c·L + p + n - d]
            self.source = as_strided(
                store, shape=(self.N, self.Fw, self.C, self.span), writeable=False,
                strides=(self.C * self.L * item, item, self.L * item, item))
        elif self.by_rows:  # [b, m, n, c, p] = padded[b].flat[c·L + p + m·Wq + n - d]
            self.source = as_strided(
                store, shape=(self.N, self.Fh, self.Fw, self.C, self.M), writeable=False,
                strides=(self.C * self.L * item, self.Wq * item, item, self.L * item, item))
        else:  # [b, c, m, n, i, j] = padded[b, c, S·i + m, S·j + n]
            b, c, row, column = self.padded.strides
            self.source = as_strided(
                self.padded, writeable=False,
                shape=(self.N, self.C, self.Fh, self.Fw, self.Ho, self.Wo),
                strides=(b, c, row, column, self.Sh * row, self.Sw * column))

    def pad(self, x, start, stop):
        """Copy examples start:stop of x into the store (inside its padding, if any)."""
        if self.copies:
            self.padded[(slice(start, stop), slice(None)) + self.inside] = x[start:stop]
        elif self.copied_from is not None:
            self.store.reshape(x.shape)[start:stop] = x[start:stop]

    def gradient_store(self):
        """Zeros for ``scatter`` to add the input's gradient to: shaped as the padded input,
        or as x when the columns are read from x itself."""
        shape = (self.N, self.C, self.H, self.W) if self.direct else self.padded.shape
        return memory.zeros(shape, self.dtype)

    def unpad(self, dpadded):
        """The input's part (N, C, H, W) of ``gradient_store``."""
        if self.direct:
            return dpadded
        return dpadded[(slice(None), slice(None)) + self.inside]

    def weights(self, w, bias):
        """The filters (K, C, Fh, Fw) as a (K, rows) matrix in this layout's row order, the
        bias as the weight of the row of ones; split, as Fh matrices (Fh, K, C·Fw) and no
        bias (``product`` adds it)."""
        K = w.shape[0]
        if self.split:
            return np.ascontiguousarray(
                w.transpose(2, 0, 3, 1).reshape(self.Fh, K, self.Fw * self.C))
        matrix = (w.transpose(0, 2, 3, 1) if self.by_rows else w).reshape(K, -1)
        if bias is not None:  # the weight of the row of ones
            matrix = np.concatenate([matrix, bias[:, None]], axis=1)
        return np.ascontiguousarray(matrix)

    def filters(self, matrix):
        """Inverse of ``weights`` (without the bias): (K, C·Fh·Fw) to (K, C, Fh, Fw)."""
        K = matrix.shape[0]
        if self.by_rows:
            return np.ascontiguousarray(matrix.reshape(K, self.Fh, self.Fw, self.C)
                                        .transpose(0, 3, 1, 2))
        return np.ascontiguousarray(matrix).reshape(K, self.C, self.Fh, self.Fw)

    def buffer(self, count):
        """Room for the columns of one block of examples (reused block after block)."""
        shape = (min(self.block, count), self.copied_rows, self.width)
        # read from x itself, the columns keep the padding rows' zeros from here on, and
        # what ``fill`` leaves out is a zero or a number of an earlier block, never garbage
        block = (memory.zeros if self.direct else memory.empty)(shape, self.dtype)
        if self.has_bias:
            block[:, -1] = 1
        return block

    def fill(self, block, first, last):
        """The columns of examples first:last, written into ``block``: (count, rows, M), or
        split (count, C·Fw + has_bias, L) with the first ``span`` columns filled."""
        count, C, Fh, Fw = last - first, self.C, self.Fh, self.Fw
        cols = block[:count]
        if self.direct:  # a copy per kernel column from x; the padding rows stay zero
            for n, inside, source in self._direct_runs():
                cols[:, n * C:(n + 1) * C, inside] = self.inputs[first:last, :, source]
            self._clear_wraps(cols)
            return cols
        if self.split:  # one copy, as below
            np.copyto(cols[:, :C * Fw, :self.span].reshape(count, Fw, C, self.span),
                      self.source[first:last])
            self._clear_wraps(cols)
            return cols
        if self.by_rows:  # one copy; splitting axes only, so the reshape is a view of block
            np.copyto(cols[:, :C * Fh * Fw, :self.M].reshape(count, Fh, Fw, C, self.M),
                      self.source[first:last])
            self._clear_wraps(cols)
            return cols[:, :, :self.M]
        # one copy of all the windows: for shape (c), 32 examples, one thread, 0.25 ms
        # against 0.34 as a copy per kernel offset (and 25 times fewer NumPy calls)
        np.copyto(cols[:, :C * Fh * Fw].reshape(count, C, Fh, Fw, self.Ho, self.Wo),
                  self.source[first:last])
        return cols

    def _direct_runs(self):
        """For each kernel column n of direct columns: (n, where in a row of the
        columns, where in x's flat channel), the largest run that stays inside x. What it
        leaves out reads across a row's end (so ``_clear_wraps`` zeroes it) or is an unused
        column."""
        HW, start = self.H * self.W, self.Ph * self.W
        for n, offset in enumerate(self.offsets):
            lo, hi = max(0, -offset), HW - max(0, offset)
            yield n, slice(start + lo, start + hi), slice(lo + offset, hi + offset)

    def _clear_wraps(self, cols):
        """Zero the by-rows entries whose window hangs over a row's end: j + n - d outside
        [0, W). Of those past the end, only the ones that products read matter."""
        d = self.d
        if not d:
            return
        count, C, Fw, Wq = cols.shape[0], self.C, self.Fw, self.Wq
        lines = self.Hp if self.split else self.Ho  # image rows the columns cover
        grid = cols[:, :self.copied_rows - self.has_bias, :lines * Wq].reshape(
            count, -1, Fw, C, lines, Wq)
        for n in range(d):  # before the row's start: j < d - n
            grid[:, :, n, :, :, :d - n] = 0
        for n in range(Fw - d, Fw):  # past its end: j >= Wq + d - n
            grid[:, :, n, :, :, Wq + d - n:] = 0

    def product_buffer(self, count, K):
        """Room for ``product``'s partial sums and unused columns, if it needs any."""
        if not (self.split or self.cropped):
            return None
        return memory.empty((2 if self.split and self.cropped else 1, min(self.block, count), K,
                             self.M), self.dtype)

    def product(self, weights, bias, cols, out, scratch):
        """out (B, K, Ho, Wo) = the filters (``weights``) times the columns ``cols`` of a
        block, with the bias."""
        B, K = out.shape[:2]
        wide = scratch[-1, :B] if self.cropped else out.reshape(B, K, self.M)
        if not self.split:
            np.matmul(weights, cols, out=wide)
        else:
            R, Wq, M = self.C * self.Fw, self.Wq, self.M
            np.matmul(weights[0], cols[:, :R, :M], out=wide)
            partial = scratch[0, :B]
            for m in range(1, self.Fh):
                np.matmul(weights[m], cols[:, :R, m * Wq:m * Wq + M], out=partial)
                wide += partial
            if bias is not None:
                wide += bias[:, None]
        if self.cropped:
            out[...] = self.pixels(wide)

    def param_products(self, cols, dz_cols):
        """[dw, dbias]ᵀ (rows, K) of a block: Σ over examples and pixels of cols[row, p] ·
        dz[k, p], the row of ones giving Σ dz[k, p].

        As (rows, P) @ (P, K) products OpenBLAS ran these about 25% faster than as
        (K, P) @ (P, rows) for benchmark shape (b) on this project's machine, and at the
        same speed for (a) (measured with the by-pixel layout, before by-rows existed)."""
        dz_t = dz_cols.transpose(0, 2, 1)
        if not self.split:
            return np.matmul(cols, dz_t).sum(axis=0)
        R, Wq, M = self.C * self.Fw, self.Wq, self.M
        total = np.empty((self.rows, dz_t.shape[2]), dtype=self.dtype)
        dz_t = np.ascontiguousarray(dz_t)  # once for Fh products: faster than the view in an A/B
        for m in range(self.Fh):
            rows = R + self.has_bias if m == 0 else R  # the ones only line up with m = 0
            part = np.matmul(cols[:, :rows, m * Wq:m * Wq + M], dz_t).sum(axis=0)
            total[m * R:(m + 1) * R] = part[:R]
            if rows > R:
                total[-1] = part[R]
        return total

    def pixels(self, wide):
        """The output pixels of (B, K, M) by-rows products, as (B, K, Ho, Wo)."""
        B, K, M = wide.shape
        item = wide.itemsize
        return as_strided(wide, shape=(B, K, self.Ho, self.Wo), writeable=False,
                          strides=(K * M * item, M * item, self.Wq * item, item))

    def spread_buffer(self, count, K):
        """Room for ``spread`` (zero where no pixel is, which it never writes)."""
        if not self.cropped:
            return None
        return memory.zeros((min(self.block, count), K, self.Ho, self.Wq), self.dtype)

    def spread(self, buffer, dz):
        """dz (B, K, Ho, Wo) laid out as the columns: (B, K, M), zero where no pixel is."""
        B, K = dz.shape[:2]
        if not self.cropped:
            return dz.reshape(B, K, self.M)
        buffer[:B, :, :, :self.Wo] = dz
        return buffer[:B].reshape(B, K, -1)[:, :, :self.M]

    def scatter_buffer(self, count):
        """Room for the columns' gradient in ``scatter`` (by rows: zero past ``span``);
        split, with room for one kernel row's product after it."""
        if not self.by_rows:
            return None
        rows, block = self.copied_rows - self.has_bias, min(self.block, count)
        return (memory.zeros((block, rows, self.L), self.dtype),
                memory.empty((block, rows, self.M if self.split else 0), self.dtype))

    def scatter(self, dpadded, weights_t, dz_cols, buffers):
        """col2im: dcols = weights_t @ dz_cols, each row added back where ``fill`` read it."""
        B, C, Fh, Fw = dpadded.shape[0], self.C, self.Fh, self.Fw
        if self.by_rows:
            dcols, partial = buffers[0][:B], buffers[1][:B]
            M, Wq = self.M, self.Wq
            np.matmul(weights_t[0] if self.split else weights_t, dz_cols, out=dcols[:, :, :M])
            if self.split:  # kernel row m's product adds to the columns m·Wq on
                dcols[:, :, M:self.span] = 0
                for m in range(1, Fh):
                    np.matmul(weights_t[m], dz_cols, out=partial)
                    dcols[:, :, m * Wq:m * Wq + M] += partial
            self._clear_wraps(dcols)
            if self.direct:  # the padding rows' gradient is dropped
                target = dpadded.reshape(B, C, -1)
                for n, inside, source in self._direct_runs():
                    target[:, :, source] += dcols[:, n * C:(n + 1) * C, inside]
                return
            CL = C * self.L
            target = dpadded.reshape(B, CL)
            for t, offset in enumerate(self.offsets):
                run = dcols[:, t * C:(t + 1) * C].reshape(B, CL)
                # What a shifted run leaves out at either end of an example is zero: columns
                # past ``span``, or wrapped entries. So no part adds into another's examples.
                if offset >= 0:
                    target[:, offset:] += run[:, :CL - offset]
                else:
                    target[:, :CL + offset] += run[:, -offset:]
            return
        Ho, Wo, Sh, Sw = self.Ho, self.Wo, self.Sh, self.Sw
        dcols = np.matmul(weights_t, dz_cols).reshape(B, C, Fh, Fw, Ho, Wo)
        for m in range(Fh):
            for n in range(Fw):
                dpadded[:, :, m:m + Sh * Ho:Sh, n:n + Sw * Wo:Sw] += dcols[:, :, m, n]


# bytes of a 1x1 convolution's output computed at a time before its bias is added, so the
# block is still in the core's cache. Shape (e) forward, medians of 4x60 runs beside
# PyTorch's 0.49 ms (2026-12-07): the bias as a pass of its own over the output 0.64 ms;
# blocks of 128 KiB 0.58, 256 KiB 0.52, 512 KiB 0.49, 1 MiB 0.67
POINTWISE_BLOCK_BYTES = 512 << 10
# the columns of a block of examples, so they stay in cache. Measured (forward, backward
# of benchmark shapes (a)-(c)): blocks of 256-512 KiB were up to 2x slower (many small
# NumPy calls on two threads contend for the GIL), 1 MiB slower on (b), 2 MiB the best
# on (a) and (b); (c) was a little faster still with 8 MiB
BLOCK_BYTES = 2 << 20
# by-rows columns for stride 1 and at least this many input channels (and see _by_rows)
ROWS_FROM_CHANNELS = 2
# by-rows columns split by kernel rows from this many rows C·Fh·Fw (see _split). Measured
# on this project's machine, one thread, batch 64, 3x3 "same", forward and forward+backward
# in ms, split against not: 3x32x32 -> 16 filters (27 rows) 3.7, 13.1 against 2.8, 10.4;
# 4x32x32 -> 16 (36 rows) 4.0, 13.9 against 4.0, 12.9; 8x16x16 -> 16 (72 rows) 1.45, 5.9
# against 1.85, 6.5; 16x16x16 -> 32 (144 rows, benchmark shape (b)) 3.9, 13.6 against
# 5.8, 18.4.
SPLIT_FROM_ROWS = 64
# the columns of a block when split by kernel rows; the products' partial sums make the
# working set about twice this. Shape (b), one thread, forward+backward: 256 KiB 15.6 ms,
# 512 KiB 13.6, 1 MiB 15.9 (an earlier, noisier run: 2 MiB 17.6)
SPLIT_BLOCK_BYTES = 512 << 10


def _transposable(kernel, stride, padding):
    """Whether dx is a convolution of dz: stride 1 and padding P < F on both axes."""
    return stride == (1, 1) and all(p < f for f, p in zip(kernel, padding))


def _dx_by_convolution(C, K, kernel, stride, padding):
    """Whether ``backwardPass`` computes dx as a convolution of dz instead of col2im.

    With stride 1, dx[c] = Σ_k dz[k] convolved with w[k, c] turned by 180 degrees, padded
    by F - 1 - P: a forward pass with K input channels and C filters. Its partial sums
    are over C rows per kernel row, col2im's over K·Fw, so it wins when C is not much
    smaller than K. Measured on this project's machine (dx alone, batch 64, 3x3, padding
    1, col2im against this in ms, one thread / two): benchmark shape (b), C=16 K=32 16x16,
    4.31 / 3.29 against 3.17 / 3.08; C=K=16 16x16, 4.65 / 2.98 against 1.77 / 1.73;
    C=K=32 32x32, 36.9 / 26.1 against 26.3 / 17.5; C=16 K=64 16x16, 6.21 / 4.55 against
    5.37 / 6.58; C=3 K=32 16x16, 1.17 / 0.99 against 1.65 / 2.95. Without "same" padding
    (2P < F - 1) the convolution of dz must store its width's padding and lost: C=16 K=32
    padding 0, 3.47 / 2.84 against 3.79 / 3.97. So: at least half as many channels as
    filters, a padding of at least (F - 1)/2, and split columns for the convolution of dz.
    """
    (Fh, Fw), (Ph, Pw) = kernel, padding
    return (_transposable(kernel, stride, padding) and 2 * C >= K and Fw - 1 <= 2 * Pw
            and _by_rows(1, 1, K, Fw, Fw - 1 - Pw) and _split(K, Fh, Fw))


def _split(C, Fh, Fw):
    """Whether by-rows columns copy kernel row 0 only, with a product per kernel row
    (see ``_Columns`` and, for the measurements, ``SPLIT_FROM_ROWS``)."""
    return Fh > 1 and C * Fh * Fw >= SPLIT_FROM_ROWS


def _by_rows(Sh, Sw, C, Fw, Pw):
    """Whether to lay the columns out by flat rows (stride 1 only, see ``_Columns``).

    By rows, ``fill`` copies rows of M numbers instead of pieces of Wo, and ``scatter``
    adds runs of C·L numbers; but unless the output is as wide as the input, the products
    compute unused columns and dz must first be spread out to that layout. Measured A/B
    on this project's machine (forward, backward in ms, batch 64), before the width's
    padding could be left out of the store: benchmark shape (a), C = 3 and Wo = 32, by
    pixel 1.8-2.1, 4.7-4.9; by rows 1.8-2.0, 3.6-3.7. Shape (c), a single channel, no
    padding and 25 kernel offsets: by pixel 0.9, 2.6-2.7; by rows 0.9, 3.2. With it, a
    single channel of 28x28 with 8 filters of 5x5, padding 2 (no unused columns): forward
    1.62 by pixel, 1.22 by rows; forward+backward 8.95 and 8.07.
    """
    return Sh == Sw == 1 and (C >= ROWS_FROM_CHANNELS or Fw - 1 == 2 * Pw)
