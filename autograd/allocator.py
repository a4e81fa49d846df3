"""Opt-in: keep freed array memory in the process instead of handing it back to the kernel.

A training step allocates and frees the same large arrays every time: im2col columns,
layer outputs, gradients, masks. With its default settings, glibc's ``malloc`` serves
each of them with a fresh ``mmap`` (or trims the heap after a big ``free``), so the next
step touches brand-new pages and the kernel zero-fills every one of them on first touch.
On this project's 2-core VM that was about 6,000 page faults a step of the benchmarks'
CIFAR-shaped CNN at batch 64, and 15.6 ms a step against 8.9 ms without them (before and
after the kernels' own memory below, 2026-12-07; see benchmarks/README.md). Today
``python -m benchmarks.settings`` shows them in its ``TAPEGRAD_KERNEL_MEMORY=0`` row,
the fast kernels' arrays left to malloc; as shipped, a step makes next to none.

The fast kernels avoid that themselves now, without touching malloc: they reuse their
own memory from step to step (``nodes/kernels/memory.py``), and a step of that CNN makes
no page faults with malloc's defaults. So the malloc setting below, which acts on the
whole process, code that is not tapegrad's included, is no longer made unless asked for.

``tune()`` raises glibc's mmap threshold and trim threshold, so large arrays come from
the heap and freed ones are reused. ``import autograd`` runs it when
``TAPEGRAD_ALLOCATOR=tuned`` is set (it may help a program whose own large NumPy arrays
come and go); the default, ``system``, keeps malloc's settings. Up to
``TRIM_THRESHOLD`` of freed memory may stay with the process after a run.

Even when asked for, it changes nothing when:
- the C library is not glibc (macOS, Windows, musl);
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
    choice = environ.get("TAPEGRAD_ALLOCATOR", "system").strip().lower() or "system"
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
