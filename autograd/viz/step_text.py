"""A stepper's step as text: the chain rule's local rules with the actual numbers put in.

``show(array)`` writes a small array's values, or a large one's shape and min/mean/max.
The rest reads the node's rules (``node.rules``, 'dx = y * dz') and its one-line math
docstring ('z = x * y'), writes them with the learner's names for the tensors that have
one ('dW1 = dz @ xᵀ' for ``W1 @ x``), and fills the numbers in: ``dx = y * dz = -4.0 * 2.0
= -8.0``. A rule written in words, or per element ('dx[i] += ...'), is shown as written,
then ", so" and the result; a fixed parameter of the node (the slope a of a leaky ReLU) is
given apart, in parentheses, never next to a value. These functions only read a step
(``autograd.viz.stepper.Step``, ``ForwardStep``); they never touch the graph.
"""

import functools
import re

import numpy as np

from .numbers import number, written_out

SMALL = 16  # arrays with at most this many elements are written out, larger ones summarised

# Words a rule may contain and still be read as arithmetic we can fill numbers into.
_FUNCTIONS = frozenset({"exp", "log", "tanh", "max", "min", "sqrt", "abs", "sum", "Σ",
                        "elementwise", "sin", "cos", "sign"})
_LETTERS = re.compile(r"[^\W\d_]+")
# "for a fixed slope a": the node keeps the value of the symbol a in its attribute slope.
_FIXED = re.compile(r"\bfixed (\w+) ([^\W\d_]\w*)")
PRIME = "′"  # x′: an unnamed input whose slot name is also a learner's name in the graph


# ---------------------------------------------------------------- numbers as text

def _shape(array):
    shape = np.shape(array)
    return "⟨" + "×".join(str(n) for n in shape) + "⟩" if shape else "⟨scalar⟩"


def _summary(array):
    array = np.asarray(array)
    if array.size == 0:
        return f"{_shape(array)} (empty)"
    if array.dtype.kind == "b":
        return f"{_shape(array)} ({int(array.sum())} of {array.size} true)"
    return (f"{_shape(array)} (min {number(array.min())}, mean {number(array.mean())}, "
            f"max {number(array.max())})")


def show(array):
    """The values of a small array, or its shape and min/mean/max when it is large."""
    array = np.asarray(array)
    return written_out(array) if array.size <= SMALL else _summary(array)


def operand(array):
    """An array inside a formula: its values when small, else just its shape."""
    array = np.asarray(array)
    return written_out(array) if array.size <= SMALL else _shape(array)


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


def symbols(node, output, taken=frozenset()):
    """How a step's text calls the node's inputs and its output.

    An input with a name (``W1``) is called by it; an unnamed constant number by its value
    (``2.0``); another input by its slot name from the rules (x, y, w), with a prime
    (``x′``) when the learner calls another tensor of the graph so (``taken``: the names in
    the graph) or another input of this node has that name. The output is ``z`` unless it
    has a name. Returns (input symbols, output symbol).
    """
    slots = input_names(node)
    tensors = tuple(node._inputs)
    names = [_usable(t.name) for t in tensors]
    for i, name in enumerate(names):  # one name on two different tensors: the slots for both
        if name and any(names[j] == name and tensors[j] is not tensors[i]
                        for j in range(len(names))):
            names = [None if n == name else n for n in names]
    out = _usable(output.name)
    if out is None or out in names:
        out = "z"
    used = {n for n in names if n} | {out}
    result = []
    for slot, name, tensor in zip(slots, names, tensors):
        if name is None and _is_number(tensor):
            name = operand(tensor.data)
        elif name is None:
            name = slot + PRIME if (slot in taken or slot in used) else slot
        result.append(name)
    return tuple(result), out


def _is_number(tensor):
    """An unnamed constant of one element: the text writes its value where its symbol goes."""
    return (tensor.name is None and tensor._node is None and not tensor.requires_grad
            and tensor.data.size == 1)


