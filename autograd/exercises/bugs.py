"""Find the bug: the course's small CNN on a batch of digits, with one node's backwardPass
deliberately wrong. The wrong node looks like the built-in one (same class name, op name,
symbol and rules); ``autograd.check_nodes`` and the stepper find it.

The wrong variants live here, never in ``nodes/``: each subclasses a built-in node and
changes one step of its backward pass.
"""

import numpy as np

import nodes

from .. import functional as F
from ..data import load_digits
from ..tape import apply, graph_nodes
from ..tensor import Tensor


# Named as the built-in classes, so neither a repr nor a diagram gives them away.
class ConvolutionNode(nodes.ConvolutionNode):
    def backwardPass(self, dz):
        dx, dw, *rest = super().backwardPass(dz)
        return (dx, dw.swapaxes(-1, -2), *rest)  # the bug: dw[k, c, n, m] for dw[k, c, m, n]


class MaxNode(nodes.MaxNode):
    def backwardPass(self, dz):
        dx, _ = super().backwardPass(dz)
        return dx, dz  # the bug: ReLU passes dz everywhere, also where the 0 won


class MaxPoolNode(nodes.MaxPoolNode):
    saved = nodes.MaxPoolNode.saved + ("x",)  # released after backward, as the others

    def forwardPass(self, x):
        self.x = x
        return super().forwardPass(x)

    def backwardPass(self, dz):
        (Fh, Fw), x = self.kernel, self.x
        dx = np.zeros(x.shape, dtype=np.result_type(x, dz))
        b, c = np.indices(x.shape[:2])
        for i in range(dz.shape[2]):
            for j in range(dz.shape[3]):
                # the bug: window (i, j) read from (i, j), the stride forgotten
                window = x[:, :, i:i + Fh, j:j + Fw].reshape(x.shape[:2] + (-1,))
                m, n = np.divmod(window.argmax(axis=2), Fw)
                dx[b, c, i + m, j + n] += dz[:, :, i, j]
        return (dx,)


class LogSoftmaxNode(nodes.LogSoftmaxNode):
    def backwardPass(self, dz):
        return (dz - np.exp(self.z),)  # the bug: exp(z) · Σ dz with the Σ dz forgotten


BUGS = {
    "conv": (ConvolutionNode, "its backwardPass transposes the filter in dw: dw[k, c, n, m] "
             "where the rule gives dw[k, c, m, n] = Σ x_pad[S·i+m, S·j+n] · dz[i, j]"),
    "max": (MaxNode, "it is the ReLU, max(0, y), and its backwardPass sends dz to y "
            "everywhere, also where the 0 won: dy = [0 < y] · dz"),
    "maxpool": (MaxPoolNode, "its backwardPass forgets the stride: window (i, j) starts at "
                "(S·i, S·j), so its maximum is at x[S·i+m, S·j+n], not x[i+m, j+n]"),
    "log_softmax": (LogSoftmaxNode, "its backwardPass forgets Σ dz: dx = dz - exp(z) · Σ dz"),
}
PUZZLES = list(BUGS)  # find_the_bug(1) is the conv, 2 the ReLU ...


class Answer:
    """What ``Puzzle.answer`` says: ``ok`` and the text."""

    def __init__(self, ok, message):
        self.ok, self.message = ok, message

    def __str__(self):
        return self.message

    __repr__ = __str__

    def __bool__(self):
        return self.ok


class Puzzle:
    """A graph with one wrong node: ``loss`` (a Tensor), its ``parameters``; find the node
    and pass it (a Node, a NodeCheck, or its sequence number) to ``answer``."""

    def __init__(self, number, loss, parameters, wrong_node, explanation):
        self.number, self.loss, self.parameters = number, loss, parameters
        self._wrong, self._explanation = wrong_node, explanation

    def __repr__(self):
        return (f"<Puzzle {self.number}: one node of the graph behind .loss has a wrong "
                "backwardPass; find it with ag.check_nodes(puzzle.loss)>")

    def answer(self, guess):
        """Is ``guess`` (a Node, a NodeCheck, or a sequence number) the wrong node?"""
        if isinstance(guess, (int, np.integer)) and not isinstance(guess, bool):
            seq = int(guess)
        elif isinstance(getattr(guess, "node", None), nodes.Node):
            seq = guess.node._seq
        elif isinstance(guess, nodes.Node):
            seq = getattr(guess, "_seq", None)
        else:
            return Answer(False, f"find the bug: answer takes a node, a NodeCheck or a sequence "
                          f"number, got {type(guess).__name__}")
        wrong = self._wrong
        if seq not in [node._seq for node in graph_nodes(self.loss)]:
            return Answer(False, f"#{seq} is not a node of the graph behind puzzle.loss; "
                          "ag.check_nodes(puzzle.loss) lists its nodes with their numbers")
        if seq == wrong._seq:
            return Answer(True, f"Right: {wrong.name} #{wrong._seq} is the wrong one: "
                          f"{self._explanation}.")
        return Answer(False, f"Not #{seq}: that node's backwardPass is the built-in one. "
                      "ag.check_nodes(puzzle.loss) checks every node; draw it with "
                      "ag.draw(puzzle.loss, check=...) and look for the red node.")

    def reveal(self):
        """The wrong node, and what is wrong with it."""
        return self.answer(self._wrong)


def find_the_bug(number=1, batch=8, seed=0):
    """Puzzle ``number`` (1 to 4): the course's INPUT-CONV-RELU-POOL-FC network on ``batch``
    digits with a cross-entropy loss, one of whose nodes has a wrong backwardPass."""
    if isinstance(number, bool) or number not in range(1, len(PUZZLES) + 1):
        raise ValueError(f"find_the_bug: number must be 1 to {len(PUZZLES)}, got {number!r}")
    kind = PUZZLES[number - 1]
    variant, explanation = BUGS[kind]
    images, labels = load_digits()
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(images), size=batch, replace=False)
    x = Tensor(images[picked].astype(np.float64), name="images")
    w = Tensor(rng.normal(0, 0.5, size=(4, 1, 3, 3)), requires_grad=True, name="w")
    b = Tensor(rng.normal(0, 0.1, size=4), requires_grad=True, name="b")
    W = Tensor(rng.normal(0, 0.2, size=(64, 10)), requires_grad=True, name="W")
    c = Tensor(np.zeros(10), requires_grad=True, name="c")

    def make(built_in, *args):
        return variant(*args) if variant.__mro__[1] is built_in else built_in(*args)

    conv = make(nodes.ConvolutionNode, 1, 1)
    relu, pool = make(nodes.MaxNode), make(nodes.MaxPoolNode, 2)
    log_softmax = make(nodes.LogSoftmaxNode, 1)
    hidden = apply(pool, apply(relu, 0.0, apply(conv, x, w, b)))     # CONV-RELU-POOL
    scores = hidden.reshape(batch, -1) @ W + c                         # FC
    loss = F.nll_loss(apply(log_softmax, scores), labels[picked])
    wrong = {"conv": conv, "max": relu, "maxpool": pool, "log_softmax": log_softmax}[kind]
    return Puzzle(number, loss, [w, b, W, c], wrong, explanation)
