"""What the engine's settings give: one training step of the CIFAR-shaped CNN (item 3)
under each setting, each in a process of its own, tapegrad only.

    .venv/bin/python -m benchmarks.settings

Settings: as shipped (glibc tuned by autograd.allocator, convolution and pooling split
over the batch on one thread per CPU, OpenBLAS's default threads); glibc's own malloc
settings (TAPEGRAD_ALLOCATOR=system); no splitting (TAPEGRAD_NUM_THREADS=1); no helper
processes keeping the CPUs from halting (TAPEGRAD_KEEP_WARM=0); OpenBLAS on one thread
throughout (OPENBLAS_NUM_THREADS=1). Prints the median time of a step and
the page faults a step.
"""

import json
import os
import subprocess
import sys

from .common import REPO

SETTINGS = [
    ("as shipped", {}),
    ("TAPEGRAD_ALLOCATOR=system", {"TAPEGRAD_ALLOCATOR": "system"}),
    ("TAPEGRAD_NUM_THREADS=1 (no splitting)", {"TAPEGRAD_NUM_THREADS": "1"}),
    ("TAPEGRAD_KEEP_WARM=0 (no helper processes)", {"TAPEGRAD_KEEP_WARM": "0"}),
    ("OPENBLAS_NUM_THREADS=1", {"OPENBLAS_NUM_THREADS": "1"}),
]
OURS = ("TAPEGRAD_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TAPEGRAD_ALLOCATOR", "TAPEGRAD_KEEP_WARM")

CHILD = """
import gc, json, resource, statistics, time
from benchmarks import cnn
model = cnn.ours_model()
images, labels = cnn.batch({batch})
step = cnn.ours_trainer(model, images, labels)
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


def measure(extra, batch=64, repeats=25):
    env = {k: v for k, v in os.environ.items() if k not in OURS and not k.startswith("MALLOC_")}
    env.update(extra)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run([sys.executable, "-c", CHILD.format(batch=batch, repeats=repeats)],
                            env=env, cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    quick = "--quick" in sys.argv
    for label, extra in SETTINGS:
        result = measure(extra, batch=4 if quick else 64, repeats=2 if quick else 25)
        print(f"{label:50s} {result['ms']:7.1f} ms, {result['faults']:6.0f} page faults "
              "per training step")


if __name__ == "__main__":
    main()
