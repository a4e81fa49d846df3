"""Split a node's work over the batch axis between threads.

NumPy releases the GIL inside copies, ufunc loops and BLAS calls, so threads working on
separate parts of a batch really run at once. Convolution and pooling spend most of
their time in strided copies (im2col, col2im, window maxima) and in many small matrix
products; splitting the batch gives them every core, as PyTorch's intra-op threads do.
ReLU over large float arrays (``elementwise``) is split the same way.

``TAPEGRAD_NUM_THREADS`` sets the number of threads; by default it is the number of
CPUs this process may run on (at most 8); 1 turns splitting off.

The pool's threads (``_Worker``) start on the first job large enough to split, and sleep
on a lock while there is no work: nothing spins and no process is started.
A job's parts depend on the thread count only, never on timing, so a run gives the same
numbers to the last bit every time.

While the parts run, OpenBLAS is told to use one thread per call (and told its old
count afterwards): OpenBLAS serialises calls that arrive from several threads while its
own thread pool runs, so each part calling a two-thread BLAS is slower than each
calling a one-thread BLAS side by side. Measured on this project's 2-core machine
(``python -m benchmarks.settings``, one training step of the benchmarks' CNN): 51-53 ms
with no splitting, 54-57 ms splitting onto a two-thread OpenBLAS, 31-36 ms splitting
onto a one-thread OpenBLAS. A user's own NumPy matrix products running at the same
moment in another Python thread would also run on one BLAS thread meanwhile.
"""

import _thread
import ctypes
import math
import os
import threading

import numpy as np

from . import memory

MAX_DEFAULT_THREADS = 8


def _default_threads():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _thread_count():
    setting = os.environ.get("TAPEGRAD_NUM_THREADS", "").strip()
    if not setting:
        return max(1, min(MAX_DEFAULT_THREADS, _default_threads()))
    try:
        return min(64, max(1, int(setting)))
    except ValueError:
        raise ValueError(f"TAPEGRAD_NUM_THREADS must be a whole number, got {setting!r}") from None


THREADS = _thread_count()
# a job's size in elements of its output (or input, for pooling's): below this, handing
# parts to a thread cost more than it saved. One training step of the benchmarks' CNN
# took 2.46 ms on one thread and 2.72 ms split at batch 8, 3.87 and 4.14 at batch 16,
# 6.66 and 5.91 at batch 32 (2026-12-07, each in a process of its own); alone, the first
# conv (3->16 channels, 32x32) gained from splitting from batch 16 (262,144 outputs), the
# second (16->32, 16x16) from 32, the pooling of 16x32x32 from 16.
MIN_ELEMENTS = 1 << 18


class _Worker:
    """A thread of the pool: it sleeps on a lock until a part is handed to it.

    Two plain locks per worker, one to start a part and one to say it is done, instead
    of ``concurrent.futures``' queue and futures: a job of two empty parts took 8 us
    instead of 13, two parts summing 1 MiB each 52 us instead of 70 (2026-12-07), and a
    training step hands out about a dozen jobs.
    """

    def __init__(self, index):
        self._go, self._done = _thread.allocate_lock(), _thread.allocate_lock()
        self._go.acquire()
        self._done.acquire()
        self._job = self._error = None
        threading.Thread(target=self._loop, name=f"tapegrad-{index}", daemon=True).start()

    def _loop(self):
        while True:
            self._go.acquire()  # asleep until start() releases it
            work, start, stop = self._job
            self._job = None
            try:
                work(start, stop)
            except BaseException as error:  # raised by over_batch, in the caller's thread
                self._error = error
            # drop the part's arrays now: memory.py reuses a block once nothing refers to it
            work = None
            self._done.release()

    def start(self, work, start, stop):
        self._job = (work, start, stop)
        self._go.release()

    def join(self):
        """Wait for the part; its exception, or None. Interrupted (Ctrl-C), it waits for
        the part all the same, then raises: the next job must not find this one running."""
        interrupted = None
        while True:
            try:
                self._done.acquire()
                break
            except BaseException as error:
                interrupted = error
        error, self._error = self._error, None
        if interrupted is not None:
            raise interrupted
        return error


_workers, _workers_pid = [], None
_busy = threading.Lock()  # held while the workers run a job


