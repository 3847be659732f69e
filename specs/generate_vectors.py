"""Regenerate specs/vectors/*.json from fixed seeds (run: make vectors).

The tests load the committed files and never call this: a change to the
protocol that alters a vector shows up as a diff here, on purpose.
"""

import hashlib
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from protocol import canonical  # noqa: E402
from protocol.envelope import SIGNATURE_CONTEXT, object_id, sign  # noqa: E402
from protocol.identity import ED25519_MULTICODEC, Identity, b58encode  # noqa: E402

VECTORS = pathlib.Path(__file__).resolve().parent / "vectors"
NOW = 1767225600  # 2026-01-01T00:00:00Z, the verifier's clock for objects.json
ALICE, BOB, CAROL = (Identity(bytes([n]) * 32) for n in (1, 2, 3))
EUR = {"amount": "1500.00", "currency": "EUR"}


def fake_id(label: str) -> str:
    """A stand-in object id for references: SHA-256 of a label."""
    return hashlib.sha256(label.encode()).hexdigest()


def canonical_vectors() -> dict:
    valid = [
        ("sorts keys", '{"b": 2, "a": 1}'),
        ("nested objects sort too", '{"z":{"b":1,"a":2},"A":0}'),
        ("arrays keep order", '[3, 1, 2]'),
        ("literals", '[true, false, null]'),
        ("negative zero reads as zero", "-0"),
        ("largest safe integer", "9007199254740991"),
        ("smallest safe integer", "-9007199254740991"),
        ("whitespace removed", ' { "a" : [ 1 , 2 ] } '),
        ("non-ASCII written raw", '"caf\\u00e9"'),
        ("raw UTF-8 kept", '"日本"'),
        ("control characters escaped lowercase", '"\\u001F\\u0000"'),
        ("short escapes", '"\\b\\t\\n\\f\\r"'),
        ("quote and backslash", '"\\"\\\\"'),
        ("solidus unescaped", '"\\/"'),
        ("DEL and U+2028 unescaped", '"\\u007f\\u2028"'),
        ("surrogate pair becomes one character", '"\\ud83d\\ude00"'),
        ("empty containers", '{"a":[],"b":{}}'),
        ("keys sort by byte", '{"b":1,"B":2,"_":3,"a":4,"1":5}'),
    ]
    invalid = [
        ("duplicate key", '{"a":1,"a":2}', "duplicate_key"),
        ("duplicate key nested", '{"x":[{"k":1,"k":1}]}', "duplicate_key"),
        ("float", '{"n":1.0}', "not_canonical_number"),
        ("exponent", "1e3", "not_canonical_number"),
        ("negative zero float", "-0.0", "not_canonical_number"),
        ("beyond safe integer", "9007199254740992", "not_canonical_number"),
        ("NaN", "NaN", "not_canonical_number"),
        ("Infinity", "[Infinity]", "not_canonical_number"),
        ("non-ASCII key", '{"é":1}', "malformed"),
        ("lone high surrogate", '"\\ud800"', "malformed"),
        ("lone low surrogate", '"\\udc00"', "malformed"),
        ("trailing garbage", '{"a":1} x', "malformed"),
        ("truncated", '{"a":', "malformed"),
        ("single quotes", "{'a':1}", "malformed"),
        ("trailing comma", "[1,]", "malformed"),
        ("byte-order mark", "\ufeff{}", "malformed"),
    ]
    vectors = [
        {"name": name, "input": text, "output": canonical.encode(canonical.parse(text)).decode("utf-8")}
        for name, text in valid
    ]
    vectors += [{"name": name, "input": text, "error": code} for name, text, code in invalid]
    vectors.append({"name": "invalid UTF-8", "input_hex": "22ff22", "error": "malformed"})
    return {"description": "JSON text -> canonical text (section 2); input_hex is raw bytes", "vectors": vectors}


def didkey_vectors() -> dict:
    vectors = []
    for label, seed in [("zero seed", bytes(32)), ("alice", bytes([1]) * 32), ("bob", bytes([2]) * 32),
                        ("carol", bytes([3]) * 32), ("sha256('kinode')", hashlib.sha256(b"kinode").digest())]:
        ident = Identity(seed)
        vectors.append({"name": label, "seed": seed.hex(), "public_key": ident.public_key.hex(), "did": ident.did})
    good = Identity(bytes(32)).did
    vectors += [
        {"name": "wrong method", "did": good.replace("did:key:", "did:web:"), "error": "bad_did"},
        {"name": "not base58btc multibase", "did": "did:key:f" + good[9:], "error": "bad_did"},
        {"name": "character outside alphabet", "did": good[:-1] + "0", "error": "bad_did"},
        {"name": "x25519 multicodec (0xec01)", "did": "did:key:z" + b58encode(b"\xec\x01" + bytes(32)), "error": "bad_did"},
        {"name": "key too long", "did": "did:key:z" + b58encode(ED25519_MULTICODEC + bytes(33)), "error": "bad_did"},
        {"name": "key too short", "did": good[:-2], "error": "bad_did"},
    ]
    return {"description": "Ed25519 seed -> public key -> did:key (section 3)", "vectors": vectors}


