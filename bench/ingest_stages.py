"""Where a hub's ingest time goes, stage by stage, measured in this process (used by http_ingest_bench.py).

Each stage runs alone over the same objects, one thread, and is charged in
CPU time of this process (all threads: the store's work runs on its writer
thread while this one waits), so other load on the machine hardly moves it.
The store's wall time, which includes waiting for fsync, is kept beside.
The store's figures run to searchable: the search index, indexed behind the
commit, has caught up when they end.
"""

import gc
import pickle
import tempfile
import time
from pathlib import Path

import orjson
from aiohttp import web

import benchlib
from kinode.config import NodeConfig
from kinode.federation.limits import Limits
from kinode.hub import receipts
from kinode.verifier import _verified, verify_wires
from protocol import canonical
from protocol.identity import Identity
from storage import derived
from storage.ingest import validate_batch
from storage.objects import store_verified
from storage.store import Store


class _Costs(dict):
    """name -> CPU microseconds per object; "wall: name" -> wall microseconds."""

    def timed(self, name: str, count: int, fn):
        # This process holds every signed object of the run (tens of thousands), which a hub does not:
        # frozen, the garbage collector does not walk them during a stage (it made a one-object parse
        # read 43 us instead of 5).
        gc.collect()
        gc.freeze()
        try:
            begin, wall = time.process_time(), time.perf_counter()
            out = fn()
            self[name] = (time.process_time() - begin) / count * 1e6
            self["wall: " + name] = (time.perf_counter() - wall) / count * 1e6
        finally:
            gc.unfreeze()
        return out


def _store_run(costs: _Costs, label: str, jobs: list, now: int, search: bool, per_commit: int,
               rounds: int = 3) -> None:
    """Store `jobs` (lists of verified objects), `per_commit` jobs to a transaction as group commit makes them.

    The best of `rounds` runs, each into a fresh store: fsync and other load make single runs vary by half.
    """
    best = _Costs()
    for _ in range(rounds):
        once = _Costs()
        _store_once(once, label, jobs, now, search, per_commit)
        if label not in best or once[label] < best[label]:
            best = once
    costs.update(best)


def _store_once(costs: _Costs, label: str, jobs: list, now: int, search: bool, per_commit: int) -> None:
    saved = derived.registered()
    if not search:  # every derived table but the search index's
        for table in saved:
            if "search" in table.name:
                derived.unregister(table.name)
    try:
        with tempfile.TemporaryDirectory(prefix="kinode-stage-") as tmp:
            store = Store(Path(tmp) / "kinode.db")
            closed = False
            try:
                def run():
                    nonlocal closed
                    for start in range(0, len(jobs), per_commit):
                        futures = [store.submit(store_verified, items, now, ("@gossip",))
                                   for items in jobs[start:start + per_commit]]
                        [f.result() for f in futures]
                    # The search index is indexed behind the commit: closing waits for it to catch
                    # up, so the figure is the cost to searchable, not only to committed.
                    store.close()
                    closed = True
                costs.timed(label, sum(map(len, jobs)), run)
            finally:
                if not closed:
                    store.close()
    finally:
        for table in saved:  # back as they were, in their order (hooks run in registration order)
            derived.unregister(table.name)
        for table in saved:
            derived.register(table)


