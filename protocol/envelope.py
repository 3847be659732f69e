"""The signed-object envelope: build, sign, parse and verify.

An object is a JSON object with exactly the members v, type, author,
created_at, body, id and sig. `id` is the SHA-256 of the canonical bytes of
the envelope without id and sig; `sig` is the author's Ed25519 signature over
"ki-object-v1:" + id. Verification runs the checks in the order the spec
fixes, so every implementation reports the same code for the same input.
"""

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Mapping

from protocol import canonical
from protocol.bodies import BODY_TYPES, check_body, passes_body
from protocol.errors import (
    BadDid, BadId, BadSignature, ClockSkew, Malformed, TooLarge, UnknownType,
    UnsupportedVersion,
)
from protocol.identity import Identity, public_key_of, signature_valid

VERSION = 1
MAX_OBJECT_BYTES = 64 * 1024
MAX_CLOCK_SKEW = 600
SIGNATURE_CONTEXT = b"ki-object-v1:"
ENVELOPE_KEYS = frozenset({"v", "type", "author", "created_at", "body", "id", "sig"})
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ID_AND_SIG_LENGTH = len(b',"id":"' + b"0" * 64 + b'","sig":"' + b"0" * 128 + b'"')


@dataclass(frozen=True)
class SignedObject:
    """A verified object. `wire` is its canonical encoding, the bytes nodes serve."""

    id: str
    type: str
    author: str
    created_at: int
    body: Mapping[str, Any]
    sig: str
    wire: bytes

    @property
    def category(self) -> str | None:
        """The category slug this object is filed under, if its type has one."""
        value = self.body.get("category")
        return value if isinstance(value, str) else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "v": VERSION, "type": self.type, "author": self.author,
            "created_at": self.created_at, "body": dict(self.body),
            "id": self.id, "sig": self.sig,
        }


def built(value: Mapping[str, Any], wire: bytes) -> SignedObject:
    """The SignedObject of an envelope `value` already verified (here, by a worker, or when it was
    stored), with its canonical bytes: no check. What the frozen dataclass's __init__ does, in one
    step instead of seven object.__setattr__ calls (a tenth of validation's own budget)."""
    obj = object.__new__(SignedObject)
    object.__setattr__(obj, "__dict__", {"id": value["id"], "type": value["type"], "author": value["author"],
                                         "created_at": value["created_at"], "body": value["body"],
                                         "sig": value["sig"], "wire": wire})
    return obj


def is_object_id(value: object) -> bool:
    """Whether `value` is shaped like an object id (64 lowercase hex digits)."""
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def signing_bytes(unsigned: Mapping[str, Any]) -> bytes:
    """Canonical bytes of the envelope without `id` and `sig`: what the id hashes."""
    return canonical.encode({k: v for k, v in unsigned.items() if k not in ("id", "sig")})


def object_id(unsigned: Mapping[str, Any]) -> str:
    return hashlib.sha256(signing_bytes(unsigned)).hexdigest()


def sign(identity: Identity, type_: str, body: Mapping[str, Any], created_at: int) -> SignedObject:
    """Build and sign an object; raises the same errors `verify` would."""
    unsigned = {"v": VERSION, "type": type_, "author": identity.did,
                "created_at": created_at, "body": dict(body)}
    canonical.canonical(unsigned)  # floats, big ints, bad keys: fail here, not on the wire
    obj_id = object_id(unsigned)
    sig = identity.sign(SIGNATURE_CONTEXT + obj_id.encode("ascii")).hex()
    return verify({**unsigned, "id": obj_id, "sig": sig}, now=created_at)


def parse_object(raw: bytes | str, now: int) -> SignedObject:
    """Parse JSON text and verify it as an object (see `verify`)."""
    value, wire = canonical.parse_canonical(raw)
    return verify(value, now, wire=wire)


