"""`kinode rotate` through the real entry point: the node moves to its successor key and keeps publishing."""

import json

from cli_support import as_json, ok, run
from harness import Federation, eventually
from kinode import keystore

import pytest


@pytest.fixture
def federation(tmp_path):
    fed = Federation(tmp_path)
    yield fed
    fed.close()


def test_rotate_publishes_the_rotation_and_the_node_signs_with_its_successor(federation):
    hub = federation.hub("hub", ["web-design"])
    alice = federation.node("alice", hubs=[hub.url])
    data_dir = str(alice.data_dir)
    old = ok(run("whoami", "--data-dir", data_dir)).strip()
    federation.publish(alice, "profile", {"name": "Alice"})

    rotated = as_json(run("rotate", "--data-dir", data_dir, "--json"))
    assert rotated["old"] == old and rotated["new"] != old
    assert ok(run("whoami", "--data-dir", data_dir)).strip() == rotated["new"]
    assert json.loads((alice.data_dir / "retired" / f"{old.removeprefix('did:key:')}.json").read_text())["did"] == old

    alice.stop()
    alice.start()  # a running node keeps its key until restarted
    assert alice.did == rotated["new"]
    profile_id = federation.publish(alice, "profile", {"name": "Alice, new key"})
    eventually(lambda: {rotated["rotation"], profile_id} <= set(hub.object_ids()),
               what="the rotation and the new key's profile reaching the hub")
    status, rotation, _ = hub.get_json(f"/ki/v1/objects/{rotated['rotation']}")
    assert status == 200 and rotation["author"] == old and rotation["body"] == {"successor": rotated["new"]}


def test_an_encrypted_key_rotates_to_an_encrypted_successor(tmp_path):
    data_dir = str(tmp_path / "node")
    old = ok(run("init", "--data-dir", data_dir, passphrase="correct horse")).strip()
    out = ok(run("rotate", "--data-dir", data_dir, passphrase="correct horse"))
    new = ok(run("whoami", "--data-dir", data_dir, passphrase="correct horse")).strip()
    assert new != old and new in out and old in out
    assert "seed" not in json.loads(keystore.identity_path(data_dir).read_text())
    retired = json.loads((tmp_path / "node" / "retired" / f"{old.removeprefix('did:key:')}.json").read_text())
    assert retired["did"] == old and "seed" not in retired  # still encrypted
    assert len(ok(run("publish", "--data-dir", data_dir, "-", passphrase="correct horse",
                      stdin='{"type": "profile", "body": {"name": "A"}}')).strip()) == 64


def test_an_interrupted_rotation_is_finished_with_the_same_successor(tmp_path):
    data_dir = str(tmp_path / "node")
    old = ok(run("init", "--data-dir", data_dir, "--no-passphrase")).strip()
    waiting = keystore.prepare_successor(data_dir, None)  # as if the first run stopped after writing the key
    assert ok(run("whoami", "--data-dir", data_dir)).strip() == old
    rotated = as_json(run("rotate", "--data-dir", data_dir, "--json"))
    assert rotated["new"] == waiting.did
    assert not keystore.next_path(data_dir).exists()
    again = as_json(run("rotate", "--data-dir", data_dir, "--json"))  # the successor can rotate in turn
    assert again["old"] == waiting.did and again["new"] not in (old, waiting.did)
    status = as_json(run("status", "--data-dir", data_dir, "--json"))
    assert status["objects"] == {"key_rotation": 2}
