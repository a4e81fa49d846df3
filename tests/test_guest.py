"""tapegrad is a guest in its user's process: it starts no process, and no thread of it
burns CPU while the user's own code runs (issue 20).

Each check runs in a fresh interpreter, so that what other tests left behind (PyTorch's
thread pools, other subprocesses) is not counted. Linux only: the figures come from /proc.
"""

import json
import os
import subprocess
import sys

import pytest

import autograd

if not os.path.exists("/proc/self/task"):
    pytest.skip("reads threads and child processes from Linux's /proc", allow_module_level=True)

# The autograd this test imported (so the check runs on the checkout under test, also
# when the installed package points elsewhere).
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(autograd.__file__)))

# What the child processes read from /proc about themselves.
PROC = r'''
import glob, os

def tasks():
    return len(os.listdir("/proc/self/task"))

def children():
    """Process ids of this process's children, from every thread's children file."""
    found = []
    for path in glob.glob("/proc/self/task/*/children"):
        with open(path) as handle:
            found += handle.read().split()
    return found

def thread_seconds(pid="self"):
    """{thread id: utime + stime in seconds} for every thread of process ``pid``."""
    seconds = {}
    for path in glob.glob(f"/proc/{pid}/task/*/stat"):
        try:
            with open(path) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread or process ended meanwhile
            continue
        ticks = int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)
        seconds[path.split("/")[-2]] = ticks / os.sysconf("SC_CLK_TCK")
    return seconds


def cpu_seconds(pid="self"):
    """utime + stime of all threads of process ``pid``, in seconds."""
    return sum(thread_seconds(pid).values())
'''

# A small CNN through conv and pool, trained a few steps on a batch large enough that the
# fast kernels split it between threads: the first pooling input and the first conv's
# output, 32x8x32x32 = 262144 elements, reach MIN_ELEMENTS (2^18).
#
# The first linear layer's products (32x512 @ 512x512, 8.4 million multiply-adds) are
# large enough to be split between threads.
#
# Two windows after the steps. Right after them, the threads tapegrad may have started
# (any thread that did not exist once NumPy was imported) and any child process must stay
# still: a pool that spins, or a helper process, shows at once. BLAS libraries busy-wait
# for a moment after a call that used their own threads (OpenBLAS's worker, started by
# NumPy, for about 0.13 s here after the reference kernels' matrix products, as PyTorch's
# OpenMP workers do after theirs); so every thread of the process is checked after a
# pause of SETTLE seconds. The fast kernels never call BLAS on its own threads: with
# them, no thread of the process may spin even right after the steps.
TRAIN = PROC + r'''
import json, sys, time
import numpy as np
numpy_threads = set(os.listdir("/proc/self/task"))
import autograd
from autograd import nn, optim

rng = np.random.default_rng(0)
model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(8 * 8 * 8, 512), nn.ReLU(), nn.Linear(512, 10))
images = autograd.Tensor(rng.standard_normal((32, 3, 32, 32)).astype(np.float32))
labels = rng.integers(0, 10, 32)
optimizer = optim.SGD(model.parameters(), lr=0.01)
loss_fn = nn.CrossEntropyLoss()
tasks_before = tasks()
losses = []
for _ in range(5):
    optimizer.zero_grad()
    loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
kids = children()
started = set(os.listdir("/proc/self/task")) - numpy_threads
readings = []
settle, window = float(sys.argv[1]), float(sys.argv[2])
for pause in (0, settle, window):  # the user's code, doing nothing with tapegrad
    time.sleep(pause)
    readings.append((thread_seconds(), sum(cpu_seconds(pid) for pid in kids)))
(first, kids_first), (settled, _), (last, kids_last) = readings
print(json.dumps({
    "children": kids, "tasks_before": tasks_before, "tasks_after": tasks(), "losses": losses,
    "started_cpu": sum(last.get(tid, 0) - first.get(tid, 0) for tid in started),
    "children_cpu": kids_last - kids_first,
    "settled_cpu": sum(spent - settled.get(tid, 0) for tid, spent in last.items()),
    "right_after_cpu": sum(spent - first.get(tid, 0) for tid, spent in settled.items())}))
'''

