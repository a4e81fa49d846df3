"""tapegrad beside PyTorch CPU: speed, graph overhead, memory and import time (issue 7).

    .venv/bin/python -m benchmarks.run             the full table (about two minutes)
    .venv/bin/python -m benchmarks.run --quick     tiny sizes: checks that everything runs
    .venv/bin/python -m benchmarks.run --json results.json --only 1,3

Both frameworks run in this process with 2 threads each (NumPy's BLAS through
OMP/OPENBLAS/MKL_NUM_THREADS, PyTorch through torch.set_num_threads); their runs
alternate in blocks and every figure is the median of repeated runs. Peak memory is measured
in child processes that import one framework only (benchmarks/child.py). A ratio is
tapegrad / PyTorch: below 1 tapegrad is faster or smaller.
"""

from .common import pin_threads

pin_threads()  # before NumPy or PyTorch start their thread pools

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from . import common, workloads  # noqa: E402

# The sizes of the issue, and tiny ones that only prove the code still runs. The 0-d chain
# runs 21 times a side (7 until 2026-11-22): single runs of it varied by up to 40% on this
# VM, and with 7 the forward ratio ranged 0.70x-1.00x over ten full runs.
FULL = dict(batch=64, pool_batch=64, train_batch=64, gemm=1024, links=20_000,
            chain_nodes=1_000_000, memory_steps=200, repeats=30, train_repeats=30,
            chain_repeats=21, import_repeats=5)
QUICK = dict(batch=2, pool_batch=2, train_batch=4, gemm=128, links=500,
             chain_nodes=10_000, memory_steps=10, repeats=2, train_repeats=2,
             chain_repeats=2, import_repeats=1)

CONV_SHAPES = (  # (label, channels, size, filters, kernel, padding)
    ("a", 3, 32, 16, 3, 1),
    ("b", 16, 16, 32, 3, 1),
    ("c", 1, 28, 8, 5, 0),
)
# Timed runs alternate between the frameworks in this many blocks (of 5 runs at the full
# sizes): the load of other tenants on this shared VM comes and goes within seconds, and
# with more, shorter blocks a slow spell is more likely to fall on both sides.
BLOCKS = 6
FLAT_MIB = 5.0  # a run is flat when its second half never rises this far above its first


def row(key, item, label, unit, ours, torch, target=None, target_text="", note="", ratio=True):
    """One line of the table. ``target`` is the largest ratio that meets the issue's target."""
    value = ours / torch if ratio and ours is not None and torch else None
    met = None if target is None or value is None else value <= target
    return dict(key=key, item=item, label=label, unit=unit, ours=ours, torch=torch,
                ratio=value, target=target, target_text=target_text, met=met, note=note)


# ---------------------------------------------------------------- 1, 2, 3: in-process speed

def bench_conv(torch, sizes):
    """Item 1: conv2d forward and forward+backward for the three shapes, with GFLOP/s."""
    n = sizes["gemm"]
    gemm = workloads.make_matmul(torch, n)
    times = common.median_times(gemm, sizes["repeats"], warmup=2, blocks=BLOCKS)
    gemm_flops = 2 * n ** 3
    numpy_rate = gemm_flops / times["ours"] / 1e9
    rows = [row("gemm", "1", f"float32 matmul {n}x{n}x{n} (the limit)", "GFLOP/s", numpy_rate,
                gemm_flops / times["torch"] / 1e9, note="NumPy's rate beside PyTorch's",
                ratio=False)]
    batch = sizes["batch"]
    for name, channels, size, filters, kernel, padding in CONV_SHAPES:
        work = workloads.make_conv(torch, batch, channels, size, filters, kernel, padding)
        workloads.check_conv(torch, work)
        flops = workloads.conv_flops(batch, channels, size, filters, kernel, padding)
        shape = f"{batch}x{channels}x{size}x{size} -> {filters}@{kernel}x{kernel} p{padding}"
        for phase, index, phase_flops in (("fwd", 0, flops), ("fwd+bwd", 1, 3 * flops)):
            times = common.median_times({side: work[side][index] for side in work},
                                        sizes["repeats"], warmup=2, blocks=BLOCKS)
            ours_rate = phase_flops / times["ours"] / 1e9
            torch_rate = phase_flops / times["torch"] / 1e9
            note = (f"{ours_rate:.1f} vs {torch_rate:.1f} GFLOP/s "
                    f"({100 * ours_rate / numpy_rate:.0f}% of NumPy's matmul)")
            rows.append(row(f"conv_{name}_{phase.replace('+', '_')}", "1",
                            f"conv2d {phase} ({name}) {shape}", "ms",
                            times["ours"] * 1e3, times["torch"] * 1e3, 2.0, "<= 2x", note))
    return rows


