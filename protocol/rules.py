"""Rules that relate one object to others: key rotation, replaceable types, retraction.

Each rule is a pure function of verified `SignedObject`s, so that every node
that holds the same set of objects reaches the same state whatever order they
arrived in. Storage decides what to look up and when; these functions decide
what the objects mean. `specs/protocol.md` (section multi-object-rules) states
the rules; the functions here are their reference implementation.
"""

from typing import Iterable, Mapping

from protocol.envelope import SignedObject
from protocol.errors import InvalidBody, KeyRotated, NotAuthorized

REPLACEABLE_TYPES = frozenset({"profile", "hub"})
FINAL_TYPES = frozenset({"retract", "key_rotation", "delivery", "acceptance", "payment", "dispute", "ruling"})
"""Types that no retract may target: withdrawing them would undo a decision (or a record
another party relies on: a delivery, its acceptance, a payment, a dispute and its ruling)."""

FOLDED_RETRACT_TYPES = frozenset({"contract", "sign"})
"""Types whose retract does not hide them: the contract fold reads the retract and withdraws a
contract or sign only if the contract was not yet in force at the retract's `created_at`, so a
co-signed contract cannot be withdrawn by one party (spec section 6.3)."""


# --- key rotation ---------------------------------------------------------

def check_rotation(rotation: SignedObject) -> None:
    """Reject a key_rotation that names its own author as successor (`invalid_body`).

    Such a rotation would retire a key in favour of itself. `envelope.verify`
    already refuses it (the key_rotation body rule, spec section 4.3 step 10),
    so this only guards objects built without verification;
    `binding_rotations` ignores one if it slips through.
    """
    _require_type(rotation, "key_rotation")
    if rotation.body.get("successor") == rotation.author:
        raise InvalidBody("a key_rotation's successor must differ from its author")


def _rotation_order(rotation: SignedObject) -> tuple[int, str]:
    return (rotation.created_at, rotation.id)


def binding_rotations(rotations: Iterable[SignedObject]) -> dict[str, SignedObject]:
    """Map each rotated key (the old did) to its binding key_rotation.

    The binding rotation of a key is its earliest key_rotation: lowest
    `created_at`, ties broken by the lowest id. Later rotations by the same key
    are void. Objects of other types and self-rotations are ignored, so a
    store may pass its whole log.
    """
    binding: dict[str, SignedObject] = {}
    for rotation in rotations:
        if rotation.type != "key_rotation" or rotation.body.get("successor") == rotation.author:
            continue
        held = binding.get(rotation.author)
        if held is None or _rotation_order(rotation) < _rotation_order(held):
            binding[rotation.author] = rotation
    return binding


def check_key_current(obj: SignedObject, binding: Mapping[str, SignedObject]) -> None:
    """Raise `KeyRotated` if `obj` was signed by its author after that key was rotated.

    `binding` is the result of `binding_rotations`. An object whose
    `created_at` equals the rotation's is still accepted: only strictly later
    ones are refused.
    """
    rotation = binding.get(obj.author)
    if rotation is not None and obj.created_at > rotation.created_at:
        raise KeyRotated(
            f"{obj.author} was rotated to {rotation.body['successor']} at {rotation.created_at}; "
            f"this object claims {obj.created_at}"
        )


def current_key(did: str, binding: Mapping[str, SignedObject]) -> str:
    """Follow the successor chain from `did` to the key that currently speaks for it.

    The walk moves from a key to its binding rotation's successor until it
    reaches a key with no binding rotation, or a successor it has already
    visited (a cycle); it returns the last key reached. In a cycle every key
    has been rotated, so none of them can sign new objects.
    """
    visited = {did}
    key = did
    while (rotation := binding.get(key)) is not None:
        successor = rotation.body["successor"]
        if successor in visited:
            break
        visited.add(successor)
        key = successor
    return key


# --- replaceable types ----------------------------------------------------

def replaceable_slot(obj: SignedObject) -> tuple[str, str] | None:
    """The (author, type) slot a replaceable object competes in, or None."""
    return (obj.author, obj.type) if obj.type in REPLACEABLE_TYPES else None


def supersedes(new: SignedObject, old: SignedObject) -> bool:
    """Whether `new` replaces `old` as the current object of their slot.

    True only if both are in the same replaceable slot and `new` has the
    greater `created_at`, or the same `created_at` and the lower id. This is
    a strict total order within a slot, so the winner does not depend on the
    order in which objects arrive.
    """
    slot = replaceable_slot(new)
    if slot is None or slot != replaceable_slot(old):
        return False
    if new.created_at != old.created_at:
        return new.created_at > old.created_at
    return new.id < old.id


def current(objects: Iterable[SignedObject]) -> SignedObject | None:
    """The current object among candidates of one replaceable slot (None if none).

    Raises `ValueError` if the candidates span more than one slot or include a
    type that is not replaceable: that is a caller's mistake, not bad input.
    """
    winner: SignedObject | None = None
    for obj in objects:
        slot = replaceable_slot(obj)
        if slot is None:
            raise ValueError(f"{obj.type!r} is not a replaceable type")
        if winner is None:
            winner = obj
        elif slot != replaceable_slot(winner):
            raise ValueError(f"candidates span slots {replaceable_slot(winner)} and {slot}")
        elif supersedes(obj, winner):
            winner = obj
    return winner


# --- retraction -----------------------------------------------------------

def retract_target(retract: SignedObject) -> str:
    """The id a retract withdraws."""
    _require_type(retract, "retract")
    return retract.body["target"]


def check_retract(retract: SignedObject, target: SignedObject) -> None:
    """Raise `NotAuthorized` unless `retract` may withdraw `target`.

    Only the target's author may retract it, and a target of `FINAL_TYPES`
    (a retract, key_rotation, delivery, acceptance, payment, dispute or
    ruling) can never be retracted.
    Raises `ValueError` if `target` is not the object the retract names.
    """
    if retract_target(retract) != target.id:
        raise ValueError(f"retract {retract.id} names {retract.body['target']}, not {target.id}")
    if target.type in FINAL_TYPES:
        raise NotAuthorized(f"a {target.type} cannot be retracted: it is final")
    if retract.author != target.author:
        raise NotAuthorized(f"only the author {target.author} may retract {target.id}")


def _require_type(obj: SignedObject, type_: str) -> None:
    if obj.type != type_:
        raise ValueError(f"expected a {type_} object, got {obj.type!r}")