def over_batch(work, batch, elements):
    """Run ``work(start, stop)`` over ``range(batch)``, in contiguous parts on several threads.

    ``elements`` is the size of the job (say, the output's size): small jobs run on the
    calling thread alone. The parts must write to disjoint slices; an exception in any
    part is raised here. While the workers run another job (the user's other thread, or
    a part calling this again), the same parts run one after another on this thread, so
    the numbers do not depend on timing either way.
    """
    if elements < MIN_ELEMENTS or min(THREADS, batch) < 2:
        with single_threaded_blas():
            work(0, batch)
        return
    global _workers, _workers_pid, _busy
    parts = min(THREADS, batch)
    bounds = [batch * k // parts for k in range(parts + 1)]
    if _workers_pid != os.getpid():  # first use, or a forked child, which has no workers
        _workers, _workers_pid, _busy = [], os.getpid(), threading.Lock()
    if not _busy.acquire(blocking=False):
        with single_threaded_blas():
            for k in range(parts):
                work(bounds[k], bounds[k + 1])
        return
    try:
        while len(_workers) < parts - 1:
            _workers.append(_Worker(len(_workers) + 1))
        with single_threaded_blas():
            helpers = _workers[:parts - 1]
            for k, worker in enumerate(helpers, start=1):
                worker.start(work, bounds[k], bounds[k + 1])
            try:
                work(bounds[0], bounds[1])
            finally:
                errors = [worker.join() for worker in helpers]
        for error in errors:
            if error is not None:
                raise error
    finally:
        _busy.release()


# elements: an elementwise pass over 2^18 float32 numbers took as long on two threads
# as on one on this project's machine, over 2^20 20-30% less; the threshold lies between
LARGE = 1 << 19


def is_large(x, y, nbytes):
    """Whether ``x`` and ``y`` are arrays of one floating dtype, one of them ``nbytes`` or more.

    Nodes call it on every forward pass, so its first tests are cheap ones.
    """
    return (type(x) is np.ndarray and type(y) is np.ndarray
            and (x.nbytes >= nbytes or y.nbytes >= nbytes)
            and x.dtype == y.dtype and x.dtype.kind == "f")


def split_rows(array, start, stop, batch, ndim):
    """``array``'s part of rows start:stop of a broadcast result of ``ndim`` axes."""
    if array.ndim == ndim and array.shape[0] == batch:
        return array[start:stop]
    return array  # broadcast along the first axis (size 1, or fewer axes)


def elementwise(work, x, y, dtypes):
    """Run ``work(x_part, y_part, output_parts)`` over parts of the first axis on threads.

    One fresh output of the broadcast shape of x and y is made per dtype in ``dtypes``
    and returned in a list; each part gets its rows of them. A large elementwise pass is
    bound by memory traffic, and two cores move more of it than one: on this project's
    2-core machine a bias add over a 64x16x32x32 float32 array took 0.78 ms on one
    thread and 0.55 ms on two.
    """
    if x.shape == y.shape or y.ndim == 0:
        shape = x.shape
    else:  # np.broadcast_shapes is Python, 0.8% of a batch-64 step's time here: only if needed
        shape = y.shape if x.ndim == 0 else np.broadcast_shapes(x.shape, y.shape)
    outputs = [memory.empty(shape, dtype) for dtype in dtypes]
    batch, ndim = shape[0], len(shape)

    def part(start, stop):
        work(split_rows(x, start, stop, batch, ndim), split_rows(y, start, stop, batch, ndim),
             [out[start:stop] for out in outputs])

    if outputs[0].size < LARGE:
        part(0, batch)  # two threads would not move it faster (see LARGE)
    else:
        over_batch(part, batch, outputs[0].size)
    return outputs


SMALL_PRODUCT = 1 << 22  # multiply-adds: below this, a product runs on the calling thread alone


def matmul(x, y):
    """x @ y (NumPy's rules for 1-D and batched inputs), on one BLAS thread per part.

    A large product is split by rows of the result (by columns when it has one row)
    between this module's threads, each calling a one-thread BLAS; a small one runs on
    the calling thread. OpenBLAS's own threads are never woken: after each call they
    keep spinning for a while, holding a core that the next node's threads need, and
    the user's other code too. One training step of the benchmarks' CNN at batch 256,
    whose linear layer's products (5.2 million multiply-adds each) went to a two-thread
    OpenBLAS, took 60 ms; with every product on one BLAS thread, 36-45 ms (2026-12-07).
    """
    x2 = x[None, :] if x.ndim == 1 else x  # a 1-D x is a row, a 1-D y a column, as in matmul
    y2 = y[:, None] if y.ndim == 1 else y
    m, k, n = x2.shape[-2], x2.shape[-1], y2.shape[-1]
    batch = np.broadcast_shapes(x2.shape[:-2], y2.shape[:-2])
    if math.prod(batch) * m * k * n < SMALL_PRODUCT or THREADS < 2 or max(m, n) < 2:
        with single_threaded_blas():
            return x @ y
    out = np.empty(batch + (m, n), np.result_type(x2.dtype, y2.dtype))
    if m >= n or m >= THREADS:
        def part(start, stop):
            np.matmul(x2[..., start:stop, :], y2, out=out[..., start:stop, :])
        over_batch(part, m, MIN_ELEMENTS)
    else:
        def part(start, stop):
            np.matmul(x2, y2[..., start:stop], out=out[..., start:stop])
        over_batch(part, n, MIN_ELEMENTS)
    if x.ndim == 1:
        out = out[..., 0, :]
    if y.ndim == 1:
        out = out[..., 0]
    return out


class single_threaded_blas:
    """Within ``with``: OpenBLAS runs each call on the calling thread only."""

    def __enter__(self):
        self.previous = None
        blas = _openblas()
        if blas is not None:
            get, set_ = blas
            previous = get()
            if previous != 1:
                set_(1)
                self.previous = previous
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            _openblas()[1](self.previous)


_blas = []  # [(get, set)] or [None] once looked up


def _openblas():
    """OpenBLAS's get/set_num_threads as loaded by NumPy, or None (another BLAS, not Linux)."""
    if not _blas:
        _blas.append(_find_openblas())
    return _blas[0]


def _find_openblas():
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split(None, 5)[5].strip() for line in maps
                     if "openblas" in line.lower() and line.count(" ") >= 5}
    except (OSError, IndexError):
        return None
    for path in sorted(paths):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas_", "openblas_"):
            for suffix in ("64_", ""):
                get = getattr(library, f"{prefix}get_num_threads{suffix}", None)
                set_ = getattr(library, f"{prefix}set_num_threads{suffix}", None)
                if get is not None and set_ is not None:
                    get.restype, get.argtypes = ctypes.c_int, ()
                    set_.restype, set_.argtypes = None, (ctypes.c_int,)
                    return get, set_
    return None
