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
"""

import concurrent.futures
import queue
import sqlite3
import threading
import time
from typing import Any, Callable

from sqlite_utils import Database

from storage.errors import StoreClosed

MAX_JOBS_PER_COMMIT = 64
_STOP = object()


class Writer:
    def __init__(self, db: Database, lock: "threading.Lock | None" = None, *,
                 before_commit: Callable[[Database], None] | None = None):
        self.db = db
        self.before_commit = before_commit
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

    def close(self) -> None:
        """Finish every queued job, then stop the thread."""
        if not self._closed:
            self._closed = True
            self._jobs.put(_STOP)
            self._thread.join()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            group, stop = [], job is _STOP
            if not stop:
                group.append(job)
            while not stop and len(group) < MAX_JOBS_PER_COMMIT:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    stop = True
                else:
                    group.append(job)
            live = [job for job in group if job[2].set_running_or_notify_cancel()]
            if live:
                self._commit(live)
            if stop:
                return

    def _commit(self, group: list) -> None:
        delay = 0.01
        while True:
            try:
                with self.lock:
                    outcomes = self._transaction(group)
                break
            except sqlite3.OperationalError as error:
                if not is_lock_error(error):
                    _fail_all(group, error)
                    return
                time.sleep(delay)  # another process holds the write lock beyond busy_timeout
                delay = min(delay * 2, 1.0)
            except BaseException as error:  # noqa: BLE001 - reported to every waiting caller
                _fail_all(group, error)
                return
        for (_, _, future), (ok, value) in zip(group, outcomes):
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _transaction(self, group: list) -> list[tuple[bool, Any]]:
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
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
            conn.execute("COMMIT")
            self.commits += 1
            self.jobs += len(group)
            return outcomes
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def is_lock_error(error: sqlite3.OperationalError) -> bool:
    message = str(error)
    return "locked" in message or "busy" in message


def _fail_all(group: list, error: BaseException) -> None:
    for _, _, future in group:
        future.set_exception(error)
