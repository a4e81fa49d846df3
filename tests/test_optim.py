"""SGD, Adam and AdamW: PyTorch's update rules step for step, skipping, zeroing and argument
checks; the learning-rate schedules against PyTorch's, epoch by epoch."""

import numpy as np
import pytest

import autograd as ag
from autograd import optim
from autograd.optim import SGD, Adam, AdamW, CosineAnnealingLR, StepLR


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


def torch_quadratic_loss(torch, params, targets):
    """quadratic_loss in PyTorch."""
    total = None
    for p, t in zip(params, targets):
        scale = torch.tensor(np.linspace(0.5, 1.5, t.size).reshape(t.shape))
        t = torch.tensor(t)
        term = ((p - t) * (p - t) * scale).sum() + torch.tanh(p * 3.0).sum()
        total = term if total is None else total + term
    return total


def run_torch(torch, make_optimizer, starts, targets, steps):
    params = [torch.tensor(s.copy(), requires_grad=True) for s in starts]
    optimizer = make_optimizer(params)
    history = []
    for _ in range(steps):
        optimizer.zero_grad()
        torch_quadratic_loss(torch, params, targets).backward()
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


ADAMW_SETTINGS = [
    dict(),                                    # weight_decay 0.01 by default
    dict(lr=0.05, weight_decay=0.1),
    dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.5),
    dict(lr=0.1, weight_decay=0.0),            # plain Adam then
]


@pytest.mark.parametrize("settings", ADAMW_SETTINGS, ids=str)
def test_adamw_matches_pytorch_for_several_steps(settings):
    torch = pytest.importorskip("torch")
    starts, targets = problem(2)
    ours = run_ours(lambda ps: AdamW(ps, **settings), starts, targets, steps=6)
    theirs = run_torch(torch, lambda ps: torch.optim.AdamW(ps, **settings), starts, targets, steps=6)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for p, q in zip(a, b):
            np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-12, err_msg=f"step {step + 1}")


def test_adamw_decay_is_decoupled_from_the_gradient():
    """A zero gradient: AdamW only shrinks p by lr * weight_decay; Adam's L2 decay instead
    becomes the gradient and moves p by about lr (its normalised step)."""
    for make, expected in ((AdamW, 2.0 * (1 - 0.1 * 0.5)), (Adam, 2.0 - 0.1)):
        w = ag.tensor(np.array([2.0]), requires_grad=True)
        optimizer = make([w], lr=0.1, weight_decay=0.5)
        (w * 0.0).sum().backward()
        optimizer.step()
        assert w.data[0] == pytest.approx(expected, abs=1e-7), make.__name__
    assert AdamW([w]).weight_decay == 0.01
    with pytest.raises(ValueError, match="AdamW: weight_decay must be >= 0"):
        AdamW([w], weight_decay=-1)


SCHEDULES = [
    (lambda o: StepLR(o, step_size=3), lambda t, o: t.optim.lr_scheduler.StepLR(o, step_size=3)),
    (lambda o: StepLR(o, 2, gamma=0.5), lambda t, o: t.optim.lr_scheduler.StepLR(o, 2, gamma=0.5)),
    (lambda o: CosineAnnealingLR(o, T_max=5),
     lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5)),
    (lambda o: CosineAnnealingLR(o, 4, eta_min=0.01),   # past T_max: back up, then down again
     lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(o, 4, eta_min=0.01)),
    (lambda o: CosineAnnealingLR(o, 1), lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(o, 1)),
]


@pytest.mark.parametrize("ours, theirs", SCHEDULES)
@pytest.mark.parametrize("optimizer", ["SGD", "AdamW"])
def test_schedules_match_pytorch_epoch_by_epoch(ours, theirs, optimizer):
    """13 epochs of two optimizer steps each, then scheduler.step(): the learning rate is
    PyTorch's exactly, and so are the parameters."""
    torch = pytest.importorskip("torch")
    starts, targets = problem(3)
    settings = dict(lr=0.1, momentum=0.9) if optimizer == "SGD" else dict(lr=0.05)
    mine = [ag.tensor(s.copy(), requires_grad=True) for s in starts]
    reference = [torch.tensor(s.copy(), requires_grad=True) for s in starts]
    our_optimizer = getattr(optim, optimizer)(mine, **settings)
    their_optimizer = getattr(torch.optim, optimizer)(reference, **settings)
    our_schedule, their_schedule = ours(our_optimizer), theirs(torch, their_optimizer)
    rates = set()
    for epoch in range(13):
        for _ in range(2):
            our_optimizer.zero_grad()
            quadratic_loss(mine, targets).backward()
            our_optimizer.step()
            their_optimizer.zero_grad()
            torch_quadratic_loss(torch, reference, targets).backward()
            their_optimizer.step()
        our_schedule.step()
        their_schedule.step()
        assert our_schedule.get_last_lr() == their_schedule.get_last_lr()  # bit for bit
        assert our_optimizer.lr == their_optimizer.param_groups[0]["lr"]
        rates.add(our_optimizer.lr)
        for p, q in zip(mine, reference):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12, atol=1e-12,
                                       err_msg=f"epoch {epoch + 1}")
    assert len(rates) > 1  # the rate did change


def test_schedules_by_hand():
    w = ag.tensor(np.ones(2), requires_grad=True)
    optimizer = SGD([w], lr=1.0)
    schedule = StepLR(optimizer, step_size=2, gamma=0.1)
    lrs = []
    for _ in range(5):
        schedule.step()
        lrs.append(optimizer.lr)
    assert lrs == pytest.approx([1.0, 0.1, 0.1, 0.01, 0.01])
    optimizer = SGD([w], lr=1.0)
    schedule = CosineAnnealingLR(optimizer, T_max=4)
    lrs = []
    for _ in range(8):
        schedule.step()
        lrs.append(optimizer.lr)
    closed = [(1 + np.cos(np.pi * t / 4)) / 2 for t in range(1, 9)]  # the half cosine and back
    np.testing.assert_allclose(lrs, closed, atol=1e-15)
    assert schedule.last_epoch == 8 and schedule.get_last_lr() == [optimizer.lr]
    assert optim.lr_scheduler.StepLR is StepLR  # PyTorch's spelling works too
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive integer"):
        StepLR(optimizer, 0)
    with pytest.raises(ValueError, match="CosineAnnealingLR: T_max must be a positive integer"):
        CosineAnnealingLR(optimizer, 2.5)
    with pytest.raises(TypeError, match="StepLR: expected an optimizer"):
        StepLR([w], 2)


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
