"""autograd.models: one CNN per data set, basic and deeper, with the shapes and sizes their docstrings give."""

import numpy as np
import pytest

import autograd as ag
from autograd import models

SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


@pytest.mark.parametrize("data, kind, parameters, names", [
    ("digits", "basic", 2_730, ["conv", "relu", "pool", "flatten", "fc"]),
    ("digits", "deeper", 6_090, ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten",
                                 "dropout", "fc"]),
    ("mnist", "basic", 11_274, ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc"]),
    ("mnist", "deeper", 215_370, ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1",
                                  "relu3", "dropout", "fc2"]),
    ("cifar10", "basic", 31_642, ["conv", "relu", "pool", "flatten", "fc"]),
    ("cifar10", "deeper", 25_578, ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten",
                                   "dropout", "fc"]),
])
def test_each_model_maps_its_images_to_ten_scores(data, kind, parameters, names):
    model = models.for_data(data, kind, rng=0)
    assert [name for name, _ in model.named_children()] == names
    assert model.num_parameters() == parameters
    assert f"{parameters:,} parameters" in (getattr(models, f"{data}_cnn").__doc__)
    images = np.random.default_rng(0).random((3,) + SHAPES[data], dtype=np.float32)
    model.eval()
    with ag.no_grad():
        scores = model(ag.tensor(images)).data
    assert scores.shape == (3, 10) and np.isfinite(scores).all()


def test_the_first_pooled_maps_of_the_course_networks():
    mnist = models.mnist_cnn(rng=0)
    cifar = models.cifar10_cnn(rng=0)
    with ag.no_grad():
        assert mnist.pool1(mnist.relu1(mnist.conv1(ag.tensor(np.zeros((1, 1, 28, 28)))))).shape == (1, 8, 14, 14)
        assert cifar.pool(cifar.relu(cifar.conv(ag.tensor(np.zeros((1, 3, 32, 32)))))).shape == (1, 12, 16, 16)


def test_the_same_seed_gives_the_same_weights_and_the_digits_models_are_unchanged():
    a, b, c = models.mnist_cnn(rng=3), models.mnist_cnn(rng=3), models.mnist_cnn(rng=4)
    for (name, p), (_, q), (_, r) in zip(a.named_parameters(), b.named_parameters(), c.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
        assert not np.array_equal(p.data, r.data)
    # the digits networks draw their weights in the same order as before the models were shared
    model = models.digits_cnn("deeper", rng=np.random.default_rng(0))
    rng = np.random.default_rng(0)
    bound = 1 / np.sqrt(1 * 3 * 3)
    np.testing.assert_array_equal(model.conv1.weight.data,
                                  rng.uniform(-bound, bound, (16, 1, 3, 3)).astype(np.float32))


def test_unknown_kinds_and_data_sets():
    with pytest.raises(ValueError, match="mnist_cnn: kind must be one of 'basic', 'deeper', got 'big'"):
        models.mnist_cnn("big")
    with pytest.raises(ValueError, match="no model for the data set 'imagenet'; the data sets are "
                                         "'digits', 'mnist', 'cifar10'"):
        models.for_data("imagenet")