def verify(value: Any, now: int, *, wire: bytes | None = None) -> SignedObject:
    """Verify a parsed object at time `now` (Unix seconds).

    Check order (the spec fixes it): too_large, malformed envelope,
    unsupported_version, bad_did, unknown_type, bad_id, bad_signature,
    clock_skew, invalid_body.
    The last two are decided before the signature check, where they cost
    less, and raised after it, so the reported code follows this order.

    `wire` saves encoding the object again when the caller has its canonical
    bytes from `canonical.parse_canonical` or `canonical.parse_batch`; it
    MUST be exactly `canonical.encode(value)`, since the id is checked on it.
    """
    if not isinstance(value, dict):
        raise Malformed("an object must be a JSON object")
    if wire is None:
        wire = canonical.encode(value)
    if len(wire) > MAX_OBJECT_BYTES:
        raise TooLarge(f"object is {len(wire)} bytes canonical; the limit is {MAX_OBJECT_BYTES}")
    signature = _check_shape(value)
    if value["v"] != VERSION:
        raise UnsupportedVersion(f"version {value['v']} is not supported (this node speaks {VERSION})")
    author = value["author"]
    public_key = public_key_of(author)  # a str: `_check_shape` saw to it
    type_ = value["type"]
    body_type = BODY_TYPES.get(type_)
    if body_type is None:
        raise UnknownType(f"unknown object type {type_!r}")
    obj_id = value["id"]
    if _id_of_wire(wire) != obj_id:
        raise BadId("id is not the SHA-256 of the canonical envelope")
    # clock_skew and invalid_body rank below bad_signature, so they are raised after
    # the signature check, but decided before it: libsodium's verify evicts the
    # interpreter's working set from the core's caches, and the same Python code
    # run after it costs about half as much again (bench/protocol_bench.py).
    created_at, body = value["created_at"], value["body"]
    body_passes = passes_body(body_type, body, created_at, author)
    verified = built(value, wire)
    if not signature_valid(public_key, SIGNATURE_CONTEXT + obj_id.encode("ascii"), signature):
        raise BadSignature("signature does not verify against the author's key")
    if created_at > now + MAX_CLOCK_SKEW:
        raise ClockSkew(f"created_at is {created_at - now} s in the future; at most {MAX_CLOCK_SKEW} s is allowed")
    if not body_passes:
        check_body(body_type, body, created_at, author)  # raises the InvalidBody that names the field
    return verified


def _id_of_wire(wire: bytes) -> str:
    """The SHA-256 of `signing_bytes`, cut out of the wire form instead of encoding the envelope twice.

    Canonical member order is author, body, created_at, id, sig, type, v, so id
    and sig sit side by side after the body, with their lengths fixed by the
    shape check. The last `,"id":"` is theirs: a JSON string cannot contain
    its unescaped quotes, and the members after it hold none.
    """
    at = wire.rfind(b',"id":"')
    digest = hashlib.sha256(wire[:at])
    digest.update(wire[at + _ID_AND_SIG_LENGTH:])
    return digest.hexdigest()


def _check_shape(value: dict[str, Any]) -> bytes:
    """Raise `Malformed` (or `BadDid`) unless the envelope has its members with their JSON types;
    return the signature's bytes."""
    keys = value.keys()
    if keys != ENVELOPE_KEYS:
        missing = sorted(ENVELOPE_KEYS - keys)
        extra = sorted(keys - ENVELOPE_KEYS)
        raise Malformed(f"envelope members wrong: missing {missing}, unexpected {extra}")
    if type(value["v"]) is not int:
        raise Malformed("v must be an integer")
    if not isinstance(value["type"], str):
        raise Malformed("type must be a string")
    if not isinstance(value["author"], str):
        raise BadDid("author must be a did:key string")
    created_at = value["created_at"]
    if type(created_at) is not int or created_at < 0:
        raise Malformed("created_at must be a non-negative integer (Unix seconds)")
    if not isinstance(value["body"], dict):
        raise Malformed("body must be a JSON object")
    # bytes.fromhex alone would also take capitals and spaces; spelling the bytes
    # back and comparing rules them out, and costs less than a regex
    obj_id = value["id"]
    try:
        if not (isinstance(obj_id, str) and len(obj_id) == 64 and bytes.fromhex(obj_id).hex() == obj_id):
            raise ValueError
    except ValueError:
        raise Malformed("id must be 64 lowercase hex digits") from None
    sig = value["sig"]
    try:
        if isinstance(sig, str) and len(sig) == 128 and (signature := bytes.fromhex(sig)).hex() == sig:
            return signature
    except ValueError:
        pass
    raise Malformed("sig must be 128 lowercase hex digits")
