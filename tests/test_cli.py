"""python -m autograd: a user's mistake is one line `error: ...` that says what to do, never a
traceback; no command overwrites a file unless --force; what the commands write is git-ignored."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from autograd import models
from autograd.__main__ import main
from autograd.models import matching
from autograd.serialization import save

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAVE_DOT = shutil.which("dot") is not None


def run(capsys, *args):
    """main(args) in this process: (exit status, stdout, stderr), SystemExit included."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as exit:
        code = exit.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err):
    """The only line of stderr, which must start with 'error: '."""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def usage_error(err, command):
    """argparse's usage error: the command's own usage, then one error line."""
    lines = err.splitlines()
    assert lines[0].startswith(f"usage: python -m autograd {command} "), err
    errors = [line for line in lines if "error:" in line]
    assert errors == [lines[-1]] and lines[-1].startswith(f"python -m autograd {command}: error: "), err
    return lines[-1]


@pytest.fixture
def weights(tmp_path):
    """Weights files of several of tapegrad's models, and of a network of one's own."""
    paths = {}
    for data, kind in (("digits", "basic"), ("digits", "deeper"), ("mnist", "basic"),
                       ("cifar10", "basic")):
        paths[data, kind] = tmp_path / f"{data}-{kind}.npz"
        save(models.for_data(data, kind, rng=0).state_dict(), paths[data, kind])
    paths["own"] = tmp_path / "own.npz"
    save({"0.weight": np.zeros((4, 3), np.float32), "0.bias": np.zeros(4, np.float32)}, paths["own"])
    return paths


# ---------------------------------------------------------------- which model a state dict fits

def test_matching_names_the_model_whose_names_and_shapes_the_weights_have():
    for data in models.DATA:
        for kind in models.KINDS:
            assert matching(models.for_data(data, kind, rng=1).state_dict()) == [(data, kind)]
    state = models.digits_cnn("basic").state_dict()
    state["fc.weight"] = state["fc.weight"][:, :-1]  # one shape off: no model
    assert matching(state) == []
    del state["fc.weight"]  # one name missing: no model
    assert matching(state) == []


# ---------------------------------------------------------------- --weights mistakes

