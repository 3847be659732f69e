"""`kinode export` and `kinode import`: a participant's whole history as one signed, portable file.

What goes in (docs/export.md describes the file):
- every object by the participant's keys (the current one and those rotated out),
- every object that names them (a contract party, a review's subject, ...),
- every object that refers, directly or through others, to one of those (a sign
  of their contract, an acceptance of their delivery, a retract),
- and what all of these refer to (the project a claim is on), so a new node
  can judge each object in its context;
- the delivery receipts of their own objects (where each went, what became of it);
- with --keys only: the key files, always encrypted.

The file is signed by the participant's current key, so a copy that was
altered on the way is refused as a whole on import.
"""

import argparse
import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

from kinode import keystore
from kinode.cli.commands import open_store, read_text
from kinode.cli.output import BadInput, CliError, add_json_flag, emit
from kinode.cli.progress import Progress
from kinode.node import GOSSIP
from protocol import canonical
from protocol.errors import ProtocolError
from protocol.identity import Identity, verify_signature
from storage import deliveries, outbox
from storage.ingest import validate_batch
from storage.objects import store_verified
from storage.store import Store

FORMAT = "kinode-history/1"
SIGNATURE_CONTEXT = b"ki-history-v1:"
CHUNK = 500
_ID = re.compile(rb'"([0-9a-f]{64})"')


def add_commands(commands: argparse._SubParsersAction, unlock, passphrase_env: str) -> None:
    export = commands.add_parser(
        "export", help="write this participant's whole history to one signed file",
        description="Write every object by this node's owner (current and rotated-out keys), every object that names "
                    "them or refers to theirs, what those refer to, and the delivery receipts, to one file signed by "
                    f"the current key. --keys adds the key files, encrypted (with ${passphrase_env} or the prompt if "
                    "they are stored unencrypted).")
    export.add_argument("--data-dir", required=True, help="the node's data directory")
    export.add_argument("--output", "-o", required=True, metavar="FILE", help="where to write it (- for stdout)")
    export.add_argument("--keys", action="store_true", help="include the identity keys, encrypted")
    add_json_flag(export)
    export.set_defaults(run=lambda args: _export(args, unlock, passphrase_env))

    load = commands.add_parser(
        "import", help="load a history file from `kinode export` into this node",
        description="Check the file's signature, then store every object in it (the participant's own are queued for "
                    "their hubs again), with a progress bar on a terminal. --keys also installs the keys it carries "
                    "(into a data directory without an identity, or with the same one).")
    load.add_argument("file", metavar="FILE", help="the export file, or - for stdin")
    load.add_argument("--data-dir", required=True, help="the node's data directory (created if missing)")
    load.add_argument("--keys", action="store_true", help="install the keys the file carries")
    add_json_flag(load)
    load.set_defaults(run=_import)


def _export(args, unlock, passphrase_env: str) -> int:
    identity = unlock(args.data_dir)
    dids = sorted({identity.did, *keystore.retired_dids(args.data_dir)})
    store = open_store(args.data_dir)
    try:
        objects, receipts = store.read_sync(_history, dids)
    finally:
        store.close()
    document = {"format": FORMAT, "participant": identity.did, "keys_of": dids, "exported_at": int(time.time()),
                "objects": objects, "receipts": receipts,
                "keys": _keys(args, identity, passphrase_env) if args.keys else None}
    document["signature"] = identity.sign(SIGNATURE_CONTEXT + _digest(document)).hex()
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"
    summary = {"participant": identity.did, "objects": len(objects), "receipts": len(receipts),
               "keys": args.keys, "output": args.output}
    if args.output == "-":
        sys.stdout.write(text)
        print(f"exported {len(objects)} objects of {identity.did}", file=sys.stderr)
        return 0
    Path(args.output).write_text(text, encoding="utf-8")
    emit(args, summary, f"exported {len(objects)} objects and {len(receipts)} receipts of {identity.did} to {args.output}"
                        + (" (with the keys, encrypted)" if args.keys else ""))
    return 0