def _signed_raw(identity: Identity, envelope: dict) -> dict:
    """Sign an envelope without validating it: for deliberately invalid vectors."""
    obj_id = object_id(envelope)
    return {**envelope, "id": obj_id, "sig": identity.sign(SIGNATURE_CONTEXT + obj_id.encode()).hex()}


def _valid_objects() -> list[tuple[str, Identity, str, dict]]:
    project, task, contract, delivery = (fake_id(x) for x in ("project", "task", "contract", "delivery"))
    later = NOW + 30 * 86400
    return [
        ("profile", ALICE, "profile", {"name": "Alice Example", "bio": "Web designer in Lisbon.",
                                       "skills": ["css", "figma"], "categories": ["web-design"]}),
        ("hub", BOB, "hub", {"url": "https://hub.example.org", "name": "Web design hub",
                             "categories": ["web-design"]}),
        ("category", BOB, "category", {"slug": "web-design", "name": "Web design"}),
        ("endorsement", BOB, "endorsement", {"subject": ALICE.did, "category": "web-design", "level": "expert"}),
        ("offer", ALICE, "offer", {"category": "web-design", "title": "Landing page in a week",
                                   "description": "A responsive landing page, two rounds of changes.",
                                   "skills": ["css", "html"], "price": {"amount": "80.00", "currency": "EUR"},
                                   "unit": "hour"}),
        ("offer priced in yen", ALICE, "offer", {"category": "web-design", "title": "Logo",
                                                 "description": "Three sketches.", "price": {"amount": "50000", "currency": "JPY"},
                                                 "unit": "fixed"}),
        ("project", BOB, "project", {"category": "web-design", "title": "Shop redesign",
                                     "description": "Redesign a small online shop.", "budget": EUR,
                                     "deadline": later, "coordinator": BOB.did}),
        ("task", BOB, "task", {"project": project, "category": "web-design", "title": "Product page mock-up",
                               "description": "One mock-up of the product page.", "budget": {"amount": "300.00", "currency": "EUR"},
                               "deadline": later, "depends_on": [], "claim_lease": 86400}),
        ("claim", ALICE, "claim", {"task": task, "project": project}),
        ("proposal", ALICE, "proposal", {"target": project, "category": "web-design", "price": EUR,
                                         "message": "I can do this by the deadline."}),
        ("contract", BOB, "contract", {"parties": [{"did": BOB.did, "role": "client"}, {"did": ALICE.did, "role": "supplier"}],
                                       "scope": [project], "terms": "Deliver the redesign as described.", "price": EUR,
                                       "milestones": [{"key": "design", "title": "Design", "amount": EUR, "due": later}],
                                       "deadline": later, "dispute_resolver": CAROL.did}),
        ("sign", ALICE, "sign", {"contract": contract}),
        ("delivery", ALICE, "delivery", {"contract": contract, "milestone": "design",
                                         "artifact": {"sha256": fake_id("artifact"), "location": "https://files.example.org/design.zip"}}),
        ("acceptance", BOB, "acceptance", {"delivery": delivery, "decision": "accept"}),
        ("payment", BOB, "payment", {"contract": contract, "milestone": "design", "amount": EUR, "kind": "sent"}),
        ("review", BOB, "review", {"contract": contract, "subject": ALICE.did, "rating": 5, "text": "On time, great work."}),
        ("retract", ALICE, "retract", {"target": fake_id("old offer")}),
        ("key_rotation", ALICE, "key_rotation", {"successor": CAROL.did}),
        ("unknown optional field is kept", ALICE, "profile", {"name": "Alice", "pronouns": "she/her"}),
    ]