def run_process(cwd, *args):
    return subprocess.run(
        [sys.executable, "-m", "autograd", *map(str, args)], cwd=cwd, capture_output=True, text=True,
        timeout=120, env={**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")})


def test_the_issues_mistakes_in_a_real_process_are_one_line_without_a_traceback(tmp_path, weights):
    """As a user runs them: one line that says what to do, exit status 2, nothing written."""
    result = run_process(tmp_path, "draw", "--weights", weights["digits", "deeper"])
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert one_error_line(result.stderr) == (
        f"error: --weights {weights['digits', 'deeper']} holds the weights of the deeper digits CNN, "
        "not the basic digits CNN: use --model deeper")
    result = run_process(tmp_path, "draw", "--weights", "missing.npz")
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert one_error_line(result.stderr) == (
        "error: --weights missing.npz: no such file; `python -m autograd train` saves weights.npz in "
        "the folder it runs in")
    result = run_process(tmp_path, "train", "--epocs", "3")
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert usage_error(result.stderr, "train").endswith(
        "unrecognized arguments: --epocs 3; did you mean --epochs?")
    assert "--no-progress" in result.stderr  # the train command's usage, not the top level's
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in weights.values())


@pytest.mark.parametrize("args, expected", [
    (["--weights", "{deeper}", "--model", "basic"], "holds the weights of the deeper digits CNN, not "
                                                    "the basic digits CNN: use --model deeper"),
    (["--weights", "{basic}", "--model", "deeper"], "holds the weights of the basic digits CNN, not "
                                                    "the deeper digits CNN: use --model basic"),
    (["--weights", "{mnist}"], "holds the weights of the basic MNIST CNN, not the basic digits CNN: "
                               "use --data mnist"),
    (["--weights", "{deeper}", "--data", "mnist"], "holds the weights of the deeper digits CNN, not "
                                                   "the basic MNIST CNN: use --data digits --model deeper"),
    (["--weights", "{cifar10}"], "holds the weights of the basic CIFAR-10 CNN, and this command takes "
                                 "--data digits or mnist only"),
    (["--weights", "{own}"], "does not fit the basic digits CNN and none of tapegrad's models "
                             "(autograd.models): missing: conv.weight (16, 1, 3, 3)"),
])
def test_draw_with_weights_of_another_model_says_which_and_what_to_pass(tmp_path, weights, capsys,
                                                                        monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    names = {"deeper": weights["digits", "deeper"], "basic": weights["digits", "basic"],
             "mnist": weights["mnist", "basic"], "cifar10": weights["cifar10", "basic"],
             "own": weights["own"]}
    args = [a.format(**names) for a in args]
    code, out, err = run(capsys, "draw", *args)
    assert code == 2 and out == ""
    line = one_error_line(err)
    assert line.startswith(f"error: --weights {args[1]} ") and expected in line, line
    assert not any(name.startswith("graph") for name in os.listdir(tmp_path))  # nothing written


def test_draw_loads_weights_that_fit(tmp_path, weights, capsys, monkeypatch):
    if not HAVE_DOT:
        pytest.skip("Graphviz's dot is not installed")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "draw", "--weights", weights["digits", "deeper"], "--model", "deeper",
                         "--by-layer")
    assert code == 0 and err == "" and "the deeper CNN's graph, by layer" in out


@pytest.mark.parametrize("make, expected", [
    (None, "error: --weights {path}: no such file; `python -m autograd train` saves weights.npz "
           "in the folder it runs in"),
    ("folder", "error: --weights {path} is a folder; give the .npz file that `python -m autograd "
               "train` saved, such as {path}/weights.npz"),
    ("text", "error: --weights {path}: not a weights file: expected an .npz archive (written by "
             "autograd.save), found a file starting with b'<svg'"),
    ("truncated", "error: --weights {path}: cannot read this weights file, it is truncated or "
                  "corrupted"),
])
def test_a_missing_or_foreign_weights_file_is_one_line(tmp_path, capsys, make, expected):
    path = tmp_path / "w.npz"
    if make == "folder":
        path.mkdir()
    elif make == "text":
        path.write_text("<svg></svg>")
    elif make == "truncated":
        save(models.digits_cnn(rng=0).state_dict(), path)
        path.write_bytes(path.read_bytes()[:-100])
    for command in ("draw", "predict"):
        code, out, err = run(capsys, command, "--weights", path, "--out", tmp_path / "out.svg")
        assert code == 2 and out == "", command
        assert one_error_line(err).startswith(expected.format(path=path)), (command, err)
    assert sorted(os.listdir(tmp_path)) == (["w.npz"] if make else [])


def test_unreadable_weights_file_is_one_line(tmp_path, capsys, monkeypatch):
    path = tmp_path / "w.npz"
    save(models.digits_cnn(rng=0).state_dict(), path)

    def refuse(path):  # what a file without read permission gives (root reads them all)
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("autograd.serialization.load", refuse)
    code, out, err = run(capsys, "draw", "--weights", path)
    assert code == 2 and one_error_line(err) == f"error: --weights {path}: cannot read it (Permission denied)"


# ---------------------------------------------------------------- --out mistakes

@pytest.mark.parametrize("command, example", [("train", "weights.npz"), ("draw", "graph.svg"),
                                              ("step", "step.html"), ("predict", "predictions.svg")])
def test_an_output_in_a_missing_folder_or_a_folder_is_refused_before_any_work(tmp_path, capsys,
                                                                               command, example):
    missing = tmp_path / "missing" / example
    weights = ["--weights", "w.npz"] if command == "predict" else []  # --out is checked first
    code, out, err = run(capsys, command, *weights, "--out", missing)
    assert code == 2 and out == ""
    assert one_error_line(err) == (f"error: cannot write {missing}: the folder {missing.parent} does "
                                   "not exist; create it or choose another --out")
    code, out, err = run(capsys, command, *weights, "--out", tmp_path)
    assert code == 2 and out == ""
    assert one_error_line(err) == (f"error: --out {tmp_path} is a folder; give a file name such as "
                                   f"{tmp_path / example}")
    assert os.listdir(tmp_path) == []


def test_draw_output_without_a_known_extension(tmp_path, capsys):
    code, out, err = run(capsys, "draw", "--out", tmp_path / "graph.txt")
    assert code == 2 and one_error_line(err) == (
        f"error: cannot tell the image format from --out {tmp_path / 'graph.txt'}: end it in .svg, "
        ".png or .pdf, or pass --format")


# ---------------------------------------------------------------- option mistakes

@pytest.mark.parametrize("command, args, expected", [
    ("train", ["--epocs", "3"], "unrecognized arguments: --epocs 3; did you mean --epochs?"),
    ("draw", ["--by-layers"], "unrecognized arguments: --by-layers; did you mean --by-layer?"),
    ("step", ["--froward"], "unrecognized arguments: --froward; did you mean --forward?"),
    ("predict", ["--weight", "w.npz", "--numbr=3"], "unrecognized arguments: --numbr=3; did you mean "
                                                    "--number?"),
    ("train", ["--bogus"], "unrecognized arguments: --bogus"),
    ("train", ["--epochs", "1e3"], "argument --epochs: must be a positive integer, got 1e3"),
    ("train", ["--batch-size", "abc"], "argument --batch-size: must be a positive integer, got abc"),
    ("train", ["--lr", "0"], "argument --lr: must be a positive number, got 0"),
    ("draw", ["--batch-size", "0"], "argument --batch-size: must be a positive integer, got 0"),
    ("step", ["--interval", "-5"], "argument --interval: must be a positive integer, got -5"),
    ("step", ["--data", "cifar10"], "argument --data: invalid choice: 'cifar10'"),
])
def test_a_bad_option_shows_the_commands_usage_and_a_hint(tmp_path, capsys, monkeypatch, command,
                                                          args, expected):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, command, *args)
    assert code == 2 and out == ""
    line = usage_error(err, command)
    assert expected in line, line
    if "did you mean" not in expected:
        assert "did you mean" not in line
    assert os.listdir(tmp_path) == []


