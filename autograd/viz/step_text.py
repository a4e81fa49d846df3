"""A stepper's step as text: the chain rule's local rules with the actual numbers put in.

``show(array)`` writes a small array's values, or a large one's shape and min/mean/max.
The rest reads the node's rules (``node.rules``, 'dx = y * dz') and its one-line math
docstring ('z = x * y') and fills the numbers in: ``dx = y * dz = -4.0 * 2.0 = -8.0``.
A rule written in words, or per element ('dx[i] += ...'), is shown as written, then the
result. These functions only read a step (``autograd.viz.stepper.Step``, ``ForwardStep``);
they never touch the graph.
"""

import functools
import math
import re

import numpy as np

SMALL = 16  # arrays with at most this many elements are written out, larger ones summarised

# Words a rule may contain and still be read as arithmetic we can fill numbers into.
_FUNCTIONS = frozenset({"exp", "log", "tanh", "max", "min", "sqrt", "abs", "sum", "Σ",
                        "elementwise"})
# A symbol in a rule that stands for a fixed parameter of the node, and where the node keeps it.
_PARAMETERS = {"p": "exponent"}
_LETTERS = re.compile(r"[^\W\d_]+")


# ---------------------------------------------------------------- numbers as text

def _number(value):
    """One number, rounded to 4 significant digits, written as Python writes floats."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    return repr(float(f"{value:.4g}"))


def _written_out(array):
    """A small array's values: ``3.0``, ``[1.0, -2.0]``, ``[[1.0, 2.0], [3.0, 4.0]]``."""
    array = np.asarray(array)
    if array.ndim == 0:
        return _number(array.item())
    if array.ndim == 1:
        return "[" + ", ".join(_number(v) for v in array.tolist()) + "]"
    return "[" + ", ".join(_written_out(row) for row in array) + "]"  # depth = ndim, not the graph


def _shape(array):
    shape = np.shape(array)
    return "⟨" + "×".join(str(n) for n in shape) + "⟩" if shape else "⟨scalar⟩"


def _summary(array):
    array = np.asarray(array)
    if array.size == 0:
        return f"{_shape(array)} (empty)"
    if array.dtype.kind == "b":
        return f"{_shape(array)} ({int(array.sum())} of {array.size} true)"
    return (f"{_shape(array)} (min {_number(array.min())}, mean {_number(array.mean())}, "
            f"max {_number(array.max())})")


def show(array):
    """The values of a small array, or its shape and min/mean/max when it is large."""
    array = np.asarray(array)
    return _written_out(array) if array.size <= SMALL else _summary(array)


def operand(array):
    """An array inside a formula: its values when small, else just its shape."""
    array = np.asarray(array)
    return _written_out(array) if array.size <= SMALL else _shape(array)


# ---------------------------------------------------------------- rules with numbers

def input_names(node):
    """The symbols of the node's inputs, read from its rules ('dx = ...' names x)."""
    return _names_from_rules(tuple(node.rules), len(node._inputs))


@functools.lru_cache(maxsize=256)
def _names_from_rules(rules, count):
    names = []
    for rule in rules[:count]:
        match = re.match(r"\s*d([^\W\d_]\w*)\s*(?:\[[^\]]*\])?\s*\+?=", rule)
        names.append(match.group(1) if match else None)
    defaults = {1: ("x",), 2: ("x", "y")}.get(count) or tuple(f"x{i}" for i in range(count))
    names += [None] * (count - len(names))
    names = [name or defaults[i] for i, name in enumerate(names)]
    if len(set(names)) != count or {"z", "dz"} & set(names):
        names = list(defaults)
    return tuple(names)


def _split_rule(rule):
    """'dx = y * dz' -> ('dx', 'y * dz'); a rule without '=' is all right-hand side."""
    if "=" in rule:
        lhs, rhs = rule.split("=", 1)
        if re.fullmatch(r"\s*d[^\W\d_]\w*\s*", lhs):
            return lhs.strip(), rhs.strip()
    return None, rule.strip()


def _fill(rhs, values):
    """The formula with values put in for its symbols (None when it is words, not arithmetic),
    and the shapes of the arrays put in (to tell when broadcasting was undone)."""
    words = _LETTERS.findall(rhs.replace("ᵀ", ""))
    if not values or not words or any(w not in values and w not in _FUNCTIONS for w in words):
        return None, ()
    symbols = sorted(values, key=len, reverse=True)  # 'dz' before 'z'
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(s) for s in symbols) + r")(?=ᵀ|\W|$)")
    shapes = []

    def put(match):
        value = values[match.group(1)]
        shapes.append(np.shape(value))
        return operand(value)

    return pattern.sub(put, rhs), tuple(shapes)


