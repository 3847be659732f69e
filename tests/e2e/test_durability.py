"""Crashes, outages and shutdowns: nothing acknowledged is lost, nothing arrives twice.

Also the process contract: SIGTERM exits 0 after closing the database, and a
bad command line or a busy port exits non-zero with one clear line, never a
traceback.
"""

import socket
import subprocess

import pytest

from harness import KINODE, eventually, free_port

CATEGORY = "web-design"


def offer(title: str) -> dict:
    return {"type": "offer", "body": {
        "category": CATEGORY, "title": title, "description": f"{title}, done properly.",
        "price": {"amount": "600.00", "currency": "EUR"}, "unit": "day"}}


def assert_no_duplicates(proc) -> list[str]:
    ids = proc.object_ids()
    assert len(ids) == len(set(ids)), f"{proc.data_dir.name} lists an object twice"
    return ids


def test_a_hub_killed_mid_gossip_loses_nothing_after_restart(federation):
    ports = [free_port() for _ in range(3)]
    url_a, url_b, url_c = (f"http://127.0.0.1:{port}" for port in ports)
    hub_a = federation.hub("hub-a", [CATEGORY], peers=[url_b], port=ports[0], reconcile_interval=0.5)
    hub_b = federation.hub("hub-b", [CATEGORY], peers=[url_a, url_c], port=ports[1], reconcile_interval=0.5)
    hub_c = federation.hub("hub-c", [CATEGORY], peers=[url_b], port=ports[2], reconcile_interval=0.5)
    alice = federation.node("alice", hubs=[hub_a.url])

    first = federation.publish_many(alice, [offer(f"Offer {n}") for n in range(25)])
    eventually(lambda: hub_b.object_ids(), what="hub B receiving the first objects")
    hub_b.kill()  # B may be half way through storing a batch, or forwarding it to C
    rest = federation.publish_many(alice, [offer(f"Offer {n}") for n in range(25, 50)])
    published = set(first + rest)
    eventually(lambda: set(hub_a.object_ids()) == published, what="all 50 objects on hub A")

    hub_b.start()  # same port, same data dir
    hubs = (hub_a, hub_b, hub_c)
    eventually(lambda: all(set(hub.object_ids()) == published for hub in hubs), timeout=60,
               what="hubs A, B and C converging on the 50 objects")
    for hub in hubs:
        assert len(assert_no_duplicates(hub)) == 50
    for object_id in sorted(published)[::10]:
        wire = alice.get_raw(f"/ki/v1/objects/{object_id}")
        assert [hub.get_raw(f"/ki/v1/objects/{object_id}") for hub in hubs] == [wire] * 3


def test_objects_published_while_the_hub_is_down_arrive_once_it_is_back(federation):
    hub = federation.hub("hub", [CATEGORY])
    alice = federation.node("alice", hubs=[hub.url])
    earlier = federation.publish(alice, "offer", offer("Published while the hub was up")["body"])
    eventually(lambda: earlier in hub.object_ids(), what="the first offer on the hub")
    held_before = len(hub.object_ids())

    assert hub.stop() == 0
    published = federation.publish_many(alice, [offer(f"Published while the hub was down {n}") for n in range(10)])
    eventually(lambda: f"delivery to {hub.url}: retry" in alice.log_text(), what="alice's node failing to deliver")
    assert federation.status(alice)["outbox"] != {}
    hub.start()

    eventually(lambda: set(published) <= set(hub.object_ids()), timeout=60, what="the ten offers on the hub")
    assert len(assert_no_duplicates(hub)) == held_before + 10
    eventually(lambda: federation.status(alice)["outbox"] == {}, what="alice's outbox draining")
    assert federation.status(alice)["quarantined"] == 0


def test_sigterm_exits_zero_after_closing_the_database(federation):
    hub = federation.hub("hub", [CATEGORY])
    alice = federation.node("alice", hubs=[hub.url])
    last_words = federation.publish(alice, "offer", offer("Last words")["body"])
    assert alice.stop() == 0  # perhaps before, perhaps while, delivering the offer
    alice.start()
    eventually(lambda: last_words in hub.object_ids(), what="the offer on the hub after alice's restart")
    eventually(lambda: federation.status(alice)["outbox"] == {}, what="alice's outbox draining")
    assert alice.stop() == 0
    assert hub.stop() == 0
    for proc, stops in ((hub, 1), (alice, 2)):
        log = proc.log_text()
        assert log.count("database closed") == stops
        assert "Traceback" not in log


def run_kinode(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(KINODE + list(args), capture_output=True, text=True, timeout=30)


def test_an_unknown_flag_is_refused_with_a_clear_message(tmp_path):
    done = run_kinode("hub", "--data-dir", str(tmp_path / "hub"), "--category", CATEGORY, "--no-such-flag")
    assert done.returncode != 0
    assert "unrecognized arguments: --no-such-flag" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "hub").exists()


@pytest.mark.parametrize("interval", ["-1", "0", "soon"])
def test_a_reconcile_interval_that_is_not_positive_is_refused(tmp_path, interval):
    done = run_kinode("hub", "--data-dir", str(tmp_path / "hub"), "--category", CATEGORY,
                      "--reconcile-interval", interval, "--port", "0")
    assert done.returncode != 0
    assert "argument --reconcile-interval:" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "hub").exists()


def test_a_port_in_use_is_refused_with_a_clear_message(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_kinode("hub", "--data-dir", str(tmp_path / "hub"), "--category", CATEGORY, "--port", str(port))
    assert done.returncode != 0
    assert f"127.0.0.1:{port}" in done.stderr
    assert "port_in_use" in done.stderr
    assert "Traceback" not in done.stderr
    assert "listening on" not in done.stdout
