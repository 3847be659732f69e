"""A raw HTTP client for end-to-end tests of the federation API.

`http.client` rather than urllib: the tests need exact bytes, chunked bodies
without a Content-Length, and headers the test chose (a replayed signature,
a wrong Content-Type), none of which a convenience client should rewrite.
"""

import http.client
import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from kinode.federation.httpsig import sign_request
from protocol.envelope import SIGNATURE_CONTEXT, VERSION, SignedObject, object_id, sign
from protocol.identity import Identity

JSON = {"Content-Type": "application/json"}
PROBLEM = "application/problem+json"


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    raw: bytes

    @property
    def json(self):
        return json.loads(self.raw)

    def problem(self, status: int, code: str) -> dict:
        """The problem+json body, checked to say `status` and `code` with a human sentence."""
        assert (self.status, self.headers.get_content_type()) == (status, PROBLEM), (self.status, self.raw[:300])
        body = self.json
        assert (body["status"], body["code"]) == (status, code), body
        assert isinstance(body["detail"], str) and body["detail"], body
        assert isinstance(body["title"], str) and body["title"], body
        return body


def request(base_url: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
            *, chunked: bool = False) -> Answer:
    """One request on a fresh connection. With `chunked` the body goes out in 64 KiB
    chunks and no Content-Length. A server that answers before reading the whole
    body may stop reading; its answer is still read."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        try:
            if chunked:
                pieces = iter([body[i:i + 65536] for i in range(0, len(body), 65536)])
                connection.request(method, path, body=pieces, headers=headers or {}, encode_chunked=True)
            else:
                connection.request(method, path, body=body, headers=headers or {})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused the rest of the body; its answer is waiting
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


def post_inbox(base_url: str, objects: list, headers: dict | None = None) -> Answer:
    body = json.dumps({"objects": [o.as_dict() if isinstance(o, SignedObject) else o for o in objects]}).encode()
    return request(base_url, "POST", "/ki/v1/inbox", body, {**JSON, **(headers or {})})


def signed(identity: Identity, base_url: str, method: str, path: str, body: bytes = b"", *,
           now: int | None = None) -> dict:
    """The headers of `method base_url+path` with `body`, signed by `identity` (RFC 9421)."""
    return sign_request(identity, method, base_url + path, JSON, body, now=now).headers


def log_ids(base_url: str, **filters: str) -> list[str]:
    """Every object id in the node's log, in log order, following `next` to the end."""
    ids: list[str] = []
    after = ""
    query = "".join(f"&{k}={v}" for k, v in filters.items())
    while True:
        page = request(base_url, "GET", f"/ki/v1/objects?limit=500{after}{query}").json
        ids += [o["id"] for o in page["objects"]]
        if not page["objects"]:
            return ids
        after = f"&after={page['next']}"


def now() -> int:
    return int(time.time())


def offer(identity: Identity, category: str = "web-design", title: str = "Landing page in a week",
          created_at: int | None = None, **extra) -> SignedObject:
    body = {"category": category, "title": title, "description": "Responsive landing page, delivered tested.",
            "price": {"amount": "80.00", "currency": "EUR"}, "unit": "hour", **extra}
    return sign(identity, "offer", body, now() if created_at is None else created_at)


def signed_dict(identity: Identity, type_: str, body: dict, created_at: int, v: int = VERSION) -> dict:
    """An envelope with a correct id and signature but no other checks: for objects
    `sign` would refuse to make (too large, wrong version, invalid body)."""
    unsigned = {"v": v, "type": type_, "author": identity.did, "created_at": created_at, "body": body}
    obj_id = object_id(unsigned)
    return {**unsigned, "id": obj_id, "sig": identity.sign(SIGNATURE_CONTEXT + obj_id.encode()).hex()}
