from .measure import memory_mb, peak_memory_mb, timed, wall_times

__all__ = ['memory_mb', 'peak_memory_mb', 'timed', 'wall_times']
