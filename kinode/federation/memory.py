"""Giving memory back to the system after large request bodies (glibc only; a no-op elsewhere).

Bodies are parsed and verified in worker threads, and glibc gives each
thread its own malloc arena that keeps freed memory for reuse: after a burst
of 4 MiB batches a hub stayed hundreds of MiB above its baseline. Two arenas
and a `malloc_trim` once the body budget is idle again bring it back down.
"""

import ctypes
import ctypes.util
import time

M_ARENA_MAX = -8
TRIM_INTERVAL = 1.0  # seconds between trims at most: a trim walks the whole heap

_libc = None
_last_trim = 0.0


def _glibc():
    global _libc
    if _libc is None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _libc = libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else False
        except OSError:
            _libc = False
    return _libc


def limit_arenas(arenas: int = 2) -> None:
    libc = _glibc()
    if libc:
        libc.mallopt(M_ARENA_MAX, arenas)


def give_back(clock=time.monotonic) -> None:
    """Return free heap memory to the system, at most once per TRIM_INTERVAL."""
    global _last_trim
    libc = _glibc()
    now = clock()
    if libc and now - _last_trim >= TRIM_INTERVAL:
        _last_trim = now
        libc.malloc_trim(0)
