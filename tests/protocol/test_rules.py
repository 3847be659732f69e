"""Multi-object rules: key rotation, replaceable types, retraction."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import canonical
from protocol.envelope import SIGNATURE_CONTEXT, VERSION, SignedObject, object_id, sign
from protocol.errors import InvalidBody, KeyRotated, NotAuthorized, ProtocolError
from protocol.identity import Identity
from protocol.rules import (
    binding_rotations, check_key_current, check_retract, check_rotation, current,
    current_key, replaceable_slot, retract_target, supersedes,
)

T0 = 1767225600  # 2026-01-01T00:00:00Z
ALICE, BOB, CAROL, DAVE = (Identity(bytes([n]) * 32) for n in (1, 2, 3, 4))


def make(identity: Identity, type_: str, body: dict, created_at: int) -> SignedObject:
    """A genuinely signed object, built without body validation: these tests are about rules only."""
    unsigned = {"v": VERSION, "type": type_, "author": identity.did, "created_at": created_at, "body": body}
    obj_id = object_id(unsigned)
    sig = identity.sign(SIGNATURE_CONTEXT + obj_id.encode()).hex()
    wire = canonical.canonical({**unsigned, "id": obj_id, "sig": sig})
    return SignedObject(obj_id, type_, identity.did, created_at, body, sig, wire)


def rotation(old: Identity, new: Identity, at: int, nonce: int = 0) -> SignedObject:
    body = {"successor": new.did}
    if nonce:
        body["note"] = str(nonce)  # a different id at the same time
    return make(old, "key_rotation", body, at)


def profile(who: Identity, at: int, name: str = "Alice") -> SignedObject:
    return make(who, "profile", {"name": name}, at)


# --- key rotation ---------------------------------------------------------

def test_earliest_rotation_binds_and_later_ones_are_void():
    first = rotation(ALICE, BOB, T0 + 100)
    later = rotation(ALICE, CAROL, T0 + 200)
    binding = binding_rotations([later, first])
    assert binding == {ALICE.did: first}
    assert current_key(ALICE.did, binding) == BOB.did
    # the later rotation was itself signed by a rotated key
    with pytest.raises(KeyRotated) as err:
        check_key_current(later, binding)
    assert err.value.code == "key_rotated"


def test_rotation_tie_goes_to_lowest_id():
    a, b = rotation(ALICE, BOB, T0, nonce=1), rotation(ALICE, CAROL, T0, nonce=2)
    low, high = sorted([a, b], key=lambda r: r.id)
    assert binding_rotations([high, low])[ALICE.did] is low
    assert binding_rotations([low, high])[ALICE.did] is low
    check_key_current(high, binding_rotations([low, high]))  # same instant: accepted, but void


@pytest.mark.parametrize("offset, rejected", [(-1, False), (0, False), (1, True), (10**6, True)])
def test_objects_after_the_rotation_instant_are_rejected(offset, rejected):
    binding = binding_rotations([rotation(ALICE, BOB, T0)])
    obj = profile(ALICE, T0 + offset)
    if rejected:
        with pytest.raises(KeyRotated):
            check_key_current(obj, binding)
    else:
        check_key_current(obj, binding)


def test_successor_and_unrotated_keys_are_current():
    binding = binding_rotations([rotation(ALICE, BOB, T0)])
    check_key_current(profile(BOB, T0 + 10**6), binding)
    check_key_current(profile(CAROL, T0 + 10**6), binding)
    assert current_key(CAROL.did, binding) == CAROL.did


def test_self_rotation_is_invalid_and_binds_nothing():
    selfish = make(ALICE, "key_rotation", {"successor": ALICE.did}, T0)
    with pytest.raises(InvalidBody) as err:
        check_rotation(selfish)
    assert err.value.code == "invalid_body"
    check_rotation(rotation(ALICE, BOB, T0))
    genuine = rotation(ALICE, BOB, T0 + 5)
    assert binding_rotations([selfish, genuine]) == {ALICE.did: genuine}


def test_binding_ignores_other_types():
    assert binding_rotations([profile(ALICE, T0), make(ALICE, "retract", {"target": "0" * 64}, T0)]) == {}


def test_current_key_follows_the_chain():
    binding = binding_rotations([rotation(ALICE, BOB, T0), rotation(BOB, CAROL, T0 + 1),
                                 rotation(CAROL, DAVE, T0 + 2)])
    assert [current_key(i.did, binding) for i in (ALICE, BOB, CAROL, DAVE)] == [DAVE.did] * 4


def test_current_key_stops_at_the_first_repeat():
    binding = binding_rotations([rotation(ALICE, BOB, T0), rotation(BOB, CAROL, T0 + 1),
                                 rotation(CAROL, BOB, T0 + 2)])
    # ALICE -> BOB -> CAROL -> (BOB again): the walk stops at CAROL
    assert current_key(ALICE.did, binding) == CAROL.did
    assert current_key(BOB.did, binding) == CAROL.did
    assert current_key(CAROL.did, binding) == BOB.did


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3), st.integers(0, 2)),
                max_size=8), st.randoms(use_true_random=False))
def test_rotations_are_order_independent_and_walks_end(specs, rnd):
    people = [ALICE, BOB, CAROL, DAVE]
    rotations = [rotation(people[o], people[n], T0 + t, nonce) for o, n, t, nonce in specs if o != n]
    shuffled = rotations[:]
    rnd.shuffle(shuffled)
    binding = binding_rotations(rotations)
    assert binding == binding_rotations(shuffled)
    for old, chosen in binding.items():
        mine = [r for r in rotations if r.author == old]
        assert (chosen.created_at, chosen.id) == min((r.created_at, r.id) for r in mine)
    for person in people:
        assert current_key(person.did, binding) in {p.did for p in people}


# --- replaceable types ----------------------------------------------------

def test_later_profile_supersedes():
    old, new = profile(ALICE, T0), profile(ALICE, T0 + 1, "Alice B.")
    assert supersedes(new, old) and not supersedes(old, new)
    assert current([new, old]) is new
    assert current([]) is None


def test_same_instant_lowest_id_wins():
    a, b = profile(ALICE, T0, "A"), profile(ALICE, T0, "B")
    low, high = sorted([a, b], key=lambda o: o.id)
    assert supersedes(low, high) and not supersedes(high, low)
    assert current([high, low]) is low and current([low, high]) is low


def test_an_object_does_not_supersede_itself():
    obj = profile(ALICE, T0)
    assert not supersedes(obj, obj)
    assert current([obj, obj]) is obj


def test_different_slots_never_supersede():
    assert not supersedes(profile(ALICE, T0 + 1), profile(BOB, T0))
    assert not supersedes(make(ALICE, "hub", {"name": "h"}, T0 + 1), profile(ALICE, T0))
    offer = make(ALICE, "offer", {"title": "x"}, T0 + 1)
    assert replaceable_slot(offer) is None
    assert not supersedes(offer, make(ALICE, "offer", {"title": "y"}, T0))


def test_current_refuses_mixed_or_unreplaceable_candidates():
    with pytest.raises(ValueError):
        current([profile(ALICE, T0), profile(BOB, T0)])
    with pytest.raises(ValueError):
        current([make(ALICE, "offer", {"title": "x"}, T0)])


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["profile", "hub"]),
       st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4)), min_size=1, max_size=7, unique=True),
       st.permutations(range(7)))
def test_current_is_the_same_in_any_order(type_, specs, order):
    objects = [make(ALICE, type_, {"name": f"n{nonce}"}, T0 + t) for t, nonce in specs]
    permuted = [objects[i] for i in order if i < len(objects)]
    # apply one at a time, as a store receiving gossip does
    held = None
    for obj in permuted:
        if held is None or supersedes(obj, held):
            held = obj
    latest = max(o.created_at for o in objects)
    expected = min((o for o in objects if o.created_at == latest), key=lambda o: o.id)
    assert held is expected
    assert current(permuted) is expected
    assert current(reversed(permuted)) is expected


# --- retraction -----------------------------------------------------------

def retract(who: Identity, target: SignedObject | str, at: int = T0 + 60) -> SignedObject:
    target_id = target if isinstance(target, str) else target.id
    return make(who, "retract", {"target": target_id}, at)


def test_author_may_retract_own_object():
    offer = make(ALICE, "offer", {"title": "Logo design"}, T0)
    withdrawal = retract(ALICE, offer)
    assert retract_target(withdrawal) == offer.id
    check_retract(withdrawal, offer)


def test_others_may_not_retract():
    offer = make(ALICE, "offer", {"title": "Logo design"}, T0)
    with pytest.raises(NotAuthorized) as err:
        check_retract(retract(BOB, offer), offer)
    assert err.value.code == "not_authorized"


@pytest.mark.parametrize("final", ["retract", "key_rotation"])
def test_final_types_cannot_be_retracted(final):
    target = retract(ALICE, "ab" * 32, T0) if final == "retract" else rotation(ALICE, BOB, T0)
    with pytest.raises(NotAuthorized) as err:
        check_retract(retract(ALICE, target), target)
    assert "final" in str(err.value)


def test_retract_checked_against_another_object_is_a_caller_mistake():
    offer = make(ALICE, "offer", {"title": "Logo design"}, T0)
    other = make(ALICE, "offer", {"title": "Web site"}, T0)
    with pytest.raises(ValueError):
        check_retract(retract(ALICE, offer), other)
    with pytest.raises(ValueError):
        retract_target(offer)


def test_retract_before_target_gives_the_same_outcome():
    """A store that holds a retract and applies it when the target arrives ends where in-order delivery ends."""
    offer = make(ALICE, "offer", {"title": "Logo design"}, T0)
    for withdrawal, effective in [(retract(ALICE, offer), True), (retract(BOB, offer), False)]:
        outcomes = set()
        for arrival in ([offer, withdrawal], [withdrawal, offer]):
            outcomes.add(_replay(arrival))
        assert outcomes == {effective}


def _replay(arrivals: list[SignedObject]) -> bool:
    """A minimal store: whether the offer ends retracted."""
    live: dict[str, SignedObject] = {}
    pending: dict[str, SignedObject] = {}
    retracted: set[str] = set()
    for obj in arrivals:
        if obj.type == "retract":
            target = live.get(retract_target(obj))
            if target is None:
                pending[retract_target(obj)] = obj
                continue
            try:
                check_retract(obj, target)
            except NotAuthorized:
                continue
            retracted.add(target.id)
            del live[target.id]
        elif obj.id in pending:
            try:
                check_retract(pending.pop(obj.id), obj)
                retracted.add(obj.id)
            except NotAuthorized:
                live[obj.id] = obj
        else:
            live[obj.id] = obj
    return bool(retracted)



# --- the spec's worked examples -------------------------------------------

SPEC = Path(__file__).resolve().parents[2] / "specs" / "protocol.md"


def _spec_section() -> str:
    text = SPEC.read_text(encoding="utf-8")
    start = text.index("<!-- section: multi-object-rules")
    return text[start:text.index("<!-- section:", start + 1)]


def _outcome(check, *args) -> str:
    try:
        check(*args)
    except ProtocolError as error:
        return error.code
    return "ok"


def test_spec_examples_are_reproducible():
    """Every id in section 6 is rebuilt here with body validation on, with the outcome the spec states."""
    section = _spec_section()
    a, b, c = ALICE, BOB, CAROL
    for identity in (a, b, c):
        assert f"`{identity.did}`" in section
    r1 = sign(a, "key_rotation", {"successor": b.did}, T0 + 100)
    r2 = sign(a, "key_rotation", {"successor": c.did}, T0 + 200)
    p_at = sign(a, "profile", {"name": "Ada"}, T0 + 100)
    p_after = sign(a, "profile", {"name": "Ada"}, T0 + 101)
    binding = binding_rotations([r2, r1])
    assert [_outcome(check_key_current, o, binding) for o in (r1, r2, p_at, p_after)] == \
        ["ok", "key_rotated", "ok", "key_rotated"]
    assert current_key(a.did, binding) == b.did
    r3 = sign(b, "key_rotation", {"successor": a.did}, T0 + 300)
    cycle = binding_rotations([r1, r2, r3])
    assert (current_key(a.did, cycle), current_key(b.did, cycle)) == (b.did, a.did)

    p1 = sign(a, "profile", {"name": "Ada"}, T0)
    p2 = sign(a, "profile", {"name": "Ada Lovelace"}, T0 + 60)
    p3 = sign(a, "profile", {"name": "Ada King"}, T0 + 60)
    assert current([p1, p2, p3]) == p3 and current([p1, p2]) == p2

    offer = sign(a, "offer", {"category": "web-design", "title": "Logo design",
                              "description": "A logo in three rounds.",
                              "price": {"amount": "400.00", "currency": "EUR"}, "unit": "fixed"}, T0)
    ra = sign(a, "retract", {"target": offer.id}, T0 + 300)
    rb = sign(b, "retract", {"target": offer.id}, T0 + 300)
    rr = sign(a, "retract", {"target": ra.id}, T0 + 400)
    assert [_outcome(check_retract, r, t) for r, t in ((ra, offer), (rb, offer), (rr, ra))] == \
        ["ok", "not_authorized", "not_authorized"]

    for obj in (r1, r2, p_at, p_after, r3, p1, p2, p3, offer, ra, rb, rr):
        assert f"`{obj.id}`" in section, f"{obj.type} {obj.id} missing from the spec"
