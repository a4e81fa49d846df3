"""Views of the recorded graph: networkx export and Graphviz diagrams.

They only read the graph (never change or release it) and never recurse over it.

``to_networkx(output)``  the graph as a bipartite ``networkx.DiGraph``
``draw(output, ...)``    a ``graphviz.Digraph`` with values, gradients and module clusters
``render(diagram, path)``  write exactly ``path`` (svg, png, pdf from the extension)
``tensor_ids(output)``   ``{id(tensor): "t{k}"}``: the ids tensors have in both views;
                         op nodes are ``n{seq}`` (``node_id(node)``)
"""

from .draw import Diagram, GraphvizNotFound, INSTALL_COMMAND, draw, format_array, render
from .graph import node_id, tensor_ids, to_networkx, walk

__all__ = ["to_networkx", "draw", "render", "tensor_ids", "node_id", "walk", "Diagram",
           "GraphvizNotFound", "INSTALL_COMMAND", "format_array"]
