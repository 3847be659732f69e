"""The single writer thread: every write of a store goes through its queue.

Jobs that arrive while a transaction is being written wait in the queue and
are committed together in the next one (group commit): under load a hub pays
one fsync for many batches. Each job runs under its own savepoint, so a job
that raises rolls back alone and the others in the group still commit. A
job's future resolves only after COMMIT returned, so an answer means durable.

`before_commit(db)`, if given, runs after the group's last job and before
COMMIT, outside the jobs' savepoints: the store passes `derived.flush`, so a
derived table can write once per transaction what its jobs staged (FTS5
makes a segment at every savepoint release). If it raises, the whole group
is rolled back and every job fails with that error.

A job must be a function of the `Database` whose only effects are on that
database: if the whole group hits a lock held by another process, the group
is rolled back and every job in it is run again.

`catch_up(db) -> (Freshness, more)`, if given, indexes the deferred derived
tables behind the commits (`storage.deferred.catch_up`) in a transaction of
its own: on start (from the durable mark), then `catch_up_every` seconds
after the first commit it has not indexed, so commits are indexed in larger
batches and never wait for the index; at once when a reader waits for a
seq (`wait_indexed`); and on close. Under a full queue it runs between two
group commits once it is due, so the lag stays bounded.
"""

import concurrent.futures
import logging
import queue
import sqlite3
import threading
import time
from typing import Any, Callable

from sqlite_utils import Database

from storage.errors import StoreClosed

logger = logging.getLogger(__name__)
MAX_JOBS_PER_COMMIT = 64
CATCH_UP_EVERY = 0.05  # seconds from a commit to its indexing while no reader waits
_STOP = object()
_NUDGE = object()  # a reader waits for the index: wake the writer


