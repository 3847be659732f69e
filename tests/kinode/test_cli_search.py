"""`kinode search` against a real hub on 127.0.0.1, through the real entry point."""

import pytest

from cli_support import as_json, assert_clean_failure, ok, run
from harness import Federation, eventually

OFFER = {"category": "web-design", "title": "Landing page in a week", "description": "Responsive, two rounds of changes.",
         "skills": ["css", "html"], "price": {"amount": "80.00", "currency": "EUR"}, "unit": "hour"}


@pytest.fixture(scope="module")
def hub_with_an_offer(tmp_path_factory):
    fed = Federation(tmp_path_factory.mktemp("search"))
    hub = fed.hub("hub", ["web-design"])
    alice = fed.node("alice", hubs=[hub.url])
    offer_id = fed.publish(alice, "offer", OFFER)
    eventually(lambda: offer_id in hub.object_ids(), what="the offer reaching the hub")
    yield hub, alice, offer_id
    fed.close()


def test_search_finds_and_verifies_a_listing(hub_with_an_offer):
    hub, _, offer_id = hub_with_an_offer
    answer = as_json(run("search", "--hub", hub.url, "landing", "--json"))
    [hit] = answer["results"]
    assert hit["id"] == offer_id and hit["verified"] is True and hit["type"] == "offer"
    assert answer["indexed_through"] == answer["log_seq"] > 0  # how fresh the hub's index was (spec 9.6)
    human = ok(run("search", "--hub", hub.url, "landing", "--type", "offer", "--category", "web-design"))
    assert offer_id in human and "Landing page in a week" in human
    assert "no listings" in ok(run("search", "--hub", hub.url, "plumbing"))


def test_search_through_the_hub_a_node_knows(hub_with_an_offer):
    hub, alice, offer_id = hub_with_an_offer
    eventually(lambda: as_json(run("peers", "--data-dir", str(alice.data_dir), "--json")), what="alice knowing the hub")
    answer = as_json(run("search", "--data-dir", str(alice.data_dir), "landing", "--json"))
    assert answer["hub"] == hub.url and [h["id"] for h in answer["results"]] == [offer_id]


def test_search_errors_are_one_line_with_their_code(hub_with_an_offer, tmp_path):
    hub, _, _ = hub_with_an_offer
    assert_clean_failure(run("search", "--hub", hub.url, "ty*"), "invalid_query")
    assert_clean_failure(run("search", "--hub", hub.url, "--cursor", "not-a-cursor", "x"), "invalid_cursor")
    assert_clean_failure(run("search", "--hub", "http://127.0.0.1:1", "x"), "unreachable", exit_code=1)
    assert_clean_failure(run("search", "--hub", "ftp://x", "x"), "bad_url")
    ok(run("init", "--data-dir", str(tmp_path / "lonely"), "--no-passphrase"))
    ok(run("publish", "--data-dir", str(tmp_path / "lonely"), "-", stdin='{"type": "profile", "body": {"name": "L"}}'))
    assert_clean_failure(run("search", "--data-dir", str(tmp_path / "lonely"), "x"), "no_hub")
    usage = run("search", "x")
    assert usage.returncode == 2 and "--hub" in usage.stderr and "Traceback" not in usage.stderr


def test_the_human_form_says_when_the_hubs_index_was_behind():
    from kinode.cli.search_command import _lines
    page = {"hub": "http://127.0.0.1:7300", "results": [], "next": None, "indexed_through": 40, "log_seq": 45}
    assert "5 objects behind" in "\n".join(_lines(page))
    assert not any("behind" in line for line in _lines({**page, "indexed_through": 45}))
    assert not any("behind" in line for line in _lines({"hub": page["hub"], "results": [], "next": None}))
