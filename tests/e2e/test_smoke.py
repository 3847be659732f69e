"""A participant publishes an offer; the hub it names stores it byte for byte and finds it."""

from harness import eventually

OFFER = {"category": "web-design", "title": "Landing page in a week", "description": "Responsive landing page.",
         "price": {"amount": "80.00", "currency": "EUR"}, "unit": "hour"}


def test_published_offer_reaches_the_hub_and_is_searchable(federation):
    hub = federation.hub("hub", ["web-design"])
    alice = federation.node("alice", hubs=[hub.url])
    object_id = federation.publish(alice, "offer", OFFER)

    status, _, _ = eventually(lambda: (r := hub.get_json(f"/ki/v1/objects/{object_id}"))[0] == 200 and r,
                              what="the offer on the hub")
    assert status == 200
    assert hub.get_json(f"/ki/v1/objects/{object_id}")[1] == alice.get_json(f"/ki/v1/objects/{object_id}")[1]
    _, page, _ = hub.get_json("/ki/v1/search?q=landing")
    assert [r["id"] for r in page["results"]] == [object_id]
    assert alice.stop() == 0
