"""Train the course's INPUT-CONV-RELU-POOL-FC network on the 1,797 handwritten digits.

The digits are split once (seed 0, 20% held out for testing, the same split whatever
--seed is, so test accuracies are comparable); --seed draws the initial weights, the
order of the mini-batches and the dropout masks. A progress bar shows the running loss
and training accuracy of each epoch; at the end the accuracy on the held-out digits is
printed as "test accuracy: 0.9xxx" and the weights are saved with autograd.save,
with a diagram of the network (by layer) beside them as an .svg of the same name.

An existing weights file is never overwritten silently: without --force the weights go
to the first free name weights-1.npz, weights-2.npz, ... and the command says so.
Load them back with model.load_state_dict(autograd.serialization.load(path)) on
autograd.models.digits_cnn(MODEL).

examples:
  python -m autograd train
  python -m autograd train --model deeper --epochs 20
  python -m autograd train --optimizer sgd --lr 0.05 --out sgd.npz --force
"""

import argparse
import os
import time
from collections import OrderedDict

import numpy as np

from autograd.commands import add_output_arguments, free_name

HELP = "train the digits CNN, print its test accuracy and save its weights"

DEFAULT_LR = {"adam": 0.01, "sgd": 0.1}
SGD_MOMENTUM = 0.9


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def add_arguments(parser):
    parser.add_argument("--model", choices=("basic", "deeper"), default="basic",
                        help="basic: CONV(16 3x3)-RELU-POOL-FC; deeper: a second CONV(32)-RELU-POOL "
                             "block and dropout before FC (default basic)")
    parser.add_argument("--epochs", type=_positive_int, default=None,
                        help="passes over the training digits (default 15 for basic, 25 for deeper)")
    parser.add_argument("--lr", type=_positive_float, default=None,
                        help="learning rate (default 0.01 for adam, 0.1 for sgd)")
    parser.add_argument("--batch-size", type=_positive_int, default=32,
                        help="digits per mini-batch (default 32)")
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam",
                        help=f"adam, or sgd with momentum {SGD_MOMENTUM} (default adam)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for the initial weights, batch order and dropout (default 0)")
    add_output_arguments(parser, "weights.npz", "the weights")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar: one line per epoch instead")


DEFAULT_EPOCHS = {"basic": 15, "deeper": 25}


def accuracy(model, images, labels, batch_size=512):
    """Fraction of the images whose highest class score is the right label (eval mode, no tape)."""
    import autograd as ag

    was_training = model.training
    model.eval()
    correct = 0
    with ag.no_grad():
        for start in range(0, len(images), batch_size):
            scores = model(ag.Tensor(images[start:start + batch_size])).data
            correct += int((scores.argmax(axis=1) == labels[start:start + batch_size]).sum())
    model.train(was_training)
    return correct / len(images)


def train(model, x_train, y_train, epochs, optimizer, batch_size, seed, progress=True, log=print):
    """Mini-batch training with cross-entropy; returns the last epoch's (loss, accuracy)."""
    from tqdm import tqdm

    import autograd as ag
    from autograd import data, nn

    loss_fn = nn.CrossEntropyLoss()
    loader = data.batches(x_train, y_train, batch_size, seed=seed)
    model.train()
    for epoch in range(1, epochs + 1):
        total_loss = correct = seen = 0
        bar = tqdm(loader, desc=f"epoch {epoch:>{len(str(epochs))}}/{epochs}", unit="batch",
                   leave=True, disable=not progress, dynamic_ncols=True)
        for xb, yb in bar:
            scores = model(ag.Tensor(xb))
            loss = loss_fn(scores, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(yb)
            correct += int((scores.data.argmax(axis=1) == yb).sum())
            seen += len(yb)
            bar.set_postfix(OrderedDict(loss=f"{total_loss / seen:.4f}",
                                        accuracy=f"{correct / seen:.4f}"), refresh=False)
        bar.close()
        if not progress:
            log(f"epoch {epoch}/{epochs}: loss {total_loss / seen:.4f}, accuracy {correct / seen:.4f}")
    return total_loss / seen, correct / seen


def run(args):
    import autograd as ag
    from autograd import data, nn, optim
    from autograd.models import digits_cnn
    from autograd.serialization import save

    out = args.out
    folder = os.path.dirname(os.path.abspath(out))
    if os.path.isdir(out):
        print(f"error: --out {out} is a folder; give a file name such as "
              f"{os.path.join(out, 'weights.npz')}")
        return 2
    if not os.path.isdir(folder):
        print(f"error: cannot save to {out}: the folder {folder} does not exist")
        return 2

    epochs = args.epochs or DEFAULT_EPOCHS[args.model]
    lr = args.lr or DEFAULT_LR[args.optimizer]
    images, labels = data.load_digits()
    x_train, x_test, y_train, y_test = data.train_test_split(images, labels, test_fraction=0.2, seed=0)

    nn.manual_seed(args.seed)
    model = digits_cnn(args.model, rng=np.random.default_rng(args.seed))
    if args.optimizer == "adam":
        optimizer = optim.Adam(model.parameters(), lr=lr)
    else:
        optimizer = optim.SGD(model.parameters(), lr=lr, momentum=SGD_MOMENTUM)
    with ag.no_grad():
        model(ag.Tensor(x_train[:1]))  # one digit through, so the summary shows each layer's output
    print(model)
    print(f"training the {args.model} digits CNN on {len(x_train)} digits, testing on {len(x_test)}: "
          f"{epochs} epochs, batches of {args.batch_size}, {args.optimizer} lr {lr}, seed {args.seed}")

    start = time.perf_counter()
    train(model, x_train, y_train, epochs, optimizer, args.batch_size, args.seed,
          progress=not args.no_progress)
    print(f"trained in {time.perf_counter() - start:.1f} s")
    print(f"test accuracy: {accuracy(model, x_test, y_test):.4f}")

    if args.force:
        path = out
    else:
        path = free_name(out, reserve=True)
        if path != out:
            print(f"{out} exists; saving to {path} instead (--force overwrites)")
    try:
        save(model.state_dict(), path)
    except BaseException:
        if not args.force and os.path.exists(path) and os.path.getsize(path) == 0:
            os.remove(path)  # our empty placeholder
        raise
    print(f"saved the weights to {path}")
    write_diagram(model, x_test[:2], y_test[:2], os.path.splitext(path)[0] + ".svg", args.force)
    return 0


def write_diagram(model, images, labels, svg_path, force):
    """The trained network's graph next to the weights (never over an existing file unless --force)."""
    from autograd.commands.draw import draw_model
    from autograd.viz import GraphvizNotFound

    path = svg_path if force else free_name(svg_path, reserve=True)
    try:
        draw_model(model, images, labels, path, expand=False)
    except GraphvizNotFound as error:
        if os.path.exists(path) and os.path.getsize(path) == 0:
            os.remove(path)
        print(f"no diagram written: {error}")
        return None
    print(f"saved the diagram of the network to {path}")
    return path
