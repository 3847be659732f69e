"""Hub operator and participant verbs of spec section 14: endorse, revoke, label, respond,
receipts, verify-receipt, prove-dropped, verify-complaint.

Writes go through the service's publish path (signed, stored, queued: a
running `kinode serve` or `kinode hub` on the same data dir delivers them).
Receipt and complaint checks run offline.
"""

import json
import sys
import time
import urllib.error
import urllib.request

from kinode.cli.commands import open_store, read_text
from kinode.cli.output import EXIT_INVALID, EXIT_OK, BadInput, CliError, add_json_flag, emit, utc
from kinode.hub import standing
from protocol.bodies import LABEL_REASONS
from protocol.envelope import is_object_id
from protocol.errors import BadReceipt, ProtocolError
from protocol.identity import is_did
from protocol.receipts import complaint, verify_complaint, verify_receipt
from storage import hub_objects, hub_state, listing
from storage.derived import signed_from_wire

DAY = 86400


def add_commands(commands, unlock, passphrase_env: str) -> None:
    endorse = commands.add_parser("endorse", help="endorse a participant as an expert of a category",
                                  description="Publish an endorsement signed by this node's key and say whether it counts "
                                              "here (its author must be a hub serving the category or a leader it names).")
    _data_dir(endorse)
    endorse.add_argument("subject", metavar="DID", help="the participant endorsed")
    endorse.add_argument("--category", required=True, metavar="SLUG")
    endorse.add_argument("--level", choices=["expert", "leader"], default="expert")
    endorse.add_argument("--note", help="why, in a sentence")
    endorse.set_defaults(run=lambda args: _endorse(args, unlock))

    revoke = commands.add_parser("revoke", help="revoke one of your endorsements (a retract of it)",
                                 description="Publish a retract of an endorsement this node's key made.")
    _data_dir(revoke)
    revoke.add_argument("endorsement", metavar="ID", help="the endorsement's id")
    revoke.add_argument("--reason")
    revoke.set_defaults(run=lambda args: _revoke(args, unlock))

    label = commands.add_parser("label", help="delist an object or block an author, with a reason and an expiry",
                                description="Publish a moderation label signed by this node's key (spec section 14.4). "
                                            f"Reasons: {', '.join(LABEL_REASONS)}.")
    _data_dir(label)
    which = label.add_mutually_exclusive_group(required=True)
    which.add_argument("--object", metavar="ID", help="delist this object")
    which.add_argument("--author", metavar="DID", help="block every object by this author")
    label.add_argument("--reason", required=True, choices=LABEL_REASONS)
    label.add_argument("--note", help="what the author and readers are told")
    label.add_argument("--days", type=int, default=30, help="how long the label applies (default 30)")
    label.set_defaults(run=lambda args: _label(args, unlock))

    respond = commands.add_parser("respond", help="answer a label on your object or on you",
                                  description="Publish a response that hubs show beside the label.")
    _data_dir(respond)
    respond.add_argument("label", metavar="LABEL_ID")
    respond.add_argument("text", metavar="TEXT")
    respond.set_defaults(run=lambda args: _respond(args, unlock))

    receipts = commands.add_parser("receipts", help="list the inclusion receipts hubs gave for your objects")
    _data_dir(receipts)
    receipts.add_argument("object", metavar="ID", nargs="?", help="only this object's")
    receipts.set_defaults(run=_receipts)

    check = commands.add_parser("verify-receipt", help="verify an inclusion receipt offline",
                                description=f"Exits {EXIT_OK} when the receipt in FILE (or -) verifies, {EXIT_INVALID} if not.")
    check.add_argument("file", metavar="FILE")
    add_json_flag(check)
    check.set_defaults(run=_verify_receipt)

    prove = commands.add_parser("prove-dropped", help="build a complaint: a hub's receipt and its failed fetch",
                                description="Fetch OBJECT from every hub that gave a receipt for it; for each that answers "
                                            "404, print a complaint anyone can check with verify-complaint.")
    _data_dir(prove)
    prove.add_argument("object", metavar="ID")
    prove.set_defaults(run=_prove_dropped)

    check = commands.add_parser("verify-complaint", help="verify a dropped-object complaint offline",
                                description=f"Exits {EXIT_OK} when the complaint in FILE (or -) verifies, {EXIT_INVALID} if not.")
    check.add_argument("file", metavar="FILE")
    add_json_flag(check)
    check.set_defaults(run=_verify_complaint)


def _data_dir(parser) -> None:
    parser.add_argument("--data-dir", required=True, help="the node's data directory")
    add_json_flag(parser)


def _publish(args, unlock, type_: str, body: dict):
    from kinode.cli.work_commands import publish_document, route_lines
    identity = unlock(args.data_dir)
    open_store(args.data_dir).close()  # refuse a --data-dir typo before signing anything
    try:
        published = publish_document(args.data_dir, identity, type_, body)
    except ProtocolError as error:
        raise CliError(error.detail, code=error.code) from None
    if published.result.status == "rejected":
        raise CliError(published.result.detail, code=published.result.code)
    if not args.json:
        for line in route_lines(published.as_dict()):
            print(line, file=sys.stderr)
    return published


