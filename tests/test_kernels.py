"""The fast kernels (nodes/kernels/) against the nodes' own math, and their machinery:
column layouts, blocks, threads, the kernel choice."""

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
import nodes
from helpers import split_work_between_threads


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def run_node(kernels, make, inputs, seed=0):
    """forwardPass then backwardPass (with a fixed random dz) of a fresh node, on ``kernels``."""
    with autograd.kernels(kernels):
        node = make()
        out = node.forwardPass(*inputs)
        dz = randn(*out.shape, seed=seed)
        return [out, *node.backwardPass(dz)]


def assert_same(fast, reference, exact=False):
    assert len(fast) == len(reference)
    for i, (a, b) in enumerate(zip(fast, reference)):
        assert (a is None) == (b is None), f"result {i}"
        if a is None:
            continue
        assert a.shape == b.shape and a.dtype == b.dtype, f"result {i}: {a.shape} {a.dtype}, {b.shape} {b.dtype}"
        if exact:
            np.testing.assert_array_equal(a, b, err_msg=f"result {i}")
        else:
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10, err_msg=f"result {i}")


# ---------------------------------------------------------------- fast against reference

@st.composite
def conv_cases(draw):
    spatial = draw(st.sampled_from([1, 2]))
    N, C, K = draw(st.integers(1, 4)), draw(st.integers(1, 17)), draw(st.integers(1, 33))
    kernel = tuple(draw(st.integers(1, 5)) for _ in range(spatial))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(spatial))
    padding = tuple(draw(st.integers(0, 3)) for _ in range(spatial))
    size = tuple(max(1, f - 2 * p) + draw(st.integers(0, 8)) for f, p in zip(kernel, padding))
    return (N, C) + size, (K, C) + kernel, stride, padding, draw(st.booleans())


@settings(max_examples=60, deadline=None)
@given(conv_cases(), st.integers(0, 2**16))
def test_fast_conv_equals_the_math(case, seed):
    """Random shapes (1-D and 2-D, every stride, padding, channel count, with and without
    a bias): the fast kernel's output and gradients are the math's, to rounding."""
    x_shape, w_shape, stride, padding, with_bias = case
    inputs = [randn(*x_shape, seed=seed), randn(*w_shape, seed=seed + 1)]
    if with_bias:
        inputs.append(randn(w_shape[0], seed=seed + 2))

    def make():
        return nodes.ConvolutionNode(stride, padding, floor=True)

    assert_same(run_node("fast", make, inputs, seed), run_node("reference", make, inputs, seed))


@pytest.mark.parametrize("shape, kernel_size, stride", [
    ((3, 4, 8, 8), 2, None), ((2, 3, 9, 7), 2, None), ((2, 3, 8, 9), (1, 2), None),
    ((2, 3, 9, 8), (2, 1), None), ((2, 2, 9, 9), 3, 2), ((2, 2, 7, 8), (2, 3), (1, 2)),
    ((2, 3, 10), 2, None), ((2, 3, 11), 3, 1)])
@pytest.mark.parametrize("values", ["ties", "nan", "distinct"])
def test_fast_max_pool_equals_the_math_exactly(shape, kernel_size, stride, values):
    """Max pooling, both paths of the kernel (halving passes, offset by offset): ties and
    NaNs go to the same input, so the numbers are equal, not close."""
    rng = np.random.default_rng(sum(shape))
    x = rng.integers(0, 3, size=shape).astype(float)
    if values == "nan":
        x.reshape(-1)[::7] = np.nan
    elif values == "distinct":
        x = rng.permutation(x.size).reshape(shape) * 0.5

    def make():
        return nodes.MaxPoolNode(kernel_size, stride, floor=True)

    assert_same(run_node("fast", make, [x]), run_node("reference", make, [x]), exact=True)


@pytest.mark.parametrize("x_shape, w_shape, padding", [
    ((4, 3, 9, 8), (5, 3, 3, 3), 1), ((4, 3, 9, 8), (5, 3, 3, 3), 0),
    ((3, 2, 7, 7), (4, 2, 5, 5), 2), ((3, 2, 7, 7), (4, 2, 5, 5), 1),
    ((2, 1, 8, 8), (3, 1, 3, 2), (1, 0)), ((3, 8, 6, 6), (4, 8, 3, 3), 1)])
