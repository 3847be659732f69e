"""How long the work-lifecycle folds take on a large project (issue 7's targets).

A project of 1,000 tasks (each depending on up to three earlier ones) with
10,000 lifecycle objects in all: claims by twenty suppliers (some lapsed,
some standing by), contracts with both signs, deliveries and acceptances.
Prints the time of `project_view` (target < 50 ms) with and without the
contract fold inside it, next to a baseline measured in the same run: just
JSON-decoding the 10,000 objects' wire bytes. Then the real read paths
through storage (objects ingested into an in-memory store first):
`kinode.work.reads.project_view` (which also loads and decodes the set) and
`kinode.work.reads.reputation` (target < 20 ms; from the contract summaries
table, storage/contract_summaries.py), next to the read path it replaced
(folding every object of every contract involved). Wall and CPU
(time.process_time) medians: the CPU figure is what the work costs when
other processes share the cores.

    .venv/bin/python bench/lifecycle_bench.py [--rounds 15]

Other folds add their figures as functions called from `main` (e.g.
`reputation_bench`), reusing `build_project`.
"""

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from protocol.envelope import SignedObject, sign  # noqa: E402
from protocol.identity import Identity  # noqa: E402
from protocol.lifecycle.projects import contract_work, project_view  # noqa: E402

T0 = 1767225600
DAY = 86400
TARGET_MS = 50.0
REPUTATION_TARGET_MS = 20.0
COORDINATOR = Identity(bytes([1]) * 32)
RESOLVER = Identity(bytes([3]) * 32)
SUPPLIERS = [Identity(bytes([10 + n]) * 32) for n in range(20)]


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def build_project(tasks: int = 1000, total: int = 10_000, seed: int = 7) -> tuple[SignedObject, list[SignedObject]]:
    """The project and `total` lifecycle objects under it (tasks included), from a fixed seed."""
    rng = random.Random(seed)
    root = sign(COORDINATOR, "project", {
        "category": "web-design", "title": "A large relaunch", "description": "Many small tasks.",
        "budget": eur("1000000"), "deadline": T0 + 360 * DAY, "coordinator": COORDINATOR.did}, T0)
    made: list[SignedObject] = []
    for n in range(tasks):
        deps = rng.sample(made, min(len(made), rng.randint(0, 3))) if made else []
        deadline = max([T0 + 30 * DAY + n * 600, *(d.body["deadline"] for d in deps)])
        made.append(sign(COORDINATOR, "task", {
            "project": root.id, "category": "web-design", "title": f"Task {n}", "description": "Do it.",
            "budget": eur("500"), "deadline": deadline, "depends_on": [d.id for d in deps],
            "claim_lease": 2 * DAY, "estimate": rng.randint(1, 8) * 3600}, T0 + 1 + n))
    objects: list[SignedObject] = list(made)
    contracted = rng.sample(made, tasks // 2)
    for task in contracted:  # contract, two signs, delivery, acceptance: five objects each
        supplier = rng.choice(SUPPLIERS)
        at = T0 + DAY + rng.randint(0, 20 * DAY)
        contract = sign(COORDINATOR, "contract", {
            "parties": [{"did": COORDINATOR.did, "role": "client"}, {"did": supplier.did, "role": "supplier"}],
            "scope": [task.id], "terms": "As described.", "price": eur("500"),
            "milestones": [{"key": "all", "title": "All", "amount": eur("500"), "due": task.body["deadline"]}],
            "deadline": task.body["deadline"], "dispute_resolver": RESOLVER.did}, at)
        handed = sign(supplier, "delivery", {"contract": contract.id, "milestone": "all", "artifact": {
            "sha256": f"{rng.getrandbits(256):064x}", "location": "https://files.example.net/a"}}, at + DAY)
        objects += [contract, sign(COORDINATOR, "sign", {"contract": contract.id}, at + 1),
                    sign(supplier, "sign", {"contract": contract.id}, at + 2), handed,
                    sign(COORDINATOR, "acceptance", {"delivery": handed.id, "decision": "accept"}, at + DAY + 60)]
    while len(objects) < total:
        task = rng.choice(made)
        objects.append(sign(rng.choice(SUPPLIERS), "claim", {"task": task.id, "project": root.id},
                            T0 + rng.randint(2, 25 * DAY)))
    rng.shuffle(objects)
    return root, objects


def stored(objects: list[SignedObject]):
    """An in-memory store holding `objects` (ingested in (created_at, id) order, batches of 500)."""
    from storage.ingest import validate_batch
    from storage.objects import store_verified
    from storage.store import Store

    store = Store()
    ordered = sorted(objects, key=lambda o: (o.created_at, o.id))
    for i in range(0, len(ordered), 500):
        checked = validate_batch([o.wire for o in ordered[i:i + 500]], T0 + 400 * DAY)
        store.write_sync(store_verified, checked, T0 + 400 * DAY)
    return store


def folded_reputation(db, did: str, now: int) -> dict:
    """The read path before the contract summaries table: fold every object of the roots involved."""
    from protocol.lifecycle.reputation import reputation
    from storage import lifecycle

    ids = lifecycle.contracts_of(db, did, include_hidden=True)
    for contract_id in list(ids):
        for other, _ in lifecycle.parties_of(db, contract_id):
            ids += lifecycle.contracts_of(db, other, include_hidden=True)
    objects: dict = {}  # each root's set loaded once (the replaced code loaded it once per contract)
    for root in dict.fromkeys(lifecycle.root_of(db, contract_id) for contract_id in dict.fromkeys(ids)):
        objects.update((o.id, o) for o in lifecycle.objects_of_root(db, root, include_hidden=True))
    return reputation(did, list(objects.values()), now).as_dict()


def both(fn, rounds: int) -> tuple[float, float]:
    """(median wall ms, median CPU ms) of `fn()`."""
    return timed(fn, rounds), cpu_timed(fn, rounds)


def verdict(ms: float, target: float) -> str:
    return f"target < {target:.0f} ms: {'met' if ms < target else 'NOT met'}"


def settle() -> None:
    # The bench holds ~22,000 signed objects and their views alive; frozen out of the collector, its
    # full scans do not land on whichever read happens to run then (a node's heap is not this bench's).
    gc.collect()
    gc.freeze()


def timed(fn, rounds: int) -> float:
    """Median wall time of `fn()` in milliseconds."""
    settle()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def cpu_timed(fn, rounds: int) -> float:
    """Median CPU time of `fn()` in milliseconds: what the fold costs when other processes share the cores."""
    settle()
    times = []
    for _ in range(rounds):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1000)
    return statistics.median(times)