def _history(db, dids: list[str]) -> tuple[list[dict], list[dict]]:
    refers: dict[str, set[str]] = {}
    referred_by: dict[str, set[str]] = {}
    start: set[str] = set()
    needles = [did.encode() for did in dids]
    for object_id, wire in db.execute("SELECT id, wire FROM objects"):
        ids = {m.decode() for m in _ID.findall(wire)} - {object_id}
        refers[object_id] = ids
        for target in ids:
            referred_by.setdefault(target, set()).add(object_id)
        if any(needle in wire for needle in needles):  # by them, or naming them
            start.add(object_id)
    held = refers.keys()
    chosen = _closure(start, referred_by, held)  # what concerns them, through any chain of references
    chosen = _closure(chosen, refers, held)  # and the context each needs to be judged
    rows = db.execute(f"SELECT id, wire FROM objects WHERE id IN ({','.join('?' * len(chosen))}) ORDER BY created_at, id",
                      sorted(chosen)).fetchall() if chosen else []
    own = [r[0] for r in db.execute(
        f"SELECT id FROM objects WHERE author IN ({','.join('?' * len(dids))})", dids).fetchall()]
    receipts = [{"object": d.object_id, "destination": d.destination, "name": d.name, "state": d.state,
                 "code": d.code, "detail": d.detail, "updated_at": d.updated_at}
                for routes in deliveries.of(db, own).values() for d in routes]
    return [json.loads(wire) for wire in _references_first(rows, refers)], receipts


def _references_first(rows: list[tuple[str, bytes]], refers: dict[str, set[str]]) -> list[bytes]:
    """Wires in (created_at, id) order, except that each comes after what it refers to.

    A retract and its target signed in the same second would otherwise go in
    id order; an importer then meets the retract first (the rules give the same
    state either way, but the target is answered `retracted` instead of stored
    quietly).
    """
    wires = dict(rows)
    placed: set[str] = set()
    ordered: list[bytes] = []

    def place(object_id: str) -> None:
        stack = [(object_id, iter(sorted(refers.get(object_id, set()) & wires.keys())))]
        placed.add(object_id)
        while stack:
            current, pending = stack[-1]
            nxt = next((r for r in pending if r not in placed), None)
            if nxt is None:
                stack.pop()
                ordered.append(wires[current])
            else:
                placed.add(nxt)
                stack.append((nxt, iter(sorted(refers.get(nxt, set()) & wires.keys()))))

    for object_id, _ in rows:
        if object_id not in placed:
            place(object_id)
    return ordered


def _closure(start: set[str], edges: dict[str, set[str]], held) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt in held and nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _keys(args, identity, passphrase_env: str) -> dict:
    current, retired = keystore.key_documents(args.data_dir)
    if "seed" in current or any("seed" in d for d in retired):
        passphrase = _new_passphrase(passphrase_env)
        if "seed" in current:
            current = keystore.encrypted_document(identity, passphrase)
        retired = [keystore.encrypted_document(Identity(bytes.fromhex(d["seed"])), passphrase) if "seed" in d else d
                   for d in retired]
    return {"identity": current, "retired": retired}


def _new_passphrase(passphrase_env: str) -> str:
    from_env = os.environ.get(passphrase_env)
    if from_env:
        return from_env
    from kinode.cli.entry import _prompt
    return _prompt("Passphrase to encrypt the exported keys: ",
                   f"set {passphrase_env} to a passphrase: keys leave this machine only encrypted")


def _digest(document: dict) -> bytes:
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    return hashlib.sha256(canonical.encode(unsigned)).hexdigest().encode()


