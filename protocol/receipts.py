"""Inclusion receipts and dropped-object complaints (spec section 14.5).

A receipt is `{"hub", "object", "at", "sig"}`: the hub's Ed25519 signature
over the ASCII bytes of `"ki-receipt-v1:" + object + ":" + hub + ":" + at`
(`at` in decimal), saying "I, hub, held object at time at". Anyone verifies it
offline from the hub's did:key alone.

A complaint is `{"receipt", "object", "fetch": {"url", "status", "at"}}`: the
receipt, the signed object it names (so a reader can see the object is real
and was not retracted by its author in the complaint) and the failed fetch
of GET {url}/ki/v1/objects/{id} after the receipt (status 404). The fetch is
a claim that anyone can re-run against the hub; the rest verifies offline.
"""

import re
from typing import Any

from protocol.envelope import SignedObject, is_object_id, verify
from protocol.errors import BadReceipt, ProtocolError
from protocol.identity import Identity, is_did, verify_signature

RECEIPT_PREFIX = "ki-receipt-v1:"
_SIG = re.compile(r"[0-9a-f]{128}")
MAX_TIME = 2 ** 53 - 1


def receipt_message(hub: str, object_id: str, at: int) -> bytes:
    return f"{RECEIPT_PREFIX}{object_id}:{hub}:{at}".encode("ascii")


def sign_receipt(identity: Identity, object_id: str, at: int) -> dict[str, Any]:
    """The receipt `identity` (a hub) gives for holding `object_id` at `at`."""
    return {"hub": identity.did, "object": object_id, "at": at,
            "sig": identity.sign(receipt_message(identity.did, object_id, at)).hex()}


def verify_receipt(receipt: object, hub: str | None = None, object_id: str | None = None) -> dict[str, Any]:
    """`receipt` if it is a well-formed receipt whose signature verifies (by `hub`, for `object_id`
    when given); else `BadReceipt` saying what is wrong."""
    if not isinstance(receipt, dict) or set(receipt) != {"hub", "object", "at", "sig"}:
        raise BadReceipt('a receipt is a JSON object with exactly "hub", "object", "at" and "sig"')
    if not is_did(receipt["hub"]):
        raise BadReceipt("receipt.hub is not an Ed25519 did:key")
    if not is_object_id(receipt["object"]):
        raise BadReceipt("receipt.object is not an object id (64 lowercase hex digits)")
    at = receipt["at"]
    if type(at) is not int or not 0 <= at <= MAX_TIME:
        raise BadReceipt("receipt.at is not a timestamp (an integer of Unix seconds)")
    if not isinstance(receipt["sig"], str) or not _SIG.fullmatch(receipt["sig"]):
        raise BadReceipt("receipt.sig is not 128 lowercase hex digits")
    if hub is not None and receipt["hub"] != hub:
        raise BadReceipt(f"the receipt is by {receipt['hub']}, not {hub}")
    if object_id is not None and receipt["object"] != object_id:
        raise BadReceipt(f"the receipt names {receipt['object']}, not {object_id}")
    message = receipt_message(receipt["hub"], receipt["object"], at)
    if not verify_signature(receipt["hub"], message, bytes.fromhex(receipt["sig"])):
        raise BadReceipt(f"the receipt's signature does not verify under {receipt['hub']}")
    return receipt


def complaint(receipt: dict[str, Any], obj: SignedObject, url: str, status: int, at: int) -> dict[str, Any]:
    """A dropped-object complaint: the receipt, the object, and the failed fetch."""
    return {"receipt": receipt, "object": obj.as_dict(), "fetch": {"url": url, "status": status, "at": at}}


def verify_complaint(document: object, now: int) -> SignedObject:
    """The object of a complaint whose parts verify offline; `BadReceipt` otherwise.

    Verifies: the receipt; the object (envelope and signature, at `now`) and
    that its id is the receipt's; that the object is not a `retract` or key
    rotation (those are never "dropped"); and that the recorded fetch was a
    404 made after the receipt's time.
    """
    if not isinstance(document, dict) or set(document) != {"receipt", "object", "fetch"}:
        raise BadReceipt('a complaint is a JSON object with exactly "receipt", "object" and "fetch"')
    receipt = verify_receipt(document["receipt"])
    try:
        obj = verify(document["object"], now)
    except ProtocolError as error:
        raise BadReceipt(f"complaint.object does not verify: {error.detail} [{error.code}]") from None
    if obj.id != receipt["object"]:
        raise BadReceipt(f"complaint.object is {obj.id}, but the receipt names {receipt['object']}")
    fetch = document["fetch"]
    if not isinstance(fetch, dict) or set(fetch) != {"url", "status", "at"} or not isinstance(fetch["url"], str):
        raise BadReceipt('complaint.fetch is a JSON object with exactly "url", "status" and "at"')
    if fetch["status"] != 404:
        raise BadReceipt(f"complaint.fetch.status is {fetch['status']!r}: only a 404 shows the object was dropped")
    if type(fetch["at"]) is not int or fetch["at"] < receipt["at"]:
        raise BadReceipt("complaint.fetch.at is not a time at or after the receipt's")
    return obj
