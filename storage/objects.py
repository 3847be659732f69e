"""Storing verified objects: one batch, one transaction, one answer per object.

`store_verified` runs on the writer thread inside its transaction. It applies
the protocol's rules at rest (protocol.rules and protocol.lifecycle decide
what objects mean; this module decides what to look up):

- lifecycle objects (protocol.lifecycle.refs) are judged in context: while a
  required id is not held the object waits in `storage.pending` (answer
  "pending", code `awaiting_context`); once its context is held it is
  refused with the code of `protocol.lifecycle.check`, or stored with the
  category it inherits from its root listing in `objects.category`. Storing
  an object judges again, in the same transaction and to a fixpoint, the
  pending objects that waited for it: a batch "sign, contract" ends like
  "contract, sign", and a pending object of this batch is answered with its
  final verdict.
- duplicate: an id already stored, or earlier in the same batch. A stored
  object that is hidden stays hidden, and a re-delivery gets the answer its
  first delivery would get now: `retracted` (hidden by its author's
  retract), `key_rotated` (signed after its key's rotation) or
  `not_authorized` (a void retract).
- key_rotated: the author's key has a binding key_rotation and the object
  claims a later created_at. Such an object is kept hidden (`hidden_by` = the
  rotation), exactly as if it had arrived before the rotation; when a
  rotation arrives after such objects, they are hidden, so the stored set is
  the same whatever order the objects arrived in.
- retract: if the target is stored, protocol.rules.check_retract must pass
  (same author; FINAL_TYPES cannot be retracted) and the target is hidden,
  kept for audit, unless it is a contract or sign (FOLDED_RETRACT_TYPES: the
  contract fold reads the retract). If the target is unknown the retract is
  kept waiting; the target, arriving later from the same author, is refused
  "retracted" and kept hidden; from another author (or if it is final) the
  target is accepted and the retract is void: hidden, with `hidden_by` = the
  target's id.

Plain objects between two retracts or rotations are inserted with one
executemany: the hot path of a hub makes one query per batch per check, not
one per object.
"""

from typing import Callable, Iterable, Sequence

from sqlite_utils import Database

from protocol.envelope import SignedObject
from protocol.errors import KeyRotated, NotAuthorized, ProtocolError, Retracted
from protocol.lifecycle import refs
from protocol.lifecycle.check import check as check_in_context
from protocol.rules import (
    FINAL_TYPES, FOLDED_RETRACT_TYPES, binding_rotations, check_key_current, check_retract, check_rotation,
    retract_target,
)
from storage import outbox, pending
from storage.context import Context
from storage.derived import registered, remember, select_in, signed_from_wire
from storage.ingest import IngestResult, rejected

_INSERT = ("INSERT INTO objects(id, type, author, created_at, category, received_at, wire) "
           "VALUES (?, ?, ?, ?, ?, ?, ?)")
_INSERT_HIDDEN = ("INSERT INTO objects(id, type, author, created_at, category, received_at, wire, hidden_by) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")

InContext = Callable[[SignedObject, str | None], ProtocolError | None]
"""A node's admission of a lifecycle object once its inherited category is known (None: take it)."""
Route = Callable[[SignedObject, str | None], Iterable[str]]
"""Outbox destinations of an accepted object, given its (inherited) category."""


def store_verified(db: Database, checked: Sequence[SignedObject | ProtocolError], received_at: int,
                   forward_to: Iterable[str] = (), *, in_context: InContext | None = None,
                   route: Route | None = None, limits: pending.Limits = pending.Limits()) -> list[IngestResult]:
    """Store the verified objects of a batch; answer for every item, in order.

    `checked` is what `validate_batch` returned. Accepted objects are queued
    in the outbox for each destination of `forward_to` and of `route`, in
    the same transaction; a pending object keeps `forward_to` and is queued
    when it is accepted later. Must run inside the caller's transaction.
    """
    batch = _Batch(db, received_at, tuple(forward_to), in_context, route)
    results = batch.store(checked)
    pending.evict(db, received_at, limits)
    return results


class _Batch:
    def __init__(self, db: Database, received_at: int, forward_to: tuple[str, ...],
                 in_context: InContext | None, route: Route | None):
        self.db, self.conn = db, db.conn
        self.received_at = received_at
        self.forward_to = forward_to
        self.in_context, self.route = in_context, route
        self.hiders = registered()
        self.derived = [d for d in self.hiders if not d.deferred]  # deferred ones follow the commit (storage.deferred)
        self.deferred = len(self.derived) < len(self.hiders)
        self.context = Context(db)
        self.stored: dict[str, str | None] = {}  # id -> type of what hides it (None: visible)
        self.binding: dict[str, SignedObject] = {}
        self.retracted: dict[tuple[str, str], str] = {}  # (target, author) -> retract id
        self.awaited: set[str] = set()  # targets of retracts that wait for them
        self.pending_now: set[str] = set()
        self.run: list[tuple[SignedObject, str | None, tuple[str, ...]]] = []
        self.woken: list[str] = []  # ids stored since the pending objects were last looked at
        self.verdicts: dict[str, IngestResult] = {}  # pending objects judged in this transaction
        # Nothing can wait for an object while nothing is pending: then storing one costs no lookup.
        self.any_pending = db.execute("SELECT 1 FROM pending LIMIT 1").fetchone() is not None

    def _prepare(self, objs: list[SignedObject]) -> None:
        """Look up, with a few queries, what the rules need to know about these objects."""
        ids = list({o.id for o in objs} - self.stored.keys())
        for object_id, hider in select_in(
                self.conn, "SELECT o.id, h.type FROM objects o LEFT JOIN objects h ON h.id = o.hidden_by "
                "WHERE o.id IN ({})", ids):
            self.stored[object_id] = hider
        authors = list({o.author for o in objs} - self.binding.keys())
        for wire, in select_in(self.conn, "SELECT o.wire FROM key_rotations k JOIN objects o "
                               "ON o.id = k.rotation_id WHERE k.author IN ({})", authors):
            rotation = signed_from_wire(wire)
            self.binding[rotation.author] = rotation
        for target, author, retract_id in select_in(
                self.conn, "SELECT target, author, retract_id FROM retractions WHERE target IN ({})", ids):
            self.retracted[(target, author)] = retract_id
            self.awaited.add(target)
        self.pending_now |= pending.pending_ids(self.db, [o.id for o in objs if refs.is_lifecycle(o)])

    def store(self, checked: Sequence[SignedObject | ProtocolError]) -> list[IngestResult]:
        self._prepare([o for o in checked if isinstance(o, SignedObject)])
        results = []
        for item in checked:
            results.append(self._one(item, self.received_at, self.forward_to)
                           if isinstance(item, SignedObject) else rejected(item))
            self._drain()
        self._flush()
        return [self.verdicts.get(r.id, r) if r.status == "pending" else r for r in results]

    def _one(self, obj: SignedObject, received_at: int, forward: tuple[str, ...]) -> IngestResult:
        if obj.id in self.stored:
            return self._again(obj.id)
        if obj.id in self.pending_now:
            return _pending(obj.id, "it is already pending")
        category = obj.category
        try:
            if refs.is_lifecycle(obj):
                missing = self.context.missing(obj)
                if missing:
                    pending.hold(self.db, obj, missing, received_at, forward)
                    self.pending_now.add(obj.id)
                    self.any_pending = True
                    return _pending(obj.id, f"waiting for {', '.join(missing[:3])}")
                held = self.context.held(obj)
                check_in_context(obj, held)
                category = refs.root_category(obj, held)
                refusal = self.in_context(obj, category) if self.in_context is not None else None
                if refusal is not None:
                    raise refusal
            self._check_current(obj, category)
            if obj.type == "retract":
                self._retract(obj)
            elif obj.type == "key_rotation":
                self._rotate(obj)
            else:
                self.run.append((obj, category, forward))
            if obj.id in self.awaited:
                self._void_retracts(obj)
        except ProtocolError as error:
            return rejected(error, obj.id)
        self._stored(obj, None)
        return IngestResult(obj.id, "accepted")

    def _check_current(self, obj: SignedObject, category: str | None) -> None:
        """Refuse (and keep hidden) an object signed after its key's rotation or retracted before it arrived."""
        try:
            check_key_current(obj, self.binding)
        except KeyRotated:
            self._keep_hidden(obj, category, self.binding[obj.author].id, "key_rotation")
            raise
        retract_id = self.retracted.get((obj.id, obj.author))
        if retract_id is not None and obj.type not in FINAL_TYPES and obj.type not in FOLDED_RETRACT_TYPES:
            self._keep_hidden(obj, category, retract_id, "retract")
            raise Retracted(f"{obj.id} was retracted by its author before it arrived")

    def _again(self, object_id: str) -> IngestResult:
        hider = self.stored[object_id]
        if hider is None:
            return IngestResult(object_id, "duplicate")
        if hider == "retract":
            return rejected(Retracted(f"{object_id} was retracted by its author"), object_id)
        if hider == "key_rotation":
            return rejected(KeyRotated(f"{object_id} was signed after its author's key was rotated"), object_id)
        return rejected(NotAuthorized(f"{object_id} is a void retract: its target is another author's "
                                      "or cannot be retracted"), object_id)

    def _stored(self, obj: SignedObject, hider: str | None) -> None:
        self.stored[obj.id] = hider
        self.context.add(obj)
        self.woken.append(obj.id)

    def _drain(self) -> None:
        """Judge the pending objects that waited for what was just stored, until none is left to judge."""
        if not self.any_pending:
            self.woken.clear()
            return
        while self.woken:
            woken, self.woken = self.woken, []
            ready = pending.waiting_for(self.db, woken)
            if not ready:
                continue
            taken = pending.take(self.db, ready)
            self.pending_now -= {p.obj.id for p in taken}
            self._prepare([p.obj for p in taken])
            for entry in taken:
                verdict = self._one(entry.obj, entry.received_at, entry.forward)
                if verdict.status == "rejected":
                    pending.refused(self.db, entry.obj.id, verdict.code, verdict.detail, self.received_at)
                self.verdicts[entry.obj.id] = verdict

    def _keep_hidden(self, obj: SignedObject, category: str | None, hidden_by: str, hider: str) -> None:
        self._flush()
        self.conn.execute(_INSERT_HIDDEN,
                          (obj.id, obj.type, obj.author, obj.created_at, category, self.received_at, obj.wire,
                           hidden_by))
        for derived in self.derived:
            derived.apply(self.db, obj, True)
        self._stored(obj, hider)

    def _retract(self, retract: SignedObject) -> None:
        self._flush()  # the target may be in the current run
        target_id = retract_target(retract)
        row = self.conn.execute("SELECT wire, hidden_by FROM objects WHERE id = ?", (target_id,)).fetchone()
        target = signed_from_wire(row[0]) if row is not None else None
        if target is not None:
            check_retract(retract, target)
        self._insert([(retract, None, self.forward_to)])
        self.conn.execute("INSERT OR IGNORE INTO retractions(target, author, retract_id) VALUES (?, ?, ?)",
                          (target_id, retract.author, retract.id))
        self.retracted.setdefault((target_id, retract.author), retract.id)
        self.awaited.add(target_id)
        if target is not None and row[1] is None and target.type not in FOLDED_RETRACT_TYPES:
            self._hide([target_id], retract.id, "retract")

    def _void_retracts(self, target: SignedObject) -> None:
        void = self.conn.execute(
            "SELECT r.retract_id FROM retractions r JOIN objects o ON o.id = r.retract_id "
            "WHERE r.target = ? AND o.hidden_by IS NULL AND (r.author != ? OR ?)",
            (target.id, target.author, target.type in FINAL_TYPES)).fetchall()
        self._hide([row[0] for row in void], target.id, target.type)

    def _rotate(self, rotation: SignedObject) -> None:
        check_rotation(rotation)
        self._flush()
        self._insert([(rotation, None, self.forward_to)])
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
            "SELECT o.id, o.hidden_by FROM objects o LEFT JOIN objects h ON h.id = o.hidden_by "
            "WHERE o.author = ? AND o.created_at > ? AND (o.hidden_by IS NULL OR h.type = 'retract')",
            (rotation.author, rotation.created_at)).fetchall()
        self._hide([object_id for object_id, hidden_by in later if hidden_by is None], rotation.id, "key_rotation")
        # A rotation outranks a retract: an object both retracted and signed after the rotation is
        # answered key_rotated in every order (arriving after the rotation, it is refused so at once).
        retracted = [object_id for object_id, hidden_by in later if hidden_by is not None]
        self.conn.executemany("UPDATE objects SET hidden_by = ? WHERE id = ?",
                              [(rotation.id, object_id) for object_id in retracted])
        for object_id in retracted:
            if object_id in self.stored:
                self.stored[object_id] = "key_rotation"

    def _hide(self, object_ids: list[str], hidden_by: str, hider: str) -> None:
        self.conn.executemany("UPDATE objects SET hidden_by = ? WHERE id = ?",
                              [(hidden_by, object_id) for object_id in object_ids])
        for object_id in object_ids:
            if object_id in self.stored:
                self.stored[object_id] = hider
            for derived in self.hiders:
                derived.hide(self.db, object_id)

    def _flush(self) -> None:
        if self.run:
            run, self.run = self.run, []
            self._insert(run)

    def _insert(self, run: list[tuple[SignedObject, str | None, tuple[str, ...]]]) -> None:
        received_at = self.received_at
        self.conn.executemany(_INSERT, [
            (o.id, o.type, o.author, o.created_at, category, received_at, o.wire) for o, category, _ in run])
        objs = [o for o, _, _ in run]
        for derived in self.derived:
            derived.apply_visible(self.db, objs)
        if self.deferred:
            remember(objs)  # the catch-up takes them parsed
        by_destinations: dict[tuple[str, ...], list[str]] = {}
        for obj, category, forward in run:
            routed = tuple(self.route(obj, category)) if self.route is not None else ()
            destinations = tuple(dict.fromkeys(forward + routed))
            if destinations:
                by_destinations.setdefault(destinations, []).append(obj.id)
        for destinations, ids in by_destinations.items():
            outbox.enqueue_many(self.db, ids, destinations, received_at)


def _pending(object_id: str, why: str) -> IngestResult:
    return IngestResult(object_id, "pending", "awaiting_context",
                        f"not all the objects it refers to are held yet ({why}); send it again later")
