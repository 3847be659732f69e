"""Generate specs/vectors/encryption.json: test vectors for `message` encryption.

Everything derives from fixed seeds, so running this again writes the same
file. The test (tests/protocol/test_message.py) reads the committed file and
never regenerates it.

    python specs/gen_encryption_vectors.py
"""

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

from protocol import envelope
from protocol.identity import Identity
from protocol.message import (
    b64url_decode, b64url_encode, box_nonce, seal, seal_object, x25519_public_key,
    x25519_secret_key,
)

OUTPUT = Path(__file__).parent / "vectors" / "encryption.json"
RANDOM_SEED = "ki-message-v1 test vectors/"  # + the message label
CREATED_AT = 1767225600  # 2026-01-01T00:00:00Z
NAMES = {"alice": 1, "bob": 2, "carol": 3, "dave": 4}
INNER_BODY = {
    "target": "ab" * 32, "category": "web-design",
    "price": {"amount": "100.00", "currency": "EUR"}, "message": "hello",
}


class CounterStream:
    """The vectors' "random" source: SHA-256(seed || uint32_be(i)) for i = 0, 1, ... concatenated."""

    def __init__(self, seed: str):
        self.seed = seed.encode("utf-8")
        self.buffer = b""
        self.counter = 0
        self.taken: list[bytes] = []

    def __call__(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self.buffer += hashlib.sha256(self.seed + self.counter.to_bytes(4, "big")).digest()
            self.counter += 1
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        self.taken.append(out)
        return out


def identity(name: str) -> Identity:
    return Identity(bytes([NAMES[name]]) * 32)


def participant(name: str) -> dict[str, str]:
    who = identity(name)
    return {
        "name": name, "seed": who.seed.hex(), "did": who.did,
        "ed25519_public": who.public_key.hex(),
        "x25519_public": x25519_public_key(who.did).hex(),
        "x25519_secret": x25519_secret_key(who).hex(),
    }


def _flip(text: str, index: int) -> str:
    """Base64url of the decoded bytes with byte `index` XORed with 0x01."""
    data = bytearray(b64url_decode(text, "vector field"))
    data[index] ^= 0x01
    return b64url_encode(bytes(data))


def _sealed(label: str, sender: str, recipients: list[str], plaintext: bytes) -> dict[str, Any]:
    """One sealed message with the intermediate values an implementer can check."""
    stream = CounterStream(RANDOM_SEED + label)
    to = [identity(r).did for r in recipients]
    body = seal(identity(sender), to, plaintext, random=stream)
    nonce = b64url_decode(body["nonce"], "nonce")
    ciphertext = b64url_decode(body["ciphertext"], "ciphertext")
    return {
        "sender": sender, "recipients": recipients,
        "random_seed": RANDOM_SEED + label,
        "random": [chunk.hex() for chunk in stream.taken],
        "plaintext": plaintext.hex(),
        "ciphertext_sha256": hashlib.sha256(ciphertext).hexdigest(),
        "box_nonces": [{"to": did, "nonce": box_nonce(nonce, ciphertext, identity(sender).did, to, did).hex()}
                       for did in to],
        "body": body,
    }


def _open(name: str, description: str, message: str, body: dict[str, Any], reader: str, *,
          claimed_sender: str = "alice", expect: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "description": description, "message": message, "kind": "body",
            "open": {"reader": reader, "claimed_sender": identity(claimed_sender).did,
                     "body": body, "expect": expect}}


def encryption_vectors() -> dict[str, Any]:
    """All encryption vectors, as written to specs/vectors/encryption.json."""
    inner = envelope.sign(identity("alice"), "proposal", INNER_BODY, CREATED_AT)
    m1 = _sealed("m1", "alice", ["alice", "bob", "carol"], inner.wire)
    body = m1["body"]

    def altered(field: str, index: int) -> dict[str, Any]:
        changed = copy.deepcopy(body)
        if field == "key":
            changed["recipients"][1]["key"] = _flip(changed["recipients"][1]["key"], index)
        else:
            changed[field] = _flip(changed[field], index)
        return changed

    without_carol = copy.deepcopy(body)
    del without_carol["recipients"][2]
    padded = copy.deepcopy(body)
    padded["nonce"] += "=="  # 24 bytes spell as 32 characters; any padding is an error
    plain = {"plaintext": m1["plaintext"]}
    failed = {"error": "decryption_failed"}
    vectors = [
        _open("bob_opens", "Bob, a recipient, opens Alice's message.", "m1", body, "bob", expect=plain),
        _open("carol_opens", "Carol, a recipient, opens the same message.", "m1", body, "carol", expect=plain),
        _open("sender_copy", "Alice listed herself and opens her own copy.", "m1", body, "alice", expect=plain),
        _open("outsider", "Dave is not listed: not addressed to him.", "m1", body, "dave", expect=failed),
        _open("wrong_sender", "Bob is told Carol sent it: the box does not open.", "m1", body, "bob",
              claimed_sender="carol", expect=failed),
        _open("tampered_ciphertext", "Last ciphertext byte XOR 0x01.", "m1", altered("ciphertext", -1),
              "bob", expect=failed),
        _open("tampered_key", "First byte of Bob's wrapped key XOR 0x01.", "m1", altered("key", 0),
              "bob", expect=failed),
        _open("tampered_nonce", "First nonce byte XOR 0x01.", "m1", altered("nonce", 0), "bob", expect=failed),
        _open("recipient_removed", "Carol's entry removed: the recipient list is bound.", "m1",
              without_carol, "bob", expect=failed),
        _open("padded_nonce", "The nonce carries base64 padding.", "m1", padded, "bob",
              expect={"error": "invalid_body"}),
    ]
    messages = {"m1": m1}
    _add_object_vectors(inner, messages, vectors)
    return {
        "description": "ki message encryption (specs/protocol.md, section encryption). "
                       "Generated by specs/gen_encryption_vectors.py.",
        "random_source": "per message: SHA-256(UTF-8 random_seed || uint32_be(i)) for i = 0, 1, ... "
                         "concatenated; seal takes the content key (32 bytes), then the nonce (24 bytes).",
        "participants": {name: participant(name) for name in NAMES},
        "inner_object": inner.as_dict(),
        "messages": messages,
        "vectors": vectors,
    }


def _add_object_vectors(inner: envelope.SignedObject, messages: dict[str, Any], vectors: list[Any]) -> None:
    to = [identity(n).did for n in ("alice", "bob")]
    outer = seal_object(identity("alice"), to, inner, CREATED_AT, random=CounterStream(RANDOM_SEED + "m2"))
    # Dave re-wraps Alice's proposal as his own; seal_object refuses, so build it by hand.
    rewrapped_body = seal(identity("dave"), to, inner.wire, random=CounterStream(RANDOM_SEED + "m3"))
    rewrapped = envelope.sign(identity("dave"), "message", rewrapped_body, CREATED_AT)
    for label, sender, obj in (("m2", "alice", outer), ("m3", "dave", rewrapped)):
        messages[label] = _sealed(label, sender, ["alice", "bob"], inner.wire)
        assert messages[label]["body"] == obj.body
        messages[label]["created_at"] = CREATED_AT
        messages[label]["object"] = obj.as_dict()  # the signed outer envelope the object vectors open
    vectors += [
        {"name": "object_bob_opens", "description": "Bob opens Alice's message object and gets her proposal.",
         "message": "m2", "kind": "object",
         "open": {"reader": "bob", "now": CREATED_AT,
                  "expect": {"inner_id": inner.id, "inner_wire": inner.wire.decode("utf-8")}}},
        {"name": "object_rewrapped", "description": "Dave sends Alice's proposal as his own: not_authorized.",
         "message": "m3", "kind": "object",
         "open": {"reader": "bob", "now": CREATED_AT,
                  "expect": {"error": "not_authorized"}}},
    ]


if __name__ == "__main__":
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(encryption_vectors(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT}")
