"""Signed objects for storage tests, from fixed seeds so every run sees the same ids."""

import hashlib

from protocol import canonical
from protocol.envelope import SIGNATURE_CONTEXT, VERSION, SignedObject, object_id, sign
from protocol.identity import Identity

T0 = 1_700_000_000


def identity(name: str) -> Identity:
    return Identity(hashlib.sha256(f"kinode-storage-test:{name}".encode()).digest())


def offer(who: Identity, title: str, created_at: int = T0, category: str = "web-design") -> SignedObject:
    return sign(who, "offer", {
        "category": category, "title": title, "description": f"{title}, done well.",
        "price": {"amount": "500.00", "currency": "EUR"}, "unit": "fixed"}, created_at)


def profile(who: Identity, name: str, created_at: int = T0) -> SignedObject:
    return sign(who, "profile", {"name": name, "bio": f"{name} designs things."}, created_at)


def retract(who: Identity, target: str, created_at: int = T0 + 10) -> SignedObject:
    return sign(who, "retract", {"target": target}, created_at)


def rotation(who: Identity, successor: Identity, created_at: int) -> SignedObject:
    if who == successor:  # invalid_body, which `sign` refuses to make: sign it unchecked
        return unchecked(who, "key_rotation", {"successor": successor.did}, created_at)
    return sign(who, "key_rotation", {"successor": successor.did}, created_at)


def unchecked(who: Identity, type_: str, body: dict, created_at: int) -> SignedObject:
    """A genuinely signed object whose body is not validated, for objects a store must reject."""
    unsigned = {"v": VERSION, "type": type_, "author": who.did, "created_at": created_at, "body": body}
    obj_id = object_id(unsigned)
    sig = who.sign(SIGNATURE_CONTEXT + obj_id.encode()).hex()
    return SignedObject(obj_id, type_, who.did, created_at, body, sig,
                        canonical.canonical({**unsigned, "id": obj_id, "sig": sig}))
