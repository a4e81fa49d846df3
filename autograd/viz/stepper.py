"""Step through backprop one node at a time: in Python, in Jupyter, and as an HTML page.

``Stepper(output)`` drives the engine's own backprop generator (``autograd.backprop``,
the loop ``backward()`` runs to the end) and pauses between its steps. Each ``step()``
runs one node's ``backwardPass`` and returns a ``Step``: the node, the gradient that
arrived, the node's local chain rules with the actual numbers, what it sent to each
input, and which of those gradients are now final. ``back()`` replays from the start,
``run()`` finishes; afterwards every ``.grad`` is what ``backward()`` gives.

Nodes are called by their name and tape sequence number (``multiply #3``), as in the
diagrams and the engine's error messages; ``Step.number`` is also given: the node's
position (1, 2, ...) in the tape order of this graph alone.

The stepper reads the graph and keeps it: it backpropagates with ``retain_graph=True``
so that ``back()`` can replay, and it never changes how backprop runs.
"""

import bisect
import functools
import html
import json
import math
import os
import re

import graphviz
import numpy as np

from .. import tape
from ..tensor import Tensor
from .graph import walk

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


def _operand(array):
    """An array inside a formula: its values when small, else just its shape."""
    array = np.asarray(array)
    return _written_out(array) if array.size <= SMALL else _shape(array)


# ---------------------------------------------------------------- rules with numbers

def _input_names(node):
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
        return _operand(value)

    return pattern.sub(put, rhs), tuple(shapes)


def _equation(lhs, rhs, values, result):
    """'dx = y * dz = -4.0 * 2.0 = -8.0': the rule, the rule with numbers, the result."""
    result = np.asarray(result)
    shown = show(result)
    filled, shapes = _fill(rhs, values)
    parts = [f"{lhs} = {rhs}" if lhs else rhs]
    if filled is not None and filled not in (rhs, shown, _operand(result)):
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


# ---------------------------------------------------------------- what a step holds

class _NodeView:
    """What the forward and the backward step share: the node, where it ran, its tensors."""

    def __init__(self, node, number, output, namer):
        self.node = node
        self.op = node.name
        self.number = number
        self.seq = node._seq
        scope = node._scope
        self.layer = scope.path if scope is not None else None
        self.kind = scope.kind if scope is not None else None
        self.inputs = tuple(node._inputs)
        self.names = _input_names(node)
        self.output = output
        self._namer = namer  # the stepper's way of calling a tensor in text

    @property
    def label(self):
        """'multiply #3': the op's name and its tape sequence number."""
        return f"{self.op} #{self.seq}"

    @property
    def labels(self):
        """How each input is called in text: 'W1', 'output of max #2', 'a constant 0.0'."""
        return tuple(self._namer(t) for t in self.inputs)

    def _heading(self):
        return f"{self.label}{_layer_text(self.node)}"

    def _inputs_line(self):
        return "inputs: " + ", ".join(f"{n}: {label}" for n, label in zip(self.names, self.labels))

    def _values(self):
        """The symbols of the rules and their arrays: inputs, and fixed parameters such as p."""
        values = {name: t.data for name, t in zip(self.names, self.inputs)}
        for symbol, attribute in _PARAMETERS.items():
            if symbol not in values and hasattr(self.node, attribute):
                values[symbol] = getattr(self.node, attribute)
        return values


