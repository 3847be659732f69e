"""Every bad request to a real hub gets the right status and problem code, and stores nothing.

One hub (category web-design) serves the whole module; each test compares the
hub's full log before and after. A bad request that carries a valid object
proves the refusal happened before storage, not that there was nothing to store.
"""

import json

import pytest

from harness import Proc
from hub_client import JSON, log_ids, now, offer, post_inbox, request, signed, signed_dict
from protocol.envelope import MAX_OBJECT_BYTES, sign
from protocol.identity import Identity


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("errors")
    proc = Proc(["hub", "--data-dir", str(root / "hub"), "--category", "web-design"], root / "hub", root / "hub.log")
    yield proc.start()
    proc.kill()


@pytest.fixture
def alice() -> Identity:
    return Identity.generate()


@pytest.fixture
def unchanged(hub):
    """Fails the test if the hub's log changed while it ran."""
    before = log_ids(hub.url)
    yield
    assert log_ids(hub.url) == before, "a refused request changed the hub's log"


def batch(*objects) -> bytes:
    return json.dumps({"objects": [o.as_dict() if hasattr(o, "as_dict") else o for o in objects]}).encode()


# --- the request as a whole ----------------------------------------------------------------

@pytest.mark.parametrize("body, code", [
    (b"{", "malformed"),
    (b"", "malformed"),
    (b"objects", "malformed"),
    (b'\xff{"objects": []}', "malformed"),
    (b'[{"objects": []}]', "malformed"),
    (b'{"objects": {}}', "malformed"),
    (b'{"objects": []}', "malformed"),
    (b'{"things": []}', "malformed"),
    (b'{"objects": [], "objects": []}', "duplicate_key"),
    (b'{"objects": [{"v": 1, "v": 1}]}', "duplicate_key"),
    (b'{"objects": [{"created_at": 1.5}]}', "not_canonical_number"),
    (b'{"objects": [{"created_at": 1e3}]}', "not_canonical_number"),
    (b'{"objects": [{"created_at": 9007199254740992}]}', "not_canonical_number"),
    (b'{"objects": [NaN]}', "not_canonical_number"),
])
def test_unparsable_batch_is_refused_whole(hub, unchanged, body, code):
    request(hub.url, "POST", "/ki/v1/inbox", body, JSON).problem(400, code)


def test_duplicate_key_inside_a_valid_object_refuses_the_batch(hub, unchanged, alice):
    text = batch(offer(alice)).decode()
    duplicated = text.replace('"v": 1', '"v": 1, "v": 1', 1)
    assert duplicated != text
    request(hub.url, "POST", "/ki/v1/inbox", duplicated.encode(), JSON).problem(400, "duplicate_key")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None,
                                          "application/jsonx", "multipart/form-data; boundary=x"])
@pytest.mark.parametrize("path", ["/ki/v1/inbox", "/ki/v1/sync"])
def test_wrong_content_type_is_415(hub, unchanged, alice, content_type, path):
    headers = {"Content-Type": content_type} if content_type else {}
    request(hub.url, "POST", path, batch(offer(alice)), headers).problem(415, "unsupported_media_type")


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_over_max_body_bytes_is_413(hub, unchanged, alice, chunked):
    limit = hub.get_json("/.well-known/kinode")[1]["limits"]["max_body_bytes"]
    good = offer(alice).as_dict()
    body = json.dumps({"objects": [good], "padding": "x" * limit}).encode()
    answer = request(hub.url, "POST", "/ki/v1/inbox", body, JSON, chunked=chunked)
    answer.problem(413, "too_large")
    # the object alone is fine: the size, not the content, was refused
    assert good["id"] not in log_ids(hub.url)


def test_batch_over_max_batch_is_413(hub, unchanged, alice):
    max_batch = hub.get_json("/.well-known/kinode")[1]["limits"]["max_batch"]
    good = offer(alice)
    post_inbox(hub.url, [good] * (max_batch + 1)).problem(413, "too_large")


# --- one object at a time: the batch is answered, the bad object is not stored -------------

def _forged(identity: Identity) -> dict:
    good, other = offer(identity).as_dict(), offer(identity, title="Another offer").as_dict()
    return {**good, "sig": other["sig"]}  # a real signature by the author, of another object