def test_an_unknown_command_suggests_the_closest(capsys):
    code, out, err = run(capsys, "drwa")
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0].startswith("usage: python -m autograd ") and len(lines) == 2
    assert lines[1] == ("python -m autograd: error: unknown command 'drwa'; did you mean draw? "
                        "(the commands: train, draw, step, demo, predict)")


# ---------------------------------------------------------------- never overwrite, the same for all

def test_draw_never_overwrites_and_force_does(tmp_path, capsys, monkeypatch):
    if not HAVE_DOT:
        pytest.skip("Graphviz's dot is not installed")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "graph.svg").write_text("my own drawing")
    code, out, err = run(capsys, "draw", "--by-layer")
    assert code == 0 and err == ""
    assert "graph.svg exists; writing graph-1.svg instead (--force overwrites)" in out
    assert (tmp_path / "graph.svg").read_text() == "my own drawing"
    assert "<svg" in (tmp_path / "graph-1.svg").read_text()
    code, out, err = run(capsys, "draw", "--by-layer", "--force")
    assert code == 0 and "instead" not in out
    assert "<svg" in (tmp_path / "graph.svg").read_text()
    assert sorted(os.listdir(tmp_path)) == ["graph-1.svg", "graph.svg"]


def test_draw_with_pictures_and_checks(tmp_path, capsys, monkeypatch):
    """--images puts each image-shaped tensor's pictures in the SVG; --check colours every
    op by its check against central differences (the shipped CNN's are all right)."""
    if not HAVE_DOT:
        pytest.skip("Graphviz's dot is not installed")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "draw", "--out", "plain.svg")
    assert code == 0 and err == ""
    plain = (tmp_path / "plain.svg").read_text()
    code, out, err = run(capsys, "draw", "--images", "--check", "--out", "both.svg")
    assert code == 0 and err == "", err
    assert "with pictures, each node checked" in out
    svg = (tmp_path / "both.svg").read_text()
    assert "data:image/png;base64," not in plain and "check: ok" not in plain
    assert svg.count("data:image/png;base64,") > 10
    assert "check: ok" in svg and "WRONG" not in svg


