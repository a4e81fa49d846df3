"""Split a node's work over the batch axis between threads (opt-in).

NumPy releases the GIL inside copies, ufunc loops and BLAS calls, so threads working on
separate parts of a batch really run at once. Convolution and pooling spend most of
their time in strided copies (im2col, col2im, window maxima) and in many small matrix
products that BLAS runs on one thread anyway; splitting the batch gives them several
cores, as PyTorch's intra-op threads do.

It is off unless ``TAPEGRAD_NUM_THREADS`` is set (say to 2), because it pays only with a
single-threaded BLAS: OpenBLAS serialises calls that arrive from several threads while
its own thread pool runs. Measured on this project's 2-core machine, one training step
of the benchmarks' CIFAR-shaped CNN, two runs: 60-75 ms as shipped; 50-60 ms with
``TAPEGRAD_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1``; 70-81 ms with
``TAPEGRAD_NUM_THREADS=2`` and OpenBLAS's default two threads
(``python -m benchmarks.threads``).
"""

import os
from concurrent.futures import ThreadPoolExecutor


def _thread_count():
    setting = os.environ.get("TAPEGRAD_NUM_THREADS", "").strip()
    if not setting:
        return 1
    try:
        return min(64, max(1, int(setting)))
    except ValueError:
        raise ValueError(f"TAPEGRAD_NUM_THREADS must be a whole number, got {setting!r}") from None


THREADS = _thread_count()
MIN_ELEMENTS = 1 << 15  # below this, handing work to a thread costs more than it saves
_pool, _pool_pid = None, None


def over_batch(work, batch, elements):
    """Run ``work(start, stop)`` over ``range(batch)``, in contiguous parts on several threads.

    ``elements`` is the size of the job (say, the output's size): small jobs run on the
    calling thread alone. The parts must write to disjoint slices; an exception in any
    part is raised here.
    """
    parts = min(THREADS, batch)
    if parts < 2 or elements < MIN_ELEMENTS:
        work(0, batch)
        return
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid():  # a forked child has no pool threads
        _pool = ThreadPoolExecutor(THREADS - 1, thread_name_prefix="tapegrad")
        _pool_pid = os.getpid()
    bounds = [batch * k // parts for k in range(parts + 1)]
    futures = [_pool.submit(work, bounds[k], bounds[k + 1]) for k in range(1, parts)]
    try:
        work(bounds[0], bounds[1])
    finally:
        for future in futures:
            future.result()
