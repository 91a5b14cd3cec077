"""Opt-in, process-wide glibc malloc settings for applications that render repeatedly.

A render allocates many temporaries of a few MB. glibc serves blocks above its mmap threshold
(128 KB at first, raised as such blocks are freed) with fresh mappings and returns freed memory
to the kernel, so each render faults its pages in again. Keeping freed memory in the heap for
reuse made soft 256² renders of the cow and of the application's default scene about 12 %
faster on this project's 2-core machine (the application's renders change size with every
slider move); a fit, which allocates the same sizes every iteration, gained nothing (see
README). The library never
calls this itself: it changes the whole process; `python main.py` does.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Blocks up to this size come from the heap and are reused: the temporaries of renders at
# interactive sizes. Larger ones are still mapped and unmapped, so a one-off huge render does
# not keep its memory.
MMAP_THRESHOLD = 32 * 1024 * 1024
# Free memory at the heap's top kept rather than trimmed (mallopt takes a C int).
TRIM_THRESHOLD = 2**31 - 1


def keep_freed_memory() -> bool:
    """Serve blocks up to MMAP_THRESHOLD from the heap and keep freed memory for reuse instead of
    returning it to the kernel. Returns True when glibc accepted both settings, False where the
    C library is not glibc (nothing changes then)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # only glibc has it (musl, for one, ignores mallopt)
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
