"""Child process for test_crash.py: ingest batches forever, report each acknowledgement.

    python crash_child.py DB_PATH RUN

Two threads ingest batches of fresh objects through one Store (so the writer
groups their commits); after each batch returns, one write(2) of
"ack <id>" lines goes to stdout. The parent kills this process with SIGKILL
at random moments and checks that every id it read is on disk.
"""

import os
import sys
import threading
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent)]

from storage.store import Store  # noqa: E402
from storage_factory import T0, identity, offer  # noqa: E402

BATCH = 20


def ingest_forever(store: Store, run: str, worker: int, out_lock: threading.Lock) -> None:
    author = identity(f"crash-{run}-{worker}")
    n = 0
    while True:
        batch = [offer(author, f"Offer {n + i}", T0) for i in range(BATCH)]
        n += BATCH
        results = store.ingest_sync([o.wire for o in batch], now=T0)
        acked = "".join(f"ack {r.id}\n" for r in results if r.status in ("accepted", "duplicate"))
        with out_lock:
            os.write(1, acked.encode())  # one write under PIPE_BUF: never half a line


def main() -> None:
    path, run = sys.argv[1], sys.argv[2]
    store = Store(path)
    os.write(1, b"ready\n")
    out_lock = threading.Lock()
    workers = [threading.Thread(target=ingest_forever, args=(store, run, w, out_lock), daemon=True)
               for w in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


if __name__ == "__main__":
    main()