def _tampered_id(identity: Identity) -> dict:
    good = offer(identity).as_dict()
    return {**good, "id": good["id"][:-1] + ("0" if good["id"][-1] != "0" else "1")}


def _tampered_body(identity: Identity) -> dict:
    good = offer(identity).as_dict()
    return {**good, "body": {**good["body"], "title": "Cheaper landing page"}}


def _stranger_sig(identity: Identity) -> dict:
    good = offer(identity).as_dict()
    return {**good, "sig": offer(Identity.generate()).sig}


BAD_OBJECTS = {
    "bad_signature": _forged,
    "bad_signature_by_another_key": _stranger_sig,
    "bad_id": _tampered_id,
    "bad_id_of_changed_body": _tampered_body,
    "too_large": lambda i: signed_dict(i, "offer", {**offer(i).as_dict()["body"], "notes": "x" * MAX_OBJECT_BYTES}, now()),
    "category_not_served": lambda i: offer(i, category="plumbing").as_dict(),
    "clock_skew": lambda i: signed_dict(i, "offer", offer(i).as_dict()["body"], now() + 3600),
    "unknown_type": lambda i: signed_dict(i, "horoscope", {"sign": "leo"}, now()),
    "invalid_body": lambda i: signed_dict(i, "offer", {"category": "web-design"}, now()),
    "unsupported_version": lambda i: signed_dict(i, "offer", offer(i).as_dict()["body"], now(), v=2),
    "malformed": lambda i: {k: v for k, v in offer(i).as_dict().items() if k != "sig"},
    "bad_did": lambda i: {**offer(i).as_dict(), "author": "did:key:zNotAKey"},
}


@pytest.mark.parametrize("case", sorted(BAD_OBJECTS))
def test_bad_object_is_rejected_with_its_code(hub, unchanged, alice, case):
    bad = BAD_OBJECTS[case](alice)
    code = case.split("_of_")[0].split("_by_")[0]
    answer = post_inbox(hub.url, [bad])
    assert answer.status == 200, answer.raw
    [result] = answer.json["results"]
    assert (result["status"], result["code"]) == ("rejected", code), result
    assert result["detail"]
    assert result["id"] == bad["id"]  # the claimed id, so the sender knows which one failed


def test_bad_objects_do_not_spoil_their_batch(hub, alice):
    before = log_ids(hub.url)
    good = offer(alice, title="The good one")
    bads = [BAD_OBJECTS[case](alice) for case in ("bad_signature", "bad_id", "too_large", "category_not_served")]
    answer = post_inbox(hub.url, [bads[0], bads[1], good, bads[2], bads[3]])
    assert [(r["status"], r.get("code")) for r in answer.json["results"]] == [
        ("rejected", "bad_signature"), ("rejected", "bad_id"), ("accepted", None),
        ("rejected", "too_large"), ("rejected", "category_not_served")]
    assert log_ids(hub.url) == before + [good.id]


# --- request signatures ---------------------------------------------------------------------

def test_stale_request_signature_is_401(hub, unchanged, alice):
    body = batch(offer(alice))
    headers = signed(alice, hub.url, "POST", "/ki/v1/inbox", body, now=now() - 3600)
    answer = request(hub.url, "POST", "/ki/v1/inbox", body, headers)
    answer.problem(401, "stale_signature")
    assert answer.headers["WWW-Authenticate"].startswith("Signature")


def test_request_signature_from_the_future_is_401(hub, unchanged, alice):
    body = batch(offer(alice))
    headers = signed(alice, hub.url, "POST", "/ki/v1/inbox", body, now=now() + 3600)
    request(hub.url, "POST", "/ki/v1/inbox", body, headers).problem(401, "stale_signature")


def test_replayed_request_signature_is_401(hub, alice):
    good = offer(alice)
    body = batch(good)
    headers = signed(alice, hub.url, "POST", "/ki/v1/inbox", body)
    first = request(hub.url, "POST", "/ki/v1/inbox", body, headers)
    assert [r["status"] for r in first.json["results"]] == ["accepted"]
    after_first = log_ids(hub.url)
    request(hub.url, "POST", "/ki/v1/inbox", body, headers).problem(401, "replayed_signature")
    assert log_ids(hub.url) == after_first


