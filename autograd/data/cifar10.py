"""CIFAR-10 from the files a user has: the binary version (a folder or the .tar.gz as downloaded),
or the python version through a restricted unpickler (see ``pickles``).

The binary version's batch files are sequences of 3,073-byte records: one label byte
(0-9), then the 32x32 image as 1,024 red bytes, 1,024 green, 1,024 blue, row by row.
``data_batch_1.bin`` ... ``data_batch_5.bin`` hold the 50,000 training images,
``test_batch.bin`` the 10,000 test images, 10,000 records each.
Source: A. Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009,
https://www.cs.toronto.edu/~kriz/cifar.html
"""

import os
import tarfile
import zlib

import numpy as np

from . import pickles
from .files import DataFileError, read_capped

__all__ = ["load_cifar10", "CIFAR10_CLASSES", "CIFAR10_HELP"]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                   "truck")
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR10_HELP = (f"download CIFAR-10's binary version, {CIFAR10_URL} (162 MB; listed on "
                "https://www.cs.toronto.edu/~kriz/cifar.html), and pass the .tar.gz as it is or the "
                "folder it unpacks to (cifar-10-batches-bin)")

RECORD_BYTES = 1 + 3 * 32 * 32
MAX_RECORDS = 10_000                    # per batch file
MAX_PICKLE_BYTES = 64 << 20             # a python batch holds about 31 MB
MAX_ARCHIVE_MEMBERS = 64                # the archives hold a folder and 8 files

_BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
_VERSIONS = (("binary", "cifar-10-batches-bin", ".bin"), ("python", "cifar-10-batches-py", ""))


def load_cifar10(path, split="train"):
    """CIFAR-10 as ``(images, labels)``: float32 (N, 3, 32, 32) in [0, 1] (red, green, blue planes)
    and int64 labels 0-9, the class names being ``CIFAR10_CLASSES``.

    ``path`` is CIFAR-10's binary version as downloaded (``cifar-10-binary.tar.gz``, read in
    memory, nothing unpacked on disk) or a folder holding its batch files
    (``data_batch_1.bin`` ... ``data_batch_5.bin``, ``test_batch.bin``), directly or in
    ``cifar-10-batches-bin/`` inside it. ``split="train"`` reads the 50,000 training
    images, ``"test"`` the 10,000 test images.

    The python version (``cifar-10-python.tar.gz``, its ``cifar-10-batches-py`` folder, as
    torchvision downloads it) is read too, by an unpickler that admits only the plain data
    and unsigned-byte arrays a batch holds and refuses anything else, so a hostile file runs
    nothing. Missing batches, a truncated record, a wrong size or a label outside 0-9 raise
    ``autograd.data.DataFileError`` naming the file and what was expected.
    """
    if split not in _BATCHES:
        raise ValueError(f"load_cifar10: split must be 'train' or 'test', got {split!r}")
    path = os.fspath(path)
    if os.path.isdir(path):
        batches = _from_folder(path, split)
    elif os.path.isfile(path):
        batches = _from_archive(path, split)
    else:
        raise DataFileError(f"load_cifar10: {path}: no such file or folder; {CIFAR10_HELP}")
    parsed = [_parse_binary(source, blob) if version == "binary" else pickles.load_batch(source, blob)
              for source, version, blob in batches]
    del batches  # the parsed arrays are views of the bytes read, freed once concatenated
    pixels, labels = (np.concatenate(parts) for parts in zip(*parsed))
    del parsed
    images = pixels.astype(np.float32)
    images /= 255.0
    return images, labels


def _limit(version):
    return MAX_RECORDS * RECORD_BYTES if version == "binary" else MAX_PICKLE_BYTES


def _from_folder(folder, split):
    """[(path, version, bytes)] for the split's batches in ``folder`` or the folder unpacked inside it."""
    for version, inner, suffix in _VERSIONS:
        for where in (folder, os.path.join(folder, inner)):
            names = [name + suffix for name in _BATCHES[split]]
            present = [name for name in names if os.path.isfile(os.path.join(where, name))]
            if not present:
                continue
            missing = [name for name in names if name not in present]
            if missing:
                raise DataFileError(f"load_cifar10: {where} lacks {', '.join(missing)} of CIFAR-10's "
                                    f"{split} set ({version} version: {', '.join(names)}); unpack "
                                    "the archive again")
            return [(os.path.join(where, name), version,
                     read_capped(os.path.join(where, name), _limit(version),
                                 f"a CIFAR-10 {version} batch"))
                    for name in names]
    wanted = ", ".join(name + ".bin" for name in _BATCHES[split])
    raise DataFileError(f"load_cifar10: {folder} holds no CIFAR-10 {split} batches (expected {wanted}, "
                        f"in the folder or in cifar-10-batches-bin inside it); {CIFAR10_HELP}")


