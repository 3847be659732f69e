"""The signed envelope: every field is bound, every check reports its own code, in the spec's order."""

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import canonical
from protocol.envelope import (
    MAX_CLOCK_SKEW, MAX_OBJECT_BYTES, SIGNATURE_CONTEXT, SignedObject, is_object_id, object_id,
    parse_object, sign, verify,
)
from protocol.errors import ProtocolError
from protocol.identity import Identity

NOW = 1767225600
ALICE, BOB = Identity(bytes([1]) * 32), Identity(bytes([2]) * 32)
OFFER_BODY = {
    "category": "web-design", "title": "Logo design", "description": "A logo in three rounds.",
    "price": {"amount": "400.00", "currency": "EUR"}, "unit": "fixed",
}


@pytest.fixture(scope="module")
def offer() -> SignedObject:
    return sign(ALICE, "offer", OFFER_BODY, NOW)


def forge(identity: Identity, type_: str, body: dict, created_at: int, **override) -> dict:
    """A correctly hashed and signed envelope, built without body checks; `override` replaces members first."""
    unsigned = {"v": 1, "type": type_, "author": identity.did, "created_at": created_at, "body": body}
    unsigned.update({k: v for k, v in override.items() if k not in ("id", "sig")})
    obj_id = override.get("id") or object_id(unsigned)
    sig = override.get("sig") or identity.sign(SIGNATURE_CONTEXT + obj_id.encode()).hex()
    return {**unsigned, "id": obj_id, "sig": sig}


def code_of(value, now: int = NOW) -> str:
    """What `verify` says about `value`; every other way in must say the same.

    For values in the canonical subset that is `verify` given the wire bytes,
    `parse_object` on them (the canonical fast path) and `parse_object` on an
    indented spelling (the strict parser).
    """
    outcomes = {_outcome(verify, value, now)}
    try:
        wire = canonical.canonical(value)
    except ProtocolError:
        wire = None  # floats, big integers: only the dict path can see these
    if isinstance(value, dict) and wire is not None:
        outcomes.add(_outcome(lambda v, t: verify(v, t, wire=wire), value, now))
        outcomes.add(_outcome(parse_object, wire, now))
        outcomes.add(_outcome(parse_object, json.dumps(value, indent=1), now))
    assert len(outcomes) == 1, outcomes
    return outcomes.pop()[0]


def _outcome(check, value, now):
    try:
        verified = check(value, now)
        return "accepted", verified.wire, verified.id, canonical.encode(verified.body)
    except ProtocolError as error:
        return error.code, type(error), error.detail


def test_signed_object_verifies(offer):
    assert parse_object(offer.wire, NOW) == offer
    assert verify(json.loads(offer.wire), NOW) == offer
    assert verify(offer.as_dict(), NOW) == offer
    assert offer.author == ALICE.did and offer.type == "offer" and offer.created_at == NOW
    assert offer.id == hashlib.sha256(canonical.canonical(
        {"v": 1, "type": "offer", "author": ALICE.did, "created_at": NOW, "body": OFFER_BODY})).hexdigest()
    assert is_object_id(offer.id)
    assert offer.category == "web-design"


def test_wire_is_canonical_whatever_the_spelling(offer):
    spelled = json.dumps(json.loads(offer.wire), indent=2, ensure_ascii=True)
    again = parse_object(spelled.encode(), NOW)
    assert again.wire == offer.wire == canonical.canonical(offer.as_dict())
    assert again.id == offer.id