class Step(_NodeView):
    """One node's backward, as the stepper shows it.

    Attributes:
      index     1 for the first backward step, 2 for the next, ...
      node      the Node whose backwardPass ran; ``op`` its name, ``rules`` its local rules
      seq       its tape sequence number (``multiply #3``, as in diagrams and errors);
                ``number`` its position (1-based) in the tape order of this graph alone
      layer     the dotted path of the module that made it (None outside modules), ``kind``
                the module's class name
      upstream  the gradient that arrived (dz), of the output's shape
      inputs    the node's input tensors, in argument order; ``names`` their symbols (x, y, w)
      output    the tensor the node produced
      grads     what it sent to each input (None where nothing was sent), after the engine
                summed away broadcasting
      final     per input: True when that gradient is now complete, False when other
                nodes still have to add to it, None when nothing was sent
      waiting   per input: labels of the nodes still to send a gradient to it (empty if final)
      labels    per input: how the input is called in text ('W1', 'output of max #2')

    ``str(step)`` is one line, as in the course's worked examples; ``explain()`` several.
    """

    def __init__(self, index, node, number, output, namer, upstream, grads, final, waiting,
                 updates=()):
        super().__init__(node, number, output, namer)
        self.index = index
        self.rules = tuple(node.rules)
        self.upstream = upstream
        self.grads = tuple(grads)
        self.final = tuple(final)
        self.waiting = tuple(waiting)
        self._updates = tuple(updates)  # (tensor, gradient known after this step), for frames

    def equations(self):
        """One line per input: the local rule, with the numbers, and what was sent."""
        values = self._values()
        values["z"] = self.output.data
        values["dz"] = self.upstream
        lines = []
        for i, (name, tensor, grad) in enumerate(zip(self.names, self.inputs, self.grads)):
            if grad is None:
                lines.append(f"{name} is a constant" if not tensor.requires_grad
                             else f"no gradient to {name}")
            elif i >= len(self.rules):
                lines.append(f"d{name} = {show(grad)}")
            else:
                lhs, rhs = _split_rule(self.rules[i])
                if lhs is None:  # written per element ('dx[i] += ...'): the rule, then the result
                    lines.append(f"{self.rules[i]}, so d{name} = {show(grad)}")
                else:
                    lines.append(_equation(lhs, rhs, values, grad))
        return lines

    def __str__(self):
        """'multiply #3: dz = 2.0 arrived; dx = y * dz = -4.0 * 2.0 = -8.0; dy = ...'"""
        return "; ".join([f"{self._heading()}: dz = {show(self.upstream)} arrived"]
                         + self.equations())

    def explain(self):
        """Several lines for a notebook or a page: inputs, rules with numbers, finality."""
        forward = _forward_rule(self.node)
        lines = [self._heading() + (": {} = {}".format(*forward) if forward else ""),
                 self._inputs_line(),
                 f"dz = {show(self.upstream)} arrived"]
        labels = self.labels
        for i, equation in enumerate(self.equations()):
            if self.final[i] is None:
                lines.append(equation)
            elif self.final[i]:
                lines.append(f"{equation}   → {labels[i]}: final")
            else:
                waits = ", ".join(self.waiting[i])
                lines.append(f"{equation}   → {labels[i]}: waits for {waits}")
        return "\n".join(lines)

    def __repr__(self):
        return f"<Step {self.index}: {self.label}>"


class ForwardStep(_NodeView):
    """One node's forward, in tape order: its inputs' values and the value it produced."""

    def __str__(self):
        """'multiply #3: z = x * y = 3.0 * -4.0 = -12.0'"""
        lhs, rhs = _forward_rule(self.node) or ("z", f"{self.op}({', '.join(self.names)})")
        values = self._values() if lhs == "z" else {}  # 'z[i, j] = ...': no numbers to put in
        return f"{self._heading()}: " + _equation(lhs, rhs, values, self.output.data)

    def explain(self):
        return f"{self}\n{self._inputs_line()}"

    def __repr__(self):
        return f"<ForwardStep {self.label}>"


# ---------------------------------------------------------------- the stepper