def project_bench(root: SignedObject, objects: list[SignedObject], rounds: int) -> None:
    now = T0 + 15 * DAY
    wires = [o.wire for o in objects]
    baseline = timed(lambda: [json.loads(w) for w in wires], rounds)
    contracts = contract_work(objects, now)
    fold_only = timed(lambda: project_view(root, objects, now, contracts), rounds)
    whole = timed(lambda: project_view(root, objects, now), rounds)
    cpu_baseline = cpu_timed(lambda: [json.loads(w) for w in wires], rounds)
    cpu_fold_only = cpu_timed(lambda: project_view(root, objects, now, contracts), rounds)
    cpu_whole = cpu_timed(lambda: project_view(root, objects, now), rounds)
    view = project_view(root, objects, now)
    states: dict[str, int] = {}
    for task in view.tasks:
        states[task.state] = states.get(task.state, 0) + 1
    print(f"  project     {len(view.tasks)} tasks, {len(objects)} objects; states {states}; "
          f"critical path {len(view.critical_path)} tasks")
    print(f"  baseline    json.loads of every object: {baseline:.1f} ms")
    print(f"  project_view with the contract fold: {whole:.1f} ms  ({whole / baseline:.2f}x baseline; "
          f"target < {TARGET_MS:.0f} ms: {'met' if whole < TARGET_MS else 'NOT met'})")
    print(f"  project_view given contract state:   {fold_only:.1f} ms  ({fold_only / baseline:.2f}x baseline)")
    print(f"  CPU time    baseline {cpu_baseline:.1f} ms; project_view {cpu_whole:.1f} ms "
          f"({cpu_whole / cpu_baseline:.2f}x; target < {TARGET_MS:.0f} ms: {'met' if cpu_whole < TARGET_MS else 'NOT met'}), "
          f"given contract state {cpu_fold_only:.1f} ms ({cpu_fold_only / cpu_baseline:.2f}x)")
    from kinode.work import reads

    store = stored([root, *objects])
    try:
        assert store.read_sync(reads.project_view, root.id, now) == view.as_dict()
        wall, cpu = both(lambda: store.read_sync(reads.project_view, root.id, now), rounds)
    finally:
        store.close()
    print(f"  through storage: reads.project_view (load and decode the set, then fold): wall {wall:.1f} ms "
          f"({wall / baseline:.2f}x baseline), CPU {cpu:.1f} ms ({cpu / cpu_baseline:.2f}x)")


