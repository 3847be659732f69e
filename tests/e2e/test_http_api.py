"""The federation API of a real hub answers as specs/protocol.md section 9 says.

One hub (categories web-design and copywriting) serves the module. Each test
signs its objects with a fresh identity, and its search words are unique, so
tests see their own objects whatever else the hub holds.
"""

import json
import secrets

import pytest

from harness import Proc, http_json
from hub_client import JSON, log_ids, now, offer, post_inbox, request
from kinode.federation.challenge import check_challenge_answer, new_nonce
from protocol.envelope import MAX_OBJECT_BYTES, sign
from protocol.identity import Identity

CATEGORIES = ["copywriting", "web-design"]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    args = ["hub", "--data-dir", str(root / "hub")] + [a for c in CATEGORIES for a in ("--category", c)]
    proc = Proc(args, root / "hub", root / "hub.log")
    yield proc.start()
    proc.kill()


@pytest.fixture
def alice() -> Identity:
    return Identity.generate()


def accept(hub, objects) -> None:
    results = post_inbox(hub.url, objects).json["results"]
    assert [(r["id"], r["status"]) for r in results] == [(o.id, "accepted") for o in objects], results


def test_well_known_describes_the_hub(hub):
    status, description, headers = hub.get_json("/.well-known/kinode")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert description["did"] == hub.did and description["did"].startswith("did:key:z6Mk")
    assert description["roles"] == ["node", "hub"]
    assert description["protocol"] == ["ki/1"]
    assert description["software"].startswith("kinode ")
    assert description["url"] == hub.url
    assert description["categories"] == CATEGORIES
    assert description["limits"] == {"max_body_bytes": 4 * 1024 * 1024, "max_batch": 500,
                                     "max_object_bytes": MAX_OBJECT_BYTES}
    assert "body.category" in description["policy"]["accepts"]


def test_inbox_answers_a_mixed_batch_in_order(hub, alice):
    held = offer(alice, title="Held already")
    accept(hub, [held])
    first, second = offer(alice, title="First new"), offer(alice, category="copywriting", title="Second new")
    forged = {**offer(alice, title="Forged").as_dict(), "sig": held.sig}
    elsewhere = offer(alice, category="plumbing")
    before = log_ids(hub.url)

    answer = post_inbox(hub.url, [first, held, forged, second, elsewhere, first])

    assert answer.status == 200 and answer.headers.get_content_type() == "application/json"
    results = answer.json["results"]
    assert [(r["id"], r["status"], r.get("code")) for r in results] == [
        (first.id, "accepted", None), (held.id, "duplicate", None), (forged["id"], "rejected", "bad_signature"),
        (second.id, "accepted", None), (elsewhere.id, "rejected", "category_not_served"),
        (first.id, "duplicate", None)]
    assert all(r["detail"] for r in results if r["status"] == "rejected")
    assert log_ids(hub.url) == before + [first.id, second.id]
    for accepted in (first, second):
        assert request(hub.url, "GET", f"/ki/v1/objects/{accepted.id}").raw == accepted.wire
    for refused in (forged["id"], elsewhere.id):
        request(hub.url, "GET", f"/ki/v1/objects/{refused}").problem(404, "not_found")


def test_get_object_serves_the_canonical_wire_bytes(hub, alice):
    obj = offer(alice, title="Café branding", skills=["logo", "typographie"])
    # Sent in another spelling: reversed member order, indentation, \u escapes.
    envelope = dict(reversed(list(obj.as_dict().items())))
    text = json.dumps({"objects": [envelope]}, indent=2, ensure_ascii=True).encode()
    assert obj.wire not in text
    assert request(hub.url, "POST", "/ki/v1/inbox", text, JSON).json["results"][0]["status"] == "accepted"

    got = request(hub.url, "GET", f"/ki/v1/objects/{obj.id}")
    assert got.status == 200 and got.headers.get_content_type() == "application/json"
    assert got.raw == obj.wire
    assert "Café".encode() in got.raw