def batched_costs(objects: list, batch: int) -> dict[str, float]:
    """Per object, for batches of `batch` objects: the event loop's, the verifier's and the writer's parts."""
    objects = objects[:max(batch, min(len(objects), 2000))]
    count = len(objects)
    bodies = [benchlib.batch_body([o.wire for o in objects[i:i + batch]]) for i in range(0, count, batch)]
    now = int(time.time())
    costs = _Costs()
    wired = costs.timed("parse batch JSON (event loop)", count,
                        lambda: [canonical.parse_batch(b, "objects")[1] for b in bodies])
    checked = costs.timed("validate_batch (thread or worker)", count, lambda: [validate_batch(w, now) for w in wired])
    # What crossed to a worker process before: parsed values there, pickled SignedObjects back.
    sent = [pickle.dumps((w, now)) for w in wired]
    back = [pickle.dumps(c) for c in checked]
    costs.timed("  worker IPC, old: parent side", count, lambda: ([pickle.dumps((w, now)) for w in wired],
                                                                  [pickle.loads(b) for b in back]))
    costs.timed("  worker IPC, old: worker side", count, lambda: ([pickle.loads(s) for s in sent],
                                                                  [pickle.dumps(c) for c in checked]))
    # Now: each object's bytes there, only failures back; the parent builds the objects itself.
    jobs = [[([item.wire for item in w], now)] for w in wired]
    answers = [pickle.dumps(verify_wires(job)) for job in jobs]
    costs.timed("  worker IPC, now: parent side", count,
                lambda: ([pickle.dumps(job) for job in jobs], [pickle.loads(a) for a in answers],
                         [[_verified(item) for item in w] for w in wired]))
    costs.timed("  worker IPC, now: worker side", count, lambda: ([pickle.loads(pickle.dumps(job)) for job in jobs],
                                                                  answers))
    _store_run(costs, "store + commit + search catch-up (writer)", checked, now, True, 1)
    _store_run(costs, "  same without the search index", checked, now, False, 1)
    hub = Identity(bytes([9]) * 32)
    answers = [[{"id": o.id, "status": "accepted"} for o in c] for c in checked]
    costs.timed("inclusion receipts (one signature an answer)", count, lambda: [receipts.attach(hub, a, now) for a in answers])
    costs.timed("answer JSON (event loop)", count, lambda: [  # as kinode.federation.handlers.inbox answers
        web.Response(body=orjson.dumps({"results": a}), content_type="application/json") for a in answers])
    costs["of which raw verify"] = 1e6 / benchlib.raw_verify_cpu_rate(1.0)
    return costs


def single_costs(objects: list, group: int) -> dict[str, float]:
    """Per one-object request, the hub's own work (no HTTP): `group` requests share a commit."""
    objects = objects[:min(len(objects), 2000)]
    count = len(objects)
    bodies = [benchlib.batch_body([o.wire]) for o in objects]
    now = int(time.time())
    costs = _Costs()
    limits = Limits(NodeConfig(data_dir=Path("/nonexistent"), client_rate=1e9, client_burst=1e9,
                               author_rate=1e9, author_burst=1e9, work_rate=1e9, work_burst=1e9))

    class Request:  # what Limits reads of an aiohttp request
        remote = "127.0.0.1"

    request = Request()
    clock = time.monotonic()
    costs.timed("rate limits (3 buckets)", count, lambda: [
        (limits.client(request, clock), limits.work(request, 1, clock),
         limits.authors([{"author": o.author}], clock)) for o in objects])
    wired = costs.timed("parse the one-object body", count, lambda: [canonical.parse_batch(b, "objects")[1] for b in bodies])
    checked = costs.timed("validate_batch of 1", count, lambda: [validate_batch(w, now) for w in wired])
    # The hub merges the requests that wait for the writer into one job (kinode.write_groups).
    merged = [[o for c in checked[i:i + group] for o in c] for i in range(0, count, group)]
    _store_run(costs, f"store + commit + catch-up, {group} requests a job", merged, now, True, 1)
    _store_run(costs, f"  same as {group} jobs of one commit (unmerged)", checked, now, True, group)
    _store_run(costs, f"  one job, without the search index", merged, now, False, 1)
    hub = Identity(bytes([9]) * 32)
    answers = [[{"id": o.id, "status": "accepted"}] for o in objects]
    costs.timed("inclusion receipt (one signature an answer)", count, lambda: [receipts.attach(hub, a, now) for a in answers])
    costs.timed("answer JSON", count, lambda: [
        web.Response(body=orjson.dumps({"results": a}), content_type="application/json") for a in answers])
    return costs