def _from_archive(path, split):
    """[(member, version, bytes)] for the split's batches in a .tar.gz, read in memory."""
    wanted = {}
    for version, inner, suffix in _VERSIONS:
        for name in _BATCHES[split]:
            wanted[f"{inner}/{name}{suffix}"] = wanted[name + suffix] = (version, name)
    found = {}
    try:
        archive = tarfile.open(path, mode="r|*")  # one pass, in memory: nothing is extracted
    except tarfile.ReadError as error:
        with open(path, "rb") as f:
            gzipped = f.read(2) == b"\x1f\x8b"
        if gzipped:
            raise DataFileError(f"{path}: a gzip file, but not a readable tar archive ({error}); the "
                                "download is damaged or truncated: download it again") from None
        raise DataFileError(f"load_cifar10: {path} is neither a folder nor a .tar.gz archive; "
                            f"{CIFAR10_HELP}") from None
    try:
        with archive:
            for count, member in enumerate(archive):
                if count >= MAX_ARCHIVE_MEMBERS:
                    raise DataFileError(f"{path}: more than {MAX_ARCHIVE_MEMBERS} entries; not a "
                                        f"CIFAR-10 archive (it holds 8 files); {CIFAR10_HELP}")
                name = member.name[2:] if member.name.startswith("./") else member.name
                if name not in wanted or not member.isfile():
                    continue  # links, folders and other names are never read
                version, batch = wanted[name]
                source = f"{path}:{member.name}"
                if (version, batch) in found:
                    raise DataFileError(f"{source}: {batch} appears twice in the archive")
                _check_size(source, version, member.size)
                blob = archive.extractfile(member).read(_limit(version) + 1)
                _check_size(source, version, len(blob))
                found[version, batch] = (source, version, blob)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise DataFileError(f"{path}: the archive is damaged ({error}); download it again") from None
    for version, inner, suffix in _VERSIONS:
        present = [batch for batch in _BATCHES[split] if (version, batch) in found]
        if present:
            missing = [batch + suffix for batch in _BATCHES[split] if batch not in present]
            if missing:
                raise DataFileError(f"{path}: the archive lacks {', '.join(missing)} of CIFAR-10's "
                                    f"{split} set (an interrupted download?); download it again")
            return [found[version, batch] for batch in _BATCHES[split]]
    raise DataFileError(f"{path}: the archive holds no CIFAR-10 {split} batches "
                        f"({', '.join(b + '.bin' for b in _BATCHES[split])}); {CIFAR10_HELP}")


def _check_size(source, version, size):
    if size > _limit(version):
        raise DataFileError(f"{source}: {size:,} bytes, more than a CIFAR-10 {version} batch holds "
                            f"({_limit(version):,}); not a CIFAR-10 {version} batch")
    if version == "binary" and (size == 0 or size % RECORD_BYTES):
        raise DataFileError(_record_error(source, size))


def _record_error(source, size):
    if size == 0:
        return f"{source}: empty; a CIFAR-10 batch holds records of {RECORD_BYTES:,} bytes"
    return (f"{source}: {size:,} bytes is {size // RECORD_BYTES:,} whole records of {RECORD_BYTES:,} "
            f"bytes (1 label byte and 3,072 pixel bytes) and {size % RECORD_BYTES:,} bytes over: the "
            "file is truncated or not a CIFAR-10 binary batch")


def _parse_binary(source, blob):
    """uint8 images (N, 3, 32, 32) and int64 labels from a binary batch's records."""
    _check_size(source, "binary", len(blob))
    records = np.frombuffer(blob, dtype=np.uint8).reshape(-1, RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise DataFileError(f"{source}: record {bad} has the label byte {labels[bad]}, not a class 0-9; "
                            "not a CIFAR-10 binary batch (CIFAR-100's records start with 2 label bytes)")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels
