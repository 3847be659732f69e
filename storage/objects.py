"""Storing verified objects: one batch, one transaction, one answer per object.

`store_verified` runs on the writer thread inside its transaction. It applies
the protocol's rules at rest (protocol.rules decides what objects mean; this
module decides what to look up):

- duplicate: an id already stored, or earlier in the same batch. A stored
  object that is hidden stays hidden: a re-delivery never resurrects it.
- key_rotated: the author's key has a binding key_rotation and the object
  claims a later created_at. When a rotation arrives after such objects were
  already stored, they are hidden (`hidden_by` = the rotation), so the
  visible set is the same whatever order the objects arrived in.
- retract: if the target is stored, protocol.rules.check_retract must pass
  (same author; retracts and rotations are final) and the target is hidden,
  kept for audit. If the target is unknown the retract is stored as pending;
  the target, arriving later from the same author, is rejected "retracted";
  from another author (or if it is itself final: a retract or key_rotation)
  the target is accepted and the retract is void: hidden, with `hidden_by` =
  the target's id, so that every node lists the same objects whatever order
  they arrived in (one that saw the target first refused the retract).

Plain objects between two retracts or rotations are inserted with one
executemany: the hot path of a hub makes one query per batch per check, not
one per object.
"""

from typing import Iterable, Sequence

from sqlite_utils import Database

from protocol.envelope import SignedObject
from protocol.errors import ProtocolError, Retracted
from protocol.rules import (
    FINAL_TYPES, binding_rotations, check_key_current, check_retract, check_rotation, retract_target,
)
from storage import outbox
from storage.derived import registered, select_in, signed_from_wire
from storage.ingest import IngestResult, rejected

_INSERT = ("INSERT INTO objects(id, type, author, created_at, category, received_at, wire) "
           "VALUES (?, ?, ?, ?, ?, ?, ?)")


def store_verified(db: Database, checked: Sequence[SignedObject | ProtocolError], received_at: int,
                   forward_to: Iterable[str] = ()) -> list[IngestResult]:
    """Store the verified objects of a batch; answer for every item, in order.

    `checked` is what `validate_batch` returned. Accepted objects are queued
    in the outbox for each destination of `forward_to`, in the same
    transaction. Must run inside the caller's transaction.
    """
    return _Batch(db, checked, received_at, tuple(forward_to)).store(checked)


class _Batch:
    def __init__(self, db: Database, checked: Sequence[object], received_at: int,
                 forward_to: tuple[str, ...]):
        self.db, self.conn = db, db.conn
        self.received_at = received_at
        self.forward_to = forward_to
        self.derived = registered()
        objs = [o for o in checked if isinstance(o, SignedObject)]
        ids = list({o.id for o in objs})
        self.seen = {row[0] for row in select_in(self.conn, "SELECT id FROM objects WHERE id IN ({})", ids)}
        self.binding = {
            rotation.author: rotation
            for rotation in (signed_from_wire(row[0]) for row in select_in(
                self.conn, "SELECT o.wire FROM key_rotations k JOIN objects o ON o.id = k.rotation_id "
                "WHERE k.author IN ({})", list({o.author for o in objs})))}
        self.retracted = set(select_in(
            self.conn, "SELECT target, author FROM retractions WHERE target IN ({})", ids))
        self.awaited = {target for target, _ in self.retracted}  # targets of pending retracts
        self.run: list[SignedObject] = []

    def store(self, checked: Sequence[SignedObject | ProtocolError]) -> list[IngestResult]:
        results = [self._one(item) if isinstance(item, SignedObject) else rejected(item) for item in checked]
        self._flush()
        return results

    def _one(self, obj: SignedObject) -> IngestResult:
        if obj.id in self.seen:
            return IngestResult(obj.id, "duplicate")
        try:
            check_key_current(obj, self.binding)
            if (obj.id, obj.author) in self.retracted and obj.type not in FINAL_TYPES:
                raise Retracted(f"{obj.id} was retracted by its author before it arrived")
            if obj.type == "retract":
                self._retract(obj)
            elif obj.type == "key_rotation":
                self._rotate(obj)
            else:
                self.run.append(obj)
            if obj.id in self.awaited:
                self._void_retracts(obj)
        except ProtocolError as error:
            return rejected(error, obj.id)
        self.seen.add(obj.id)
        return IngestResult(obj.id, "accepted")

    def _retract(self, retract: SignedObject) -> None:
        self._flush()  # the target may be in the current run
        target_id = retract_target(retract)
        row = self.conn.execute("SELECT wire, hidden_by FROM objects WHERE id = ?", (target_id,)).fetchone()
        if row is not None:
            check_retract(retract, signed_from_wire(row[0]))
        self._insert([retract])
        self.conn.execute("INSERT OR IGNORE INTO retractions(target, author, retract_id) VALUES (?, ?, ?)",
                          (target_id, retract.author, retract.id))
        self.retracted.add((target_id, retract.author))
        self.awaited.add(target_id)
        if row is not None and row[1] is None:
            self._hide([target_id], retract.id)

    def _void_retracts(self, target: SignedObject) -> None:
        void = self.conn.execute(
            "SELECT r.retract_id FROM retractions r JOIN objects o ON o.id = r.retract_id "
            "WHERE r.target = ? AND o.hidden_by IS NULL AND (r.author != ? OR ?)",
            (target.id, target.author, target.type in FINAL_TYPES)).fetchall()
        self._hide([row[0] for row in void], target.id)

    def _rotate(self, rotation: SignedObject) -> None:
        check_rotation(rotation)
        self._flush()
        self._insert([rotation])
        held = self.binding.get(rotation.author)
        binding = binding_rotations([r for r in (held, rotation) if r is not None])[rotation.author]
        if binding.id != rotation.id:
            return  # a later rotation of an already rotated key: stored, void
        self.binding[rotation.author] = rotation
        self.conn.execute(
            "INSERT INTO key_rotations(author, rotated_at, rotation_id, successor) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(author) DO UPDATE SET rotated_at = excluded.rotated_at, "
            "rotation_id = excluded.rotation_id, successor = excluded.successor",
            (rotation.author, rotation.created_at, rotation.id, rotation.body["successor"]))
        later = self.conn.execute(
            "SELECT id FROM objects WHERE author = ? AND created_at > ? AND hidden_by IS NULL",
            (rotation.author, rotation.created_at)).fetchall()
        self._hide([row[0] for row in later], rotation.id)

    def _hide(self, object_ids: list[str], hidden_by: str) -> None:
        self.conn.executemany("UPDATE objects SET hidden_by = ? WHERE id = ?",
                              [(hidden_by, object_id) for object_id in object_ids])
        for object_id in object_ids:
            for derived in self.derived:
                derived.hide(self.db, object_id)

    def _flush(self) -> None:
        if self.run:
            self._insert(self.run)
            self.run = []

    def _insert(self, objs: list[SignedObject]) -> None:
        received_at = self.received_at
        self.conn.executemany(_INSERT, [
            (o.id, o.type, o.author, o.created_at, o.category, received_at, o.wire) for o in objs])
        for derived in self.derived:
            derived.apply_visible(self.db, objs)
        if self.forward_to:
            outbox.enqueue_many(self.db, [o.id for o in objs], self.forward_to, received_at)

