"""The receipt verbs through the real entry point (spec 14.5): the v1 form is refused with bad_receipt,
and prove-dropped builds no complaint on a kept receipt that no longer verifies."""

import json
import pathlib

from sqlite_utils import Database

from cli_support import as_json, ok, run
from protocol.identity import Identity
from protocol.receipts import sign_receipts
from storage import hub_state

HUB = Identity(bytes([31]) * 32)
T = 1767225600


def test_verify_receipt_takes_a_v2_receipt_and_refuses_the_v1_form(tmp_path):
    receipt = sign_receipts(HUB, ["a" * 64, "b" * 64, "c" * 64], T)["b" * 64]
    assert as_json(run("verify-receipt", "-", "--json", stdin=json.dumps(receipt)))["valid"] is True
    v1 = {"hub": HUB.did, "object": "b" * 64, "at": T,
          "sig": HUB.sign(f"ki-receipt-v1:{'b' * 64}:{HUB.did}:{T}".encode()).hex()}
    refused = run("verify-receipt", "-", "--json", stdin=json.dumps(v1))
    assert refused.returncode == 4 and "Traceback" not in refused.stderr
    assert json.loads(refused.stdout)["code"] == "bad_receipt"


def test_prove_dropped_skips_a_kept_receipt_that_no_longer_verifies(tmp_path):
    ok(run("init", "--data-dir", str(tmp_path), "--no-passphrase"))
    published = ok(run("publish", "--data-dir", str(tmp_path), "-",
                       stdin=json.dumps({"type": "profile", "body": {"name": "Ada"}}))).strip()
    db = Database(pathlib.Path(tmp_path) / "kinode.db")
    # as an older node kept it: a v1 receipt, from a "hub" no fetch must reach (port 9 is never served here)
    hub_state.keep_receipt(db, {"hub": HUB.did, "object": published, "at": T, "sig": "0" * 128}, "http://127.0.0.1:9")
    db.conn.commit()
    db.close()
    result = run("prove-dropped", "--data-dir", str(tmp_path), published)
    assert result.returncode == 4 and result.stdout == "" and "Traceback" not in result.stderr
    assert "skipping http://127.0.0.1:9's receipt" in result.stderr and "no receipt kept here verifies" in result.stderr


def test_the_human_forms_say_when_in_utc():
    receipt = sign_receipts(HUB, ["a" * 64], T)["a" * 64]
    said = ok(run("verify-receipt", "-", stdin=json.dumps(receipt)))
    assert said.strip() == f"valid: {HUB.did} held {'a' * 64} at 2026-01-01 00:00:00 UTC"


def test_receipts_for_something_that_is_not_an_object_id_is_bad_input(tmp_path):
    ok(run("init", "--data-dir", str(tmp_path), "--no-passphrase"))
    done = run("receipts", "--data-dir", str(tmp_path), "nothex")
    assert done.returncode == 2 and "bad_input" in done.stderr and "not an object id" in done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr
