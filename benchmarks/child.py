"""Measurements that need a process of their own: peak memory of one framework alone.

    python -m benchmarks.child train ours|torch --steps 200 --batch 64
    python -m benchmarks.child chain ours|torch --nodes 1000000

Prints one JSON object on stdout. Only the named framework is imported, so the peak
resident set size (VmHWM) is that framework's own.
"""

import argparse
import json
import sys
import time

from .common import peak_rss_mib, pin_threads, rss_mib, start_torch

pin_threads()


def train(framework, steps, batch_size):
    """``steps`` SGD steps of the CIFAR-shaped CNN, with the RSS after each step."""
    from . import cnn
    images, labels = cnn.batch(batch_size)
    if framework == "ours":
        step = cnn.ours_trainer(cnn.ours_model(), images, labels)
    else:
        torch = start_torch()
        step = cnn.torch_trainer(torch, cnn.torch_model(torch), images, labels)
    rss_before = rss_mib()
    rss, losses = [], []
    start = time.perf_counter()
    for _ in range(steps):
        losses.append(step())
        rss.append(rss_mib())
    seconds = time.perf_counter() - start
    return {"rss_before_mib": rss_before, "rss_mib": rss, "peak_rss_mib": peak_rss_mib(),
            "seconds_per_step": seconds / steps, "first_loss": losses[0], "last_loss": losses[-1]}


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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.child", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=("train", "chain"))
    parser.add_argument("framework", choices=("ours", "torch"))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--nodes", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    if args.task == "train":
        result = train(args.framework, args.steps, args.batch)
    else:
        result = chain(args.framework, args.nodes)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
