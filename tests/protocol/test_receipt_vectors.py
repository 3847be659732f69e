"""specs/vectors/receipts.json holds for our implementation AND for a verifier written from spec section
14.5 alone (hashlib and libsodium, nothing of protocol.receipts), so an outsider can check the vectors."""

import hashlib
import json
import pathlib
import re

import nacl.bindings
import nacl.exceptions
import pytest

from protocol.errors import BadReceipt
from protocol.identity import Identity, public_key_from_did
from protocol.receipts import sign_receipts, verify_receipt

FILE = json.loads((pathlib.Path(__file__).resolve().parents[2] / "specs" / "vectors" / "receipts.json").read_text())
BATCHES = [pytest.param(v, id=v["name"]) for v in FILE["vectors"] if "ids" in v]
REFUSALS = [pytest.param(v, id=v["name"]) for v in FILE["vectors"] if "receipt" in v]


def outsider_tree(ids: list[str]) -> tuple[list[bytes], bytes]:
    """Leaves and root by the words of 14.5: distinct ids ascending, 0x00/0x01 prefixes, odd node promoted."""
    leaves = [hashlib.sha256(b"\x00" + bytes.fromhex(i)).digest() for i in sorted(set(ids))]
    level = leaves
    while len(level) > 1:
        pairs = [hashlib.sha256(b"\x01" + level[j] + level[j + 1]).digest() for j in range(0, len(level) - 1, 2)]
        level = pairs + ([level[-1]] if len(level) % 2 else [])
    return leaves, level[0]


def outsider_valid(receipt: object) -> bool:
    """Whether a receipt is valid per the MUST list of 14.5."""
    if not isinstance(receipt, dict) or set(receipt) != {"hub", "object", "at", "root", "path", "sig"}:
        return False
    hub, obj, at, root, path, sig = (receipt[k] for k in ("hub", "object", "at", "root", "path", "sig"))
    hexed = (lambda value, n: isinstance(value, str) and re.fullmatch(f"[0-9a-f]{{{n}}}", value) is not None)
    if not (isinstance(hub, str) and hub.startswith("did:key:z6Mk") and hexed(obj, 64) and type(at) is int
            and at >= 0 and hexed(root, 64) and hexed(sig, 128) and isinstance(path, list) and len(path) <= 64
            and all(isinstance(e, str) and e[:1] in ("L", "R") and hexed(e[1:], 64) for e in path)):
        return False
    running = hashlib.sha256(b"\x00" + bytes.fromhex(obj)).digest()
    for entry in path:
        sibling = bytes.fromhex(entry[1:])
        running = hashlib.sha256(b"\x01" + (sibling + running if entry[0] == "L" else running + sibling)).digest()
    if running.hex() != root:
        return False
    try:
        nacl.bindings.crypto_sign_open(bytes.fromhex(sig) + f"ki-receipt-v2:{root}:{hub}:{at}".encode("ascii"),
                                       public_key_from_did(hub))
    except (nacl.exceptions.BadSignatureError, ValueError):
        return False
    return True


def test_the_file_names_its_hub_key():
    assert Identity(bytes.fromhex(FILE["hub"]["seed"])).did == FILE["hub"]["did"]


@pytest.mark.parametrize("vector", BATCHES)
def test_a_batch_vector_rebuilds_and_every_receipt_verifies(vector: dict):
    leaves, root = outsider_tree(vector["ids"])
    assert [leaf["hash"] for leaf in vector["leaves"]] == [h.hex() for h in leaves]
    assert [leaf["id"] for leaf in vector["leaves"]] == sorted(set(vector["ids"]))
    assert vector["root"] == root.hex()
    assert vector["message"] == f"ki-receipt-v2:{root.hex()}:{FILE['hub']['did']}:{FILE['at']}"
    assert [r["object"] for r in vector["receipts"]] == sorted(set(vector["ids"]))
    for receipt in vector["receipts"]:
        assert outsider_valid(receipt) and receipt["sig"] == vector["sig"] and receipt["root"] == vector["root"]
        assert verify_receipt(receipt, hub=FILE["hub"]["did"]) == receipt
    hub = Identity(bytes.fromhex(FILE["hub"]["seed"]))
    assert sorted(sign_receipts(hub, vector["ids"], FILE["at"]).values(), key=lambda r: r["object"]) == \
        vector["receipts"]


@pytest.mark.parametrize("vector", REFUSALS)
def test_a_refusal_vector_is_refused_by_both_verifiers(vector: dict):
    assert not outsider_valid(vector["receipt"])
    with pytest.raises(BadReceipt) as caught:
        verify_receipt(vector["receipt"])
    assert caught.value.code == vector["error"] == "bad_receipt"


def test_the_vectors_cover_every_way_a_level_ends_odd():
    sizes = {len(v["leaves"]) for v in FILE["vectors"] if "ids" in v}
    assert set(range(1, 10)) <= sizes and any(len(v["ids"]) > len(v["leaves"]) for v in FILE["vectors"] if "ids" in v)
