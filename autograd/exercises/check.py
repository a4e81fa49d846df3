"""How an exercise checks a learner's backwardPass and words its verdict.

An ``Exercise`` holds a forward pass (``given``), the rule to derive, its cases (small
first, then the awkward ones) and the mistakes learners make, each a wrong
``backwardPass`` with the rule it misses. ``check`` runs the learner's backward pass on
every case, compares each input's gradient with the built-in op's (through the engine,
in float64), and stops at the first case that is wrong. A wrong answer is compared with
each known mistake on that case, so the verdict can name the rule probably missed.
"""

import os
import traceback
from dataclasses import dataclass, field

import numpy as np

from nodes import Node

from ..tensor import tensor as make_tensor
from ..tape import apply, broadcast_axes
from .given import NOT_WRITTEN

HERE = os.path.dirname(os.path.abspath(__file__))
RTOL, ATOL = 1e-6, 1e-9


@dataclass
class Case:
    """One check: the inputs (name -> array, in the node's input order), the fixed
    parameters given to the node's ``__init__``, and the gradient ``dz`` that arrives."""
    label: str
    inputs: dict
    dz: np.ndarray
    params: dict = field(default_factory=dict)

    def __str__(self):
        shapes = ", ".join(f"{name} {np.shape(value)}" for name, value in self.inputs.items())
        return f"{self.label}: {shapes}"


@dataclass
class Mistake:
    """A wrong ``backwardPass`` learners write, and the rule it misses."""
    rule: str
    backwardPass: object


def _is_close(given, expected):
    return np.isclose(given, expected, rtol=RTOL, atol=ATOL)


def _broadcasts(shape, out_shape):
    """Whether an input of ``shape`` broadcasts to the output's ``out_shape``."""
    return broadcast_axes(tuple(out_shape), tuple(shape)) is not None


def _to_shape(grad, shape, out_shape):
    """A gradient as an array of the input's ``shape`` (one of the broadcast output shape is
    summed back, as the engine does), or None when it is neither. Stricter than the
    engine's ``unbroadcast``: the output's own shape, or the input's, nothing between."""
    if grad.shape == tuple(shape):
        return grad
    axes = broadcast_axes(tuple(out_shape), tuple(shape))
    if grad.shape != tuple(out_shape) or axes is None:
        return None
    return grad.sum(axis=axes).reshape(shape)


def _your_line(error):
    """'line 3: return dz * self.y' from the innermost frame of the learner's own code."""
    frames = traceback.extract_tb(error.__traceback__)
    yours = [f for f in frames if not os.path.abspath(f.filename).startswith(HERE)
             and os.sep + "numpy" + os.sep not in f.filename]
    if not yours:
        return ""
    frame = yours[-1]
    if not frame.line:
        return f" (line {frame.lineno})"
    return f" (line {frame.lineno}: {frame.line.strip()})"


def _arrays(grads, names):
    """What a backwardPass returned, as a list of arrays (None where it gave None) for the
    inputs ``names``; or a problem, as text."""
    count = len(names)
    if isinstance(grads, np.ndarray) or not isinstance(grads, (tuple, list)):
        wanted = "(" + ", ".join(f"d{name}" for name in names) + (",)" if count == 1 else ")")
        return None, (f"backwardPass must return a tuple with one gradient per input, "
                      f"{wanted} here, but returned a {type(grads).__name__}")
    if len(grads) != count:
        return None, (f"backwardPass returned {len(grads)} gradient"
                      f"{'' if len(grads) == 1 else 's'} for {count} input"
                      f"{'' if count == 1 else 's'}: return one per input, in order")
    arrays = []
    for grad in grads:
        if grad is None:
            arrays.append(None)
            continue
        try:
            array = np.asarray(grad)
        except (TypeError, ValueError):
            array = None
        if array is None or array.dtype.kind not in "biuf":
            of = f" of {array.dtype}" if array is not None else ""
            return None, f"a gradient must be an array of numbers, got {type(grad).__name__}{of}"
        arrays.append(array.astype(float))
    return arrays, None