def bench_pool(torch, sizes):
    """Item 2: 2x2 stride-2 max pooling, forward+backward."""
    batch = sizes["pool_batch"]
    times = common.median_times(workloads.make_pool(torch, batch, 16, 32), sizes["repeats"],
                                warmup=2, blocks=BLOCKS)
    return [row("maxpool", "2", f"max_pool2d 2x2 s2 fwd+bwd {batch}x16x32x32", "ms",
                times["ours"] * 1e3, times["torch"] * 1e3, 1.0, "<= 1x")]


def bench_training(torch, sizes):
    """Item 3: one SGD step of the CIFAR-shaped CNN."""
    batch = sizes["train_batch"]
    steps = workloads.make_training(torch, batch)
    first = {side: step() for side, step in steps.items()}
    if not np.isclose(first["ours"], first["torch"], rtol=1e-4):
        raise RuntimeError(f"training step: the first losses differ (tapegrad {first['ours']}, "
                           f"PyTorch {first['torch']}) although both start from the same weights")
    times = common.median_times(steps, sizes["train_repeats"], warmup=1, blocks=BLOCKS)
    return [row("train_step", "3", f"CNN training step, batch {batch}", "ms",
                times["ours"] * 1e3, times["torch"] * 1e3, 1.5, "<= 1.5x",
                "forward, cross-entropy, backward, SGD")]


# ---------------------------------------------------------------- 4: graph overhead

def bench_graph(torch, sizes):
    """Item 4: microseconds per node of a 0-d chain, and a million-node chain in a child."""
    links = sizes["links"]
    nodes = 2 * links
    medians = common.median_split_times(workloads.make_chain(torch, links),
                                        sizes["chain_repeats"], warmup=1)
    rows = [row(f"graph_{phase}", "4", f"graph overhead, {phase} ({nodes} nodes of 0-d)",
                "us/node", medians["ours"][i] / nodes * 1e6, medians["torch"][i] / nodes * 1e6,
                1.0, "<= 1x", "a = a * w + b")
            for i, phase in enumerate(("forward", "backward"))]

    count = sizes["chain_nodes"]
    results = {side: child("chain", side, "--nodes", str(count)) for side in ("ours", "torch")}
    ours, theirs = results["ours"], results["torch"]
    label = f"{count // 1000}k" if count < 1_000_000 else f"{count // 1_000_000}M"
    rows.append(row("chain_backward", "4", f"{label}-node chain backward", "s",
                    ours["backward_seconds"], theirs["backward_seconds"], None,
                    "no RecursionError",
                    f"forward {ours['forward_seconds']:.2f} vs {theirs['forward_seconds']:.2f} s"))
    rows[-1]["met"] = True  # the child finished: neither backward nor freeing recursed
    rows.append(row("chain_peak_rss", "4", f"{label}-node chain peak RSS", "MiB",
                    ours["peak_rss_mib"], theirs["peak_rss_mib"],
                    note=f"graph +{ours['peak_rss_mib'] - ours['rss_before_mib']:.0f} vs "
                         f"+{theirs['peak_rss_mib'] - theirs['rss_before_mib']:.0f} MiB"))
    return rows


