"""Progress of long work on stderr: a bar redrawn in place on a terminal, plain lines otherwise.

No dependency (tqdm would do, but twenty lines cover what kinode needs, and a
log file or CI output gets a few readable lines instead of carriage returns).
"""

import sys
from typing import TextIO

WIDTH = 30


class Progress:
    """`with Progress("reindex", total) as bar: ... bar.advance(what)`."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None):
        self.label, self.total, self.done = label, max(total, 0), 0
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty()
        self._last_tenth = -1

    def __enter__(self) -> "Progress":
        self._draw("")
        return self

    def advance(self, what: str = "", steps: int = 1) -> None:
        self.done = min(self.done + steps, self.total) if self.total else self.done + steps
        self._draw(what)

    def __exit__(self, kind, value, traceback) -> None:
        if self.terminal:
            self.stream.write("\n")
        elif kind is None and self._last_tenth < 10:
            self._line("done")
        self.stream.flush()

    def _draw(self, what: str) -> None:
        if self.terminal:
            filled = WIDTH * self.done // self.total if self.total else WIDTH
            bar = "#" * filled + "-" * (WIDTH - filled)
            self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} {what[:40]:<40}")
            self.stream.flush()
            return
        tenth = 10 * self.done // self.total if self.total else 10
        if tenth != self._last_tenth:  # a line per tenth, not per step: logs stay short
            self._last_tenth = tenth
            self._line(what)

    def _line(self, what: str) -> None:
        suffix = f" ({what})" if what else ""
        self.stream.write(f"{self.label}: {self.done}/{self.total}{suffix}\n")
        self.stream.flush()
