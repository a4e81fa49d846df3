"""Reading CIFAR-10's "python version" without trusting the pickle.

A pickle is a program: unpickling calls whatever functions the file names, so a bare
``pickle.load`` on a file from the internet can run anything. CIFAR-10's python batches
(written by Python 2's cPickle) hold only a dict of strings, a list of int labels and one
NumPy array of unsigned bytes. ``load_batch`` unpickles with ``find_class`` limited to
the four names such an array needs, and even those do not reach NumPy: they return
placeholders that record the shape and the bytes, and the array is made afterwards by
``np.frombuffer`` once the sizes agree. Any other name in the file is refused before it is
looked up, so nothing in a hostile file runs.
"""

import io
import math
import pickle

import numpy as np

from .files import DataFileError

__all__ = ["load_batch"]


class _Refused(pickle.UnpicklingError):
    """The pickle asked for something a CIFAR-10 batch never holds."""


class _Frozen:
    """Objects the unpickler hands out: a BUILD opcode in the file can neither set their attributes nor
    call a __setstate__ on them."""

    __slots__ = ()

    def __setattr__(self, name, value):
        raise _Refused(f"setting the attribute {name!r} of a reconstructor")

    def __setstate__(self, state):
        raise _Refused("setting the state of a reconstructor")


class _NDArrayClass(_Frozen):
    """Stands for ``numpy.ndarray`` where numpy's ``_reconstruct`` names it; not callable."""

    __slots__ = ()


_NDARRAY = _NDArrayClass()


class _Admitted(_Frozen):
    """One admitted callable, fixed at creation."""

    __slots__ = ("_function",)

    def __init__(self, function):
        object.__setattr__(self, "_function", function)

    def __call__(self, *args):
        return self._function(*args)


class _DtypeRecord:
    """What ``numpy.dtype('u1', ...)`` becomes: only plain unsigned bytes are admitted."""

    def __setstate__(self, state):
        # numpy's dtype state: (version, byte order, subarray, names, fields, size, alignment, flags)
        if not isinstance(state, tuple) or len(state) < 5 or any(part is not None for part in state[2:5]):
            raise _Refused("a structured NumPy dtype")


class _ArrayRecord:
    """What numpy's ``_reconstruct(ndarray, ...)`` becomes; the BUILD opcode fills in the array."""

    array = None

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise ValueError("an array state that is not numpy's (shape, dtype, fortran order, data)")
        shape, dtype, fortran, raw = state[-4:]
        if not isinstance(dtype, _DtypeRecord):
            raise _Refused("an array whose dtype is not unsigned bytes")
        if isinstance(raw, str):
            raw = raw.encode("latin1")  # Python 2's str, decoded as latin1 by the unpickler
        if (not isinstance(raw, bytes) or not isinstance(shape, tuple)
                or not all(isinstance(n, int) and n >= 0 for n in shape)):
            raise ValueError("an array state that is not numpy's (shape, dtype, fortran order, data)")
        if math.prod(shape) != len(raw):
            raise ValueError(f"an array of shape {shape} with {len(raw):,} bytes of data")
        self.array = np.frombuffer(raw, dtype=np.uint8).reshape(shape, order="F" if fortran else "C")


def _reconstruct(subtype, shape, dtype):
    if subtype is not _NDARRAY:
        raise _Refused("numpy's _reconstruct for something other than an ndarray")
    return _ArrayRecord()


def _dtype(spec, align=False, copy=True):
    if spec not in ("u1", b"u1"):
        raise _Refused(f"the NumPy dtype {spec!r} (a CIFAR-10 batch holds unsigned bytes, u1)")
    return _DtypeRecord()


def _encode(text, encoding="latin1"):
    # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(text, 'latin1')
    if not isinstance(text, str) or encoding != "latin1":
        raise _Refused("_codecs.encode of anything but latin1 text")
    return text.encode("latin1")


_ADMITTED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("numpy", "ndarray"):
            return _NDARRAY
        if (module, name) not in _ADMITTED:
            raise _Refused(f"{module}.{name}")
        return _Admitted(_ADMITTED[module, name])

    def persistent_load(self, pid):
        raise _Refused("a persistent id")


def load_batch(source, blob):
    """One CIFAR-10 python batch (its bytes, read from ``source``): uint8 images (N, 3, 32, 32), labels."""
    try:
        batch = _RestrictedUnpickler(io.BytesIO(blob), encoding="latin1").load()
    except _Refused as refused:
        raise DataFileError(f"{source}: refused: the pickle asks for {refused}, which a CIFAR-10 batch "
                            "never holds; nothing in it was run. Use CIFAR-10's binary version "
                            "(cifar-10-binary.tar.gz)") from None
    except Exception as error:  # a damaged or foreign pickle: the admitted callables only build data
        raise DataFileError(f"{source}: not a CIFAR-10 python batch ({type(error).__name__}: "
                            f"{error})") from None
    if not isinstance(batch, dict):
        raise DataFileError(f"{source}: not a CIFAR-10 python batch: it holds a {type(batch).__name__}, "
                            "expected a dict with 'data' and 'labels'")
    data, labels = _entry(batch, "data"), _entry(batch, "labels")
    if not isinstance(data, _ArrayRecord) or data.array is None or data.array.ndim != 2 \
            or data.array.shape[1] != 3072:
        shape = data.array.shape if isinstance(data, _ArrayRecord) and data.array is not None else None
        raise DataFileError(f"{source}: its 'data' is not an array of unsigned bytes of shape (N, 3072) "
                            f"(found {shape if shape is not None else type(data).__name__}); not a "
                            "CIFAR-10 batch")
    if not isinstance(labels, list) or not all(type(label) is int for label in labels):
        raise DataFileError(f"{source}: its 'labels' is not a list of integers; not a CIFAR-10 batch "
                            "(CIFAR-100's batches hold 'fine_labels')")
    labels = np.array(labels, dtype=np.int64)
    if len(labels) != len(data.array):
        raise DataFileError(f"{source}: {len(data.array):,} images but {len(labels):,} labels")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        bad = int(np.argmax((labels < 0) | (labels > 9)))
        raise DataFileError(f"{source}: label {labels[bad]} of image {bad} is not a class 0-9; not a "
                            "CIFAR-10 batch")
    return data.array.reshape(-1, 3, 32, 32), labels


def _entry(batch, key):
    for candidate in (key, key.encode()):
        if candidate in batch:
            return batch[candidate]
    return None
