"""SIGKILL a real hub again and again while clients deliver batches: nothing acknowledged is lost.

Two client threads POST batches of fresh objects to /ki/v1/inbox without
pause; at a random moment (after a random number of acknowledged batches)
the hub is killed with SIGKILL, usually with requests in flight. With the
hub down, its database must hold every object an answer called `accepted`
or `duplicate`, and `PRAGMA integrity_check` must say ok; then the hub
restarts on the same port and data. The number of kills is fixed and
bounded in time by a deadline, so a slow machine runs fewer, never longer.
"""

import http.client
import json
import os
import random
import sqlite3
import threading
import time

import pytest

from harness import Proc
from protocol.envelope import sign
from protocol.identity import Identity

KILLS = 40
DEADLINE_SECONDS = 60
BATCH = 20
CATEGORY = "web-design"


def batches(count: int):
    """Fresh batches, each by its own author (so no author limit bites), signed ahead of time."""
    for n in range(count):
        author = Identity.generate()
        objects = [sign(author, "offer", {"category": CATEGORY, "title": f"Durable {n}.{i}", "description": "d",
                                          "price": {"amount": "5.00", "currency": "EUR"}, "unit": "hour"},
                        1767225600 + i) for i in range(BATCH)]
        yield objects


class Delivery:
    """Clients that deliver batches until stopped, recording what the hub acknowledged."""

    def __init__(self, port: int, supply):
        self.port, self.supply, self.lock = port, supply, threading.Lock()
        self.acknowledged: set[str] = set()
        self.acked_batches = 0
        self.stop = threading.Event()

    def run(self) -> None:
        connection = None
        while not self.stop.is_set():
            with self.lock:
                objects = next(self.supply)
            body = json.dumps({"objects": [o.as_dict() for o in objects]}).encode()
            try:
                connection = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                connection.request("POST", "/ki/v1/inbox", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException):
                if connection is not None:
                    connection.close()
                connection = None
                self.stop.wait(0.01)
                continue
            if response.status != 200:
                continue
            acked = {r["id"] for r in json.loads(answer)["results"] if r["status"] in ("accepted", "duplicate")}
            with self.lock:
                self.acknowledged |= acked
                self.acked_batches += 1
        if connection is not None:
            connection.close()


@pytest.mark.slow
@pytest.mark.timeout(DEADLINE_SECONDS + 60)
def test_acknowledged_objects_survive_repeated_sigkill_of_a_hub(tmp_path):
    hub = Proc(["hub", "--data-dir", str(tmp_path / "hub"), "--category", CATEGORY,
                "--rate-limit", "100000:100000", "--work-limit", "1000000:1000000"],
               tmp_path / "hub", tmp_path / "hub.log").start()
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    supply = batches(10**6)
    deadline = time.monotonic() + DEADLINE_SECONDS
    everything: set[str] = set()
    kills = 0
    try:
        while kills < KILLS and time.monotonic() < deadline:
            delivery = Delivery(hub.port, supply)
            clients = [threading.Thread(target=delivery.run) for _ in range(2)]
            for client in clients:
                client.start()
            target = rng.randint(1, 12)
            while delivery.acked_batches < target and time.monotonic() < deadline:
                time.sleep(0.001 * rng.randint(0, 5))  # not a wait for the hub: a random moment to kill at
            hub.kill()
            kills += 1
            delivery.stop.set()
            for client in clients:
                client.join(15)
            everything |= delivery.acknowledged
            with sqlite3.connect(hub.data_dir / "kinode.db") as db:
                stored = {row[0] for row in db.execute("SELECT id FROM objects")}
                assert everything <= stored, f"kill {kills}: {len(everything - stored)} acknowledged objects lost"
                assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            db.close()
            hub.start()
    finally:
        hub.kill()
    assert kills >= 15, f"only {kills} kills before the deadline"
    print(f"{kills} kills, {len(everything)} acknowledged objects checked after each")
    assert len(everything) >= kills * BATCH
    assert "Traceback" not in hub.log_text()