def _import(args) -> int:
    document = _read_signed(sys.stdin.read() if args.file == "-" else read_text(args.file))
    if args.keys and not document["keys"]:
        raise BadInput("the file carries no keys; export it again with --keys", code="bad_input")
    now = int(time.time())
    own = set(document["keys_of"])
    checked = validate_batch(document["objects"], now)
    Path(args.data_dir).mkdir(parents=True, exist_ok=True)
    store = Store(Path(args.data_dir) / "kinode.db")
    counts: dict[str, int] = {}
    refused = []
    try:
        with Progress("import", len(checked)) as bar:
            for start in range(0, len(checked), CHUNK):
                chunk = checked[start:start + CHUNK]
                for obj_or_error, result in zip(chunk, store.write_sync(_store_chunk, chunk, own, now)):
                    counts[result.status] = counts.get(result.status, 0) + 1
                    if result.status == "rejected":
                        refused.append({"id": result.id, "code": result.code, "detail": result.detail})
                bar.advance(steps=len(chunk))
        store.write_sync(_restore_receipts, document["receipts"])
        held = store.read_sync(lambda db: {r[0] for r in db.execute("SELECT id FROM objects")})
    finally:
        store.close()
    # A refused object that is nonetheless held was kept hidden (retracted or rotated out
    # before it arrived): nothing of the history is lost, so it is not reported as refused.
    hidden = [r for r in refused if r["id"] in held]
    refused = [r for r in refused if r["id"] not in held]
    if hidden:
        counts["kept hidden"] = len(hidden)
        counts["rejected"] -= len(hidden)
        if not counts["rejected"]:
            del counts["rejected"]
    if args.keys:
        keystore.install_documents(args.data_dir, document["keys"]["identity"], document["keys"]["retired"])
    summary = {"participant": document["participant"], "objects": len(checked), "results": counts,
               "refused": refused, "receipts": len(document["receipts"]), "keys": bool(args.keys)}
    emit(args, summary, _import_lines)
    return 0


def _read_signed(text: str) -> dict:
    try:
        document = canonical.parse(text)
    except ProtocolError as error:
        raise BadInput(f"the file is not a kinode export ({error.detail})", code=error.code) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BadInput(f"the file is not a kinode export (no \"format\": \"{FORMAT}\")", code="malformed")
    try:
        participant, signature = document["participant"], bytes.fromhex(document["signature"])
        good = (isinstance(document["objects"], list) and isinstance(document["receipts"], list)
                and participant in document["keys_of"]
                and verify_signature(participant, SIGNATURE_CONTEXT + _digest(document), signature))
    except (KeyError, TypeError, ValueError, ProtocolError):
        good = False
    if not good:
        raise CliError("the export's signature does not verify: the file was altered or is incomplete; nothing was imported",
                       code="bad_signature")
    return document


def _store_chunk(db, chunk: list, own: set[str], now: int):
    results = store_verified(db, chunk, now)
    for item, result in zip(chunk, results):
        if result.status == "accepted" and getattr(item, "author", None) in own:
            outbox.enqueue(db, result.id, [GOSSIP], now)  # their hubs may have lost it: offer it again
    return results


def _restore_receipts(db, receipts: list[dict]) -> None:
    held = {r[0] for r in db.execute("SELECT id FROM objects")}
    for r in receipts:
        if r.get("object") in held:
            deliveries.plan(db, r["object"], [(r["destination"], r["name"])], r["updated_at"])
            deliveries.settle(db, r["object"], r["destination"], r["state"], r["updated_at"], r["code"], r["detail"])


def _import_lines(summary) -> list[str]:
    results = ", ".join(f"{n} {status}" for status, n in sorted(summary["results"].items())) or "nothing"
    lines = [f"imported the history of {summary['participant']}: {summary['objects']} objects ({results}), "
             f"{summary['receipts']} receipts" + (", keys installed" if summary["keys"] else "")]
    lines += [f"  refused {r['id']}: {r['detail']} [{r['code']}]" for r in summary["refused"]]
    return lines
