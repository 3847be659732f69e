"""The identity keystore: encrypted and plain files, atomic creation, clear errors."""

import json
import os
import stat

import nacl.pwhash.argon2id as argon2id
import pytest

from kinode import keystore
from kinode.errors import (
    EmptyPassphrase, IdentityExists, KeystoreError, NoIdentity, PassphraseRequired,
    WrongPassphrase,
)
from kinode.keystore import KdfParams, create_identity, ensure_identity, load_identity
from protocol.identity import Identity

CHEAP = KdfParams(opslimit=argon2id.OPSLIMIT_MIN, memlimit=argon2id.MEMLIMIT_MIN)
ALICE = Identity(bytes(range(32)))


def read(data_dir) -> dict:
    return json.loads(keystore.identity_path(data_dir).read_text())


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_default_kdf_is_moderate_not_the_cheap_test_setting():
    assert keystore.DEFAULT_KDF == KdfParams(argon2id.OPSLIMIT_MODERATE, argon2id.MEMLIMIT_MODERATE)
    assert keystore.DEFAULT_KDF.memlimit >= 256 * 1024**2


def test_encrypted_round_trip(tmp_path):
    created = create_identity(tmp_path / "node", "correct horse", kdf=CHEAP, identity=ALICE)
    document = read(tmp_path / "node")
    assert set(document) == {"version", "did", "kdf", "salt", "nonce", "ciphertext"}
    assert document["kdf"] == {"name": "argon2id", "opslimit": CHEAP.opslimit, "memlimit": CHEAP.memlimit}
    assert ALICE.seed.hex() not in keystore.identity_path(tmp_path / "node").read_text()
    assert load_identity(tmp_path / "node", "correct horse").seed == created.seed == ALICE.seed


def test_unencrypted_round_trip(tmp_path):
    create_identity(tmp_path, None, identity=ALICE)
    assert read(tmp_path) == {"version": 1, "did": ALICE.did, "seed": ALICE.seed.hex()}
    assert load_identity(tmp_path, None).did == ALICE.did
    assert load_identity(tmp_path, "ignored for a plain file").did == ALICE.did


def test_salt_and_nonce_are_fresh_per_file(tmp_path):
    create_identity(tmp_path / "a", "pw", kdf=CHEAP, identity=ALICE)
    create_identity(tmp_path / "b", "pw", kdf=CHEAP, identity=ALICE)
    a, b = read(tmp_path / "a"), read(tmp_path / "b")
    assert a["salt"] != b["salt"] and a["nonce"] != b["nonce"] and a["ciphertext"] != b["ciphertext"]


def test_wrong_passphrase_is_a_clear_keystore_error(tmp_path):
    create_identity(tmp_path, "right", kdf=CHEAP)
    with pytest.raises(WrongPassphrase) as caught:
        load_identity(tmp_path, "wrong")
    assert caught.value.code == "wrong_passphrase"
    assert "wrong passphrase" in str(caught.value)


def test_passphrase_is_normalised_nfc(tmp_path):
    create_identity(tmp_path, "caf\u00e9", kdf=CHEAP, identity=ALICE)  # composed é
    assert load_identity(tmp_path, "cafe\u0301").did == ALICE.did  # decomposed e + accent


def test_encrypted_file_needs_a_passphrase(tmp_path):
    create_identity(tmp_path, "pw", kdf=CHEAP)
    with pytest.raises(PassphraseRequired):
        load_identity(tmp_path, None)


def test_empty_passphrase_refused_and_nothing_written(tmp_path):
    with pytest.raises(EmptyPassphrase):
        create_identity(tmp_path, "", kdf=CHEAP)
    assert not keystore.identity_path(tmp_path).exists()


def test_missing_identity(tmp_path):
    with pytest.raises(NoIdentity, match="kinode init"):
        load_identity(tmp_path, None)


def test_refuses_to_overwrite(tmp_path):
    create_identity(tmp_path, None, identity=ALICE)
    before = keystore.identity_path(tmp_path).read_bytes()
    with pytest.raises(IdentityExists):
        create_identity(tmp_path, None)
    assert keystore.identity_path(tmp_path).read_bytes() == before
    assert os.listdir(tmp_path) == ["identity.json"]  # no temporary file left behind


def test_file_is_0600_from_creation_even_with_a_permissive_umask(tmp_path):
    old = os.umask(0)
    try:
        create_identity(tmp_path / "node", None)
    finally:
        os.umask(old)
    assert mode(keystore.identity_path(tmp_path / "node")) == 0o600
    assert mode(tmp_path / "node") == 0o700


def test_write_creates_the_temporary_file_with_0600(tmp_path, monkeypatch):
    # Guards "never chmod after": the only open() that creates a file asks for 0600.
    seen = []
    real_open = os.open

    def spying_open(path, flags, mode=0o777, **kwargs):
        if flags & os.O_CREAT:
            seen.append(mode)
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", spying_open)
    monkeypatch.setattr(os, "chmod", lambda *a, **k: pytest.fail("chmod must not be needed"))
    create_identity(tmp_path, None)
    assert seen == [0o600]


@pytest.mark.parametrize("damage, code", [
    (lambda d: "not json", "keystore_corrupt"),
    (lambda d: json.dumps([1, 2]), "keystore_corrupt"),
    (lambda d: json.dumps({**d, "version": 2}), "keystore_corrupt"),
    (lambda d: json.dumps({**d, "ciphertext": "zz"}), "keystore_corrupt"),
    (lambda d: json.dumps({**d, "kdf": {**d["kdf"], "name": "scrypt"}}), "keystore_corrupt"),
    (lambda d: json.dumps({**d, "kdf": {**d["kdf"], "memlimit": 2**40}}), "keystore_corrupt"),
    (lambda d: json.dumps({k: v for k, v in d.items() if k != "salt"}), "keystore_corrupt"),
    (lambda d: json.dumps({**d, "did": Identity(bytes(32)).did}), "keystore_corrupt"),
    (lambda d: json.dumps({**d, "ciphertext": "00" * 48}), "wrong_passphrase"),
])
def test_damaged_files_give_a_code_not_a_traceback(tmp_path, damage, code):
    create_identity(tmp_path, "pw", kdf=CHEAP, identity=ALICE)
    path = keystore.identity_path(tmp_path)
    path.write_text(damage(json.loads(path.read_text())))
    with pytest.raises(KeystoreError) as caught:
        load_identity(tmp_path, "pw")
    assert caught.value.code == code


def test_ensure_identity_creates_unencrypted_with_a_warning(tmp_path):
    warnings = []
    identity = ensure_identity(tmp_path / "hub", None, warn=warnings.append)
    assert read(tmp_path / "hub")["seed"] == identity.seed.hex()
    assert mode(keystore.identity_path(tmp_path / "hub")) == 0o600
    assert len(warnings) == 1 and "UNENCRYPTED" in warnings[0] and identity.did in warnings[0]


def test_ensure_identity_creates_encrypted_silently_when_given_a_passphrase(tmp_path):
    warnings = []
    identity = ensure_identity(tmp_path, "pw", warn=warnings.append, kdf=CHEAP)
    assert "ciphertext" in read(tmp_path) and warnings == []
    assert load_identity(tmp_path, "pw").did == identity.did


def test_ensure_identity_loads_an_existing_one(tmp_path):
    create_identity(tmp_path, "pw", kdf=CHEAP, identity=ALICE)
    warnings = []
    assert ensure_identity(tmp_path, "pw", warn=warnings.append).did == ALICE.did
    assert warnings == []
    with pytest.raises(WrongPassphrase):
        ensure_identity(tmp_path, "nope", warn=warnings.append)