def build_reputation(contracts: int = 1000, seed: int = 11) -> tuple[Identity, list[SignedObject]]:
    """A supplier with `contracts` completed contracts (two milestones each, paid, reviewed) for 100 clients."""
    rng = random.Random(seed)
    supplier = SUPPLIERS[0]
    clients = [Identity(bytes([100 + n % 100]) + bytes(31)) for n in range(100)]
    root = sign(COORDINATOR, "offer", {"category": "web-design", "title": "Sites", "description": "Small sites.",
                                       "price": eur("85.00"), "unit": "hour"}, T0)
    objects: list[SignedObject] = [root]
    for n in range(contracts):
        client, at = rng.choice(clients), T0 + n * 3600
        price = rng.choice(["300", "1200", "5000"])
        half = str(int(price) // 2)
        contract = sign(client, "contract", {
            "parties": [{"did": client.did, "role": "client"}, {"did": supplier.did, "role": "supplier"}],
            "scope": [root.id], "terms": "As offered.", "price": eur(price),
            "milestones": [{"key": key, "title": key, "amount": eur(half), "due": at + (k + 1) * 7 * DAY}
                           for k, key in enumerate(("design", "build"))],
            "deadline": at + 30 * DAY, "dispute_resolver": RESOLVER.did, "category": "web-design"}, at)
        objects += [contract, sign(client, "sign", {"contract": contract.id}, at + 1),
                    sign(supplier, "sign", {"contract": contract.id}, at + 2)]
        for k, key in enumerate(("design", "build")):
            done = at + (k + 1) * 6 * DAY + rng.randint(0, 3 * DAY)  # some after the due date
            handed = sign(supplier, "delivery", {"contract": contract.id, "milestone": key, "artifact": {
                "sha256": f"{rng.getrandbits(256):064x}", "location": "https://files.example.net/a"}}, done)
            sent = sign(client, "payment", {"contract": contract.id, "milestone": key, "amount": eur(half),
                                            "kind": "sent"}, done + 100)
            objects += [handed, sign(client, "acceptance", {"delivery": handed.id, "decision": "accept"}, done + 60),
                        sent, sign(supplier, "payment", {"contract": contract.id, "milestone": key, "amount": eur(half),
                                                         "kind": "confirmed", "confirms": sent.id}, done + 200)]
        objects.append(sign(client, "review", {"contract": contract.id, "subject": supplier.did,
                                               "rating": rng.randint(3, 5)}, at + 20 * DAY))
    rng.shuffle(objects)
    return supplier, objects


def reputation_bench(rounds: int) -> None:
    from protocol.lifecycle.reputation import contract_summaries, reputation, reputation_of

    started = time.perf_counter()
    supplier, objects = build_reputation()
    print(f"  built       {len(objects)} signed objects in {time.perf_counter() - started:.1f} s (not timed below)")
    now = T0 + 1000 * 3600 + 60 * DAY
    wires = [o.wire for o in objects]
    baseline = timed(lambda: [json.loads(w) for w in wires], rounds)
    summaries = list(contract_summaries(objects, now).values())
    from_objects = timed(lambda: reputation(supplier.did, objects, now), rounds)
    from_summaries = timed(lambda: reputation_of(supplier.did, summaries, now), rounds)
    result = reputation_of(supplier.did, summaries, now)
    assert result == reputation(supplier.did, objects, now)
    print(f"  reputation  {len(result.contracts)} contracts, {result.reviews_counted} reviews, "
          f"rating {result.rating_milli / 1000:.3f}, on time {result.on_time_permille / 10:.1f}%")
    print(f"  baseline    json.loads of every object: {baseline:.1f} ms")
    print(f"  reputation_of contract summaries (the derived-table path): {from_summaries:.1f} ms  "
          f"({from_summaries / baseline:.2f}x baseline; target < {REPUTATION_TARGET_MS:.0f} ms: "
          f"{'met' if from_summaries < REPUTATION_TARGET_MS else 'NOT met'})")
    print(f"  reputation from the objects (folds every contract): {from_objects:.1f} ms  "
          f"({from_objects / baseline:.2f}x baseline)")
    cpu_baseline = cpu_timed(lambda: [json.loads(w) for w in wires], rounds)
    cpu_summaries = cpu_timed(lambda: reputation_of(supplier.did, summaries, now), rounds)
    cpu_objects = cpu_timed(lambda: reputation(supplier.did, objects, now), rounds)
    print(f"  CPU time    baseline {cpu_baseline:.1f} ms; reputation_of {cpu_summaries:.1f} ms "
          f"({cpu_summaries / cpu_baseline:.2f}x; target < {REPUTATION_TARGET_MS:.0f} ms: "
          f"{'met' if cpu_summaries < REPUTATION_TARGET_MS else 'NOT met'}), from the objects {cpu_objects:.1f} ms "
          f"({cpu_objects / cpu_baseline:.2f}x)")
    from kinode.work import reads

    started = time.perf_counter()
    store = stored(objects)
    print(f"  stored      {len(objects)} objects in an in-memory store in {time.perf_counter() - started:.1f} s")
    try:
        read = store.read_sync(reads.reputation, supplier.did, now)
        assert read == result.as_dict() == store.read_sync(folded_reputation, supplier.did, now)
        wall, cpu = both(lambda: store.read_sync(reads.reputation, supplier.did, now), rounds)
        old_wall, old_cpu = both(lambda: store.read_sync(folded_reputation, supplier.did, now), max(3, rounds // 3))
    finally:
        store.close()
    print(f"  through storage: reads.reputation (contract summaries table, what GET /ki/v1/reputation/{{did}} "
          f"runs): wall {wall:.1f} ms ({wall / baseline:.2f}x baseline; {verdict(wall, REPUTATION_TARGET_MS)}), "
          f"CPU {cpu:.1f} ms ({cpu / cpu_baseline:.2f}x; {verdict(cpu, REPUTATION_TARGET_MS)})")
    print(f"  through storage, the replaced path (fold every object of the roots involved): wall {old_wall:.1f} ms "
          f"({old_wall / baseline:.2f}x baseline), CPU {old_cpu:.1f} ms ({old_cpu / cpu_baseline:.2f}x); "
          f"the table path is {old_cpu / cpu:.1f}x faster in CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"lifecycle folds (median of {args.rounds} rounds, one process, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores, load average {load})")
    started = time.perf_counter()
    root, objects = build_project()
    print(f"  built       {len(objects)} signed objects in {time.perf_counter() - started:.1f} s (not timed below)")
    project_bench(root, objects, args.rounds)
    reputation_bench(args.rounds)


if __name__ == "__main__":
    main()
