"""What the benchmark processes share: pinned threads, timers, memory readings, the
table's rows and how its figures are printed.

Importing this module has no side effects, and nothing here imports NumPy or PyTorch at
module level, so ``pin_threads`` can run before either library starts its thread pools
and the README's table (``readme_table``) and its test can read the rows without
pinning anything.
"""

import gc
import os
import statistics
import time

THREADS = 2
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "TAPEGRAD_NUM_THREADS")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONV_SHAPES = (  # (label, channels, size, filters, kernel, padding, stride): item 1's rows
    ("a", 3, 32, 16, 3, 1, 1),
    ("b", 16, 16, 32, 3, 1, 1),
    ("c", 1, 28, 8, 5, 0, 1),
    ("d", 16, 32, 32, 3, 1, 2),
    ("e", 32, 16, 64, 1, 0, 1),
)
STEP_CONFIGS = (  # (key, label, batch, model, environment, target): item 3's rows
    ("train_step_b8", "CNN training step, batch 8", 8, "basic", {}, 1.3),
    ("train_step", "CNN training step, batch 64", 64, "basic", {}, 1.0),
    ("train_step_b256", "CNN training step, batch 256", 256, "basic", {}, 1.3),
    ("train_step_deeper", "deeper CIFAR-10 model's training step, batch 64", 64, "deeper", {},
     1.3),
    ("train_step_reference", "CNN training step, batch 64, reference kernels", 64, "basic",
     {"TAPEGRAD_KERNELS": "reference"}, None),
    ("train_step_tuned", "CNN training step, batch 64, opt-in TAPEGRAD_ALLOCATOR=tuned", 64,
     "basic", {"TAPEGRAD_ALLOCATOR": "tuned"}, None),
)
# Every row of a full run, in the table's order: (key, item, a part of its label that does
# not depend on the sizes). benchmarks.run builds the rows; the smoke test checks a run
# against this list, and tests/test_readme.py the README's table.
ROWS = (
    ("gemm", "1", "float32 matmul"),
    *((f"conv_{name}_{key}", "1", f"conv2d {phase} ({name}) ")
      for name, *_ in CONV_SHAPES for key, phase in (("fwd", "fwd"), ("fwd_bwd", "fwd+bwd"))),
    ("maxpool", "2", "max_pool2d 2x2 s2 fwd+bwd"),
    *((key, "3", label) for key, label, *_ in STEP_CONFIGS),
    ("graph_forward", "4", "graph overhead, forward"),
    ("graph_backward", "4", "graph overhead, backward"),
    ("chain_backward", "4", "-node chain backward"),
    ("chain_peak_rss", "4", "-node chain peak RSS"),
    ("train_working_rss", "5", "working memory, "),
    ("train_peak_rss", "5", "process peak RSS, "),
    ("train_rss_growth", "5", "RSS growth from step "),
    ("first_step", "6", "import, build and first training step"),
    ("import", "6", "import time"),
    ("neighbour", "7", "PyTorch's step after tapegrad's / alone"),
)


def pin_threads(threads=THREADS):
    """Give each framework ``threads`` threads; call before importing NumPy or PyTorch.

    tapegrad: ``threads`` threads of its own splitting convolution and pooling over the
    batch (TAPEGRAD_NUM_THREADS; its default is the machine's CPU count, which is 2
    here), and ``threads`` OpenBLAS threads for everything else. PyTorch: ``threads``
    intra-op threads (OMP/MKL variables and torch.set_num_threads). The variables are
    inherited by the subprocesses the benchmarks start.
    """
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)


def start_torch(threads=THREADS):
    """Import PyTorch with ``threads`` intra-op threads."""
    import torch
    torch.set_num_threads(threads)
    return torch


def settle():
    """Collect garbage, then freeze what is left out of the collector's way.

    PyTorch's import leaves some 160,000 Python objects behind. Without the freeze, every
    full collection re-scans them, and full collections come more often for whichever
    framework keeps more Python objects alive per graph node: the benchmark would then
    charge the cost of having PyTorch loaded to tapegrad, a cost a tapegrad-only process
    never pays. The same holds for the modules either framework imports lazily during
    the first items (torch.optim, ...), so this runs before every item. Both frameworks
    run after the same freeze.
    """
    gc.collect()
    gc.freeze()


