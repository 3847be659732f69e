"""Child process for test_search_deferred.py: commit objects the index has not caught up with, then wait.

    python deferred_crash_child.py DB_PATH RUN COUNT

Stores COUNT offers in two commits; between them a read makes the writer
index the first half, so the mark stops in the middle. The writer indexes
only for a waiting reader (catch_up_every is an hour), so after the second
commit the index lags for certain. Prints "committed <log seq>" and blocks
until the parent kills it with SIGKILL.
"""

import os
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent)]

from storage import deferred  # noqa: E402
from storage.store import Store  # noqa: E402
from storage_factory import T0, identity, offer  # noqa: E402


def main() -> None:
    path, run, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = Store(path, catch_up_every=3600)
    author = identity(f"deferred-crash-{run}")
    batch = [offer(author, f"Crashlogo {run} {i}", T0 + i).wire for i in range(count)]
    store.ingest_sync(batch[:count // 2], now=T0)
    store.read_sync(deferred.freshness)  # waits for the index: the mark moves to the first half
    store.ingest_sync(batch[count // 2:], now=T0)
    log_seq = store._read_now(deferred.log_seq)
    os.write(1, f"committed {log_seq}\n".encode())
    sys.stdin.read()  # killed here: committed, not indexed


if __name__ == "__main__":
    main()
