"""Keep freed array memory in the process instead of handing it back to the kernel.

A training step allocates and frees the same large arrays every time: im2col columns,
layer outputs, gradients, masks. With its default settings, glibc's ``malloc`` serves
each of them with a fresh ``mmap`` (or trims the heap after a big ``free``), so the next
step touches brand-new pages and the kernel zero-fills every one of them on first touch.
On this project's 2-core VM that is 6,000-7,500 page faults a step of the benchmarks'
CIFAR-shaped CNN, and a third to a half of its time in a fresh process
(``python -m benchmarks.settings``).

``tune()`` raises glibc's mmap threshold and trim threshold, so such arrays come from
the heap and freed ones are reused by the next step. It runs once, on ``import
autograd``. Peak memory does not grow (memory is reused, not added), but up to
``TRIM_THRESHOLD`` of freed memory may stay with the process after a run.

It changes nothing when:
- the C library is not glibc (macOS, Windows, musl);
- ``TAPEGRAD_ALLOCATOR=system`` is set (keep malloc's defaults);
- the user set ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_`` (theirs win).
"""

import os

MMAP_THRESHOLD = 128 << 20  # MiB: arrays below this come from the heap
FALLBACK_MMAP_THRESHOLD = 32 << 20  # the largest value glibc before 2.35 accepts
TRIM_THRESHOLD = 256 << 20  # freed memory kept at the top of the heap
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameter numbers, <malloc.h>

SETTINGS = {}
"""What ``tune()`` set, by glibc parameter name; empty when it changed nothing."""


def tune(environ=None):
    """Apply the settings described above; return what was set (also kept in SETTINGS)."""
    environ = os.environ if environ is None else environ
    choice = environ.get("TAPEGRAD_ALLOCATOR", "tuned").strip().lower() or "tuned"
    if choice not in ("tuned", "system"):
        raise ValueError(f"TAPEGRAD_ALLOCATOR must be 'tuned' or 'system', got {choice!r}")
    if choice == "system" or not _glibc():
        return {}
    import ctypes
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return {}
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    if "MALLOC_MMAP_THRESHOLD_" not in environ:
        for value in (MMAP_THRESHOLD, FALLBACK_MMAP_THRESHOLD):
            if mallopt(_M_MMAP_THRESHOLD, value):
                SETTINGS["M_MMAP_THRESHOLD"] = value
                break
    if "MALLOC_TRIM_THRESHOLD_" not in environ and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD):
        SETTINGS["M_TRIM_THRESHOLD"] = TRIM_THRESHOLD
    return dict(SETTINGS)


def _glibc():
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError, OSError):
        return False
