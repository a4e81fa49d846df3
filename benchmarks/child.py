"""Measurements that need a process of their own.

    python -m benchmarks.child step ours|torch --steps 30 --batch 64 [--model deeper]
    python -m benchmarks.child chain ours|torch --nodes 1000000
    python -m benchmarks.child neighbour alone|after --steps 30 --batch 64 --tapegrad-steps 20

Prints one JSON object on stdout. ``step`` and ``chain`` import the named
framework only, so the peak resident set size (VmHWM) is that framework's own; they pin both
frameworks' threads as ``benchmarks.run`` does. ``neighbour`` times PyTorch's training
step as a user has it (no thread settings): in a process that imports PyTorch alone, or
``after`` tapegrad has trained in the same process.
"""

import time

START = time.perf_counter()  # before any framework is imported: item 6's first step

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

import statistics  # noqa: E402

from .common import (busy_threads, child_processes, peak_rss_mib, pin_threads, rss_mib,
                     start_torch)


MEMORY_STEPS = 20  # item 5: working memory over this many steps, growth from the middle one


def step(framework, steps, batch_size, kind):
    """A training process as a user starts one: import, build, train.

    Returns the seconds from before the import to the end of the first step (item 6);
    the RSS after import and build, the peak RSS over the first ``MEMORY_STEPS`` steps
    and the RSS after each of them (item 5); the median of ``steps`` more steps, each
    timed alone (item 3); and the first and last losses, which ``benchmarks.run`` reads
    to refuse a step that does not train. The peak is reset after the build where Linux
    allows it (/proc/self/clear_refs), so it is the training's own."""
    from . import cnn
    images, labels = cnn.batch(batch_size)
    if framework == "ours":
        import autograd  # noqa: F401
        trainer = cnn.ours_trainer(cnn.ours_model(kind), images, labels)
    else:
        torch = start_torch()
        torch.manual_seed(0)
        trainer = cnn.torch_trainer(torch, cnn.torch_model(torch, kind), images, labels)
    rss_build = rss_mib()
    reset = _reset_peak_rss()
    first_loss = trainer()
    first_step = time.perf_counter() - START
    rss = [rss_mib()]
    for _ in range(MEMORY_STEPS - 1):
        trainer()
        rss.append(rss_mib())
    peak = peak_rss_mib()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        last_loss = trainer()
        times.append(time.perf_counter() - start)
    return {"first_step_seconds": first_step, "rss_build_mib": rss_build,
            "peak_rss_mib": peak, "peak_reset": reset, "rss_mib": rss,
            "seconds_per_step": statistics.median(times), "steps": steps,
            "first_loss": first_loss, "last_loss": last_loss}


def _reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # resets VmHWM to the current RSS
        return True
    except OSError:
        return False


def chain(framework, nodes):
    """Backward through ``a = a * w + b`` repeated until ``nodes`` nodes (two a link)."""
    if framework == "ours":
        import numpy as np

        import autograd

        def scalar(value):
            return autograd.Tensor(np.float32(value), requires_grad=True)
    else:
        torch = start_torch()

        def scalar(value):
            return torch.tensor(value, dtype=torch.float32, requires_grad=True)
    a, w, b = scalar(1.0), scalar(0.999), scalar(0.001)
    rss_before = rss_mib()
    start = time.perf_counter()
    x = a
    for _ in range(nodes // 2):
        x = x * w + b
    built = time.perf_counter()
    x.backward()
    done = time.perf_counter()
    peak = peak_rss_mib()
    del x  # freeing a long chain must not recurse either
    freed = time.perf_counter()
    return {"nodes": nodes // 2 * 2, "forward_seconds": built - start,
            "backward_seconds": done - built, "free_seconds": freed - done,
            "rss_before_mib": rss_before, "peak_rss_mib": peak, "w_grad": float(w.grad)}


def neighbour(kind, steps, batch_size, tapegrad_steps):
    """Median seconds of PyTorch's training step, alone or right after tapegrad's steps.

    ``after``: autograd is imported beside torch (as at the top of a notebook), and
    tapegrad trains the same CNN ``tapegrad_steps`` steps just before PyTorch's steps are
    timed. Then, after five more of tapegrad's steps, what it left running: child
    processes, and threads busy while the program sleeps.
    """
    import torch  # its own thread settings, as a user has them

    from . import cnn
    if kind == "after":
        import autograd  # noqa: F401  (loaded beside torch, as a user who has both has it)
    images, labels = cnn.batch(batch_size)
    torch.manual_seed(0)
    theirs = cnn.torch_trainer(torch, cnn.torch_model(torch), images, labels)
    for _ in range(3):  # PyTorch's first steps allocate and choose its kernels
        theirs()
    if kind == "after":
        ours = cnn.ours_trainer(cnn.ours_model(), images, labels)
        for _ in range(tapegrad_steps):
            ours()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        theirs()
        times.append(time.perf_counter() - start)
    if kind == "after":
        for _ in range(5):
            ours()
    children = child_processes()
    busy, threads = busy_threads()
    return {"kind": kind, "seconds_per_step": statistics.median(times), "steps": steps,
            "child_processes": len(children), "busy_threads": busy, "threads": threads,
            "torch_threads": torch.get_num_threads()}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.child", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=("step", "chain", "neighbour"))
    parser.add_argument("framework", choices=("ours", "torch", "alone", "after"),
                        help="ours or torch for step and chain; alone or after for neighbour")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--model", choices=("basic", "deeper"), default="basic",
                        help="step: the benchmarks' CNN, or the deeper CIFAR-10 model")
    parser.add_argument("--tapegrad-steps", type=int, default=20,
                        help="neighbour after: tapegrad's steps before PyTorch's are timed")
    args = parser.parse_args(argv)
    if (args.task == "neighbour") != (args.framework in ("alone", "after")):
        parser.error(f"{args.task} takes " + ("alone or after" if args.task == "neighbour"
                                             else "ours or torch") + f", not {args.framework}")
    if args.task == "neighbour":
        result = neighbour(args.framework, args.steps, args.batch, args.tapegrad_steps)
    else:
        pin_threads()  # before NumPy or PyTorch is imported
        if args.task == "step":
            result = step(args.framework, args.steps, args.batch, args.model)
        else:
            result = chain(args.framework, args.nodes)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
