"""draw and step with --data mnist: real 28x28 MNIST digits through the MNIST CNN."""

import shutil

import numpy as np
import pytest

from autograd.__main__ import main
from autograd.commands.step import cnn_example


def test_draw_with_mnist_draws_the_mnist_cnn_on_mnist_digits(tmp_path, monkeypatch, capsys):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    monkeypatch.chdir(tmp_path)
    assert main(["draw", "--data", "mnist", "--by-layer"]) == 0
    out = capsys.readouterr().out
    assert "the basic MNIST CNN's graph, by layer, on 2 MNIST digits" in out
    svg = (tmp_path / "graph.svg").read_text()
    assert "conv2" in svg and "(2, 16, 7, 7)" in svg and "(2, 1, 28, 28)" in svg  # the MNIST network
    assert "(2, 1, 8, 8)" not in svg


def test_draw_with_mnist_takes_different_digits_not_the_first_rows_of_the_sorted_file():
    from autograd.commands.train import load_data
    _, _, images, labels, _ = load_data("mnist")
    assert len(set(labels[:10].tolist())) > 3


def test_step_through_the_mnist_cnn(tmp_path, capsys):
    loss, title = cnn_example(seed=0, data="mnist")
    assert title.startswith("the MNIST CNN on 2 MNIST digits")
    out = tmp_path / "step.html"
    assert main(["step", "--data", "mnist", "--text-only", "--out", str(out)]) == 0
    page = out.read_text()
    assert "the MNIST CNN on 2 MNIST digits" in page
    assert "⟨2×1×28×28⟩" in page and "⟨2×784⟩" in page  # the images, and the flattened maps before FC
    assert "backward steps" in capsys.readouterr().out
    digits, _ = cnn_example(seed=0)
    assert digits.item() != pytest.approx(loss.item())  # a different network on different images
    assert np.isfinite(loss.item()) and 0.5 < loss.item() < 5  # an untrained net: about log 10