def object_vectors() -> dict:
    vectors = []
    for name, ident, type_, body in _valid_objects():
        obj = sign(ident, type_, body, NOW)
        vectors.append({"name": f"valid/{name}", "valid": True, "object": obj.as_dict(),
                        "wire": obj.wire.decode("utf-8")})

    offer = sign(ALICE, "offer", _valid_objects()[4][3], NOW).as_dict()
    base = {k: offer[k] for k in ("v", "type", "author", "created_at", "body")}

    def invalid(name: str, error: str, obj: dict | None = None, raw: str | None = None) -> None:
        entry = {"name": f"invalid/{name}", "valid": False, "error": error}
        if raw is not None:
            entry["raw"] = raw
        else:
            entry["object"] = obj
        vectors.append(entry)

    invalid("body changed after signing", "bad_id", {**offer, "body": {**offer["body"], "title": "Landing page in a day"}})
    invalid("id changed", "bad_id", {**offer, "id": fake_id("other")})
    flipped = offer["sig"][:-1] + ("0" if offer["sig"][-1] != "0" else "1")
    invalid("signature flipped", "bad_signature", {**offer, "sig": flipped})
    invalid("signed by someone else", "bad_signature",
            {**_signed_raw(BOB, base), "author": ALICE.did, "id": offer["id"]})
    invalid("author swapped", "bad_id", {**offer, "author": BOB.did})
    text = json.dumps(offer, separators=(",", ":"))
    invalid("duplicate key in body", "duplicate_key", raw=text.replace('"unit":"hour"', '"unit":"hour","unit":"day"'))
    invalid("duplicate envelope key", "duplicate_key", raw=text[:-1] + ',"v":1}')
    invalid("float in body", "not_canonical_number", raw=text.replace('"created_at":%d' % NOW, '"created_at":%d.0' % NOW))
    invalid("big integer", "not_canonical_number", raw=text.replace('"v":1', '"v":9007199254740993'))
    invalid("not JSON", "malformed", raw=text[:-2])
    invalid("array instead of object", "malformed", raw="[" + text + "]")
    invalid("missing sig", "malformed", {k: v for k, v in offer.items() if k != "sig"})
    invalid("extra envelope member", "malformed", {**offer, "extra": 1})
    invalid("uppercase id", "malformed", {**offer, "id": offer["id"].upper()})
    invalid("created_at as string", "malformed", {**offer, "created_at": str(NOW)})
    invalid("version 2", "unsupported_version", _signed_raw(ALICE, {**base, "v": 2}))
    invalid("author not a did:key", "bad_did", _signed_raw(ALICE, {**base, "author": "did:web:example.org"}))
    invalid("unknown type", "unknown_type", _signed_raw(ALICE, {**base, "type": "advert"}))
    invalid("too large", "too_large", _signed_raw(ALICE, {**base, "body": {**base["body"], "description": "x" * 65536}}))
    invalid("eleven minutes in the future", "clock_skew", _signed_raw(ALICE, {**base, "created_at": NOW + 601}))
    invalid("missing required field", "invalid_body",
            _signed_raw(ALICE, {**base, "body": {k: v for k, v in base["body"].items() if k != "title"}}))
    invalid("too many fraction digits for EUR", "invalid_body",
            _signed_raw(ALICE, {**base, "body": {**base["body"], "price": {"amount": "80.001", "currency": "EUR"}}}))
    invalid("price as a number", "invalid_body",
            _signed_raw(ALICE, {**base, "body": {**base["body"], "price": {"amount": 80, "currency": "EUR"}}}))
    invalid("deadline before created_at", "invalid_body",
            _signed_raw(BOB, {"v": 1, "type": "project", "author": BOB.did, "created_at": NOW,
                              "body": {**_valid_objects()[6][3], "deadline": NOW - 1}}))
    invalid("unknown unit", "invalid_body",
            _signed_raw(ALICE, {**base, "body": {**base["body"], "unit": "week"}}))
    invalid("review rating out of range", "invalid_body",
            _signed_raw(BOB, {"v": 1, "type": "review", "author": BOB.did, "created_at": NOW,
                              "body": {**_valid_objects()[15][3], "rating": 6}}))
    return {
        "description": "complete objects (section 4); verify each with the clock at `now`",
        "now": NOW,
        "seeds": {"alice": ALICE.seed.hex(), "bob": BOB.seed.hex(), "carol": CAROL.seed.hex()},
        "vectors": vectors,
    }


def render(data: dict) -> str:
    """The exact text of a vector file."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


GENERATORS = {"canonical.json": canonical_vectors, "didkey.json": didkey_vectors, "objects.json": object_vectors}


def write(name: str, data: dict) -> None:
    path = VECTORS / name
    path.write_text(render(data), encoding="utf-8")
    print(f"wrote {path.relative_to(VECTORS.parent.parent)} ({len(data['vectors'])} vectors)")


def all_generators() -> dict:
    from gen_encryption_vectors import encryption_vectors  # beside this file

    return {**GENERATORS, "encryption.json": encryption_vectors}


def main() -> None:
    VECTORS.mkdir(exist_ok=True)
    for name, generate in all_generators().items():
        write(name, generate())


if __name__ == "__main__":
    main()
