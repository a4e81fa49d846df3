"""The commands of ``python -m autograd``, one module each, and what they share.

A user's mistake (a missing or foreign file, weights of another model, a folder that is
not there) is a ``CommandError``: ``python -m autograd`` prints it as one line
``error: ...`` that says what to do, and exits with status 2. A traceback means a bug in
tapegrad.
"""

import argparse
import os


class CommandError(Exception):
    """A user's mistake, said in one line with what to do; ``code`` is the exit status."""

    def __init__(self, message, code=2):
        super().__init__(message)
        self.code = code


def positive_int(text):
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def positive_float(text):
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def add_output_arguments(parser, default, what):
    """--out and --force, the same for every command that writes a file."""
    parser.add_argument("--out", default=default, help=f"where to write {what} (default {default})")
    parser.add_argument("--force", action="store_true",
                        help="overwrite --out if it exists (otherwise a new name is chosen)")


def check_output(out, example, option="--out"):
    """Refuse, before any work, an ``option`` (--out) that cannot be written: a folder, a
    folder that is not there, or one without write permission. ``example`` is a file name
    to suggest."""
    if os.path.isdir(out):
        raise CommandError(f"{option} {out} is a folder; give a file name such as "
                           f"{os.path.join(out, example)}")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise CommandError(f"cannot write {out}: the folder {folder} does not exist; create it "
                           f"or choose another {option}")
    if not os.access(folder, os.W_OK):
        raise CommandError(f"cannot write {out}: no permission to write in {folder}; choose "
                           f"another {option}")


def output_name(out, force, reserve=False):
    """Where to write: ``out`` with --force, else ``out`` or the first free name-1.ext (said)."""
    if force:
        return out
    path = free_name(out, reserve=reserve)
    if path != out:
        print(f"{out} exists; writing {path} instead (--force overwrites)")
    return path


def free_name(path, reserve=False):
    """``path`` if nothing is there, else the first free name-1.ext, name-2.ext, ...

    With ``reserve`` the name is taken by creating an empty file exclusively, so two runs
    finishing at once never pick the same name; the real file then replaces it.
    """
    stem, ext = os.path.splitext(path)
    k = 0
    while True:
        candidate = path if k == 0 else f"{stem}-{k}{ext}"
        if reserve:
            try:
                with open(candidate, "x"):
                    return candidate
            except FileExistsError:
                pass
        elif not os.path.exists(candidate):
            return candidate
        k += 1


def model_name(data, kind):
    """'the deeper MNIST CNN'."""
    return f"the {kind} {DATA_NAMES[data]} CNN"


DATA_NAMES = {"digits": "digits", "mnist": "MNIST", "cifar10": "CIFAR-10"}


def read_weights(path):
    """The state dict in the weights file ``path`` (``--weights``); a missing, unreadable or
    foreign file is a ``CommandError`` that says what to do."""
    from autograd.serialization import WeightsFileError, load

    if os.path.isdir(path):
        raise CommandError(f"--weights {path} is a folder; give the .npz file that "
                           f"`python -m autograd train` saved, such as {os.path.join(path, 'weights.npz')}")
    try:
        return load(path)
    except FileNotFoundError:
        raise CommandError(f"--weights {path}: no such file; `python -m autograd train` saves "
                           "weights.npz in the folder it runs in") from None
    except OSError as error:
        raise CommandError(f"--weights {path}: cannot read it ({error.strerror or error})") from None
    except WeightsFileError as error:
        raise CommandError(f"--weights {error}") from None  # it starts with the path


def fit_weights(model, state, path, data, kind, supported=("digits", "mnist", "cifar10")):
    """Load ``state`` (read from ``path``) into ``model``, built for ``data`` and ``kind``.
    Weights of another of tapegrad's models are a ``CommandError`` that names it and the
    options that pick it (``supported``: the --data values of the command)."""
    from autograd.models import matching

    try:
        model.load_state_dict(state)
    except ValueError as error:
        found = matching(state)
        if not found:
            # the problems alone: 'shapes differ: ...; missing: ...'
            reason = str(error).split("the model: ", 1)[-1].split(". ", 1)[0].rstrip(".")
            raise CommandError(f"--weights {path} does not fit {model_name(data, kind)} and none of "
                               f"tapegrad's models (autograd.models): {reason}") from None
        their_data, their_kind = found[0]
        if their_data not in supported:
            raise CommandError(f"--weights {path} holds the weights of "
                               f"{model_name(their_data, their_kind)}, and this command takes "
                               f"--data {' or '.join(supported)} only") from None
        options = []
        if their_data != data:
            options.append(f"--data {their_data}")
        if their_kind != kind:
            options.append(f"--model {their_kind}")
        raise CommandError(f"--weights {path} holds the weights of "
                           f"{model_name(their_data, their_kind)}, not {model_name(data, kind)}: "
                           f"use {' '.join(options)}") from None


def load_weights(model, path, data, kind, supported=("digits", "mnist", "cifar10")):
    """``read_weights`` then ``fit_weights``: what ``--weights`` does."""
    fit_weights(model, read_weights(path), path, data, kind, supported)