def _usable(name):
    """A tensor's name as a symbol in a rule, or None (no name, or one the rules use)."""
    if not isinstance(name, str) or not name.strip() or name in ("z", "dz"):
        return None
    return name


def _renamed(text, mapping):
    """``text`` with each slot symbol and its gradient (x, dx) called as ``mapping`` says."""
    tokens = {}
    for slot, name in mapping.items():
        if slot != name:
            tokens[slot], tokens["d" + slot] = name, "d" + name
    if not tokens:
        return text
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(t) for t in sorted(
        tokens, key=len, reverse=True)) + r")(?=ᵀ|\W|$)")
    return pattern.sub(lambda match: tokens[match.group(1)], text)


def _mapping(view):
    """slot -> symbol for the view's inputs and output (z)."""
    mapping = dict(zip(view.slots, view.names))
    mapping["z"] = view.out
    return mapping


def _split_rule(rule, lhs):
    """'dx = y * dz' -> 'y * dz' when the rule's left-hand side is ``lhs``, else None."""
    match = re.match(r"(.*?)(?<![+<>=!])=(?!=)(.*)", rule)
    if match and match.group(1).strip() == lhs:
        return match.group(2).strip()
    return None


def _fill(rhs, values):
    """The formula with values put in for its symbols (None when it is words, not arithmetic),
    and the shapes of the arrays put in (to tell when broadcasting was undone)."""
    if not values:
        return None, ()
    symbols = sorted(values, key=len, reverse=True)  # 'dz' before 'z', 'x′' before 'x'
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(s) for s in symbols) + r")(?=ᵀ|\W|$)")
    rest = pattern.sub(" ", rhs)
    if rest == rhs or any(w not in _FUNCTIONS for w in _LETTERS.findall(rest.replace("ᵀ", ""))):
        return None, ()
    shapes = []

    def put(match):
        value = values[match.group(1)]
        shapes.append(np.shape(value))
        return operand(value)

    return pattern.sub(put, rhs), tuple(shapes)


def _parameters_in(text, parameters):
    """' (a = 0.1)': the fixed parameters a rule in words mentions, to keep apart from values."""
    found = [f"{symbol} = {operand(value)}" for symbol, value in parameters.items()
             if re.search(rf"(?<!\w){re.escape(symbol)}(?!\w)", text)]
    return f" ({', '.join(found)})" if found else ""


def _equation(lhs, rhs, values, result, parameters):
    """'dx = y * dz = -4.0 * 2.0 = -8.0': the rule, the rule with numbers, the result.

    A rule in words: 'dx = dz reshaped to x's shape, so dx = [1.0, 1.0]'.
    """
    result = np.asarray(result)
    shown = show(result)
    filled, shapes = _fill(rhs, values)
    if filled is None and _LETTERS.search(rhs):
        return f"{lhs} = {rhs}{_parameters_in(rhs, parameters)}, so {lhs} = {shown}"
    parts = [f"{lhs} = {rhs}"]
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


def parameters(node):
    """The node's fixed parameters its docstring names ('for a fixed slope a': {'a': 0.1})."""
    found = {}
    for attribute, symbol in _FIXED.findall((type(node).__doc__ or "").split("\n\n")[0]):
        value = getattr(node, attribute, None)
        if isinstance(value, (int, float, np.number, np.ndarray)) and not isinstance(value, bool):
            found[symbol] = value
    return found


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
    """'inputs: W1, x (constant)'; an input without a name: 'y: output of matmul #0'."""
    parts = [label if symbol == tensor.name or _is_number(tensor) else f"{symbol}: {label}"
             for symbol, tensor, label in zip(view.names, view.inputs, view.labels)]
    return "inputs: " + ", ".join(parts)


def _values(view):
    """The symbols of the rules and their arrays: inputs, output, fixed parameters."""
    values = dict(parameters(view.node))
    values.update((name, t.data) for name, t in zip(view.names, view.inputs)
                  if not _is_number(t))  # a number stands for itself
    values[view.out] = view.output.data
    return values


