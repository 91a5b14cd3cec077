"""Independent parts of a CPU render run side by side, within the caller's torch thread budget.

Much of the rasterizer's work is in operations torch runs on one thread whatever its intra-op
setting (gathers, scatters, comparisons) and in Python, so a caller that allows torch two
threads gets more from two parts of the work on two threads of one torch thread each: the
images of a batch in the selection pass, runs of faces in the backward pass. The parts must
write to disjoint memory. Where torch may use one thread (the application's render workers, the
fit's view workers) or on other devices, the parts run one after the other on the calling thread.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Optional, Sequence, TypeVar

import torch

T = TypeVar("T")

_pool: Optional[ThreadPoolExecutor] = None
_pool_lock = threading.Lock()


def part_count(device: torch.device, most: int) -> int:
    """How many parts to split work of at most `most` independent pieces into: the calling thread's
    torch thread count, bounded by the cores, on the CPU; 1 elsewhere."""
    if device.type != "cpu" or most < 2:
        return 1
    return max(1, min(torch.get_num_threads(), os.cpu_count() or 1, most))


def run_parts(work: Callable[..., T], parts: Sequence[tuple]) -> List[T]:
    """[work(*args) for args in parts], the parts on pool threads of one torch thread each when
    there are several (results in order; the first exception is raised)."""
    if len(parts) < 2:
        return [work(*args) for args in parts]
    pool = _thread_pool()
    return [job.result() for job in [pool.submit(work, *args) for args in parts]]


def _thread_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="raster-part",
                                       initializer=torch.set_num_threads, initargs=(1,))
        return _pool
