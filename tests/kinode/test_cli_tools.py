"""`kinode verify`, `outbox`, `peers` and `reindex` through the real entry point."""

import json
import time

import pytest

from cli_support import as_json, assert_clean_failure, ok, run
from protocol.envelope import sign
from protocol.identity import Identity
from storage import outbox
from storage.store import Store

ALICE = Identity(bytes(range(32)))
BOB = Identity(bytes(range(1, 33)))
NOW = int(time.time())


def profile(who=ALICE, name="Alice", at=NOW - 100):
    return sign(who, "profile", {"name": name}, at)


def write(path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_verify_passes_good_objects_in_every_file_shape(tmp_path):
    a, b = profile(), profile(BOB, "Bob")
    shapes = {
        "one.json": a.wire.decode(),
        "array.json": json.dumps([a.as_dict(), b.as_dict()]),
        "batch.json": json.dumps({"objects": [a.as_dict(), b.as_dict()]}),
        "lines.jsonl": a.wire.decode() + "\n" + b.wire.decode() + "\n",
    }
    for name, text in shapes.items():
        answer = as_json(run("verify", write(tmp_path / name, text), "--json"))
        assert answer["invalid"] == 0 and answer["checked"] == (1 if name == "one.json" else 2), name
        assert {r["id"] for r in answer["results"]} <= {a.id, b.id}
    human = ok(run("verify", str(tmp_path / "array.json")))
    assert f"ok       #1 profile {a.id} by {ALICE.did}" in human and "2 checked, 0 invalid" in human


def test_verify_explains_each_failure_with_its_code_and_exits_4(tmp_path):
    good = profile()
    tampered = {**profile(BOB, "Bob").as_dict(), "body": {"name": "Mallory"}}
    forged_sig = {**profile(BOB, "Bobby").as_dict(), "sig": good.sig}
    rotation = sign(ALICE, "key_rotation", {"successor": BOB.did}, NOW - 50)
    after_rotation = profile(ALICE, "Alice again", NOW - 10)
    future = profile(BOB, "Later", NOW + 3600)
    objects = [good.as_dict(), tampered, forged_sig, rotation.as_dict(), after_rotation.as_dict(), future.as_dict()]
    result = run("verify", write(tmp_path / "mixed.json", json.dumps(objects)), "--json")
    assert result.returncode == 4, result
    codes = [(r["status"], r.get("code")) for r in json.loads(result.stdout)["results"]]
    assert codes == [("valid", None), ("invalid", "bad_id"), ("invalid", "bad_signature"), ("valid", None),
                     ("invalid", "key_rotated"), ("invalid", "clock_skew")]
    human = run("verify", str(tmp_path / "mixed.json"))
    assert human.returncode == 4 and "[key_rotated]" in human.stdout and "6 checked, 4 invalid" in human.stdout
    assert "Traceback" not in human.stderr


def test_verify_at_a_given_time(tmp_path):
    future = profile(BOB, "Later", NOW + 3600)
    path = write(tmp_path / "later.json", future.wire.decode())
    assert run("verify", path).returncode == 4
    ok(run("verify", path, "--at", str(NOW + 3600)))


def test_verify_one_broken_object_and_a_duplicate_key(tmp_path):
    broken = run("verify", write(tmp_path / "broken.json", '{"v": 1, "type": '), "--json")
    assert broken.returncode == 4 and json.loads(broken.stdout)["results"][0]["code"] == "malformed"
    duplicate = run("verify", write(tmp_path / "dup.json", '{"v": 1, "v": 1}'), "--json")
    assert duplicate.returncode == 4 and json.loads(duplicate.stdout)["results"][0]["code"] == "duplicate_key"


def test_verify_of_no_file_or_an_empty_one_is_bad_input(tmp_path):
    assert_clean_failure(run("verify", str(tmp_path / "absent.json")), "unreadable_file")
    assert_clean_failure(run("verify", write(tmp_path / "empty.json", "  \n")), "malformed")
    ok(run("verify", "-", stdin=profile().wire.decode()))


@pytest.fixture
def node_with_a_refused_entry(tmp_path):
    data_dir = tmp_path / "node"
    ok(run("init", "--data-dir", str(data_dir), "--no-passphrase"))
    object_id = ok(run("publish", "--data-dir", str(data_dir), "-",
                       stdin=json.dumps({"type": "profile", "body": {"name": "Ada"}}))).strip()
    store = Store(data_dir / "kinode.db")
    try:
        def park(db):
            outbox.enqueue(db, object_id, ["http://127.0.0.1:9"], NOW)
            [entry] = [e for e in outbox.due(db, NOW + 1) if e.destination == "http://127.0.0.1:9"]
            outbox.quarantine(db, entry.entry_id, NOW, "rejected: not_authorized: not yours")
            return entry.entry_id
        entry_id = store.write_sync(park)
    finally:
        store.close()
    return str(data_dir), entry_id, object_id


def test_outbox_shows_refused_entries_and_releases_them(node_with_a_refused_entry):
    data_dir, entry_id, object_id = node_with_a_refused_entry
    human = ok(run("outbox", "--data-dir", data_dir))
    assert f"entry {entry_id}: {object_id} for http://127.0.0.1:9: rejected: not_authorized" in human
    assert_clean_failure(run("outbox", "--data-dir", data_dir, "--release", "999999"), "not_found")
    answer = as_json(run("outbox", "--data-dir", data_dir, "--release", str(entry_id), "--json"))
    assert answer["quarantined"] == []
    assert {"destination": "http://127.0.0.1:9", "waiting": 1}.items() <= next(
        d for d in answer["destinations"] if d["destination"] == "http://127.0.0.1:9").items()


def test_peers_of_a_node_that_has_met_nobody(node_with_a_refused_entry):
    data_dir, _, _ = node_with_a_refused_entry
    assert "no peers yet" in ok(run("peers", "--data-dir", data_dir))
    assert as_json(run("peers", "--data-dir", data_dir, "--json")) == []


def test_reindex_rebuilds_every_derived_table_with_progress(node_with_a_refused_entry, tmp_path):
    data_dir, _, _ = node_with_a_refused_entry
    ok(run("publish", "--data-dir", data_dir, "-", stdin=json.dumps(
        {"type": "offer", "body": {"category": "web-design", "title": "Landing page in a week", "description": "d",
                                   "skills": ["css"], "price": {"amount": "80.00", "currency": "EUR"}, "unit": "hour"}})))
    before = _search_rows(data_dir)
    result = run("reindex", "--data-dir", data_dir)
    out = ok(result)
    assert "search" in out and "from 2 objects" in out
    assert "reindex: 0/" in result.stderr and "reindex: " in result.stderr.splitlines()[-1]  # plain lines off a terminal
    assert "\r" not in result.stderr
    assert _search_rows(data_dir) == before and before
    assert as_json(run("reindex", "--data-dir", data_dir, "--table", "search", "--json"))["rebuilt"] == ["search"]
    assert_clean_failure(run("reindex", "--data-dir", data_dir, "--table", "nope"), "unknown_table")


def _search_rows(data_dir: str) -> list:
    from storage.search import SearchQuery, search
    store = Store(f"{data_dir}/kinode.db")
    try:
        return [hit.id for hit in store.read_sync(search, SearchQuery(q="landing"), NOW).results]
    finally:
        store.close()


def test_a_reader_that_stops_early_gets_silence_not_an_error(tmp_path):
    import subprocess
    from cli_support import KINODE
    objects = [profile(ALICE, f"Alice {n}", NOW - n).as_dict() for n in range(3000)]
    path = write(tmp_path / "many.json", json.dumps(objects))
    process = subprocess.Popen([*KINODE, "verify", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.readline().startswith(b"ok ")
    process.stdout.close()  # like `kinode verify many.json | head -1`
    stderr = process.stderr.read()
    process.stderr.close()
    assert process.wait(60) == 141 and stderr == b""


def test_reindex_draws_a_bar_on_a_terminal(node_with_a_refused_entry):
    import os
    import pty
    import sys

    from cli_support import read_to_end
    data_dir, _, _ = node_with_a_refused_entry
    pid, fd = pty.fork()
    if pid == 0:  # the child: stdout and stderr are the terminal
        os.execv(sys.executable, [sys.executable, "-m", "kinode", "reindex", "--data-dir", data_dir])
    seen = bytearray()
    try:
        read_to_end(fd, seen)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, bytes(seen)
    assert b"\rreindex [" in seen and b"#" * 30 in seen  # redrawn in place, full at the end
