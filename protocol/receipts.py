"""Inclusion receipts and dropped-object complaints (spec section 14.5).

A hub signs ONE receipt per inbox answer: its Ed25519 signature over the ASCII
bytes of `"ki-receipt-v2:" + root + ":" + hub + ":" + at`, where `root` is the
Merkle root (SHA-256) of the ids it holds from that batch. Each object's
receipt is `{"hub", "object", "at", "root", "path", "sig"}`: the shared root
and signature, and the path of sibling hashes from the object's leaf up to the
root, so anyone verifies it offline from the hub's did:key alone, without the
rest of the batch. A batch of one has an empty path (root = the leaf hash).

The tree: leaf = SHA-256(0x00 || the id's 32 bytes), node = SHA-256(0x01 ||
left || right) (distinct prefixes, so no inner node passes for a leaf); the
leaves are the batch's distinct held ids in ascending order; each level pairs
its nodes left to right and an odd last node is promoted unchanged to the next
level (no sibling, no path entry). A path entry is "L" or "R" (the side the
sibling sits on) followed by the sibling's 64 lowercase hex digits.

A complaint is `{"receipt", "object", "fetch": {"url", "status", "at"}}`: the
receipt, the signed object it names (so a reader can see the object is real
and was not retracted by its author in the complaint) and the failed fetch
of GET {url}/ki/v1/objects/{id} after the receipt (status 404). The fetch is
a claim that anyone can re-run against the hub; the rest verifies offline.
"""

import functools
import hashlib
import re
from collections.abc import Iterable
from typing import Any

from protocol.envelope import SignedObject, is_object_id, verify
from protocol.errors import BadReceipt, ProtocolError
from protocol.identity import Identity, is_did, verify_signature

RECEIPT_PREFIX = "ki-receipt-v2:"
RECEIPT_MEMBERS = frozenset({"hub", "object", "at", "root", "path", "sig"})
LEAF_PREFIX, NODE_PREFIX = b"\x00", b"\x01"
MAX_PATH = 64  # a tree of 2^64 leaves; any real batch is far below (500 objects: 9 entries)
_SIG = re.compile(r"[0-9a-f]{128}")
_ROOT = re.compile(r"[0-9a-f]{64}")
_ENTRY = re.compile(r"[LR][0-9a-f]{64}")
MAX_TIME = 2 ** 53 - 1


