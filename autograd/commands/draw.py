"""Draw the digits CNN's computational graph: a forward pass on a few digits, the
cross-entropy loss and one backward, so values and every tensor's gradient show. --data mnist
draws the MNIST CNN on real 28x28 MNIST digits (the ones shipped with tapegrad).

Writes graph.svg in the current folder. An existing file is never overwritten silently:
without --force the diagram goes to the first free name graph-1.svg, graph-2.svg, ...
and the command says so. Needs Graphviz's `dot`:
apt-get install -y --no-install-recommends graphviz
"""

import os

from autograd.commands import CommandError, check_output, free_name, load_weights, positive_int

HELP = "draw the digits CNN's graph with values and gradients (graph.svg)"

FORMATS = ("svg", "png", "pdf")
DATA = ("digits", "mnist")


def add_arguments(parser):
    parser.add_argument("--out", default=None,
                        help="file to write (default graph.svg, or graph.FORMAT with --format)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite --out if it exists (otherwise a new name is chosen)")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="image format (default: from the extension of --out, else svg)")
    view = parser.add_mutually_exclusive_group()
    view.add_argument("--expand", dest="expand", action="store_true", default=True,
                      help="every node inside each layer's box (default)")
    view.add_argument("--by-layer", dest="expand", action="store_false",
                      help="one box per layer: the whole network at a glance")
    parser.add_argument("--images", action="store_true",
                        help="draw image-shaped tensors as pictures inside the diagram "
                             "(with --by-layer, each layer's output in its box)")
    parser.add_argument("--check", action="store_true",
                        help="check each node's backward against central differences: green "
                             "passed, red failed, grey not checked")
    parser.add_argument("--data", choices=DATA, default="digits",
                        help="whose images and network: the 8x8 digits, or the shipped 28x28 "
                             "MNIST digits and the MNIST CNN (default digits)")
    parser.add_argument("--model", choices=("basic", "deeper"), default="basic",
                        help="which network (default basic; see `train --model`)")
    parser.add_argument("--weights", default=None,
                        help="trained weights (.npz written by `train`) to load first")
    parser.add_argument("--batch-size", type=positive_int, default=2,
                        help="how many digits go through the network (default 2)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for the initial weights (default 0)")


def output_path(out, format):
    """The file to write: ``out`` as given, else graph.svg (graph.png with format='png')."""
    if out is not None:
        return out
    return f"graph.{format or 'svg'}"


def draw_model(model, images, labels, path, expand=True, format=None, pictures=False,
               check=False):
    """Forward ``images`` through ``model``, cross-entropy with ``labels``, backward, and
    render the graph to exactly ``path``; returns the path. ``train`` can call this to put
    the diagram next to the weights. ``pictures`` and ``check`` are ``draw``'s ``images``
    and ``check`` (the latter from ``autograd.check_nodes``). Raises
    ``autograd.viz.GraphvizNotFound`` without dot.
    """
    import autograd as ag
    from autograd import functional as F
    from autograd.viz import draw, render

    images = ag.Tensor(images, name="images")
    labels = ag.Tensor(labels, name="labels")
    parameters = list(model.parameters())
    earlier = [p.grad for p in parameters]
    for p in parameters:  # the picture shows this batch's gradients alone
        p.grad = None
    try:
        loss = F.cross_entropy(model(images), labels)
        loss.backward(retain_grads=True)  # every tensor's gradient, not the leaves' alone
        checks = ag.check_nodes(loss) if check else None
        diagram = draw(loss, expand=expand, images=pictures, check=checks)
    finally:
        for p, grad in zip(parameters, earlier):  # leave the model's gradients as they were
            p.grad = grad
    return render(diagram, path, format)


def run(args):
    from autograd import data, models
    from autograd.viz import GraphvizNotFound

    out = output_path(args.out, args.format)
    check_output(out, "graph.svg")
    if args.format is None and os.path.splitext(out)[1][1:].lower() not in FORMATS:
        raise CommandError(f"cannot tell the image format from --out {out}: end it in .svg, .png "
                           "or .pdf, or pass --format")
    model = models.for_data(args.data, args.model, rng=args.seed)
    if args.weights is not None:
        load_weights(model, args.weights, args.data, args.model, supported=DATA)
    if args.data == "mnist":  # the test digits of `train --data mnist`: the file is sorted by label
        from autograd.commands.train import load_data
        _, _, images, labels, _ = load_data("mnist")
    else:
        images, labels = data.load_digits()
    path = out if args.force else free_name(out, reserve=True)  # reserved: an empty file
    if path != out:
        print(f"{out} exists; writing {path} instead (--force overwrites)")
    try:
        draw_model(model, images[:args.batch_size], labels[:args.batch_size], path,
                   expand=args.expand, format=args.format, pictures=args.images,
                   check=args.check)
    except BaseException as error:
        if not args.force and os.path.exists(path) and os.path.getsize(path) == 0:
            os.remove(path)  # our placeholder
        if isinstance(error, GraphvizNotFound):
            raise CommandError(str(error), code=1) from None
        raise
    view = "expanded" if args.expand else "by layer"
    extras = "".join([", with pictures" if args.images else "",
                      ", each node checked" if args.check else ""])
    mnist = "MNIST " if args.data == "mnist" else ""
    print(f"wrote {os.path.abspath(path)}: the {args.model} {mnist}CNN's graph, {view}{extras}, "
          f"on {min(args.batch_size, len(images))} {mnist}digits")
    return 0