class Verdict:
    """What ``Exercise.check`` found: ``ok``, and when wrong the case, the input, the first
    wrong element (``index``, ``expected``, ``given``) and the rule probably missed.
    ``str(verdict)`` is the text; ``verdict.draw()`` draws the case with the node marked."""

    def __init__(self, exercise, ok, message, case=None, input=None, index=None, expected=None,
                 given=None, rule=None, node_class=None, grads=None):
        self.exercise, self.ok, self.message = exercise, ok, message
        self.case, self.input, self.index = case, input, index
        self.expected, self.given, self.rule = expected, given, rule
        self.node_class, self.grads = node_class, grads

    def __str__(self):
        return self.message

    def __repr__(self):
        return f"<Verdict {'right' if self.ok else 'wrong'}: {self.message.splitlines()[0]}>"

    def _repr_pretty_(self, printer, cycle):  # IPython shows the text, not the repr
        printer.text(self.message)

    def __bool__(self):
        return self.ok

    def draw(self, **options):
        """The case that failed (the last one when all passed) as a diagram: the node drawn
        emphasised, dz on its output and, in red, the gradients your backwardPass gave."""
        from ..viz import draw
        case = self.case if self.case is not None else self.exercise.cases[-1]
        node_class = self.node_class if self.node_class is not None else self.exercise.given
        leaves = [make_tensor(value, requires_grad=True, name=name)
                  for name, value in case.inputs.items()]
        try:
            node = node_class(**case.params)
            output = apply(node, *leaves)
        except Exception:  # a broken __init__ or forwardPass of yours: draw the given one
            node = self.exercise.given(**case.params)
            output = apply(node, *leaves)
        output.name = "z"
        grads = {output: case.dz}
        for leaf, grad in zip(leaves, self.grads or ()):
            if grad is not None:
                grads[leaf] = grad
        return draw(output, highlight=node, grads=grads, **options)