def test_body_changed_after_signing_is_bad_content_digest(hub, unchanged, alice):
    signed_body = batch(offer(alice, title="What was signed"))
    headers = signed(alice, hub.url, "POST", "/ki/v1/inbox", signed_body)
    sent_body = batch(offer(alice, title="What was sent"))
    request(hub.url, "POST", "/ki/v1/inbox", sent_body, headers).problem(400, "bad_content_digest")


def test_forged_request_signature_is_401(hub, unchanged, alice):
    body = batch(offer(alice))
    headers = signed(alice, hub.url, "POST", "/ki/v1/inbox", body)
    mallory = signed(Identity.generate(), hub.url, "POST", "/ki/v1/inbox", body)
    headers["Signature"] = mallory["Signature"]  # a real signature, by another key, over other params
    answer = request(hub.url, "POST", "/ki/v1/inbox", body, headers)
    answer.problem(401, "bad_request_signature")
    assert answer.headers["WWW-Authenticate"].startswith("Signature")


def test_signature_for_another_endpoint_is_401(hub, unchanged, alice):
    body = batch(offer(alice))
    headers = signed(alice, hub.url, "POST", "/ki/v1/sync", body)
    request(hub.url, "POST", "/ki/v1/inbox", body, headers).problem(401, "bad_request_signature")


def test_unsigned_sync_is_401_signature_required(hub, unchanged):
    answer = request(hub.url, "POST", "/ki/v1/sync", b'{"categories": ["web-design"]}', JSON)
    answer.problem(401, "signature_required")
    assert answer.headers["WWW-Authenticate"].startswith("Signature")


@pytest.mark.parametrize("body", [
    b'{"categories": "web-design"}',
    b'{"v": 2, "buckets": [], "salt": "AAECAwQFBgc"}',  # a valid sync message, but the endpoint needs categories
    b'{"v": 2, "buckets": [], "salt": "AAECAwQFBgc", "categories": ["knitting"]}',  # a category not served here
    b'{"v": 2, "buckets": [], "categories": ["web-design"]}',  # no salt (spec 10.3)
    b'{"v": 2, "buckets": [["", 2, []], ["", 2, []]], "salt": "AAECAwQFBgc", "categories": ["web-design"]}',
    b'{"v": 1, "ranges": [], "categories": ["web-design"]}',  # version 1's members
])
def test_signed_sync_with_a_bad_message_is_400(hub, unchanged, alice, body):
    headers = signed(alice, hub.url, "POST", "/ki/v1/sync", body)
    request(hub.url, "POST", "/ki/v1/sync", body, headers).problem(400, "invalid_sync_message")


def test_signed_sync_of_version_1_is_400_unsupported_version(hub, unchanged, alice):
    body = b'{"v": 1, "buckets": [], "salt": "AAECAwQFBgc", "categories": ["web-design"]}'
    headers = signed(alice, hub.url, "POST", "/ki/v1/sync", body)
    request(hub.url, "POST", "/ki/v1/sync", body, headers).problem(400, "unsupported_version")


# --- routes, methods, reads ---------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("GET", "/nothing/here"), ("GET", "/ki/v2/objects"), ("POST", "/ki/v1/outbox"),
    ("GET", "/.well-known/kinode/extra"),
])
def test_unknown_route_is_404_problem(hub, unchanged, method, path):
    body = b"{}" if method == "POST" else None
    request(hub.url, method, path, body, JSON if body else {}).problem(404, "not_found")


def test_the_root_is_a_page_for_people_and_takes_nothing(hub, unchanged):
    """GET / (spec 9.2, "for people"): what the node is, linking its description; POST / changes nothing."""
    answer = request(hub.url, "GET", "/", None, {})
    assert (answer.status, answer.headers.get_content_type()) == (200, "text/html")
    page = answer.raw.decode()
    assert hub.did in page and "category hub" in page and "/.well-known/kinode" in page
    assert "web UI" in page and "token=" not in page  # asked from loopback: where the UI is, never its token
    request(hub.url, "POST", "/", b"{}", JSON).problem(405, "method_not_allowed")