class Writer:
    def __init__(self, db: Database, lock: "threading.Lock | None" = None, *,
                 before_commit: Callable[[Database], None] | None = None,
                 catch_up: "Callable[[Database], tuple[Any, bool]] | None" = None,
                 log_seq: Callable[[Database], int] | None = None, catch_up_every: float = CATCH_UP_EVERY):
        self.db = db
        self.before_commit = before_commit
        self.catch_up, self.log_seq, self.catch_up_every = catch_up, log_seq, catch_up_every
        self._indexed = threading.Condition()
        self.indexed_through = 0  # the deferred tables' mark, as of the last catch-up
        self.committed_seq = 0  # the log's last seq, as of the last commit
        self._wanted = 0  # the highest seq a reader waits for
        self.catch_ups = 0  # catch-up transactions committed (not counted in commits)
        self._dead = False
        # Held for each transaction: an in-memory store shares its one connection with readers.
        self.lock = lock or threading.Lock()
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self.commits = 0  # transactions committed: group commit shows as commits < jobs
        self.jobs = 0  # jobs in those transactions, failed ones included
        self._thread = threading.Thread(target=self._run, name="kinode-storage-writer", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future:
        """Queue `fn(db, *args)`; the future resolves after its transaction committed."""
        if self._closed:
            raise StoreClosed("the store is closed; no more writes")
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._jobs.put((fn, args, future))
        return future

    def wait_indexed(self, seq: int | None = None, timeout: float | None = None) -> bool:
        """Block until the deferred tables are indexed through `seq` (default: the last commit's), at most
        `timeout` seconds; True if they are."""
        with self._indexed:
            seq = self.committed_seq if seq is None else seq
            if self.catch_up is None or self.indexed_through >= seq:
                return True
            if self._wanted < seq:
                self._wanted = seq
                if not self._closed:
                    self._jobs.put(_NUDGE)
            return self._indexed.wait_for(lambda: self.indexed_through >= seq or self._dead, timeout) \
                and self.indexed_through >= seq

    def close(self) -> None:
        """Finish every queued job, catch the deferred tables up, then stop the thread."""
        if not self._closed:
            self._closed = True
            self._jobs.put(_STOP)
            self._thread.join()

    def _run(self) -> None:
        # Not behind until a commit: the store's first job (derived.ensure) creates the marks and commits.
        behind, due = False, 0.0
        try:
            while True:
                job = self._next(behind, due)
                if job is None:  # due, or a reader waits, and no job is queued
                    behind, due = self._catch_up_once(), time.monotonic() + self.catch_up_every
                    continue
                group, stop, nudged = [], False, False
                while True:
                    if job is _STOP:
                        stop = True
                    elif job is _NUDGE:
                        nudged = True
                    else:
                        group.append(job)
                    if stop or len(group) >= MAX_JOBS_PER_COMMIT:
                        break
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                live = [job for job in group if job[2].set_running_or_notify_cancel()]
                if live:
                    self._commit(live)
                if self.catch_up is None:
                    if stop:
                        return
                    continue
                if (live or nudged) and not behind:
                    behind, due = True, time.monotonic() + self.catch_up_every
                if stop:
                    while self._catch_up_once():
                        pass  # a clean close leaves the index complete
                    return
                if behind and (time.monotonic() >= due or self._waited()):  # a busy queue: the lag stays bounded
                    behind, due = self._catch_up_once(), time.monotonic() + self.catch_up_every
        finally:
            with self._indexed:
                self._dead = True
                self._indexed.notify_all()

    def _next(self, behind: bool, due: float):
        """The next job, or None when the deferred tables should be caught up first."""
        if not behind:
            return self._jobs.get()
        try:
            if self._waited():
                return self._jobs.get_nowait()
            return self._jobs.get(timeout=max(0.0, due - time.monotonic()))
        except queue.Empty:
            return None

    def _waited(self) -> bool:
        return self._wanted > self.indexed_through

    def _catch_up_once(self) -> bool:
        """One catch-up transaction; True if objects remain after the mark."""
        try:
            freshness, more = self._with_retry(lambda: self._in_transaction(self.catch_up))
        except Exception:  # noqa: BLE001 - the next commit tries again; readers time out meanwhile
            logger.exception("indexing behind the commit failed; the mark stays where it was")
            with self._indexed:
                self._wanted = self.indexed_through  # no retry loop: the next commit or reader tries again
            return False
        self.catch_ups += 1
        with self._indexed:
            self.indexed_through = freshness.indexed_through
            self.committed_seq = max(self.committed_seq, freshness.log_seq)
            if not more:  # a reader may want a seq this store never committed: stop chasing it
                self._wanted = min(self._wanted, self.indexed_through)
            self._indexed.notify_all()
        return more

    def _in_transaction(self, fn):
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            value = fn(self.db)
            conn.execute("COMMIT")
            return value
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _with_retry(self, transaction):
        """Run `transaction()` under the lock, again while another process holds the write lock."""
        delay = 0.01
        while True:
            try:
                with self.lock:
                    return transaction()
            except sqlite3.OperationalError as error:
                if not is_lock_error(error):
                    raise
                time.sleep(delay)  # another process holds the write lock beyond busy_timeout
                delay = min(delay * 2, 1.0)

    def _commit(self, group: list) -> None:
        try:
            outcomes = self._with_retry(lambda: self._transaction(group))
        except BaseException as error:  # noqa: BLE001 - reported to every waiting caller
            _fail_all(group, error)
            return
        for (_, _, future), (ok, value) in zip(group, outcomes):
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _transaction(self, group: list) -> list[tuple[bool, Any]]:
        outcomes, log_seq = self._in_transaction(lambda db: self._run_jobs(group))
        with self._indexed:  # before any future resolves: a reader after this write waits for its index
            self.committed_seq = max(self.committed_seq, log_seq)
        self.commits += 1
        self.jobs += len(group)
        return outcomes

    def _run_jobs(self, group: list) -> tuple[list[tuple[bool, Any]], int]:
        """Each job under its own savepoint, then `before_commit`: (outcomes, the log's seq to commit)."""
        conn = self.db.conn
        outcomes = []
        for fn, args, _ in group:
            conn.execute("SAVEPOINT job")
            try:
                value = fn(self.db, *args)
            except Exception as error:
                if isinstance(error, sqlite3.OperationalError) and is_lock_error(error):
                    raise
                if not conn.in_transaction:
                    raise  # the error ended the transaction: the whole group fails
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
                outcomes.append((False, error))
            else:
                conn.execute("RELEASE job")
                outcomes.append((True, value))
        if self.before_commit is not None:
            self.before_commit(self.db)
        return outcomes, self.log_seq(self.db) if self.log_seq is not None else 0


def is_lock_error(error: sqlite3.OperationalError) -> bool:
    message = str(error)
    return "locked" in message or "busy" in message


def _fail_all(group: list, error: BaseException) -> None:
    for _, _, future in group:
        future.set_exception(error)
