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

from storage import current, derived, schema  # noqa: F401 - current registers itself first
from storage import search  # noqa: F401 - registers the search index
from storage import lifecycle  # noqa: F401 - registers the lifecycle index
from storage import contract_summaries  # noqa: F401 - registers the contract summaries (after the index they read)
from storage import market_index  # noqa: F401 - registers the marketplace skills index (spec 14.6)
from storage.ingest import IngestResult, validate_batch
from storage.objects import store_verified
from storage.writer import Writer, is_lock_error


class Store:
    def __init__(self, path: str | Path | None = None, *, synchronous: str = "FULL"):
        self.path = None if path is None else Path(path)
        db = schema.connect(self.path, synchronous=synchronous)
        try:
            schema.migrate(db)
        except BaseException:
            db.conn.close()
            raise
        self._writer = Writer(db, before_commit=derived.flush)  # e.g. the search index's staged FTS5 writes
        self._local = threading.local()
        self._readers: list[Database] = []
        self._readers_lock = threading.Lock()
        self.write_sync(derived.ensure)

    # --- writes -----------------------------------------------------------

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
        """Run `fn(db, *args, **kwargs)` in one read transaction: a consistent snapshot."""
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
        return await asyncio.to_thread(self.read_sync, fn, *args, **kwargs)

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
