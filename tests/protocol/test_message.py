"""End-to-end encryption of `message` objects: vectors, round trips, tampering."""

import copy
import hashlib
import json
from pathlib import Path

import nacl.bindings as sodium
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings, strategies as st

from protocol import envelope
from protocol.errors import BadDid, DecryptionFailed, InvalidBody, NotAuthorized, ProtocolError
from protocol.identity import Identity, did_from_public_key
from protocol.message import (
    b64url_decode, b64url_encode, box_nonce, open_message, open_object, parse_body, seal,
    seal_object, x25519_public_key, x25519_secret_key,
)

VECTORS = json.loads((Path(__file__).parents[2] / "specs" / "vectors" / "encryption.json").read_text("utf-8"))
PARTICIPANTS = VECTORS["participants"]
MESSAGES = VECTORS["messages"]
NOW = 1767225600
POOL = [Identity(bytes([n]) * 32) for n in range(10, 15)]
ALICE, BOB, CAROL, DAVE = (Identity(bytes([n]) * 32) for n in (1, 2, 3, 4))
PROPOSAL = {"target": "cd" * 32, "category": "web-design",
            "price": {"amount": "100.00", "currency": "EUR"}, "message": "hello"}


def who(name: str) -> Identity:
    return Identity(bytes.fromhex(PARTICIPANTS[name]["seed"]))


def replay(chunks: list[str]):
    """A random source that hands out the recorded bytes, checking the sizes asked for."""
    queue = [bytes.fromhex(c) for c in chunks]

    def random(n: int) -> bytes:
        chunk = queue.pop(0)
        assert len(chunk) == n
        return chunk
    return random


def flip(text: str, index: int, mask: int = 0x01) -> str:
    data = bytearray(b64url_decode(text, "test"))
    data[index] ^= mask
    return b64url_encode(bytes(data))


def code_of(call) -> str:
    with pytest.raises(ProtocolError) as caught:
        call()
    return caught.value.code


# --- vectors -------------------------------------------------------------------------------------

P = 2**255 - 19


def _montgomery_u(ed25519_public: bytes) -> bytes:
    """RFC 7748 section 4.1 birational map u = (1 + y) / (1 - y), done by hand as a second opinion."""
    y = int.from_bytes(ed25519_public, "little") & ((1 << 255) - 1)
    return ((1 + y) * pow(1 - y, P - 2, P) % P).to_bytes(32, "little")


@pytest.mark.parametrize("name", sorted(PARTICIPANTS))
def test_participant_keys_match_an_independent_conversion(name):
    record = PARTICIPANTS[name]
    identity = who(name)
    assert identity.did == record["did"]
    assert identity.public_key.hex() == record["ed25519_public"]
    assert x25519_public_key(identity.did).hex() == record["x25519_public"]
    assert x25519_secret_key(identity).hex() == record["x25519_secret"]
    scalar = bytearray(hashlib.sha512(identity.seed).digest()[:32])
    scalar[0] &= 248
    scalar[31] = (scalar[31] & 127) | 64
    assert bytes(scalar).hex() == record["x25519_secret"]
    assert _montgomery_u(identity.public_key).hex() == record["x25519_public"]
    derived = X25519PrivateKey.from_private_bytes(bytes(scalar)).public_key().public_bytes_raw()
    assert derived.hex() == record["x25519_public"]


