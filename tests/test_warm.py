"""The helpers that keep a virtual machine's CPUs from halting (nodes/warm.py)."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from nodes import parallel, warm

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the helpers run on Linux only (/proc, SCHED_IDLE)")


def cpu_seconds(pid):
    """User + system CPU time of process ``pid`` from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def state(pid):
    """The process's state letter ('R', 'S', 'Z'...), or 'gone'."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


def wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_the_setting(monkeypatch):
    for value, expected in [("", "auto"), ("auto", "auto"), ("1", "on"), ("on", "on"),
                            ("0", "off"), (" OFF ", "off")]:
        monkeypatch.setenv("TAPEGRAD_KEEP_WARM", value)
        assert warm._setting() == expected
    monkeypatch.setenv("TAPEGRAD_KEEP_WARM", "sometimes")
    with pytest.raises(ValueError, match="TAPEGRAD_KEEP_WARM must be auto, 1 or 0"):
        warm._setting()


def test_when_helpers_are_wanted(monkeypatch):
    monkeypatch.setenv("TAPEGRAD_KEEP_WARM", "off")
    assert not warm.wanted(2)
    monkeypatch.setenv("TAPEGRAD_KEEP_WARM", "on")
    assert not warm.wanted(1)  # nothing is split
    assert warm.wanted(2) == sys.platform.startswith("linux")
    monkeypatch.setenv("TAPEGRAD_KEEP_WARM", "auto")
    monkeypatch.setattr(warm, "on_a_hypervisor", lambda: False)
    assert not warm.wanted(2)
    monkeypatch.setattr(warm, "on_a_hypervisor", lambda: True)
    assert warm.wanted(2) == sys.platform.startswith("linux")


@linux_only
def test_a_helper_spins_after_a_poke_at_idle_priority_then_sleeps_and_stops_when_closed(
        monkeypatch):
    monkeypatch.setattr(warm, "LINGER", 0.5)
    helpers = warm.Helpers(1)
    pid = helpers.processes[0].pid
    try:
        time.sleep(0.3)  # started, and sleeping: nothing was split yet
        assert os.sched_getscheduler(pid) == os.SCHED_IDLE
        before = cpu_seconds(pid)
        time.sleep(0.3)
        assert cpu_seconds(pid) - before < 0.1
        helpers.poke()
        time.sleep(0.05)
        before = cpu_seconds(pid)
        time.sleep(0.3)
        assert cpu_seconds(pid) - before > 0.1  # spinning (this process sleeps meanwhile)
        time.sleep(0.5)  # LINGER is over
        before = cpu_seconds(pid)
        time.sleep(0.3)
        assert cpu_seconds(pid) - before < 0.1
    finally:
        helpers.close()
    assert helpers.processes == []
    assert wait_for(lambda: state(pid) in ("gone", "Z"))


def test_pokes_are_written_at_most_every_poke_every_seconds():
    helpers = warm.Helpers.__new__(warm.Helpers)
    read, write = os.pipe()
    os.set_blocking(read, False)

    class Process:
        stdin = os.fdopen(write, "wb")

    helpers.processes, helpers.poked = [Process], float("-inf")
    try:
        helpers.poke()
        helpers.poke()  # too soon: not written
        assert os.read(read, 100) == b"!"
        helpers.poked -= warm.POKE_EVERY
        helpers.poke()
        assert os.read(read, 100) == b"!"
    finally:
        Process.stdin.close()
        os.close(read)


@linux_only
def test_a_helper_exits_when_its_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        f"sys.path.insert(0, {os.getcwd()!r})\n"
        "from nodes import warm\n"
        "helpers = warm.Helpers(1)\n"
        "print(helpers.processes[0].pid, flush=True)\n"
        "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(parent.stdout.readline())
        assert state(pid) not in ("gone", "Z")
        parent.kill()
        parent.wait()
        assert wait_for(lambda: state(pid) in ("gone", "Z"))
    finally:
        parent.kill()
        parent.stdout.close()


def test_over_batch_pokes_the_helpers_when_it_splits(monkeypatch):
    from helpers import split_work_between_threads
    calls = []
    monkeypatch.setattr(warm, "poke", lambda threads: calls.append(threads) and False)
    split_work_between_threads(monkeypatch, threads=2)
    parallel.over_batch(lambda start, stop: None, 4, 10)
    assert calls == [2]
    monkeypatch.setattr(parallel, "host_busy", lambda: True)  # parts run on the caller
    parallel.over_batch(lambda start, stop: None, 4, 10)
    assert calls == [2, 2]
    monkeypatch.setattr(parallel, "MIN_ELEMENTS", 100)  # too small to split: no poke
    parallel.over_batch(lambda start, stop: None, 4, 10)
    assert calls == [2, 2]


def test_helpers_that_cannot_start_give_a_warning_and_the_work_still_runs(monkeypatch):
    """If the helpers cannot start, a warning says so and the job still runs."""
    monkeypatch.setattr(warm, "_helpers", None)
    monkeypatch.setattr(warm, "wanted", lambda threads: True)

    def fail(count):
        raise OSError("no executable")
    monkeypatch.setattr(warm, "Helpers", fail)
    with pytest.warns(RuntimeWarning, match="TAPEGRAD_KEEP_WARM=0 skips them"):
        warm.poke(2)
    assert warm._helpers is False
    warm.poke(2)  # no second warning, no second try
    out = np.zeros(4)
    from helpers import split_work_between_threads
    split_work_between_threads(monkeypatch, threads=2)

    def work(start, stop):
        out[start:stop] = 1
    parallel.over_batch(work, 4, 10)
    assert out.tolist() == [1, 1, 1, 1]


def test_with_helpers_running_a_busy_host_does_not_stop_the_split(monkeypatch):
    from helpers import split_work_between_threads
    submitted = split_work_between_threads(monkeypatch, threads=2)
    monkeypatch.setattr(parallel, "host_busy", lambda: True)
    monkeypatch.setattr(warm, "poke", lambda threads: True)  # helpers run
    parallel.over_batch(lambda start, stop: None, 4, 10)
    assert len(submitted) == 1  # the second part went to the pool thread
    monkeypatch.setattr(warm, "poke", lambda threads: False)  # none: the steal check applies
    parallel.over_batch(lambda start, stop: None, 4, 10)
    assert len(submitted) == 1


@linux_only
def test_helpers_that_fail_to_start_halfway_stop_the_ones_that_started(monkeypatch):
    import subprocess as subprocess_module
    real, started = subprocess_module.Popen, []

    def popen_once(*args, **kwargs):
        if started:
            raise OSError("out of processes")
        started.append(real(*args, **kwargs))
        return started[-1]
    monkeypatch.setattr(subprocess_module, "Popen", popen_once)
    with pytest.raises(OSError, match="out of processes"):
        warm.Helpers(2)
    assert started[0].poll() is not None  # closed and waited for
