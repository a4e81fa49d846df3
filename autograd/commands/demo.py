"""Build the course's small graph f = W2 max(0, W1 x), backpropagate, print every gradient.

The default seed gives a hidden layer where 3 of the 4 units are positive, so gradients
flow through most of the graph; the one unit that is 0 shows what a ReLU does to a
gradient, and the demo says so.
"""

import textwrap

import numpy as np

import autograd as ag

HELP = "a small graph, its forward values and its gradients"

SEED = 1  # hidden units 3 of 4 positive; seed 0 leaves 3 of 4 at 0, and most gradients with them


def add_arguments(parser):
    parser.add_argument("--seed", type=int, default=SEED,
                        help=f"seed for the random x and weights (default {SEED})")


def course_graph(seed=SEED):
    """x (3 values), W1 (4x3), W2 (1x4) drawn with ``seed`` and rounded to 2 decimals, and
    f = W2 max(0, W1 x) recorded on them: returns x, W1, W2, max(0, W1 x), f."""
    rng = np.random.default_rng(seed)
    x = ag.tensor(rng.normal(size=(3,)).round(2), name="x")
    w1 = ag.tensor(rng.normal(size=(4, 3)).round(2), requires_grad=True, name="W1")
    w2 = ag.tensor(rng.normal(size=(1, 4)).round(2), requires_grad=True, name="W2")
    hidden = ag.maximum(0.0, w1 @ x)
    return x, w1, w2, hidden, (w2 @ hidden).sum()


def run(args):
    x, w1, w2, hidden, f = course_graph(args.seed)
    f.backward()
    with np.printoptions(precision=4, suppress=True):
        print("f = W2 max(0, W1 x)")
        for label, t in (("x", x), ("W1", w1), ("W2", w2), ("max(0, W1 x)", hidden), ("f", f)):
            print(f"{label} =\n{t.data + 0.0}")  # + 0.0: a zero prints as 0, never -0
        print("gradients after f.backward():")
        for label, t in (("df/dW1", w1), ("df/dW2", w2)):
            print(f"{label} =\n{t.grad + 0.0}")
    pre_activation = w1.data @ x.data
    dead = [int(i) for i in np.flatnonzero(pre_activation <= 0)]
    if dead:
        units = ", ".join(str(i + 1) for i in dead)
        plural = "s" if len(dead) > 1 else ""
        print(textwrap.fill(
            f"hidden unit{plural} {units}: W1 x <= 0, so max(0, W1 x) is 0 there and passes "
            f"no gradient back: row{plural} {units} of df/dW1 and entr{'ies' if plural else 'y'} "
            f"{units} of df/dW2 are 0. That is what a ReLU does; a unit that is 0 for every "
            "input never learns (a \"dead\" unit).", width=88))
    return 0
