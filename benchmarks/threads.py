"""What splitting the batch between threads costs tapegrad, measured.

    .venv/bin/python -m benchmarks.threads

tapegrad's fast kernels run convolution, pooling and large elementwise passes on Python
threads (``nodes/kernels/threads.py``). Four figures show what that costs beside the work itself:

1. Handing a job to the pool thread and getting it back: ``over_batch`` with parts that
   only read the clock, after the threads sat idle for a millisecond (as between nodes)
   and back to back. The time until each part starts, and from the last part's end to
   the call's return.
2. One training step of item 3: how many jobs it hands out, and the time in
   ``over_batch`` beyond its longest part (handing over, waiting, uneven parts).
3. Conv2d forward of item 1's shape (b): the parts' wall-clock and CPU time per example,
   with one thread and with two, alternating in one process. CPU time below wall-clock
   is time a part waited (for the GIL, or for its CPU).
4. The NumPy calls of that forward pass alone, on separate data, in a loop on one thread
   and then on two at once: CPU microseconds per call. A call that takes more CPU time
   on two threads is slowed by what the cores share (caches, memory), not by Python.

tapegrad only; nothing here is a pass or fail.
"""

import argparse
import statistics
import time
from contextlib import contextmanager

from .common import pin_threads

FULL = dict(idle_rounds=200, steps=30, conv_rounds=10, batch=64, size=16, calls=2000)
TINY = dict(idle_rounds=3, steps=2, conv_rounds=1, batch=4, size=6, calls=3)


def _users(function):
    """The loaded modules of ``nodes`` that hold ``function`` under its name."""
    import sys
    return [module for name, module in list(sys.modules.items())
            if (name == "nodes" or name.startswith("nodes.")) and module is not None
            and getattr(module, function.__name__, None) is function]


@contextmanager
def instrumented(record):
    """Route the kernels' ``over_batch`` through a wrapper that calls ``record(call_start,
    call_end, parts)``; each part is (first example, start, end, thread CPU seconds)."""
    import nodes.conv  # noqa: F401  (loads the kernels that import over_batch by name)
    import nodes.pool  # noqa: F401
    from nodes.kernels import threads
    original = threads.over_batch

    def wrapper(work, batch, elements):
        parts = []

        def timed(start, stop):
            began, cpu = time.perf_counter(), time.thread_time()
            work(start, stop)
            parts.append((start, began, time.perf_counter(), time.thread_time() - cpu))

        call_start = time.perf_counter()
        original(timed, batch, elements)
        record(call_start, time.perf_counter(), sorted(parts))

    modules = _users(original)
    for module in modules:
        module.over_batch = wrapper
    try:
        yield
    finally:
        for module in modules:
            module.over_batch = original


def handover(rounds):
    """Median microseconds from calling ``over_batch`` to each part's start, and from the
    last part's end to its return; after an idle millisecond and back to back."""
    from nodes.kernels import threads as parallel
    results = {}
    for label, pause in (("after 1 ms idle", 1e-3), ("back to back", 0.0)):
        samples = []

        def record(call_start, call_end, parts):
            samples.append([part[1] - call_start for part in parts]
                           + [call_end - max(part[2] for part in parts)])

        with instrumented(record):
            for _ in range(rounds):
                time.sleep(pause)
                parallel.over_batch(lambda start, stop: None, parallel.THREADS,
                                    parallel.MIN_ELEMENTS)
        results[label] = [1e6 * statistics.median(column) for column in zip(*samples)]
    return results


def training_step(steps, batch):
    """Jobs per step, the step's median milliseconds, and per step: time in over_batch,
    its longest parts, and the difference."""
    from . import cnn
    model = cnn.ours_model()
    step = cnn.ours_trainer(model, *cnn.batch(batch))
    calls = []
    record = lambda call_start, call_end, parts: calls.append(  # noqa: E731
        (call_end - call_start, max(end - began for _, began, end, _ in parts)))
    for _ in range(3):
        step()
    with instrumented(record):
        calls.clear()
        times = []
        for _ in range(steps):
            began = time.perf_counter()
            step()
            times.append(time.perf_counter() - began)
    inside = sum(call[0] for call in calls) / steps
    longest = sum(call[1] for call in calls) / steps
    return dict(jobs=len(calls) / steps, step_ms=1e3 * statistics.median(times),
                inside_ms=1e3 * inside, longest_ms=1e3 * longest,
                beyond_ms=1e3 * (inside - longest))