# seconds of sleep before each block: PyTorch's libgomp workers and OpenBLAS's busy-wait
# for a while after each job, and would otherwise take cores from the other framework's
# first runs of its block; the pause is the same for both sides
SWITCH_PAUSE = 0.05


def _blocks(repeats, blocks):
    """Split ``repeats`` timed runs into at most ``blocks`` blocks (sizes differ by one)."""
    blocks = max(1, min(blocks, repeats))
    return [repeats // blocks + (i < repeats % blocks) for i in range(blocks)]


def _measure(workloads, repeats, warmup, blocks, split):
    samples = {name: [] for name in workloads}
    for size in _blocks(repeats, blocks):
        for name, run in workloads.items():
            time.sleep(SWITCH_PAUSE)  # see SWITCH_PAUSE
            for _ in range(warmup):
                run()
            for _ in range(size):
                start = time.perf_counter()
                result = run()
                total = time.perf_counter() - start
                samples[name].append(tuple(result) if split else (total,))
    return {name: tuple(statistics.median(phase) for phase in zip(*values))
            for name, values in samples.items()}


def median_times(workloads, repeats, warmup=1, blocks=3):
    """Median wall-clock seconds of each callable in ``workloads`` (a dict name -> callable).

    The runs go in blocks that alternate between the callables (ours x5, theirs x5,
    ours x5, ...), each block after ``warmup`` untimed runs. Alternating blocks spread a
    burst of load from other processes over both sides, while within a block each side
    runs with its own data in the caches, as in real use: alternating single runs made
    both sides 15-25% slower on small workloads.
    """
    return {name: phases[0] for name, phases
            in _measure(workloads, repeats, warmup, blocks, split=False).items()}


def median_split_times(workloads, repeats, warmup=1, blocks=3):
    """Like ``median_times`` for callables that time their own phases.

    Each callable returns a tuple of seconds (say forward, backward); the result maps
    each name to the tuple of per-phase medians.
    """
    return _measure(workloads, repeats, warmup, blocks, split=True)


MIB = 1024 * 1024


def cpu_ticks():
    """(stolen, total) CPU time in ticks since boot, from Linux's /proc/stat, or None.

    "Steal" is time a virtual CPU was ready to run but the hypervisor ran something
    else. On a shared VM it is what makes runs noisy, so the benchmark reports its share
    during the run. Only the benchmark reads it: tapegrad itself never looks.
    """
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    ticks = [int(value) for value in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return ticks[7], sum(ticks)


def steal_share(before, after):
    """The share of CPU time the hypervisor stole between two ``cpu_ticks`` readings."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def child_processes():
    """Process ids of this process's children (Linux /proc: every thread's ``children``)."""
    import glob
    found = []
    for path in glob.glob("/proc/self/task/*/children"):
        with open(path) as children:
            found += children.read().split()
    return found


def thread_cpu_seconds():
    """{thread id: utime + stime in seconds} for every thread of this process (Linux /proc)."""
    seconds = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        seconds[tid] = (int(fields[11]) + int(fields[12])) / tick  # fields 14, 15 of proc(5)
    return seconds


def busy_threads(seconds=0.5, share=0.1):
    """(threads that used more than ``share`` of a CPU while this thread slept ``seconds``,
    all threads): what keeps running while the program waits."""
    before = thread_cpu_seconds()
    time.sleep(seconds)
    after = thread_cpu_seconds()
    busy = sum(1 for tid, spent in after.items() if spent - before.get(tid, 0.0) > share * seconds)
    return busy, len(after)


def rss_mib():
    """This process's resident set size now, in MiB (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / MIB


def peak_rss_mib():
    """This process's peak resident set size, in MiB.

    VmHWM belongs to this process image alone. ``resource.getrusage``'s ru_maxrss would
    do in a process of its own, but Linux carries it over fork and exec from the parent,
    so a child of a large parent would report the parent's peak.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource  # not Linux: ru_maxrss, in KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def format_figure(value, unit):
    """A figure of the table with its unit: "8.30 ms", "37 MiB", "-" when there is none."""
    if value is None:
        return "-"
    digits = {"ms": 2, "us/node": 2, "s": 2, "MiB": 0, "GFLOP/s": 1}.get(unit, 2)
    if unit == "MiB" and abs(value) < 10:
        digits = 1
    return f"{value:.{digits}f} {unit}"


def format_ratio(ratio):
    """A row's ratio, "0.98x", or nothing for a row without one."""
    return "" if ratio is None else f"{ratio:.2f}x"
