"""check_nodes: every recorded node's backwardPass against central differences of its own
forwardPass, on the arrays the node saw, to tell a learner WHICH node's backward is wrong.

For each node of the graph behind ``f`` and each input that takes a gradient, a fresh copy
of the node (``tape._fresh_copy``: same class and fixed parameters, nothing saved) runs
forwardPass on the inputs' arrays in float64, then backwardPass with a random upstream
gradient ``u``. What it sends to the input, ``g = J^T u``, is compared with central
differences of ``<u, forwardPass(x)>``:

* small inputs (at most ``ELEMENTWISE`` elements) element by element;
* larger ones along a few random directions ``v``: ``<v, g>`` against
  ``(<u, f(x + eps v)> - <u, f(x - eps v)>) / 2 eps``, so a CNN's graph on a batch is quick.

Where max, max-pool or ReLU switch (ties, zeros) the function has a kink, and differences
that step across one mean nothing. Each difference is also taken one-sided; when the two
sides disagree the direction crossed a kink, and it is taken again with the tied and zero
elements left out (an element at a kink is skipped in the elementwise check). A node whose
forwardPass gives other numbers on the same inputs (dropout drawing its own mask) is
reported as "not deterministic", not as wrong.

The recorded node, the graph and every ``.grad`` stay as they were: only copies run, the
engine's backprop never does, and random generators a node holds are put back as they were.
Each copy runs the kernels this thread has selected (``autograd.kernels``), its forward and
its backward alike: the fast kernels by default, the nodes' plain math under
``with autograd.kernels("reference"):``.
"""

import html

import numpy as np

from .tape import _describe, _fresh_copy, _outputs, _what_changed, graph_nodes, unbroadcast
from .tensor import Tensor

ELEMENTWISE = 16   # inputs with at most this many elements are checked element by element
DIRECTIONS = 3     # random directions for larger inputs
STATUSES = ("ok", "wrong", "not deterministic", "not checked")


class NodeCheck:
    """One (node, input) result of ``check_nodes``.

    node     the recorded Node; ``name`` its label ('conv #3', as diagrams and the stepper
             call it), ``seq`` its tape sequence number
    input    the input's position; ``slot`` the rules' name for it (x, w, ...)
    error    the largest |backwardPass - central differences| found (nan when not compared)
    ok       True when status is "ok"
    status   "ok", "wrong", "not deterministic" or "not checked"
    detail   a short text: how it was checked, or what went wrong
    """

    __slots__ = ("node", "name", "seq", "input", "slot", "error", "ok", "status", "detail")

    def __init__(self, node, input, status, error=float("nan"), detail=""):
        self.node, self.name, self.seq = node, f"{node.name} #{node._seq}", node._seq
        from .viz.graph import argument_names  # viz imports this module: not at the top
        self.input, self.slot = input, argument_names(node)[input]
        self.status, self.ok = status, status == "ok"
        self.error, self.detail = float(error), detail

    def __repr__(self):
        error = "" if np.isnan(self.error) else f", error {_number(self.error)}"
        return f"<NodeCheck {self.name} input {self.input} ({self.slot}): {self.status}{error}>"


