"""Where conv2d forward's time goes: its matrix products alone, beside PyTorch.

    .venv/bin/python -m benchmarks.conv_parts

For each conv shape of item 1, in one process, two threads each: tapegrad's whole
``F.conv2d(x, w, b)`` (fast kernels); its matrix products alone, on columns already
copied (in the fast kernel's layout, block by block with the kernel's own ``product``,
which also adds the bias; the batch split between the threads as the kernel splits it,
each on a one-thread OpenBLAS); and PyTorch's whole conv2d. The
products are what would be left of tapegrad's forward with a free im2col copy; compare
them with twice PyTorch's time (the issue's target) to see how much room the copy has.
"""

from .common import median_times, pin_threads, settle, start_torch

BATCH = 64


def parts(torch, channels, size, filters, kernel, padding, batch=BATCH, stride=1):
    """The three callables of one conv shape, by name."""
    import numpy as np

    import autograd
    from autograd import functional as F
    from nodes.kernels.conv import _Columns
    from nodes.kernels.threads import over_batch

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, channels, size, size)).astype(np.float32)
    w = rng.standard_normal((filters, channels, kernel, kernel)).astype(np.float32)
    b = rng.standard_normal(filters).astype(np.float32)
    side = (size - kernel + 2 * padding) // stride + 1
    layout = _Columns((batch, channels, size, size), np.float32, (kernel, kernel), (side, side),
                      (stride, stride), (padding, padding), has_bias=True)
    columns = rng.standard_normal((batch, layout.copied_rows, layout.width)).astype(np.float32)
    weights = layout.weights(w, b)
    out = np.empty((batch, filters, side, side), np.float32)
    tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))

    def part(start, stop):  # the kernel's products, block by block, as in its forward pass
        scratch = layout.product_buffer(stop - start, filters)
        for first in range(start, stop, layout.block):
            last = min(stop, first + layout.block)
            cols = columns[first:last] if layout.split else columns[first:last, :, :layout.M]
            layout.product(weights, b, cols, out[first:last], scratch)

    def products():
        over_batch(part, batch, out.size * layout.rows)

    def whole():
        with autograd.no_grad():
            return F.conv2d(x, w, b, stride=stride, padding=padding, floor=stride > 1)

    def theirs():
        with torch.no_grad():
            return torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=padding)

    return {"tapegrad conv2d": whole, "matrix products": products, "PyTorch conv2d": theirs}


def main(repeats=30):
    from .common import CONV_SHAPES
    torch = start_torch()
    print("| shape | tapegrad conv2d | matrix products | PyTorch conv2d | products / PyTorch |")
    print("|---|---|---|---|---|")
    for label, channels, size, filters, kernel, padding, stride in CONV_SHAPES:
        settle()
        ms = {name: 1e3 * seconds for name, seconds in
              median_times(parts(torch, channels, size, filters, kernel, padding, stride=stride),
                           repeats, blocks=6).items()}
        print(f"| ({label}) | {ms['tapegrad conv2d']:.2f} ms | {ms['matrix products']:.2f} ms "
              f"| {ms['PyTorch conv2d']:.2f} ms "
              f"| {ms['matrix products'] / ms['PyTorch conv2d']:.2f}x |")


if __name__ == "__main__":
    pin_threads()  # before NumPy or PyTorch start their thread pools
    main()