def leaf_hash(object_id: str) -> bytes:
    """The Merkle leaf of an object id: SHA-256(0x00 || its 32 bytes)."""
    return hashlib.sha256(LEAF_PREFIX + bytes.fromhex(object_id)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An inner Merkle node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def receipt_message(hub: str, root: str, at: int) -> bytes:
    """The bytes a hub signs for one inbox answer."""
    return f"{RECEIPT_PREFIX}{root}:{hub}:{at}".encode("ascii")


def merkle_tree(object_ids: Iterable[str]) -> tuple[str, dict[str, list[str]]]:
    """The root (hex) over the distinct `object_ids` and each id's path to it.

    Every node's path entry is built once per level and shared by the paths
    that pass it: a batch of n costs about 2n hashes and n·log2(n) list appends.
    """
    leaves = sorted(set(object_ids))
    if not leaves:
        raise ValueError("a Merkle tree needs at least one id")
    level = [leaf_hash(i) for i in leaves]
    paths: dict[str, list[str]] = {i: [] for i in leaves}
    members = [[i] for i in leaves]  # the leaves under each node of the current level
    while len(level) > 1:
        upper, upper_members = [], []
        for j in range(0, len(level) - 1, 2):
            left, right = level[j], level[j + 1]
            for i in members[j]:
                paths[i].append("R" + right.hex())
            for i in members[j + 1]:
                paths[i].append("L" + left.hex())
            upper.append(node_hash(left, right))
            upper_members.append(members[j] + members[j + 1])
        if len(level) % 2:  # the odd last node goes up unchanged
            upper.append(level[-1])
            upper_members.append(members[-1])
        level, members = upper, upper_members
    return level[0].hex(), paths


def sign_receipts(identity: Identity, object_ids: Iterable[str], at: int) -> dict[str, dict[str, Any]]:
    """Receipts for every one of `object_ids` that `identity` (a hub) holds at `at`: one signature
    over their Merkle root, one path each. Keyed by object id."""
    root, paths = merkle_tree(object_ids)
    sig = identity.sign(receipt_message(identity.did, root, at)).hex()
    return {i: {"hub": identity.did, "object": i, "at": at, "root": root, "path": path, "sig": sig}
            for i, path in paths.items()}


def sign_receipt(identity: Identity, object_id: str, at: int) -> dict[str, Any]:
    """The receipt for a batch of one: an empty path, the root is the object's leaf."""
    return sign_receipts(identity, [object_id], at)[object_id]


def root_from_path(object_id: str, path: list[str]) -> str:
    """The root that `path` leads to from `object_id`'s leaf (hex)."""
    running = leaf_hash(object_id)
    for entry in path:
        sibling = bytes.fromhex(entry[1:])
        running = node_hash(sibling, running) if entry[0] == "L" else node_hash(running, sibling)
    return running.hex()


def check_receipt(receipt: object, hub: str | None = None, object_id: str | None = None) -> dict[str, Any]:
    """`receipt` if it is well formed and its path leads from its object to its root (by `hub`, for
    `object_id` when given); else `BadReceipt`. Everything `verify_receipt` checks but the signature."""
    if not isinstance(receipt, dict) or set(receipt) != RECEIPT_MEMBERS:
        raise BadReceipt('a receipt is a JSON object with exactly "hub", "object", "at", "root", "path" and "sig"')
    if not is_did(receipt["hub"]):
        raise BadReceipt("receipt.hub is not an Ed25519 did:key")
    if not is_object_id(receipt["object"]):
        raise BadReceipt("receipt.object is not an object id (64 lowercase hex digits)")
    at = receipt["at"]
    if type(at) is not int or not 0 <= at <= MAX_TIME:
        raise BadReceipt("receipt.at is not a timestamp (an integer of Unix seconds)")
    if not isinstance(receipt["root"], str) or not _ROOT.fullmatch(receipt["root"]):
        raise BadReceipt("receipt.root is not 64 lowercase hex digits")
    path = receipt["path"]
    if not isinstance(path, list) or len(path) > MAX_PATH or \
            not all(isinstance(e, str) and _ENTRY.fullmatch(e) for e in path):
        raise BadReceipt(f'receipt.path is not a list of at most {MAX_PATH} entries, each "L" or "R" and 64 '
                         "lowercase hex digits")
    if not isinstance(receipt["sig"], str) or not _SIG.fullmatch(receipt["sig"]):
        raise BadReceipt("receipt.sig is not 128 lowercase hex digits")
    if hub is not None and receipt["hub"] != hub:
        raise BadReceipt(f"the receipt is by {receipt['hub']}, not {hub}")
    if object_id is not None and receipt["object"] != object_id:
        raise BadReceipt(f"the receipt names {receipt['object']}, not {object_id}")
    if root_from_path(receipt["object"], path) != receipt["root"]:
        raise BadReceipt("the receipt's path does not lead from its object to its root")
    return receipt


@functools.lru_cache(maxsize=64)
def root_signature_holds(hub: str, root: str, at: int, sig: str) -> bool:
    """Whether `sig` is `hub`'s signature over the receipt message for `root` at `at`. Cached: the
    receipts of one inbox answer share their root and signature, so it is verified once for all."""
    return verify_signature(hub, receipt_message(hub, root, at), bytes.fromhex(sig))


def verify_receipt(receipt: object, hub: str | None = None, object_id: str | None = None) -> dict[str, Any]:
    """`receipt` if it is a valid receipt (well formed, its path leads to its root, the hub's signature
    over the root verifies; by `hub`, for `object_id` when given); else `BadReceipt` saying what is wrong."""
    receipt = check_receipt(receipt, hub, object_id)
    if not root_signature_holds(receipt["hub"], receipt["root"], receipt["at"], receipt["sig"]):
        raise BadReceipt(f"the receipt's signature does not verify under {receipt['hub']}")
    return receipt


def complaint(receipt: dict[str, Any], obj: SignedObject, url: str, status: int, at: int) -> dict[str, Any]:
    """A dropped-object complaint: the receipt, the object, and the failed fetch."""
    return {"receipt": receipt, "object": obj.as_dict(), "fetch": {"url": url, "status": status, "at": at}}


def verify_complaint(document: object, now: int) -> SignedObject:
    """The object of a complaint whose parts verify offline; `BadReceipt` otherwise.

    Verifies: the receipt; the object (envelope and signature, at `now`) and
    that its id is the receipt's; and that the recorded fetch was a 404 made
    at or after the receipt's time.
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