class NodeChecks(list):
    """The results of ``check_nodes``, one ``NodeCheck`` per (node, input), in tape order.

    Prints as a table (and as an HTML table in Jupyter). ``wrong()`` lists the failures,
    ``for_node(node)`` one node's results, ``summary(node)`` its status and a line of text
    (what diagrams and the stepper show).
    """

    def wrong(self):
        """The results whose status is "wrong"."""
        return [check for check in self if check.status == "wrong"]

    def for_node(self, node):
        """The results for ``node`` (empty when it was not checked)."""
        return [check for check in self if check.node is node]

    def summary(self, node):
        """``(status, text)`` for a node: "wrong" if an input is wrong, "ok" if all are ok,
        else "not deterministic" or "not checked" (also when the node is not in the results)."""
        checks = self.for_node(node)
        if not checks:
            return "not checked", "check: not checked (not in these results)"
        for status in ("wrong", "not deterministic", "not checked"):
            bad = [check for check in checks if check.status == status]
            if not bad:
                continue
            if status != "wrong":
                return status, f"check: {status} ({bad[0].detail})"
            errors = [check.error for check in bad if not np.isnan(check.error)]
            error = f", error {_number(max(errors))}" if errors else ""
            slots = ", ".join(f"d{check.slot}" for check in bad)
            return status, f"check: WRONG{error} for {slots} ({bad[0].detail})"
        return "ok", f"check: ok (error {_number(max(c.error for c in checks))})"

    def _rows(self):
        return [(check.name, f"{check.input} {check.slot}", check.status,
                 "" if np.isnan(check.error) else _number(check.error), check.detail)
                for check in self]

    def __str__(self):
        header = ("node", "input", "status", "error", "detail")
        rows = self._rows()
        if not rows:
            return "check_nodes: no results"
        widths = [max(len(row[k]) for row in rows + [header]) for k in range(4)]
        lines = []
        for row in [header] + rows:
            lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths))
                         + "  " + row[4])
        wrong = len(self.wrong())
        lines.append(f"{len(self)} checks, {wrong or 'none'} wrong")
        return "\n".join(line.rstrip() for line in lines)

    __repr__ = __str__

    def _repr_html_(self):
        colours = {"ok": "#c8e6c9", "wrong": "#ffcdd2"}
        cells = "".join(f"<th style='text-align:left'>{h}</th>"
                        for h in ("node", "input", "status", "error", "detail"))
        body = []
        for check, row in zip(self, self._rows()):
            style = f" style='background:{colours.get(check.status, '#eeeeee')}'"
            body.append("<tr>" + "".join(
                f"<td{style if k == 2 else ''}>{html.escape(cell)}</td>"
                for k, cell in enumerate(row)) + "</tr>")
        return f"<table><tr>{cells}</tr>{''.join(body)}</table>"


