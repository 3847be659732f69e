"""GET /ki/v1/stream: new objects as server-sent events, resumable with Last-Event-ID.

The client is a plain HTTP connection read line by line with a socket
timeout, so a stream that stalls fails the test instead of hanging it.
"""

import http.client
import json
from urllib.parse import urlsplit

from harness import eventually

CATEGORY = "web-design"
OTHER = "copywriting"


def offer(title: str, category: str = CATEGORY) -> dict:
    return {"type": "offer", "body": {
        "category": category, "title": title, "description": f"{title}, done properly.",
        "price": {"amount": "45.00", "currency": "EUR"}, "unit": "hour"}}


class EventStream:
    """One SSE connection; `events(n)` reads the next n events as dicts of their fields."""

    def __init__(self, url: str, path: str, last_event_id: str | None = None, timeout: float = 20.0):
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.connection.request("GET", path, headers=headers)
        self.response = self.connection.getresponse()

    def events(self, count: int) -> list[dict[str, str]]:
        events, fields = [], {}
        while len(events) < count:
            line = self.response.readline()
            assert line, "the stream ended"
            line = line.decode().rstrip("\n")
            if line == "":
                if fields:
                    events.append(fields)
                    fields = {}
            elif not line.startswith(":"):  # comments are keep-alives
                name, _, value = line.partition(":")
                assert name not in fields, f"field {name!r} twice in one event"
                fields[name] = value.removeprefix(" ")
        return events

    def close(self) -> None:
        self.connection.close()


def test_stream_sends_new_objects_in_order_and_resumes_after_last_event_id(federation):
    hub = federation.hub("hub", [CATEGORY, OTHER])
    alice = federation.node("alice", hubs=[hub.url])
    old = federation.publish_many(alice, [offer("Published before anyone listened")])
    eventually(lambda: old[0] in hub.object_ids(), what="the old offer on the hub")

    stream = EventStream(hub.url, f"/ki/v1/stream?category={CATEGORY}")
    assert stream.response.status == 200
    assert stream.response.getheader("Content-Type").startswith("text/event-stream")
    mixed = [offer(f"Offer {n}") if n % 3 else offer(f"Copy {n}", OTHER) for n in range(9)]
    published = federation.publish_many(alice, mixed)
    wanted = [object_id for object_id, document in zip(published, mixed) if document["body"]["category"] == CATEGORY]

    first = stream.events(len(wanted))
    stream.close()
    assert [e["event"] for e in first] == ["object"] * len(wanted)
    assert [e["data"] for e in first] == [alice.get_raw(f"/ki/v1/objects/{i}")[1].decode() for i in wanted]
    seqs = [int(e["id"]) for e in first]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    resumed = EventStream(hub.url, f"/ki/v1/stream?category={CATEGORY}", last_event_id=first[2]["id"])
    later = federation.publish_many(alice, [offer(f"Later offer {n}") for n in range(3)])
    replayed = resumed.events(len(wanted) - 3 + len(later))
    resumed.close()
    ids = [_id_of(e) for e in replayed]
    assert ids == wanted[3:] + later, "a gap or a repeat after resuming"
    assert [e["id"] for e in replayed[:len(wanted) - 3]] == [e["id"] for e in first[3:]]


def test_a_participant_node_streams_what_its_owner_publishes(federation):
    alice = federation.node("alice")
    stream = EventStream(alice.url, "/ki/v1/stream")
    published = federation.publish_many(alice, [offer(f"Own offer {n}") for n in range(4)])
    assert [_id_of(e) for e in stream.events(4)] == published
    stream.close()


def test_a_bad_last_event_id_is_refused(federation):
    hub = federation.hub("hub", [CATEGORY])
    stream = EventStream(hub.url, "/ki/v1/stream", last_event_id="not-a-number")
    assert stream.response.status == 400
    assert b'"invalid_query"' in stream.response.read()
    stream.close()


def test_sigterm_with_a_subscriber_connected_still_exits_cleanly(federation):
    hub = federation.hub("hub", [CATEGORY])
    alice = federation.node("alice", hubs=[hub.url])
    stream = EventStream(hub.url, "/ki/v1/stream")
    published = federation.publish_many(alice, [offer("One for the road")])
    assert [_id_of(e) for e in stream.events(1)] == published
    assert hub.stop() == 0
    assert stream.response.read() == b"", "the stream should end cleanly, not be cut"
    assert "database closed" in hub.log_text()
    assert "Traceback" not in hub.log_text()
    stream.close()


def _id_of(event: dict[str, str]) -> str:
    return json.loads(event["data"])["id"]


def test_last_event_id_resumes_across_a_hub_restart(federation):
    hub = federation.hub("hub", [CATEGORY])
    alice = federation.node("alice", hubs=[hub.url])
    stream = EventStream(hub.url, "/ki/v1/stream")
    before = federation.publish_many(alice, [offer(f"Before the restart {n}") for n in range(2)])
    seen = stream.events(2)
    assert [_id_of(e) for e in seen] == before
    assert hub.stop() == 0
    stream.close()

    during = federation.publish_many(alice, [offer("While the hub was down")])
    hub.start()
    eventually(lambda: during[0] in hub.object_ids(), timeout=60, what="the queued offer on the restarted hub")
    resumed = EventStream(hub.url, "/ki/v1/stream", last_event_id=seen[-1]["id"])
    after = federation.publish_many(alice, [offer("After the restart")])
    assert [_id_of(e) for e in resumed.events(2)] == during + after
    resumed.close()
