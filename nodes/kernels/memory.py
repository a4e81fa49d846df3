"""Memory the kernels reuse from one training step to the next, without touching malloc.

A training step makes and drops the same large arrays every time: layer outputs, masks,
im2col columns, gradients. Left to glibc's default settings, most of them come back as
fresh pages from the kernel, which zero-fills each page on its first touch: on this
project's 2-core machine about 6,000 page faults a step of the benchmarks' CNN at batch
64, a step of 15.5 ms against 8.7 ms without them (``python -m benchmarks.settings``).
Changing malloc's thresholds would avoid that for the whole process, code that is not
ours included, so the kernels keep their own memory instead.

``empty(shape, dtype)`` hands out an array that is a view of a block (a 1-D uint8 array)
held here. A block is free again when nothing but this module refers to it: every view
of a block, and every view of those, keeps the block itself alive (NumPy points a view's
``base`` at the first array of the chain that is not a view of another array: the
block), so ``sys.getrefcount`` of a block tells whether any array of it is still in use,
by the engine or by the user. A block in use is never handed out twice. Small arrays
come from NumPy as usual (malloc reuses those well).

Each block is memory mapped for it alone, outside malloc's heap: the kernels' memory never
mixes with the program's own allocations, and a block let go goes back to the system at
once. Blocks of 4 MiB and more get transparent huge pages, as NumPy gives its own large
arrays: a training step at batch 256 took 42.3 ms with them, 45.6 ms with blocks from
NumPy's allocator (medians of 3 processes each, alternating, 2026-12-07).

What stays held is bounded: a block not handed out during the last ``AGE`` requests is
let go (a batch size that changed leaves blocks of the old sizes behind), and so is
every free block once more than ``LIMIT_BYTES`` is held. ``release()`` lets go of every
free block now; ``TAPEGRAD_KERNEL_MEMORY=0`` turns the reuse off (every array is new).
"""

import mmap
import os
import sys
import threading

import numpy as np

MIN_BYTES = 256 << 10  # smaller arrays come from malloc's heap, which reuses them itself
PAGE = 4096  # block sizes are whole pages, so one block serves a few nearby sizes
LIMIT_BYTES = 1 << 30  # free blocks are let go beyond this much held in all
AGE = 4096  # requests: a block not handed out for this many is let go
HUGE_BYTES = 4 << 20  # blocks from this size get transparent huge pages, as NumPy's arrays do

_lock = threading.Lock()
_blocks = {}  # size in bytes -> list of blocks of that size
_last_used = {}  # id(block) -> the request count when it was last handed out
_requests = 0
_held = 0


def _enabled():
    setting = os.environ.get("TAPEGRAD_KERNEL_MEMORY", "").strip().lower()
    if setting not in ("", "0", "1", "reuse", "off"):
        raise ValueError(f"TAPEGRAD_KERNEL_MEMORY must be 1 (reuse, the default) or 0, "
                         f"got {setting!r}")
    return setting not in ("0", "off")


ENABLED = _enabled()


def _references(block):
    return sys.getrefcount(block)


def _free_count():
    """What ``_references`` says of a block that only this module holds (the list, the
    argument and getrefcount's own): measured, not assumed, for this Python."""
    probe = [np.empty(1, np.uint8)]
    return _references(probe[0])


_FREE = _free_count()


def empty(shape, dtype):
    """An uninitialised C-contiguous array of ``shape`` and ``dtype`` (as ``np.empty``)."""
    dtype = np.dtype(dtype)
    count = 1
    for size in shape:
        count *= size
    nbytes = count * dtype.itemsize
    if nbytes < MIN_BYTES or not ENABLED:
        return np.empty(shape, dtype)
    return _take(nbytes)[:nbytes].view(dtype).reshape(shape)


def zeros(shape, dtype):
    """``empty`` filled with zeros (as ``np.zeros``)."""
    array = empty(shape, dtype)
    array.fill(0)
    return array


def _take(nbytes):
    global _requests, _held
    size = -(-nbytes // PAGE) * PAGE
    with _lock:
        _requests += 1
        if _requests % 256 == 0:
            _let_go(_requests - AGE)
        blocks = _blocks.setdefault(size, [])
        for index in range(len(blocks)):
            if _references(blocks[index]) <= _FREE:
                block = blocks[index]
                _last_used[id(block)] = _requests
                return block
        if _held + size > LIMIT_BYTES:
            _let_go(_requests)
        block = _new_block(size)
        blocks.append(block)
        _last_used[id(block)] = _requests
        _held += size
        return block


def _new_block(size):
    """``size`` bytes mapped for this block alone (outside malloc's heap), as a uint8 array."""
    region = mmap.mmap(-1, size)
    if size >= HUGE_BYTES and hasattr(region, "madvise") and hasattr(mmap, "MADV_HUGEPAGE"):
        try:
            region.madvise(mmap.MADV_HUGEPAGE)
        except OSError:  # a kernel without transparent huge pages
            pass
    return np.frombuffer(region, np.uint8)  # views of it name it as their base


def _let_go(before):
    """Drop the free blocks last handed out before request number ``before`` (lock held)."""
    global _held
    for size in list(_blocks):
        blocks = _blocks[size]
        # no name is bound to a block while its references are counted (see _FREE)
        drop = [index for index in range(len(blocks))
                if _last_used[id(blocks[index])] < before and _references(blocks[index]) <= _FREE]
        for index in reversed(drop):
            del _last_used[id(blocks[index])]
            del blocks[index]
            _held -= size
        if not blocks:
            del _blocks[size]


def release():
    """Let go of every block not in use now; return how many bytes are still held."""
    with _lock:
        _let_go(_requests + 1)
        return _held


def held():
    """Bytes held in blocks, in use or free."""
    return _held


def owns(array):
    """Whether ``array`` is one of the blocks held here (a view's ``base``, say)."""
    if id(array) not in _last_used or array.dtype != np.uint8 or array.ndim != 1:
        return False
    return any(block is array for block in _blocks.get(array.size, ()))
