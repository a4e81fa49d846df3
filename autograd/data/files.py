"""Reading a data file a user brings: the error type, reads that stop at a cap, IDX.

Nothing here trusts a size it has not seen: a header's claim is checked against a hard
cap and, for a plain file, against the file's real size before anything is allocated;
gzip data (whose own size field is not trustworthy) is read in chunks, so memory follows
the bytes that really arrive and stops one byte past what the header announced.
"""

import gzip
import os
import struct
import zlib

import numpy as np

__all__ = ["DataFileError", "read_idx", "MAX_IDX_BYTES"]

MAX_IDX_BYTES = 1 << 30  # 1 GiB: MNIST's largest file holds 47 MB, EMNIST's 547 MB
_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"

# IDX type codes (the third byte of the magic number) and their big-endian NumPy dtypes.
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataFileError(ValueError):
    """A data file that cannot be read: missing, truncated, of the wrong format or size, or hostile."""


class _Opened:
    """A file opened for reading, un-gzipped on the fly if it starts with gzip's magic bytes."""

    def __init__(self, path):
        self.path = os.fspath(path)
        try:
            self.raw = open(self.path, "rb")
        except FileNotFoundError:
            raise DataFileError(f"{self.path}: no such file") from None
        except OSError as error:
            raise DataFileError(f"{self.path}: cannot be read ({error.strerror or error})") from None
        self.gzipped = self.raw.read(2) == _GZIP_MAGIC
        self.raw.seek(0)
        self.stream = gzip.GzipFile(fileobj=self.raw, mode="rb") if self.gzipped else self.raw

    def size(self):
        """The real number of bytes on disk (None for gzip data: known only once read)."""
        return None if self.gzipped else os.fstat(self.raw.fileno()).st_size

    def read(self, limit):
        """At most ``limit`` bytes, in chunks, so a lying size field allocates nothing."""
        parts, total = [], 0
        try:
            while total < limit:
                part = self.stream.read(min(_CHUNK, limit - total))
                if not part:
                    break
                parts.append(part)
                total += len(part)
        except (OSError, EOFError, zlib.error) as error:
            raise DataFileError(f"{self.path}: the gzip data is damaged ({error}); download the "
                                "file again") from None
        return b"".join(parts)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.gzipped:
            self.stream.close()
        self.raw.close()


def read_capped(path, limit, what):
    """All of ``path`` (un-gzipped if gzipped), refusing a file longer than ``limit`` bytes."""
    with _Opened(path) as f:
        size = f.size()
        if size is not None and size > limit:
            raise DataFileError(f"{f.path}: {size:,} bytes, more than {what} holds ({limit:,}); "
                                f"not {what}")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise DataFileError(f"{path}: more than {limit:,} bytes once un-gzipped, more than {what} "
                            f"holds; not {what}")
    return data


def read_idx(path, limit=MAX_IDX_BYTES):
    """An IDX file (MNIST's format, gzipped or not) as a NumPy array of the shape its header gives.

    The layout: two zero bytes, a type code (0x08 unsigned byte, 0x09 signed byte, 0x0B
    int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, then each
    dimension's size as a big-endian 32-bit integer, then the values, big-endian, row-major.
    The sizes are checked against ``limit`` and against the file before the values are read.
    """
    with _Opened(path) as f:
        magic = f.read(4)
        if len(magic) < 4 or magic[:2] != b"\0\0" or magic[2] not in IDX_TYPES or magic[3] == 0:
            found = "an empty file" if not magic else f"a file starting with {magic.hex(' ')}"
            raise DataFileError(f"{f.path}: not an IDX file: expected the magic number 00 00, a type "
                                f"code (08 for unsigned bytes) and the number of dimensions, found "
                                f"{found}")
        ndim = magic[3]
        sizes = f.read(4 * ndim)
        if len(sizes) < 4 * ndim:
            raise DataFileError(f"{f.path}: truncated IDX header: the magic number announces {ndim} "
                                f"dimensions ({4 * ndim} bytes of sizes), the file holds "
                                f"{len(sizes)} of them")
        shape = struct.unpack(f">{ndim}I", sizes)
        dtype = np.dtype(IDX_TYPES[magic[2]])
        claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
        header = 4 + 4 * ndim
        if claimed > limit:
            raise DataFileError(f"{f.path}: the IDX header announces values of shape {shape} "
                                f"({claimed:,} bytes), more than tapegrad reads from one file "
                                f"({limit:,} bytes); the header is damaged or the file is not MNIST's")
        real = f.size()
        if real is not None and real - header != claimed:
            raise DataFileError(_size_mismatch(f.path, shape, claimed, real - header))
        body = f.read(claimed + 1)
        if len(body) != claimed:
            raise DataFileError(_size_mismatch(f.path, shape, claimed, len(body), at_least=True))
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _size_mismatch(path, shape, claimed, found, at_least=False):
    state = "truncated" if found < claimed else "longer than its header says"
    held = f"{found:,}" + (" or more" if at_least and found > claimed else "")
    return (f"{path}: {state}: the IDX header announces values of shape {shape} ({claimed:,} "
            f"bytes after the header), the file holds {held}; download the file again")
