"""Category hubs (spec section 14) across three real hub processes and participants' nodes:
the verified directory, a forged announcement, endorsements that count or not, moderation with
labels, responses, expiry and retraction, and inclusion receipts that verify offline."""

import json
import sqlite3
import subprocess
import time

import pytest

from harness import KINODE, Federation, eventually, free_port, http_json
from protocol.envelope import sign
from protocol.identity import Identity

WEB, COPY = "web-design", "copywriting"
LEADER = Identity(bytes([41]) * 32)      # a category leader named in hub A's hub.toml
OUTSIDER = Identity(bytes([42]) * 32)    # endorses without being anyone's leader
EXPERT = Identity(bytes([43]) * 32)
SELLER = Identity(bytes([44]) * 32)
FORGER = Identity(bytes([45]) * 32)      # announces hub A's URL as its own


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(KINODE + list(args), capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"kinode {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done


def init(root, name: str) -> tuple[str, str]:
    """An identity for a hub, made in this process (what `kinode init --no-passphrase` writes)."""
    from kinode import keystore
    data_dir = str(root / name)
    return data_dir, keystore.create_identity(data_dir, None).did


def deliver(proc, *objects) -> list[dict]:
    body = json.dumps({"objects": [o.as_dict() for o in objects]}).encode()
    status, answer, _ = http_json("POST", proc.url + "/ki/v1/inbox", body, {"Content-Type": "application/json"})
    assert status == 200, answer
    return answer["results"]


def offer(who: Identity, title: str, category: str = WEB, at: int | None = None):
    return sign(who, "offer", {"category": category, "title": title, "description": f"{title}, done well.",
                               "price": {"amount": "90.00", "currency": "EUR"}, "unit": "hour"},
                at or int(time.time()))


def get(proc, path: str):
    status, answer, _ = proc.get_json(path)
    assert status == 200, answer
    return answer


def listed(proc, category: str) -> set[str]:
    return {h["did"] for h in get(proc, f"/ki/v1/hubs?category={category}")["hubs"]}


@pytest.fixture(scope="module")
def federation(tmp_path_factory):
    """One federation for the module: starting three hubs per test costs more than the tests."""
    fed = Federation(tmp_path_factory.mktemp("hubs"))
    yield fed
    fed.close()


@pytest.fixture(scope="module")
def hubs(federation):
    """Hubs A and B serve web-design (B honours A's labels), C copywriting; all peered with each other.
    Each test uses objects of its own; the receipts test, which restarts C, runs last."""
    tmp_path = federation.root
    (dir_a, did_a), (dir_b, did_b), (dir_c, did_c) = (init(tmp_path, n) for n in ("a", "b", "c"))
    ports = [free_port() for _ in range(3)]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    (tmp_path / "a" / "hub.toml").write_text(f'''
name = "Web design hub"
fee_bps = 250
leaders = ["{LEADER.did}"]
[moderation]
policy = "Listings name a real price."
[categories.{WEB}]
title = "Web design"
description = "Sites and landing pages."
parent = "design"
''')
    (tmp_path / "b" / "hub.toml").write_text(f'''
name = "Second web hub"
[moderation]
honour = ["{did_a}"]
[categories.{WEB}]
title = "Web design"
''')
    (tmp_path / "c" / "hub.toml").write_text(f"[categories.{COPY}]\ntitle = 'Copywriting'\n")
    procs = []
    for index, (name, extra) in enumerate((("a", []), ("b", []), ("c", []))):
        peers = [a for j, url in enumerate(urls) if j != index for a in ("--peer", url)]
        args = ["hub", "--data-dir", str(tmp_path / name), "--reconcile-interval", "0.5", "--no-ui", *extra, *peers]
        procs.append(federation._start(name, args, ports[index]))
    a, b, c = procs
    assert (a.did, b.did, c.did) == (did_a, did_b, did_c)
    return a, b, c


def test_the_directory_lists_verified_hubs_per_category_and_not_a_forged_announcement(hubs):
    a, b, c = hubs
    forged = sign(FORGER, "hub", {"url": a.url, "name": "Totally hub A", "categories": [WEB, COPY]}, int(time.time()))
    assert deliver(a, forged)[0]["status"] == "accepted"
    for hub in hubs:  # every hub ends up knowing the same verified hubs per category
        eventually(lambda: listed(hub, WEB) == {a.did, b.did} and listed(hub, COPY) == {c.did},
                   what=f"the directory of {hub.url} converging")
    directory = get(a, f"/ki/v1/hubs?category={WEB}")
    entry = next(h for h in directory["hubs"] if h["did"] == a.did)
    assert entry["fee_bps"] == 250 and LEADER.did in entry["leaders"] and entry["objects_held"] >= 2
    peer_entry = next(h for h in get(b, f"/ki/v1/hubs?category={WEB}")["hubs"] if h["did"] == a.did)
    assert peer_entry["verified"] and peer_entry["last_seen"] and peer_entry["objects_held"] >= 2
    eventually(lambda: any(u["did"] == FORGER.did and "advertised" in u["why"]
                           for u in get(a, f"/ki/v1/hubs?category={WEB}")["unverified"]),
               what="the forged announcement to be challenged and refused")
    assert FORGER.did not in listed(b, WEB) | listed(c, COPY)
    # the hub's category objects were published under its key and gossiped
    categories = get(a, f"/ki/v1/hub")
    assert categories["announcement"]["body"]["categories"] == [WEB]
    assert b.get_json(f"/ki/v1/objects/{categories['announcement']['id']}")[0] in (200, 404)
    assert http_json("GET", a.url + "/ki/v1/hubs?category=Not_A_Slug")[0] == 400


def test_endorse_revoke_and_a_non_leader_through_the_cli_and_http(hubs):
    a, b, _ = hubs
    endorsed = cli("endorse", "--data-dir", str(a.data_dir), EXPERT.did, "--category", WEB, "--json")
    mine = json.loads(endorsed.stdout)
    assert mine["counts"] is True, mine
    by_leader = sign(LEADER, "endorsement", {"subject": EXPERT.did, "category": WEB, "level": "expert"}, int(time.time()))
    by_outsider = sign(OUTSIDER, "endorsement", {"subject": EXPERT.did, "category": WEB, "level": "expert"},
                       int(time.time()))
    results = deliver(a, by_leader, by_outsider)
    assert [r["status"] for r in results] == ["accepted", "accepted"]

    def judged(hub):
        return {e["id"]: e for e in get(hub, f"/ki/v1/endorsements?subject={EXPERT.did}")["endorsements"]}

    found = eventually(lambda: mine["id"] in (j := judged(a)) and j, what="the hub's endorsement stored")
    assert found[mine["id"]]["counts"] and found[by_leader.id]["counts"]
    assert found[by_outsider.id]["counts"] is False and "not a leader" in found[by_outsider.id]["why"]
    # hub B recognizes A once it verified A's URL: the leader's endorsement counts there too
    eventually(lambda: judged(b).get(by_leader.id, {}).get("counts"), what="B to judge A's leader's endorsement")
    experts = get(a, f"/ki/v1/experts?category={WEB}")
    assert [e["did"] for e in experts["experts"]] == [EXPERT.did]

    revoked = json.loads(cli("revoke", "--data-dir", str(a.data_dir), mine["id"], "--json").stdout)
    eventually(lambda: judged(a)[mine["id"]]["revoked_by"] == revoked["id"], what="the revocation")
    assert judged(a)[mine["id"]]["counts"] is False
    assert get(a, f"/ki/v1/experts?category={WEB}")["experts"][0]["did"] == EXPERT.did  # the leader's still counts
    refused = cli("revoke", "--data-dir", str(a.data_dir), by_leader.id, check=False)
    assert refused.returncode == 2 and "not an endorsement this node's key made" in refused.stderr


def test_labels_delist_with_responses_expiry_and_retraction_honoured_by_policy(hubs):
    a, b, c = hubs
    now = int(time.time())
    listing = offer(SELLER, "Landing page in a day")
    deliver(a, listing)
    for hub in (a, b):
        eventually(lambda: hub.get_raw(f"/ki/v1/objects/{listing.id}")[0] == 200, what="the offer on both hubs")
    labelled = json.loads(cli("label", "--data-dir", str(a.data_dir), "--object", listing.id, "--reason", "misleading",
                              "--note", "The price is per page, not per hour.", "--json").stdout)
    response = sign(SELLER, "response", {"label": labelled["id"], "text": "It is per hour; see the terms."}, now)
    stranger = sign(OUTSIDER, "response", {"label": labelled["id"], "text": "Delete it!"}, now)

    def moderation(hub, object_id=listing.id):
        return get(hub, f"/ki/v1/moderation/{object_id}")

    eventually(lambda: moderation(a)["delisted"], what="the offer delisted on A")
    deliver(a, response, stranger)
    shown = eventually(lambda: (m := moderation(a))["labels"][0]["responses"] and m, what="the response")
    assert [r["text"] for r in shown["labels"][0]["responses"]] == ["It is per hour; see the terms."]
    assert shown["labels"][0]["reason"] == "misleading" and "misleading" in shown["why"][0]
    eventually(lambda: moderation(b)["delisted"], what="B honouring A's label")  # B's policy honours A
    # a label that expires: it stops applying by itself
    short = sign(a_identity(a), "label", {"scope": "author", "subject": OUTSIDER.did, "reason": "spam",
                                          "expires": int(time.time()) + 8}, int(time.time()) - 1)
    spam = offer(OUTSIDER, "Cheap links")
    deliver(a, spam, short)
    assert moderation(a, spam.id)["delisted"] or short.body["expires"] <= time.time()
    eventually(lambda: not moderation(a, spam.id)["delisted"], what="the label to expire")
    assert "expired" in moderation(a, spam.id)["labels"][0]["why"]
    # the label's author lifts it by retracting it; the seller's retraction of the offer reaches every hub
    lift = sign(a_identity(a), "retract", {"target": labelled["id"]}, int(time.time()))
    deliver(a, lift)
    eventually(lambda: not moderation(a)["delisted"], what="the label lifted")
    withdraw = sign(SELLER, "retract", {"target": listing.id}, int(time.time()))
    deliver(a, withdraw)
    for hub in (a, b):
        eventually(lambda: hub.get_raw(f"/ki/v1/objects/{listing.id}")[0] == 410, what="the retraction everywhere")
    eventually(lambda: c.get_raw(f"/ki/v1/objects/{withdraw.id}")[0] == 200, what="C holding the retract")


def test_a_delisted_offer_is_marked_in_search_the_log_and_on_fetch_until_lifted(hubs):
    """Spec 9.4-9.6: a hub still finds, logs and serves a delisted object byte for byte, with the label beside it."""
    a, b, _ = hubs
    hub_key, seller, now = a_identity(a), Identity(bytes([46]) * 32), int(time.time())
    listing, other = offer(seller, "Zorblatt brochure site", at=now - 5), offer(seller, "Zorblatt menu card", at=now - 5)
    delisting = sign(hub_key, "label", {"scope": "object", "target": listing.id, "reason": "duplicate",
                                        "note": "Listed twice.", "expires": now + 3600}, now - 2)
    expired = sign(hub_key, "label", {"scope": "object", "target": other.id, "reason": "spam",
                                      "expires": now - 1}, now - 3)
    foreign = sign(OUTSIDER, "label", {"scope": "author", "subject": seller.did, "reason": "fraud",
                                       "expires": now + 3600}, now - 2)  # by no DID A honours
    answer = sign(seller, "response", {"label": delisting.id, "text": "The other one is a different size."}, now)
    deliver(a, listing, other, delisting, expired, foreign, answer)

    def marks():
        found = {r["id"]: r for r in get(a, "/ki/v1/search?q=zorblatt")["results"]}
        log = get(a, f"/ki/v1/objects?type=offer&author={seller.did}")
        status, body, headers = http_json("GET", a.url + f"/ki/v1/objects/{listing.id}")
        assert status == 200 and set(found) == {listing.id, other.id} == {o["id"] for o in log["objects"]}
        assert found[listing.id]["object"] == listing.as_dict() and log["objects"][0] in (listing.as_dict(), other.as_dict())
        assert a.get_raw(f"/ki/v1/objects/{listing.id}") == (200, listing.wire)  # the signed bytes, unchanged
        assert "moderation" not in found[other.id] and other.id not in log["moderation"]  # expired, foreign: no mark
        return found[listing.id].get("moderation"), log["moderation"].get(listing.id), headers.get("Ki-Moderation")

    in_search, in_log, header = eventually(lambda: (m := marks())[0] and m[0][0]["responses"] and m,
                                           what="the mark with the response")
    assert in_search == in_log == [{"label": delisting.id, "by": a.did, "scope": "object", "reason": "duplicate",
                                    "note": "Listed twice.", "expires": now + 3600, "responses": [
                                        {"id": answer.id, "author": seller.did, "created_at": now,
                                         "text": "The other one is a different size."}]}]
    assert header == f'"{delisting.id}";reason=duplicate;expires={now + 3600};by="{a.did}"'
    assert "Ki-Moderation" not in http_json("GET", a.url + f"/ki/v1/objects/{other.id}")[2]
    # B honours A's labels by policy, so it marks the offer too once both arrived
    eventually(lambda: listing.id in get(b, f"/ki/v1/objects?type=offer&author={seller.did}")["moderation"],
               what="B marking the offer")
    # the hub lifts its label: no mark anywhere, the offer still found and served
    deliver(a, sign(hub_key, "retract", {"target": delisting.id}, int(time.time())))
    eventually(lambda: marks() == (None, None, None), what="the mark lifted")


def a_identity(proc) -> Identity:
    """Hub A's own key, read from its (unencrypted) data dir, to sign labels as the hub."""
    from kinode import keystore
    return keystore.load_identity(str(proc.data_dir), None)


def test_receipts_verify_offline_and_a_dropped_object_yields_a_complaint(hubs, federation):
    tmp_path = federation.root
    a, _, c = hubs
    answer = deliver(a, offer(SELLER, "Receipt please"))[0]
    receipt_file = tmp_path / "receipt.json"
    receipt_file.write_text(json.dumps(answer["receipt"]))
    assert answer["receipt"]["hub"] == a.did and answer["receipt"]["path"] == []  # a batch of one
    assert cli("verify-receipt", str(receipt_file)).returncode == 0
    forged = dict(answer["receipt"], at=answer["receipt"]["at"] + 1)
    receipt_file.write_text(json.dumps(forged))
    refused = cli("verify-receipt", str(receipt_file), "--json", check=False)
    assert refused.returncode == 4 and json.loads(refused.stdout)["code"] == "bad_receipt"

    # a batch: one signature over one root for every object held, each receipt verifying on its own
    batch = [offer(SELLER, f"Batch receipt {n}") for n in range(5)]
    bad = dict(offer(Identity(bytes([46]) * 32), "Forged in the batch").as_dict(), sig="0" * 128)
    body = json.dumps({"objects": [o.as_dict() for o in batch] + [bad, batch[0].as_dict()]}).encode()
    status, answer, _ = http_json("POST", a.url + "/ki/v1/inbox", body, {"Content-Type": "application/json"})
    assert status == 200, answer
    results = answer["results"]
    assert [r["status"] for r in results] == ["accepted"] * 5 + ["rejected", "duplicate"] and "receipt" not in results[5]
    held = [r["receipt"] for r in results[:5]]
    assert len({r["sig"] for r in held}) == 1 and len({r["root"] for r in held}) == 1 and results[6]["receipt"] == held[0]
    assert sorted(len(r["path"]) for r in held) == [1, 3, 3, 3, 3]  # 5 leaves: the last is promoted twice
    for receipt in held:
        done = subprocess.run(KINODE + ["verify-receipt", "-", "--json"], input=json.dumps(receipt),
                              capture_output=True, text=True)
        assert done.returncode == 0 and json.loads(done.stdout)["root"] == held[0]["root"], done.stdout
    moved = dict(held[1], object=held[2]["object"])
    done = subprocess.run(KINODE + ["verify-receipt", "-", "--json"], input=json.dumps(moved), capture_output=True, text=True)
    assert done.returncode == 4 and "path does not lead" in json.loads(done.stdout)["detail"]

    # a participant publishing in copywriting with only hub A (which does not serve it) finds hub C
    # in A's directory, publishes there, and keeps C's receipt
    eventually(lambda: listed(a, COPY) == {c.did}, what="A listing C for copywriting")
    node = federation.node("seller", [a.url])
    published = federation.publish(node, "offer", {
        "category": COPY, "title": "Product copy", "description": "Short, clear copy.",
        "price": {"amount": "50.00", "currency": "EUR"}, "unit": "hour"})
    eventually(lambda: c.get_raw(f"/ki/v1/objects/{published}")[0] == 200, what="the offer reaching hub C")
    assert a.get_raw(f"/ki/v1/objects/{published}")[0] == 404

    def routed() -> dict | None:  # the seller's delivery log says where it went: hub C, no longer "nowhere"
        [item] = json.loads(cli("show", "deliveries", published, "--data-dir", str(node.data_dir), "--json").stdout)
        states = {d["to"]: d["state"] for d in item["destinations"]}
        return states if states.get(c.url) == "delivered" else None
    assert None not in eventually(routed, what="the seller's log showing the offer delivered to C")
    receipts = eventually(lambda: json.loads(cli("receipts", "--data-dir", str(node.data_dir), published,
                                                 "--json").stdout)["receipts"], what="C's receipt kept")
    assert receipts[0]["receipt"]["hub"] == c.did
    receipt_file.write_text(json.dumps(receipts[0]["receipt"]))  # what the seller's node kept verifies offline
    assert cli("verify-receipt", str(receipt_file)).returncode == 0
    # C drops it (its database edited behind its back); the seller proves it
    c.stop()
    with sqlite3.connect(c.data_dir / "kinode.db") as db:
        db.execute("DELETE FROM objects WHERE id = ?", [published])
    c.start()
    proof = cli("prove-dropped", "--data-dir", str(node.data_dir), published)
    complaint_file = tmp_path / "complaint.json"
    complaint_file.write_text(proof.stdout)
    assert cli("verify-complaint", str(complaint_file)).returncode == 0
    altered = json.loads(proof.stdout)
    altered["fetch"]["status"] = 200
    complaint_file.write_text(json.dumps(altered))
    assert cli("verify-complaint", str(complaint_file), check=False).returncode == 4