def check_nodes(f, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check every recorded node of the graph behind ``f`` (a Tensor); see the module text.

    Returns a ``NodeChecks`` with one ``NodeCheck`` per (node, input that takes a gradient),
    in tape order. A result is ok when ``|backward - differences| <= atol + rtol·|differences|``.
    ``seed`` fixes the random upstream gradients and directions. Works before or after
    ``backward()`` and leaves every ``.grad`` and the graph unchanged.
    """
    if not isinstance(f, Tensor):
        raise TypeError(f"check_nodes: expected the output Tensor of a computation (the graph "
                        f"is read backwards from it), got {type(f).__name__}")
    nodes = graph_nodes(f)
    if not nodes:
        raise ValueError("check_nodes: no recorded node leads to this tensor (it is a leaf, or "
                         "was computed under no_grad() or from tensors that do not require "
                         "grad): there is nothing to check")
    _check_unchanged_inputs(f)
    nodes.reverse()  # tape order
    outputs = _outputs(f, nodes)
    results = NodeChecks()
    global_state = np.random.get_state()  # a node drawing from np.random must not shift it
    try:
        # the forward pass warned already where it meets inf or NaN; the copies are quiet
        with np.errstate(all="ignore"):
            for number, node in enumerate(nodes, start=1):
                rng = np.random.default_rng([seed, number])
                results += _NodeChecker(node, outputs[id(node)], rng, eps, atol, rtol).run()
    finally:
        np.random.set_state(global_state)
    return results


def _check_unchanged_inputs(f):
    """Refuse when an array a node kept was changed in place since the forward pass.

    The check recomputes each node from the arrays its input tensors hold, not from what
    the node saved, so it works after backward() released those (no need for
    retain_graph=True). That holds as long as the inputs are as they were: the engine's
    checksums of the outside arrays nodes kept (a parameter after an optimizer step) say."""
    for saved in f._holds or ():
        if saved.changed():
            what, how = _what_changed(saved)
            raise RuntimeError(
                f"check_nodes: {_describe(saved.node)} saw {what} as it was in the forward "
                f"pass, and that array {how} since (by an optimizer step, or an edit through "
                ".data): checked now, the node would be checked on other numbers. "
                "Call check_nodes before changing it (before optimizer.step()), or run the "
                "forward pass again and check the new graph")


class _NodeChecker:
    """The checks of one recorded node, each input that takes a gradient in turn."""

    def __init__(self, node, output, rng, eps, atol, rtol):
        self.node, self.output, self.rng = node, output, rng
        self.eps, self.atol, self.rtol = eps, atol, rtol
        self.arrays = [t.data.astype(np.float64) if t.data.dtype.kind == "f" else t.data
                       for t in node._inputs]
        needs = getattr(node, "needs_input_grad", None) or [True] * len(self.arrays)
        self.wanted = [i for i, t in enumerate(node._inputs) if t._requires_grad and needs[i]]

    def results(self, status, error=float("nan"), detail=""):
        return [NodeCheck(self.node, i, status, error, detail) for i in self.wanted]

    def run(self):
        generators = _generators(self.node)  # put back afterwards: a check draws no numbers
        try:
            return self._run()
        finally:
            for generator, state in generators:
                generator.bit_generator.state = state

    def forward(self, arrays):
        """A fresh copy of the node and its output on copies of ``arrays`` (float64)."""
        fresh = _fresh_copy(self.node)
        out = fresh.forwardPass(*[np.array(a, copy=True) for a in arrays])
        return fresh, np.asarray(out, dtype=np.float64)

    def _run(self):
        try:
            fresh, z = self.forward(self.arrays)
            _, again = self.forward(self.arrays)
        except Exception as error:  # a learner's node may raise anything: report it
            return self.results("not checked",
                                detail=f"forwardPass raised {type(error).__name__}: {error}")
        if z.shape != again.shape or not np.array_equal(z, again, equal_nan=True):
            return self.results(
                "not deterministic",
                detail="forwardPass gave other numbers on the same inputs (it draws random "
                       "numbers, as dropout does), so differences cannot check its backward; "
                       "make the randomness an input (a mask) to check it")
        if not np.isfinite(z).all():
            return self.results("not checked", detail="its output holds inf or NaN, where "
                                                      "differences mean nothing")
        recorded = self.output.data
        scale = float(np.max(np.abs(z))) if z.size else 1.0
        if z.shape != recorded.shape or not np.allclose(z, recorded, rtol=1e-3,
                                                        atol=1e-4 * max(scale, 1e-30)):
            return self.results(
                "not checked",
                detail="recomputed from its inputs it gives other values than it recorded: an "
                       "input changed after the forward pass? Run the forward pass again")
        upstream = self.rng.standard_normal(z.shape)
        try:
            grads = fresh.backwardPass(upstream)
        except Exception as error:
            return self.results("wrong",
                                detail=f"backwardPass raised {type(error).__name__}: {error}")
        if not isinstance(grads, (tuple, list)) or len(grads) != len(self.arrays):
            count = len(grads) if isinstance(grads, (tuple, list)) else type(grads).__name__
            return self.results("wrong", detail=f"backwardPass returned {count} gradients for "
                                                f"{len(self.arrays)} inputs; return one per input")
        self.base = float(np.sum(upstream * z))
        self.upstream = upstream
        return [self._check_input(i, grads[i]) for i in self.wanted]

    def _gradient(self, position, grad):
        """What backwardPass sent to input ``position`` as a float64 array of its shape, or
        a NodeCheck saying why it is wrong."""
        shape = self.arrays[position].shape
        if grad is None:
            return NodeCheck(self.node, position, "wrong", detail="backwardPass returned None "
                             "for an input that takes a gradient")
        grad = np.asarray(grad, dtype=np.float64)
        try:
            return unbroadcast(grad, shape, self.node, position)  # as the engine does
        except ValueError:
            return NodeCheck(self.node, position, "wrong",
                             detail=f"backwardPass returned shape {grad.shape} for an input of "
                                    f"shape {shape}")

    def _check_input(self, position, grad):
        grad = self._gradient(position, grad)
        if isinstance(grad, NodeCheck):
            return grad
        try:
            if self.arrays[position].size <= ELEMENTWISE:
                return self._elementwise(position, grad)
            return self._directional(position, grad)
        except Exception as error:  # forwardPass on perturbed inputs
            return NodeCheck(self.node, position, "not checked",
                             detail=f"forwardPass raised {type(error).__name__}: {error}")

    def _differences(self, position, direction):
        """Central and both one-sided differences of <u, f> along ``direction``."""
        x = self.arrays[position]
        values = []
        for sign in (1.0, -1.0):
            arrays = list(self.arrays)
            arrays[position] = x + sign * self.eps * direction
            values.append(float(np.sum(self.upstream * self.forward(arrays)[1])))
        plus, minus = values
        central = (plus - minus) / (2 * self.eps)
        if not np.isfinite(central):  # a step to where the output is inf or NaN: no use
            return central, True
        kink = abs((plus - self.base) - (self.base - minus)) / self.eps > self.tolerance(central)
        return central, kink

    def tolerance(self, expected):
        return self.atol + self.rtol * abs(expected)

    def _elementwise(self, position, grad):
        x = self.arrays[position]
        if x.size == 0:
            return NodeCheck(self.node, position, "ok", 0.0, "no elements")
        worst, skipped = 0.0, 0
        for index in np.ndindex(x.shape):
            direction = np.zeros_like(x)
            direction[index] = 1.0
            numeric, kink = self._differences(position, direction)
            if kink:
                skipped += 1
                continue
            error = abs(grad[index] - numeric)
            if not error <= self.tolerance(numeric):
                where = ", ".join(map(str, index))
                return NodeCheck(self.node, position, "wrong", error,
                                 f"element [{where}]: backwardPass {_number(grad[index])}, "
                                 f"differences {_number(numeric)}")
            worst = max(worst, error)
        if skipped == x.size:
            return NodeCheck(self.node, position, "not checked", detail=_KINK)
        checked = x.size - skipped
        detail = f"{checked} element{'s' if checked > 1 else ''}" + (
            f" ({skipped} at a kink skipped)" if skipped else "")
        return NodeCheck(self.node, position, "ok", worst, detail)

    def _directional(self, position, grad):
        x = self.arrays[position]
        masks = None  # made on the first kink: the elements away from zeros, then from ties too
        worst, done, masked = 0.0, 0, False
        for _ in range(DIRECTIONS):
            full = self.rng.standard_normal(x.shape)
            numeric, kink = self._differences(position, full)
            direction = full
            if kink:
                if masks is None:
                    masks = _away_from_kinks(x, self.arrays)
                for mask in masks:
                    direction, masked = np.where(mask, full, 0.0), True
                    numeric, kink = self._differences(position, direction)
                    if not kink:
                        break
                if kink:
                    continue
            analytic = float(np.sum(direction * grad))
            error = abs(analytic - numeric)
            if not error <= self.tolerance(numeric):
                return NodeCheck(self.node, position, "wrong", error,
                                 f"along a random direction: backwardPass gives "
                                 f"{_number(analytic)}, differences {_number(numeric)}")
            worst, done = max(worst, error), done + 1
        if not done:
            return NodeCheck(self.node, position, "not checked", detail=_KINK)
        detail = f"{done} random directions" + (" (ties and zeros left out)" if masked else "")
        return NodeCheck(self.node, position, "ok", worst, detail)


_KINK = ("at a kink in every direction tried (ties or zeros, where max, max-pool or ReLU "
         "switch; or a step to inf or NaN): differences cannot check it here")


def _away_from_kinks(x, arrays):
    """Masks of ``x`` for directions that avoid kinks: where it is not 0 (ReLU's kink, and
    max-pool's ties after a ReLU), then where it also equals no other element of the node's
    inputs (ties of max and max-pool). Empty masks are left out."""
    values = [np.ravel(a) for a in arrays if np.asarray(a).dtype.kind == "f"]
    unique, counts = np.unique(np.concatenate(values), return_counts=True)
    nonzero = x != 0
    untied = nonzero & ~np.isin(x, unique[counts > 1])
    return [mask for mask in (nonzero, untied) if mask.any()]


def _generators(node):
    """The random generators a node holds, with their states, to put back after the check."""
    found = []
    for value in list(getattr(node, "__dict__", {}).values()):
        if isinstance(value, np.random.Generator):
            found.append((value, value.bit_generator.state))
    return found


def _number(value):
    return f"{value:.3g}"


__all__ = ["check_nodes", "NodeCheck", "NodeChecks"]