def test_draw_by_layer_with_pictures_draws_each_layers_output(tmp_path, capsys, monkeypatch):
    """--by-layer --images: the input digits, and in each layer's box its output and that
    output's gradient, as in the expanded view (not the two digits alone)."""
    if not HAVE_DOT:
        pytest.skip("Graphviz's dot is not installed")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "draw", "--by-layer", "--images", "--check")
    assert code == 0 and err == "", err
    assert "by layer, with pictures" in out
    svg = (tmp_path / "graph.svg").read_text()
    # 2 digits (1 channel); conv, relu and pool: 2 digits x 16 channels, value and gradient
    assert svg.count("data:image/png;base64,") == 2 + 3 * 2 * 16 * 2
    assert svg.count("grad: ") == 3 and "check: ok" in svg


def test_draw_without_dot_leaves_no_placeholder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "graph.svg").write_text("mine")
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    code, out, err = run(capsys, "draw")
    assert code == 1
    line = one_error_line(err)
    assert "Graphviz is missing" in line and "apt-get install -y --no-install-recommends graphviz" in line
    assert os.listdir(tmp_path) == ["graph.svg"]


# ---------------------------------------------------------------- .gitignore

def default_outputs():
    """Every file the commands write when run with their defaults, twice (name-1.ext)."""
    import argparse
    import importlib
    from autograd.__main__ import COMMANDS
    names = []
    for command, module_name in COMMANDS.items():
        parser = argparse.ArgumentParser()
        importlib.import_module(module_name).add_arguments(parser)
        defaults = parser.parse_args([] if command != "predict" else ["--weights", "w.npz"])
        out = getattr(defaults, "out", None)
        if command == "draw":
            from autograd.commands.draw import FORMATS, output_path
            names += [output_path(None, f) for f in FORMATS]
        elif out is not None:
            names.append(out)
        if command == "train":
            names.append("weights.svg")  # the diagram beside the weights
    stems = [(os.path.splitext(n)[0], os.path.splitext(n)[1]) for n in names]
    return names + [f"{stem}-1{ext}" for stem, ext in stems]


def test_every_file_the_commands_write_by_default_is_git_ignored():
    if shutil.which("git") is None or not os.path.isdir(os.path.join(ROOT, ".git")):
        pytest.skip("not a git checkout")
    names = default_outputs()
    assert {"weights.npz", "weights.svg", "graph.svg", "graph.pdf", "step.html",
            "predictions.svg", "step-1.html"} <= set(names)
    result = subprocess.run(["git", "check-ignore", "--no-index", "--stdin", "-v", "-n"],
                            cwd=ROOT, input="\n".join(names) + "\n", capture_output=True, text=True)
    not_ignored = [line.split("\t")[-1] for line in result.stdout.splitlines() if line.startswith("::")]
    assert not_ignored == [], not_ignored


# ---------------------------------------------------------------- predict

def png_pixels(data):
    """Decode the 8-bit greyscale PNG that predict writes (filter 0 on every row)."""
    import struct
    import zlib
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (depth, colour) == (8, 0)
    start = data.index(b"IDAT") + 4
    length = struct.unpack(">I", data[start - 8:start - 4])[0]
    raw = zlib.decompress(data[start:start + length])
    rows = np.frombuffer(raw, np.uint8).reshape(height, width + 1)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:]