def equations(step):
    """One line per input of a backward step: the local rule, with the numbers, and what was sent."""
    values = _values(step)
    values["d" + step.out] = step.upstream
    fixed = parameters(step.node)
    mapping = _mapping(step)
    lines = []
    for i, (name, tensor, grad) in enumerate(zip(step.names, step.inputs, step.grads)):
        if grad is None:
            if _is_number(tensor):
                lines.append(f"no gradient to the constant {name}")
            else:
                lines.append(f"{name} is a constant" if not tensor.requires_grad
                             else f"no gradient to {name}")
        elif i >= len(step.rules):
            lines.append(f"d{name} = {show(grad)}")
        else:
            rule = _renamed(step.rules[i], mapping)
            rhs = _split_rule(rule, "d" + name)
            if rhs is None:  # written per element ('dx[i] += ...'): the rule, then the result
                lines.append(f"{rule}{_parameters_in(rule, fixed)}, so d{name} = {show(grad)}")
            else:
                lines.append(_equation("d" + name, rhs, values, grad, fixed))
    return lines


def step_line(step):
    """'multiply #3: dz = 2.0 arrived; dx = y * dz = -4.0 * 2.0 = -8.0; dy = ...'"""
    return "; ".join([f"{_heading(step)}: d{step.out} = {show(step.upstream)} arrived"]
                     + equations(step) + _check_lines(step))


def _check_lines(view):
    """The node's check_nodes result ('check: ok (error 2e-10)'), when the stepper has one."""
    return [] if view.check is None else [view.check[1]]


def step_lines(step):
    """Several lines for a notebook or a page: inputs, rules with numbers, finality."""
    forward = _forward_rule(step.node)
    if forward:
        mapping = _mapping(step)
        rule = _renamed("{} = {}".format(*forward), mapping)
        rule += _parameters_in(_renamed(forward[1], mapping), parameters(step.node))
    lines = [_heading(step) + (f": {rule}" if forward else ""),
             _inputs_line(step),
             f"d{step.out} = {show(step.upstream)} arrived"]
    labels = step.labels
    for i, equation in enumerate(equations(step)):
        if step.final[i] is None:
            lines.append(equation)
        elif step.final[i]:
            lines.append(f"{equation}   → {labels[i]}: final")
        else:
            waits = ", ".join(step.waiting[i])
            lines.append(f"{equation}   → {labels[i]}: waits for {waits}")
    return "\n".join(lines + _check_lines(step))


def forward_line(view):
    """'multiply #3: z = x * y = 3.0 * -4.0 = -12.0'"""
    mapping = _mapping(view)
    lhs, rhs = _forward_rule(view.node) or ("z", f"{view.op}({', '.join(view.slots)})")
    lhs, rhs = _renamed(lhs, mapping), _renamed(rhs, mapping)
    values = _values(view) if lhs == view.out else {}  # 'z[i, j] = ...': no numbers to put in
    shown_lhs = lhs.split("[")[0] if "[" in lhs else lhs
    if not values:  # per element: the rule, then the result
        return (f"{_heading(view)}: {lhs} = {rhs}{_parameters_in(rhs, parameters(view.node))}, "
                f"so {shown_lhs} = {show(view.output.data)}")
    return f"{_heading(view)}: " + _equation(lhs, rhs, values, view.output.data,
                                              parameters(view.node))


def forward_lines(view):
    """The forward line, then the node's inputs."""
    return "\n".join([forward_line(view), _inputs_line(view)] + _check_lines(view))


def start_text(initial_grad, output=None):
    """What the first backward frame says, before any node has run."""
    out = (_usable(output.name) if output is not None else None) or "z"
    return (f"backprop starts at the output: d{out} = {show(initial_grad)}\n"
            "each step runs one node's backwardPass, from the last node on the tape back to "
            "the first")