@pytest.mark.parametrize("label", sorted(MESSAGES))
def test_seal_reproduces_the_vector_message(label):
    message = MESSAGES[label]
    stream = b"".join(hashlib.sha256(message["random_seed"].encode() + i.to_bytes(4, "big")).digest()
                      for i in range(2))
    assert bytes.fromhex("".join(message["random"])) == stream[:56]
    sender = who(message["sender"])
    to = [PARTICIPANTS[name]["did"] for name in message["recipients"]]
    plaintext = bytes.fromhex(message["plaintext"])
    body = seal(sender, to, plaintext, random=replay(message["random"]))
    assert body == message["body"]
    nonce = b64url_decode(body["nonce"], "nonce")
    ciphertext = b64url_decode(body["ciphertext"], "ciphertext")
    assert hashlib.sha256(ciphertext).hexdigest() == message["ciphertext_sha256"]
    assert [{"to": did, "nonce": box_nonce(nonce, ciphertext, sender.did, to, did).hex()} for did in to] \
        == message["box_nonces"]
    if "object" in message:
        outer = envelope.sign(sender, "message", body, message["created_at"])
        assert outer.as_dict() == message["object"]
        inner = envelope.parse_object(plaintext, NOW)
        if inner.author == sender.did:
            again = seal_object(sender, to, inner, message["created_at"], random=replay(message["random"]))
            assert again.wire == outer.wire


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_open_vector(vector):
    spec = vector["open"]
    reader = who(spec["reader"])
    expect = spec["expect"]
    if vector["kind"] == "body":
        run = lambda: open_message(reader, spec["claimed_sender"], spec["body"])  # noqa: E731
        if "error" in expect:
            assert code_of(run) == expect["error"]
        else:
            assert run().hex() == expect["plaintext"]
    else:
        outer = envelope.verify(MESSAGES[vector["message"]]["object"], spec["now"])
        run = lambda: open_object(reader, outer, spec["now"])  # noqa: E731
        if "error" in expect:
            assert code_of(run) == expect["error"]
        else:
            inner = run()
            assert inner.id == expect["inner_id"]
            assert inner.wire.decode("utf-8") == expect["inner_wire"]


def test_vectors_cover_the_required_cases():
    names = {v["name"] for v in VECTORS["vectors"]}
    assert {"bob_opens", "carol_opens", "outsider", "tampered_ciphertext", "tampered_key",
            "wrong_sender", "object_rewrapped"} <= names


# --- round trips ---------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(plaintext=st.binary(max_size=3000),
       sender=st.sampled_from(range(len(POOL))),
       chosen=st.lists(st.sampled_from(range(len(POOL))), min_size=1, max_size=len(POOL), unique=True))
def test_every_recipient_and_no_one_else_opens(plaintext, sender, chosen):
    body = seal(POOL[sender], [POOL[i].did for i in chosen], plaintext)
    for index, reader in enumerate(POOL):
        if index in chosen:
            assert open_message(reader, POOL[sender].did, body) == plaintext
        else:
            with pytest.raises(DecryptionFailed, match="not addressed to"):
                open_message(reader, POOL[sender].did, body)


def test_fresh_randomness_gives_different_bodies_for_the_same_input():
    first = seal(ALICE, [BOB.did], b"same")
    second = seal(ALICE, [BOB.did], b"same")
    assert first["nonce"] != second["nonce"] and first["ciphertext"] != second["ciphertext"]


def test_object_round_trip_keeps_the_inner_object_byte_for_byte():
    inner = envelope.sign(ALICE, "proposal", PROPOSAL, NOW)
    outer = seal_object(ALICE, [ALICE.did, BOB.did], inner, NOW + 5)
    assert (outer.type, outer.author) == ("message", ALICE.did)
    received = envelope.parse_object(outer.wire, NOW + 5)
    for reader in (ALICE, BOB):
        assert open_object(reader, received, NOW + 5).wire == inner.wire
    assert code_of(lambda: open_object(CAROL, received, NOW + 5)) == "decryption_failed"


# --- tampering -----------------------------------------------------------------------------------

SMALL = seal(ALICE, [ALICE.did, BOB.did], b"private terms: 1500 EUR")


def _tampered_bodies(mask: int):
    """Every single-byte change of nonce, ciphertext and wrapped keys, with the readers it must stop."""
    everyone = (ALICE, BOB)
    for index in range(len(b64url_decode(SMALL["nonce"], "nonce"))):
        yield {**SMALL, "nonce": flip(SMALL["nonce"], index, mask)}, everyone
    for index in range(len(b64url_decode(SMALL["ciphertext"], "ciphertext"))):
        yield {**SMALL, "ciphertext": flip(SMALL["ciphertext"], index, mask)}, everyone
    for slot, reader in enumerate(everyone):
        for index in range(48):
            changed = copy.deepcopy(SMALL)
            changed["recipients"][slot]["key"] = flip(changed["recipients"][slot]["key"], index, mask)
            yield changed, (reader,)


