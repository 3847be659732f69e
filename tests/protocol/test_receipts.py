"""Batched inclusion receipts and complaints (spec section 14.5): one signature per inbox answer over a
Merkle root, one path per object, each object's receipt verifying on its own."""

import hashlib
import math
import pathlib

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.envelope import sign
from protocol.errors import BadReceipt
from protocol.identity import Identity
from protocol.receipts import (
    complaint, leaf_hash, merkle_tree, node_hash, sign_receipt, sign_receipts, verify_complaint, verify_receipt,
)

T = 1767225600
HUB, HUB2, AUTHOR = (Identity(bytes([n]) * 32) for n in (11, 12, 14))


def ids(count: int, label: str = "id") -> list[str]:
    return [hashlib.sha256(f"{label} {n}".encode()).hexdigest() for n in range(count)]


def refused(receipt: object, **expected) -> str:
    with pytest.raises(BadReceipt) as caught:
        verify_receipt(receipt, **expected)
    assert caught.value.code == "bad_receipt"
    return caught.value.detail


def test_a_batch_of_one_has_an_empty_path_and_its_leaf_as_root():
    receipt = sign_receipt(HUB, "a" * 64, T)
    assert receipt["path"] == [] and receipt["root"] == hashlib.sha256(b"\x00" + bytes.fromhex("a" * 64)).hexdigest()
    assert verify_receipt(receipt, hub=HUB.did, object_id="a" * 64) == receipt


def test_the_tree_pairs_left_to_right_and_promotes_an_odd_last_node():
    a, b, c = sorted(ids(3))
    root, paths = merkle_tree([c, a, b, a])  # order and repeats do not matter: the set does
    ab = node_hash(leaf_hash(a), leaf_hash(b))
    assert root == node_hash(ab, leaf_hash(c)).hex()
    assert paths == {a: ["R" + leaf_hash(b).hex(), "R" + leaf_hash(c).hex()],
                     b: ["L" + leaf_hash(a).hex(), "R" + leaf_hash(c).hex()],
                     c: ["L" + ab.hex()]}  # c had no sibling on the first level: one entry fewer


def test_one_signature_serves_the_whole_batch_and_paths_stay_short():
    batch = ids(500)
    signed = sign_receipts(HUB, batch, T)
    assert len({r["sig"] for r in signed.values()}) == 1 and len({r["root"] for r in signed.values()}) == 1
    assert max(len(r["path"]) for r in signed.values()) == math.ceil(math.log2(500))
    for object_id in batch[::37]:
        verify_receipt(signed[object_id], hub=HUB.did, object_id=object_id)


def test_any_change_breaks_a_receipt_and_malformed_ones_say_what_is_wrong():
    receipt = sign_receipts(HUB, ids(5), T)[ids(5)[2]]
    for changed in ({"at": T + 1}, {"object": "b" * 64}, {"hub": HUB2.did}, {"sig": "0" * 128},
                    {"root": "0" * 64}, {"path": receipt["path"][:-1]}, {"path": receipt["path"] + ["L" + "0" * 64]}):
        refused({**receipt, **changed})
    assert "path does not lead" in refused({**receipt, "object": "b" * 64})
    for malformed in ({}, {**receipt, "extra": 1}, {**receipt, "at": True}, {**receipt, "sig": "zz"}, "receipt",
                      {k: v for k, v in receipt.items() if k != "path"}, {**receipt, "path": "L" + "0" * 64},
                      {**receipt, "path": ["X" + "0" * 64]}, {**receipt, "path": ["L" + "0" * 63]},
                      {**receipt, "path": ["L" + "0" * 64] * 65}, {**receipt, "root": "A" * 64},
                      {"hub": HUB.did, "object": receipt["object"], "at": T, "sig": receipt["sig"]}):  # the v1 form
        refused(malformed)
    assert "not did:key" in refused(receipt, hub="did:key:not")
    assert "names" in refused(receipt, object_id="c" * 64)


object_ids = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=80, unique=True).map(
    lambda raw: [r.hex() for r in raw])


