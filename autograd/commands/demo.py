"""Build the course's small graph f = W2 max(0, W1 x), backpropagate, print every gradient."""

import numpy as np

import autograd as ag

HELP = "a small graph, its forward values and its gradients"


def add_arguments(parser):
    parser.add_argument("--seed", type=int, default=0, help="seed for the random weights (default 0)")


def run(args):
    rng = np.random.default_rng(args.seed)
    x = ag.tensor(rng.normal(size=(3,)).round(2), name="x")
    w1 = ag.tensor(rng.normal(size=(4, 3)).round(2), requires_grad=True, name="W1")
    w2 = ag.tensor(rng.normal(size=(1, 4)).round(2), requires_grad=True, name="W2")
    hidden = ag.maximum(0.0, w1 @ x)
    f = (w2 @ hidden).sum()
    f.backward()
    print("f = W2 max(0, W1 x)")
    for label, t in (("x", x), ("W1", w1), ("W2", w2), ("max(0, W1 x)", hidden), ("f", f)):
        print(f"{label} =\n{t.data}")
    print("gradients after f.backward():")
    for label, t in (("df/dW1", w1), ("df/dW2", w2)):
        print(f"{label} =\n{t.grad}")
    return 0
