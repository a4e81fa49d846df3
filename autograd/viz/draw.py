"""draw: the recorded graph as a Graphviz diagram, with values, gradients and layers.

Tensors are rounded boxes (parameters yellow, inputs and constants grey, the output
green), ops are blue ellipses labelled with the course's symbol, the node's name and its
sequence number. Gradients appear in red once known. Each Module that ran is a cluster
(nested like the modules); ``expand=False`` draws each leaf module as one box.

A small graph is drawn left to right. A larger one is drawn top to bottom so that it
grows downwards only (a browser shows its full width and scrolls one way): each tensor on
one line, each op drawn together with the tensor it made (the op in a blue cell, its result
right under it), and an unnamed scalar constant (the 0 of max(0, x)) written in its op.
That halves the rows: the digits CNN and its layer view fit a laptop's window.

DOT node ids are stable: tensors ``t{k}`` (see ``autograd.viz.graph.tensor_ids``), ops
``n{seq}``, collapsed modules ``m{k}``, so frames of one graph line up; top to bottom, the
tensor an op made is part of the op's node ``n{seq}``.

Labels are Graphviz HTML-like labels. Where a label changes font (bold, colour, size)
the SVG gets a separate text element, and a browser drops a plain space at its start:
those spaces are no-break spaces (``NBSP``), or "conv Conv2d" reads "convConv2d".
"""

import collections
import html
import os
import warnings

import graphviz
import numpy as np

import nodes

from ..checks import NodeChecks
from ..tensor import Tensor
from .graph import SMALL_ARRAY, argument_names, grad_of, node_id, role, walk
from .numbers import number, written_out
from .pictures import dot_pictures, image_shaped, pipe_with_images

INSTALL_COMMAND = "apt-get install -y --no-install-recommends graphviz"
DEFAULT_MAX_NODES = 1500  # dot lays out ~1,500 nodes in a few seconds here; 5,000 take 14 s

FONT = "Helvetica,Arial,sans-serif"
# 9 pt: dot measures text with hinted glyph widths, a browser draws it unhinted; at 9 pt
# (12 px) the hinted widths are the wider ones, so text stays inside its box in a browser
# (at 10 pt digits measure 6% narrower than Chromium draws them and long lines overflow).
FONT_SIZE, SMALL_FONT_SIZE = "9", "8"
NBSP = "&#160;"  # between two runs of a label: a run's leading plain space is dropped in SVG
LINE_CHARS = 48  # top to bottom, a small array is written out when it fits on a line this long
LR_MAX_UNITS = 6  # by default left to right up to this many ops (or layer boxes), else top down
GRAD_COLOR = "#c62828"        # gradients: the second colour
OP_FILL, OP_BORDER = "#dbe9f8", "#4a78a8"
ROLE_FILL = {"parameter": "#fff1bf", "input": "#ececec", "intermediate": "#ffffff",
             "output": "#dcf1dc"}
HIGHLIGHT_COLOR, HIGHLIGHT_FILL = "#ff6f00", "#ffe0b2"
CLUSTER_FILLS = ("#f6f6f6", "#edf2fa", "#fbf3e8", "#eef7ee")
NOTE_COLOR = "#8e2424"
# draw(check=...): an op whose backward check_nodes found ok, wrong, or could not check
CHECK_FILL = {"ok": "#c8e6c9", "wrong": "#ffcdd2", "other": "#e0e0e0"}
CHECK_BORDER = {"ok": "#2e7d32", "wrong": "#c62828", "other": "#9e9e9e"}
# an op's check as drawn: kind "ok", "wrong" or "other", its colours, tooltip, label line or ''
_Mark = collections.namedtuple("_Mark", "kind fill border tooltip line")


class GraphvizNotFound(graphviz.ExecutableNotFound):
    """Rendering needs Graphviz's ``dot`` program, which is not on PATH."""

    def __init__(self, args=None):  # graphviz.ExecutableNotFound formats its own text from args
        RuntimeError.__init__(
            self,
            "Graphviz is missing: its `dot` program was not found on PATH, so the diagram "
            "cannot be rendered (the DOT text is still available as .source). Install it "
            f"with:\n    {INSTALL_COMMAND}\n(as root on Debian/Ubuntu; `brew install graphviz` "
            "on macOS), then try again.")


