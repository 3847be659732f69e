"""`kinode export` / `kinode import` round trip through the real entry point: nothing is lost, tampering is refused."""

import json
import time

import pytest

from cli_support import as_json, assert_clean_failure, ok, run
from protocol.envelope import sign
from protocol.identity import Identity
from storage.objects import store_verified
from storage.store import Store

BOB, CAROL = Identity(bytes(range(1, 33))), Identity(bytes(range(2, 34)))
OFFER = {"category": "web-design", "title": "Landing page", "description": "In a week.",
         "price": {"amount": "80.00", "currency": "EUR"}, "unit": "hour"}
PASS = "export me"  # encrypts the exported keys (the node itself keeps them unencrypted: each unlock costs ~1 s)


def publish(data_dir: str, type_: str, body: dict) -> str:
    return ok(run("publish", "--data-dir", data_dir, "-", stdin=json.dumps({"type": type_, "body": body}))).strip()


def all_objects(data_dir: str) -> dict[str, bytes]:
    store = Store(f"{data_dir}/kinode.db")
    try:
        return dict(store.read_sync(lambda db: db.execute("SELECT id, wire FROM objects").fetchall()))
    finally:
        store.close()


@pytest.fixture
def alice(tmp_path):
    """A participant with own objects (one retracted), others' objects about her, an unrelated one, and a rotated key."""
    data_dir = str(tmp_path / "alice")
    first = ok(run("init", "--data-dir", data_dir, "--no-passphrase")).strip()
    own = [publish(data_dir, "profile", {"name": "Alice"})]
    offer = publish(data_dir, "offer", OFFER)
    own += [offer, publish(data_dir, "retract", {"target": offer})]
    now = int(time.time())
    endorsement = sign(BOB, "endorsement", {"subject": first, "category": "web-design", "level": "expert"}, now)
    withdrawn = sign(BOB, "retract", {"target": endorsement.id}, now)
    unrelated = sign(CAROL, "offer", {**OFFER, "title": "Carol's own"}, now)
    store = Store(f"{data_dir}/kinode.db")
    try:
        assert {r.status for r in store.write_sync(store_verified, [endorsement, withdrawn, unrelated], now)} == {"accepted"}
    finally:
        store.close()
    rotated = as_json(run("rotate", "--data-dir", data_dir, "--json"))
    own += [rotated["rotation"], publish(data_dir, "profile", {"name": "Alice (new key)"})]
    return {"dir": data_dir, "did": rotated["new"], "old": first, "expected": {*own, endorsement.id, withdrawn.id},
            "unrelated": unrelated.id}


def test_export_and_import_on_a_new_machine_loses_nothing(alice, tmp_path):
    path = tmp_path / "alice-history.json"
    summary = as_json(run("export", "--data-dir", alice["dir"], "-o", str(path), "--keys", "--json", passphrase=PASS))
    assert summary["objects"] == len(alice["expected"])
    exported = json.loads(path.read_text())
    assert {o["id"] for o in exported["objects"]} == alice["expected"]  # theirs, about them, not Carol's
    assert "seed" not in json.dumps(exported["keys"])  # keys leave only encrypted

    moved = str(tmp_path / "new-machine")
    result = run("import", str(path), "--data-dir", moved, "--keys", "--json", passphrase=PASS)
    answer = as_json(result)
    assert answer["refused"] == [] and answer["keys"] is True
    assert "import: " in result.stderr  # progress, as plain lines off a terminal
    before, after = all_objects(alice["dir"]), all_objects(moved)
    assert set(after) == alice["expected"]
    assert all(after[i] == before[i] for i in after)  # byte for byte as signed
    assert ok(run("whoami", "--data-dir", moved, passphrase=PASS)).strip() == alice["did"]
    assert (tmp_path / "new-machine" / "retired" / f"{alice['old'].removeprefix('did:key:')}.json").exists()
    counts = as_json(run("status", "--data-dir", alice["dir"], "--json"))["objects"]
    counts["offer"] -= 1  # Carol's offer stays behind
    assert as_json(run("status", "--data-dir", moved, "--json"))["objects"] == counts

    again = tmp_path / "again.json"
    ok(run("export", "--data-dir", moved, "-o", str(again), passphrase=PASS))
    assert json.loads(again.read_text())["objects"] == exported["objects"]  # the round trip is a fixed point
    assert ok(run("verify", str(path)))  # an export is also a file `verify` reads


def test_an_altered_export_is_refused_whole(alice, tmp_path):
    path = tmp_path / "history.json"
    ok(run("export", "--data-dir", alice["dir"], "-o", str(path)))
    path.write_text(path.read_text().replace("Alice (new key)", "Mallory (new key)"))
    assert_clean_failure(run("import", str(path), "--data-dir", str(tmp_path / "victim")), "bad_signature")
    assert not (tmp_path / "victim").exists()
    path.write_text("{}")
    assert_clean_failure(run("import", str(path), "--data-dir", str(tmp_path / "victim")), "malformed")


def test_keys_only_when_asked_and_never_in_the_clear(tmp_path):
    data_dir = str(tmp_path / "plain")
    ok(run("init", "--data-dir", data_dir, "--no-passphrase"))
    ok(run("publish", "--data-dir", data_dir, "-", stdin='{"type": "profile", "body": {"name": "P"}}'))
    assert_clean_failure(run("export", "--data-dir", data_dir, "-o", str(tmp_path / "k.json"), "--keys"),
                         "passphrase_required", exit_code=3)
    ok(run("export", "--data-dir", data_dir, "-o", str(tmp_path / "nokeys.json")))
    assert json.loads((tmp_path / "nokeys.json").read_text())["keys"] is None
    assert_clean_failure(run("import", str(tmp_path / "nokeys.json"), "--data-dir", str(tmp_path / "b"), "--keys"), "bad_input")
    ok(run("export", "--data-dir", data_dir, "-o", str(tmp_path / "k.json"), "--keys", passphrase="carry"))
    ok(run("import", str(tmp_path / "k.json"), "--data-dir", str(tmp_path / "c"), "--keys"))
    assert "seed" not in (tmp_path / "c" / "identity.json").read_text()
    assert ok(run("whoami", "--data-dir", str(tmp_path / "c"), passphrase="carry")) == ok(run("whoami", "--data-dir", data_dir))


def test_a_file_in_any_order_loses_nothing(alice, tmp_path):
    """An export written by another tool may list a retract before its target: the target is still kept (hidden)."""
    import hashlib

    from kinode import keystore
    from protocol import canonical
    path = tmp_path / "history.json"
    ok(run("export", "--data-dir", alice["dir"], "-o", str(path)))
    document = json.loads(path.read_text())
    document["objects"].reverse()  # every retract now comes before what it withdraws
    del document["signature"]
    me = keystore.load_identity(alice["dir"], None)
    digest = hashlib.sha256(canonical.encode(document)).hexdigest().encode()  # as docs/export.md says
    document["signature"] = me.sign(b"ki-history-v1:" + digest).hex()
    path.write_text(json.dumps(document))
    answer = as_json(run("import", str(path), "--data-dir", str(tmp_path / "other"), "--json"))
    assert answer["refused"] == [] and answer["results"].get("kept hidden", 0) >= 1
    assert set(all_objects(str(tmp_path / "other"))) == alice["expected"]