class Stepper:
    """Backprop from ``output``, one node at a time.

    ``Stepper(output, grad=None)``: ``grad`` is the gradient to start from, as for
    ``output.backward(grad)`` (needed when ``output`` is not a scalar).

    ``step()`` runs the next node's backwardPass and returns its ``Step`` (None once
    backprop is complete), ``back()`` goes back one step, ``run()`` finishes, ``goto(k)``
    moves to just after step k. Iterating over a stepper steps it to the end. Leaf
    gradients accumulate into ``.grad`` as they do in ``backward()``; ``back()`` restores
    the gradients the tensors had when the stepper was made and replays.

    ``forward_steps()`` lists the forward pass in tape order; ``widget()`` shows the whole
    thing in Jupyter and ``to_html(path)`` writes it as one page.
    """

    def __init__(self, output, grad=None):
        if not isinstance(output, Tensor):
            raise TypeError(f"Stepper: expected the output Tensor of a computation, got "
                            f"{type(output).__name__}")
        self.output = output
        self._grad = grad
        try:  # the same checks as backward(), named after the stepper
            self._initial = tape._initial_grad(output, grad)
        except (RuntimeError, ValueError) as error:
            raise type(error)(f"Stepper: {error}") from error
        graph = walk(output, "Stepper")  # the diagrams' reading of the graph, in tape order
        for node in graph.ops:
            if node._released:
                raise tape._released_error(node)
        self.nodes = graph.ops
        self._number = {id(node): k for k, node in enumerate(self.nodes, start=1)}
        self._output_of = graph.outputs
        self._tensors = {id(tensor): tensor for tensor in graph.tensors}
        consumers = {}  # id(tensor) -> [seqs ascending], [nodes ascending]
        for node in self.nodes:
            for tensor in node._inputs:
                seqs, users = consumers.setdefault(id(tensor), ([], []))
                if not users or users[-1] is not node:  # a * a: one consumer, used twice
                    seqs.append(node._seq)
                    users.append(node)
        self._consumers = consumers
        self._snapshot = [(t, None if t.grad is None else np.array(t.grad, copy=True))
                          for t in self._tensors.values()]
        self._complete = None  # every Step of a full run, once one has been made
        self._restart()

    # ------------------------------------------------------------ names
    @staticmethod
    def label(node):
        """'multiply #3': the node's name and tape sequence number, as diagrams show it."""
        return f"{node.name} #{node._seq}"

    def _tensor_label(self, tensor):
        if tensor.name:
            return tensor.name + ("" if tensor.requires_grad else " (constant)")
        if tensor is self.output:
            return "the output"
        if tensor._node is not None and id(tensor._node) in self._number:
            return f"output of {self.label(tensor._node)}"
        return "a leaf" if tensor.requires_grad else "a constant " + _operand(tensor.data)

    # ------------------------------------------------------------ moving
    def _restart(self):
        self._generator = None
        self._known = {id(self.output): (self.output, self._initial)}
        self._history = []
        self.done = False

    @property
    def position(self):
        """How many backward steps have run."""
        return len(self._history)

    @property
    def steps(self):
        """The steps run so far, in order."""
        return list(self._history)

    def step(self):
        """Run the next node's backwardPass; its Step, or None when backprop is complete."""
        if self.done:
            return None
        if self._generator is None:
            self._generator = tape.backprop(self.output, self._grad, retain_graph=True)
        try:
            raw = next(self._generator)
        except StopIteration:
            self._generator = None
            self.done = True
            return None
        step = self._record(raw)
        self._history.append(step)
        return step

    def _record(self, raw):
        node = raw.node
        seq = node._seq
        final, waiting, updates = [], [], []
        for tensor, grad in zip(node._inputs, raw.grads):
            if grad is None:
                final.append(None)
                waiting.append(())
                continue
            key = id(tensor)
            previous = self._known.get(key)
            total = grad if previous is None else previous[1] + grad
            self._known[key] = (tensor, total)
            updates.append((tensor, total))
            seqs, users = self._consumers[key]
            still = users[:bisect.bisect_left(seqs, seq)]  # consumers still to run their backward
            final.append(not still)
            waiting.append(tuple(self.label(user) for user in reversed(still)))
        return Step(len(self._history) + 1, node, self._number[id(node)], self._output_of[id(node)],
                    self._tensor_label, raw.upstream, raw.grads, final, waiting, updates)

    def run(self):
        """Run backprop to the end; the steps that ran."""
        ran = []
        while (step := self.step()) is not None:
            ran.append(step)
        return ran

    def __iter__(self):
        while (step := self.step()) is not None:
            yield step

    def reset(self):
        """Back to before the first step: gradients as they were when the stepper was made."""
        if self._generator is not None:
            self._generator.close()
        for tensor, grad in self._snapshot:
            tensor.grad = None if grad is None else np.array(grad, copy=True)
        self._restart()

    def goto(self, position):
        """Move to just after step ``position`` (0: before the first), replaying when going back."""
        if position < 0:
            raise ValueError(f"Stepper.goto: position must be >= 0, got {position}")
        if position < self.position:
            self.reset()
        while self.position < position and self.step() is not None:
            pass
        return self._history[-1] if self._history else None

    def back(self):
        """Undo the last step (restore the gradients and replay the ones before it).

        Returns the step that is now the latest, or None at the start.
        """
        if self.position == 0:
            return None
        return self.goto(self.position - 1)

    def all_steps(self):
        """Every Step of the whole backprop, in order, without moving the stepper."""
        if self._complete is None:
            here = self.position
            self.run()
            self._complete = list(self._history)
            self.goto(here)
        return list(self._complete)

    def known_grads(self):
        """``{tensor: gradient}`` of every tensor with a gradient so far in this backprop.

        The output starts with the gradient backprop starts from; a tensor's entry grows as
        its consumers run (contributions of this backprop only, not older ``.grad``).
        """
        return {tensor: grad for tensor, grad in self._known.values()}

    def is_final(self, tensor):
        """True when every node in the graph that consumes ``tensor`` has run its backward."""
        if tensor is self.output:
            return True
        entry = self._consumers.get(id(tensor))
        if entry is None:
            raise ValueError("Stepper.is_final: this tensor is not in the graph being stepped")
        if not self._history:
            return False
        return entry[0][0] >= self._history[-1].seq

    def forward_steps(self):
        """The forward pass node by node in tape order, with the values that appeared."""
        number, output_of, namer = self._number, self._output_of, self._tensor_label
        return [ForwardStep(node, number[id(node)], output_of[id(node)], namer)
                for node in self.nodes]

    def __len__(self):
        """The number of nodes that lead to the output (one backward step each)."""
        return len(self.nodes)

    def __repr__(self):
        state = "complete" if self.done else f"{self.position} of {len(self.nodes)} steps run"
        return f"<Stepper over {len(self.nodes)} nodes: {state}>"

    # ------------------------------------------------------------ frames for the views
    def frames(self, forward=False):
        """What the widget and the page show, one frame per position.

        Each frame is a dict: ``title``, ``text``, ``highlight`` (the node to emphasise or
        None) and ``grads`` (``{tensor: gradient}`` known at that point, for the diagram).
        With ``forward=True`` the forward pass comes first, node by node.
        """
        frames = []
        if forward:
            forward_steps = self.forward_steps()
            for k, item in enumerate(forward_steps, start=1):
                frames.append({"title": f"forward {k} of {len(forward_steps)}: {item.label}",
                               "text": item.explain(), "highlight": item.node, "grads": {}})
        steps = self.all_steps()
        known = {self.output: self._initial}
        frames.append({"title": f"backward: start ({len(steps)} steps)",
                       "text": f"backprop starts at the output: dz = {show(self._initial)}\n"
                               "each step runs one node's backwardPass, from the last node on "
                               "the tape back to the first",
                       "highlight": None, "grads": dict(known)})
        for step in steps:
            for tensor, grad in step._updates:
                known[tensor] = grad
            frames.append({"title": f"backward {step.index} of {len(steps)}: {step.label}",
                           "text": step.explain(), "highlight": step.node, "grads": dict(known)})
        return frames

    def _rankdir(self, rankdir):
        """Left to right for small graphs; top to bottom once a row would get too wide to read."""
        if rankdir is None:
            return "LR" if len(self.nodes) <= 10 else "TB"
        return rankdir

    def _svg(self, frame, rankdir=None):
        from .draw import draw
        digraph = draw(self.output, highlight=frame["highlight"], grads=frame["grads"],
                       rankdir=self._rankdir(rankdir))
        return render_svg(digraph)

    # ------------------------------------------------------------ Jupyter
    def widget(self, forward=False, interval=1000, diagrams=True, rankdir=None):
        """An ipywidgets view: Prev/Next, a slider over the steps, Play, the diagram with
        the current node highlighted and the gradients known so far, the arithmetic beside it.

        ``forward=True`` shows the forward pass first. Needs ipywidgets (``pip install
        tapegrad[notebooks]``) and, for the diagrams, Graphviz's ``dot`` (``diagrams=False``
        shows the text only). ``rankdir`` ("LR", "TB") defaults to left to right for small
        graphs and top to bottom for larger ones.
        """
        _check_interval(interval, "Stepper.widget")
        try:
            import ipywidgets
            from IPython.display import SVG
        except ImportError as error:
            raise ImportError("Stepper.widget() needs ipywidgets and IPython: "
                              "pip install 'tapegrad[notebooks]' (or pip install ipywidgets); "
                              "Stepper.to_html(path) needs neither") from error
        return StepperWidget(self, self.frames(forward), ipywidgets, SVG, interval, diagrams,
                             self._rankdir(rankdir))

    # ------------------------------------------------------------ one HTML page
    def to_html(self, path, overwrite=False, forward=False, interval=1000, title=None,
                diagrams=True, rankdir=None):
        """Write the step-through as one self-contained HTML page and return its path.

        SVG diagrams are inline and the controls are plain JavaScript: the page needs no
        network, server or Jupyter. Buttons, a slider, Play, and the keys ← → (Home, End,
        space to play); the diagram scrolls to the current node. ``forward=True`` shows the
        forward pass first; ``interval`` is the time per step when playing, in ms. An
        existing file is kept unless ``overwrite=True``.
        """
        _check_interval(interval, "Stepper.to_html")
        path = os.fspath(path)
        if os.path.exists(path) and not overwrite:
            raise FileExistsError(f"Stepper.to_html: {path} already exists; pass overwrite=True "
                                  "to replace it, or choose another path")
        frames = self.frames(forward)
        records = [{"title": f["title"], "text": f["text"],
                    "svg": self._svg(f, rankdir) if diagrams else "",
                    "focus": None if f["highlight"] is None else f"n{f['highlight']._seq}"}
                   for f in frames]
        page = _page(records, title or "tapegrad: backprop step by step", interval)
        with open(path, "w" if overwrite else "x", encoding="utf-8") as handle:
            handle.write(page)
        return path


