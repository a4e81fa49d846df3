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
    found = re.findall(r"^test accuracy: ([01]\.\d{4})$", out, re.MULTILINE)
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
    code = main(["train", "--no-progress", "--out", str(tmp_path / "missing" / "w.npz")])
    captured = capsys.readouterr()
    assert code == 2 and "epoch" not in captured.out
    assert captured.err == (f"error: cannot write {tmp_path / 'missing' / 'w.npz'}: the folder "
                            f"{tmp_path / 'missing'} does not exist; create it or choose another --out\n")
    code = main(["train", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err == (f"error: --out {tmp_path} is a folder; give a file name such as "
                            f"{tmp_path / 'weights.npz'}\n")


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "--epochs: must be a positive integer, got 0"),
    (["--epochs", "1e3"], "--epochs: must be a positive integer, got 1e3"),
    (["--lr", "fast"], "--lr: must be a positive number, got fast"),
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


# --- --data mnist and --data cifar10 ---------------------------------------------------

def idx_file(path, array):
    """MNIST's IDX format: 00 00 08 (unsigned bytes), the number of dimensions, the sizes, the bytes."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_one_epoch_on_the_shipped_mnist_learns_and_saves_weights_that_reproduce_it(tmp_path, capsys):
    path = tmp_path / "mnist.npz"
    code, out = train(capsys, "--data", "mnist", "--epochs", 1, "--out", path)
    assert code == 0
    assert "total: 11,274 parameters" in out and "(conv2): Conv2d(8, 16, kernel_size=5, padding=2)" in out
    assert "on 4,000 images of the shipped MNIST digits, testing on 1,000: 1 epochs" in out
    assert "adam lr 0.002" in out
    assert re.search(r"^epoch 1/1: loss \d\.\d{4}, train accuracy 0\.\d{4}, test accuracy 0\.\d{4}$",
                     out, re.MULTILINE)
    score = printed_accuracy(out)
    assert score > 0.85  # chance is 0.1; one epoch reaches about 0.93
    from autograd.data import load_mnist
    from autograd.models import mnist_cnn
    model = mnist_cnn()
    model.load_state_dict(load(path))
    images, labels = load_mnist()
    _, x_test, _, y_test = train_test_split(images, labels, test_fraction=0.2, seed=0, stratify=True)
    assert accuracy(model, x_test, y_test) == pytest.approx(score, abs=5e-5)


@pytest.mark.slow
def test_the_default_mnist_run_reaches_95_percent(tmp_path, capsys):
    """The README's figure: python -m autograd train --data mnist, 10 epochs, about 10-20 s here."""
    code, out = train(capsys, "--data", "mnist", "--out", tmp_path / "w.npz")
    assert code == 0 and "10 epochs" in out
    assert printed_accuracy(out) >= 0.95


def test_mnist_from_the_idx_files_of_a_folder(tmp_path, capsys):
    from autograd.data import load_mnist
    images, labels = load_mnist()
    pixels = np.round(images[:, 0] * 255).astype(np.uint8)
    pick = np.random.default_rng(0).permutation(5000)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for prefix, index in (("train", pick[:600]), ("t10k", pick[600:800])):
        idx_file(folder / f"{prefix}-images-idx3-ubyte", pixels[index])
        idx_file(folder / f"{prefix}-labels-idx1-ubyte", labels[index])
    code, out = train(capsys, "--data", "mnist", "--data-path", folder, "--epochs", 2,
                      "--out", tmp_path / "w.npz")
    assert code == 0
    assert f"on 600 images of MNIST from {folder}, testing on 200" in out
    assert printed_accuracy(out) > 0.5  # chance is 0.1


def cifar_folder(folder, per_batch=40, test=50, seed=0):
    """CIFAR-10's binary batches, small, with a signal a CNN can learn: class k is a red band at rows 3k-3k+2."""
    rng = np.random.default_rng(seed)
    folder.mkdir()
    for name, n in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", test)]:
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        pixels = rng.integers(0, 64, size=(n, 3, 32, 32)).astype(np.uint8)
        for image, label in zip(pixels, labels):
            image[0, 3 * label:3 * label + 3] = 200
        records = np.concatenate([labels[:, None], pixels.reshape(n, -1)], axis=1)
        (folder / f"{name}.bin").write_bytes(records.tobytes())
    return folder


def test_cifar10_from_a_folder_of_binary_batches(tmp_path, capsys):
    folder = cifar_folder(tmp_path / "cifar-10-batches-bin")
    code, out = train(capsys, "--data", "cifar10", "--data-path", folder, "--epochs", 3,
                      "--out", tmp_path / "c.npz")
    assert code == 0
    assert f"training the basic CIFAR-10 CNN on 200 images of CIFAR-10 from {folder}, testing on 50" in out
    assert "(conv): Conv2d(3, 12, kernel_size=5, padding=2)" in out and "total: 31,642 parameters" in out
    assert printed_accuracy(out) > 0.5  # chance is 0.1
    assert set(load(tmp_path / "c.npz")) == {"conv.weight", "conv.bias", "fc.weight", "fc.bias"}


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "autograd", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")})


def test_cifar10_without_a_path_says_where_to_get_the_binary_version(tmp_path):
    result = run_cli("train", "--data", "cifar10", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" in lines[0]
    assert "binary version" in lines[0] and "--data-path cifar-10-binary.tar.gz" in lines[0]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("args, message", [
    (["--data", "cifar10", "--data-path", "missing"], "missing: no such file or folder"),
    (["--data", "mnist", "--data-path", "."], "has no train-images-idx3-ubyte"),
    (["--data", "digits", "--data-path", "."], "--data-path is for --data mnist or cifar10"),
])
def test_bad_data_paths_are_one_line_errors_without_a_traceback(tmp_path, args, message):
    result = run_cli("train", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert os.listdir(tmp_path) == []


def test_a_broken_cifar10_batch_is_a_one_line_error(tmp_path, capsys):
    folder = cifar_folder(tmp_path / "c")
    (folder / "data_batch_2.bin").write_bytes((folder / "data_batch_2.bin").read_bytes()[:-7])
    code = main(["train", "--data", "cifar10", "--data-path", str(folder), "--out", str(tmp_path / "w.npz")])
    captured = capsys.readouterr()
    assert code == 2 and "epoch" not in captured.out
    assert captured.err.startswith(f"error: {folder / 'data_batch_2.bin'}: ") and "truncated" in captured.err