@pytest.mark.parametrize("writable", [True, False])
def test_a_convolution_whose_input_takes_no_gradient_equals_the_math(
        monkeypatch, x_shape, w_shape, padding, writable):
    """The parameters' gradients alone (a first layer's: x takes none), from columns read
    off the store the forward pass made (padded, x itself, or x's copy) in each layout;
    split between threads too."""
    split_work_between_threads(monkeypatch, threads=2)
    x, w, b = randn(*x_shape, seed=2), randn(*w_shape, seed=3), randn(w_shape[0], seed=4)
    x.setflags(write=writable)

    def run(kernels):
        with autograd.kernels(kernels):
            node = nodes.ConvolutionNode(1, padding)
            node.needs_input_grad = (False, True, True)
            out = node.forwardPass(x, w, b)
            return [out, *node.backwardPass(randn(*out.shape, seed=5))[1:]]

    assert_same(run("fast"), run("reference"))


@pytest.mark.parametrize("kernel_size", [2, (1, 2), (2, 1)])
def test_split_max_pool_with_a_nan_and_an_inf_in_one_part_only_equals_the_math(
        monkeypatch, kernel_size):
    """Each part of the halving passes checks its own rows for NaN (forward) and for an inf
    or NaN arriving (backward): a part without them must not skip its neighbour's."""
    split_work_between_threads(monkeypatch, threads=3)
    rng = np.random.default_rng(11)
    x = rng.integers(0, 3, size=(6, 2, 4, 4)).astype(np.float32)
    x[4, 1, 2, 3] = np.nan  # in the third part only
    upstream_shape = (6, 2) + tuple(4 // k for k in np.broadcast_to(kernel_size, 2))
    dz = rng.standard_normal(upstream_shape).astype(np.float32)
    dz[1, 0, 0, 0] = np.inf  # in the first part only

    def run(kernels):
        with autograd.kernels(kernels):
            node = nodes.MaxPoolNode(kernel_size)
            return [node.forwardPass(x), *node.backwardPass(dz)]

    fast, reference = run("fast"), run("reference")
    assert_same(fast, reference, exact=True)
    assert np.isnan(fast[1]).sum() == 0  # 0 where inf did not win, not inf * 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("needs", [(True, True, True), (False, True, True), (True, False, False)])
def test_a_1x1_convolution_is_one_product_per_example_and_equals_the_math(
        monkeypatch, dtype, with_bias, needs):
    """The pointwise kernel (1x1, stride 1, no padding) reads x as its own columns: the same
    numbers as the math, split between threads or not, a block of examples or one at a
    time, on a strided x too."""
    from nodes.kernels.conv import Pointwise
    x = randn(5, 6, 4, 7, seed=3).astype(dtype)[:, :, :, ::-1]  # not contiguous
    inputs = [x, randn(8, 6, 1, 1, seed=4).astype(dtype)]
    if with_bias:
        inputs.append(randn(8, seed=5).astype(dtype))
    needs = needs[:len(inputs)]

    def run(kernels):
        with autograd.kernels(kernels):
            node = nodes.ConvolutionNode()
            node.needs_input_grad = needs
            out = node.forwardPass(*inputs)
            return node, [out, *node.backwardPass(randn(*out.shape, seed=6).astype(dtype))]

    node, reference = run("reference")
    from nodes.kernels import conv
    for threads, block_bytes in ((1, conv.POINTWISE_BLOCK_BYTES), (3, 1)):
        split_work_between_threads(monkeypatch, threads=threads)
        monkeypatch.setattr(conv, "POINTWISE_BLOCK_BYTES", block_bytes)  # 1: an example a block
        node, fast = run("fast")
        assert isinstance(node.fast, Pointwise)
        for got, expected, needed in zip(fast, reference, (True,) + needs):
            if not needed:
                assert got is None
                continue
            assert got.dtype == expected.dtype and got.shape == expected.shape
            tolerance = 1e-12 if dtype == np.float64 else 1e-5
            np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("make, x_shape, w_shape, fast", [
    (lambda: nodes.ConvolutionNode(1, 1), (2, 4, 6, 6), (4, 4, 3, 3), True),
    (lambda: nodes.ConvolutionNode(1, 1, dilation=2), (2, 4, 6, 6), (4, 4, 3, 3), False),
    (lambda: nodes.ConvolutionNode(1, 1, dilation=(1, 2)), (2, 4, 6, 6), (4, 4, 3, 3), False),
    (lambda: nodes.ConvolutionNode(1, 1, groups=2), (2, 4, 6, 6), (4, 2, 3, 3), False),
    (lambda: nodes.ConvolutionNode(2, 1, dilation=1, groups=1), (2, 4, 9), (4, 4, 3), True),
    (lambda: nodes.ConvolutionNode(2, 1, dilation=2), (2, 4, 9), (4, 4, 3), False),
    (lambda: nodes.MaxPoolNode(2), (2, 3, 6, 6), None, True),
    (lambda: nodes.MaxPoolNode(3, 2, ceil_mode=True), (2, 3, 7, 7), None, True),  # nothing extra
    (lambda: nodes.MaxPoolNode(2, ceil_mode=True), (2, 3, 7, 6), None, False),
    (lambda: nodes.MaxPoolNode(2, padding=1), (2, 3, 6, 6), None, False),
    (lambda: nodes.MaxPoolNode(2, padding=1), (2, 3, 6), None, False),
])
def test_the_fast_kernel_is_used_only_where_it_applies(make, x_shape, w_shape, fast):
    """Dilation, groups, and pooling's padding and ceil_mode windows run the nodes' math (the
    fast kernels do not know them); everything else keeps the fast kernel."""
    inputs = [randn(*x_shape)] + ([] if w_shape is None else [randn(*w_shape, seed=1)])
    with autograd.kernels("fast"):
        node = make()
        node.forwardPass(*inputs)
    assert (node.fast is not None) == fast


@pytest.mark.parametrize("upstream", ["inf", "one inf", "one nan", "finite"])
@pytest.mark.parametrize("needs", [(True, True), (False, True), (True, False)])
def test_fast_maximum_equals_the_math_exactly(monkeypatch, needs, upstream):
    """ReLU's passes split between threads: the same numbers, ties, NaN and an inf
    arriving included, everywhere or in one place (routed by selection, so an unselected
    position gets exactly 0)."""
    split_work_between_threads(monkeypatch, threads=2, large=8)
    rng = np.random.default_rng(5)
    x = rng.integers(-2, 3, size=(6, 3, 4, 5)).astype(np.float32)
    x.reshape(-1)[:3] = np.nan
    y = np.zeros((), np.float32)

    def results(kernels):
        with autograd.kernels(kernels):
            node = nodes.MaxNode()
            node.needs_input_grad = needs
            out = node.forwardPass(y, x)
            dz = np.full(out.shape, np.inf, np.float32)
            if upstream != "inf":
                dz = np.random.default_rng(6).standard_normal(out.shape).astype(np.float32)
                dz[3, 1] = {"one inf": -np.inf, "one nan": np.nan}.get(upstream, 1)
            return [out, *node.backwardPass(dz)]

    fast, reference = results("fast"), results("reference")
    assert type(fast[0]) is np.ndarray
    assert_same(fast, reference, exact=True)
    grads = [g for g in fast[1:] if g is not None]
    if upstream != "one nan":
        assert all(not np.isnan(g).any() for g in grads)  # 0, not inf * 0


MATMUL_SHAPES = [((64, 48), (48, 40)), ((3, 48), (48, 64)), ((48,), (48, 64)),
                 ((64, 48), (48,)), ((5, 16, 48), (48, 40)), ((2, 1, 16, 48), (3, 48, 40))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("x_shape, y_shape", MATMUL_SHAPES)
def test_large_products_split_between_threads_equal_matmul(monkeypatch, x_shape, y_shape,
                                                           dtype):
    """By rows, or by columns when the rows are too few; 1-D, batched and broadcast inputs
    as NumPy's matmul; every part on a one-thread BLAS."""
    from nodes.kernels import threads
    calls = split_work_between_threads(monkeypatch, threads=2)
    monkeypatch.setattr(threads, "SMALL_PRODUCT", 1)
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(x_shape) * 4).astype(dtype)
    y = (rng.standard_normal(y_shape) * 4).astype(dtype)
    blas, seen = threads._openblas(), []
    real = np.matmul
    monkeypatch.setattr(threads.np, "matmul",
                        lambda *a, **k: seen.append(blas and blas[0]()) or real(*a, **k),
                        raising=True)
    got = threads.matmul(x, y)
    monkeypatch.undo()
    expected = x @ y
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert len(calls) == 1 and len(seen) == 2  # two parts, one on the pool
    if blas is not None:
        assert seen == [1, 1]


def test_the_kernel_choice(monkeypatch):
    """``autograd.kernels`` picks per block and per thread; TAPEGRAD_KERNELS sets the
    default; a misspelt name is an error, not the default."""
    from nodes import kernels
    assert kernels.selected() == "fast"
    node = nodes.ConvolutionNode()
    with autograd.kernels("reference"):
        assert kernels.selected() == "reference"
        node.forwardPass(randn(1, 1, 3, 3), randn(1, 1, 2, 2))
        assert node.fast is None
        seen = []
        import threading
        worker = threading.Thread(target=lambda: seen.append(kernels.selected()))
        worker.start()
        worker.join()
        assert seen == ["fast"]  # another thread keeps its own choice
    assert kernels.selected() == "fast"
    node.forwardPass(randn(1, 1, 3, 3), randn(1, 1, 2, 2))
    assert node.fast is not None
    with pytest.raises(ValueError, match="'fast' or 'reference'"):
        with autograd.kernels("quick"):
            pass
    env = dict(os.environ, TAPEGRAD_KERNELS="reference")
    code = "import autograd, nodes.kernels as k; print(k.selected())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "reference"
    env["TAPEGRAD_KERNELS"] = "Fastest"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "TAPEGRAD_KERNELS must be 'fast' or 'reference'" in out.stderr


# ---------------------------------------------------------------- the fast conv's layouts

def reference_conv(x, w, bias, stride, padding, dz):
    """A direct 2-D convolution and its gradients, written out with windows (no im2col)."""
    (Sh, Sw), (Ph, Pw) = stride, padding
    K, C, Fh, Fw = w.shape
    padded = np.pad(x, ((0, 0), (0, 0), (Ph, Ph), (Pw, Pw)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (Fh, Fw), axis=(2, 3))
    windows = windows[:, :, ::Sh, ::Sw]                      # (N, C, Ho, Wo, Fh, Fw)
    out = np.einsum("bcijpq,kcpq->bkij", windows, w) + bias[None, :, None, None]
    dw = np.einsum("bcijpq,bkij->kcpq", windows, dz)
    dpadded = np.zeros_like(padded)
    Ho, Wo = dz.shape[2:]
    for i in range(Ho):
        for j in range(Wo):
            dpadded[:, :, i * Sh:i * Sh + Fh, j * Sw:j * Sw + Fw] += np.einsum(
                "bk,kcpq->bcpq", dz[:, :, i, j], w)
    dx = dpadded[:, :, Ph:Ph + x.shape[2], Pw:Pw + x.shape[3]]
    return out, dx, dw, dz.sum(axis=(0, 2, 3))


@pytest.mark.parametrize("dx_by", ["col2im", "convolution"])  # the latter where it applies
@pytest.mark.parametrize("layout", ["split by kernel rows", "by rows", "by pixel"])
@pytest.mark.parametrize("block_bytes", [1, None])  # one example per block, or the default
@pytest.mark.parametrize("x_shape, w_shape, stride, padding", [
    ((5, 3, 7, 9), (4, 3, 3, 3), (1, 1), (1, 1)),
    ((4, 2, 8, 6), (3, 2, 2, 4), (1, 1), (0, 2)),    # Ph != Pw, a wide kernel
    ((3, 1, 9, 9), (2, 1, 5, 5), (1, 1), (0, 0)),    # no padding: reads x itself
    ((3, 2, 6, 7), (3, 2, 5, 5), (1, 1), (2, 2)),    # "same": the width's padding not stored
    ((3, 2, 6, 9), (2, 2, 3, 5), (1, 1), (0, 1)),    # part of it: unused columns too
    ((2, 3, 5, 4), (2, 3, 1, 4), (1, 1), (1, 3)),    # more than "same": stored
    ((4, 3, 9, 8), (2, 3, 3, 2), (2, 1), (1, 0)),    # stride 2: always by pixel
])
def test_column_layouts_blocks_and_threads_agree_with_a_direct_convolution(
        monkeypatch, dx_by, layout, block_bytes, x_shape, w_shape, stride, padding):
    import nodes.kernels.conv as conv_module
    monkeypatch.setattr(conv_module, "_by_rows",
                        lambda Sh, Sw, C, Fw, Pw: layout != "by pixel" and Sh == Sw == 1)
    monkeypatch.setattr(conv_module, "_split", lambda C, Fh, Fw: layout.startswith("split"))
    # the convolution of dz lays its columns out as ``layout`` says too
    monkeypatch.setattr(conv_module, "_dx_by_convolution",
                        lambda C, K, kernel, stride, padding: dx_by == "convolution"
                        and conv_module._transposable(kernel, stride, padding))
    if block_bytes is not None:
        monkeypatch.setattr(conv_module, "BLOCK_BYTES", block_bytes)
    split_work_between_threads(monkeypatch, threads=2)
    x, w, bias = randn(*x_shape, seed=43), randn(*w_shape, seed=44), randn(w_shape[0], seed=45)
    node = nodes.ConvolutionNode(stride, padding)
    out = node.forwardPass(x, w, bias)
    dz = randn(*out.shape, seed=46)
    expected = reference_conv(x, w, bias, stride, padding, dz)
    got = (out, *node.backwardPass(dz))
    for name, a, b in zip(("out", "dx", "dw", "dbias"), got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=name)
    plain = nodes.ConvolutionNode(stride, padding)  # and without a bias: the same, less it
    np.testing.assert_allclose(plain.forwardPass(x, w), expected[0] - bias[None, :, None, None],
                               rtol=1e-12, atol=1e-12)
    for a, b in zip(plain.backwardPass(dz), expected[1:3]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("split", [False, True])
def test_conv_reads_a_strided_input_as_it_is(monkeypatch, split):
    import nodes.kernels.conv as conv_module
    monkeypatch.setattr(conv_module, "_split", lambda C, Fh, Fw: split)  # True: read from x
    x = randn(2, 3, 10, 14, seed=47)
    w, bias = randn(2, 3, 3, 3, seed=48), randn(2, seed=49)
    strided = x[:, :, ::2, ::2]  # the node must not read the memory around it
    for padding in (0, 1):
        got = nodes.ConvolutionNode(1, padding).forwardPass(strided, w, bias)
        expected = nodes.ConvolutionNode(1, padding).forwardPass(strided.copy(), w, bias)
        np.testing.assert_array_equal(got, expected)


def test_splitting_the_batch_between_threads_gives_the_same_result(monkeypatch):
    """TAPEGRAD_NUM_THREADS > 1 runs parts of the batch on a thread pool; same numbers."""
    from nodes.kernels import threads
    monkeypatch.setattr(threads, "THREADS", 1)
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((5, 3, 9, 8)), rng.standard_normal((4, 3, 3, 2))
    dz_conv = rng.standard_normal((5, 4, 5, 5))
    ties = np.repeat(rng.integers(0, 3, size=(5, 3, 9, 4)).astype(float), 2, axis=3)

    def run():
        conv = nodes.ConvolutionNode(stride=(2, 2), padding=1)
        results = [conv.forwardPass(x, w), *conv.backwardPass(dz_conv)]
        for make, data in ((lambda: nodes.MaxPoolNode(3, 2, floor=True), x),   # overlapping
                           (lambda: nodes.MaxPoolNode(2, floor=True), ties)):   # ties, disjoint
            pool = make()
            out = pool.forwardPass(data)
            results += [out, *pool.backwardPass(np.arange(out.size).reshape(out.shape) + 1.0)]
        return results

    expected = run()
    calls = split_work_between_threads(monkeypatch)
    got = run()
    for i, (a, b) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=f"result {i}")
    assert len(calls) == 12  # two extra parts for each of the six passes


def test_the_parts_run_on_a_single_threaded_blas_and_restore_it(monkeypatch):
    from nodes.kernels import threads
    blas = threads._openblas()
    if blas is None:
        pytest.skip("NumPy is not linked with OpenBLAS here")
    get, set_ = blas
    before = get()
    seen = []
    monkeypatch.setattr(threads, "THREADS", 2)
    threads.over_batch(lambda start, stop: seen.append(get()), 4, threads.MIN_ELEMENTS)
    assert seen == [1, 1]
    assert get() == before
    set_(3)  # a count other than 1 is restored exactly, even when a part fails
    try:
        with pytest.raises(ZeroDivisionError):
            threads.over_batch(lambda start, stop: 1 / 0, 4, threads.MIN_ELEMENTS)
        assert get() == 3
    finally:
        set_(before)


def test_jobs_from_two_threads_at_once_and_from_inside_a_part_run_every_part(monkeypatch):
    """While the workers run one job, another (the user's second thread, or a part that
    splits again) runs its same parts on its own thread: every part once, none lost."""
    import threading
    from nodes.kernels import threads
    monkeypatch.setattr(threads, "THREADS", 3)
    barrier = threading.Barrier(2)
    done = {name: [] for name in ("first", "second", "inner")}

    def job(name, wait):
        def part(start, stop):
            if wait and start == 0:
                barrier.wait(timeout=10)  # both jobs are in the pool's hands at once
            if name == "first" and start == 0:
                threads.over_batch(job("inner", False), 6, threads.MIN_ELEMENTS)
            done[name].append((start, stop))
        return part

    other = threading.Thread(target=threads.over_batch,
                             args=(job("second", True), 9, threads.MIN_ELEMENTS))
    other.start()
    threads.over_batch(job("first", True), 9, threads.MIN_ELEMENTS)
    other.join(timeout=10)
    assert sorted(done["first"]) == sorted(done["second"]) == [(0, 3), (3, 6), (6, 9)]
    assert sorted(done["inner"]) == [(0, 2), (2, 4), (4, 6)]


def test_a_failing_part_on_a_worker_is_raised_and_the_next_job_runs_whole(monkeypatch):
    from nodes.kernels import threads
    monkeypatch.setattr(threads, "THREADS", 2)

    def fails_second_half(start, stop):
        if start:
            raise KeyError("part two")

    with pytest.raises(KeyError, match="part two"):
        threads.over_batch(fails_second_half, 4, threads.MIN_ELEMENTS)
    seen = []
    threads.over_batch(lambda start, stop: seen.append((start, stop)), 4, threads.MIN_ELEMENTS)
    assert sorted(seen) == [(0, 2), (2, 4)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_starts_workers_of_its_own(monkeypatch):
    """A child forked after the workers started has none of their threads: its first
    split job must start new ones, not wait forever on the parent's."""
    import signal
    from nodes.kernels import threads
    monkeypatch.setattr(threads, "THREADS", 2)
    seen = []
    threads.over_batch(lambda start, stop: seen.append(start), 4, threads.MIN_ELEMENTS)
    assert sorted(seen) == [0, 2]  # the parent's workers are running
    pid = os.fork()
    if pid == 0:  # the child: exit 0 when both parts ran, killed by the alarm if it hangs
        signal.alarm(20)
        done = []
        threads.over_batch(lambda start, stop: done.append(start), 4, threads.MIN_ELEMENTS)
        os._exit(0 if sorted(done) == [0, 2] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status


def test_thread_count_setting(monkeypatch):
    from nodes.kernels import threads
    monkeypatch.setenv("TAPEGRAD_NUM_THREADS", "3")
    assert threads._thread_count() == 3
    monkeypatch.setenv("TAPEGRAD_NUM_THREADS", "")
    assert threads._thread_count() == min(threads.MAX_DEFAULT_THREADS,
                                           threads._default_threads())
    monkeypatch.setenv("TAPEGRAD_NUM_THREADS", "two")
    with pytest.raises(ValueError, match="TAPEGRAD_NUM_THREADS must be a whole number"):
        threads._thread_count()
