"""Train a CNN of the course (INPUT-CONV-RELU-POOL-FC) on handwritten digits, MNIST or CIFAR-10.

--data picks the data set and its model (autograd.models):
  digits   the 1,797 8x8 digits shipped with tapegrad, split once (seed 0, 20% held out
           for testing, the same split whatever --seed is, so test accuracies are comparable)
  mnist    without --data-path, the 5,000 MNIST digits shipped with tapegrad, split the same
           way but stratified (4,000 to train, 1,000 to test, 100 of each digit); with
           --data-path DIR, the folder of MNIST's four IDX files (or Fashion-MNIST's): the
           official 60,000 to train, 10,000 to test
  cifar10  --data-path is CIFAR-10's binary version, cifar-10-binary.tar.gz as downloaded
           from https://www.cs.toronto.edu/~kriz/cifar.html or the folder it unpacks to: the
           official 50,000 to train, 10,000 to test

--seed draws the initial weights, the order of the mini-batches and the dropout masks.
A progress bar shows each epoch's running loss and training accuracy; after each epoch
a line gives the epoch's loss and training accuracy (averaged over its batches, as the
weights moved) and the accuracy on the test images. At the end the test accuracy is
printed as "test accuracy: 0.9xxx" and the weights are saved with autograd.save, with a
diagram of the network (by layer) beside them as an .svg of the same name.

An existing weights file is never overwritten silently: without --force the weights go
to the first free name weights-1.npz, weights-2.npz, ... and the command says so.
--onnx PATH also writes the trained model as ONNX (for onnxruntime or any runtime; needs
pip install tapegrad[onnx]), by the same rule.
Load them back with model.load_state_dict(autograd.serialization.load(path)) on
autograd.models.for_data(DATA, MODEL).

examples:
  python -m autograd train
  python -m autograd train --data mnist
  python -m autograd train --data mnist --data-path ~/data/mnist --epochs 3
  python -m autograd train --data cifar10 --data-path cifar-10-binary.tar.gz --model deeper
  python -m autograd train --model deeper --epochs 20
  python -m autograd train --optimizer sgd --lr 0.05 --out sgd.npz --force
  python -m autograd train --onnx model.onnx
"""

import os
import time
from collections import OrderedDict

import numpy as np

from autograd.commands import (DATA_NAMES, CommandError, add_output_arguments, check_output,
                               free_name, positive_float, positive_int)

HELP = "train a CNN on the digits, MNIST or CIFAR-10, print its test accuracy and save its weights"

SGD_MOMENTUM = 0.9
# Per data set: the default epochs for each model, and the default learning rate for each
# optimizer (the 28x28 and 32x32 networks need smaller steps than the 8x8 one).
DEFAULT_EPOCHS = {"digits": {"basic": 15, "deeper": 25}, "mnist": {"basic": 10, "deeper": 10},
                  "cifar10": {"basic": 10, "deeper": 15}}
DEFAULT_LR = {"digits": {"adam": 0.01, "sgd": 0.1}, "mnist": {"adam": 0.002, "sgd": 0.05},
              "cifar10": {"adam": 0.001, "sgd": 0.01}}


def _defaults(table):
    return "; ".join(f"{name}: " + ", ".join(f"{value} for {key}" for key, value in row.items())
                     for name, row in table.items())


def add_arguments(parser):
    parser.add_argument("--data", choices=tuple(DATA_NAMES), default="digits",
                        help="the data set (default digits): digits and 5,000 MNIST digits ship "
                             "with tapegrad; the full MNIST and CIFAR-10 come from --data-path")
    parser.add_argument("--data-path", default=None, metavar="PATH",
                        help="mnist: the folder of MNIST's IDX files; cifar10 (required): "
                             "cifar-10-binary.tar.gz or the folder it unpacks to")
    parser.add_argument("--model", choices=("basic", "deeper"), default="basic",
                        help="basic: the data set's INPUT-CONV-RELU-POOL-FC network; deeper: more "
                             "layers and dropout (see autograd.models; default basic)")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help="passes over the training images (default "
                             f"{_defaults(DEFAULT_EPOCHS)})")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help=f"learning rate (default {_defaults(DEFAULT_LR)})")
    parser.add_argument("--batch-size", type=positive_int, default=32,
                        help="images per mini-batch (default 32)")
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam",
                        help=f"adam, or sgd with momentum {SGD_MOMENTUM} (default adam)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for the initial weights, batch order and dropout (default 0)")
    add_output_arguments(parser, "weights.npz", "the weights")
    parser.add_argument("--onnx", default=None, metavar="PATH",
                        help="also write the trained model as ONNX to PATH, for onnxruntime "
                             "(needs pip install tapegrad[onnx]; a new name if PATH exists, "
                             "unless --force)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar: one line per epoch only")


