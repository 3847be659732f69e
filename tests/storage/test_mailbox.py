"""A hub's mailbox: held per recipient, duplicates, acknowledgement by the recipient only, TTL, bound."""

from protocol.identity import Identity
from protocol.envelope import sign
from protocol.message import seal_object
from storage import mailbox

ALICE, BOB, CAROL = (Identity(bytes([n]) * 32) for n in (31, 32, 33))
NOW = 1_767_225_600


def message(n: int = 0, to=(BOB,)):
    note = sign(ALICE, "proposal", {"target": "a" * 64, "category": "web-design",
                                    "price": {"amount": "1.00", "currency": "EUR"}, "message": f"bid {n}"}, NOW)
    return seal_object(ALICE, [r.did for r in to], note, NOW + n)


def test_held_for_each_recipient_until_it_acknowledges(store):
    sealed = message(to=(BOB, CAROL))
    assert store.write_sync(mailbox.deposit, sealed, NOW, 3600).status == "accepted"
    assert store.write_sync(mailbox.deposit, sealed, NOW, 3600).status == "duplicate"
    assert [h.object_id for h in store.read_sync(mailbox.held_for, BOB.did, NOW)] == [sealed.id]
    assert store.read_sync(mailbox.held_for, ALICE.did, NOW) == []  # the sender is not a recipient here
    assert store.write_sync(mailbox.acknowledge, ALICE.did, [sealed.id]) == 0
    assert store.write_sync(mailbox.acknowledge, BOB.did, [sealed.id, sealed.id]) == 1
    assert store.read_sync(mailbox.held_for, BOB.did, NOW) == []
    assert [h.wire for h in store.read_sync(mailbox.held_for, CAROL.did, NOW)] == [sealed.wire]


def test_expired_messages_are_neither_served_nor_kept(store):
    sealed = message()
    store.write_sync(mailbox.deposit, sealed, NOW, 60)
    assert store.read_sync(mailbox.held_for, BOB.did, NOW + 60) == []
    assert store.write_sync(mailbox.expire, NOW + 60) == 1
    assert store.read_sync(mailbox.count) == 0


def test_a_recipient_holds_at_most_the_bound_and_the_oldest_make_room(store, monkeypatch):
    monkeypatch.setattr(mailbox, "MAX_PER_RECIPIENT", 3)
    sent = [message(n) for n in range(5)]
    for n, sealed in enumerate(sent):
        store.write_sync(mailbox.deposit, sealed, NOW + n, 3600)
    assert [h.object_id for h in store.read_sync(mailbox.held_for, BOB.did, NOW)] == [s.id for s in sent[2:]]
