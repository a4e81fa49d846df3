"""Save and load weights: a state dict (names -> numeric arrays) as a NumPy .npz file.

Loading never unpickles (``allow_pickle=False``): a file carrying an object array is
refused before anything in it runs. Each entry's header is checked against the archive
before any array is allocated, so a header claiming terabytes is refused, not attempted.
Truncated, foreign and hostile files all give a ``WeightsFileError`` that names the file
and what is wrong with it.
"""

import errno
import math
import os
import re
import socket
import uuid
import zipfile
import zlib
from collections import OrderedDict

import numpy as np

from .tensor import Tensor

__all__ = ["save", "load", "WeightsFileError"]

_NUMERIC_KINDS = "biufc"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with entries, an empty zip
_NPY_MAGIC = b"\x93NUMPY"
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}
_CHUNK = 1 << 24  # bytes read at a time: no second copy of a large array in memory
# Deflate cannot shrink data by more than about 1032 to 1, so a member that claims more
# than this many bytes per compressed byte lies about its size.
_DEFLATE_MAX_RATIO = 1032


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


# ---------------------------------------------------------------- save

# A save writes a temporary file beside the target and renames it over the target, so the
# target is always either the old file or the new one. A process killed mid-save (SIGKILL,
# a power cut) leaves its temporary file behind, as large as the state dict; the next save
# of the same target removes it. The name says whose it is: ``.{target}.tapegrad-{host}-
# {pid}-{random}.tmp``. A leftover is removed only when it is of this pattern, for this
# target, from this host, and its process is gone. The pid is checked rather than the
# file's age because no age is safe: a large save to a slow disk can take longer than any
# threshold (removing it would fail that save), and a short threshold removes nothing
# until it passes. The host is in the name because a pid means nothing on another machine
# sharing the folder (or in another container); their leftovers are left alone.
_TEMPORARY = re.compile(r"tapegrad-(?P<host>[A-Za-z0-9_-]+)-(?P<pid>\d+)-[0-9a-f]{8}\.tmp")


def _host():
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:64] or "host"


def _process_is_gone(pid):
    """True when no process with this pid exists (POSIX; see ``_remove_stale_temporaries``)."""
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: it exists, it belongs to another user
        return False
    return False


def _remove_stale_temporaries(folder, base):
    """Remove the temporary files that killed saves of ``folder/base`` left behind."""
    prefix, host = f".{base}.", _host()
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        match = _TEMPORARY.fullmatch(name[len(prefix):]) if name.startswith(prefix) else None
        if match is None or match["host"] != host or int(match["pid"]) == os.getpid():
            continue
        # On Windows os.kill(pid, 0) would terminate the process; there, a file that another
        # process still has open cannot be removed, and the failed removal says it is alive.
        if os.name == "posix" and not _process_is_gone(int(match["pid"])):
            continue
        try:
            os.remove(os.path.join(folder, name))
        except OSError:  # in use (Windows), removed by another save meanwhile, or not ours to remove
            pass


