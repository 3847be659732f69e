"""A hub run from its config file: refusals of a bad hub.toml, announcements that follow edits of the
file, and the marketplace search and matching through HTTP (spec 14.1 and 14.6)."""

import json
import subprocess
import time

from harness import KINODE, eventually, http_json
from protocol.envelope import sign
from protocol.identity import Identity

LEADER, SELLER, RIVAL, BUYER = (Identity(bytes([n]) * 32) for n in (51, 52, 53, 54))


def deliver(proc, *objects):
    body = json.dumps({"objects": [o.as_dict() for o in objects]}).encode()
    status, answer, _ = http_json("POST", proc.url + "/ki/v1/inbox", body, {"Content-Type": "application/json"})
    assert status == 200 and all(r["status"] == "accepted" for r in answer["results"]), answer


def get(proc, path):
    status, answer, _ = proc.get_json(path)
    assert status == 200, answer
    return answer


def test_a_bad_config_is_refused_with_its_key_and_nothing_starts(tmp_path):
    (tmp_path / "hub.toml").write_text('fee_bps = 20000\n[categories.web-design]\ntitle = "Web"\n')
    done = subprocess.run(KINODE + ["hub", "--data-dir", str(tmp_path), "--port", "0", "--no-ui"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "fee_bps" in done.stderr and "bad_config" in done.stderr
    (tmp_path / "hub.toml").write_text("name = 'no categories'\n")
    done = subprocess.run(KINODE + ["hub", "--data-dir", str(tmp_path), "--port", "0", "--no-ui"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "at least one category" in done.stderr


def test_the_hub_announces_its_config_and_follows_edits_then_serves_search_and_matching(federation, tmp_path):
    config = tmp_path / "market.toml"
    config.write_text(f'name = "Web hub"\nleaders = ["{LEADER.did}"]\n[categories.web-design]\ntitle = "Web design"\n')
    hub = federation._start("hub", ["hub", "--data-dir", str(tmp_path / "hub"), "--config", str(config),
                                    "--no-ui", "--reconcile-interval", "0.5"])
    first = eventually(lambda: get(hub, "/ki/v1/hub")["announcement"], what="the announcement")
    assert first["body"]["leaders"] == [LEADER.did] and first["body"]["categories"] == ["web-design"]
    config.write_text(f'name = "Web hub"\nleaders = ["{LEADER.did}"]\nfee_bps = 150\n'
                      '[categories.web-design]\ntitle = "Web design"\n[categories.seo]\ntitle = "SEO"\n')
    second = eventually(lambda: (a := get(hub, "/ki/v1/hub")["announcement"])["id"] != first["id"] and a,
                        what="the edited config announced")
    assert second["body"]["fee_bps"] == 150 and second["body"]["categories"] == ["web-design", "seo"]
    cats = get(hub, "/ki/v1/objects?type=category")["objects"]
    assert {c["body"]["slug"] for c in cats if c["author"] == hub.did} == {"web-design", "seo"}

    now = int(time.time())
    offers = [sign(SELLER, "offer", {"category": "web-design", "title": "Landing page", "description": "Fast pages.",
                                     "skills": ["HTML", "css"], "price": {"amount": "800", "currency": "EUR"},
                                     "unit": "fixed"}, now),
              sign(RIVAL, "offer", {"category": "web-design", "title": "Landing page copy", "description": "Words.",
                                    "skills": ["copy"], "price": {"amount": "60", "currency": "EUR"}, "unit": "hour"},
                   now),
              sign(RIVAL, "offer", {"category": "seo", "title": "SEO audit", "description": "Audit.",
                                    "skills": ["seo"], "price": {"amount": "300", "currency": "USD"}, "unit": "fixed"},
                   now)]
    project = sign(BUYER, "project", {"category": "web-design", "title": "Shop", "description": "A shop front.",
                                      "budget": {"amount": "1000", "currency": "EUR"}, "deadline": now + 86400 * 30,
                                      "coordinator": BUYER.did, "skills": ["html", "css"]}, now)
    endorsement = sign(LEADER, "endorsement", {"subject": SELLER.did, "category": "web-design", "level": "expert"}, now)
    deliver(hub, *offers, project, endorsement)

    page = get(hub, "/ki/v1/market?q=landing&sort=relevance")
    assert {r["id"] for r in page["results"]} == {offers[0].id, offers[1].id} and page["total"] == 2
    assert page["indexed_through"] == page["log_seq"] > 0  # read-your-writes: it waited for its index (9.6)
    every = get(hub, "/ki/v1/market?limit=2")
    assert every["total"] == 4 and every["facets"]["category"] == {"seo": 1, "web-design": 3}
    assert every["facets"]["price"] == {"EUR:1000-5000": 1, "EUR:50-100": 1, "EUR:500-1000": 1, "USD:100-500": 1}
    rest = get(hub, f"/ki/v1/market?limit=2&cursor={every['next']}")
    assert len({r["id"] for r in every["results"] + rest["results"]}) == 4 and rest["next"] is None
    assert all(r["object"]["sig"] for r in rest["results"])
    endorsed = get(hub, "/ki/v1/market?endorsed=true")
    assert [r["id"] for r in endorsed["results"]] == [offers[0].id] and endorsed["results"][0]["endorsed_expert"]
    assert [r["id"] for r in get(hub, "/ki/v1/market?open=true")["results"]] == [project.id]
    assert get(hub, "/ki/v1/market?skill=HTML")["facets"]["skill"] == {"css": 2, "html": 2}
    cheap = get(hub, "/ki/v1/market?currency=EUR&max_price=100&sort=price")
    assert [r["id"] for r in cheap["results"]] == [offers[1].id]
    assert http_json("GET", hub.url + f"/ki/v1/market?cursor={every['next']}&q=shop")[1]["code"] == "invalid_cursor"
    assert http_json("GET", hub.url + "/ki/v1/market?sort=cheapest")[1]["code"] == "invalid_query"

    matched = get(hub, f"/ki/v1/match/{project.id}")
    assert matched["indexed_through"] == matched["log_seq"] >= page["log_seq"]
    matches = matched["matches"]
    assert [m["id"] for m in matches] == [offers[0].id, offers[1].id]
    assert matches[0]["parts"] == {"skills": 1000, "endorsed": 300, "price": 200, "reputation": 0}
    assert matches[1]["score"] == 0

    # a label by the hub: the listing is still found, marked, unless the query hides delisted ones
    label = sign(_hub_key(hub), "label", {"scope": "object", "target": offers[1].id, "reason": "duplicate",
                                          "expires": now + 3600}, now)
    deliver(hub, label)
    marked = {r["id"]: r["delisted"] for r in get(hub, "/ki/v1/market?category=web-design")["results"]}
    assert marked[offers[1].id]["labels"] == [label.id] and marked[offers[0].id] is None
    assert offers[1].id not in {r["id"] for r in get(hub, "/ki/v1/market?delisted=hide")["results"]}


def _hub_key(proc) -> Identity:
    from kinode import keystore
    return keystore.load_identity(str(proc.data_dir), None)


def test_a_hub_run_with_flags_alone_announces_nothing_yet_its_own_endorsements_count(federation):
    hub = federation.hub("flags", ["web-design"])
    assert get(hub, "/ki/v1/hub")["announcement"] is None
    mine = sign(_hub_key(hub), "endorsement", {"subject": SELLER.did, "category": "web-design", "level": "expert"},
                int(time.time()))
    deliver(hub, mine)
    [judged] = get(hub, f"/ki/v1/endorsements?subject={SELLER.did}")["endorsements"]
    assert judged["counts"] and judged["hub"] == hub.did
    assert [e["did"] for e in get(hub, "/ki/v1/experts?category=web-design")["experts"]] == [SELLER.did]
    assert get(hub, "/ki/v1/objects?type=hub")["objects"] == []
