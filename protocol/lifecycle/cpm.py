"""The task graph in time: dependency order, critical path method, recombination manifest.

Spec section 13.2 ("Deadlines" and "Recombination") states the algorithm;
this is its reference implementation. Everything is a function of the tasks,
their remaining work and `now`: no arrival order, ties by (created_at, id).
"""

import hashlib
import heapq
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from protocol import canonical
from protocol.envelope import SignedObject


def dependency_order(tasks: Mapping[str, SignedObject]) -> tuple[list[str], list[str]]:
    """Tasks in topological order (a task after every task it depends on), ties by (created_at, id).

    Only dependencies among `tasks` count. Returns (order, left): `left` are
    tasks on a cycle or behind one, sorted by id. A cycle cannot be signed
    (an id hashes content that names the ids it depends on), so `left` is
    empty for real objects; the guard keeps a forged set from hanging the fold.
    """
    deps = {tid: [d for d in task.body["depends_on"] if d in tasks] for tid, task in tasks.items()}
    waiting = {tid: len(ds) for tid, ds in deps.items()}
    dependants: dict[str, list[str]] = {tid: [] for tid in tasks}
    for tid, ds in deps.items():
        for d in ds:
            dependants[d].append(tid)
    ready = [(tasks[tid].created_at, tid) for tid, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, tid = heapq.heappop(ready)
        order.append(tid)
        for nxt in dependants[tid]:
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                heapq.heappush(ready, (tasks[nxt].created_at, nxt))
    placed = set(order)
    return order, sorted(tid for tid in tasks if tid not in placed)


@dataclass(frozen=True)
class Schedule:
    """One task's figures from the critical path method, in Unix seconds."""

    duration: int  # the task's `estimate`, else its `claim_lease`
    remaining: int  # work still to do at `now`
    earliest_start: int
    earliest_finish: int
    latest_finish: int
    slack: int  # latest_finish - earliest_finish
    critical: bool  # on the critical path

    def as_dict(self) -> dict[str, Any]:
        return {"duration": self.duration, "remaining": self.remaining, "earliest_start": self.earliest_start,
                "earliest_finish": self.earliest_finish, "latest_finish": self.latest_finish,
                "slack": self.slack, "critical": self.critical}


def critical_path_method(order: Sequence[str], tasks: Mapping[str, SignedObject],
                         duration: Mapping[str, int], remaining: Mapping[str, int],
                         done_at: Mapping[str, int], now: int) -> tuple[dict[str, Schedule], list[str], int | None]:
    """Forward and backward pass over `order`; returns (schedules, critical path, projected completion).

    A done task (in `done_at`, e.g. accepted) starts and finishes at its done
    time. Any other task starts at the latest of `now` and its dependencies'
    earliest finishes and takes `remaining[t]` seconds. The projected
    completion is the greatest earliest finish. Backward: a task with no
    dependants that are not done finishes at the latest at the projected
    completion; any other at the least latest start (latest finish -
    remaining) of its dependants that are not done.
    """
    index = set(order)
    deps = {t: [d for d in tasks[t].body["depends_on"] if d in index] for t in order}
    dependants: dict[str, list[str]] = {t: [] for t in order}
    for t in order:
        for d in deps[t]:
            dependants[d].append(t)
    es: dict[str, int] = {}
    ef: dict[str, int] = {}
    for t in order:
        if t in done_at:
            es[t] = ef[t] = done_at[t]
        else:
            es[t] = max([now, *(ef[d] for d in deps[t])])
            ef[t] = es[t] + remaining[t]
    projected = max(ef.values()) if ef else None
    lf: dict[str, int] = {}
    for t in reversed(order):
        # a dependant already done no longer waits for anything: it cannot bound t
        after = [lf[s] - remaining[s] for s in dependants[t] if s not in done_at]
        lf[t] = min(after) if after else projected
    path = _critical_path(order, tasks, deps, es, ef, done_at)
    on_path = set(path)
    schedules = {t: Schedule(duration[t], remaining_of(t, remaining, done_at), es[t], ef[t], lf[t],
                             lf[t] - ef[t], t in on_path) for t in order}
    return schedules, path, projected


def remaining_of(t: str, remaining: Mapping[str, int], done_at: Mapping[str, int]) -> int:
    return 0 if t in done_at else remaining[t]


def _critical_path(order: Sequence[str], tasks: Mapping[str, SignedObject], deps: Mapping[str, list[str]],
                   es: Mapping[str, int], ef: Mapping[str, int], done_at: Mapping[str, int]) -> list[str]:
    """From the open task finishing last, step back through the dependency that holds it up."""
    key = lambda t: (tasks[t].created_at, t)  # noqa: E731
    open_tasks = [t for t in order if t not in done_at]
    if not open_tasks:
        return []
    last = min(open_tasks, key=lambda t: (-ef[t], *key(t)))
    path = [last]
    while True:
        binding = [d for d in deps[path[-1]] if d not in done_at and ef[d] == es[path[-1]]]
        if not binding:
            break
        path.append(min(binding, key=key))
    path.reverse()
    return path


def manifest_hash(deliverables: Sequence[Mapping[str, Any]]) -> str:
    """SHA-256 (lowercase hex) of the canonical JSON of the deliverables list."""
    return hashlib.sha256(canonical.encode(list(deliverables))).hexdigest()