def test_log_pages_cover_everything_exactly_once(hub, alice):
    base = now() - 100
    objects = [offer(alice, title=f"Offer number {n}", created_at=base + n) for n in range(23)]
    for start in range(0, 23, 10):
        accept(hub, objects[start:start + 10])

    paged, after, pages = [], None, 0
    while True:
        query = "limit=5" + (f"&after={after}" if after is not None else "")
        page = request(hub.url, "GET", f"/ki/v1/objects?{query}").json
        assert isinstance(page["next"], str)
        if not page["objects"]:
            assert page["next"] == after  # an empty page keeps the follower's place
            break
        assert len(page["objects"]) <= 5
        paged += [o["id"] for o in page["objects"]]
        after, pages = page["next"], pages + 1
    assert len(paged) == len(set(paged)) and pages >= 5
    assert paged == log_ids(hub.url)
    ours = [i for i in paged if i in {o.id for o in objects}]
    assert ours == [o.id for o in objects]

    # a follower at the end sees exactly what arrives next
    late = offer(alice, title="Late arrival")
    accept(hub, [late])
    page = request(hub.url, "GET", f"/ki/v1/objects?after={after}").json
    assert [o["id"] for o in page["objects"]] == [late.id]
    assert page["objects"][0] == json.loads(late.wire)


def test_log_filters_by_type_category_and_author(hub, alice):
    web = [offer(alice, title="Web one", created_at=now() - 3), offer(alice, title="Web two", created_at=now() - 2)]
    copy = offer(alice, category="copywriting", title="Copy one", created_at=now() - 1)
    profile = sign(alice, "profile", {"name": "Alice", "categories": ["web-design"]}, now())
    bob_copy = offer(Identity.generate(), category="copywriting", title="Bob's copy")
    accept(hub, [*web, copy, profile, bob_copy])

    def ids(**filters):
        return log_ids(hub.url, **filters)

    assert ids(author=alice.did) == [web[0].id, web[1].id, copy.id, profile.id]
    assert ids(author=alice.did, type="offer") == [web[0].id, web[1].id, copy.id]
    assert ids(author=alice.did, type="profile") == [profile.id]
    assert ids(author=alice.did, category="copywriting") == [copy.id]
    by_category = request(hub.url, "GET", "/ki/v1/objects?category=copywriting&limit=500").json["objects"]
    assert {copy.id, bob_copy.id} <= {o["id"] for o in by_category}
    assert all(o["body"]["category"] == "copywriting" for o in by_category)
    by_type = request(hub.url, "GET", "/ki/v1/objects?type=profile&limit=500").json["objects"]
    assert profile.id in {o["id"] for o in by_type} and all(o["type"] == "profile" for o in by_type)
    assert ids(author=Identity.generate().did) == []


@pytest.fixture
def listings(hub, alice):
    """A unique word W in seven offers (five web-design, two copywriting), oldest first;
    the oldest says W in its title, description and skills, the others only in the title."""
    word = "zq" + secrets.token_hex(4)
    base = now() - 1000
    best = offer(alice, title=f"{word} expert", created_at=base, skills=[word],
                 description=f"Everything {word}: audits, {word} rebuilds and {word} training.")
    others = [offer(alice, category="web-design" if n < 4 else "copywriting", title=f"Plain {word} work {n}",
                    created_at=base + 1 + n) for n in range(6)]
    unrelated = offer(alice, title="Nothing to see", created_at=base + 10)
    accept(hub, [best, *others, unrelated])
    return word, [best, *others]


def search(hub, query: str) -> dict:
    answer = request(hub.url, "GET", f"/ki/v1/search?{query}")
    assert answer.status == 200, answer.raw
    return answer.json


def test_search_finds_by_words_newest_first(hub, listings):
    word, objects = listings
    page = search(hub, f"q={word}")
    assert [r["id"] for r in page["results"]] == [o.id for o in reversed(objects)]
    assert page["next"] is None
    first, newest = page["results"][0], objects[-1]
    assert first == {"id": newest.id, "type": "offer", "author": newest.author, "created_at": newest.created_at,
                     "title": newest.body["title"], "object": json.loads(newest.wire)}


def test_search_filters_by_category(hub, listings):
    word, objects = listings
    page = search(hub, f"q={word}&category=copywriting")
    assert [r["id"] for r in page["results"]] == [o.id for o in reversed(objects) if o.category == "copywriting"]


def test_search_orders_by_relevance(hub, listings):
    word, objects = listings
    assert search(hub, f"q={word}&order=recent")["results"][-1]["id"] == objects[0].id
    ranked = search(hub, f"q={word}&order=relevance")["results"]
    assert ranked[0]["id"] == objects[0].id
    assert sorted(r["id"] for r in ranked) == sorted(o.id for o in objects)