def conv_forward(rounds, batch, size):
    """Per thread count: conv2d forward's median milliseconds, and the parts' median
    wall-clock and CPU microseconds per example."""
    import numpy as np

    from nodes.conv import ConvolutionNode
    from nodes.kernels import threads as parallel
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 16, size, size)).astype(np.float32)
    w = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    node = ConvolutionNode(1, 1)
    samples, saved = {1: [], 2: []}, parallel.THREADS
    timing = {"into": None}  # the list the next forward pass's figures go to (None: untimed)

    def record(call_start, call_end, parts):
        if timing["into"] is not None:
            timing["into"].append((call_end - call_start,
                                   sum(part[2] - part[1] for part in parts) / batch,
                                   sum(part[3] for part in parts) / batch))

    try:
        with instrumented(record), parallel.single_threaded_blas():
            for _ in range(rounds):
                for threads in (1, 2):
                    parallel.THREADS = threads  # one thread: the whole batch on the caller
                    timing["into"] = None
                    node.forwardPass(x, w, b)
                    timing["into"] = samples[threads]
                    for _ in range(5):
                        node.forwardPass(x, w, b)
                    time.sleep(0.01)
    finally:
        parallel.THREADS = saved
    return {threads: [statistics.median(column) for column in zip(*values)]
            for threads, values in samples.items()}


def shared_cores(calls, size):
    """CPU microseconds per call of three NumPy calls of conv (b)'s forward, for a block of
    8 examples: one thread alone, then each of two threads running at once."""
    import threading

    import numpy as np

    from nodes.kernels import threads as parallel
    rng = np.random.default_rng(0)
    M, R, L = size * size, 48, (size + 2) * size  # as the node lays (b) out, split

    def arrays():
        return dict(w=rng.standard_normal((32, R)).astype(np.float32),
                    cols=rng.standard_normal((8, R, L)).astype(np.float32),
                    source=rng.standard_normal((8, R, L)).astype(np.float32),
                    out=np.zeros((8, 32, M), np.float32), other=np.zeros((8, 32, M), np.float32))

    calls_by_name = {
        "matrix product (32x48 @ 48xM)": lambda a: np.matmul(a["w"], a["cols"][:, :, :M],
                                                             out=a["out"]),
        "add of two (8, 32, M) arrays": lambda a: np.add(a["out"], a["other"], out=a["out"]),
        "copy of the (8, 48, L) columns": lambda a: np.copyto(a["cols"], a["source"]),
    }
    results = {}
    for name, call in calls_by_name.items():
        data, cpu = [arrays(), arrays()], []

        def loop(own):
            began = time.thread_time()
            for _ in range(calls):
                call(own)
            cpu.append((time.thread_time() - began) / calls)

        with parallel.single_threaded_blas():
            loop(data[0])
            threads = [threading.Thread(target=loop, args=(own,)) for own in data]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        results[name] = (cpu[0], max(cpu[1:]))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: checks it runs")
    args = parser.parse_args(argv)
    sizes = TINY if args.tiny else FULL
    pin_threads()
    import numpy as np  # noqa: F401  (after pin_threads, so OpenBLAS starts with 2 threads)

    print("1. over_batch with empty parts: median us to each part's start; from the last "
          "part's end to the return")
    for label, figures in handover(sizes["idle_rounds"]).items():
        starts = ", ".join(f"{value:.0f}" for value in figures[:-1])
        print(f"   {label:16}  parts start at {starts} us; returns {figures[-1]:.0f} us later")
    step = training_step(sizes["steps"], sizes["batch"])
    print(f"2. training step (item 3), median {step['step_ms']:.2f} ms: {step['jobs']:.0f} jobs "
          f"per step, {step['inside_ms']:.2f} ms in over_batch, its longest parts "
          f"{step['longest_ms']:.2f} ms, beyond them {step['beyond_ms']:.2f} ms")
    print("3. conv2d forward, shape (b), parts on a one-thread OpenBLAS:")
    for threads, (total, wall, cpu) in conv_forward(sizes["conv_rounds"], sizes["batch"],
                                                    sizes["size"]).items():
        label = f"{threads} thread{'s' if threads > 1 else ' '}"
        print(f"   {label}  {1e3 * total:.3f} ms in over_batch; per example {1e6 * wall:.1f} us "
              f"in parts, {1e6 * cpu:.1f} us of it on the CPU")
    print("4. CPU time per call, one thread alone / each of two at once (the slower one):")
    for name, (alone, together) in shared_cores(sizes["calls"], sizes["size"]).items():
        print(f"   {name:32}  {1e6 * alone:.1f} / {1e6 * together:.1f} us")


if __name__ == "__main__":
    main()
