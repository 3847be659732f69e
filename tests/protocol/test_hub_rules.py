"""The pure rules of category hubs (spec section 14): endorsement standing and labels (receipts: test_receipts.py)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import hubs
from protocol.envelope import sign
from protocol.identity import Identity

T = 1767225600
HUB, HUB2, LEADER, OUTSIDER, EXPERT = (Identity(bytes([n]) * 32) for n in (11, 12, 13, 14, 15))


def announce(who, categories, leaders=(), at=T):
    body = {"url": "https://hub.example/", "name": "hub", "categories": list(categories)}
    if leaders:
        body["leaders"] = [l.did for l in leaders]
    return sign(who, "hub", body, at)


def endorse(who, subject=EXPERT, category="web-design", at=T):
    return sign(who, "endorsement", {"subject": subject.did, "category": category, "level": "expert"}, at)


def test_the_hub_and_its_named_leaders_count_and_no_one_else():
    announcements = [announce(HUB, ["web-design"], [LEADER])]
    recognized = {HUB.did}
    assert hubs.standing(endorse(HUB), announcements, recognized).counts
    by_leader = hubs.standing(endorse(LEADER), announcements, recognized)
    assert by_leader.counts and by_leader.hub == HUB.did and "leader named by hub" in by_leader.why
    outsider = hubs.standing(endorse(OUTSIDER), announcements, recognized)
    assert not outsider.counts and "not a leader of web-design" in outsider.why


def test_other_category_unrecognized_hub_and_revocation_do_not_count():
    announcements = [announce(HUB, ["copywriting"], [LEADER]), announce(HUB2, ["web-design"], [LEADER])]
    assert not hubs.standing(endorse(LEADER), announcements, {HUB.did}).counts  # HUB2 not recognized
    assert hubs.standing(endorse(LEADER), announcements, {HUB.did, HUB2.did}).hub == HUB2.did
    revoked = hubs.standing(endorse(HUB2), announcements, {HUB2.did}, revoked_by="r" * 64)
    assert not revoked.counts and revoked.revoked_by == "r" * 64 and "revoked" in revoked.why


def test_is_endorsed_needs_a_counting_endorsement_in_that_category():
    announcements = [announce(HUB, ["web-design"])]
    found = [hubs.standing(e, announcements, {HUB.did}) for e in (endorse(OUTSIDER), endorse(HUB, category="seo"))]
    assert not hubs.is_endorsed(EXPERT.did, "web-design", found)
    found.append(hubs.standing(endorse(HUB), announcements, {HUB.did}))
    assert hubs.is_endorsed(EXPERT.did, "web-design", found)


OBJECTS = [announce(HUB, ["web-design"], [LEADER]), announce(HUB2, ["web-design"]),
           *(endorse(w, at=T + n) for n, w in enumerate((HUB, LEADER, OUTSIDER, HUB2)))]


@settings(max_examples=60, deadline=None)
@given(st.permutations(OBJECTS), st.sets(st.sampled_from([HUB.did, HUB2.did])))
def test_standing_is_a_function_of_the_set_not_of_arrival_order(order, recognized):
    announcements = [o for o in order if o.type == "hub"]
    got = {e.id: hubs.standing(e, announcements, recognized).counts for e in order if e.type == "endorsement"}
    canonical = [o for o in OBJECTS if o.type == "hub"]
    assert got == {e.id: hubs.standing(e, canonical, recognized).counts for e in OBJECTS if e.type == "endorsement"}


def test_labels_apply_until_they_expire_only_when_honoured_with_the_affected_authors_responses():
    listing = sign(EXPERT, "offer", {"category": "web-design", "title": "Site", "description": "A site.",
                                     "price": {"amount": "10", "currency": "EUR"}, "unit": "hour"}, T)
    label = sign(HUB, "label", {"scope": "object", "target": listing.id, "reason": "spam", "expires": T + 100}, T)
    answer = sign(EXPERT, "response", {"label": label.id, "text": "Not spam."}, T + 1)
    heckle = sign(OUTSIDER, "response", {"label": label.id, "text": "Spam!"}, T + 1)
    held = {listing.id: listing}
    state = hubs.label_state(label, T + 99, {HUB.did}, [heckle, answer], held)
    assert state.applies and [r.id for r in state.responses] == [answer.id]
    assert hubs.delisting(listing, [state]) == [state]
    expired = hubs.label_state(label, T + 100, {HUB.did}, [], held)
    assert not expired.applies and "expired" in expired.why and hubs.delisting(listing, [expired]) == []
    assert not hubs.label_state(label, T, {HUB2.did}, [], held).applies
    blocked = sign(HUB, "label", {"scope": "author", "subject": EXPERT.did, "reason": "fraud", "expires": T + 9}, T)
    assert hubs.delisting(listing, [hubs.label_state(blocked, T, {HUB.did})])