# ---------------------------------------------------------------- 5: memory of training

def bench_memory(sizes):
    """Item 5: peak RSS of a training run, each framework in a process of its own."""
    steps, batch = sizes["memory_steps"], sizes["train_batch"]
    results = {side: child("train", side, "--steps", str(steps), "--batch", str(batch))
               for side in ("ours", "torch")}
    ours, theirs = results["ours"], results["torch"]
    growth = {side: common.rss_growth(r["rss_mib"]) for side, r in results.items()}
    peak = row("train_peak_rss", "5", f"peak RSS, {steps} training steps, batch {batch}", "MiB",
               ours["peak_rss_mib"], theirs["peak_rss_mib"], 0.5, "<= 0.5x",
               f"RSS at the last step {ours['rss_mib'][-1]:.0f} vs {theirs['rss_mib'][-1]:.0f} MiB")
    samples = ours["rss_mib"]
    marks = sorted({1, len(samples) // 2, len(samples)})
    flat = row("train_rss_growth", "5", f"RSS growth over the {steps} steps", "MiB",
               growth["ours"], growth["torch"], target_text=f"flat (< {FLAT_MIB:g} MiB)",
               note="tapegrad at steps " + "/".join(map(str, marks)) + ": "
                    + "/".join(f"{samples[m - 1]:.1f}" for m in marks) + " MiB", ratio=False)
    flat["met"] = growth["ours"] < FLAT_MIB
    # The proof that memory stays flat: the RSS after every step, for both frameworks.
    flat["rss_mib_per_step"] = {side: r["rss_mib"] for side, r in results.items()}
    return [peak, flat]


# ---------------------------------------------------------------- 6: import time

def bench_import(sizes):
    """Item 6: wall time of ``python -c "import autograd"`` beside ``import torch``."""
    commands = {"ours": "import autograd", "torch": "import torch", "python": "pass"}
    samples = {side: [] for side in commands}
    for _ in range(sizes["import_repeats"]):
        for side, code in commands.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, cwd=common.REPO,
                           env=child_environment())
            samples[side].append(time.perf_counter() - start)
    medians = {side: statistics.median(values) for side, values in samples.items()}
    return [row("import", "6", "import time", "s", medians["ours"], medians["torch"], 0.25,
                "<= 0.25x", f"bare interpreter start {medians['python']:.2f} s")]


# ---------------------------------------------------------------- running and reporting

def child_environment():
    """This environment, with the repository first on the path (works without installing)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [common.REPO, env.get("PYTHONPATH")]))
    return env


def child(task, framework, *options):
    """Run ``benchmarks.child`` in a fresh interpreter and return what it printed."""
    process = subprocess.run([sys.executable, "-m", "benchmarks.child", task, framework, *options],
                             cwd=common.REPO, env=child_environment(), capture_output=True,
                             text=True)
    if process.returncode != 0:
        raise RuntimeError(f"benchmarks.child {task} {framework} failed with exit code "
                           f"{process.returncode}:\n{process.stderr[-3000:]}")
    return json.loads(process.stdout.strip().splitlines()[-1])


def machine():
    """The CPU model and core count, for the README's Performance section."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def _format(value, unit):
    if value is None:
        return "-"
    digits = {"ms": 2, "us/node": 2, "s": 2, "MiB": 0, "GFLOP/s": 1}.get(unit, 2)
    if unit == "MiB" and abs(value) < 10:
        digits = 1
    return f"{value:.{digits}f} {unit}"


def table(rows):
    """The results as a Markdown table (readable in a terminal and pasteable in the README)."""
    header = ("item", "benchmark", "tapegrad", "PyTorch", "ratio", "target", "met", "note")
    lines = [header]
    for r in rows:
        met = {True: "yes", False: "NO", None: ""}[r["met"]]
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        lines.append((r["item"], r["label"], _format(r["ours"], r["unit"]),
                      _format(r["torch"], r["unit"]), ratio, r["target_text"], met, r["note"]))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for index, line in enumerate(lines):
        out.append("| " + " | ".join(cell.ljust(width) for cell, width in zip(line, widths)) + " |")
        if index == 0:
            out.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(out)


ITEMS = ("1", "2", "3", "4", "5", "6")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and 1-2 repeats: checks the benchmarks run, measures nothing")
    parser.add_argument("--json", metavar="PATH", help="also write the results to PATH as JSON")
    parser.add_argument("--only", metavar="ITEMS", default=",".join(ITEMS),
                        help="comma-separated items of issue 7 to run (default: all, 1-6)")
    parser.add_argument("--repeats", type=int, help="override the number of timed repeats")
    args = parser.parse_args(argv)
    only = [item.strip() for item in args.only.split(",") if item.strip()]
    unknown = sorted(set(only) - set(ITEMS))
    if unknown:
        parser.error(f"--only: unknown item(s) {', '.join(unknown)}; choose from {', '.join(ITEMS)}")
    sizes = dict(QUICK if args.quick else FULL)
    if args.repeats:
        for key in ("repeats", "train_repeats", "chain_repeats", "import_repeats"):
            sizes[key] = args.repeats

    torch = common.start_torch()
    steps = {"1": lambda: bench_conv(torch, sizes), "2": lambda: bench_pool(torch, sizes),
             "3": lambda: bench_training(torch, sizes), "4": lambda: bench_graph(torch, sizes),
             "5": lambda: bench_memory(sizes), "6": lambda: bench_import(sizes)}
    rows = []
    ticks = common.cpu_ticks()
    for item in ITEMS:
        if item in only:
            print(f"item {item} ...", file=sys.stderr, flush=True)
            common.settle()  # also freezes what the items before imported lazily
            rows.extend(steps[item]())

    # glibc's allocator settings change NumPy's speed a lot on this kind of machine (see
    # autograd/allocator.py), so they are part of the result: the process's MALLOC_*
    # variables, and what ``import autograd`` set.
    steal = common.steal_share(ticks, common.cpu_ticks())
    from nodes import warm
    from nodes.parallel import STEAL_LIMIT, host_busy
    helpers = warm.count()
    if helpers:  # then the steal share is not checked (see nodes.parallel.STEAL_LIMIT)
        unsplit = (f"; tapegrad kept the CPUs from halting with {helpers} helper processes "
                   "(nodes/warm.py)")
    else:
        unsplit = (f"; no helper processes (nodes/warm.py); tapegrad split no work in "
                   f"{host_busy.busy_readings} of {host_busy.readings} readings of the steal "
                   f"share (over {STEAL_LIMIT:.0%}; nodes/parallel.py)")
    from autograd import allocator as tuning
    allocator = {k: v for k, v in sorted(os.environ.items()) if k.startswith("MALLOC_")}
    allocator.update({f"tapegrad {k}": v for k, v in tuning.SETTINGS.items()})
    print(f"\n{machine()}; NumPy {np.__version__}, PyTorch {torch.__version__}, Python "
          f"{platform.python_version()}; {common.THREADS} threads each"
          + ("; --quick sizes (not a measurement)" if args.quick else "")
          + ("" if steal is None else f"; CPU time stolen by the hypervisor: {steal:.0%}")
          + unsplit
          + "".join(f"; {k}={v}" for k, v in allocator.items()))
    print(table(rows))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"machine": machine(), "quick": args.quick, "threads": common.THREADS,
                       "malloc_environment": allocator, "numpy": np.__version__,
                       "torch": torch.__version__, "python": platform.python_version(),
                       "sizes": sizes, "steal": steal,
                       "unsplit_readings": [host_busy.busy_readings, host_busy.readings],
                       "helper_processes": helpers,
                       "rows": rows}, out, indent=2)
    return rows


if __name__ == "__main__":
    main()