def test_search_says_how_fresh_it_is_and_finds_what_the_inbox_just_accepted(hub, alice):
    # No wait and no retry here: the hub waits (up to 2 s) for its index to reach what it had stored.
    word = "fresh" + secrets.token_hex(4)
    before = search(hub, f"q={word}")
    assert before["results"] == [] and before["indexed_through"] == before["log_seq"] > 0
    for n in range(3):
        listing = offer(alice, title=f"{word} listing {n}", created_at=now() - 100 + n)  # newest first
        accept(hub, [listing])
        page = search(hub, f"q={word}")
        assert page["results"][0]["id"] == listing.id and len(page["results"]) == n + 1
        assert page["indexed_through"] == page["log_seq"] > before["log_seq"]
        before = page


@pytest.mark.parametrize("order", ["recent", "relevance"])
def test_search_pages_with_limit_and_cursor(hub, listings, order):
    word, objects = listings
    seen, cursor, pages = [], None, 0
    while True:
        query = f"q={word}&order={order}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = search(hub, query)
        assert len(page["results"]) <= 2
        seen += [r["id"] for r in page["results"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == 4
    assert seen == [r["id"] for r in search(hub, f"q={word}&order={order}")["results"]]
    assert len(set(seen)) == len(objects)


@pytest.mark.parametrize("query", [
    "colour=red", "q=x&order=sideways", "limit=abc", "limit=0", "limit=101",
    "min_price=10", "currency=EUR&min_price=ten", "type=contract", "created_after=yesterday",
])
def test_bad_search_parameter_is_400_invalid_query(hub, query):
    request(hub.url, "GET", f"/ki/v1/search?{query}").problem(400, "invalid_query")


def test_a_cursor_the_hub_never_issued_is_400_invalid_cursor(hub):
    request(hub.url, "GET", "/ki/v1/search?cursor=garbage").problem(400, "invalid_cursor")


def test_search_cursor_of_another_order_is_refused(hub, listings):
    word, _ = listings
    cursor = search(hub, f"q={word}&order=recent&limit=2")["next"]
    request(hub.url, "GET", f"/ki/v1/search?q={word}&order=relevance&limit=2&cursor={cursor}").problem(
        400, "invalid_cursor")


def test_challenge_is_answered_by_the_hub_key(hub):
    nonce = new_nonce()
    answer = request(hub.url, "POST", "/ki/v1/challenge", json.dumps({"nonce": nonce}).encode(), JSON)
    assert answer.status == 200 and answer.headers.get_content_type() == "application/json"
    check_challenge_answer(hub.did, nonce, answer.json)  # raises ChallengeFailed otherwise
    assert answer.json["did"] == hub.did


def test_have_answers_the_offered_ids_the_hub_lacks(hub, listings):
    held = hub.object_ids()[0]
    unknown = "ab" * 32
    status, answer, _ = http_json("POST", hub.url + "/ki/v1/have",
                                  json.dumps({"ids": [unknown, held, unknown]}).encode(),
                                  {"Content-Type": "application/json"})
    assert (status, answer) == (200, {"missing": [unknown]})


@pytest.mark.parametrize("path", ["/ki/v1/have", "/ki/v1/fetch"])
@pytest.mark.parametrize("body", [b'{"ids": []}', b'{"ids": ["nope"]}', b'{"objects": []}', b'[]'])
def test_have_and_fetch_refuse_anything_but_a_list_of_ids(hub, path, body):
    status, answer, _ = http_json("POST", hub.url + path, body, {"Content-Type": "application/json"})
    assert (status, answer["code"]) == (400, "malformed")


def test_fetch_serves_what_get_would_in_request_order_byte_for_byte(hub, alice):
    kept, withdrawn = offer(alice, title="Fetched whole"), offer(alice, title="Fetched then withdrawn")
    accept(hub, [kept, withdrawn])
    accept(hub, [sign(alice, "retract", {"target": withdrawn.id}, now())])
    unknown = "cd" * 32
    answer = request(hub.url, "POST", "/ki/v1/fetch",
                     json.dumps({"ids": [unknown, kept.id, withdrawn.id, kept.id]}).encode(), JSON)
    assert answer.status == 200 and answer.headers.get_content_type() == "application/json"
    assert answer.raw == b'{"objects":[' + kept.wire + b'],"unsent":[]}'  # the retracted one: GET answers 410
    assert request(hub.url, "GET", f"/ki/v1/objects/{withdrawn.id}").status == 410
