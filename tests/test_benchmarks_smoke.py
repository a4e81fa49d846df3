"""The benchmarks (python -m benchmarks.run) run end to end at tiny sizes, so they cannot rot.

No timing is asserted: the numbers of a --quick run on a shared machine mean nothing.
What is asserted: every row of issue 7's table is there, its figures are positive
numbers, and the memory readings the table relies on measure the right process.
"""

import json
import math
import os
import subprocess
import sys

import pytest

from benchmarks import common

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# One key per figure of issue 7: the GEMM limit and conv shapes (1), max pooling (2), the
# training step (3), per-node overhead and the long chain (4), training memory (5), import (6).
EXPECTED_ROWS = (
    "gemm", "conv_a_fwd", "conv_a_fwd_bwd", "conv_b_fwd", "conv_b_fwd_bwd", "conv_c_fwd",
    "conv_c_fwd_bwd", "maxpool", "train_step", "graph_forward", "graph_backward",
    "chain_backward", "chain_peak_rss", "train_peak_rss", "train_rss_growth", "import",
)
WITHOUT_RATIO = {"gemm", "train_rss_growth"}  # a rate and a difference, not tapegrad / PyTorch


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    pytest.importorskip("torch")
    path = tmp_path_factory.mktemp("bench") / "results.json"
    process = subprocess.run([sys.executable, "-m", "benchmarks.run", "--quick", "--json", str(path)],
                             cwd=REPO, capture_output=True, text=True, timeout=900)
    assert process.returncode == 0, process.stderr[-3000:]
    return process.stdout, json.loads(path.read_text())


@pytest.mark.slow
def test_quick_run_has_every_row_once(quick_run):
    _, results = quick_run
    keys = [r["key"] for r in results["rows"]]
    assert sorted(keys) == sorted(EXPECTED_ROWS)
    assert results["quick"] is True and results["threads"] == 2
    # Item 5's proof of flatness: the RSS after every training step, for both frameworks.
    flat = next(r for r in results["rows"] if r["key"] == "train_rss_growth")
    steps = results["sizes"]["memory_steps"]
    for side in ("ours", "torch"):
        per_step = flat["rss_mib_per_step"][side]
        assert len(per_step) == steps and all(value > 0 for value in per_step)


@pytest.mark.slow
def test_quick_run_figures_and_ratios_are_positive_numbers(quick_run):
    _, results = quick_run
    for r in results["rows"]:
        for side in ("ours", "torch"):
            value = r[side]
            assert isinstance(value, (int, float)) and math.isfinite(value), (r["key"], side, value)
            if r["key"] != "train_rss_growth":  # a growth may be 0 or a little negative
                assert value > 0, (r["key"], side, value)
        if r["key"] in WITHOUT_RATIO:
            assert r["ratio"] is None
        else:
            assert isinstance(r["ratio"], float) and math.isfinite(r["ratio"]) and r["ratio"] > 0
            assert r["ratio"] == pytest.approx(r["ours"] / r["torch"])


@pytest.mark.slow
def test_quick_run_prints_the_table(quick_run):
    stdout, results = quick_run
    assert "| benchmark" in stdout and "PyTorch" in stdout
    for r in results["rows"]:
        assert r["label"] in stdout
    # The long chain ran to the end in its child process: no RecursionError anywhere.
    chain = next(r for r in results["rows"] if r["key"] == "chain_backward")
    assert chain["met"] is True


@pytest.mark.slow
def test_child_chain_backward_gives_the_right_gradient():
    # d/dw of the chain x_{k+1} = x_k * w + b, checked against the closed form, so a
    # benchmark that stopped computing the real gradient would fail here.
    process = subprocess.run([sys.executable, "-m", "benchmarks.child", "chain", "ours",
                              "--nodes", "200"], cwd=REPO, capture_output=True, text=True,
                             timeout=300)
    assert process.returncode == 0, process.stderr
    result = json.loads(process.stdout)
    w, b, links = 0.999, 0.001, 100
    # x_n = w^n + b (w^n - 1)/(w - 1); dx_n/dw = n w^(n-1) + b d/dw[(w^n - 1)/(w - 1)]
    geometric_grad = (links * w ** (links - 1) * (w - 1) - (w ** links - 1)) / (w - 1) ** 2
    expected = links * w ** (links - 1) + b * geometric_grad
    assert result["nodes"] == 200
    assert result["w_grad"] == pytest.approx(expected, rel=1e-3)


def test_rss_growth_tells_a_leak_from_noise():
    flat = [100.0, 101.5, 101.0, 101.4, 101.2, 101.5]
    leaking = [100.0 + 7 * step for step in range(6)]  # a tape kept alive: +7 MiB a step
    assert common.rss_growth(flat) == pytest.approx(0.0)
    assert common.rss_growth(leaking) == pytest.approx(21.0)


