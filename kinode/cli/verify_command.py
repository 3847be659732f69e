"""`kinode verify FILE`: check objects offline, and say why each one fails.

FILE holds one object, a JSON array of objects, `{"objects": [...]}` (an
inbox batch or a `kinode export` file), or one object per line. Each object
is verified alone (envelope, id, signature, body), then all of them together
in a throwaway in-memory store, so rules across objects (a rotated key, a
retraction, a lifecycle object's context) are checked as a node would.
"""

import argparse
import sys
import time

from kinode.cli.commands import read_text
from kinode.cli.output import EXIT_INVALID, EXIT_OK, BadInput, add_json_flag, emit
from protocol import canonical
from protocol.envelope import SignedObject
from protocol.errors import ProtocolError
from storage.ingest import validate_batch
from storage.objects import store_verified
from storage.store import Store


def add_commands(commands: argparse._SubParsersAction, unlock, passphrase_env: str) -> None:
    verify = commands.add_parser("verify", help="check objects in a file offline and explain each failure",
                                 description="Check every object in FILE (one object, an array, {\"objects\": [...]}, "
                                             "an export file, or one object per line; - for stdin) without a network: "
                                             "each alone, then together under the rules across objects. "
                                             f"Exits {EXIT_OK} when all are valid, {EXIT_INVALID} when some are not.")
    verify.add_argument("file", metavar="FILE", help="the file to check, or - for stdin")
    verify.add_argument("--at", type=int, metavar="UNIX_SECONDS",
                        help="judge as of this time (default now): matters for clock_skew and deadlines")
    add_json_flag(verify)
    verify.set_defaults(run=_verify)


def _verify(args) -> int:
    text = sys.stdin.read() if args.file == "-" else read_text(args.file)
    now = int(time.time()) if args.at is None else args.at
    items = objects_in(text)
    results = check(items, now)
    invalid = sum(r["status"] == "invalid" for r in results)
    emit(args, {"checked": len(results), "invalid": invalid, "results": results}, _lines)
    return EXIT_INVALID if invalid else EXIT_OK


def objects_in(text: str) -> list:
    """The items of FILE: parsed values, or raw lines for a file of one object per line."""
    if not text.strip():
        raise BadInput("the file is empty; it should hold one or more objects", code="malformed")
    try:
        value = canonical.parse(text)
    except ProtocolError:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1:
            return lines  # one object per line: each is judged (and fails) on its own
        return [text]  # one broken object: verifying it again names the first thing wrong
    if isinstance(value, dict) and isinstance(value.get("objects"), list):
        return value["objects"]
    if isinstance(value, list):
        return value
    return [value]


def check(items: list, now: int) -> list[dict]:
    checked = [item if isinstance(item, ProtocolError) else None for item in items]
    to_validate = [i for i, c in enumerate(checked) if c is None]
    for position, outcome in zip(to_validate, validate_batch([items[i] for i in to_validate], now)):
        checked[position] = outcome
    store = Store()  # in memory: the rules across objects, as a node would apply them
    try:
        stored = store.write_sync(store_verified, checked, now)
    finally:
        store.close()
    return [_result(position, item, got) for position, (item, got) in enumerate(zip(checked, stored), 1)]


def _result(position: int, item, stored) -> dict:
    answer = {"position": position, "id": stored.id, "status": "valid"}
    if isinstance(item, SignedObject):
        answer.update(type=item.type, author=item.author)
    elif isinstance(item, ProtocolError) and answer["id"] is None:
        answer["id"] = getattr(item, "claimed_id", None)
    if stored.status == "rejected":
        answer.update(status="invalid", code=stored.code, detail=stored.detail)
    elif stored.status not in ("accepted", "duplicate"):
        # e.g. pending: valid so far, but what it refers to is not in the file
        answer.update(status=stored.status, code=stored.code, detail=stored.detail)
    return answer


def _lines(data) -> list[str]:
    lines = []
    for r in data["results"]:
        name = r["id"] or "(no id)"
        if r["status"] == "valid":
            lines.append(f"ok       #{r['position']} {r['type']} {name} by {r['author']}")
        else:
            lines.append(f"{r['status']:<8} #{r['position']} {name}: {r['detail']} [{r['code']}]")
    lines.append(f"{data['checked']} checked, {data['invalid']} invalid")
    return lines
