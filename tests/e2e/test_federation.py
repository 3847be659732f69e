"""Hubs federate: what one participant publishes reaches every hub of its category, byte for byte.

Push (a hub forwards what it newly accepts to its peers) is tested with
reconciliation switched off in practice (a one-hour interval); healing a
partition is tested where only reconciliation can do it.
"""

from harness import eventually, free_port

CATEGORY = "web-design"
NO_RECONCILE = 3600.0  # longer than any test: arrivals are by push alone


def offer(title: str, category: str = CATEGORY) -> dict:
    return {"type": "offer", "body": {
        "category": category, "title": title, "description": f"{title}, done properly.",
        "price": {"amount": "80.00", "currency": "EUR"}, "unit": "hour"}}


def urls(ports: list[int]) -> list[str]:
    return [f"http://127.0.0.1:{port}" for port in ports]


def holds(proc, object_id: str) -> bool:
    return proc.get_raw(f"/ki/v1/objects/{object_id}")[0] == 200


def test_objects_cross_a_line_of_three_hubs_byte_for_byte(federation):
    ports = [free_port() for _ in range(3)]
    url_a, url_b, url_c = urls(ports)
    hub_a = federation.hub("hub-a", [CATEGORY], peers=[url_b], port=ports[0], reconcile_interval=NO_RECONCILE)
    hub_b = federation.hub("hub-b", [CATEGORY], peers=[url_a, url_c], port=ports[1], reconcile_interval=NO_RECONCILE)
    hub_c = federation.hub("hub-c", [CATEGORY], peers=[url_b], port=ports[2], reconcile_interval=NO_RECONCILE)
    alice = federation.node("alice", hubs=[hub_a.url])
    bob = federation.node("bob", hubs=[hub_b.url])
    carol = federation.node("carol", hubs=[hub_c.url])
    hubs = [hub_a, hub_b, hub_c]

    from_alice = federation.publish(alice, "offer", offer("Landing page in a week")["body"])
    eventually(lambda: holds(hub_c, from_alice), what="alice's offer on hub C, two hops away")
    status, wire = alice.get_raw(f"/ki/v1/objects/{from_alice}")
    assert status == 200
    assert [hub.get_raw(f"/ki/v1/objects/{from_alice}") for hub in hubs] == [(200, wire)] * 3

    from_carol = federation.publish(carol, "offer", offer("Copy for a brochure")["body"])
    from_bob = federation.publish(bob, "offer", offer("Logo redesign")["body"])
    for object_id, author in ((from_carol, carol), (from_bob, bob)):
        eventually(lambda: all(holds(hub, object_id) for hub in hubs), what=f"{object_id} on every hub")
        wire = author.get_raw(f"/ki/v1/objects/{object_id}")[1]
        assert [hub.get_raw(f"/ki/v1/objects/{object_id}")[1] for hub in hubs] == [wire] * 3

    for hub in hubs:
        ids = hub.object_ids()
        assert sorted(ids) == sorted([from_alice, from_bob, from_carol]), hub.log_text()
    _, found, _ = hub_c.get_json("/ki/v1/search?q=landing")
    assert [r["id"] for r in found["results"]] == [from_alice]


def test_a_stopped_peer_catches_up_when_it_comes_back(federation):
    ports = [free_port() for _ in range(2)]
    url_x, url_y = urls(ports)
    hub_x = federation.hub("hub-x", [CATEGORY], peers=[url_y], port=ports[0], reconcile_interval=0.5)
    hub_y = federation.hub("hub-y", [CATEGORY], peers=[url_x], port=ports[1], reconcile_interval=0.5)
    xavier = federation.node("xavier", hubs=[hub_x.url])
    yvonne = federation.node("yvonne", hubs=[hub_y.url])
    before = federation.publish(xavier, "offer", offer("Before the partition")["body"])
    eventually(lambda: holds(hub_y, before), what="the first offer on both hubs")

    assert hub_y.stop() == 0
    on_x = federation.publish_many(xavier, [offer(f"Published on X side {n}") for n in range(5)])
    on_y = federation.publish_many(yvonne, [offer(f"Waiting on Y side {n}") for n in range(3)])
    eventually(lambda: set(on_x) <= set(hub_x.object_ids()), what="X side objects on hub X")
    hub_y.start()

    everything = {before, *on_x, *on_y}
    eventually(lambda: set(hub_x.object_ids()) == set(hub_y.object_ids()) == everything,
               timeout=60, what="both hubs holding every object")
    for hub in (hub_x, hub_y):
        ids = hub.object_ids()
        assert len(ids) == len(set(ids)), f"duplicates in {hub.data_dir.name}'s log"


def test_a_hub_that_joins_later_catches_up_by_reconciliation_alone(federation):
    hub_x = federation.hub("hub-x", [CATEGORY, "copywriting"], reconcile_interval=0.5)
    xavier = federation.node("xavier", hubs=[hub_x.url])
    published = federation.publish_many(
        xavier, [offer(f"Early offer {n}") for n in range(30)] + [offer(f"Copy {n}", "copywriting") for n in range(5)])
    eventually(lambda: len(hub_x.object_ids()) == len(published), what="the early objects on hub X")

    # X does not know Z, so X can never push to it: only Z's reconciliation can fill it.
    hub_z = federation.hub("hub-z", [CATEGORY], peers=[hub_x.url], reconcile_interval=0.5)
    served_by_z = set(published[:30])
    eventually(lambda: set(hub_z.object_ids()) == served_by_z, timeout=60, what="hub Z holding X's web-design objects")
    assert hub_z.did not in [peer["did"] for peer in federation.status(hub_x)["peers"]]
    for object_id in published[:30:7]:
        assert hub_z.get_raw(f"/ki/v1/objects/{object_id}") == hub_x.get_raw(f"/ki/v1/objects/{object_id}")
    assert len(hub_z.object_ids()) == len(served_by_z)
