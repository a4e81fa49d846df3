"""SGD and Adam: PyTorch's update rules step for step, skipping, zeroing and argument checks."""

import numpy as np
import pytest

import autograd as ag
from autograd.optim import SGD, Adam


def quadratic_loss(params, targets):
    """A bounded-below loss with a different, non-trivial gradient for every element."""
    total = None
    for p, t in zip(params, targets):
        scale = np.linspace(0.5, 1.5, t.size).reshape(t.shape)
        term = ((p - t) * (p - t) * scale).sum() + (p * 3.0).tanh().sum()
        total = term if total is None else total + term
    return total


def run_ours(make_optimizer, starts, targets, steps):
    params = [ag.tensor(s.copy(), requires_grad=True) for s in starts]
    optimizer = make_optimizer(params)
    history = []
    for _ in range(steps):
        optimizer.zero_grad()
        quadratic_loss(params, targets).backward()
        optimizer.step()
        history.append([p.data.copy() for p in params])
    return history


def run_torch(torch, make_optimizer, starts, targets, steps):
    params = [torch.tensor(s.copy(), requires_grad=True) for s in starts]
    optimizer = make_optimizer(params)
    history = []
    for _ in range(steps):
        optimizer.zero_grad()
        total = None
        for p, t in zip(params, targets):
            scale = torch.tensor(np.linspace(0.5, 1.5, t.size).reshape(t.shape))
            t = torch.tensor(t)
            term = ((p - t) * (p - t) * scale).sum() + torch.tanh(p * 3.0).sum()
            total = term if total is None else total + term
        total.backward()
        optimizer.step()
        history.append([p.detach().numpy().copy() for p in params])
    return history


def problem(seed=0):
    rng = np.random.default_rng(seed)
    starts = [rng.normal(size=(3, 4)), rng.normal(size=(5,))]
    targets = [rng.normal(size=(3, 4)), rng.normal(size=(5,))]
    return starts, targets


SGD_SETTINGS = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.05, momentum=0.8, weight_decay=0.1),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    dict(lr=0.05, momentum=0.5, dampening=0.3),
    dict(lr=0.1, weight_decay=0.5),
]

ADAM_SETTINGS = [
    dict(),
    dict(lr=0.05),
    dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.1, betas=(0.0, 0.5)),
]


@pytest.mark.parametrize("settings", SGD_SETTINGS, ids=str)
def test_sgd_matches_pytorch_for_several_steps(settings):
    torch = pytest.importorskip("torch")
    starts, targets = problem()
    ours = run_ours(lambda ps: SGD(ps, **settings), starts, targets, steps=6)
    theirs = run_torch(torch, lambda ps: torch.optim.SGD(ps, **settings), starts, targets, steps=6)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for p, q in zip(a, b):
            np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-12, err_msg=f"step {step + 1}")
    assert not np.allclose(ours[0][0], starts[0])  # the parameters did move


@pytest.mark.parametrize("settings", ADAM_SETTINGS, ids=str)
def test_adam_matches_pytorch_for_several_steps(settings):
    torch = pytest.importorskip("torch")
    starts, targets = problem(1)
    ours = run_ours(lambda ps: Adam(ps, **settings), starts, targets, steps=6)
    theirs = run_torch(torch, lambda ps: torch.optim.Adam(ps, **settings), starts, targets, steps=6)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for p, q in zip(a, b):
            np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-12, err_msg=f"step {step + 1}")


def test_sgd_by_hand_momentum_and_nesterov():
    # g = 2 at every step (loss 2w): the velocity is 2, 2*0.9 + 2 = 3.8, ...
    w = ag.tensor(np.array([1.0]), requires_grad=True)
    optimizer = SGD([w], lr=0.1, momentum=0.9)
    for expected in (1.0 - 0.2, 1.0 - 0.2 - 0.38):
        optimizer.zero_grad()
        (w * 2.0).sum().backward()
        optimizer.step()
        assert w.data[0] == pytest.approx(expected, abs=1e-15)
    w = ag.tensor(np.array([1.0]), requires_grad=True)
    optimizer = SGD([w], lr=0.1, momentum=0.9, nesterov=True)
    (w * 2.0).sum().backward()
    optimizer.step()  # buffer 2, step g + 0.9 * buffer = 3.8
    assert w.data[0] == pytest.approx(1.0 - 0.38, abs=1e-15)