@pytest.mark.parametrize("method, path, allowed", [
    ("GET", "/ki/v1/inbox", "POST"),
    ("PUT", "/ki/v1/inbox", "POST"),
    ("GET", "/ki/v1/sync", "POST"),
    ("GET", "/ki/v1/challenge", "POST"),
    ("DELETE", "/ki/v1/objects/" + "0" * 64, "GET"),
    ("POST", "/.well-known/kinode", "GET"),
])
def test_wrong_method_is_405_with_allow(hub, unchanged, method, path, allowed):
    body = b"{}" if method in ("PUT", "POST") else None
    answer = request(hub.url, method, path, body, JSON if body else {})
    answer.problem(405, "method_not_allowed")
    assert allowed in answer.headers["Allow"].replace(" ", "").split(",")


@pytest.mark.parametrize("bad_id", ["abc", "0" * 63, "0" * 65, "A" * 64, "g" * 64, "%20" + "0" * 61])
def test_get_object_with_a_bad_id_is_400(hub, bad_id):
    request(hub.url, "GET", f"/ki/v1/objects/{bad_id}").problem(400, "malformed")


def test_get_unknown_object_is_404(hub):
    missing = offer(Identity.generate())
    request(hub.url, "GET", f"/ki/v1/objects/{missing.id}").problem(404, "not_found")


def test_get_retracted_object_is_410_naming_the_retract(hub, alice):
    target = offer(alice, created_at=now() - 10)
    retract = sign(alice, "retract", {"target": target.id, "reason": "booked out"}, now())
    results = post_inbox(hub.url, [target, retract]).json["results"]
    assert [r["status"] for r in results] == ["accepted", "accepted"]
    gone = request(hub.url, "GET", f"/ki/v1/objects/{target.id}").problem(410, "retracted")
    assert gone["retracted_by"] == retract.id
    assert request(hub.url, "GET", f"/ki/v1/objects/{retract.id}").raw == retract.wire


@pytest.mark.parametrize("query", ["after=-1", "after=soon", "limit=0", "limit=501", "limit=ten"])
def test_bad_log_query_is_400_invalid_query(hub, query):
    request(hub.url, "GET", f"/ki/v1/objects?{query}").problem(400, "invalid_query")


@pytest.mark.parametrize("body, code, status", [
    (b'{"nonce": "short"}', "malformed", 400),
    (b'{"nonce": "AAAA", "extra": 1}', "malformed", 400),
    (b"{", "malformed", 400),
    (b'{"nonce": "' + b"A" * 2000 + b'"}', "too_large", 413),
])
def test_bad_challenge_is_refused(hub, body, code, status):
    request(hub.url, "POST", "/ki/v1/challenge", body, JSON).problem(status, code)


# --- rate limits ------------------------------------------------------------------------------

def test_rate_limits_answer_429_with_retry_after(tmp_path):
    # Refill is one token every 20 s: nothing refills while the test runs.
    proc = Proc(["hub", "--data-dir", str(tmp_path / "hub"), "--category", "web-design",
                 "--rate-limit", "0.05:4", "--author-rate-limit", "0.05:2"], tmp_path / "hub", tmp_path / "hub.log")
    proc.start()
    try:
        alice, bob, carol = Identity.generate(), Identity.generate(), Identity.generate()
        a1, a2, a3 = (offer(alice, title=f"Offer {n}") for n in range(3))
        assert [r["status"] for r in post_inbox(proc.url, [a1, a2]).json["results"]] == ["accepted"] * 2
        stored = log_ids(proc.url)

        over_author = post_inbox(proc.url, [a3])  # alice spent her burst of 2
        over_author.problem(429, "rate_limited")
        assert 1 <= int(over_author.headers["Retry-After"]) <= 20
        assert log_ids(proc.url) == stored

        b1 = offer(bob)
        assert [r["status"] for r in post_inbox(proc.url, [b1]).json["results"]] == ["accepted"]
        assert post_inbox(proc.url, [offer(bob, title="Second")]).json["results"][0]["status"] == "accepted"
        stored = log_ids(proc.url)

        over_client = post_inbox(proc.url, [offer(carol)])  # this address spent its burst of 4
        over_client.problem(429, "rate_limited")
        assert 1 <= int(over_client.headers["Retry-After"]) <= 20
        assert log_ids(proc.url) == stored
        # reads are not charged: a refused client can still follow the log
        assert request(proc.url, "GET", f"/ki/v1/objects/{b1.id}").raw == b1.wire
    finally:
        proc.kill()


# --- query parameters: one strict parser everywhere ----------------------------------------

