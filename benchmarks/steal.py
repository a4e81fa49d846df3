"""The training step on a busy host: tapegrad as shipped, tapegrad without its helper
processes (with and without the steal check), and PyTorch.

    .venv/bin/python -m benchmarks.steal --seconds 600

On a VM, the hypervisor may give this machine's CPU time to other guests ("steal"), and
a CPU with nothing to run goes back to the host until it is woken. tapegrad's threads
sleep and wake at every handover and wait for the GIL, and a busy host delays exactly
those wake-ups. Two things answer that: helper processes that keep the CPUs from
halting (``nodes/warm.py``); and, without helpers, running the parts of a job one
after another on the calling thread while the steal share is above
``nodes.parallel.STEAL_LIMIT`` (``nodes.parallel.host_busy``). This alternates, for as
long as asked, rounds of five training steps (item 3) of: tapegrad as shipped; with its
helpers paused (SIGSTOP) and the steal check on, as shipped before e44c271; the same
with the steal check off (always split); and PyTorch. Each round records the steal
share during it. It prints the ratios to PyTorch over all rounds, over rounds with more
than 8% steal, and over rounds with less than 3%. Busy spells come and go: run it for
minutes.
"""

import argparse
import contextlib
import os
import signal
import statistics
import time

from .common import cpu_ticks, pin_threads, start_torch, steal_share


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def rounds(seconds, batch, steps=5):
    """Per round: {"shipped", "no helpers", "no helpers, split", "torch": median ms of
    ``steps`` steps, "steal": share}."""
    import nodes.parallel as parallel
    from nodes import warm
    from . import cnn
    torch = start_torch()
    images, labels = cnn.batch(batch)
    ours = cnn.ours_trainer(cnn.ours_model(), images, labels)
    torch.manual_seed(0)
    theirs = cnn.torch_trainer(torch, cnn.torch_model(torch), images, labels)

    @contextlib.contextmanager
    def without_helpers(split):
        """The helpers paused (SIGSTOP) and over_batch told none run, as before e44c271;
        with ``split``, the steal check off too."""
        helpers = warm._helpers.processes if warm.count() else []
        poke, busy = warm.poke, parallel.host_busy
        for process in helpers:
            os.kill(process.pid, signal.SIGSTOP)
        warm.poke = lambda threads: False
        if split:
            parallel.host_busy = lambda: False
        try:
            yield
        finally:
            warm.poke, parallel.host_busy = poke, busy
            for process in helpers:
                os.kill(process.pid, signal.SIGCONT)

    runs = {"shipped": (ours, contextlib.nullcontext),
            "no helpers": (ours, lambda: without_helpers(False)),
            "no helpers, split": (ours, lambda: without_helpers(True)),
            "torch": (theirs, contextlib.nullcontext)}
    log, end = [], time.monotonic() + seconds
    while not log or time.monotonic() < end:
        before, record = cpu_ticks(), {}
        for name, (run, setting) in runs.items():
            time.sleep(0.05)  # as in benchmarks.common: other pools stop spinning first
            with setting():
                run()
                times = []
                for _ in range(steps):
                    start = time.perf_counter()
                    run()
                    times.append(time.perf_counter() - start)
            record[name] = 1e3 * statistics.median(times)
        record["steal"] = steal_share(before, cpu_ticks()) or 0.0
        log.append(record)
    return log


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=600, help="how long to alternate")
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args(argv)
    pin_threads()
    log = rounds(args.seconds, args.batch)
    print(f"{len(log)} rounds of 5 steps each; ratio = tapegrad / PyTorch, median of rounds "
          "(90th percentile)")
    for label, keep in (("all rounds", lambda r: True),
                        ("steal > 8%", lambda r: r["steal"] > 0.08),
                        ("steal < 3%", lambda r: r["steal"] < 0.03)):
        chosen = [r for r in log if keep(r)]
        if not chosen:
            print(f"  {label:11} no rounds")
            continue
        figures = []
        for side in ("shipped", "no helpers", "no helpers, split"):
            ratios = [r[side] / r["torch"] for r in chosen]
            figures.append(f"{side} {statistics.median(ratios):.2f}x "
                           f"({percentile(ratios, 0.9):.2f}x)")
        torch_ms = statistics.median(r["torch"] for r in chosen)
        print(f"  {label:11} {len(chosen):4} rounds: " + ", ".join(figures)
              + f"; PyTorch {torch_ms:.1f} ms")


if __name__ == "__main__":
    main()