def _endorse(args, unlock) -> int:
    if not is_did(args.subject):
        raise BadInput(f"{args.subject!r} is not an Ed25519 did:key", code="invalid_body")
    body = {"subject": args.subject, "category": args.category, "level": args.level}
    if args.note:
        body["note"] = args.note
    obj = _publish(args, unlock, "endorsement", body).obj
    store = open_store(args.data_dir)
    try:
        me = obj.author if store.read_sync(hub_objects.announcement_of, obj.author) else None
        [judged] = [s for s in store.read_sync(standing.standings, me,
                                               endorser=obj.author, subject=args.subject, category=args.category)
                    if s.endorsement.id == obj.id]
    finally:
        store.close()
    answer = {"id": obj.id, "counts": judged.counts, "why": judged.why, "hub": judged.hub}
    emit(args, answer, f"{obj.id}\n{'counts' if judged.counts else 'does NOT count'} here: {judged.why}")
    return 0


def _held(args, object_id: str):
    store = open_store(args.data_dir)
    try:
        return store.read_sync(listing.get, object_id)
    finally:
        store.close()


def _revoke(args, unlock) -> int:
    if not is_object_id(args.endorsement):
        raise BadInput("an endorsement id is 64 lowercase hex digits", code="malformed")
    held = _held(args, args.endorsement)
    did = unlock(args.data_dir).did
    if held is None or held.type != "endorsement" or held.author != did:
        raise BadInput(f"{args.endorsement} is not an endorsement this node's key made", code="not_found")
    body = {"target": args.endorsement, **({"reason": args.reason} if args.reason else {})}
    obj = _publish(args, unlock, "retract", body).obj
    emit(args, {"id": obj.id, "revoked": args.endorsement}, obj.id)
    return 0


def _label(args, unlock) -> int:
    if args.days < 1:
        raise BadInput("--days is at least 1", code="invalid_body")
    body = {"scope": "object", "target": args.object} if args.object else {"scope": "author", "subject": args.author}
    body.update({"reason": args.reason, "expires": int(time.time()) + args.days * DAY})
    if args.note:
        body["note"] = args.note
    obj = _publish(args, unlock, "label", body).obj
    emit(args, {"id": obj.id, "expires": body["expires"]}, obj.id)
    return 0


def _respond(args, unlock) -> int:
    obj = _publish(args, unlock, "response", {"label": args.label, "text": args.text}).obj
    emit(args, {"id": obj.id}, obj.id)
    return 0


def _receipts(args) -> int:
    if args.object is not None and not is_object_id(args.object):
        raise BadInput(f"{args.object!r} is not an object id (64 lowercase hex digits)")
    store = open_store(args.data_dir)
    try:
        found = store.read_sync(hub_state.receipts_for, args.object)
    finally:
        store.close()
    emit(args, {"receipts": found}, "\n".join(f"{r['receipt']['object']} held by {r['receipt']['hub']} at "
                                              f"{utc(r['receipt']['at'])} ({r['destination']})" for r in found)
         or "no receipts")
    return 0


def _document(path: str):
    try:
        return json.loads(sys.stdin.read() if path == "-" else read_text(path))
    except ValueError as error:
        raise BadInput(f"FILE is not JSON ({error})", code="malformed") from None


def _verify_receipt(args) -> int:
    try:
        receipt = verify_receipt(_document(args.file))
    except BadReceipt as error:
        emit(args, {"valid": False, "code": error.code, "detail": error.detail}, f"invalid: {error.detail}")
        return EXIT_INVALID
    emit(args, {"valid": True, **receipt}, f"valid: {receipt['hub']} held {receipt['object']} at {utc(receipt['at'])}")
    return EXIT_OK


def _verify_complaint(args) -> int:
    try:
        obj = verify_complaint(_document(args.file), int(time.time()))
    except BadReceipt as error:
        emit(args, {"valid": False, "code": error.code, "detail": error.detail}, f"invalid: {error.detail}")
        return EXIT_INVALID
    emit(args, {"valid": True, "object": obj.id}, f"valid: the hub acknowledged {obj.id} and later answered 404")
    return EXIT_OK


def _prove_dropped(args) -> int:
    store = open_store(args.data_dir)
    try:
        receipts = store.read_sync(hub_state.receipts_for, args.object)
        held = store.read_sync(listing.get, args.object)
    finally:
        store.close()
    if not receipts:
        raise BadInput(f"no receipt for {args.object} here: no hub acknowledged it to this node", code="not_found")
    if held is None:
        raise BadInput(f"{args.object} is not held here, so it cannot be shown", code="not_found")
    obj = signed_from_wire(held.wire)
    complaints, held_by = [], []
    for entry in receipts:
        try:  # a receipt kept before the v2 form (spec 14.5) no longer verifies: no complaint rests on it
            verify_receipt(entry["receipt"], object_id=args.object)
        except BadReceipt as error:
            print(f"skipping {entry['destination']}'s receipt: {error.detail}", file=sys.stderr)
            continue
        url = entry["destination"].rstrip("/")
        status = _fetch_status(f"{url}/ki/v1/objects/{args.object}")
        if status == 404:
            complaints.append(complaint(entry["receipt"], obj, url, status, int(time.time())))
        else:
            held_by.append({"hub": entry["receipt"]["hub"], "url": url, "status": status})
    if args.json or complaints:
        print(json.dumps({"complaints": complaints, "still_held": held_by} if args.json else
                         (complaints[0] if len(complaints) == 1 else complaints), indent=2))
    if not complaints:
        print("every hub whose receipt verifies still serves it: nothing was dropped" if held_by else
              "no receipt kept here verifies (spec 14.5): no complaint can be built", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK


def _fetch_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return None
