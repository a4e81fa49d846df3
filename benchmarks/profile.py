"""Where one training step's time goes, by node and kernel: ``python -m benchmarks.run --profile``.

Every node class's ``forwardPass`` and ``backwardPass`` is wrapped in a timer for the
run (and put back after), so a row is the time inside that pass, the fast kernel it
called included; "engine" is the rest of the step: the tape's bookkeeping, the modules'
Python, the loss's small nodes and the optimizer. The wrappers add a little time of their own
to each pass; the step's total is measured with them in place.
"""

import collections
import time

from nodes.base import Node

from . import cnn


def _node_classes():
    seen, todo = [], [Node]
    while todo:  # every subclass, without recursion
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.append(sub)
                todo.append(sub)
    return seen


def _kernel_name(node):
    fast = getattr(node, "fast", None)
    return "math" if fast is None else type(fast).__name__


def profile_step(batch, steps=20, warmup=5, kind="basic"):
    """The table (text) of one training step of the benchmarks' CNN at ``batch``."""
    images, labels = cnn.batch(batch)
    step = cnn.ours_trainer(cnn.ours_model(kind), images, labels)
    for _ in range(warmup):
        step()
    spent = collections.defaultdict(float)
    calls = collections.Counter()
    originals = []

    def timed(cls, name, method):
        def wrapper(self, *args):
            start = time.perf_counter()
            try:
                return method(self, *args)
            finally:
                key = (cls.__name__, name, _kernel_name(self))
                spent[key] += time.perf_counter() - start
                calls[key] += 1
        return wrapper

    for cls in _node_classes():
        for name in ("forwardPass", "backwardPass"):
            if name in vars(cls):
                originals.append((cls, name, vars(cls)[name]))
                setattr(cls, name, timed(cls, name, vars(cls)[name]))
    try:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        total = (time.perf_counter() - start) / steps
    finally:
        for cls, name, method in originals:
            setattr(cls, name, method)
    lines = [f"one training step of the benchmarks' CNN ({kind}), batch {batch}: "
             f"{total * 1e3:.2f} ms (mean of {steps}, timers in place)",
             f"{'node':24s} {'pass':9s} {'kernel':12s} {'ms/step':>8s} {'share':>6s} {'calls':>6s}"]
    inside = 0.0
    for key, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        cls, name, kernel = key
        per_step = seconds / steps
        inside += per_step
        lines.append(f"{cls:24s} {name[:-4]:9s} {kernel:12s} {per_step * 1e3:8.3f} "
                     f"{per_step / total:6.1%} {calls[key] // steps:6d}")
    engine = total - inside
    lines.append(f"{'engine':24s} {'':9s} {'':12s} {engine * 1e3:8.3f} {engine / total:6.1%}")
    return "\n".join(lines)