MUTATIONS = {
    # name: (member, new value or function of the old one, expected code)
    "type to another known type": ("type", "project", "bad_id"),
    "type unknown": ("type", "horoscope", "unknown_type"),
    "type not a string": ("type", 7, "malformed"),
    "author another valid did": ("author", BOB.did, "bad_id"),
    "author not a did": ("author", "did:web:example.com", "bad_did"),
    "author not a string": ("author", None, "bad_did"),
    "created_at plus one": ("created_at", NOW + 1, "bad_id"),
    "created_at minus one": ("created_at", NOW - 1, "bad_id"),
    "created_at negative": ("created_at", -1, "malformed"),
    "created_at string": ("created_at", str(NOW), "malformed"),
    "created_at bool": ("created_at", True, "malformed"),
    "body field changed": ("body", {**OFFER_BODY, "title": "Logo designs"}, "bad_id"),
    "body field added": ("body", {**OFFER_BODY, "skills": ["svg"]}, "bad_id"),
    "body a list": ("body", [], "malformed"),
    "v two": ("v", 2, "unsupported_version"),
    "v zero": ("v", 0, "unsupported_version"),
    "v string": ("v", "1", "malformed"),
    "v bool": ("v", True, "malformed"),
    "id one digit changed": ("id", lambda old: ("0" if old[0] != "0" else "1") + old[1:], "bad_id"),
    "id upper case": ("id", str.upper, "malformed"),
    "id too short": ("id", lambda old: old[:-1], "malformed"),
    "id not a string": ("id", 1, "malformed"),
    "sig one digit changed": ("sig", lambda old: old[:-1] + ("0" if old[-1] != "0" else "1"), "bad_signature"),
    "sig upper case": ("sig", str.upper, "malformed"),
    "sig too long": ("sig", lambda old: old + "00", "malformed"),
    "sig all zero": ("sig", "0" * 128, "bad_signature"),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_changing_one_member_fails_with_its_code(offer, name):
    member, change, expected = MUTATIONS[name]
    value = offer.as_dict()
    value[member] = change(value[member]) if callable(change) else change
    assert code_of(value) == expected


@pytest.mark.parametrize("member", ["v", "type", "author", "created_at", "body", "id", "sig"])
def test_missing_member_is_malformed(offer, member):
    value = offer.as_dict()
    del value[member]
    assert code_of(value) == "malformed"


@pytest.mark.parametrize("extra", ["category", "ID", "signature", ""])
def test_extra_member_is_malformed(offer, extra):
    assert code_of({**offer.as_dict(), extra: "x"}) == "malformed"


@pytest.mark.parametrize("value", [[], "offer", 1, None])
def test_non_object_is_malformed(value):
    assert code_of(value) == "malformed"


def test_signature_of_another_object_fails(offer):
    other = sign(ALICE, "offer", {**OFFER_BODY, "title": "Web site"}, NOW)
    assert code_of({**offer.as_dict(), "sig": other.sig}) == "bad_signature"


def test_signature_by_another_key_fails():
    value = forge(ALICE, "offer", OFFER_BODY, NOW)
    value["sig"] = BOB.sign(SIGNATURE_CONTEXT + value["id"].encode()).hex()
    assert code_of(value) == "bad_signature"


def test_signature_without_context_string_fails():
    value = forge(ALICE, "offer", OFFER_BODY, NOW)
    value["sig"] = ALICE.sign(value["id"].encode()).hex()
    assert code_of(value) == "bad_signature"


def test_non_canonical_signature_scalar_fails(offer):
    """S + L signs the same thing mathematically; RFC 8032 requires S < L, else signatures are malleable."""
    group_order = 2**252 + 27742317777372353535851937790883648493
    raw = bytes.fromhex(offer.sig)
    s = int.from_bytes(raw[32:], "little") + group_order
    assert s < 2**256
    assert code_of({**offer.as_dict(), "sig": (raw[:32] + s.to_bytes(32, "little")).hex()}) == "bad_signature"


def test_invalid_body_is_reported_after_the_signature():
    value = forge(ALICE, "offer", {k: v for k, v in OFFER_BODY.items() if k != "title"}, NOW)
    assert code_of(value) == "invalid_body"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_flipping_any_byte_never_verifies(offer, data):
    position = data.draw(st.integers(0, len(offer.wire) - 1), label="position")
    mask = data.draw(st.integers(1, 255), label="xor")
    wire = bytearray(offer.wire)
    wire[position] ^= mask
    with pytest.raises(ProtocolError):
        parse_object(bytes(wire), NOW)


def test_every_single_byte_position_is_covered(offer):
    """Deterministic companion to the property: flipping the low bit at each position fails."""
    for position in range(len(offer.wire)):
        wire = bytearray(offer.wire)
        wire[position] ^= 1
        with pytest.raises(ProtocolError):
            parse_object(bytes(wire), NOW)


def _padded(total: int) -> dict:
    """An offer envelope (wrong id and sig) whose wire form is exactly `total` bytes."""
    value = forge(ALICE, "offer", {**OFFER_BODY, "description": ""}, NOW, id="0" * 64, sig="0" * 128)
    value["body"]["description"] = "x" * (total - len(canonical.encode(value)))
    assert len(canonical.encode(value)) == total
    return value


def test_size_limit_is_on_the_canonical_wire():
    assert code_of(_padded(MAX_OBJECT_BYTES)) == "bad_id"  # size passes, later checks run
    assert code_of(_padded(MAX_OBJECT_BYTES + 1)) == "too_large"


def test_whitespace_does_not_count_towards_the_size_limit():
    text = json.dumps(_padded(MAX_OBJECT_BYTES), indent=4)
    assert len(text) > MAX_OBJECT_BYTES
    with pytest.raises(ProtocolError) as err:
        parse_object(text, NOW)
    assert err.value.code == "bad_id"


def test_clock_skew_boundary():
    at_limit = sign(ALICE, "offer", OFFER_BODY, NOW + MAX_CLOCK_SKEW)
    assert parse_object(at_limit.wire, NOW) == at_limit
    beyond = sign(ALICE, "offer", OFFER_BODY, NOW + MAX_CLOCK_SKEW + 1)
    with pytest.raises(ProtocolError) as err:
        parse_object(beyond.wire, NOW)
    assert err.value.code == "clock_skew"
    assert parse_object(beyond.wire, NOW + 1) == beyond


def test_old_objects_have_no_lower_bound():
    old = sign(ALICE, "offer", OFFER_BODY, 0)
    assert parse_object(old.wire, NOW) == old


def test_sign_refuses_what_verify_would_refuse():
    with pytest.raises(ProtocolError) as err:
        sign(ALICE, "offer", {**OFFER_BODY, "rating": 1.5}, NOW)
    assert err.value.code == "not_canonical_number"
    with pytest.raises(ProtocolError) as err:
        sign(ALICE, "horoscope", {}, NOW)
    assert err.value.code == "unknown_type"
    with pytest.raises(ProtocolError) as err:
        sign(ALICE, "offer", {"title": "only a title"}, NOW)
    assert err.value.code == "invalid_body"


def test_parse_errors_come_first():
    assert _parse_code(b'{"v":1,"v":1}') == "duplicate_key"
    assert _parse_code(b"\xff") == "malformed"
    assert _parse_code(b'{"created_at":1.5}') == "not_canonical_number"


def _parse_code(raw: bytes) -> str:
    try:
        parse_object(raw, NOW)
    except ProtocolError as error:
        return error.code
    return "accepted"


def _pair(first: str) -> dict:
    """An envelope failing the check named `first` and the check after it (see CHECK_ORDER)."""
    bad_body = {k: v for k, v in OFFER_BODY.items() if k != "title"}
    if first == "too_large":
        value = _padded(MAX_OBJECT_BYTES + 1)
        value["extra"] = 1
        return value
    if first == "malformed":
        return forge(ALICE, "offer", OFFER_BODY, -5, v=2)
    if first == "unsupported_version":
        return forge(ALICE, "offer", OFFER_BODY, NOW, v=2, author="did:key:zBad")
    if first == "bad_did":
        return forge(ALICE, "offer", OFFER_BODY, NOW, author="did:key:zBad", type="horoscope")
    if first == "unknown_type":
        return forge(ALICE, "horoscope", OFFER_BODY, NOW, id="f" * 64)
    if first == "bad_id":
        return forge(ALICE, "offer", OFFER_BODY, NOW, id="f" * 64, sig="0" * 128)
    if first == "bad_signature":
        return forge(ALICE, "offer", OFFER_BODY, NOW + MAX_CLOCK_SKEW + 1, sig="0" * 128)
    if first == "clock_skew":
        return forge(ALICE, "offer", bad_body, NOW + MAX_CLOCK_SKEW + 1)
    raise AssertionError(first)


CHECK_ORDER = ["too_large", "malformed", "unsupported_version", "bad_did", "unknown_type", "bad_id",
               "bad_signature", "clock_skew", "invalid_body"]


@pytest.mark.parametrize("first", CHECK_ORDER[:-1])
def test_check_order(first):
    """Each envelope fails two adjacent checks; the earlier one is reported."""
    value = _pair(first)
    assert code_of(value) == first
    # and the later failure is real: it is what remains once the earlier one is repaired
    assert code_of(_repair(first, value)) == CHECK_ORDER[CHECK_ORDER.index(first) + 1]


def _repair(first: str, value: dict) -> dict:
    value = dict(value)
    if first == "too_large":
        value["body"] = {**value["body"], "description": "short"}
    elif first == "malformed":
        value["created_at"] = NOW
    elif first == "unsupported_version":
        value["v"] = 1
    elif first == "bad_did":
        value["author"] = ALICE.did
    elif first == "unknown_type":
        value["type"] = "offer"
    elif first == "bad_id":
        return forge(ALICE, "offer", OFFER_BODY, NOW, sig="0" * 128)
    elif first == "bad_signature":
        return forge(ALICE, "offer", OFFER_BODY, NOW + MAX_CLOCK_SKEW + 1)
    elif first == "clock_skew":
        return forge(ALICE, "offer", value["body"], NOW)
    return value


tricky_text = st.sampled_from(['","id":"', ',"id":"', '","sig":"', '\\"', "}", '"v":1}', "é", "\u2028"]) | st.text(max_size=6)
tricky_bodies = st.dictionaries(
    st.sampled_from(["id", "sig", "a", "type", "v", "zz"]),
    st.recursive(tricky_text | st.integers(0, 9),
                 lambda inner: st.dictionaries(st.sampled_from(["id", "sig", "x"]), inner, max_size=3),
                 max_leaves=6),
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(tricky_bodies, st.sampled_from(["offer", "retract", "profile"]))
def test_id_is_always_the_hash_of_the_signing_bytes(body, type_):
    """The id check must hash exactly the envelope without id and sig, whatever the body holds."""
    value = forge(ALICE, type_, body, NOW)
    assert code_of(value) in {"accepted", "invalid_body"}
    tampered = {**value, "body": {**body, "id": value["id"], "sig": value["sig"]}}
    assert code_of(tampered) == "bad_id"


def test_a_key_rotation_to_its_own_author_fails_at_the_body_step():
    """Step 10, not a cross-object rule: the object alone shows it (the rest of the envelope is fine)."""
    unsigned = {"v": 1, "type": "key_rotation", "author": ALICE.did, "created_at": NOW,
                "body": {"successor": ALICE.did}}
    obj_id = hashlib.sha256(canonical.canonical(unsigned)).hexdigest()
    sig = ALICE.sign(SIGNATURE_CONTEXT + obj_id.encode()).hex()
    with pytest.raises(ProtocolError) as caught:
        verify({**unsigned, "id": obj_id, "sig": sig}, NOW)
    assert caught.value.code == "invalid_body"
    with pytest.raises(ProtocolError) as late:  # a later clock_skew still outranks it
        verify({**unsigned, "id": obj_id, "sig": sig}, NOW - 601)
    assert late.value.code == "clock_skew"
    assert verify(sign(ALICE, "key_rotation", {"successor": BOB.did}, NOW).as_dict(), NOW).type == "key_rotation"


@pytest.mark.parametrize("body, type_", [
    ({k: v for k, v in OFFER_BODY.items() if k != "title"}, "offer"),  # a field's shape
    ({"successor": ALICE.did}, "key_rotation"),  # a rule across fields
])
def test_a_bad_signature_outranks_a_bad_body_decided_before_it(body, type_):
    # verify decides the body before the signature check (it is cheaper then) but
    # must still report the signature first, and clock_skew before the body
    assert code_of(forge(ALICE, type_, body, NOW, sig="0" * 128)) == "bad_signature"
    assert code_of(forge(ALICE, type_, body, NOW + MAX_CLOCK_SKEW + 1, sig="0" * 128)) == "bad_signature"
    assert code_of(forge(ALICE, type_, body, NOW + MAX_CLOCK_SKEW + 1)) == "clock_skew"
    with pytest.raises(ProtocolError, match="body.title: required|successor") as caught:
        verify(forge(ALICE, type_, body, NOW), NOW)
    assert caught.value.code == "invalid_body"


def test_the_limits_are_the_numbers_the_spec_states():
    # Literal numbers, not the constants: changing a limit must fail a test (spec 3.3).
    assert code_of(_padded(65_536)) == "bad_id"
    assert code_of(_padded(65_537)) == "too_large"
    assert parse_object(sign(ALICE, "offer", OFFER_BODY, NOW + 600).wire, NOW).created_at == NOW + 600
    with pytest.raises(ProtocolError) as err:
        parse_object(sign(ALICE, "offer", OFFER_BODY, NOW + 601).wire, NOW)
    assert err.value.code == "clock_skew"