def test_predict_shows_test_digits_with_the_networks_answers(tmp_path, capsys, monkeypatch):
    import base64
    import re
    import xml.etree.ElementTree as ET
    from autograd.commands.train import load_data
    from autograd.serialization import load

    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "train", "--epochs", 2, "--no-progress", "--out", "w.npz")
    trained_accuracy = re.search(r"^test accuracy: (0\.\d{4})$", out, re.M).group(1)
    code, out, err = run(capsys, "predict", "--weights", "w.npz")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert re.fullmatch(r"the basic digits CNN \(w\.npz\) on 16 test digits: (\d+) right", lines[0])
    # the answers as printed, and as the network gives them for the same 16 test digits
    captions = re.findall(r"pred (\d) true (\d)( X)?", out)
    assert len(captions) == 16
    _, _, x_test, y_test, _ = load_data("digits")
    pick = np.random.default_rng(0).choice(len(x_test), size=16, replace=False)
    model = models.digits_cnn()
    model.load_state_dict(load("w.npz"))
    from autograd.commands.predict import predict
    expected = predict(model.eval(), x_test[pick])
    assert [int(p) for p, _, _ in captions] == expected.tolist()
    assert [int(t) for _, t, _ in captions] == y_test[pick].tolist()
    assert all((mark == " X") == (p != t) for p, t, mark in captions)
    right = sum(p == t for p, t, _ in captions)
    assert lines[0].endswith(f": {right} right") and right >= 12  # chance is 1.6
    # the same test set as train's, so the same accuracy
    assert f"accuracy on all 359 test digits: {trained_accuracy}" in out
    assert "wrote predictions.svg: open it in a browser" in out

    svg = ET.parse(tmp_path / "predictions.svg").getroot()
    ns = {"svg": "http://www.w3.org/2000/svg"}
    cells = svg.findall("svg:g", ns)
    assert len(cells) == 16
    for cell, image, (p, t, mark) in zip(cells, x_test[pick], captions):
        texts = [text.text for text in cell.findall("svg:text", ns)]
        assert texts == [f"pred {p}", f"true {t}"]
        href = cell.find("svg:image", ns).get("href")
        pixels = png_pixels(base64.b64decode(href.split(",", 1)[1]))
        np.testing.assert_array_equal(pixels, np.rint(255 * (1 - image[0])).astype(np.uint8))
        stroke = cell.find("svg:rect", ns).get("stroke")
        assert (stroke == "#c00000") == bool(mark)  # mistakes in red
    assert sorted(os.listdir(tmp_path)) == ["predictions.svg", "w.npz", "w.svg"]


def test_predict_takes_the_network_the_weights_fit(tmp_path, capsys, weights):
    code, out, err = run(capsys, "predict", "--weights", weights["digits", "deeper"], "--number", 3,
                         "--out", tmp_path / "p.svg")
    assert code == 0 and out.startswith(f"the deeper digits CNN ({weights['digits', 'deeper']}) on 3 ")
    code, out, err = run(capsys, "predict", "--weights", weights["mnist", "basic"], "--number", 2,
                         "--out", tmp_path / "p.svg")
    assert code == 0 and out.startswith(f"the basic MNIST CNN ({weights['mnist', 'basic']}) on 2 ")
    assert "p.svg exists; writing " + str(tmp_path / "p-1.svg") + " instead (--force overwrites)" in out
    picture = out.splitlines()[2:16]  # 28x28 MNIST digits are halved: 14 lines of 28 characters
    assert all(len(line) <= 28 + 3 + 28 for line in picture) and "pred" in out.splitlines()[16]
    code, out, err = run(capsys, "predict", "--weights", weights["digits", "deeper"], "--model", "basic",
                         "--out", tmp_path / "q.svg")
    assert code == 2 and one_error_line(err).endswith("use --model deeper")
    code, out, err = run(capsys, "predict", "--weights", weights["cifar10", "basic"],
                         "--out", tmp_path / "q.svg")
    assert code == 2 and one_error_line(err).endswith(
        "holds the weights of the basic CIFAR-10 CNN, and this command takes --data digits or mnist only")
    assert not (tmp_path / "q.svg").exists()


def test_predict_mistakes_are_one_line(tmp_path, capsys, weights):
    code, out, err = run(capsys, "predict", "--weights", weights["digits", "basic"], "--number", 1000,
                         "--out", tmp_path / "p.svg")
    assert code == 2 and one_error_line(err) == (
        "error: --number 1000: there are 359 test digits; ask for at most that many")
    code, out, err = run(capsys, "predict", "--weights", weights["digits", "basic"],
                         "--out", tmp_path / "p.png")
    assert code == 2 and one_error_line(err) == (
        f"error: predict writes an SVG image (no plotting library needed): end --out in .svg, not "
        f"{tmp_path / 'p.png'}")
    code, out, err = run(capsys, "predict")
    assert code == 2 and "the following arguments are required: --weights" in usage_error(err, "predict")
    assert not (tmp_path / "p.svg").exists() and not (tmp_path / "p.png").exists()