def _check_interval(interval, caller):
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval >= 1:
        raise ValueError(f"{caller}: interval is the time per step when playing, in "
                         f"milliseconds, and must be at least 1; got {interval!r}")


class DiagramsNeedGraphviz(graphviz.ExecutableNotFound):
    """The step-through's diagrams need Graphviz's ``dot`` program, which is not on PATH."""

    def __init__(self):  # graphviz.ExecutableNotFound formats its own text from args
        RuntimeError.__init__(
            self, "the step-through's diagrams need Graphviz's dot program, which was not found "
                  "on PATH: install it with apt-get install -y --no-install-recommends graphviz "
                  "(as root), or pass diagrams=False for the text alone")


def render_svg(digraph):
    """The diagram as SVG text (just the <svg> element), or a clear error without Graphviz."""
    try:
        svg = digraph.pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound as error:
        raise DiagramsNeedGraphviz() from error
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


class StepperWidget:
    """The Jupyter view of a Stepper (made by ``Stepper.widget()``).

    Parts, for driving it from Python: ``prev_button``, ``next_button``, ``play``,
    ``slider`` (its value is the frame shown), ``diagram`` (an Output holding the SVG),
    ``text`` (an HTML widget with the step's arithmetic), ``box`` (the whole layout).
    """

    def __init__(self, stepper, frames, ipywidgets, svg_class, interval, diagrams, rankdir):
        self.stepper = stepper
        self.frames = frames
        self._svg_class = svg_class
        self._diagrams = diagrams
        self._rankdir = rankdir
        self._cache = {}
        last = len(frames) - 1
        w = ipywidgets
        self.prev_button = w.Button(description="◀ Prev", tooltip="previous step")
        self.next_button = w.Button(description="Next ▶", tooltip="next step")
        self.play = w.Play(value=0, min=0, max=last, step=1, interval=interval, description="play")
        self.slider = w.IntSlider(value=0, min=0, max=last, step=1, description="step",
                                  continuous_update=True)
        w.jslink((self.play, "value"), (self.slider, "value"))
        self.title = w.HTML()
        self.diagram = w.Output(layout=w.Layout(flex="3 1 0", overflow="auto", max_height="80vh"))
        self.text = w.HTML(layout=w.Layout(flex="2 1 0"))
        self.box = w.VBox([
            w.HBox([self.prev_button, self.next_button, self.play, self.slider]),
            self.title,
            w.HBox([self.diagram, self.text]),
        ])
        self.prev_button.on_click(lambda _: self._move(-1))
        self.next_button.on_click(lambda _: self._move(+1))
        self.slider.observe(self._on_slider, names="value")
        self.show(0)

    def _move(self, delta):
        self.slider.value = min(max(self.slider.value + delta, 0), self.slider.max)

    def _on_slider(self, change):
        self.show(change["new"])

    @property
    def frame(self):
        """The index of the frame shown."""
        return self.slider.value

    def show(self, index):
        """Show frame ``index``: its diagram and its text."""
        frame = self.frames[index]
        self.title.value = f"<b>{html.escape(frame['title'])}</b>"
        self.text.value = f"<pre style='white-space: pre-wrap'>{html.escape(frame['text'])}</pre>"
        self.prev_button.disabled = index == 0
        self.next_button.disabled = index == len(self.frames) - 1
        self.diagram.outputs = ()
        if self._diagrams:
            if index not in self._cache:
                self._cache[index] = self.stepper._svg(frame, self._rankdir)
            self.diagram.append_display_data(self._svg_class(data=self._cache[index]))

    def _repr_mimebundle_(self, **kwargs):
        return self.box._repr_mimebundle_(**kwargs)

    def _ipython_display_(self):
        from IPython.display import display
        display(self.box)