class Diagram(graphviz.Digraph):
    """The ``graphviz.Digraph`` that ``draw`` returns.

    It differs in two ways. ``render(path)`` (or ``render(path, format="png")``) writes
    exactly ``path``, the format taken from its extension (svg, png, pdf ...); other
    arguments get graphviz's own ``render``. Without Graphviz installed, rendering raises
    ``GraphvizNotFound`` with the command to install it, and Jupyter shows that message
    instead of an error traceback.
    """

    highlighted = ()  # DOT ids of the nodes drawn emphasised (``draw(highlight=...)``)

    images = {}  # draw(images=True): the PNG files the DOT text names, {name: bytes}

    def pipe(self, *args, **kwargs):
        try:
            if self.images:  # written where dot finds them; in SVG inlined as data: URIs
                return pipe_with_images(graphviz.Digraph.pipe, self, self.images, args, kwargs)
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            if isinstance(error, GraphvizNotFound):
                raise
            raise GraphvizNotFound() from error

    def render(self, filename=None, *args, **kwargs):
        if filename is not None and not args and set(kwargs) <= {"format"}:
            return render(self, filename, kwargs.get("format"))
        try:
            return super().render(filename, *args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            if isinstance(error, GraphvizNotFound):
                raise
            raise GraphvizNotFound() from error

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except GraphvizNotFound as error:
            return {"text/plain": f"{error}\n\n(DOT source: {len(self.source)} characters "
                                  "in .source)"}


def render(digraph, path, format=None):
    """Render ``digraph`` to exactly ``path`` and return the path.

    The format comes from the extension (``.svg``, ``.png``, ``.pdf`` ...) unless
    ``format`` is given. Unlike ``graphviz.Digraph.render``, no suffix is added and no DOT
    source file is left beside it. Raises ``GraphvizNotFound`` when ``dot`` is missing.
    """
    path = os.fspath(path)
    if format is None:
        extension = os.path.splitext(path)[1][1:].lower()
        if extension not in graphviz.FORMATS:
            raise ValueError(f"render: cannot tell the image format from the path {path!r}; "
                             "end it in .svg, .png or .pdf, or pass format='svg'")
        format = extension
    elif format not in graphviz.FORMATS:
        raise ValueError(f"render: unknown format {format!r}; use 'svg', 'png' or 'pdf'")
    try:
        data = digraph.pipe(format=format)
    except graphviz.ExecutableNotFound as error:
        if isinstance(error, GraphvizNotFound):
            raise
        raise GraphvizNotFound() from error
    with open(path, "wb") as file:
        file.write(data)
    return path


# ---------------------------------------------------------------- text in labels

def summary_text(array):
    """'min -0.136  mean -0.0111  max 0.163' (3 significant digits, no -0.0)."""
    array = np.asarray(array)
    if array.dtype.kind == "b":
        return f"{int(array.sum())} of {array.size} true"
    low, mean, high = (number(float(v), 3) for v in (array.min(), array.mean(), array.max()))
    return f"min {low}  mean {mean}  max {high}"


def format_array(array, small=SMALL_ARRAY, max_lines=6, one_line=False, width=None):
    """The array's values for a label: whole when small, else a min/mean/max summary.

    Whole means at most ``small`` elements printing on at most ``max_lines`` lines (a bias
    of shape (1, 16, 1, 1) would take 16 lines: it gets the summary), one row of a matrix a
    line, of at most ``width`` characters when given; with ``one_line``, on one line of at
    most ``LINE_CHARS`` characters. Numbers as ``numbers.number`` writes them.
    """
    array = np.asarray(array)
    if array.size == 0:
        return f"empty {array.shape}"
    if array.size <= small:
        if one_line:
            text = written_out(array)
            if len(text) <= LINE_CHARS:
                return text
        else:
            text = np.array2string(array, separator=", ", formatter={"all": number},
                                   max_line_width=10_000 if width else 75)
            lines = text.splitlines()
            if len(lines) <= max_lines and (width is None
                                            or max(len(line) for line in lines) <= width):
                return text
    return summary_text(array)


def _shape_text(array, usual_dtype):
    text = "scalar" if array.ndim == 0 else str(array.shape)
    if array.dtype != usual_dtype:
        text += f" {array.dtype}"
    return text


def _html_lines(lines):
    """Graphviz HTML-like label: each line left-aligned (lines are already escaped)."""
    return "<" + "".join(f'{line}<BR ALIGN="LEFT"/>' for line in lines) + ">"


def _escaped(text):
    """Escaped lines; a line's leading spaces as no-break spaces (SVG drops plain ones)."""
    lines = []
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        lines.append(NBSP * (len(line) - len(stripped)) + html.escape(stripped))
    return lines


def _grad_lines(grad, small=SMALL_ARRAY, one_line=False, width=None):
    text = _escaped(format_array(grad, small, one_line=one_line, width=width))
    if len(text) == 1:
        text[0] = "grad " + text[0]
    else:
        text.insert(0, "grad")
    # (an empty FONT element is a syntax error to dot: numpy leaves blank lines in 4-d arrays)
    return [f'<FONT COLOR="{GRAD_COLOR}">{line}</FONT>' if line else "" for line in text]


def _with_pictures(label, pictures):
    """An HTML-like label, and under it the table rows of ``_Drawing._pictures`` if any."""
    if not pictures:
        return label
    return (f'<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0"><TR><TD ALIGN="LEFT" '
            f'BALIGN="LEFT">{label[1:-1]}</TD></TR>{pictures}</TABLE>>')


def layout_direction(units, rankdir=None):
    """``rankdir`` as given, else left to right for a few ops, top to bottom for more.

    ``units`` is how many ops (or layer boxes) the diagram shows. Top to bottom, a diagram
    grows downwards only: a browser window shows its full width and scrolls one way.
    """
    if rankdir is None:
        return "LR" if units <= LR_MAX_UNITS else "TB"
    return rankdir


# ---------------------------------------------------------------- the drawing

class _Module:
    __slots__ = ("path", "kind", "parent", "index", "has_children")

    def __init__(self, path, kind, parent, index):
        self.path, self.kind, self.parent, self.index = path, kind, parent, index
        self.has_children = False


def draw(output, show_values=True, show_grads=True, group_by_layer=True, expand=True,
         rankdir=None, highlight=None, grads=None, max_nodes=DEFAULT_MAX_NODES, check=None,
         images=False):
    """Draw the graph leading to ``output`` (a Tensor); return a ``graphviz.Digraph``.

    show_values     tensor values (16 elements or fewer) or min/mean/max summaries; or a
                    collection of tensors whose values to show (the step-through's forward
                    pass shows a value once its node has run), the others their shape only
    show_grads      gradients, in red, where known: ``.grad`` after backward (leaves and
                    retained tensors; nothing before backward), or ``grads``
    grads           a mapping Tensor -> array shown INSTEAD of ``.grad`` (the step-through
                    passes the gradients known so far); an empty dict shows none
    group_by_layer  one cluster per Module, nested like the modules
    expand          False draws each leaf module (Conv2d, Linear ...) as one box
    rankdir         "LR" (left to right) or "TB" (top to bottom); by default left to right
                    for up to 6 ops (or layer boxes), else top to bottom with each tensor
                    on one line, so the diagram grows downwards only
    highlight       a Node or Tensor (or several) drawn emphasised, orange
    check           the results of ``autograd.check_nodes(output)``: each op green when its
                    backwardPass agreed with differences (the error in its tooltip), red
                    with the error when it did not, grey when it was not checked
    max_nodes       a graph with more tensors + ops than this falls back to the layer
                    view, then to the part nearest the output, with a note and a warning
    images          True draws each tensor shaped like images ((N, C, H, W) or (C, H, W),
                    H and W up to 64; not a 1-D conv's or pool's signals) as small heatmaps,
                    one per image and channel (a conv's filters: one per filter), its
                    gradient too: white is 0, red positive, blue negative, one colour scale
                    per tensor; the first 2 images and 16 channels (16 filters of 4
                    channels), as the node says; with expand=False, a layer's output in its box

    The result has ``.source`` (DOT text) even without Graphviz; ``.render("g.svg")`` or
    ``autograd.viz.render(diagram, path)`` writes a file, and Jupyter shows it inline.
    Drawing only reads the graph: backward afterwards gives the same gradients.
    """
    if rankdir not in (None, "LR", "RL", "TB", "BT"):
        raise ValueError(f"draw: rankdir must be 'LR', 'RL', 'TB' or 'BT' (or None to choose "
                         f"by size), got {rankdir!r}")
    if not isinstance(show_values, bool):
        try:
            shown = list(show_values)
        except TypeError:
            raise TypeError(f"draw: show_values must be True, False or a collection of Tensors, "
                            f"got {type(show_values).__name__}") from None
        if not all(isinstance(t, Tensor) for t in shown):
            raise TypeError("draw: show_values must be True, False or a collection of Tensors")
        show_values = {id(t) for t in shown}
    if grads is not None and not hasattr(grads, "get"):
        raise TypeError(f"draw: grads must be a mapping Tensor -> array (or None for .grad), "
                        f"got {type(grads).__name__}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"draw: max_nodes must be a positive integer, got {max_nodes!r}")
    if check is not None and not isinstance(check, NodeChecks):
        raise TypeError(f"draw: check takes the results of autograd.check_nodes(output), got "
                        f"{type(check).__name__}")
    drawing = _Drawing(walk(output, "draw"), show_values, show_grads, group_by_layer, expand,
                       rankdir, highlight, grads, max_nodes)
    drawing.check = check
    drawing.images, drawing.image_files = bool(images), {}
    return drawing.diagram()


class _Drawing:
    """Decides what is drawn where (clusters, collapsed modules, the node budget); emits DOT."""

    check = None  # check_nodes' results, to colour each op by (draw(check=...))
    images, image_files = False, None  # draw(images=True): pictures, the PNGs they name

    def __init__(self, graph_walk, show_values, show_grads, group_by_layer, expand, rankdir,
                 highlight, grads, max_nodes):
        self.walk = graph_walk
        self.show_values, self.show_grads = show_values, show_grads
        self.group_by_layer = group_by_layer
        self.grads, self.max_nodes = grads, max_nodes
        self.consumers = {}
        for op in graph_walk.ops:
            for tensor in op._inputs:
                users = self.consumers.setdefault(id(tensor), [])
                if not users or users[-1] is not op:
                    users.append(op)
        self._find_modules()
        self.highlighted = self._highlight_ids(highlight)
        self.notes = []
        total = len(graph_walk.ops) + len(graph_walk.tensors)
        layer_view = not expand and bool(self.modules)
        if expand and total > max_nodes and self.modules:
            layer_view = True
            self.notes.append(f"{total:,} tensors and ops are too many to lay out quickly "
                              f"(max_nodes={max_nodes:,}): showing the layer view")
        self._plan(layer_view)
        self.rankdir = layout_direction(len(self.units), rankdir)
        self.flat = self.rankdir in ("TB", "BT")  # one line per tensor: ranks are rows
        self.merged = {}  # unit id -> the tensor it made, drawn in the unit's node
        self.constants = {}  # op id -> [(argument name, constant)] written in the op's node
        if self.flat:
            self._merge_outputs()
        shown = len(self.units) + len(self.visible_tensors)
        if shown > max_nodes:
            self._keep_nearest_output()
            self.notes.append(f"{shown:,} nodes are too many to lay out quickly "
                              f"(max_nodes={max_nodes:,}): showing the {max_nodes:,} nearest "
                              "the output")
        for note in self.notes:
            warnings.warn(f"draw: {note}", stacklevel=3)

    # ------------------------------------------------------------ modules and clusters
    def _find_modules(self):
        """Every module path that made a node, with its parent path, from the nodes' scopes."""
        self.modules = {}
        for op in self.walk.ops:
            scope = op._scope
            while scope is not None and scope.path not in self.modules:
                parent = scope.parent
                while parent is not None and parent.path == scope.path:
                    parent = parent.parent
                parent_path = parent.path if parent is not None else None
                self.modules[scope.path] = _Module(scope.path, scope.kind, parent_path,
                                                   len(self.modules))
                scope = parent
        for module in self.modules.values():
            if module.parent is not None:
                self.modules[module.parent].has_children = True
        self._chains = {}

    def _chain(self, path):
        """[path, parent, grandparent, ...] up to the root module."""
        chain = self._chains.get(path)
        if chain is None:
            chain, step = [], path
            while step is not None:
                chain.append(step)
                step = self.modules[step].parent
            self._chains[path] = chain
        return chain

    def _common(self, paths):
        """The deepest module path enclosing all ``paths`` (None: the top level)."""
        common = None
        for number, path in enumerate(paths):
            if path is None:
                return None
            if number == 0:
                common = path
            elif path != common:
                enclosing = set(self._chain(path))
                common = next((p for p in self._chain(common) if p in enclosing), None)
                if common is None:
                    return None
        return common

    @staticmethod
    def _module_of(op):
        return op._scope.path if op._scope is not None else None

    # ------------------------------------------------------------ what is drawn
    def _plan(self, layer_view):
        """Units (op nodes or module boxes), visible tensors, their clusters and edges."""
        graph_walk = self.walk
        collapsed = ({path for path, m in self.modules.items() if not m.has_children}
                     if layer_view else set())
        unit_of = {}          # id(op) -> unit id
        self.units = {}       # unit id -> (kind, object, cluster, rank)
        self.box_ops = {}     # box id -> ops in it
        for op in graph_walk.ops:
            path = self._module_of(op)
            if path in collapsed:
                module = self.modules[path]
                unit = f"m{module.index}"
                self.box_ops.setdefault(unit, []).append(op)
                cluster = module.parent
            else:
                unit, cluster = node_id(op), path
            unit_of[id(op)] = unit
            self.units[unit] = ("box" if path in collapsed else "op",
                                self.modules[path] if path in collapsed else op,
                                cluster if self.group_by_layer else None, op._seq)
        self.box_params = {}
        self.visible_tensors = {}   # tensor id -> (tensor, cluster, rank)
        output = graph_walk.output
        for tensor in graph_walk.tensors:
            key = graph_walk.ids[id(tensor)]
            touching = list(self.consumers.get(id(tensor), ()))
            if tensor._node is not None:
                touching.append(tensor._node)
            units = {unit_of[id(op)] for op in touching}
            if (collapsed and tensor is not output and len(units) == 1
                    and next(iter(units)).startswith("m") and self._part_of_box(tensor)):
                if tensor._node is None and tensor._requires_grad:
                    self.box_params.setdefault(next(iter(units)), []).append(tensor)
                continue
            cluster = None
            if self.group_by_layer and touching:
                cluster = self._common([self.units[unit_of[id(op)]][2] for op in touching])
            if tensor._node is not None:
                rank = tensor._node._seq + 0.5
            else:
                rank = min(op._seq for op in touching) - 0.5 if touching else 0
            self.visible_tensors[key] = (tensor, cluster, rank)
        self.edges = []   # (from, to, head label or None)
        seen = set()
        ids = graph_walk.ids
        for op in graph_walk.ops:
            unit = unit_of[id(op)]
            names = argument_names(op) if len(op._inputs) > 1 and not unit.startswith("m") else None
            for position, tensor in enumerate(op._inputs):
                key = ids[id(tensor)]
                if key not in self.visible_tensors:
                    continue
                edge = (key, unit, names[position] if names else None)
                if names is None:
                    if edge in seen:
                        continue
                    seen.add(edge)
                self.edges.append(edge)
            result = graph_walk.outputs[id(op)]
            key = ids[id(result)]
            if key in self.visible_tensors and (unit, key) not in seen:
                seen.add((unit, key))
                self.edges.append((unit, key, None))

    def _merge_outputs(self):
        """Top to bottom, an op (or a layer's box) and the tensor it made are one node, the
        result right under the op: half as many rows, so a small CNN fits one screen."""
        made = {}
        for tail, head, _ in self.edges:
            if tail in self.units and head in self.visible_tensors:
                made.setdefault(tail, []).append(head)
        into = {}
        for unit, keys in made.items():
            if len(keys) == 1:  # a box whose layer hands on two tensors keeps them apart
                into[keys[0]] = unit
                self.merged[unit] = self.visible_tensors.pop(keys[0])[0]
        self.edges = [(into.get(tail, tail), head, name) for tail, head, name in self.edges
                      if head not in into]
        self.highlighted = {into.get(key, key) for key in self.highlighted}
        # An unnamed scalar constant (the 0 of max(0, x), the -1/N of a mean) is written in
        # its op's node instead of a row of its own above it.
        uses = {}
        for tail, head, name in self.edges:
            if tail in self.visible_tensors:
                uses.setdefault(tail, []).append((head, name))
        for key, tensor_uses in uses.items():
            tensor = self.visible_tensors[key][0]
            head, name = tensor_uses[0]
            if (len(tensor_uses) == 1 and key not in self.highlighted and tensor.name is None
                    and tensor._node is None and not tensor._requires_grad
                    and tensor.data.size == 1 and self.units.get(head, ("box",))[0] == "op"):
                self.constants.setdefault(head, []).append((name, tensor))
                del self.visible_tensors[key]
        self.edges = [edge for edge in self.edges if edge[0] not in uses
                      or edge[0] in self.visible_tensors]

    @staticmethod
    def _part_of_box(tensor):
        """Hidden inside a module's box: intermediates, parameters, unnamed scalar constants."""
        if tensor._node is not None or tensor._requires_grad:
            return True
        return tensor.name is None and tensor.data.size == 1

    def _keep_nearest_output(self):
        """Keep the ``max_nodes`` units and tensors with the largest sequence numbers."""
        ranked = [(rank, key) for key, (_, _, _, rank) in self.units.items()]
        ranked += [(rank, key) for key, (_, _, rank) in self.visible_tensors.items()]
        ranked.sort(reverse=True)
        kept = {key for _, key in ranked[:self.max_nodes]}
        self.units = {k: v for k, v in self.units.items() if k in kept}
        self.visible_tensors = {k: v for k, v in self.visible_tensors.items() if k in kept}
        self.edges = [e for e in self.edges if e[0] in kept and e[1] in kept]

    def _highlight_ids(self, highlight):
        if highlight is None:
            return set()
        items = [highlight] if isinstance(highlight, (nodes.Node, Tensor)) else list(highlight)
        op_ids = {id(op) for op in self.walk.ops}
        found = set()
        for item in items:
            if isinstance(item, Tensor):
                key = self.walk.ids.get(id(item))
                if key is None:
                    raise ValueError(f"draw: highlight: a tensor of shape {item.shape} is not "
                                     "in the graph leading to this output")
            elif isinstance(item, nodes.Node):
                if id(item) not in op_ids:
                    raise ValueError(f"draw: highlight: {item!r} is not in the graph leading "
                                     "to this output")
                key = node_id(item)
            else:
                raise TypeError(f"draw: highlight takes Nodes or Tensors (or a list of them), "
                                f"got {type(item).__name__}")
            found.add(key)
        return found

    # ------------------------------------------------------------ DOT
    def diagram(self):
        # Top to bottom the rows are one line high: tight spacing keeps a CNN on one screen.
        # ordering=in: a node's inputs in argument order (images, weight, bias; x above y).
        spacing = ({"nodesep": "0.18", "ranksep": "0.15"} if self.flat
                   else {"nodesep": "0.25", "ranksep": "0.35"})
        diagram = Diagram(
            name="tapegrad",
            graph_attr={"rankdir": self.rankdir, "fontname": FONT, "fontsize": FONT_SIZE,
                        "ordering": "in", **spacing},
            node_attr={"fontname": FONT, "fontsize": FONT_SIZE, "height": "0.2",
                       "width": "0.3"},
            edge_attr={"color": "#555555", "arrowsize": "0.6", "fontname": FONT,
                       "fontsize": SMALL_FONT_SIZE, "fontcolor": "#555555"})
        if self.notes:
            diagram.attr("graph", label=" ".join(self.notes), labelloc="t",
                         fontcolor=NOTE_COLOR)
        containers, used = {None: diagram}, set()

        def container(path):
            if path not in containers:
                module = self.modules[path]
                depth = len(self._chain(path)) - 1
                if path and module.kind:
                    title = f"{path}: {module.kind}"
                else:
                    title = path or module.kind or "model"
                containers[path] = graphviz.Digraph(
                    name=f"cluster_{module.index}",
                    graph_attr={"label": title, "labeljust": "l", "style": "rounded,filled",
                                "fillcolor": CLUSTER_FILLS[depth % len(CLUSTER_FILLS)],
                                "color": "#9e9e9e", "fontcolor": "#333333",
                                "fontsize": FONT_SIZE, "margin": "4"})
            if path is not None and path not in used:
                used.update(self._chain(path))
            return containers[path]

        # Declared in tape order (dot places earlier declarations first within a rank).
        declared = [(rank, key) for key, (_, _, rank) in self.visible_tensors.items()]
        declared += [(rank, key) for key, (_, _, _, rank) in self.units.items()]
        declared.sort()
        for _, key in declared:
            if key in self.visible_tensors:
                tensor, cluster, _ = self.visible_tensors[key]
                attributes = self._tensor_attributes(key, tensor)
            else:
                kind, item, cluster, _ = self.units[key]
                attributes = (self._op_attributes(key, item) if kind == "op"
                              else self._box_attributes(key, item))
            container(cluster).node(key, **attributes)
        # Nest the clusters, innermost first so that each is complete when added to its parent.
        for path in sorted(used, key=lambda p: -len(self._chain(p))):
            container(self.modules[path].parent).subgraph(container(path))
        diagram.highlighted = sorted(self.highlighted)  # DOT ids: what a view scrolls to
        if self.image_files:
            diagram.images = self.image_files
        drawn_inputs = {}
        for tail, head, name in self.edges:
            drawn_inputs[head] = drawn_inputs.get(head, 0) + 1
        for tail, head, name in self.edges:
            if name is None or (self.flat and drawn_inputs[head] == 1):
                diagram.edge(tail, head)  # short edges: a lone input needs no name
            else:
                # top to bottom the edges are short: the name right by the arrow's head
                diagram.edge(tail, head, headlabel=name,
                             labeldistance="1" if self.flat else "1.6")
        return diagram

    def _emphasis(self, key, attributes):
        if key in self.highlighted:
            attributes.update(color=HIGHLIGHT_COLOR, penwidth="3", fillcolor=HIGHLIGHT_FILL)
        return attributes

    def _shows_value(self, tensor):
        if isinstance(self.show_values, bool):
            return self.show_values
        return id(tensor) in self.show_values

    def _tensor_lines(self, tensor, kind, one_line=False):
        """A tensor's name, shape and values (on one line with ``one_line``), its gradient."""
        data = tensor.data
        parts = []
        title = tensor.name or ("output" if kind == "output" else None)
        if title:
            parts.append(f"<B>{html.escape(str(title))}</B>")
        shows_value = self._shows_value(tensor)
        constant = kind == "input" and title is None and data.size == 1
        if not (constant and shows_value):  # a constant: just its value
            parts.append(html.escape(_shape_text(data, self.walk.output.data.dtype)))
        heading = len(parts)
        if shows_value:
            parts += _escaped(format_array(data, one_line=one_line,
                                           width=LINE_CHARS if self.flat else None))
        if one_line:
            lines = [(NBSP + NBSP).join(parts)]
        elif self.flat:  # name and shape on one line, then the values (a matrix by rows)
            lines = [(NBSP + NBSP).join(parts[:heading])] + parts[heading:]
        else:
            lines = parts
        if self.show_grads:
            grad = grad_of(tensor, self.grads)
            if grad is not None:
                lines += _grad_lines(grad, one_line=one_line,
                                     width=LINE_CHARS if self.flat else None)
        return lines

    def _pictures(self, tensor):
        """draw(images=True): table rows of the tensor's value and gradient as pictures ('' for
        a tensor not shaped like images, or one a 1-D conv or pool made or takes: signals)."""
        if not self.images or not image_shaped(tensor.data.shape):
            return ""
        touching = self.consumers.get(id(tensor), [])
        if any(getattr(op, "spatial", None) == 1 for op in touching + [tensor._node]):
            return ""
        filters = any(isinstance(op, nodes.ConvolutionNode) and op._inputs[1] is tensor
                      for op in touching)
        tables = []
        if self._shows_value(tensor):
            tables.append(dot_pictures(tensor.data, self.image_files, filters))
        grad = grad_of(tensor, self.grads) if self.show_grads else None
        if grad is not None:
            tables.append(dot_pictures(grad, self.image_files, filters, gradient=True))
        return "".join(f'<TR><TD ALIGN="LEFT">{table}</TD></TR>' for table in tables)

    def _tensor_attributes(self, key, tensor):
        kind = role(tensor, self.walk.output)
        label = _with_pictures(_html_lines(self._tensor_lines(tensor, kind)),
                               self._pictures(tensor))
        attributes = {"label": label, "shape": "box",
                      "style": "rounded,filled", "fillcolor": ROLE_FILL[kind],
                      "color": "#777777"}
        if kind == "output":
            attributes["penwidth"] = "2"
        return self._emphasis(key, attributes)

    def _op_attributes(self, key, op):
        name, symbol = op.name, op.symbol
        if symbol and symbol != name:
            head, detail = symbol, f"{name} #{op._seq}"
        else:
            head, detail = name, f"#{op._seq}"
        text = (f'<B>{html.escape(head)}</B>{NBSP if self.flat else "<BR/>"}'
                f'<FONT POINT-SIZE="{SMALL_FONT_SIZE}">{html.escape(detail)}</FONT>')
        for name, constant in self.constants.get(key, ()):
            value = html.escape(format_array(constant.data))
            text += NBSP + NBSP + (f"{html.escape(name)} = {value}" if name else value)
        checked = self._check_mark(op)
        if checked is not None and checked.line:
            text += (NBSP + NBSP if self.flat else "<BR/>") + checked.line
        if key in self.merged:
            attributes = {"label": self._merged_label(key, text, checked), "shape": "plain"}
        else:
            attributes = self._emphasis(key, {
                "label": f"<{text}>", "shape": "ellipse", "style": "filled",
                "fillcolor": OP_FILL, "color": OP_BORDER, "margin": "0.04,0.02"})
            if checked is not None:
                attributes["fillcolor"] = checked.fill
                if key not in self.highlighted:
                    attributes.update(color=checked.border, penwidth="2")
        if checked is not None:
            attributes["tooltip"] = checked.tooltip
        return attributes

    def _check_mark(self, op):
        """The op's ``_Mark`` under ``draw(check=...)`` (None without)."""
        if self.check is None:
            return None
        status, text = self.check.summary(op)
        kind = status if status in ("ok", "wrong") else "other"
        line = ""
        if status == "wrong":
            bad = [c for c in self.check.for_node(op) if c.status == "wrong"]
            slots = ", ".join(f"d{c.slot}" for c in bad)
            errors = [c.error for c in bad if c.error == c.error]  # nan: it raised
            error = f", error {number(max(errors), 3)}" if errors else ""
            line = (f'<FONT COLOR="{CHECK_BORDER["wrong"]}"><B>'
                    f'{html.escape(f"{slots} wrong{error}")}</B></FONT>')
        return _Mark(kind, CHECK_FILL[kind], CHECK_BORDER[kind], text, line)

    def _merged_label(self, key, op_text, checked=None):
        """The op in a blue cell (coloured by ``checked``, a ``_check_mark``), the tensor it
        made in the cell under it."""
        tensor = self.merged[key]
        kind = role(tensor, self.walk.output)
        lines = "".join(f'{line}<BR ALIGN="LEFT"/>'
                        for line in self._tensor_lines(tensor, kind, one_line=True))
        pictures = self._pictures(tensor)
        if pictures:  # a cell holds text or a table: the text and the pictures in a table
            lines = (f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>'
                     f'<TD ALIGN="LEFT" BALIGN="LEFT">{lines}</TD></TR>{pictures}</TABLE>')
        op_fill, op_color, tensor_color, border = OP_FILL, OP_BORDER, "#777777", 1
        if kind == "output":
            border = 2
        if checked is not None:
            op_fill, op_color = checked.fill, checked.border
        if key in self.highlighted:
            op_fill, op_color, tensor_color, border = (HIGHLIGHT_FILL, HIGHLIGHT_COLOR,
                                                       HIGHLIGHT_COLOR, 3)
            if checked is not None:
                op_fill = checked.fill  # the check's colour stays; the border says "here"
        return (f'<<TABLE BORDER="0" CELLBORDER="{border}" CELLSPACING="0" CELLPADDING="3">'
                f'<TR><TD STYLE="rounded" BGCOLOR="{op_fill}" COLOR="{op_color}">{op_text}</TD>'
                f'</TR><TR><TD STYLE="rounded" BGCOLOR="{ROLE_FILL[kind]}" '
                f'COLOR="{tensor_color}" ALIGN="LEFT" BALIGN="LEFT">{lines}</TD></TR></TABLE>>')

    def _box_attributes(self, key, module):
        ops = self.box_ops[key]
        title = f"<B>{html.escape(module.path)}</B>{NBSP}{html.escape(module.kind or '')}"
        names = html.escape(" ".join(op.name for op in ops))
        if self.flat:
            lines = [f'{title}{NBSP}{NBSP}<FONT POINT-SIZE="{SMALL_FONT_SIZE}">{names}</FONT>']
        else:
            lines = [title, names]
        pictures = ""
        if key in self.merged:  # the layer's output, with its values and gradient (pictures)
            result = self.merged[key]
            out = self._tensor_lines(result, role(result, self.walk.output), one_line=True)
            lines.append("out " + out[0])
            lines += out[1:]
            pictures = self._pictures(result)
        else:
            shapes = []
            for op in ops:
                result = self.walk.outputs[id(op)]
                if self.walk.ids[id(result)] in self.visible_tensors:
                    shape = "scalar" if result.data.ndim == 0 else str(result.data.shape)
                    if shape not in shapes:
                        shapes.append(shape)
            if shapes:
                lines.append(html.escape("out " + ", ".join(shapes)))
        prefix = module.path + "." if module.path else ""
        for parameter in self.box_params.get(key, ()):
            name = parameter.name or "parameter"
            if name.startswith(prefix):
                name = name[len(prefix):]
            lines.append(html.escape(f"{name} {parameter.data.shape}"))
            if self.show_grads:
                grad = grad_of(parameter, self.grads)
                if grad is not None:  # a box lists several: keep them short
                    grad_lines = _grad_lines(grad, small=4, one_line=self.flat)
                    if self.flat:
                        lines[-1] += NBSP + NBSP + grad_lines[0]
                    else:
                        lines += grad_lines
        attributes = {"shape": "box", "style": "filled", "fillcolor": OP_FILL,
                      "color": OP_BORDER, "penwidth": "1.5"}
        if self.check is not None:  # the box takes its worst op's colour; red ones listed
            marks = [(op, self._check_mark(op)) for op in ops]
            kinds = {mark.kind for _, mark in marks}
            worst = next(kind for kind in ("wrong", "other", "ok") if kind in kinds)
            attributes.update(fillcolor=CHECK_FILL[worst], color=CHECK_BORDER[worst])
            attributes["tooltip"] = "; ".join(f"{op.name} #{op._seq} {mark.tooltip}"
                                              for op, mark in marks)
            lines += [f"{html.escape(op.name)} #{op._seq}: {mark.line}"
                      for op, mark in marks if mark.line]
        attributes["label"] = _with_pictures(_html_lines(lines), pictures)
        if key in self.highlighted or any(node_id(op) in self.highlighted for op in ops):
            attributes.update(color=HIGHLIGHT_COLOR, penwidth="3", fillcolor=HIGHLIGHT_FILL)
        return attributes
