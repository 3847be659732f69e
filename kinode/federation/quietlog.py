"""Logging that a client cannot turn into a flood: one line per kind per interval.

What clients get wrong (a malformed HTTP message, a refused connection, a
disconnect mid-body) is the client's problem, not the node's, so it is logged
as one line without a traceback, and at most once per `interval` seconds for
each kind; the next line says how many were left out.
"""

import logging
import time


class QuietLog:
    def __init__(self, logger: logging.Logger, interval: float = 10.0, clock=time.monotonic):
        self.logger = logger
        self.interval = interval
        self._clock = clock
        self._next: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def log(self, level: int, kind: str, message: str, *args: object) -> bool:
        """Log `message % args` unless `kind` was logged within the interval; True if it was logged."""
        now = self._clock()
        if now < self._next.get(kind, float("-inf")):
            self._skipped[kind] = self._skipped.get(kind, 0) + 1
            return False
        self._next[kind] = now + self.interval
        skipped = self._skipped.pop(kind, 0)
        if skipped:
            message += f" (and {skipped} more like it in the last {self.interval:g} s)"
        self.logger.log(level, message, *args)
        return True

    def warning(self, kind: str, message: str, *args: object) -> bool:
        return self.log(logging.WARNING, kind, message, *args)

    def info(self, kind: str, message: str, *args: object) -> bool:
        return self.log(logging.INFO, kind, message, *args)