def _fsync_folder(folder):
    """Make a rename in ``folder`` durable (POSIX; Windows cannot open a folder for this)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a folder we may write in but not read: the file is saved all the same
        return
    try:
        os.fsync(fd)
    except OSError as error:
        # Some file systems (and some network mounts) cannot sync a folder; the file's own
        # data is already on disk, so the save stands.
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def save(state_dict, path):
    """Write ``state_dict`` (names -> arrays or tensors, e.g. ``model.state_dict()``) to ``path``.

    The file is written exactly at ``path`` (no extension is added) in NumPy's .npz
    format, through a temporary file in the same folder that is synced to disk and then
    renamed over ``path``, so an interrupted save (even a killed process or a power cut)
    never leaves a half-written or empty file behind. A temporary file left by a save of
    the same ``path`` in a process that no longer exists is removed. Like ``numpy.save``,
    it replaces an existing file.
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
    _remove_stale_temporaries(folder, base)
    temporary = os.path.join(
        folder, f".{base}.tapegrad-{_host()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temporary, "xb") as f:
            np.savez(f, allow_pickle=False, **arrays)
            f.flush()
            os.fsync(f.fileno())  # the data is on disk before the rename makes it the file
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    _fsync_folder(folder)  # and the rename itself survives a power cut


# ---------------------------------------------------------------- load

def _corrupted(path, name, what):
    return WeightsFileError(f"{path}: entry {name!r} {what}; the file is corrupted or was not "
                            "written by autograd.save: save the weights again")


def _read_header(path, name, info, stream, archive_size):
    """The entry's .npy header as (shape, fortran_order, dtype, data offset), checked.

    Everything a header claims is checked against the archive before any array is made:
    the dtype must be numeric (an object dtype would mean unpickling), and the data the
    shape and dtype add up to must be exactly what the member holds, so a header claiming
    terabytes is refused instead of being allocated.
    """
    magic = stream.read(len(_NPY_MAGIC) + 2)  # the magic string, then the format version
    cut = 0 < len(magic) < len(_NPY_MAGIC) + 2
    if not magic.startswith(_NPY_MAGIC) and not (cut and _NPY_MAGIC.startswith(magic)):
        raise WeightsFileError(f"{path}: entry {name!r} is not a NumPy array (the archive is not "
                               "an .npz written by autograd.save)")
    if cut:
        raise _corrupted(path, name, "ends inside its .npy header")
    version = (magic[-2], magic[-1])
    if version not in _HEADER_READERS:
        raise WeightsFileError(f"{path}: entry {name!r} uses .npy format version "
                               f"{version[0]}.{version[1]}, which autograd.load does not read "
                               "(autograd.save writes version 1.0)")
    shape, fortran_order, dtype = _HEADER_READERS[version](stream)
    if dtype.hasobject:
        raise WeightsFileError(
            f"{path}: entry {name!r} is an object array (pickled Python objects); it was not "
            "loaded because unpickling can run arbitrary code. Only numeric arrays belong in a "
            "weights file: re-save the weights with autograd.save from a trusted source")
    if dtype.kind not in _NUMERIC_KINDS:
        raise WeightsFileError(f"{path}: entry {name!r} has dtype {dtype}; a weights file holds "
                               "numeric arrays only")
    if any(size < 0 for size in shape):
        raise _corrupted(path, name, f"claims the impossible shape {shape}")
    offset = stream.tell()
    claimed = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    held = info.file_size - offset
    if claimed != held:
        raise _corrupted(path, name, f"claims shape {shape} of {dtype}, {claimed:,} bytes, but "
                                     f"holds {max(held, 0):,} bytes of data")
    # The member's size comes from the zip directory, which a hostile file also writes:
    # bound it by the bytes the archive really holds for it.
    outside = info.compress_size > archive_size
    stored = info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size
    deflated = (info.compress_type == zipfile.ZIP_DEFLATED
                and info.file_size > _DEFLATE_MAX_RATIO * info.compress_size + 1024)
    if outside or stored or deflated:
        raise _corrupted(path, name, f"claims {info.file_size:,} bytes stored in "
                                     f"{info.compress_size:,}")
    return shape, fortran_order, dtype, offset


def _read_data(stream, shape, fortran_order, dtype):
    """The array's data, read into one array of its size (checked by ``_read_header``)."""
    array = np.empty(math.prod(shape), dtype=dtype)
    view = memoryview(array.view(np.uint8))
    filled = 0
    while filled < len(view):
        count = stream.readinto(view[filled:filled + _CHUNK])
        if not count:
            raise EOFError(f"the data ends after {filled:,} of {len(view):,} bytes")
        filled += count
    if stream.read(1):  # also makes the zip check the member's CRC, at its end
        raise ValueError("the member holds more data than its header says")
    if fortran_order:
        return array.reshape(shape[::-1]).transpose()
    return array.reshape(shape)


def load(path):
    """Read a weights file written by ``save``: an ordered dict of name -> NumPy array.

    Raises ``WeightsFileError`` for a file that is truncated or corrupted, that is not an
    .npz archive, whose entries are not numeric arrays, or that holds pickled objects
    (which are never unpickled, so nothing in the file is executed). Every entry's header
    is checked against the archive before any array is allocated.
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
        with zipfile.ZipFile(path) as archive:
            archive_size = os.path.getsize(path)
            entries = []
            for info in archive.infolist():  # every header first: nothing is allocated yet
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                with archive.open(info) as stream:
                    entries.append((name, info, _read_header(path, name, info, stream, archive_size)))
            for name, info, (shape, fortran_order, dtype, offset) in entries:
                with archive.open(info) as stream:
                    stream.seek(offset)
                    result[name] = _read_data(stream, shape, fortran_order, dtype)
    except WeightsFileError:
        raise
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError, zlib.error,
            NotImplementedError) as error:
        raise WeightsFileError(f"{path}: cannot read this weights file, it is truncated or "
                               f"corrupted ({type(error).__name__}: {error}); save the weights "
                               "again") from error
    return result