@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF])
def test_every_single_byte_tamper_fails_to_decrypt(mask):
    failures = 0
    for body, stopped in _tampered_bodies(mask):
        for reader in (ALICE, BOB):
            if reader in stopped:
                assert code_of(lambda: open_message(reader, ALICE.did, body)) == "decryption_failed"
                failures += 1
            else:  # only the other recipient's key entry changed: this reader's copy is intact
                assert open_message(reader, ALICE.did, body) == b"private terms: 1500 EUR"
    assert failures == 2 * (24 + 23 + 16) + 2 * 48


def test_an_outsider_cannot_open_even_with_a_copied_key_entry():
    stolen = copy.deepcopy(SMALL)
    stolen["recipients"].append({"to": DAVE.did, "key": SMALL["recipients"][1]["key"]})
    assert code_of(lambda: open_message(DAVE, ALICE.did, stolen)) == "decryption_failed"
    assert code_of(lambda: open_message(DAVE, ALICE.did, SMALL)) == "decryption_failed"


# --- the sender cannot be faked ------------------------------------------------------------------

def _content_key(reader: Identity, sender_did: str, body: dict) -> bytes:
    nonce, ciphertext, entries = parse_body(body)
    to = [did for did, _ in entries]
    wrapped = dict(entries)[reader.did]
    return sodium.crypto_box_open(wrapped, box_nonce(nonce, ciphertext, sender_did, to, reader.did),
                                  x25519_public_key(sender_did), x25519_secret_key(reader))


def test_a_recipient_cannot_swap_the_content_under_the_senders_name():
    body = seal(ALICE, [BOB.did, CAROL.did], b"price 100")
    content_key = _content_key(BOB, ALICE.did, body)  # Bob legitimately learns the content key
    nonce = b64url_decode(body["nonce"], "nonce")
    forged = {**body, "ciphertext": b64url_encode(sodium.crypto_secretbox(b"price 999", nonce, content_key))}
    assert code_of(lambda: open_message(CAROL, ALICE.did, forged)) == "decryption_failed"
    assert open_message(CAROL, ALICE.did, body) == b"price 100"


def test_a_recipient_cannot_drop_or_add_recipients_unnoticed():
    body = seal(ALICE, [BOB.did, CAROL.did], b"for both of you")
    dropped = {**body, "recipients": body["recipients"][1:]}
    added = {**body, "recipients": body["recipients"] + [{"to": DAVE.did, "key": body["recipients"][0]["key"]}]}
    for changed in (dropped, added):
        assert code_of(lambda: open_message(CAROL, ALICE.did, changed)) == "decryption_failed"


def test_a_message_cannot_be_passed_off_as_from_someone_else():
    bobs = seal(BOB, [CAROL.did], b"from bob")
    assert code_of(lambda: open_message(CAROL, ALICE.did, bobs)) == "decryption_failed"
    # Reflection: X25519 is symmetric, so Alice->Bob's shared key is also Bob->Alice's.
    to_bob = seal(ALICE, [BOB.did], b"to bob")
    reflected = {**to_bob, "recipients": [{"to": ALICE.did, "key": to_bob["recipients"][0]["key"]}]}
    assert code_of(lambda: open_message(ALICE, BOB.did, reflected)) == "decryption_failed"


def test_rewrapping_someone_elses_object_is_not_authorized():
    inner = envelope.sign(ALICE, "proposal", PROPOSAL, NOW)
    with pytest.raises(NotAuthorized):
        seal_object(DAVE, [BOB.did], inner, NOW)
    outer = envelope.sign(DAVE, "message", seal(DAVE, [BOB.did], inner.wire), NOW)
    with pytest.raises(NotAuthorized, match="carries an object by"):
        open_object(BOB, outer, NOW)


