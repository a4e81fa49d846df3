"""What the engine's settings give: one training step of the CIFAR-shaped CNN (item 3)
under each setting, each in a process of its own, beside PyTorch's step in a process of
its own.

    .venv/bin/python -m benchmarks.settings            three rounds (about a minute)
    .venv/bin/python -m benchmarks.settings --quick    tiny sizes: checks it runs

Settings: as shipped (fast kernels reusing their memory, malloc's own settings, the
batch split over one thread per CPU); the reference kernels, each primitive's readable
math (TAPEGRAD_KERNELS=reference); no splitting (TAPEGRAD_NUM_THREADS=1); every array
left to malloc (TAPEGRAD_KERNEL_MEMORY=0), which says whether the reuse still pays; and
the opt-in malloc tuning (TAPEGRAD_ALLOCATOR=tuned).
Every process starts without thread or malloc variables, as a user's does; the kinds
of process alternate, round after round. Prints per setting the median over rounds of
each process's median step (and their range), its ratio to PyTorch's, and the page
faults a step.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

from .common import REPO, THREAD_VARIABLES

SETTINGS = [
    ("as shipped", {}),
    ("TAPEGRAD_KERNELS=reference", {"TAPEGRAD_KERNELS": "reference"}),
    ("TAPEGRAD_NUM_THREADS=1 (no splitting)", {"TAPEGRAD_NUM_THREADS": "1"}),
    ("TAPEGRAD_KERNEL_MEMORY=0 (no reuse)", {"TAPEGRAD_KERNEL_MEMORY": "0"}),
    ("TAPEGRAD_ALLOCATOR=tuned (opt-in)", {"TAPEGRAD_ALLOCATOR": "tuned"}),
]
PYTORCH = "PyTorch (a process of its own)"

CHILD = """
import gc, json, resource, statistics, time
from benchmarks import cnn
images, labels = cnn.batch({batch})
if {torch}:
    import torch
    step = cnn.torch_trainer(torch, cnn.torch_model(torch), images, labels)
else:
    step = cnn.ours_trainer(cnn.ours_model(), images, labels)
for _ in range(5):
    step()
gc.collect(); gc.freeze()
times = []
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range({repeats}):
    start = time.perf_counter(); step(); times.append(time.perf_counter() - start)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
print(json.dumps({{"ms": statistics.median(times) * 1000, "faults": faults / {repeats}}}))
"""


def measure(extra, batch=64, repeats=25, torch=False):
    """One process's median step (ms) and page faults per step, under ``extra`` variables."""
    env = {k: v for k, v in os.environ.items()
           if k not in THREAD_VARIABLES and not k.startswith(("TAPEGRAD_", "MALLOC_"))}
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO, env.get("PYTHONPATH")]))
    code = CHILD.format(batch=batch, repeats=repeats, torch=torch)
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"the step under {extra or 'no settings'} failed:\n"
                           f"{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks it runs")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    batch, repeats = (4, 2) if args.quick else (64, 25)
    rounds = 1 if args.quick else args.rounds
    kinds = [(label, extra, False) for label, extra in SETTINGS] + [(PYTORCH, {}, True)]
    results = {label: [] for label, _, _ in kinds}
    for _ in range(rounds):
        for label, extra, torch in kinds:
            results[label].append(measure(extra, batch, repeats, torch))
    ms = {label: statistics.median(r["ms"] for r in runs) for label, runs in results.items()}
    print(f"training step, batch {batch}: median of {rounds} processes each, alternating")
    for label, runs in results.items():
        faults = statistics.median(r["faults"] for r in runs)
        spread = f"{min(r['ms'] for r in runs):.1f}-{max(r['ms'] for r in runs):.1f}"
        print(f"{label:40s} {ms[label]:7.1f} ms ({spread:>11s})  "
              f"{ms[label] / ms[PYTORCH]:5.2f}x PyTorch  {faults:6.0f} page faults per step")
    return ms


if __name__ == "__main__":
    main()
