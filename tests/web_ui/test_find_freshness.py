"""Find work says when a hub's search index trailed what the hub held (spec 9.6, Freshness).

The participant is a real `kinode serve` with its web UI. The hub is a stand-in on 127.0.0.1 that
answers `/.well-known/kinode` and the market search with a signed offer and an index `behind` objects
short of its log: a real hub waits up to 2 s for its index before it answers, so how far behind it is
cannot be set from outside, and that number is what the page must show.
"""

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from protocol.envelope import sign
from protocol.identity import Identity
from ui_proc import login, poll, request, start

HUB, ALICE = Identity(bytes([91]) * 32), Identity(bytes([92]) * 32)
OFFER = sign(ALICE, "offer", {"category": "web-design", "title": "Accessible landing page", "description": "Fast.",
                              "skills": ["html"], "price": {"amount": "900.00", "currency": "EUR"}, "unit": "fixed"},
             int(time.time()) - 60)


class StandInHub(BaseHTTPRequestHandler):
    behind = 0

    def do_GET(self):  # noqa: N802 - the http.server interface
        path = urllib.parse.urlsplit(self.path).path
        if path == "/.well-known/kinode":
            self._json({"did": HUB.did, "roles": ["node", "hub"], "categories": ["web-design"]})
        elif path == "/ki/v1/market":
            self._json({"results": [{"object": json.loads(OFFER.wire)}], "total": 1, "facets": {}, "next": None,
                        "indexed_through": 40 - self.behind, "log_seq": 40})
        else:
            self.send_error(404)

    def do_POST(self):  # noqa: N802
        self.send_error(404)

    def _json(self, value) -> None:
        body = json.dumps(value).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def participant(tmp_path_factory):
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandInHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hub_url = f"http://127.0.0.1:{server.server_address[1]}"
    node = start(tmp_path_factory.mktemp("fresh"), "bob", hubs=[hub_url])
    yield node
    node.stop()
    server.shutdown()
    server.server_close()


def found(node, cookie: str) -> str:
    """The Find work page for "landing", once it lists the hub's offer (the node learns its hub at start)."""
    def page() -> str | None:
        text = request(node, "GET", "/find?q=landing", headers={"Cookie": cookie}).text
        return text if "Accessible landing page" in text else None
    return poll(page, "the node reaching the hub")


def test_a_hub_whose_index_trailed_its_log_is_named_with_how_far(participant):
    cookie = login(participant)
    StandInHub.behind = 3
    assert "had 3 objects it had not indexed yet when it answered" in found(participant, cookie)


def test_a_fresh_answer_says_nothing_about_freshness(participant):
    cookie = login(participant)
    StandInHub.behind = 0
    assert "not indexed yet" not in found(participant, cookie)
