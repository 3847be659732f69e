"""Which objects a node takes in: a hub's categories, a participant's own business.

Both answers are the spec's (section 9.3); they return the rejection rather
than raising it so a batch can carry on.
"""

from protocol.envelope import SignedObject
from protocol.errors import CategoryNotServed, NotAddressed, ProtocolError
from protocol.lifecycle.refs import LIFECYCLE_TYPES

REFERENCE_KEYS = ("target", "contract", "delivery", "task", "project", "dispute", "claim")
"""Body members that name another object: a participant takes objects that refer to ones it holds."""

HUB_GLOBAL_TYPES = frozenset({"profile", "hub", "category", "endorsement", "key_rotation", "retract",
                              "label", "response"})  # labels and responses: moderation travels to every hub (spec 14.4)


def admit(obj: SignedObject, *, hub_categories: tuple[str, ...] | None = None, owner: str | None = None,
          held: set[str] | frozenset[str] = frozenset(), category: str | None = None) -> ProtocolError | None:
    """None if the node takes `obj`, else the rejection to report.

    A hub (given `hub_categories`) takes the global types from anyone and
    anything filed under a category it serves: `category` is the one a
    lifecycle object inherits from its root listing, when the hub holds that
    root; a lifecycle object whose root it does not hold yet is taken (storage
    keeps it pending until its context arrives), and a `message` goes to the
    hub's mailbox for its recipients. A participant's node (given
    `owner`) takes its owner's objects, messages and contracts that name the
    owner, and objects that refer to an object it holds (`held` ids).
    """
    if hub_categories is not None:
        filed = category if category is not None else obj.category
        if obj.type in HUB_GLOBAL_TYPES or obj.type == "message" or filed in hub_categories:
            return None
        if filed is None and obj.type in LIFECYCLE_TYPES:
            return None
        return CategoryNotServed(f"this hub does not serve category {filed!r}"
                                 if filed else f"this hub does not take {obj.type} objects without a category")
    if obj.author == owner or _names(obj, owner):
        return None
    if any(isinstance(obj.body.get(k), str) and obj.body[k] in held
           for k in REFERENCE_KEYS):
        return None
    return NotAddressed("this node only takes objects by or addressed to its owner")


def _names(obj: SignedObject, did: str | None) -> bool:
    body = obj.body
    if obj.type == "message":
        return any(isinstance(r, dict) and r.get("to") == did for r in body.get("recipients", ()))
    if obj.type == "contract":
        return (body.get("dispute_resolver") == did
                or any(isinstance(p, dict) and p.get("did") == did for p in body.get("parties", ())))
    return did in (body.get("subject"), body.get("coordinator"), body.get("resolver"))