def test_open_object_rejects_what_is_not_a_single_canonical_object():
    inner = envelope.sign(ALICE, "proposal", PROPOSAL, NOW)
    loose = json.dumps(inner.as_dict(), indent=1).encode()
    for plaintext, code in ((loose, "invalid_body"), (b"not json", "malformed")):
        outer = envelope.sign(ALICE, "message", seal(ALICE, [BOB.did], plaintext), NOW)
        assert code_of(lambda: open_object(BOB, outer, NOW)) == code
    nested = seal_object(ALICE, [BOB.did], inner, NOW)
    double = envelope.sign(ALICE, "message", seal(ALICE, [BOB.did], nested.wire), NOW)
    with pytest.raises(InvalidBody, match="another message"):
        open_object(BOB, double, NOW)
    with pytest.raises(InvalidBody, match="not a message"):
        open_object(BOB, inner, NOW)


# --- shapes and encodings ------------------------------------------------------------------------

@given(st.binary(max_size=100))
def test_base64url_round_trips_without_padding(data):
    text = b64url_encode(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert b64url_decode(text, "x") == data


@pytest.mark.parametrize("text", ["AQ==", "AQ=", "A+8", "A/8", "AQ ", " AQ", "A", "AQID\n", "AR", "AQJ", 5, None])
def test_base64url_decoder_is_strict(text):
    with pytest.raises(InvalidBody):
        b64url_decode(text, "field")


def _with(**changes):
    body = copy.deepcopy(SMALL)
    body.update(changes)
    return body


@pytest.mark.parametrize("body", [
    [],
    {"recipients": SMALL["recipients"], "nonce": SMALL["nonce"]},
    _with(nonce=b64url_encode(bytes(23))),
    _with(ciphertext=b64url_encode(bytes(15))),
    _with(recipients=[]),
    _with(recipients={"to": BOB.did}),
    _with(recipients=[SMALL["recipients"][1], SMALL["recipients"][1]]),
    _with(recipients=[{"to": "did:key:zNot", "key": SMALL["recipients"][1]["key"]}]),
    _with(recipients=[{"to": BOB.did, "key": b64url_encode(bytes(47))}]),
    _with(recipients=[{"to": BOB.did}]),
], ids=lambda b: str(b)[:40])
def test_malformed_bodies_are_invalid_before_any_decryption(body):
    assert code_of(lambda: parse_body(body)) == "invalid_body"
    assert code_of(lambda: open_message(BOB, ALICE.did, body)) == "invalid_body"


def test_members_from_a_later_minor_version_are_ignored():
    body = _with(padding_hint=3)
    body["recipients"][1]["hint"] = "x"
    assert open_message(BOB, ALICE.did, body) == b"private terms: 1500 EUR"


def test_seal_rejects_bad_recipient_lists_and_random_sources():
    with pytest.raises(BadDid):
        seal(ALICE, ["did:web:example"], b"x")
    with pytest.raises(BadDid, match="usable"):  # the identity point: small order, no X25519 key
        seal(ALICE, [did_from_public_key(bytes([1]) + bytes(31))], b"x")
    with pytest.raises(InvalidBody, match="at least one"):
        seal(ALICE, [], b"x")
    with pytest.raises(InvalidBody, match="at most 20"):
        seal(ALICE, [Identity(bytes([n]) * 32).did for n in range(100, 121)], b"x")
    with pytest.raises(InvalidBody, match="only once"):
        seal(ALICE, [BOB.did, BOB.did], b"x")
    with pytest.raises(ValueError, match="wrong number of bytes"):
        seal(ALICE, [BOB.did], b"x", random=lambda n: bytes(n - 1))


def test_a_sealed_message_is_a_valid_message_object_body():
    outer = envelope.sign(ALICE, "message", SMALL, NOW)
    assert envelope.parse_object(outer.wire, NOW).body == SMALL