IMPORT = PROC + r'''
import json, threading
import numpy  # NumPy's BLAS may start its own threads: those are not tapegrad's
before = (threading.active_count(), tasks(), children())
import autograd
after = (threading.active_count(), tasks(), children())
print(json.dumps({"before": before, "after": after}))
'''

IDLE_CPU_LIMIT = 0.05  # seconds of CPU in a window of WINDOW seconds (ticks are 0.01 s)
SETTLE, WINDOW = 0.25, 0.5  # seconds


def run(code, *arguments, **environment):
    """Run ``code`` in a fresh interpreter on the checkout under test; what it printed."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get(
        "PYTHONPATH")])), **environment)
    process = subprocess.run([sys.executable, "-c", code, *arguments], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    return json.loads(process.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module", params=["fast", "reference"])
def trained(request):
    """What a fresh process saw after five training steps, with each kind of kernels.

    Two threads are asked for, so the fast kernels split the batch on any machine.
    """
    result = run(TRAIN, str(SETTLE), str(WINDOW), TAPEGRAD_NUM_THREADS="2",
                 TAPEGRAD_KERNELS=request.param)
    result["kernels"] = request.param
    return result


def test_the_steps_trained(trained):
    # the checks below mean something only if the steps ran a real network
    losses = trained["losses"]
    assert all(0 < loss < 10 for loss in losses) and losses[-1] < losses[0], losses


def test_no_child_processes_after_training_steps(trained):
    assert trained["children"] == [], (
        f"after 5 training steps ({trained['kernels']} kernels) the process has child "
        f"processes {trained['children']}: a library must not start processes behind its "
        "user's back")


def test_nothing_tapegrad_started_burns_cpu_right_after_training_steps(trained):
    spent = trained["started_cpu"] + trained["children_cpu"]
    assert spent < IDLE_CPU_LIMIT, (
        f"in the {SETTLE + WINDOW} s right after 5 training steps ({trained['kernels']} "
        f"kernels), with tapegrad idle, the threads it started used "
        f"{trained['started_cpu']:.2f} s of CPU and its child processes "
        f"{trained['children_cpu']:.2f} s (limit {IDLE_CPU_LIMIT} s): something spins")


def test_no_thread_burns_cpu_while_idle_after_training_steps(trained):
    assert trained["settled_cpu"] < IDLE_CPU_LIMIT, (
        f"{SETTLE} s after 5 training steps ({trained['kernels']} kernels), the threads of "
        f"the process used {trained['settled_cpu']:.2f} s of CPU in {WINDOW} s (limit "
        f"{IDLE_CPU_LIMIT} s) while nothing ran: something spins")


def test_with_the_fast_kernels_no_thread_spins_even_right_after_training_steps(trained):
    # OpenBLAS's own threads spin after a call that woke them: the fast kernels' products
    # run on tapegrad's sleeping threads instead, on a one-thread BLAS each
    if trained["kernels"] == "fast":
        assert trained["right_after_cpu"] < IDLE_CPU_LIMIT, (
            f"in the {SETTLE} s right after 5 training steps, the threads of the process "
            f"used {trained['right_after_cpu']:.2f} s of CPU (limit {IDLE_CPU_LIMIT} s) "
            "while nothing ran: a BLAS thread spins")


def test_fast_kernels_did_split_the_batch_between_threads(trained):
    # otherwise the idle check above would pass without a thread pool to check
    if trained["kernels"] == "fast":
        assert trained["tasks_after"] > trained["tasks_before"], trained


def test_import_starts_no_thread_and_no_process():
    result = run(IMPORT)
    (threads, tasks, children), after = result["before"], result["after"]
    assert after == [threads, tasks, children], (
        f"import autograd changed (Python threads, OS threads, child processes) from "
        f"{result['before']} to {after}: importing must start nothing")
