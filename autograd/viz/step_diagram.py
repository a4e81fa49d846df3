"""A stepper frame's diagram as SVG text, for the Jupyter widget and the HTML page.

The diagram is ``draw(output)`` with the frame's node highlighted and the gradients known
at that point written on the tensors. Rendering needs Graphviz's ``dot``; without it the
error says how to install it, or to leave the diagrams out.
"""

import graphviz

from .draw import draw


class DiagramsNeedGraphviz(graphviz.ExecutableNotFound):
    """The step-through's diagrams need Graphviz's ``dot`` program, which is not on PATH."""

    def __init__(self):  # graphviz.ExecutableNotFound formats its own text from args
        RuntimeError.__init__(
            self, "the step-through's diagrams need Graphviz's dot program, which was not found "
                  "on PATH: install it with apt-get install -y --no-install-recommends graphviz "
                  "(as root), or pass diagrams=False for the text alone")


def frame_svg(output, frame, rankdir=None):
    """The diagram of ``output`` for one frame, as SVG text, and the DOT id of the node to
    keep in view (the frame's ``highlight``; None without one).

    The frame's ``highlight`` is emphasised, its ``grads`` written in red, only the
    values of its ``values`` shown (all when None), and the nodes coloured by its ``check``.
    """
    values = frame.get("values")
    # Top to bottom by default: the diagram sits beside the text, in a box taller than wide.
    digraph = draw(output, highlight=frame["highlight"], grads=frame["grads"],
                   rankdir=rankdir or "TB", show_values=True if values is None else values,
                   check=frame.get("check"))
    focus = digraph.highlighted[0] if digraph.highlighted else None
    return render_svg(digraph), focus


def render_svg(digraph):
    """The diagram as SVG text (just the <svg> element), or a clear error without Graphviz."""
    try:
        svg = digraph.pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound as error:
        raise DiagramsNeedGraphviz() from error
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg
