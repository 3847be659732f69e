"""References of lifecycle objects: what each needs before it can be judged, and its root.

Every lifecycle object names other objects by id. One of those references,
its *parent*, leads towards the *root listing* (a `project` or an `offer`)
whose `category` the object inherits (spec section 13.1). The other
references (a task's `depends_on`, a contract's further scope items and
`supersedes`, a confirming payment's `confirms`) are needed to judge it too.
An object is judged once every id of `required_ids` is held; the ancestors
of a held object are held as well, because it was itself judged with them.

Ids are hashes of content that names earlier ids, so a chain of parents
cannot loop; `ancestors` still stops at a repeat, so a caller's bad mapping
cannot hang it.
"""

from typing import Any, Mapping

from protocol.envelope import SignedObject, is_object_id

ROOT_TYPES = frozenset({"project", "offer"})

# type -> (body member, the types it may name, whether it is the parent); a list member names several.
_REFERENCES: dict[str, tuple[tuple[str, frozenset[str], bool], ...]] = {
    "task": (("project", frozenset({"project"}), True), ("depends_on", frozenset({"task"}), False)),
    "claim": (("task", frozenset({"task"}), True), ("project", frozenset({"project"}), False)),
    "approval": (("claim", frozenset({"claim"}), True),),
    "reopen": (("task", frozenset({"task"}), True), ("project", frozenset({"project"}), False)),
    "proposal": (("target", frozenset({"project", "task", "offer"}), True),),
    "contract": (("scope", frozenset({"project", "task", "offer", "proposal"}), True),
                 ("supersedes", frozenset({"contract"}), False)),
    "sign": (("contract", frozenset({"contract"}), True),),
    "delivery": (("contract", frozenset({"contract"}), True),),
    "acceptance": (("delivery", frozenset({"delivery"}), True),),
    "payment": (("contract", frozenset({"contract"}), True), ("confirms", frozenset({"payment"}), False)),
    "dispute": (("contract", frozenset({"contract"}), True),),
    "ruling": (("dispute", frozenset({"dispute"}), True), ("contract", frozenset({"contract"}), False)),
    "review": (("contract", frozenset({"contract"}), True),),
}

LIFECYCLE_TYPES = frozenset(_REFERENCES)
"""Types judged in context: held back (pending) until every required id is held."""


def is_lifecycle(obj: SignedObject) -> bool:
    return obj.type in LIFECYCLE_TYPES


def references(obj: SignedObject) -> tuple[tuple[str, str, frozenset[str]], ...]:
    """Every reference of `obj` as (body path, id, the types it may name), in body order.

    Members that are absent or not ids are skipped: body validation already
    refused malformed ones, and optional members may be missing.
    """
    found: list[tuple[str, str, frozenset[str]]] = []
    for member, allowed, _ in _REFERENCES.get(obj.type, ()):
        value = obj.body.get(member)
        if isinstance(value, list):
            found.extend((f"body.{member}[{i}]", v, allowed) for i, v in enumerate(value) if is_object_id(v))
        elif is_object_id(value):
            found.append((f"body.{member}", value, allowed))
    return tuple(found)


def required_ids(obj: SignedObject) -> tuple[str, ...]:
    """The ids that must be held before `obj` can be judged (distinct, in body order); () for others."""
    return tuple(dict.fromkeys(ref_id for _, ref_id, _ in references(obj)))


def parent(obj: SignedObject | Mapping[str, Any]) -> str | None:
    """The one reference that leads towards the root listing (a contract's first scope item); None for roots."""
    type_, body = (obj.type, obj.body) if isinstance(obj, SignedObject) else (obj.get("type"), obj.get("body", {}))
    for member, _, is_parent in _REFERENCES.get(type_, ()):
        if is_parent:
            value = body.get(member)
            if isinstance(value, list):
                value = value[0] if value else None
            return value if is_object_id(value) else None
    return None


def ancestors(obj: SignedObject, held: Mapping[str, SignedObject]) -> list[SignedObject]:
    """The parent chain of `obj` among `held`, nearest first, ending at the root if it is held."""
    chain: list[SignedObject] = []
    seen = {obj.id}
    current = obj
    while current.type in LIFECYCLE_TYPES:
        parent_id = parent(current)
        if parent_id is None or parent_id in seen or parent_id not in held:
            break
        seen.add(parent_id)
        current = held[parent_id]
        chain.append(current)
    return chain


def root(obj: SignedObject, held: Mapping[str, SignedObject]) -> SignedObject | None:
    """The root listing (project or offer) of `obj`; `obj` itself if it is one; None if not reached."""
    if obj.type in ROOT_TYPES:
        return obj
    chain = ancestors(obj, held)
    return chain[-1] if chain and chain[-1].type in ROOT_TYPES else None


def root_id(obj: SignedObject, held: Mapping[str, SignedObject]) -> str | None:
    found = root(obj, held)
    return found.id if found is not None else None


def root_category(obj: SignedObject, held: Mapping[str, SignedObject]) -> str | None:
    """The category `obj` inherits from its root listing (a root's own), or None if not reached."""
    found = root(obj, held)
    return found.category if found is not None else None