@pytest.mark.parametrize("path", [
    "/ki/v1/search?limit=1_0", "/ki/v1/search?limit=%2B5", "/ki/v1/search?limit=%205%20",
    "/ki/v1/search?limit=%D9%A3",  # Arabic-Indic three
    "/ki/v1/search?limit=0", "/ki/v1/search?limit=101", "/ki/v1/search?created_after=-1",
    "/ki/v1/search?currency=EUR&min_price=-5", "/ki/v1/search?currency=eur&min_price=5",
    "/ki/v1/search?currency=EUR&max_price=1e3", "/ki/v1/search?author=alice",
    "/ki/v1/objects?limit=1_0", "/ki/v1/objects?after=%2B5", "/ki/v1/objects?after=%D9%A3",
    "/ki/v1/objects?limit=%205", "/ki/v1/objects?author=bob", "/ki/v1/objects?colour=red",
    "/ki/v1/stream?after=1_0",
])
def test_a_query_that_is_not_strictly_well_formed_is_invalid_query(hub, path):
    request(hub.url, "GET", path).problem(400, "invalid_query")


def test_well_formed_queries_are_answered(hub):
    for path in ("/ki/v1/search?limit=10&currency=EUR&min_price=5&max_price=1500.00",
                 "/ki/v1/objects?after=0&limit=500", "/ki/v1/search?created_after=0&created_before=4294967295"):
        assert request(hub.url, "GET", path).status == 200, path


@pytest.mark.parametrize("head", [
    b"GET /.well-known/kinode HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /.well-known/kinode HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n",
    b"NOT HTTP AT ALL\r\n\r\n",
], ids=["duplicate-content-length", "over-long-line", "control-byte", "not-http"])
def test_a_malformed_http_message_is_a_problem_and_logged_without_a_traceback(hub, head):
    import socket
    with socket.create_connection(("127.0.0.1", hub.port), timeout=10) as sock:
        sock.sendall(head)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split(b" ")[1] == b"400", answer[:300]  # HTTP/1.0 when the version was unreadable
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"application/problem+json" in headers
    assert json.loads(body)["code"] == "bad_http_message"
    assert "Traceback" not in hub.log_text()


# --- who may reconcile (spec 10.8) ---------------------------------------------------------

SYNC_START = b'{"buckets":[],"categories":["web-design"],"salt":"AAECAwQFBgc","v":2}'


def _announce(identity: Identity, hub, categories: list[str]) -> None:
    announcement = sign(identity, "hub", {"url": "http://127.0.0.1:9/", "name": "Another hub",
                                          "categories": categories}, now())
    assert post_inbox(hub.url, [announcement]).json["results"][0]["status"] == "accepted"


def _sync_statuses(identity: Identity, hub, count: int) -> list[int]:
    return [request(hub.url, "POST", "/ki/v1/sync", SYNC_START,
                    signed(identity, hub.url, "POST", "/ki/v1/sync", SYNC_START)).status for _ in range(count)]


def test_a_stranger_reconciles_under_a_budget_per_key(hub, unchanged):
    stranger = Identity.generate()
    statuses = _sync_statuses(stranger, hub, 40)
    assert statuses[:32] == [200] * 32  # the burst
    assert 429 in statuses[32:]  # refilled at one message a second: the loop outruns it
    headers = signed(stranger, hub.url, "POST", "/ki/v1/sync", SYNC_START)
    refused = request(hub.url, "POST", "/ki/v1/sync", SYNC_START, headers)
    refused.problem(429, "rate_limited")
    assert int(refused.headers["Retry-After"]) >= 1


def test_a_hub_announcing_the_categories_is_not_budgeted_and_one_announcing_others_is(hub):
    other, elsewhere = Identity.generate(), Identity.generate()
    _announce(other, hub, ["web-design", "copywriting"])
    _announce(elsewhere, hub, ["copywriting"])
    answer = request(hub.url, "POST", "/ki/v1/sync", SYNC_START, signed(other, hub.url, "POST", "/ki/v1/sync", SYNC_START))
    assert answer.status == 200 and answer.json["categories"] == ["web-design"], answer.raw
    assert set(_sync_statuses(other, hub, 40)) == {200}
    assert 429 in _sync_statuses(elsewhere, hub, 40)