def test_adam_first_step_moves_each_element_by_about_lr():
    # After one step m/sqrt(v) = sign(g) after bias correction, whatever the gradient's size.
    w = ag.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    optimizer = Adam([w], lr=0.01)
    (w * np.array([1000.0, -0.001, 5.0])).sum().backward()
    optimizer.step()
    np.testing.assert_allclose(w.data, [0.99, -1.99, 2.99], atol=1e-6)


def test_updates_are_in_place_and_keep_dtype():
    w = ag.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    array = w.data
    for optimizer in (SGD([w], lr=0.1, momentum=0.9), Adam([w], lr=0.1)):
        (w * w).sum().backward()
        optimizer.step()
        optimizer.zero_grad()
    assert w.data is array and w.data.dtype == np.float32
    assert np.all(w.data < 1.0)


def test_parameters_without_grad_are_skipped():
    a = ag.tensor(np.ones(2), requires_grad=True)
    b = ag.tensor(np.ones(2), requires_grad=True)
    for optimizer in (SGD([a, b], lr=0.5, momentum=0.9, weight_decay=0.1), Adam([a, b], lr=0.5)):
        optimizer.zero_grad()
        (a * 3.0).sum().backward()
        optimizer.step()
        assert np.all(b.data == 1.0), type(optimizer).__name__  # weight decay must not move it
        assert np.all(a.data < 1.0)


def test_zero_grad_sets_none():
    w = ag.tensor(np.ones(2), requires_grad=True)
    optimizer = SGD([w], lr=0.1)
    (w * w).sum().backward()
    assert w.grad is not None
    optimizer.zero_grad()
    assert w.grad is None


def test_learning_rate_can_be_changed_between_steps():
    w = ag.tensor(np.array([0.0]), requires_grad=True)
    optimizer = SGD([w], lr=0.1)
    (w * 1.0).sum().backward()
    optimizer.step()
    optimizer.lr = 0.01
    optimizer.step()  # the same gradient again
    assert w.data[0] == pytest.approx(-0.11, abs=1e-15)


@pytest.mark.parametrize("make, message", [
    (lambda ps: SGD(ps, lr=-0.1), r"SGD: lr must be >= 0.0, got -0\.1"),
    (lambda ps: SGD(ps, lr=float("nan")), "lr must be a finite number"),
    (lambda ps: SGD(ps, lr="0.1"), "lr must be a finite number"),
    (lambda ps: SGD(ps, lr=0.1, momentum=-1), "momentum must be >= 0"),
    (lambda ps: SGD(ps, lr=0.1, weight_decay=-1), "weight_decay must be >= 0"),
    (lambda ps: SGD(ps, lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
    (lambda ps: Adam(ps, lr=-1), "Adam: lr must be >= 0"),
    (lambda ps: Adam(ps, betas=(0.9, 1.0)), r"betas\[1\] must be in \[0.0, 1.0\)"),
    (lambda ps: Adam(ps, betas=(-0.1, 0.9)), r"betas\[0\] must be in"),
    (lambda ps: Adam(ps, betas=0.9), "betas must be a pair"),
    (lambda ps: Adam(ps, eps=-1e-8), "eps must be >= 0"),
    (lambda ps: Adam(ps, weight_decay=-0.1), "weight_decay must be >= 0"),
])
def test_bad_hyperparameters_are_clear_errors(make, message):
    w = ag.tensor(np.ones(2), requires_grad=True)
    with pytest.raises((ValueError, TypeError), match=message):
        make([w])


def test_bad_parameter_lists_are_clear_errors():
    w = ag.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor.*\\[w\\]"):
        SGD(w, lr=0.1)
    with pytest.raises(TypeError, match=r"params\[1\] is a ndarray"):
        SGD([w, np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match=r"params\[0\].*multiply node.*leaf"):
        SGD([w * 2.0], lr=0.1)
    with pytest.raises(ValueError, match=r"params\[1\].*appears twice"):
        Adam([w, w])
    with pytest.raises(ValueError, match="requires_grad=False"):
        Adam([ag.tensor(np.ones(2))])


def test_optimizer_accepts_a_generator_of_parameters():
    ws = [ag.tensor(np.ones(2), requires_grad=True) for _ in range(3)]
    optimizer = Adam(w for w in ws)
    assert len(optimizer.params) == 3
    assert "Adam(3 parameters" in repr(optimizer)