@settings(max_examples=60, deadline=None)
@given(object_ids, st.data())
def test_every_object_of_any_batch_has_a_receipt_that_verifies_and_only_for_itself(batch, data):
    signed = sign_receipts(HUB, batch, T)
    assert set(signed) == set(batch)
    for object_id in batch:
        assert verify_receipt(signed[object_id], hub=HUB.did, object_id=object_id) == signed[object_id]
    receipt = signed[data.draw(st.sampled_from(batch), label="object")]
    stranger = data.draw(st.binary(min_size=32, max_size=32).map(bytes.hex).filter(lambda i: i not in signed))
    refused({**receipt, "object": stranger})  # moved to an id outside the batch
    if len(batch) > 1:
        other = signed[data.draw(st.sampled_from([i for i in batch if i != receipt["object"]]), label="other")]
        refused({**receipt, "object": other["object"]})  # moved to another id of the same batch
    refused({**receipt, "at": receipt["at"] + data.draw(st.integers(1, 10 ** 6), label="later")})
    elsewhere = sign_receipts(HUB, batch + [stranger], T)[receipt["object"]]
    refused({**receipt, "root": elsewhere["root"]})  # another batch's root, with this batch's signature
    refused({**elsewhere, "sig": receipt["sig"]})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=32, max_size=32), min_size=2, max_size=80, unique=True), st.data())
def test_a_tampered_path_fails(raw, data):
    batch = [r.hex() for r in raw]
    receipt = sign_receipts(HUB, batch, T)[data.draw(st.sampled_from(batch), label="object")]
    path = receipt["path"]
    at = data.draw(st.integers(0, len(path) - 1), label="entry")
    entry = path[at]
    flipped_side = ("R" if entry[0] == "L" else "L") + entry[1:]
    digit = data.draw(st.integers(1, 64), label="digit")
    flipped_digit = entry[:digit] + ("0" if entry[digit] != "0" else "1") + entry[digit + 1:]
    for tampered in (path[:at] + [flipped_side] + path[at + 1:], path[:at] + [flipped_digit] + path[at + 1:],
                     path[:at] + path[at + 1:], path + [entry], path[::-1] if len(set(path)) > 1 else path + path):
        refused({**receipt, "path": tampered})


def test_a_complaint_verifies_and_an_altered_one_does_not():
    obj = sign(AUTHOR, "endorsement", {"subject": HUB2.did, "category": "web-design", "level": "expert"}, T)
    receipt = sign_receipts(HUB, [obj.id, *ids(6)], T)[obj.id]
    document = complaint(receipt, obj, "https://hub.example", 404, T + 5)
    assert verify_complaint(document, T + 10).id == obj.id
    other = sign(AUTHOR, "endorsement", {"subject": HUB2.did, "category": "web-design", "level": "expert"}, T + 1)
    for bad in ({**document, "object": other.as_dict()}, {**document, "fetch": {**document["fetch"], "status": 200}},
                {**document, "fetch": {**document["fetch"], "at": T - 1}},
                {**document, "receipt": {**document["receipt"], "at": T + 1}},
                {**document, "receipt": {**document["receipt"], "path": document["receipt"]["path"][1:]}}):
        with pytest.raises(BadReceipt):
            verify_complaint(bad, T + 10)


def test_the_spec_example_receipts_are_reproducible():
    spec = yaml.safe_load((pathlib.Path(__file__).parents[2] / "specs" / "openapi.yaml").read_text())
    examples = spec["paths"]["/ki/v1/inbox"]["post"]["responses"]["200"]["content"]["application/json"]["examples"]
    hub = Identity(bytes([2]) * 32)
    for name in ("first delivery", "redelivery and refusals"):
        results = examples[name]["value"]["results"]
        held = [r for r in results if r["status"] in ("accepted", "duplicate")]
        assert held and all("receipt" in r for r in held) and not any("receipt" in r for r in results if r not in held)
        signed = sign_receipts(hub, [r["id"] for r in held], held[0]["receipt"]["at"])
        assert [r["receipt"] for r in held] == [signed[r["id"]] for r in held]
