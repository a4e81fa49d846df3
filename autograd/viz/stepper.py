"""Step through backprop one node at a time: in Python, in Jupyter, and as an HTML page.

``Stepper(output)`` drives the engine's own backprop generator (``autograd.backprop``,
the loop ``backward()`` runs to the end) and pauses between its steps. Each ``step()``
runs one node's ``backwardPass`` and returns a ``Step``: the node, the gradient that
arrived, the node's local chain rules with the actual numbers, what it sent to each
input, and which of those gradients are now final. ``back()`` replays from the start,
``run()`` finishes; afterwards every ``.grad`` is what ``backward()`` gives.

Nodes are called by their name and tape sequence number (``multiply #3``), as in the
diagrams and the engine's error messages; ``Step.number`` is also given: the node's
position (1, 2, ...) in the tape order of this graph alone. In the rules, tensors are
called by the learner's names where they have one (``z = W1 @ x``, ``dW1 = dz @ xᵀ``), a
constant number by its value, other tensors by the rule's slot names (x, y), primed (x′)
when the learner has a tensor of that name elsewhere in the graph.

The stepper reads the graph and keeps it: it backpropagates with ``retain_graph=True``
so that ``back()`` can replay, and it never changes how backprop runs.

This module is the step model. The views live beside it and only read what it records:
``step_text`` writes a step as the chain rule's numbers, ``step_widget`` is the Jupyter
view, ``step_page`` the HTML page (its style and script are in ``static/``), and
``step_diagram`` draws a frame's diagram for both.
"""

import bisect
import collections.abc

import numpy as np

from .. import tape
from ..checks import NodeChecks
from ..tensor import Tensor
from . import step_text
from .graph import walk
from .step_diagram import DiagramsNeedGraphviz, render_svg
from .step_page import write_page
from .step_text import SMALL, show
from .step_widget import StepperWidget, stepper_widget

__all__ = ["Stepper", "Step", "ForwardStep", "StepperWidget", "DiagramsNeedGraphviz", "show",
           "SMALL", "render_svg"]


# ---------------------------------------------------------------- what a step holds

