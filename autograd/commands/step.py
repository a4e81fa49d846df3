"""Write backprop, step by step, as one HTML page that any browser opens (no network).

By default the graph is the course's small network f = W2 max(0, W1 x) with arrays
small enough to show every number; --cnn steps through the default digits CNN on a
batch of 2 digits with a cross-entropy loss (shapes and summaries instead of numbers);
--cnn --data mnist through the MNIST CNN on 2 real 28x28 MNIST digits.
An existing page is never overwritten silently: a new name is chosen unless --force.
"""

import graphviz
import numpy as np

import autograd as ag
from autograd.commands import (CommandError, add_output_arguments, check_output, output_name,
                               positive_int)

HELP = "write an HTML page that steps through backprop node by node"


def add_arguments(parser):
    parser.add_argument("--cnn", action="store_true",
                        help="step through the default digits CNN (2 digits, cross-entropy) "
                             "instead of the small f = W2 max(0, W1 x)")
    parser.add_argument("--data", choices=("digits", "mnist"), default=None,
                        help="with --cnn: the 8x8 digits and their CNN (default), or 28x28 MNIST "
                             "digits and the MNIST CNN (implies --cnn)")
    add_output_arguments(parser, "step.html", "the page")
    parser.add_argument("--forward", action="store_true",
                        help="show the forward pass node by node before the backward pass")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed for the weights and the digits picked (default: 1 for "
                             "f = W2 max(0, W1 x), as in `demo`; 0 for the CNN)")
    parser.add_argument("--interval", type=positive_int, default=1000,
                        help="milliseconds per step when playing (default 1000)")
    parser.add_argument("--text-only", action="store_true",
                        help="leave out the diagrams (no Graphviz needed)")


def small_example(seed=None):
    """The course's f = W2 max(0, W1 x), as `demo` builds it: x has 3 values, W1 is 4x3,
    W2 is 1x4; the default seed leaves 3 of the 4 hidden units positive."""
    from autograd.commands.demo import SEED, course_graph

    f = course_graph(SEED if seed is None else seed)[-1]
    return f, "f = W2 max(0, W1 x), step by step"


def cnn_example(seed=0, data="digits"):
    """The default CNN for ``data`` ("digits" or "mnist") on 2 of its images, with the cross-entropy loss."""
    from autograd import functional as F
    from autograd import nn
    from autograd.data import load_digits, load_mnist
    from autograd.models import for_data

    if hasattr(nn, "manual_seed"):
        nn.manual_seed(seed)
    model = for_data(data)
    images, labels = load_mnist() if data == "mnist" else load_digits()
    pick = np.random.default_rng(seed).choice(len(images), size=2, replace=False)
    loss = F.cross_entropy(model(ag.tensor(images[pick])), labels[pick])
    name = "the MNIST CNN on 2 MNIST digits" if data == "mnist" else "the digits CNN on 2 digits"
    return loss, f"{name}, with cross-entropy, step by step"


def run(args):
    from autograd.viz.stepper import Stepper

    check_output(args.out, "step.html")
    cnn = args.cnn or args.data is not None
    if cnn:
        output, title = cnn_example(0 if args.seed is None else args.seed, args.data or "digits")
    else:
        output, title = small_example(args.seed)
    path = output_name(args.out, args.force)
    stepper = Stepper(output)
    try:
        stepper.to_html(path, overwrite=args.force, forward=args.forward, interval=args.interval,
                        title=title, diagrams=not args.text_only)
    except graphviz.ExecutableNotFound as error:  # say how to install it, or go without
        raise CommandError(f"{error} (here: --text-only)", code=1) from None
    steps = len(stepper.all_steps())
    print(f"wrote {path}: {steps} backward steps"
          + (f" after {len(stepper.nodes)} forward steps" if args.forward else "")
          + "; open it in a browser (arrow keys step)")
    return 0
