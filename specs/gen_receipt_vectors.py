"""Generate specs/vectors/receipts.json: batched inclusion receipts (section 14.5) as data.

A fixed hub key signs batches of 1 to 9 ids and one of 17 (every way a level
can end with an odd node), one with a repeated id; each batch vector lists the
leaf hashes, the root, the signed text, the signature and every receipt. The
refusal vectors are receipts of those batches altered one way each.

    python specs/generate_vectors.py   (writes every vector file)
"""

import hashlib
from typing import Any

from protocol.identity import Identity
from protocol.receipts import leaf_hash, receipt_message, sign_receipts

AT = 1767225600  # 2026-01-01T00:00:00Z
HUB = Identity(bytes([2]) * 32)  # bob of section 1
ALICE = Identity(bytes([1]) * 32)
SIZES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 17)


def held_id(n: int) -> str:
    """A stand-in object id: SHA-256 of a label (the ids need not be of real objects)."""
    return hashlib.sha256(f"held object {n}".encode()).hexdigest()


def batch_vector(name: str, ids: list[str]) -> dict[str, Any]:
    signed = sign_receipts(HUB, ids, AT)
    leaves = sorted(signed)
    root = signed[leaves[0]]["root"]
    return {"name": name, "ids": ids,
            "leaves": [{"id": i, "hash": leaf_hash(i).hex()} for i in leaves],
            "root": root, "message": receipt_message(HUB.did, root, AT).decode("ascii"),
            "sig": signed[leaves[0]]["sig"], "receipts": [signed[i] for i in leaves]}


def refusal_vectors(five: dict[str, Any], nine: dict[str, Any]) -> list[dict[str, Any]]:
    receipt = five["receipts"][4]  # the promoted last leaf: a path of 1 entry
    inner = nine["receipts"][2]    # a full path of 4 entries
    other = five["receipts"][0]
    v1_sig = HUB.sign(f"ki-receipt-v1:{other['object']}:{HUB.did}:{AT}".encode("ascii")).hex()
    entry = inner["path"][1]
    flipped = ("R" if entry[0] == "L" else "L") + entry[1:]
    cases = [
        ("moved to another id of the batch", {**receipt, "object": other["object"]}),
        ("at changed", {**inner, "at": AT + 1}),
        ("the root of another batch, with this batch's signature", {**inner, "root": five["root"]}),
        ("another batch's signature", {**inner, "sig": five["sig"]}),
        ("a path entry on the wrong side", {**inner, "path": inner["path"][:1] + [flipped] + inner["path"][2:]}),
        ("a path entry dropped", {**inner, "path": inner["path"][:-1]}),
        ("a path entry added", {**receipt, "path": receipt["path"] + receipt["path"]}),
        ("an empty path for an object of a batch of five", {**other, "path": []}),
        ("claimed by another hub", {**inner, "hub": ALICE.did}),
        ("the v1 form (one signature per object, no root or path)",
         {"hub": HUB.did, "object": other["object"], "at": AT, "sig": v1_sig}),
        ("root in upper-case hex", {**inner, "root": inner["root"].upper()}),
        ("a path entry that is neither L nor R", {**inner, "path": ["X" + entry[1:]] + inner["path"][1:]}),
        ("an extra member", {**inner, "batch": 9}),
        ("at is not an integer", {**inner, "at": str(AT)}),
    ]
    return [{"name": f"refused/{name}", "receipt": bad, "why": name, "error": "bad_receipt"} for name, bad in cases]


def receipt_vectors() -> dict[str, Any]:
    batches = [batch_vector(f"batch of {n}", [held_id(k) for k in range(n)]) for n in SIZES]
    repeated = [held_id(20), held_id(21), held_id(20)]  # a result repeated in one answer is one leaf
    batches.append(batch_vector("batch of 3 results holding 2 distinct ids", repeated))
    five, nine = batches[SIZES.index(5)], batches[SIZES.index(9)]
    return {"description": "Batched inclusion receipts (protocol.md section 14.5): one hub signature per inbox "
                           "answer over the Merkle root of the ids it holds, one path per object.",
            "hub": {"seed": "02" * 32, "did": HUB.did}, "at": AT,
            "vectors": batches + refusal_vectors(five, nine)}
