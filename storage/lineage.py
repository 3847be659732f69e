"""Reading an object's chain of references up to its root listing.

A lifecycle object inherits the category of the listing (project or offer)
at the root of its parent chain (protocol.lifecycle.refs); routing (which
hubs take it) and a hub's admission need that category before the object is
stored, so it is read here from the objects already held.
"""

from sqlite_utils import Database

from protocol.envelope import SignedObject
from protocol.lifecycle import refs
from storage.derived import signed_from_wire

MAX_DEPTH = 16  # a chain is a handful of links (ruling, dispute, contract, proposal, task, project)


def chain(db: Database, obj: SignedObject) -> dict[str, SignedObject]:
    """The held ancestors of `obj` (parent first) and, for each, its other required ids that are held."""
    held: dict[str, SignedObject] = {}
    current = obj
    for _ in range(MAX_DEPTH):
        for object_id in refs.required_ids(current):
            if object_id not in held:
                found = _held(db, object_id)
                if found is not None:
                    held[object_id] = found
        parent_id = refs.parent(current)
        if parent_id is None or parent_id not in held:
            break
        current = held[parent_id]
    return held


def inherits_category(obj: SignedObject) -> bool:
    """Whether `obj`'s category comes from its root listing (a read): a lifecycle object without its own."""
    return obj.category is None and refs.is_lifecycle(obj)


def inherited_category(db: Database, obj: SignedObject) -> str | None:
    """`obj`'s own category, else its root listing's; None when the root is not held."""
    if not inherits_category(obj):
        return obj.category
    current = obj
    for _ in range(MAX_DEPTH):
        parent_id = refs.parent(current)
        if parent_id is None:
            return None
        row = db.execute("SELECT category, wire FROM objects WHERE id = ?", [parent_id]).fetchone()
        if row is None:
            return None
        if row[0] is not None:  # a root's own, or the inherited one storage filed it under
            return row[0]
        current = signed_from_wire(row[1])
    return None


def inherited_categories(db: Database, objs: list) -> dict[str, str | None]:
    return {o.id: inherited_category(db, o) for o in objs if isinstance(o, SignedObject)}


def _held(db: Database, object_id: str) -> SignedObject | None:
    row = db.execute("SELECT wire FROM objects WHERE id = ? AND hidden_by IS NULL", [object_id]).fetchone()
    return signed_from_wire(row[0]) if row else None
