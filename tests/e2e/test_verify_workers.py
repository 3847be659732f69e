"""A hub verifying in a worker process answers a canonical batch exactly as one verifying in threads.

Nodes send batches as canonical bytes (`{"objects":[` + each object's wire
bytes + `]}`); only those take the worker path, so this test sends them so.
"""

from pathlib import Path

import pytest

from harness import Proc
from hub_client import JSON, log_ids, now, offer, request, signed_dict
from protocol import canonical
from protocol.identity import Identity


@pytest.fixture(scope="module")
def hubs(tmp_path_factory):
    root = tmp_path_factory.mktemp("verify-workers")
    procs = {}
    for name, workers in (("threads", "0"), ("worker", "1")):
        procs[name] = Proc(["hub", "--data-dir", str(root / name), "--category", "web-design",
                            "--verify-workers", workers], root / name, root / f"{name}.log").start()
    yield procs
    for proc in procs.values():
        proc.kill()


def _batch(identity: Identity) -> tuple[bytes, list]:
    good = [offer(identity, title=f"Landing page {n}") for n in range(20)]
    forged = {**good[0].as_dict(), "sig": offer(identity, title="Another").sig}
    wrong_id = {**good[1].as_dict(), "id": "0" * 64}
    future = signed_dict(identity, "offer", good[2].as_dict()["body"], now() + 3600)
    items = [o.wire for o in good[3:]] + [canonical.encode(x) for x in (forged, wrong_id, future)]
    return b'{"objects":[' + b",".join(items) + b"]}", good[3:]


def _answers(hub, body: bytes) -> list:
    answer = request(hub.url, "POST", "/ki/v1/inbox", body, JSON)
    assert answer.status == 200, answer.raw
    return [(r["id"], r["status"], r.get("code")) for r in answer.json["results"]]


def _descendants(pid: int) -> set[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
    family = {pid}
    for _ in range(4):  # hub -> forkserver -> worker
        family |= {child for child, parent in parents.items() if parent in family}
    return family - {pid}


def test_a_worker_process_answers_as_threads_do(hubs):
    body, good = _batch(Identity.generate())
    first = {name: _answers(hub, body) for name, hub in hubs.items()}
    assert _descendants(hubs["worker"].process.pid) and not _descendants(hubs["threads"].process.pid)
    assert first["worker"] == first["threads"]
    assert [status for _, status, _ in first["worker"]] == ["accepted"] * len(good) + ["rejected"] * 3
    assert [code for _, _, code in first["worker"][-3:]] == ["bad_signature", "bad_id", "clock_skew"]
    assert log_ids(hubs["worker"].url) == log_ids(hubs["threads"].url) == [o.id for o in good]
    again = {name: _answers(hub, body) for name, hub in hubs.items()}
    assert again["worker"] == again["threads"]
    assert [status for _, status, _ in again["worker"]][:len(good)] == ["duplicate"] * len(good)
