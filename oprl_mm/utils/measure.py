"""One timer and one memory reader for every measurement of the project.

The timer's clock is ``torch.utils.benchmark.timer``: ``perf_counter`` read
after the accelerator in use (if any) has finished its queued work, so a
GPU forward is timed whole. ``torch.utils.benchmark.Timer`` itself is not
used: it runs its statement under ``num_threads=1`` unless told otherwise,
adds warm-up calls of its own and picks its number of runs, which would
change what the benchmarks measure (their protocol, warm-up and runs are
their command-line arguments) and it does not hand back the call's result.
"""
import ctypes
import gc
from typing import Any, Callable, List, Optional, Tuple

from torch.utils.benchmark import timer as wall_clock


def timed(fn: Callable[[], Any],
          clock: Callable[[], float] = wall_clock) -> Tuple[float, Any]:
    """``(seconds, result)`` of one call of ``fn()``.

    Args:
        fn: the call to time.
        clock: wall time by default; ``time.process_time`` gives the CPU
            time of the process (all its threads), the steadier figure on a
            shared machine.
    """
    start = clock()
    result = fn()
    return clock() - start, result


def wall_times(fn: Callable[[], Any],
               runs: int,
               warmup: int = 0,
               clock: Callable[[], float] = wall_clock
               ) -> Tuple[List[float], Any]:
    """Seconds of each of ``runs`` calls of ``fn()`` made after ``warmup``
    untimed ones, and the last call's result (None if ``runs`` is 0)."""
    for _ in range(warmup):
        fn()
    times, result = [], None
    for _ in range(runs):
        seconds, result = timed(fn, clock)
        times.append(seconds)
    return times, result


def memory_mb(key: str = 'VmRSS', pid: str = 'self') -> Optional[float]:
    """A memory field of ``/proc/<pid>/status`` in MB: ``VmRSS`` the
    resident set now, ``VmHWM`` its peak (since the process started or the
    last reset, see :func:`peak_memory_mb`). None without ``/proc`` (not
    Linux) or for a process that has ended."""
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1]) / 1024  # kB -> MB
    except OSError:
        pass
    return None


def peak_memory_mb(fn: Callable[[], Any],
                   cuda: bool = False) -> Tuple[Optional[float], Any]:
    """``(peak MB, result)`` of one call of ``fn()``.

    On CUDA, ``torch.cuda.max_memory_allocated`` over the call: the tensors
    already allocated (weights) included. On CPU, the rise of the resident
    set's peak (Linux ``VmHWM``, reset to the current resident size through
    ``/proc/self/clear_refs``) over the resident size before the call, with
    freed heap returned to the system first (``malloc_trim``): what the call
    itself needs. The peak is None where the kernel offers no reset.
    """
    gc.collect()
    if cuda:
        return _cuda_peak_mb(fn)
    _release_free_heap()
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # VmHWM := VmRSS
    except OSError:
        return None, fn()
    before = memory_mb('VmRSS')
    result = fn()
    peak = memory_mb('VmHWM')
    if before is None or peak is None:
        return None, result
    return peak - before, result


def _cuda_peak_mb(fn: Callable[[], Any]) -> Tuple[float, Any]:
    import torch
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    result = fn()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() / 2**20, result


def _release_free_heap() -> None:
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
