"""python -m autograd train: a short run that really learns, the saved weights, never overwriting, --help."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from autograd.__main__ import main
from autograd.commands.train import accuracy
from autograd.data import load_digits, train_test_split
from autograd.models import digits_cnn
from autograd.serialization import load

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def train(capsys, *args):
    code = main(["train", "--no-progress", *map(str, args)])
    out = capsys.readouterr().out
    return code, out


def printed_accuracy(out):
    found = re.findall(r"^test accuracy: (0\.\d{4})$", out, re.MULTILINE)
    assert len(found) == 1, out
    return float(found[0])


def test_two_epochs_learn_the_digits_and_save_weights_that_reproduce_the_accuracy(tmp_path, capsys):
    path = tmp_path / "w.npz"
    code, out = train(capsys, "--epochs", 2, "--out", path)
    assert code == 0
    score = printed_accuracy(out)
    assert score > 0.9  # chance is 0.1
    assert "epoch 2/2: loss" in out and f"saved the weights to {path}" in out
    assert "total: 2,730 parameters" in out  # the model summary
    model = digits_cnn()
    model.load_state_dict(load(path))
    images, labels = load_digits()
    _, x_test, _, y_test = train_test_split(images, labels, test_fraction=0.2, seed=0)
    assert accuracy(model, x_test, y_test) == pytest.approx(score, abs=5e-5)


def test_the_same_seed_gives_the_same_weights(tmp_path, capsys):
    train(capsys, "--epochs", 1, "--seed", 3, "--out", tmp_path / "a.npz")
    train(capsys, "--epochs", 1, "--seed", 3, "--out", tmp_path / "b.npz")
    train(capsys, "--epochs", 1, "--seed", 4, "--out", tmp_path / "c.npz")
    a, b, c = (load(tmp_path / f"{n}.npz") for n in "abc")
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert not np.array_equal(a["fc.weight"], c["fc.weight"])


def test_never_overwrites_silently_and_force_does(tmp_path, capsys):
    path = tmp_path / "weights.npz"
    path.write_bytes(b"precious")
    code, out = train(capsys, "--epochs", 1, "--out", path)
    assert code == 0 and path.read_bytes() == b"precious"
    assert f"{path} exists; saving to {tmp_path / 'weights-1.npz'} instead (--force overwrites)" in out
    assert set(load(tmp_path / "weights-1.npz")) == {"conv.weight", "conv.bias", "fc.weight", "fc.bias"}
    code, out = train(capsys, "--epochs", 1, "--out", path)
    assert "saving to" in out and (tmp_path / "weights-2.npz").exists()
    assert path.read_bytes() == b"precious"
    code, out = train(capsys, "--epochs", 1, "--out", path, "--force")
    assert code == 0 and "instead" not in out
    assert "conv.weight" in load(path)
    assert sorted(os.listdir(tmp_path)) == ["weights-1.npz", "weights-1.svg", "weights-2.npz",
                                            "weights-2.svg", "weights.npz", "weights.svg"]


def test_the_diagram_is_written_beside_the_weights_and_never_over_a_users_file(tmp_path, capsys):
    mine = tmp_path / "weights.svg"
    mine.write_text("my own drawing")
    code, out = train(capsys, "--epochs", 1, "--out", tmp_path / "weights.npz")
    assert code == 0 and mine.read_text() == "my own drawing"
    assert f"saved the diagram of the network to {tmp_path / 'weights-1.svg'}" in out
    svg = (tmp_path / "weights-1.svg").read_text()
    assert "<svg" in svg and "Conv2d" in svg and "Linear" in svg  # drawn by layer


def test_deeper_model_with_sgd(tmp_path, capsys):
    code, out = train(capsys, "--model", "deeper", "--epochs", 2, "--optimizer", "sgd",
                      "--out", tmp_path / "deep.npz")
    assert code == 0
    assert printed_accuracy(out) > 0.5
    assert "sgd lr 0.1" in out and "(dropout): Dropout(p=0.25)" in out
    assert set(load(tmp_path / "deep.npz")) == {"conv1.weight", "conv1.bias", "conv2.weight",
                                                "conv2.bias", "fc.weight", "fc.bias"}


def test_bad_output_folder_fails_before_training(tmp_path, capsys):
    code, out = train(capsys, "--out", tmp_path / "missing" / "w.npz")
    assert code == 2 and "folder" in out and "does not exist" in out and "epoch" not in out
    code, out = train(capsys, "--out", tmp_path)
    assert code == 2 and "is a folder" in out


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "--epochs: must be a positive integer, got 0"),
    (["--lr", "-1"], "--lr: must be a positive number, got -1"),
    (["--batch-size", "0"], "--batch-size: must be a positive integer"),
    (["--model", "huge"], "invalid choice: 'huge'"),
])
def test_bad_arguments_are_usage_errors(args, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", *args])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--model", "--epochs", "--lr", "--batch-size", "--seed", "--optimizer",
                   "--out", "--force", "--no-progress"):
        assert option in text
    assert "{basic,deeper}" in text and "{adam,sgd}" in text
    assert "test accuracy" in text and "never overwritten" in text


def test_the_real_command_shows_a_progress_bar(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "autograd", "train", "--epochs", "1", "--out", "w.npz"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")})
    assert result.returncode == 0, result.stderr
    assert re.search(r"epoch 1/1: 100%.*45/45.*loss=\d\.\d{4}, accuracy=0\.\d{4}", result.stderr)
    assert re.search(r"^test accuracy: 0\.\d{4}$", result.stdout, re.MULTILINE)
    assert (tmp_path / "w.npz").exists()
