"""The context of a lifecycle object, read from what a store holds.

The context of an object is every id of `refs.required_ids(obj)` and the
parent chains of those up to the root listing (spec section 13.1). An
object counts as held when it is stored, visible or hidden: a project that
was retracted (or signed after a key rotation) is still stored whatever
order the objects came in, so a task referring to it is judged the same
way in every order; the folds then leave out what is hidden.

Every stored lifecycle object was itself judged with its context held, so
once the required ids are held their ancestors are too.
"""

from typing import Mapping

from sqlite_utils import Database

from protocol.envelope import SignedObject
from protocol.lifecycle import refs
from storage.derived import select_in, signed_from_wire

MAX_DEPTH = 16  # a chain is a handful of links (ruling, dispute, contract, proposal, task, project)


class Context:
    """Reads objects by id for one batch, remembering what it read and what the batch stored."""

    def __init__(self, db: Database):
        self.conn = db.conn
        self.known: dict[str, SignedObject] = {}

    def add(self, obj: SignedObject) -> None:
        """`obj` was stored in this batch (perhaps not yet written: runs are inserted together)."""
        self.known[obj.id] = obj

    def load(self, ids: list[str]) -> None:
        wanted = [i for i in dict.fromkeys(ids) if i not in self.known]
        for wire, in select_in(self.conn, "SELECT wire FROM objects WHERE id IN ({})", wanted):
            obj = signed_from_wire(wire)
            self.known[obj.id] = obj

    def missing(self, obj: SignedObject) -> list[str]:
        """The required ids of `obj` that are not held."""
        needed = list(refs.required_ids(obj))
        self.load(needed)
        return [i for i in needed if i not in self.known]

    def held(self, obj: SignedObject) -> Mapping[str, SignedObject]:
        """The required objects of `obj` and their ancestors (call once `missing(obj)` is empty)."""
        held: dict[str, SignedObject] = {}
        frontier = list(refs.required_ids(obj))
        for _ in range(MAX_DEPTH):
            self.load(frontier)
            next_frontier = []
            for object_id in frontier:
                found = self.known.get(object_id)
                if found is None or object_id in held:
                    continue
                held[object_id] = found
                parent_id = refs.parent(found)
                if parent_id is not None and parent_id not in held:
                    next_frontier.append(parent_id)
            if not next_frontier:
                break
            frontier = next_frontier
        return held