def test_steal_share_is_the_stolen_part_of_the_ticks_between_two_readings():
    assert common.steal_share((40, 1000), (70, 1200)) == pytest.approx(0.15)
    assert common.steal_share(None, (70, 1200)) is None  # not Linux
    assert common.steal_share((40, 1000), (40, 1000)) is None  # no time passed
    if os.path.exists("/proc/stat"):
        stolen, total = common.cpu_ticks()
        assert 0 <= stolen <= total


def test_quick_run_reports_the_stolen_cpu_time(quick_run):
    stdout, results = quick_run
    if os.path.exists("/proc/stat"):
        assert 0 <= results["steal"] <= 1
        assert "CPU time stolen by the hypervisor" in stdout


def test_peak_rss_of_a_child_is_its_own_not_the_parents():
    # ru_maxrss is carried over fork and exec on Linux; the benchmark reads VmHWM instead.
    if not os.path.exists("/proc/self/status"):
        pytest.skip("needs Linux /proc")
    ballast = bytearray(256 * 1024 * 1024)
    ballast[::4096] = b"\1" * len(range(0, len(ballast), 4096))  # touch every page
    assert common.rss_mib() > 256
    code = "from benchmarks import common; print(common.peak_rss_mib())"
    process = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                             text=True, timeout=60, check=True)
    assert 0 < float(process.stdout) < 100
    del ballast


def test_conv_parts_run_at_a_tiny_size_and_compute_the_conv():
    """benchmarks.conv_parts (where conv forward's time goes) runs, and its parts are real."""
    torch = pytest.importorskip("torch")
    import numpy as np
    from benchmarks import conv_parts
    workloads = conv_parts.parts(torch, channels=2, size=6, filters=3, kernel=3, padding=1, batch=2)
    assert set(workloads) == {"tapegrad conv2d", "matrix products", "PyTorch conv2d"}
    ours, theirs = workloads["tapegrad conv2d"](), workloads["PyTorch conv2d"]()
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-4, atol=1e-4)
    workloads["matrix products"]()


def test_threads_benchmark_runs_at_tiny_sizes():
    """benchmarks.threads (what splitting between threads costs) runs and prints its figures."""
    process = subprocess.run([sys.executable, "-m", "benchmarks.threads", "--tiny"], cwd=REPO,
                             capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    lines = process.stdout.splitlines()
    for start in ("1. over_batch", "   after 1 ms idle", "   back to back", "2. training step",
                  "3. conv2d forward", "   1 thread", "   2 threads", "4. CPU time per call",
                  "   matrix product", "   add of two", "   copy of the"):
        assert any(line.startswith(start) for line in lines), (start, process.stdout)


def test_threads_instrumentation_sees_every_part_and_puts_over_batch_back():
    """The wrapper the threads benchmark routes over_batch through runs every part once,
    reports them all, and restores the nodes' own over_batch, also after an error."""
    import numpy as np
    import nodes.conv
    import nodes.parallel
    import nodes.pool
    from benchmarks.threads import instrumented
    original, busy = nodes.parallel.over_batch, nodes.parallel.host_busy
    calls, seen = [], np.zeros(10, int)

    def work(start, stop):
        seen[start:stop] += 1

    with instrumented(lambda start, end, parts: calls.append((start, end, parts))):
        assert nodes.conv.over_batch is not original and nodes.pool.over_batch is not original
        assert nodes.parallel.host_busy() is False
        nodes.parallel.over_batch(work, 10, nodes.parallel.MIN_ELEMENTS)
    assert seen.tolist() == [1] * 10
    (start, end, parts), = calls
    assert start <= min(part[1] for part in parts) and max(part[2] for part in parts) <= end
    assert [part[0] for part in parts] == sorted({part[0] for part in parts})
    assert parts[0][0] == 0 and len(parts) == min(nodes.parallel.THREADS, 10)
    with pytest.raises(RuntimeError, match="inside"):
        with instrumented(lambda *record: None):
            raise RuntimeError("inside")
    assert nodes.parallel.over_batch is nodes.conv.over_batch is nodes.pool.over_batch is original
    assert nodes.parallel.host_busy is busy


def test_steal_benchmark_runs_briefly():
    """benchmarks.steal (the training step on a busy host) runs one round and prints its
    three lines, each comparing the shipped step with the one without helper processes,
    with and without the steal check."""
    pytest.importorskip("torch")
    process = subprocess.run([sys.executable, "-m", "benchmarks.steal", "--seconds", "0",
                              "--batch", "4"], cwd=REPO, capture_output=True, text=True,
                             timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    lines = process.stdout.splitlines()
    assert lines[0].startswith("1 rounds of 5 steps"), process.stdout
    for label in ("all rounds", "steal > 8%", "steal < 3%"):
        assert any(line.strip().startswith(label) for line in lines[1:]), (label, process.stdout)
    assert "shipped" in lines[1] and "no helpers" in lines[1] and "no helpers, split" in lines[1]