class _NodeView:
    """What the forward and the backward step share: the node, where it ran, its tensors."""

    # (status, text) of the node's check_nodes result, when the Stepper was given ``check``
    check = None

    def __init__(self, node, number, output, namer, taken=frozenset()):
        self.node = node
        self.op = node.name
        self.number = number
        self.seq = node._seq
        scope = node._scope
        self.layer = scope.path if scope is not None else None
        self.kind = scope.kind if scope is not None else None
        self.inputs = tuple(node._inputs)
        self.slots = step_text.input_names(node)
        self.output = output
        self.names, self.out = step_text.symbols(node, output, taken)
        self._namer = namer  # the stepper's way of calling a tensor in text

    @property
    def label(self):
        """'multiply #3': the op's name and its tape sequence number."""
        return f"{self.op} #{self.seq}"

    @property
    def labels(self):
        """How each input is called in text: 'W1', 'output of max #2', 'a constant 0.0'."""
        return tuple(self._namer(t) for t in self.inputs)


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
      inputs    the node's input tensors, in argument order; ``names`` how the text calls
                them: the tensor's name (W1) if it has one, else the rule's symbol (x, y,
                w; x′ when the learner calls another tensor x); ``slots`` the rule's symbols
      output    the tensor the node produced; ``out`` its symbol (z unless it has a name)
      grads     what it sent to each input (None where nothing was sent), after the engine
                summed away broadcasting
      final     per input: True when that gradient is now complete, False when other
                nodes still have to add to it, None when nothing was sent
      waiting   per input: labels of the nodes still to send a gradient to it (empty if final)
      labels    per input: how the input is called in text ('W1', 'output of max #2')

    ``str(step)`` is one line, as in the course's worked examples; ``explain()`` several.
    """

    def __init__(self, index, node, number, output, namer, upstream, grads, final, waiting,
                 updates=(), taken=frozenset()):
        super().__init__(node, number, output, namer, taken)
        self.index = index
        self.rules = tuple(node.rules)
        self.upstream = upstream
        self.grads = tuple(grads)
        self.final = tuple(final)
        self.waiting = tuple(waiting)
        self._updates = tuple(updates)  # (tensor, gradient known after this step), for frames

    def equations(self):
        """One line per input: the local rule, with the numbers, and what was sent."""
        return step_text.equations(self)

    def __str__(self):
        """'multiply #3: dz = 2.0 arrived; dx = y * dz = -4.0 * 2.0 = -8.0; dy = ...'"""
        return step_text.step_line(self)

    def explain(self):
        """Several lines for a notebook or a page: inputs, rules with numbers, finality."""
        return step_text.step_lines(self)

    def __repr__(self):
        return f"<Step {self.index}: {self.label}>"


class ForwardStep(_NodeView):
    """One node's forward, in tape order: its inputs' values and the value it produced."""

    def __str__(self):
        """'multiply #3: z = x * y = 3.0 * -4.0 = -12.0'"""
        return step_text.forward_line(self)

    def explain(self):
        return step_text.forward_lines(self)

    def __repr__(self):
        return f"<ForwardStep {self.label}>"

# ---------------------------------------------------------------- the stepper

class Stepper:
    """Backprop from ``output``, one node at a time.

    ``Stepper(output, grad=None, check=None)``: ``grad`` is the gradient to start from, as
    for ``output.backward(grad)`` (needed when ``output`` is not a scalar); ``check``, the
    results of ``autograd.check_nodes(output)``, makes each step say its node's check (ok,
    or wrong with the error; ``step.check``) and colours the diagrams' nodes by it.

    ``step()`` runs the next node's backwardPass and returns its ``Step`` (None once
    backprop is complete), ``back()`` goes back one step, ``run()`` finishes, ``goto(k)``
    moves to just after step k. Iterating over a stepper steps it to the end. Leaf
    gradients accumulate into ``.grad`` as they do in ``backward()``; ``back()`` restores
    the gradients the tensors had when the stepper was made and replays.

    ``forward_steps()`` lists the forward pass in tape order; ``widget()`` shows the whole
    thing in Jupyter and ``to_html(path)`` writes it as one page.
    """

    def __init__(self, output, grad=None, check=None):
        if not isinstance(output, Tensor):
            raise TypeError(f"Stepper: expected the output Tensor of a computation, got "
                            f"{type(output).__name__}")
        if check is not None and not isinstance(check, NodeChecks):
            raise TypeError(f"Stepper: check takes the results of autograd.check_nodes(output), "
                            f"got {type(check).__name__}")
        self.output = output
        self.check = check
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
        self._taken = frozenset(t.name for t in graph.tensors if t.name)  # the learner's names
        consumers = {}  # id(tensor) -> [seqs ascending], [nodes ascending]
        for node in self.nodes:
            for tensor in node._inputs:
                seqs, users = consumers.setdefault(id(tensor), ([], []))
                if not users or users[-1] is not node:  # a * a: one consumer, used twice
                    seqs.append(node._seq)
                    users.append(node)
        self._consumers = consumers
        self._snapshot = [(t, None if t._grad is None else np.array(t._grad, copy=True))
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
        return "a leaf" if tensor.requires_grad else "a constant " + step_text.operand(tensor.data)

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
        step = Step(len(self._history) + 1, node, self._number[id(node)],
                    self._output_of[id(node)], self._tensor_label, raw.upstream, raw.grads,
                    final, waiting, updates, self._taken)
        if self.check is not None:
            step.check = self.check.summary(node)
        return step

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
            tensor._grad = None if grad is None else np.array(grad, copy=True)
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
        steps = [ForwardStep(node, number[id(node)], output_of[id(node)], namer, self._taken)
                 for node in self.nodes]
        if self.check is not None:
            for item in steps:
                item.check = self.check.summary(item.node)
        return steps

    def __len__(self):
        """The number of nodes that lead to the output (one backward step each)."""
        return len(self.nodes)

    def __repr__(self):
        state = "complete" if self.done else f"{self.position} of {len(self.nodes)} steps run"
        return f"<Stepper over {len(self.nodes)} nodes: {state}>"

    # ------------------------------------------------------------ frames for the views
    def frames(self, forward=False):
        """What the widget and the page show, one frame per position.

        Each frame is a dict: ``counter`` (where it is, one numbering: 'forward 2 of 4',
        'backward: start', 'backward 3 of 4'), ``title`` (the counter and the node),
        ``text``, ``highlight`` (the node or tensor to emphasise: the output at the start of
        backprop), ``grads`` (``{tensor: gradient}`` known at that point, for the diagram)
        ``values`` (the tensors whose values are known: None for all) and ``step`` (the
        ForwardStep or Step shown, None at the start of backprop), and ``check`` (the
        stepper's check_nodes results, or None). With
        ``forward=True`` the forward pass comes first, node by node, each value appearing
        when its node runs.
        """
        frames = []
        if forward:
            forward_steps = self.forward_steps()
            known = [t for t in self._tensors.values() if t._node is None]  # leaves: given
            leaves = len(known)
            known += [item.output for item in forward_steps]
            for k, item in enumerate(forward_steps, start=1):
                counter = f"forward {k} of {len(forward_steps)}"
                frames.append({"counter": counter,
                               "title": f"{counter}: {item.label}{_check_title(item)}",
                               "text": item.explain(), "highlight": item.node, "grads": {},
                               "values": _Prefix(known, leaves + k), "step": item,
                               "check": self.check})
        steps = self.all_steps()
        known = {self.output: self._initial}
        frames.append({"counter": "backward: start",
                       "title": f"backward: start at the output ({len(steps)} steps)",
                       "text": step_text.start_text(self._initial, self.output),
                       "highlight": self.output, "grads": dict(known), "values": None,
                       "step": None, "check": self.check})
        for step in steps:
            for tensor, grad in step._updates:
                known[tensor] = grad
            counter = f"backward {step.index} of {len(steps)}"
            frames.append({"counter": counter,
                           "title": f"{counter}: {step.label}{_check_title(step)}",
                           "text": step.explain(), "highlight": step.node,
                           "grads": dict(known), "values": None, "step": step,
                           "check": self.check})
        return frames

    # ------------------------------------------------------------ the views
    def widget(self, forward=False, interval=1000, diagrams=True, rankdir=None):
        """An ipywidgets view: Prev/Next, a slider over the steps, Play, the diagram with
        the current node highlighted and the gradients known so far, the arithmetic beside it.

        ``forward=True`` shows the forward pass first. Needs ipywidgets (``pip install
        tapegrad[notebooks]``) and, for the diagrams, Graphviz's ``dot`` (``diagrams=False``
        shows the text only). ``rankdir`` is "TB" (top to bottom, the default: the diagram
        sits beside the text) or "LR". The diagram fits its box (a toggle shows it at 100%,
        scrolled to the current node).
        """
        _check_interval(interval, "Stepper.widget")
        return stepper_widget(self, forward, interval, diagrams, rankdir)

    def to_html(self, path, overwrite=False, forward=False, interval=1000, title=None,
                diagrams=True, rankdir=None):
        """Write the step-through as one self-contained HTML page and return its path.

        SVG diagrams are inline and the controls are plain JavaScript: the page needs no
        network, server or Jupyter. Buttons, a slider, Play, and the keys ← → (Home, End,
        space to play); the diagram fills the window and fits it (a toggle shows it at 100%,
        scrolled so that the current node is in view). ``forward=True`` shows the
        forward pass first; ``interval`` is the time per step when playing, in ms;
        ``rankdir`` as for ``widget()``. An existing file is kept unless ``overwrite=True``.
        """
        _check_interval(interval, "Stepper.to_html")
        return write_page(self, path, overwrite, forward, interval, title, diagrams, rankdir)


class _Prefix(collections.abc.Sequence):
    """The first ``length`` items of a list shared by all forward frames (not a copy each:
    a graph of n nodes would need n² of them)."""

    def __init__(self, items, length):
        self._items, self._length = items, length

    def __len__(self):
        return self._length

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._items[:self._length][index]
        if not -self._length <= index < self._length:
            raise IndexError("frame values index out of range")
        return self._items[index % self._length]


def _check_title(view):
    """' (check: wrong)' after a step's title when the stepper has check_nodes results."""
    return "" if view.check is None else f" (check: {view.check[0]})"


def _check_interval(interval, caller):
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval >= 1:
        raise ValueError(f"{caller}: interval is the time per step when playing, in "
                         f"milliseconds, and must be at least 1; got {interval!r}")
