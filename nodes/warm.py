"""Keep a virtual machine's CPUs from halting while tapegrad splits work between threads.

Each split job wakes a sleeping thread, and each wait for the GIL or for a part puts one
to sleep. On bare metal that costs microseconds. On a virtual machine a CPU with nothing
to run halts, the hypervisor takes it back, and the next wake-up waits until the host
schedules it again: on a busy host, milliseconds, which Linux inside the VM counts as
stolen time. PyTorch's OpenMP threads avoid this by spinning between jobs. Python
threads cannot: a thread that spins holds the GIL, and one that waits for the GIL sleeps.

So, on a virtual machine, tapegrad starts one small helper process per thread it splits
onto. A helper runs at the SCHED_IDLE priority, below every normal thread, and spins for
LINGER seconds after each job tapegrad splits, then sleeps until the next. The CPUs
therefore never halt while tapegrad works, and any thread that wakes, tapegrad's or
another program's, takes its CPU from a helper at once.

Measured on this project's 2-core VM with scratch helpers that spun for the whole round
(15 minutes, 1068 rounds of each, alternating; the training step of the benchmarks' CNN
and conv2d forward+backward of shape (b), always split, as ratios to PyTorch): in the
rounds without helpers whose stolen share was over 5%, the step was 1.58x PyTorch and
the conv 2.25x; in the rounds with helpers right after them, 1.20x and 1.78x. In calm
rounds (under 0.5% stolen) the helpers cost a little on the step, 1.18x against 1.14x,
and gained on the conv, 1.75x against 1.78x.

``TAPEGRAD_KEEP_WARM``: ``auto`` (the default: on for Linux on a hypervisor when work is
split between threads), ``1`` or ``0``.
"""

import atexit
import os
import sys
import threading
import time
import warnings

LINGER = 0.2  # seconds a helper spins after the last job, as OpenMP runtimes do by default
POKE_EVERY = 0.01  # seconds: the helpers are told of jobs at most this often

# The helper. It reads the parent's pipe: a byte means "a job was split", the end of the
# pipe means the parent is gone (exited, crashed or killed), and it exits too.
HELPER = """
import os, select, sys, time
try:
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
except (AttributeError, OSError):
    os.nice(19)
linger, clock = float(sys.argv[1]), time.monotonic
os.set_blocking(0, False)
deadline = 0.0
while True:
    if clock() >= deadline:
        select.select([0], [], [])
    try:
        data = os.read(0, 4096)
    except BlockingIOError:
        data = None
    if data == b"":
        break
    if data:
        deadline = clock() + linger
    stop = min(deadline, clock() + 0.001)
    while clock() < stop:
        pass
"""


def _setting():
    """'auto', 'on' or 'off' from TAPEGRAD_KEEP_WARM."""
    value = os.environ.get("TAPEGRAD_KEEP_WARM", "").strip().lower()
    if value in ("", "auto"):
        return "auto"
    if value in ("1", "on", "true", "yes"):
        return "on"
    if value in ("0", "off", "false", "no"):
        return "off"
    raise ValueError("TAPEGRAD_KEEP_WARM must be auto, 1 or 0 (helpers that keep a virtual "
                     f"machine's CPUs from halting; see nodes/warm.py), got {value!r}")


def on_a_hypervisor():
    """Whether Linux says it runs on a hypervisor (the 'hypervisor' CPU flag)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("flags"):
                    return "hypervisor" in line.split()
    except OSError:
        pass
    return False


def wanted(threads):
    """Whether to start helpers for work split between ``threads`` threads."""
    setting = _setting()
    if setting == "off" or threads < 2 or not sys.platform.startswith("linux"):
        return False
    return setting == "on" or on_a_hypervisor()


class Helpers:
    """``count`` helper processes, told of each split job by ``poke``."""

    def __init__(self, count):
        import subprocess  # here: ``import autograd`` does not pay for it
        self.pid, self.poked, self.processes = os.getpid(), float("-inf"), []
        try:
            for _ in range(count):
                process = subprocess.Popen(
                    [sys.executable, "-S", "-E", "-c", HELPER, repr(LINGER)],
                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                self.processes.append(process)
                os.set_blocking(process.stdin.fileno(), False)
        except BaseException:
            self.close()  # the ones that started
            raise
        atexit.register(self.close)

    def poke(self):
        """Tell the helpers a job is being split (at most every POKE_EVERY seconds)."""
        now = time.monotonic()
        if now - self.poked < POKE_EVERY:
            return
        self.poked = now
        for process in self.processes:
            try:
                os.write(process.stdin.fileno(), b"!")
            except (BlockingIOError, BrokenPipeError, ValueError, OSError):
                pass  # its pipe is full (it is spinning already) or it is gone

    def close(self):
        """Stop the helpers: closing their pipe ends them. (A forked child only closes its
        copy of the pipes: the helpers are its parent's.)"""
        if os.getpid() != self.pid:
            for process in self.processes:
                process.stdin.close()
            self.processes = []
            return
        for process in self.processes:
            try:
                process.stdin.close()
            except OSError:
                pass
        for process in self.processes:
            try:
                process.wait(timeout=1)
            except Exception:  # noqa: BLE001 - never fail at exit over a helper
                process.kill()
        self.processes = []


_helpers = None  # the Helpers of this process, False when not wanted or they could not start
_starting = threading.Lock()  # two threads splitting work at once start one set


def poke(threads):
    """Keep ``threads`` CPUs warm for the next LINGER seconds, if ``wanted``; whether
    helpers run."""
    helpers = _helpers
    if helpers is None or (helpers is not False and helpers.pid != os.getpid()):
        helpers = _start(threads)
    if helpers is False:
        return False
    helpers.poke()
    return True


def _start(threads):
    global _helpers
    with _starting:
        helpers = _helpers
        if helpers is not None and (helpers is False or helpers.pid == os.getpid()):
            return helpers  # another thread started them meanwhile
        if not wanted(threads):
            _helpers = False
            return False
        try:
            _helpers = Helpers(threads)
        except (OSError, ValueError) as error:
            _helpers = False
            warnings.warn(f"tapegrad could not start the helpers that keep this virtual "
                          f"machine's CPUs from halting ({error}); work is split between "
                          "threads without them. TAPEGRAD_KEEP_WARM=0 skips them.",
                          RuntimeWarning, stacklevel=4)
        return _helpers


def count():
    """How many helpers this process runs."""
    helpers = _helpers
    return len(helpers.processes) if helpers and helpers.pid == os.getpid() else 0
