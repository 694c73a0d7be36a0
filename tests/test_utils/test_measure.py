"""The one timer and memory reader of the benchmarks and tools."""
import itertools

import numpy as np
import pytest

from oprl_mm.utils import memory_mb, peak_memory_mb, timed, wall_times


def test_timed_returns_the_clock_difference_and_the_result():
    ticks = itertools.count(10)  # a clock that advances 1 s a reading
    assert timed(lambda: 'out', clock=lambda: next(ticks)) == (1, 'out')
    seconds, out = timed(lambda: 3)
    assert out == 3 and seconds >= 0


def test_wall_times_counts_warmup_and_runs():
    calls = []
    times, last = wall_times(lambda: calls.append(1) or len(calls), runs=3,
                             warmup=2)
    assert len(calls) == 5 and len(times) == 3 and last == 5
    assert wall_times(lambda: 1, runs=0) == ([], None)


def test_memory_fields_of_this_process():
    rss = memory_mb('VmRSS')
    if rss is None:
        pytest.skip('no /proc/self/status (not Linux)')
    assert 0 < rss <= memory_mb('VmHWM')
    assert memory_mb('NoSuchField') is None
    assert memory_mb('VmRSS', pid='no-such-process') is None


def test_peak_memory_sees_what_the_call_allocates():
    size_mb = 64

    def allocate():
        block = np.ones(size_mb * 2**20, dtype=np.uint8)  # touched pages
        return int(block[::4096].sum())

    peak, out = peak_memory_mb(allocate)
    if peak is None:
        pytest.skip('the kernel offers no /proc/self/clear_refs reset')
    assert out == size_mb * 2**20 // 4096
    assert size_mb * 0.9 <= peak <= size_mb * 4
