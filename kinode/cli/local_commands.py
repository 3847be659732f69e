"""`kinode peers`, `outbox` and `reindex`: looking after a node's own database, offline."""

import argparse
import time

from kinode.cli.commands import open_store
from kinode.cli.output import BadInput, add_json_flag, emit
from kinode.cli.progress import Progress
from kinode.cli.status_text import delivery_lines, peer_lines
from kinode.node import status_report
from storage import derived, outbox
from storage.errors import NotFound


def add_commands(commands: argparse._SubParsersAction, unlock, passphrase_env: str) -> None:
    peers = commands.add_parser("peers", help="list the hubs and nodes this node knows, with their health",
                                description="List the peers this node has reached (did, URL, roles, categories, when last seen, "
                                            "failed attempts and the last error).")
    peers.add_argument("--data-dir", required=True, help="the node's data directory")
    add_json_flag(peers)
    peers.set_defaults(run=_peers)

    box = commands.add_parser("outbox", help="show what waits for delivery, and release refused entries",
                              description="Show what waits in the outbox for each destination and the quarantined entries "
                                          "(objects a destination refused, with its reason). --release puts quarantined entries "
                                          "back in the queue; a running node retries them at once.")
    box.add_argument("--data-dir", required=True, help="the node's data directory")
    box.add_argument("--release", action="append", type=int, default=[], metavar="ENTRY",
                     help="put this quarantined entry back in the queue (repeatable)")
    box.add_argument("--release-all", action="store_true", help="put every quarantined entry back in the queue")
    add_json_flag(box)
    box.set_defaults(run=_outbox)

    reindex = commands.add_parser("reindex", help="rebuild the derived tables (search index, views) from the objects",
                                  description="Drop and rebuild every derived table (or those named) from the stored objects, "
                                              "one table per step with a progress line. Stop the node first: the rebuild "
                                              "holds the write lock.")
    reindex.add_argument("--data-dir", required=True, help="the node's data directory")
    reindex.add_argument("--table", action="append", default=[], metavar="NAME",
                         help="rebuild only this derived table (repeatable; default all)")
    add_json_flag(reindex)
    reindex.set_defaults(run=_reindex)


def _peers(args) -> int:
    store = open_store(args.data_dir)
    try:
        report = store.read_sync(status_report)
    finally:
        store.close()
    emit(args, report["peers"], lambda peers: list(peer_lines(peers)) or ["no peers yet: start the node with --hub URL"])
    return 0


def _outbox(args) -> int:
    store = open_store(args.data_dir)
    try:
        if args.release or args.release_all:
            store.write_sync(_release, args.release, args.release_all, int(time.time()))
        report = store.read_sync(status_report)
        parked = store.read_sync(outbox.quarantined, 1000)
    finally:
        store.close()
    data = {"destinations": report["destinations"],
            "quarantined": [{"entry": e.entry_id, "destination": e.destination, "object": e.object_id,
                             "attempts": e.attempts, "quarantined_at": e.quarantined_at, "error": e.last_error}
                            for e in parked]}
    emit(args, data, _outbox_lines)
    return 0


def _release(db, entries: list[int], every: bool, now: int) -> None:
    if every:
        entries = [e.entry_id for e in outbox.quarantined(db, 1_000_000)]
    for entry in entries:
        try:
            outbox.release(db, entry, now)
        except NotFound:
            raise BadInput(f"there is no outbox entry {entry}", code="not_found") from None


def _outbox_lines(data) -> list[str]:
    lines = list(delivery_lines(data["destinations"])) or ["nothing waits for delivery"]
    if data["quarantined"]:
        lines.append(f"{len(data['quarantined'])} quarantined (release with --release ENTRY):")
        lines += [f"  entry {q['entry']}: {q['object']} for {q['destination']}: {q['error']}" for q in data["quarantined"]]
    return lines


def _reindex(args) -> int:
    store = open_store(args.data_dir)
    try:
        names = args.table or [d.name for d in derived.registered()]
        known = {d.name for d in derived.registered()}
        unknown = sorted(set(names) - known)
        if unknown:
            raise BadInput(f"no derived table named {', '.join(unknown)}; there are {', '.join(sorted(known))}",
                           code="unknown_table")
        objects = store.read_sync(lambda db: db.execute("SELECT count(*) FROM objects").fetchone()[0])
        with Progress("reindex", len(names)) as bar:
            for name in names:
                store.rebuild_sync([name])
                bar.advance(name)
    finally:
        store.close()
    emit(args, {"rebuilt": names, "objects": objects},
         f"rebuilt {', '.join(names)} from {objects} objects")
    return 0
