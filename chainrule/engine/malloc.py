"""Keep glibc's malloc from handing a training step's big temporaries back to the kernel after every step.

A convolution or recurrent training step allocates megabytes of short-lived arrays (im2col columns, every time
step's gates, their gradients) and frees them before the next step. glibc serves a block of at least its mmap
threshold (128 KiB at start) with a fresh mmap, and returns free memory at the top of its heap to the kernel once
more than its trim threshold (twice the mmap threshold) is free there. It raises both thresholds by itself, but
only to the size of the largest mmap'd block freed so far: the few-MB arrays of a step still cross the trim
threshold together, so the next step maps the same memory again, one page fault per 4 KiB page. Measured on the
benchmarks' 2-core VM (a process that imported chainrule and no other library, 2026-12-02): the LSTM benchmark's
step faulted 3,172 pages, 45.7 ms a step against 29.5 ms without the faults; LeNet-5's 3,223 pages, 35.0 against
20.4 ms. PyTorch hides this when it runs in the same process (its own large frees raise glibc's thresholds), so
the side-by-side benchmarks showed the fast case while a user's own program got the slow one.

``tune()`` sets the two thresholds to where glibc's own adjustment stops (32 MiB, and 64 MiB to trim): blocks
under 32 MiB come from the heap, and up to 64 MiB of free heap is kept for reuse instead of being unmapped. It
runs once, at import, only on glibc, and not when the user has set glibc's malloc parameters themselves
(``MALLOC_*_`` variables, ``GLIBC_TUNABLES``) or set ``CHAINRULE_MALLOC_TUNING=0``.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (glibc's malloc.h)
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's upper limit for the dynamic threshold on 64-bit systems
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # what glibc's own adjustment pairs with it
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")

# what ``tune`` did: "tuned", or why not
status = "not run"


def tune() -> str:
    """Set glibc's mmap and trim thresholds (see the module docstring); returns and records what happened."""
    global status
    status = _tune()
    return status


def _tune() -> str:
    if os.environ.get("CHAINRULE_MALLOC_TUNING", "1") == "0":
        return "off: CHAINRULE_MALLOC_TUNING=0"
    if not sys.platform.startswith("linux"):
        return f"not glibc: platform {sys.platform}"
    if any(name in os.environ for name in USER_SETTINGS) or "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        return "left as the user set it: glibc's malloc parameters are in the environment"
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - only glibc has it (musl's mallopt does nothing)
    except (OSError, AttributeError):
        return "not glibc"
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    if not (libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)):
        return "mallopt refused the thresholds"
    return "tuned"
