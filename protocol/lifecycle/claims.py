"""Who holds a task: places, leases and the standby queue (spec section 13.2, "Claims").

A task has `claims_per_task` places. Claims take places in the order they
become *ready* (their `created_at`, or with `claim_approval` the time of the
coordinator's earliest approval, whichever is later), ties by claim id. A
claim that finds every place taken queues as standby. A holder's lease runs
`claim_lease` seconds from the moment it took its place; when it lapses
(start + lease <= now) the place frees and the head of the queue takes it
with its lease starting at the lapse time. An author whose earlier claim on
the task is still holding or queued gets nothing from a second one.

The walk is a replay of these events up to `until`; it looks only at the
claims and the times, so it gives the same answer for the same set in any
arrival order.
"""

import heapq
from collections import deque
from dataclasses import dataclass
from typing import Any, Iterable

from protocol.envelope import SignedObject


@dataclass(frozen=True)
class ClaimPlace:
    """One claim in the view: when it became ready and, once it held a place, its lease."""

    claim: str
    author: str
    created_at: int
    ready_at: int
    lease_start: int | None = None
    lease_end: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"claim": self.claim, "author": self.author, "created_at": self.created_at,
                "ready_at": self.ready_at, "lease_start": self.lease_start, "lease_end": self.lease_end}


@dataclass(frozen=True)
class Claims:
    """The outcome of the replay at `until`."""

    holders: tuple[ClaimPlace, ...] = ()  # in (lease_start, claim id) order
    standby: tuple[ClaimPlace, ...] = ()  # queue order: the head takes the next free place
    lapsed: tuple[ClaimPlace, ...] = ()  # held a place whose lease ended, in (lease_end, claim id) order
    ignored: tuple[str, ...] = ()  # claims by an author already holding or queued, sorted

    def as_dict(self) -> dict[str, Any]:
        return {"holders": [p.as_dict() for p in self.holders], "standby": [p.as_dict() for p in self.standby],
                "lapsed": [p.as_dict() for p in self.lapsed], "ignored": list(self.ignored)}


EMPTY = Claims()


def _place(claim: SignedObject, ready_at: int, start: int | None = None, end: int | None = None) -> ClaimPlace:
    # The same frozen ClaimPlace, without the frozen __init__'s object.__setattr__ per field: a project
    # of 1,000 tasks builds thousands of these per view (bench/lifecycle_bench.py).
    place = object.__new__(ClaimPlace)
    place.__dict__.update(claim=claim.id, author=claim.author, created_at=claim.created_at, ready_at=ready_at,
                          lease_start=start, lease_end=end)
    return place


def replay(ready: Iterable[tuple[int, SignedObject]], lease: int, places: int, until: int) -> Claims:
    """Replay ready claims, given as (ready_at, claim), up to time `until`.

    Claims ready after `until` are left out. At one instant, lapses come
    before arrivals: a place freed at t goes to the queue's head before a
    claim ready at t is seen.
    """
    arrivals = sorted((at, claim.id, claim) for at, claim in ready if at <= until)
    if not arrivals:
        return EMPTY
    # (lease_end, claim id, claim, ready_at, lease_start); places are built once, at the end
    holding: list[tuple[int, str, SignedObject, int, int]] = []
    queue: deque[tuple[SignedObject, int]] = deque()
    live: set[str] = set()  # authors holding or queued
    lapsed: list[ClaimPlace] = []
    ignored: list[str] = []

    def lapse_until(t: int) -> None:
        while holding and holding[0][0] <= t:
            end, _, claim, ready_at, start = heapq.heappop(holding)
            lapsed.append(_place(claim, ready_at, start, end))
            live.discard(claim.author)
            if queue:
                waiting, waited_from = queue.popleft()
                heapq.heappush(holding, (end + lease, waiting.id, waiting, waited_from, end))

    for at, claim_id, claim in arrivals:
        if holding and holding[0][0] <= at:
            lapse_until(at)
        if claim.author in live:
            ignored.append(claim_id)
            continue
        live.add(claim.author)
        if len(holding) < places:
            heapq.heappush(holding, (at + lease, claim_id, claim, at, at))
        else:
            queue.append((claim, at))
    lapse_until(until)
    holders = [_place(claim, ready_at, start, end) for end, _, claim, ready_at, start in holding]
    if len(holders) > 1:
        holders.sort(key=lambda p: (p.lease_start, p.claim))
    standby = tuple(_place(claim, ready_at) for claim, ready_at in queue)
    return Claims(tuple(holders), standby, tuple(lapsed), tuple(sorted(ignored)))