def load_data(name, path=None):
    """``(x_train, y_train, x_test, y_test, description)`` for the data set ``name``.

    Raises ``autograd.data.DataFileError`` for files that cannot be read.
    """
    from autograd import data

    if name == "digits":
        images, labels = data.load_digits()
        x_train, x_test, y_train, y_test = data.train_test_split(images, labels, 0.2, seed=0)
        where = "the shipped digits"
    elif name == "mnist" and path is None:
        images, labels = data.load_mnist()
        x_train, x_test, y_train, y_test = data.train_test_split(images, labels, 0.2, seed=0,
                                                                 stratify=True)
        where = "the shipped MNIST digits"
    else:
        load = data.load_mnist if name == "mnist" else data.load_cifar10
        x_train, y_train = load(path, split="train")
        x_test, y_test = load(path, split="test")
        where = f"{DATA_NAMES[name]} from {path}"
    description = f"{len(x_train):,} images of {where}, testing on {len(x_test):,}"
    return x_train, y_train, x_test, y_test, description


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


def train(model, x_train, y_train, epochs, optimizer, batch_size, seed, progress=True, log=print,
          test=None):
    """Mini-batch training with cross-entropy; returns the last epoch's (loss, accuracy).

    After each epoch ``log`` gets a line with the epoch's loss and training accuracy (over
    its batches, as the weights moved) and, if ``test`` is ``(x_test, y_test)``, the
    accuracy on those.
    """
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
        line = f"epoch {epoch}/{epochs}: loss {total_loss / seen:.4f}, train accuracy {correct / seen:.4f}"
        if test is not None:
            line += f", test accuracy {accuracy(model, *test):.4f}"
        log(line)
    return total_loss / seen, correct / seen


def run(args):
    import autograd as ag
    from autograd import nn, optim
    from autograd.data import DataFileError
    from autograd.models import for_data
    from autograd.serialization import save

    out = args.out
    check_output(out, "weights.npz")  # before training, not after
    if args.onnx is not None:
        check_output(args.onnx, "model.onnx", "--onnx")
        from autograd.onnx import require
        try:
            require("--onnx")
        except ImportError as error:
            raise CommandError(str(error)) from None
    if args.data == "cifar10" and args.data_path is None:
        from autograd.data.cifar10 import CIFAR10_URL
        raise CommandError(f"--data cifar10 reads the files you have: download CIFAR-10's binary "
                           f"version ({CIFAR10_URL}, 162 MB) and pass --data-path "
                           "cifar-10-binary.tar.gz (or the folder it unpacks to)")
    if args.data == "digits" and args.data_path is not None:
        raise CommandError("--data-path is for --data mnist or cifar10; the digits ship with tapegrad")

    try:
        x_train, y_train, x_test, y_test, description = load_data(args.data, args.data_path)
    except DataFileError as error:
        raise CommandError(str(error)) from None
    epochs = args.epochs or DEFAULT_EPOCHS[args.data][args.model]
    lr = args.lr or DEFAULT_LR[args.data][args.optimizer]

    nn.manual_seed(args.seed)
    model = for_data(args.data, args.model, rng=np.random.default_rng(args.seed))
    if args.optimizer == "adam":
        optimizer = optim.Adam(model.parameters(), lr=lr)
    else:
        optimizer = optim.SGD(model.parameters(), lr=lr, momentum=SGD_MOMENTUM)
    with ag.no_grad():
        model(ag.Tensor(x_train[:1]))  # one image through, so the summary shows each layer's output
    print(model)
    print(f"training the {args.model} {DATA_NAMES[args.data]} CNN on {description}: "
          f"{epochs} epochs, batches of {args.batch_size}, {args.optimizer} lr {lr}, seed {args.seed}")

    start = time.perf_counter()
    train(model, x_train, y_train, epochs, optimizer, args.batch_size, args.seed,
          progress=not args.no_progress, test=(x_test, y_test))
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
    except BaseException as error:
        if not args.force and os.path.exists(path) and os.path.getsize(path) == 0:
            os.remove(path)  # our empty placeholder
        if isinstance(error, OSError):  # a full disk, say: the machine's problem, not a bug
            raise CommandError(f"cannot save the weights to {path}: {error.strerror or error}",
                               code=1) from None
        raise
    print(f"saved the weights to {path}")
    write_diagram(model, x_test[:2], y_test[:2], os.path.splitext(path)[0] + ".svg", args.force)
    if args.onnx is not None:
        write_onnx(model, x_test[:2], args.onnx, args.force)
    return 0


def write_onnx(model, images, out, force):
    """The trained model as ONNX (batch size open), never over an existing file unless --force."""
    from autograd.onnx import OnnxError, export

    path = out if force else free_name(out, reserve=True)
    if path != out:
        print(f"{out} exists; saving the ONNX model to {path} instead (--force overwrites)")
    try:
        export(model, images, path, input_names=["images"], output_names=["scores"])
    except BaseException as error:
        if not force and os.path.exists(path) and os.path.getsize(path) == 0:
            os.remove(path)  # our empty placeholder
        if isinstance(error, OnnxError):
            raise CommandError(str(error), code=1) from None
        raise
    print(f"saved the model as ONNX to {path} (input 'images' (N, ...), output 'scores')")
    return path


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