class Exercise:
    """One primitive to write the backward pass of.

    ``print(exercise)`` shows the forward pass and the rule to derive;
    ``exercise.Node`` is the forward pass to subclass; ``exercise.check(answer)`` takes your
    subclass, or a function ``backwardPass(self, dz)``, and returns a ``Verdict``.
    """

    def __init__(self, name, given, task, rules, reference, cases, mistakes):
        self.name, self.given, self.task, self.rules = name, given, task, rules
        self.reference, self.cases, self.mistakes = reference, cases, mistakes
        self._expected = {}

    @property
    def Node(self):
        return self.given

    def __str__(self):
        return self.task

    def __repr__(self):
        return f"<Exercise {self.name}: {self.task.splitlines()[0]}>"

    def _repr_pretty_(self, printer, cycle):
        printer.text(self.task)

    def expected(self, index):
        """(output, gradients) of the built-in op on case ``index``, through the engine."""
        if index not in self._expected:
            case = self.cases[index]
            leaves = [make_tensor(np.array(value, dtype=float), requires_grad=True)
                      for value in case.inputs.values()]
            output = self.reference(*leaves, **case.params)
            output.backward(case.dz)
            self._expected[index] = (output.data, [leaf.grad for leaf in leaves])
        return self._expected[index]

    def _node_class(self, answer):
        if isinstance(answer, type) and issubclass(answer, Node):
            return answer
        if callable(answer):
            return type(f"Your{self.given.__name__}", (self.given,), {"backwardPass": answer})
        return None

    def check(self, answer):
        """Run ``answer`` (a subclass of ``self.Node``, or a function ``backwardPass(self, dz)``)
        on every case, small ones first; return the ``Verdict``."""
        node_class = self._node_class(answer)
        if node_class is None:
            return Verdict(self, False, f"{self.name}: check takes your backwardPass function "
                           f"or a subclass of exercises.{self.name}.Node, got "
                           f"{type(answer).__name__}")
        for index in range(len(self.cases)):
            grads = self._check_case(node_class, index)
            if isinstance(grads, Verdict):
                return grads
        return Verdict(self, True, f"{self.name}: right on all {len(self.cases)} cases: "
                       + "; ".join(case.label for case in self.cases) + ".",
                       node_class=node_class, grads=grads)  # the last case's, to draw

    def _where(self, index):
        return f"case {index + 1} of {len(self.cases)} ({self.cases[index]})"

    def _run(self, node_class, case):
        """Make the node, run its forward pass on copies of the case's inputs; (node, output)."""
        node = node_class(**case.params)
        copies = [np.array(value, dtype=float) for value in case.inputs.values()]
        return node, node.forwardPass(*copies)

    def _check_case(self, node_class, index):
        """The Verdict when case ``index`` is wrong; the gradients, in the inputs' shapes,
        when it is right."""
        case, names = self.cases[index], list(self.cases[index].inputs)
        head = f"{self.name}: wrong on {self._where(index)}"
        wrong = dict(node_class=node_class, case=case)
        expected_output, expected_grads = self.expected(index)
        try:
            node, output = self._run(node_class, case)
        except Exception as error:
            return Verdict(self, False, f"{head}: making the node or its forwardPass raised "
                           f"{type(error).__name__}: {error}{_your_line(error)}. Keep the given "
                           f"forwardPass: subclass exercises.{self.name}.Node and write "
                           "backwardPass only.", **wrong)
        output = np.asarray(output, dtype=float)
        if output.shape != expected_output.shape or not _is_close(output, expected_output).all():
            return Verdict(self, False, f"{head}: forwardPass gives a different output from the "
                           f"exercise's; keep the given forwardPass and write backwardPass only.",
                           **wrong)
        try:
            grads = node.backwardPass(np.array(case.dz))
        except NotImplementedError as error:
            if str(error) == NOT_WRITTEN:
                return Verdict(self, False, f"{self.name}: not written yet: your backwardPass "
                               f"raises NotImplementedError(\"{NOT_WRITTEN}\"); write it and "
                               "run the check again.", **wrong)
            return self._raised(head, error, index, wrong)
        except Exception as error:
            return self._raised(head, error, index, wrong)
        arrays, problem = _arrays(grads, names)
        if problem:
            return Verdict(self, False, f"{head}: {problem}.", **wrong)
        shaped = [None if a is None else _to_shape(a, np.shape(case.inputs[n]), output.shape)
                  for a, n in zip(arrays, names)]
        wrong["grads"] = shaped
        for position, name in enumerate(names):
            verdict = self._compare(head, index, position, name, arrays, shaped[position],
                                    expected_grads[position], output.shape, wrong)
            if verdict is not None:
                return verdict
        return shaped

    def _compare(self, head, index, position, name, arrays, given, expected, out_shape, wrong):
        """A verdict when the gradient for input ``position`` (``name``) is missing, of a
        wrong shape or wrong somewhere; None when it is right."""
        shape, raw = np.shape(self.cases[index].inputs[name]), arrays[position]
        wrong = dict(wrong, input=name, expected=expected)
        if raw is None or given is None:
            rule = self._probable(index, position, arrays)
            if raw is None:
                problem = (f"d{name} is None, but {name} takes a gradient: return an array of "
                           f"{name}'s shape {shape}")
            else:
                also = ""
                if tuple(shape) != tuple(out_shape) and _broadcasts(shape, out_shape):
                    also = (f" (or the output's shape {out_shape}: the engine sums a broadcast "
                            "input's gradient back)")
                problem = (f"d{name} has shape {raw.shape}, but {name} has shape {shape}: return "
                           f"d{name} in {name}'s shape{also}")
            return Verdict(self, False, f"{head}: {problem}. {self._hint(rule)}", given=raw,
                           rule=rule, **wrong)
        bad = ~_is_close(given, expected)
        if not bad.any():
            return None
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        element = f"d{name}[{', '.join(map(str, where))}]" if where else f"d{name}"
        count = ""
        if bad.size > 1:
            count = f" ({int(bad.sum())} of {bad.size} elements of d{name} differ)"
        nans = int(np.isnan(given).sum())
        if nans:
            count += f" ({nans} NaN in d{name}: a 0/0, inf - inf or log of 0 in backwardPass)"
        rule = self._probable(index, position, arrays)
        wrong.update(index=where, expected=expected[where], given=given[where])
        return Verdict(self, False, f"{head}: {element} is {given[where]:.6g}, expected "
                       f"{expected[where]:.6g}{count}. {self._hint(rule)}", rule=rule, **wrong)

    def _raised(self, head, error, index, wrong):
        rule = self._probable(index, None, error)
        return Verdict(self, False, f"{head}: your backwardPass raised {type(error).__name__}: "
                       f"{error}{_your_line(error)}. {self._hint(rule)}", rule=rule, **wrong)

    def _hint(self, rule):
        if rule:
            return f"Rule probably missed: {rule}."
        return "The rule to check it against: " + "; ".join(self.rules) + "."

    def _probable(self, index, position, given):
        """The rule of the known mistake that gives what the learner gave on this case: the
        same exception (``given`` an exception), or the same gradients (``given`` the arrays
        the learner returned): the first mistake that gives them all, else the first that
        gives the one for input ``position``, else the first whose gradient for it has the
        same wrong shape, else None."""
        case = self.cases[index]
        shapes = [np.shape(value) for value in case.inputs.values()]
        partial = same_shape = None
        for mistake in self.mistakes:
            try:
                node, output = self._run(self.given, case)
                theirs = mistake.backwardPass(node, np.array(case.dz))
            except Exception as error:
                if (isinstance(given, Exception) and type(error) is type(given)
                        and str(error) == str(given)):
                    return mistake.rule
                continue
            if isinstance(given, Exception):
                continue
            arrays, problem = _arrays(theirs, list(case.inputs))
            if problem:
                continue
            same = [_same(a, b, shape, np.shape(output))
                    for a, b, shape in zip(arrays, given, shapes)]
            if all(same):
                return mistake.rule
            if same[position] and partial is None:
                partial = mistake.rule
            mine, yours = arrays[position], given[position]
            if (same_shape is None and mine is not None and yours is not None
                    and mine.shape == yours.shape != shapes[position]
                    and _to_shape(yours, shapes[position], np.shape(output)) is None):
                same_shape = mistake.rule
        return partial or same_shape


def _same(mine, yours, shape, out_shape):
    """Whether two gradients for an input of ``shape`` agree (compared in the input's shape
    where both can be brought to it, else as given)."""
    if mine is None or yours is None:
        return mine is None and yours is None
    both = _to_shape(mine, shape, out_shape), _to_shape(yours, shape, out_shape)
    if both[0] is not None and both[1] is not None:
        mine, yours = both
    return mine.shape == yours.shape and bool(_is_close(yours, mine).all())
