"""The hub operator's guide's backup and restore, done as written, on a running hub."""

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli_support import as_json, ok, run
from harness import Federation, eventually

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "hub-operator-guide.md"
OFFER = {"category": "web-design", "title": "Landing page in a week", "description": "Responsive.",
         "price": {"amount": "80.00", "currency": "EUR"}, "unit": "hour"}


@pytest.fixture
def federation(tmp_path):
    fed = Federation(tmp_path)
    yield fed
    fed.close()


def test_backup_while_running_then_restore_and_reindex(federation, tmp_path):
    hub = federation.hub("hub", ["web-design"])
    alice = federation.node("alice", hubs=[hub.url])
    offer_id = federation.publish(alice, "offer", OFFER)
    eventually(lambda: offer_id in hub.object_ids(), what="the offer reaching the hub")

    backup = tmp_path / "backup"
    backup.mkdir()
    [line] = [line for line in GUIDE.read_text().splitlines() if ".backup(" in line]
    line = line.replace("/srv/kinode-hub", str(hub.data_dir)).replace("/backup", str(backup))
    subprocess.run([sys.executable, *shlex.split(line)[1:]], check=True, timeout=60)  # while the hub runs
    shutil.copy(hub.data_dir / "identity.json", backup)
    hub.stop()

    restored = tmp_path / "restored"
    restored.mkdir()
    for name in ("kinode.db", "identity.json"):
        shutil.copy(backup / name, restored)
    assert re.search(r"rebuilt .*search", ok(run("reindex", "--data-dir", str(restored))))
    again = federation.hub("restored", ["web-design"])
    assert again.did == hub.did
    hits = as_json(run("search", "--hub", again.url, "landing", "--json"))["results"]
    assert [h["id"] for h in hits] == [offer_id]
