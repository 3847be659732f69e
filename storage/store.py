"""`Store`: one database file, one writer thread, a reader connection per thread.

    store = Store("node.db")                      # or Store() for a private in-memory one
    results = await store.ingest(items, now)      # verify in a thread, then one group commit
    obj = await store.read(listing.get, object_id)
    await store.write(outbox.mark_delivered, entry_id)
    store.close()

Every storage function is a plain function of a `sqlite_utils.Database`;
`write` runs it on the writer thread in a transaction, `read` on the calling
thread's own connection (or, async, in a worker thread). The `*_sync`
variants are for tests, scripts and the CLI. An answer from a write means
its transaction committed with synchronous=FULL.

The search index follows the commits (`storage.deferred`): `read_sync`
waits (at most `INDEX_WAIT` seconds) until it has indexed what this store
committed before the call, so a script reads its own writes; the server
calls `read_indexed`, which does the same for the seq committed when the
request arrived and says how fresh the answer is. `read` does not wait.
"""

import asyncio
import concurrent.futures
import functools
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from sqlite_utils import Database

from storage import current, deferred, derived, schema  # noqa: F401 - current registers itself first
from storage import search  # noqa: F401 - registers the search index
from storage import lifecycle  # noqa: F401 - registers the lifecycle index
from storage import contract_summaries  # noqa: F401 - registers the contract summaries (after the index they read)
from storage import market_index  # noqa: F401 - registers the marketplace skills index (spec 14.6)
from storage.deferred import Freshness
from storage.ingest import IngestResult, validate_batch
from storage.objects import store_verified
from storage.writer import Writer, is_lock_error

INDEX_WAIT = 2.0  # seconds a read waits for the index to reach the seq it must see, then answers as it is


class Store:
    def __init__(self, path: str | Path | None = None, *, synchronous: str = "FULL",
                 catch_up_every: float | None = None):
        self.path = None if path is None else Path(path)
        db = schema.connect(self.path, synchronous=synchronous)
        try:
            schema.migrate(db)
        except BaseException:
            db.conn.close()
            raise
        options = {} if catch_up_every is None else {"catch_up_every": catch_up_every}
        self._writer = Writer(db, before_commit=derived.flush,  # e.g. the search index's staged FTS5 writes
                              catch_up=deferred.catch_up, log_seq=deferred.log_seq, **options)
        self._local = threading.local()
        self._readers: list[Database] = []
        self._readers_lock = threading.Lock()
        self.write_sync(derived.ensure)

    @property
    def committed_seq(self) -> int:
        """The log's last seq as of this store's last commit, known without a read (writes made by
        another process on the same file show only in a read)."""
        return self._writer.committed_seq

    # --- writes -----------------------------------------------------------

    def writer_counts(self) -> dict[str, int]:
        """Transactions committed and jobs in them (group commit shows as commits < jobs)."""
        return {"commits": self._writer.commits, "jobs": self._writer.jobs}

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        """Queue `fn(db, *args, **kwargs)` on the writer; the future resolves after COMMIT."""
        return self._writer.submit(functools.partial(fn, **kwargs) if kwargs else fn, *args)

    def write_sync(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.submit(fn, *args, **kwargs).result()

    async def write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))

    def ingest_sync(self, items: Iterable[Any], now: int, *, forward_to: Iterable[str] = ()) -> list[IngestResult]:
        """Verify and store a batch; one answer per item, in order."""
        checked = validate_batch(items, now)
        return self.write_sync(store_verified, checked, now, tuple(forward_to))

    async def ingest(self, items: Iterable[Any], now: int, *, forward_to: Iterable[str] = (),
                     executor: concurrent.futures.Executor | None = None) -> list[IngestResult]:
        """Verify in `executor` (default: the loop's), then store in the writer's next commit."""
        loop = asyncio.get_running_loop()
        checked = await loop.run_in_executor(executor, validate_batch, list(items), now)
        return await self.write(store_verified, checked, now, tuple(forward_to))

    def rebuild_sync(self, names: Iterable[str] | None = None) -> None:
        """Drop and recompute derived tables from the objects (`kinode reindex`)."""
        self.write_sync(derived.rebuild, None if names is None else tuple(names))

    # --- reads ------------------------------------------------------------

    def read_sync(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run `fn(db, *args, **kwargs)` in one read transaction: a consistent snapshot that holds
        every write this store committed before the call, in the deferred index too (within INDEX_WAIT)."""
        self._writer.wait_indexed(None, INDEX_WAIT)
        return self._read_now(fn, *args, **kwargs)

    def read_indexed_sync(self, fn: Callable[..., Any], *args: Any, wait: float = INDEX_WAIT,
                          **kwargs: Any) -> tuple[Any, Freshness]:
        """`fn`'s answer over the deferred index and how fresh that index was in the same snapshot.

        Waits at most `wait` seconds for the index to reach the log's last
        seq as it is now (what any writer had committed when the call came),
        then answers with whatever it has.
        """
        def attempt(db, final: bool):
            freshness = deferred.freshness(db)
            if not final and freshness.indexed_through < freshness.log_seq:
                return None, freshness
            return fn(db, *args, **kwargs), freshness

        value, freshness = self._read_now(attempt, False)
        if freshness.indexed_through >= freshness.log_seq:
            return value, freshness
        self._writer.wait_indexed(freshness.log_seq, wait)
        return self._read_now(attempt, True)

    async def read_indexed(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, Freshness]:
        return await asyncio.to_thread(self.read_indexed_sync, fn, *args, **kwargs)

    def _read_now(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.path is None:  # one in-memory connection, shared with the writer
            with self._writer.lock:
                return fn(self._writer.db, *args, **kwargs)
        db = self._reader()
        delay = 0.01
        while True:
            try:
                db.conn.execute("BEGIN")
                try:
                    return fn(db, *args, **kwargs)
                finally:
                    db.conn.execute("COMMIT")
            except sqlite3.OperationalError as error:
                if not is_lock_error(error):
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def read(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`fn` in a worker thread, on what is committed now (the deferred index as far as it has got)."""
        return await asyncio.to_thread(self._read_now, fn, *args, **kwargs)

    def close(self) -> None:
        """Finish queued writes, then close every connection."""
        self._writer.close()
        with self._readers_lock:
            for db in self._readers:
                db.conn.close()
            self._readers.clear()
        self._writer.db.conn.close()

    def _reader(self) -> Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = schema.connect(self.path, cache_kib=schema.READER_CACHE_KIB)
            db.conn.execute("PRAGMA query_only = ON")
            self._local.db = db
            with self._readers_lock:
                self._readers.append(db)
        return db
