"""Optimizers: SGD (with momentum, Nesterov and weight decay), Adam and AdamW, with PyTorch's
update rules; learning-rate schedules StepLR and CosineAnnealingLR.

An optimizer holds the parameters it updates. ``step()`` changes each parameter's array
in place from its ``.grad`` (parameters whose ``.grad`` is None are skipped, as in
PyTorch); a graph built before the step and not yet backpropagated then refuses to be,
as its gradient would come from the new values. ``zero_grad()`` sets every ``.grad`` back
to None. Hyperparameters are plain attributes (``optimizer.lr = 0.01`` changes the
learning rate for the next step); a schedule changes ``optimizer.lr`` at each
``scheduler.step()``, as PyTorch's do (one learning rate: tapegrad has no parameter groups).
"""

import math
import types

import numpy as np

from .tensor import Tensor


def _check_number(owner, name, value, low=0.0, high=None, high_open=False):
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool) \
            or not math.isfinite(value):
        raise TypeError(f"{owner}: {name} must be a finite number, got {value!r}")
    if value < low or (high is not None and (value >= high if high_open else value > high)):
        bracket = ")" if high_open else "]"
        allowed = f">= {low}" if high is None else f"in [{low}, {high}{bracket}"
        raise ValueError(f"{owner}: {name} must be {allowed}, got {value!r}")
    return float(value)


class Optimizer:
    """Base class: keeps the parameter list and zeroes gradients; subclasses write ``step``."""

    def __init__(self, params):
        owner = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{owner}: params must be an iterable of parameters, got a single "
                            "Tensor; wrap it in a list: [w]")
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{owner}: got an empty parameter list; pass model.parameters() "
                             "of a model that has parameters")
        seen = set()
        for index, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{owner}: params[{index}] is a {type(p).__name__}, not a Tensor "
                                "or Parameter")
            if not p.is_leaf:
                raise ValueError(f"{owner}: params[{index}] (shape {p.shape}) was computed by a "
                                 f"{p.node.name} node; an optimizer updates leaf tensors only")
            if not p.requires_grad:
                raise ValueError(f"{owner}: params[{index}] (shape {p.shape}) has "
                                 "requires_grad=False, so it never gets a gradient to step with")
            if id(p) in seen:
                raise ValueError(f"{owner}: params[{index}] (shape {p.shape}) appears twice in "
                                 "the list; pass each parameter once")
            seen.add(id(p))
        self.state = {}  # id(parameter) -> that parameter's running statistics

    def zero_grad(self):
        """Set every parameter's ``.grad`` to None (the next backward starts from nothing)."""
        for p in self.params:
            p.grad = None

    def _grad(self, p, weight_decay):
        grad = p.grad
        if grad.shape != p.data.shape:
            raise ValueError(f"{type(self).__name__}.step: a parameter of shape {p.shape} has a "
                             f"gradient of shape {grad.shape}")
        return grad + weight_decay * p.data if weight_decay else grad

    def __repr__(self):
        settings = ", ".join(f"{k}={v}" for k, v in self.defaults().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {settings})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum, Nesterov momentum and L2 weight decay.

    With g = grad + weight_decay * p and a velocity buffer b (started at g on the first step):
        b = momentum * b + (1 - dampening) * g
        p = p - lr * (g + momentum * b)   (nesterov)   or   p = p - lr * b
    and with momentum = 0 simply p = p - lr * g. This is PyTorch's ``torch.optim.SGD``.
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0, nesterov=False, dampening=0.0):
        self.lr = _check_number("SGD", "lr", lr)
        self.momentum = _check_number("SGD", "momentum", momentum)
        self.weight_decay = _check_number("SGD", "weight_decay", weight_decay)
        self.dampening = _check_number("SGD", "dampening", dampening, high=1.0)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError(f"SGD: nesterov=True needs momentum > 0 and dampening = 0 (got "
                             f"momentum={momentum}, dampening={dampening})")
        super().__init__(params)

    def defaults(self):
        return dict(lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay,
                    nesterov=self.nesterov, dampening=self.dampening)

    def step(self):
        """Update every parameter that has a gradient, in place."""
        for p in self.params:
            if p.grad is None:
                continue
            g = self._grad(p, self.weight_decay)
            if self.momentum:
                buffer = self.state.get(id(p))
                if buffer is None:
                    buffer = np.array(g, dtype=p.data.dtype, copy=True)
                    self.state[id(p)] = buffer
                else:
                    buffer *= self.momentum
                    buffer += (1 - self.dampening) * g
                g = g + self.momentum * buffer if self.nesterov else buffer
            p.data -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), as PyTorch's ``torch.optim.Adam`` computes it.

    With g = grad + weight_decay * p (L2 decay, added to the gradient) at step t = 1, 2, ...:
        m = beta1 * m + (1 - beta1) * g            (m and v start at 0)
        v = beta2 * v + (1 - beta2) * g * g
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
    """

    decoupled = False  # AdamW: the decay shrinks p directly instead of joining the gradient

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        owner = type(self).__name__
        self.lr = _check_number(owner, "lr", lr)
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise TypeError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}") from None
        self.betas = (_check_number(owner, "betas[0]", beta1, high=1.0, high_open=True),
                      _check_number(owner, "betas[1]", beta2, high=1.0, high_open=True))
        self.eps = _check_number(owner, "eps", eps)
        self.weight_decay = _check_number(owner, "weight_decay", weight_decay)
        super().__init__(params)

    def defaults(self):
        return dict(lr=self.lr, betas=self.betas, eps=self.eps, weight_decay=self.weight_decay)

    def step(self):
        """Update every parameter that has a gradient, in place."""
        beta1, beta2 = self.betas
        for p in self.params:
            if p.grad is None:
                continue
            if self.decoupled:
                g = self._grad(p, 0.0)
                p.data *= 1 - self.lr * self.weight_decay
            else:
                g = self._grad(p, self.weight_decay)
            state = self.state.get(id(p))
            if state is None:
                state = self.state[id(p)] = {"step": 0, "m": np.zeros_like(p.data),
                                             "v": np.zeros_like(p.data)}
            state["step"] += 1
            t, m, v = state["step"], state["m"], state["v"]
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            step_size = self.lr / (1 - beta1 ** t)
            denominator = np.sqrt(v) / math.sqrt(1 - beta2 ** t) + self.eps
            p.data -= step_size * m / denominator


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019), as PyTorch's
    ``torch.optim.AdamW`` computes it: each step first shrinks the parameter,
        p = p - lr * weight_decay * p,
    then takes Adam's step on the gradient alone (no L2 term in g, so m and v see only the
    loss). The default weight_decay is 0.01, as in PyTorch.
    """

    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)