# ---------------------------------------------------------------- the page

def _script_json(value):
    """JSON that is safe inside <script>: no '<', '>' or '&' left to end the element early."""
    return (json.dumps(value, ensure_ascii=False)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1rem 1.5rem; color: #222; }
h1 { font-size: 1.3rem; margin: 0 0 .6rem; }
#controls { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
#controls button { font-size: 1rem; padding: .25rem .8rem; }
#slider { flex: 1 1 16rem; }
#counter { font-variant-numeric: tabular-nums; min-width: 5rem; }
#title { font-weight: bold; margin: .6rem 0; }
#main { display: flex; gap: 1rem; align-items: flex-start; flex-wrap: wrap; }
#diagram { flex: 3 1 30rem; overflow: auto; border: 1px solid #ddd; min-height: 4rem;
           max-height: 80vh; }
#diagram.fit svg { max-width: 100%; max-height: 78vh; height: auto; width: auto; }
#text { flex: 2 1 20rem; white-space: pre-wrap; background: #f7f7f7; padding: .6rem;
        margin: 0; font-size: .9rem; position: sticky; top: .5rem; }
label { font-size: .9rem; }
.help { color: #666; font-size: .85rem; }
"""

_SCRIPT = """
(function () {
  "use strict";
  var frames = JSON.parse(document.getElementById("frames").textContent);
  var interval = INTERVAL;
  var last = frames.length - 1;
  var current = 0, timer = null;
  var $ = function (id) { return document.getElementById(id); };
  var slider = $("slider"), prev = $("prev"), next = $("next"), play = $("play");
  slider.max = String(last);
  function show(k) {
    k = Math.max(0, Math.min(last, k));
    current = k;
    slider.value = String(k);
    var box = $("diagram");
    box.innerHTML = frames[k].svg;
    focus(box, frames[k].focus);
    $("title").textContent = frames[k].title;
    $("text").textContent = frames[k].text;
    $("counter").textContent = k + " / " + last;
    prev.disabled = k === 0;
    next.disabled = k === last;
    document.body.setAttribute("data-frame", String(k));
  }
  function focus(box, id) {
    // Scroll the diagram (not the page) so the current node is in the middle of the view.
    if (!id || box.classList.contains("fit")) { return; }
    var titles = box.querySelectorAll("g.node > title");
    for (var i = 0; i < titles.length; i++) {
      if (titles[i].textContent === id) {
        var r = titles[i].parentNode.getBoundingClientRect(), c = box.getBoundingClientRect();
        box.scrollLeft += (r.left + r.width / 2) - (c.left + c.width / 2);
        box.scrollTop += (r.top + r.height / 2) - (c.top + c.height / 2);
        return;
      }
    }
  }
  $("fit").addEventListener("change", function () {
    $("diagram").classList.toggle("fit", this.checked);
    focus($("diagram"), frames[current].focus);
  });
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    play.textContent = "\\u25B6 Play";
  }
  function start() {
    if (current === last) { show(0); }
    play.textContent = "\\u23F8 Pause";
    timer = setInterval(function () {
      if (current >= last) { stop(); } else { show(current + 1); }
    }, interval);
  }
  prev.addEventListener("click", function () { stop(); show(current - 1); });
  next.addEventListener("click", function () { stop(); show(current + 1); });
  play.addEventListener("click", function () { if (timer === null) { start(); } else { stop(); } });
  slider.addEventListener("input", function () { stop(); show(parseInt(slider.value, 10)); });
  document.addEventListener("keydown", function (event) {
    if (event.target === slider || event.target.id === "fit") { return; }
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    if (event.key in moves) { stop(); show(current + moves[event.key]); }
    else if (event.key === "Home") { stop(); show(0); }
    else if (event.key === "End") { stop(); show(last); }
    else if (event.key === " " && event.target.tagName !== "BUTTON") {
      if (timer === null) { start(); } else { stop(); }
    } else { return; }
    event.preventDefault();
  });
  show(0);
})();
"""


def _page(records, title, interval):
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_STYLE}</style>
</head>
<body data-frame="0">
<h1>{html.escape(title)}</h1>
<div id="controls">
  <button id="prev" type="button">&#9664; Prev</button>
  <button id="play" type="button">&#9654; Play</button>
  <button id="next" type="button">Next &#9654;</button>
  <input id="slider" type="range" min="0" max="{len(records) - 1}" value="0" step="1"
         aria-label="step">
  <span id="counter"></span>
  <label><input id="fit" type="checkbox"> fit the diagram to the window</label>
</div>
<div id="title"></div>
<div id="main"><div id="diagram"></div><pre id="text"></pre></div>
<p class="help">Keys: &larr; &rarr; previous / next step, Home / End, space to play.
Made by tapegrad's Stepper; this page needs no network.</p>
<script id="frames" type="application/json">{_script_json(records)}</script>
<script>{_SCRIPT.replace("INTERVAL", str(int(interval)))}</script>
</body>
</html>
"""
