"""One pass over a set of objects that the contract fold then reads by reference.

The fold asks "which signs name this contract", "which acceptances name this
delivery"; answering by scanning the set each time would make a participant
with a thousand contracts cost a million steps. `index_objects` files every
object under the id it refers to, once.

Retraction is applied here, per type (spec section 13.3.2): a retracted
object of a withdrawable type (review, proposal, claim, task, ...) is left
out as if it had never arrived, which is what storage does by hiding it;
retracts of contracts and signs are kept for the fold to weigh (they count
only before the contract is in force); retracts of deliveries, acceptances,
payments, disputes and rulings are void: those objects are final. So is
key rotation: given the `key_rotation`s, objects a key signed after its
binding rotation are left out.
"""

from dataclasses import dataclass
from operator import attrgetter
from typing import Iterable, Mapping

from protocol.envelope import SignedObject
from protocol.rules import binding_rotations

RETRACT_WEIGHED = frozenset({"contract", "sign"})
"""Types whose retract the contract fold weighs against the time the contract came into force."""
FINAL_LIFECYCLE_TYPES = frozenset({"delivery", "acceptance", "payment", "dispute", "ruling"})
"""Types no retract can withdraw: others have acted on them."""

# type -> the body member naming the object it is filed under
_FILED_UNDER = {"sign": "contract", "delivery": "contract", "payment": "contract", "dispute": "contract",
                "review": "contract", "acceptance": "delivery", "ruling": "dispute"}


@dataclass(frozen=True)
class Index:
    """Objects by id, by (referenced id, type), retracts by target, amendments by the contract they amend."""

    by_id: Mapping[str, SignedObject]
    under: Mapping[tuple[str, str], tuple[SignedObject, ...]]
    retracts: Mapping[str, tuple[SignedObject, ...]]
    amendments: Mapping[str, tuple[SignedObject, ...]]

    def named(self, ref_id: str, type_: str) -> tuple[SignedObject, ...]:
        """The objects of `type_` filed under `ref_id` (a payment confirmation is filed under "confirms")."""
        return self.under.get((ref_id, type_), ())

    def retracted_by_author(self, obj: SignedObject) -> int | None:
        """The earliest `created_at` of a retract of `obj` by its own author, or None."""
        times = [r.created_at for r in self.retracts.get(obj.id, ()) if r.author == obj.author]
        return min(times) if times else None

    def contracts(self) -> list[SignedObject]:
        return [obj for obj in self.by_id.values() if obj.type == "contract"]


def index_objects(objects: Iterable[SignedObject]) -> Index:
    """File `objects` (any mix of types; duplicates by id collapse) for the contract fold."""
    unique = {obj.id: obj for obj in objects}
    rotations = binding_rotations(obj for obj in unique.values() if obj.type == "key_rotation")
    if rotations:  # section 6.1: what a key signed after its binding rotation is not part of any state
        unique = {i: o for i, o in unique.items()
                  if o.author not in rotations or o.created_at <= rotations[o.author].created_at}
    retracts: dict[str, list[SignedObject]] = {}
    for obj in unique.values():
        if obj.type == "retract":
            retracts.setdefault(obj.body["target"], []).append(obj)
    by_id: dict[str, SignedObject] = {}
    under: dict[tuple[str, str], list[SignedObject]] = {}
    amendments: dict[str, list[SignedObject]] = {}
    filed_under = _FILED_UNDER.get
    for obj_id, obj in unique.items():
        if obj_id in retracts and _withdrawn(obj, retracts[obj_id]):
            continue
        by_id[obj_id] = obj
        type_, body = obj.type, obj.body
        member = filed_under(type_)
        if member is not None:
            key = (body[member], type_)
            group = under.get(key)
            if group is None:
                under[key] = [obj]
            else:
                group.append(obj)
            if type_ == "payment" and "confirms" in body:
                under.setdefault((body["confirms"], "confirms"), []).append(obj)
        elif type_ == "contract" and "supersedes" in body:
            amendments.setdefault(body["supersedes"], []).append(obj)
    return Index(by_id, _frozen(under), _frozen(retracts), _frozen(amendments))


def _withdrawn(obj: SignedObject, retracts: list[SignedObject]) -> bool:
    if obj.type in RETRACT_WEIGHED or obj.type in FINAL_LIFECYCLE_TYPES or obj.type in ("retract", "key_rotation"):
        return False
    return any(r.author == obj.author for r in retracts)


_ORDER = attrgetter("created_at", "id")


def _frozen(groups: dict) -> dict:
    # Sorted by the fold's tie-break so every reader sees one order, whatever the input order.
    return {key: tuple(items) if len(items) == 1 else tuple(sorted(items, key=_ORDER))
            for key, items in groups.items()}
