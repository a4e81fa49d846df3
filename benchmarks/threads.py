"""Does splitting the batch between threads pay? One training step of the CIFAR-shaped CNN
(item 3) under three thread settings, each in its own process, tapegrad only.

    .venv/bin/python -m benchmarks.threads

Settings: as shipped (no splitting, OpenBLAS's default threads); TAPEGRAD_NUM_THREADS=2
with OPENBLAS_NUM_THREADS=1 (what benchmarks.run uses); TAPEGRAD_NUM_THREADS=2 with
OpenBLAS's default threads. Prints the median step time of each.
"""

import os
import subprocess
import sys

from .common import REPO

SETTINGS = [
    ("as shipped", {}),
    ("TAPEGRAD_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1", {"TAPEGRAD_NUM_THREADS": "2",
                                                        "OPENBLAS_NUM_THREADS": "1"}),
    ("TAPEGRAD_NUM_THREADS=2, default OpenBLAS", {"TAPEGRAD_NUM_THREADS": "2"}),
]

CHILD = """
import gc, statistics, time
from benchmarks import cnn
model = cnn.ours_model()
images, labels = cnn.batch({batch})
step = cnn.ours_trainer(model, images, labels)
for _ in range(5):
    step()
gc.collect(); gc.freeze()
times = []
for _ in range({repeats}):
    start = time.perf_counter(); step(); times.append(time.perf_counter() - start)
print(statistics.median(times) * 1000)
"""


def measure(extra, batch=64, repeats=25):
    env = {k: v for k, v in os.environ.items()
           if k not in ("TAPEGRAD_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    env.update(extra)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run([sys.executable, "-c", CHILD.format(batch=batch, repeats=repeats)],
                            env=env, cwd=REPO, capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def main():
    quick = "--quick" in sys.argv
    for label, extra in SETTINGS:
        ms = measure(extra, batch=4 if quick else 64, repeats=2 if quick else 25)
        print(f"{label:50s} {ms:7.1f} ms per training step")


if __name__ == "__main__":
    main()
