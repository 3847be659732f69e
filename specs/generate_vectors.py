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
from protocol.identity import ED25519_MULTICODEC, Identity, b58encode, did_from_public_key  # noqa: E402

import ed25519_points as ed  # noqa: E402  (beside this file)

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
        ("escaped key is its character", '{"\\u0062":1,"a":2}'),
        ("32 levels of nesting", "[" * 16 + '{"k":' * 16 + "0" + "}" * 16 + "]" * 16),
        ("brackets inside strings are not nesting", '["' + "[" * 40 + '"]'),
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
        # Section 2.1 rule 1 (syntax) against rule 3 (numbers): the extra number tokens.
        ("-Infinity", "[-Infinity]", "not_canonical_number"),
        ("leading zero", "[01]", "malformed"),
        ("negative leading zero", "[-01]", "malformed"),
        ("plus sign", "[+1]", "malformed"),
        ("no integer digits", "[.5]", "malformed"),
        ("no fraction digits", "[1.]", "malformed"),
        ("no exponent digits", "[1e]", "malformed"),
        ("hexadecimal", "[0x1]", "malformed"),
        ("lowercase nan", "[nan]", "malformed"),
        ("Infinity followed by a digit", "[Infinity1]", "malformed"),
        ("5000-digit integer", "[" + "1" * 5000 + "]", "not_canonical_number"),
        # Keys are compared after unescaping (rule 2, 4), and nesting is limited.
        ("escaped key duplicates plain key", '{"a":1,"\\u0061":2}', "duplicate_key"),
        ("escaped non-ASCII key", '{"\\u00e9":1}', "malformed"),
        ("33 levels of nesting", "[" * 17 + '{"k":' * 16 + "0" + "}" * 16 + "]" * 17, "malformed"),
        # Two violations each: the code follows precedence (malformed, then
        # duplicate_key, then not_canonical_number), not the reading order.
        ("float before duplicate key", '{"a":1.5,"a":2}', "duplicate_key"),
        ("float in an earlier member than a duplicate key", '[1.5,{"k":1,"k":2}]', "duplicate_key"),
        ("big integer and duplicate key", '[9007199254740992,{"k":1,"k":1}]', "duplicate_key"),
        ("duplicate key then trailing text", '{"a":1,"a":2} x', "malformed"),
        ("float in truncated text", "[1.5", "malformed"),
        ("duplicate key and non-ASCII key", '{"a":1,"a":2,"\\u00e9":1}', "malformed"),
        ("float and lone surrogate", '[1.5,"\\ud800"]', "malformed"),
        ("duplicate key inside too deep nesting", "[" * 32 + '{"k":1,"k":2}' + "]" * 32, "malformed"),
        ("NaN and float", "[NaN,1.5]", "not_canonical_number"),
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
    invalid("key_rotation to its own author", "invalid_body",
            _signed_raw(ALICE, {"v": 1, "type": "key_rotation", "author": ALICE.did, "created_at": NOW,
                                "body": {"successor": ALICE.did}}))
    # Step 3's order: members, v, type, author (bad_did), created_at, body, id, sig.
    invalid("author a number and created_at a string", "bad_did", {**offer, "author": 42, "created_at": str(NOW)})
    invalid("author a number and id uppercase", "bad_did", {**offer, "author": 42, "id": offer["id"].upper()})
    invalid("type a number and author a number", "malformed", {**offer, "type": 7, "author": 42})
    vectors += _signature_edge_cases(base)
    return {
        "description": "complete objects (section 4); verify each with the clock at `now`",
        "now": NOW,
        "seeds": {"alice": ALICE.seed.hex(), "bob": BOB.seed.hex(), "carol": CAROL.seed.hex()},
        "vectors": vectors,
    }


def _with_signature(envelope: dict, sign_id) -> dict:
    obj_id = object_id(envelope)
    return {**envelope, "id": obj_id, "sig": sign_id(SIGNATURE_CONTEXT + obj_id.encode()).hex()}


def _signature_edge_cases(base: dict) -> list[dict]:
    """Signatures that a lax Ed25519 verifier accepts and section 4.3 step 8 rejects (or accepts)."""
    a, prefix = ed.secret_scalar(ALICE.seed)
    small_order_key = ed.encode(ed.IDENTITY)  # 01 00 ... 00
    not_a_point = next(y.to_bytes(32, "little") for y in range(2, 100) if ed.decode(y.to_bytes(32, "little")) is None)
    mixed_key = ed.encode(ed.add(ed.mul(a, ed.BASE), ed.ORDER_2))  # alice's key plus a point of order 2

    def envelope(public_key: bytes, created_at: int = NOW) -> dict:
        return {**base, "author": did_from_public_key(public_key), "created_at": created_at}

    def mixed(even: bool) -> dict:
        # R' = [S]B - [k]A' = R - [k]T: the cofactorless equation holds exactly when k is even.
        for created_at in range(NOW, NOW - 1000, -1):
            obj = _with_signature(envelope(mixed_key, created_at), lambda m: ed.sign(a, prefix, mixed_key, m))
            k = ed.challenge(bytes.fromhex(obj["sig"])[:32], mixed_key, SIGNATURE_CONTEXT + obj["id"].encode())
            if (k % 2 == 0) == even:
                return obj
        raise AssertionError("no created_at gave the wanted parity")

    offer = _signed_raw(ALICE, base)
    s = int.from_bytes(bytes.fromhex(offer["sig"])[32:], "little")
    cases = [
        ("invalid/S not below L (S + L)", {**offer, "sig": offer["sig"][:64] + (s + ed.L).to_bytes(32, "little").hex()}),
        # [1]B = B + [k]O: the equation holds for any message, so only the small-order check refuses it.
        ("invalid/author key of small order", _with_signature(envelope(small_order_key),
                                                              lambda m: ed.encode(ed.BASE) + (1).to_bytes(32, "little"))),
        # R = O, S = k*a: the equation holds; only the small-order check on R refuses it.
        ("invalid/R of small order", _with_signature(base, lambda m: ed.encode(ed.IDENTITY) + (
            ed.challenge(ed.encode(ed.IDENTITY), ALICE.public_key, m) * a % ed.L).to_bytes(32, "little"))),
        ("invalid/author key not a curve point", _with_signature(envelope(not_a_point), ALICE.sign)),
        ("invalid/mixed-order key, cofactored equation only", mixed(even=False)),
    ]
    vectors = [{"name": name, "valid": False, "error": "bad_signature", "object": obj} for name, obj in cases]
    obj = mixed(even=True)
    vectors.append({"name": "valid/mixed-order key, cofactorless equation holds", "valid": True, "object": obj,
                    "wire": canonical.encode(obj).decode("utf-8")})
    return vectors


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
    from gen_lifecycle_contracts import lifecycle_contracts_vectors
    from gen_lifecycle_projects import lifecycle_projects_vectors
    from gen_receipt_vectors import receipt_vectors
    from gen_sync_vectors import sync_vectors

    return {**GENERATORS, "encryption.json": encryption_vectors,
            "lifecycle_projects.json": lifecycle_projects_vectors,
            "lifecycle_contracts.json": lifecycle_contracts_vectors, "receipts.json": receipt_vectors,
            "sync.json": sync_vectors}


def main() -> None:
    VECTORS.mkdir(exist_ok=True)
    for name, generate in all_generators().items():
        write(name, generate())


if __name__ == "__main__":
    main()