# ---------------------------------------------------------------- learning-rate schedules

class LRScheduler:
    """Base class of the schedules: ``step()`` (once per epoch, after the optimizer's steps)
    sets ``optimizer.lr`` to the next learning rate. Each rule is written, as in PyTorch, from
    the current learning rate to the next, so the numbers are PyTorch's to the last bit."""

    def __init__(self, optimizer):
        owner = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{owner}: expected an optimizer (SGD, Adam, AdamW), got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr  # the learning rate the schedule starts from
        self.last_epoch = 0  # how many times step() was called

    def step(self):
        """Move to the next epoch: set ``optimizer.lr`` to its learning rate."""
        self.last_epoch += 1
        self.optimizer.lr = self._next_lr(self.optimizer.lr)

    def get_last_lr(self):
        """[the learning rate now], a list as in PyTorch (one per parameter group)."""
        return [self.optimizer.lr]

    def __repr__(self):
        return (f"{type(self).__name__}(epoch {self.last_epoch}, lr={self.optimizer.lr:g}, "
                f"base_lr={self.base_lr:g})")


def _check_count(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer (a number of epochs), "
                         f"got {value!r}")
    return int(value)


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs:
    lr = base_lr * gamma ** (epoch // step_size)."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size = _check_count("StepLR", "step_size", step_size)
        self.gamma = _check_number("StepLR", "gamma", gamma)
        super().__init__(optimizer)

    def _next_lr(self, lr):
        return lr * self.gamma if self.last_epoch % self.step_size == 0 else lr


class CosineAnnealingLR(LRScheduler):
    """The learning rate follows half a cosine from base_lr down to ``eta_min`` over ``T_max``
    epochs (and back up over the next T_max, as in PyTorch):
        lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2
    """

    def __init__(self, optimizer, T_max, eta_min=0.0):
        self.T_max = _check_count("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = _check_number("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(optimizer)

    def _next_lr(self, lr):
        epoch, period, low = self.last_epoch, self.T_max, self.eta_min
        if (epoch - 1 - period) % (2 * period) == 0:  # leaving the bottom: the ratio below is 0/0
            return lr + (self.base_lr - low) * (1 - math.cos(math.pi / period)) / 2
        return ((1 + math.cos(math.pi * epoch / period))
                / (1 + math.cos(math.pi * (epoch - 1) / period)) * (lr - low) + low)


# PyTorch's spelling: optim.lr_scheduler.StepLR
lr_scheduler = types.SimpleNamespace(LRScheduler=LRScheduler, StepLR=StepLR,
                                     CosineAnnealingLR=CosineAnnealingLR)