def _equation(lhs, rhs, values, result):
    """'dx = y * dz = -4.0 * 2.0 = -8.0': the rule, the rule with numbers, the result."""
    result = np.asarray(result)
    shown = show(result)
    filled, shapes = _fill(rhs, values)
    parts = [f"{lhs} = {rhs}" if lhs else rhs]
    if filled is not None and filled not in (rhs, shown, operand(result)):
        note = ""
        if "@" not in rhs and shapes:
            try:
                if tuple(np.broadcast_shapes(*shapes)) != result.shape:
                    note = f", summed to shape {result.shape}"
            except ValueError:
                pass
        parts.append(filled + note)
    if shown != rhs:
        parts.append(shown)
    return " = ".join(parts)


def _forward_rule(node):
    """The node's one-line math docstring 'z = x * y' as ('z', 'x * y'), or None."""
    doc = (type(node).__doc__ or "").strip().splitlines()
    if not doc:
        return None
    match = re.match(r"\s*(z(?:\[[^\]]*\])?)\s*=\s*(.+)", doc[0])
    if not match:
        return None
    return match.group(1), match.group(2).split(";")[0].strip().rstrip(".")


def _layer_text(node):
    scope = getattr(node, "_scope", None)
    if scope is None:
        return ""
    words = " ".join(w for w in (scope.path, scope.kind) if w)
    return f" ({words})" if words else ""


# ---------------------------------------------------------------- a step as text

def _heading(view):
    return f"{view.label}{_layer_text(view.node)}"


def _inputs_line(view):
    return "inputs: " + ", ".join(f"{n}: {label}" for n, label in zip(view.names, view.labels))


def _values(view):
    """The symbols of the rules and their arrays: inputs, and fixed parameters such as p."""
    values = {name: t.data for name, t in zip(view.names, view.inputs)}
    for symbol, attribute in _PARAMETERS.items():
        if symbol not in values and hasattr(view.node, attribute):
            values[symbol] = getattr(view.node, attribute)
    return values


def equations(step):
    """One line per input of a backward step: the local rule, with the numbers, and what was sent."""
    values = _values(step)
    values["z"] = step.output.data
    values["dz"] = step.upstream
    lines = []
    for i, (name, tensor, grad) in enumerate(zip(step.names, step.inputs, step.grads)):
        if grad is None:
            lines.append(f"{name} is a constant" if not tensor.requires_grad
                         else f"no gradient to {name}")
        elif i >= len(step.rules):
            lines.append(f"d{name} = {show(grad)}")
        else:
            lhs, rhs = _split_rule(step.rules[i])
            if lhs is None:  # written per element ('dx[i] += ...'): the rule, then the result
                lines.append(f"{step.rules[i]}, so d{name} = {show(grad)}")
            else:
                lines.append(_equation(lhs, rhs, values, grad))
    return lines


def step_line(step):
    """'multiply #3: dz = 2.0 arrived; dx = y * dz = -4.0 * 2.0 = -8.0; dy = ...'"""
    return "; ".join([f"{_heading(step)}: dz = {show(step.upstream)} arrived"]
                     + equations(step))


def step_lines(step):
    """Several lines for a notebook or a page: inputs, rules with numbers, finality."""
    forward = _forward_rule(step.node)
    lines = [_heading(step) + (": {} = {}".format(*forward) if forward else ""),
             _inputs_line(step),
             f"dz = {show(step.upstream)} arrived"]
    labels = step.labels
    for i, equation in enumerate(equations(step)):
        if step.final[i] is None:
            lines.append(equation)
        elif step.final[i]:
            lines.append(f"{equation}   → {labels[i]}: final")
        else:
            waits = ", ".join(step.waiting[i])
            lines.append(f"{equation}   → {labels[i]}: waits for {waits}")
    return "\n".join(lines)


def forward_line(view):
    """'multiply #3: z = x * y = 3.0 * -4.0 = -12.0'"""
    lhs, rhs = _forward_rule(view.node) or ("z", f"{view.op}({', '.join(view.names)})")
    values = _values(view) if lhs == "z" else {}  # 'z[i, j] = ...': no numbers to put in
    return f"{_heading(view)}: " + _equation(lhs, rhs, values, view.output.data)


def forward_lines(view):
    """The forward line, then the node's inputs."""
    return f"{forward_line(view)}\n{_inputs_line(view)}"


def start_text(initial_grad):
    """What the first backward frame says, before any node has run."""
    return (f"backprop starts at the output: dz = {show(initial_grad)}\n"
            "each step runs one node's backwardPass, from the last node on the tape back to "
            "the first")
