"""Who takes what (spec 9.3, 9.13): hubs by the inherited category, messages into the mailbox;
participants what names them, the dispute resolver included."""

from kinode.policy import admit
from protocol.envelope import sign
from protocol.identity import Identity
from protocol.message import seal_object

ALICE, BOB, RESOLVER, EVE = (Identity(bytes([n]) * 32) for n in (51, 52, 53, 54))
NOW = 1_767_225_600
EUR = {"amount": "10.00", "currency": "EUR"}
CONTRACT = sign(ALICE, "contract", {
    "parties": [{"did": ALICE.did, "role": "client"}, {"did": BOB.did, "role": "supplier"}], "scope": ["a" * 64],
    "terms": "t", "price": EUR, "milestones": [{"key": "all", "title": "all", "amount": EUR, "due": NOW + 10}],
    "deadline": NOW + 20, "dispute_resolver": RESOLVER.did}, NOW)
SIGN = sign(BOB, "sign", {"contract": CONTRACT.id}, NOW)
DISPUTE = sign(ALICE, "dispute", {"contract": CONTRACT.id, "resolver": RESOLVER.did, "reason": "late"}, NOW)
HUB = ("web-design",)


def code(error) -> str | None:
    return None if error is None else error.code


def test_a_hub_files_a_lifecycle_object_under_its_inherited_category():
    assert code(admit(SIGN, hub_categories=HUB, category="web-design")) is None
    assert code(admit(SIGN, hub_categories=HUB, category="translation")) == "category_not_served"
    assert code(admit(SIGN, hub_categories=HUB)) is None  # root not held yet: storage keeps it pending


def test_a_hub_takes_messages_for_its_mailbox_and_nothing_uncategorised_else():
    message = seal_object(ALICE, [BOB.did], CONTRACT, NOW)
    assert code(admit(message, hub_categories=HUB)) is None
    note = sign(ALICE, "offer", {"category": "translation", "title": "t", "description": "d", "price": EUR,
                                 "unit": "hour"}, NOW)
    assert code(admit(note, hub_categories=HUB)) == "category_not_served"


def test_a_participant_takes_what_names_it_as_party_or_resolver():
    assert code(admit(CONTRACT, owner=BOB.did)) is None
    assert code(admit(CONTRACT, owner=RESOLVER.did)) is None
    assert code(admit(DISPUTE, owner=RESOLVER.did)) is None
    assert code(admit(CONTRACT, owner=EVE.did)) == "not_addressed"
    assert code(admit(SIGN, owner=EVE.did)) == "not_addressed"
    assert code(admit(SIGN, owner=EVE.did, held={CONTRACT.id})) is None  # refers to what it holds
