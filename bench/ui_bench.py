"""Web UI benchmark: page weight of every page, and the dashboard of a node holding 10,000 objects.

    .venv/bin/python bench/ui_bench.py                 # 10,000 objects (about half a minute)
    .venv/bin/python bench/ui_bench.py --objects 50000

A real `kinode serve` with its web UI is started twice on 127.0.0.1: on an
empty data dir (the baseline) and on one filled with N objects (the owner's
offers, a project of 50 tasks with a contract, and offers and profiles of
other participants), signed for real and stored through the storage layer.
Each page is fetched over HTTP with the login cookie, as a browser would.
The target is every page under 100 KB of HTML and the dashboard under 200 ms;
they are printed, never asserted.
"""

import argparse
import http.client
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "e2e"), str(ROOT / "tests" / "web_ui"), str(ROOT / "bench")]

from benchlib import describe_run  # noqa: E402
from harness import KINODE  # noqa: E402
from kinode import keystore  # noqa: E402
from protocol.envelope import sign  # noqa: E402
from protocol.identity import Identity  # noqa: E402
from storage.objects import store_verified  # noqa: E402
from storage.store import Store  # noqa: E402
from ui_proc import login, start  # noqa: E402

CATEGORY = "web-design"
EUR = "EUR"
PAGE_LIMIT = 100 * 1024
DASHBOARD_TARGET_MS = 200


def money(amount: str) -> dict:
    return {"amount": amount, "currency": EUR}


def fill(data_dir: Path, total: int, now: int) -> dict[str, str]:
    """Store `total` signed objects in the node's database; returns ids of pages worth fetching."""
    me = keystore.load_identity(data_dir, None)
    others = [Identity.generate() for _ in range(50)]
    objects = [sign(me, "profile", {"name": "Bench Owner", "skills": ["css"]}, now - 10)]
    project = sign(me, "project", {"category": CATEGORY, "title": "Shop site", "description": "A shop",
                                   "budget": money("100000.00"), "deadline": now + 90 * 86400,
                                   "coordinator": me.did}, now - 5000)
    objects.append(project)
    tasks = []
    for n in range(50):
        deps = [tasks[-1].id] if tasks and n % 3 else []
        tasks.append(sign(me, "task", {"project": project.id, "category": CATEGORY, "title": f"Task {n}",
                                       "description": f"Part {n} of the shop", "budget": money("100.00"),
                                       "deadline": now + (10 + n) * 86400, "depends_on": deps,
                                       "claim_lease": 86400}, now - 4000 + n))
    objects += tasks
    contract = sign(me, "contract", {
        "parties": [{"did": me.did, "role": "client"}, {"did": others[0].did, "role": "supplier"}],
        "scope": [tasks[0].id], "terms": "Task 0, done well", "price": money("100.00"),
        "milestones": [{"key": "all", "title": "All of it", "amount": money("100.00"), "due": now + 9 * 86400}],
        "deadline": now + 10 * 86400, "dispute_resolver": others[1].did}, now - 3000)
    objects.append(contract)
    for other in others:
        objects.append(sign(other, "profile", {"name": f"Participant {other.did[-4:]}"}, now - 20))
    n = 0
    while len(objects) < total:
        author = me if n % 5 == 0 else others[n % len(others)]
        objects.append(sign(author, "offer", {"category": CATEGORY, "title": f"Offer number {n}",
                                              "description": "Sites that load fast and read well.",
                                              "price": money(f"{100 + n % 900}.00"), "unit": "day"},
                            now - 100000 + n))
        n += 1
    store = Store(data_dir / "kinode.db")
    try:
        for start_at in range(0, len(objects), 1000):
            store.write_sync(store_verified, objects[start_at:start_at + 1000], now)
    finally:
        store.close()
    return {"project": project.id, "contract": contract.id, "offer": objects[-1].id}


def get(node, cookie: str, path: str) -> tuple[int, bytes, float]:
    host, port = node.ui_host.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        began = time.perf_counter()
        connection.request("GET", path, headers={"Host": node.ui_host, "Cookie": cookie})
        response = connection.getresponse()
        body = response.read()
        return response.status, body, (time.perf_counter() - began) * 1000
    finally:
        connection.close()


def dashboard_ms(node, cookie: str, rounds: int) -> list[float]:
    get(node, cookie, "/")  # warm: templates compiled, caches filled
    return sorted(get(node, cookie, "/")[2] for _ in range(rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    describe_run("web UI benchmark", {"objects": args.objects, "rounds": args.rounds})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in ("empty", "full"):
            subprocess.run(KINODE + ["init", "--data-dir", str(root / name), "--no-passphrase"], check=True,
                           capture_output=True)
        began = time.perf_counter()
        ids = fill(root / "full", args.objects, int(time.time()))
        print(f"  filled      {args.objects} objects in {time.perf_counter() - began:.1f} s")
        empty, full = start(root, "empty"), start(root, "full")
        try:
            base = dashboard_ms(empty, login(empty), args.rounds)
            cookie = login(full)
            loaded = dashboard_ms(full, cookie, args.rounds)
            print("\npage weight (node with the objects)")
            pages = ["/", "/find", "/inbox", "/profile", "/offers/new", "/projects/new", "/delivery", "/settings",
                     f"/objects/{ids['offer']}", f"/projects/{ids['project']}", f"/contracts/{ids['contract']}",
                     f"/contracts/new?scope={ids['project']}"]
            for path in pages:
                status, body, ms = get(full, cookie, path)
                verdict = "ok" if len(body) < PAGE_LIMIT else "OVER 100 KB"
                print(f"  {path[:60]:60} {status} {len(body) / 1024:7.1f} KB {ms:7.1f} ms  {verdict}")
        finally:
            empty.stop()
            full.stop()
    p50, p90 = statistics.median(loaded), loaded[int(len(loaded) * 0.9) - 1]
    b50 = statistics.median(base)
    print(f"\ndashboard, {args.rounds} requests each")
    print(f"  empty node        median {b50:6.1f} ms")
    print(f"  {args.objects:>6} objects    median {p50:6.1f} ms, p90 {p90:6.1f} ms  "
          f"({p50 / b50:.2f}x the empty node; target < {DASHBOARD_TARGET_MS} ms: "
          f"{'met' if p90 < DASHBOARD_TARGET_MS else 'NOT met'})")


if __name__ == "__main__":
    main()
