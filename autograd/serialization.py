"""Save and load weights: a state dict (names -> numeric arrays) as a NumPy .npz file.

Loading never unpickles (``allow_pickle=False``): a file carrying an object array is
refused before anything in it runs. Truncated, foreign and hostile files all give a
``WeightsFileError`` that names the file and what is wrong with it.
"""

import os
import uuid
import zipfile
from collections import OrderedDict

import numpy as np

from .tensor import Tensor

__all__ = ["save", "load", "WeightsFileError"]

_NUMERIC_KINDS = "biufc"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with entries, an empty zip


class WeightsFileError(ValueError):
    """A weights file that cannot be read: truncated, corrupted, not an .npz, or not numeric."""


def _as_array(name, value):
    if isinstance(value, Tensor):
        value = value.data
    array = np.asarray(value)
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"save: entry {name!r} has dtype {array.dtype}; only numeric arrays can be "
                        "saved (weights files never hold Python objects)")
    return array


def save(state_dict, path):
    """Write ``state_dict`` (names -> arrays or tensors, e.g. ``model.state_dict()``) to ``path``.

    The file is written exactly at ``path`` (no extension is added) in NumPy's .npz
    format, through a temporary file in the same folder, so an interrupted save never
    leaves a half-written file behind. Like ``numpy.save``, it replaces an existing file.
    """
    if not hasattr(state_dict, "items"):
        raise TypeError(f"save: expected a dict of name -> array (model.state_dict()), got "
                        f"{type(state_dict).__name__}")
    arrays = OrderedDict()
    for name, value in state_dict.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"save: names must be non-empty strings, got {name!r}")
        arrays[name] = _as_array(name, value)
    path = os.fspath(path)
    folder, base = os.path.split(os.path.abspath(path))
    temporary = os.path.join(folder, f".{base}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temporary, "xb") as f:
            np.savez(f, allow_pickle=False, **arrays)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def load(path):
    """Read a weights file written by ``save``: an ordered dict of name -> NumPy array.

    Raises ``WeightsFileError`` for a file that is truncated or corrupted, that is not an
    .npz archive, whose entries are not numeric arrays, or that holds pickled objects
    (which are never unpickled, so nothing in the file is executed).
    """
    path = os.fspath(path)
    with open(path, "rb") as f:  # FileNotFoundError and friends pass through unchanged
        magic = f.read(4)
    if magic not in _ZIP_MAGICS:
        what = "an empty file" if not magic else (
            "a single .npy array" if magic == b"\x93NUM" else f"a file starting with {magic!r}")
        raise WeightsFileError(f"{path}: not a weights file: expected an .npz archive (written by "
                               f"autograd.save), found {what}")
    result = OrderedDict()
    try:
        with np.load(path, allow_pickle=False) as archive:
            for name in archive.files:
                try:
                    value = archive[name]
                except ValueError as error:
                    if "allow_pickle" in str(error) or "pickle" in str(error).lower():
                        raise WeightsFileError(
                            f"{path}: entry {name!r} is an object array (pickled Python objects); "
                            "it was not loaded because unpickling can run arbitrary code. Only "
                            "numeric arrays belong in a weights file: re-save the weights with "
                            "autograd.save from a trusted source") from None
                    raise
                if not isinstance(value, np.ndarray):
                    raise WeightsFileError(f"{path}: entry {name!r} is not a NumPy array (the "
                                           "archive is not an .npz written by autograd.save)")
                if value.dtype.kind not in _NUMERIC_KINDS:
                    raise WeightsFileError(f"{path}: entry {name!r} has dtype {value.dtype}; a "
                                           "weights file holds numeric arrays only")
                result[name] = value
    except WeightsFileError:
        raise
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError) as error:
        raise WeightsFileError(f"{path}: cannot read this weights file, it is truncated or "
                               f"corrupted ({type(error).__name__}: {error}); save the weights "
                               "again") from error
    return result
