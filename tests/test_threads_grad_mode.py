"""Grad mode, anomaly mode and the module scope are per thread, as in PyTorch (issue 19 item 6).

Each test forces the interleaving it needs with events or barriers, runs the threads with
a timeout, and re-raises in the main thread whatever failed in a worker.
"""

import threading

import numpy as np
import pytest

import autograd as ag
from autograd import nn
from autograd.optim import SGD

TIMEOUT = 60


def run_threads(*targets):
    """Run each target in its own thread; return their results, re-raising a worker's error."""
    results, errors = [None] * len(targets), []

    def wrap(index, target):
        try:
            results[index] = target()
        except BaseException as error:  # noqa: BLE001 - handed to the main thread below
            errors.append(error)

    threads = [threading.Thread(target=wrap, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "a worker thread hung"
    if errors:  # the first that is not another thread's broken barrier
        raise sorted(errors, key=lambda e: isinstance(e, threading.BrokenBarrierError))[0]
    return results


def wait(event):
    assert event.wait(TIMEOUT), "a worker thread never got its turn"


def test_no_grad_in_two_threads_exited_out_of_order_leaves_recording_on_everywhere():
    # A enters, B enters, A exits, B exits: with one process-wide flag, B's exit restored the
    # False that A had set, and recording stayed off in every thread for good.
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def thread_a():
        with ag.no_grad():
            inside = ag.is_grad_enabled()
            a_in.set()
            wait(b_in)
        a_out.set()
        return inside, ag.is_grad_enabled()

    def thread_b():
        wait(a_in)
        with ag.no_grad():
            inside = ag.is_grad_enabled()
            b_in.set()
            wait(a_out)
        return inside, ag.is_grad_enabled()

    (a_inside, a_after), (b_inside, b_after) = run_threads(thread_a, thread_b)
    assert (a_inside, b_inside) == (False, False)
    assert a_after and b_after
    assert ag.is_grad_enabled()
    assert ag.tape._away == 0 and ag.tape._all_default  # apply's shortcut is back on
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    assert np.array_equal(x.grad, [2.0, 4.0])


def test_graphs_record_in_one_thread_while_another_sits_in_no_grad():
    entered, done = threading.Event(), threading.Event()

    def sitter():
        with ag.no_grad():
            entered.set()
            wait(done)
            return ag.is_grad_enabled()

    def recorder():
        wait(entered)
        try:
            x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
            recorded = 0
            for _ in range(2000):
                y = (x * 2.0).sum()
                recorded += y.requires_grad and y.node is not None
            y.backward()
            return recorded, x.grad.copy()
        finally:
            done.set()

    inside, (recorded, grad) = run_threads(sitter, recorder)
    assert inside is False  # the sitter's own no_grad held throughout
    assert recorded == 2000
    assert np.array_equal(grad, [2.0, 2.0, 2.0])


def test_a_new_thread_starts_recording_without_anomaly_or_scope_whatever_the_caller_set():
    def fresh():
        x = ag.tensor([1.0], requires_grad=True)
        y = x * 3.0
        return ag.is_grad_enabled(), y.node._scope, y.node._origin

    with ag.no_grad(), ag.detect_anomaly(), ag.scope("outer", "Outer"):
        assert not ag.is_grad_enabled()
        [(enabled, node_scope, origin)] = run_threads(fresh)
    assert enabled is True
    assert node_scope is None  # the caller's module scope did not label the thread's nodes
    assert origin is None  # anomaly mode (which records the creating line) stayed off


def test_enable_grad_and_anomaly_in_one_thread_do_not_leak_into_another():
    ready, checked = threading.Event(), threading.Event()

    def switcher():
        with ag.no_grad():
            with ag.enable_grad(), ag.detect_anomaly():
                ready.set()
                wait(checked)
                x = ag.tensor([1.0], requires_grad=True)
                y = x * 2.0
        return y.node._origin

    def observer():
        wait(ready)
        try:
            x = ag.tensor([1.0], requires_grad=True)
            y = x * 2.0
            return ag.is_grad_enabled(), y.node._origin
        finally:
            checked.set()

    origin, (enabled, other_origin) = run_threads(switcher, observer)
    assert origin is not None and "y = x * 2.0" in origin  # anomaly mode was on in its thread
    assert enabled is True and other_origin is None


def test_a_no_grad_decorated_function_called_from_two_threads_and_recursively():
    # The decorator must not share one context manager (and its saved previous mode)
    # between calls: two threads, or a recursive call, would restore each other's mode.
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    @ag.no_grad()
    def hold(first):
        if first:
            a_in.set()
            wait(b_in)
        else:
            wait(a_in)
            b_in.set()
            wait(a_out)
        return ag.is_grad_enabled()

    def thread_a():
        inside = hold(True)
        a_out.set()
        return inside, ag.is_grad_enabled()

    def thread_b():
        return hold(False), ag.is_grad_enabled()

    assert run_threads(thread_a, thread_b) == [(False, True), (False, True)]

    @ag.no_grad()
    def recurse(depth):
        return recurse(depth - 1) if depth else ag.is_grad_enabled()

    assert recurse(3) is False
    assert ag.is_grad_enabled()


def test_module_scopes_and_parameter_names_stay_in_their_thread():
    both_inside = threading.Barrier(2, timeout=TIMEOUT)

    class Waiting(nn.Module):
        """Waits inside its forward until the other thread's model is inside its own."""

        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2, rng=0)

        def forward(self, x):
            both_inside.wait()
            return self.fc(x)

    def run():
        model = nn.Sequential(Waiting())
        out = model(ag.tensor(np.ones((1, 2), np.float32)))
        return out.node._scope.path, [p.name for p in model.parameters()]

    results = run_threads(run, run)
    for path, names in results:
        assert path == "0.fc"
        assert names == ["0.fc.weight", "0.fc.bias"]


def train(seed, images, labels, steps, barrier=None):
    """A small classifier trained with SGD; an evaluation under no_grad after each step."""
    model = nn.Sequential(nn.Linear(8, 16, rng=seed), nn.ReLU(), nn.Linear(16, 3, rng=seed + 1))
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses, scores = [], []
    for _ in range(steps):
        if barrier is not None:
            barrier.wait()  # both threads build their graphs at the same time
        optimizer.zero_grad()
        loss = ag.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        with ag.no_grad():
            if barrier is not None:
                barrier.wait()  # and sit in no_grad at the same time
            scores.append(model(images).data.copy())
    return losses, scores, [p.data.copy() for p in model.parameters()]


def test_two_models_trained_in_two_threads_match_a_serial_run_bit_for_bit():
    rng = np.random.default_rng(5)
    images = ag.tensor(rng.standard_normal((32, 8)).astype(np.float32))
    labels = ag.tensor(rng.integers(0, 3, 32))
    serial = [train(seed, images, labels, 25) for seed in (1, 2)]
    barrier = threading.Barrier(2, timeout=TIMEOUT)

    def trainer(seed):
        def run():
            try:
                return train(seed, images, labels, 25, barrier)
            except BaseException:
                barrier.abort()  # the other thread stops waiting for this one
                raise
        return run

    threaded = run_threads(trainer(1), trainer(2))
    for (s_losses, s_scores, s_params), (t_losses, t_scores, t_params) in zip(serial, threaded):
        assert s_losses == t_losses
        assert all(np.array_equal(s, t) for s, t in zip(s_scores, t_scores))
        assert all(np.array_equal(s, t) for s, t in zip(s_params, t_params))
    assert serial[0][0] != serial[1][0]  # two different models, so the comparison means something
    assert serial[0][0][-1] < serial[0][0][0]  # and they learned


@pytest.mark.parametrize("switch", ["no_grad", "detect_anomaly"])
def test_switches_restore_the_previous_mode_when_the_block_raises(switch):
    before = (ag.is_grad_enabled(), ag.tape.state.anomaly)
    with pytest.raises(KeyError):
        with getattr(ag, switch)():
            raise KeyError("inside")
    assert (ag.is_grad_enabled(), ag.tape.state.anomaly) == before
