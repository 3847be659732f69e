"""`kinode serve`, `hub`, `publish`, `status` and `demo`."""

import argparse
import re
import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path

from kinode import keystore
from kinode.config import NodeConfig
from kinode.errors import KinodeError
from kinode.node import GOSSIP, status_report
from protocol.envelope import sign
from protocol.errors import ProtocolError
from storage.objects import store_verified
from storage.store import Store


SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


class BadInput(KinodeError):
    code, status = "bad_input", 400


def add_commands(commands: argparse._SubParsersAction, unlock, passphrase_env: str) -> None:
    serve = commands.add_parser("serve", help="run a participant node",
                                description="Run a participant node: serve the protocol and gossip what you publish to your hubs.")
    _common(serve)
    serve.add_argument("--hub", action="append", default=[], metavar="URL", help="a hub to publish to (repeatable)")
    serve.set_defaults(run=lambda args: _run(args, unlock(args.data_dir), roles=("node",)))

    hub = commands.add_parser("hub", help="run a category hub",
                              description="Run a category hub: aggregate the listings of its categories, serve search, federate with peer hubs. "
                                          f"A new data dir gets an identity (encrypted with ${passphrase_env} if set).")
    _common(hub)
    hub.add_argument("--category", action="append", required=True, metavar="SLUG", type=_slug,
                     help="a category this hub serves (repeatable)")
    hub.add_argument("--peer", action="append", default=[], metavar="URL", help="a peer hub to federate with (repeatable)")
    hub.add_argument("--reconcile-interval", type=_interval, default=30.0, metavar="SECONDS",
                     help="how often to reconcile with each peer (default 30)")
    hub.add_argument("--verify-workers", type=int, default=0, metavar="N",
                     help="verify incoming objects in N worker processes (default 0: threads in the hub process); "
                          "set it to the number of spare cores on a busy hub")
    hub.set_defaults(run=lambda args: _run(args, _hub_identity(args, passphrase_env), roles=("node", "hub")))

    publish = commands.add_parser("publish", help="sign an object and queue it for your hubs",
                                  description='Sign FILE ({"type": ..., "body": {...}}, or - for stdin) as this node\'s owner, '
                                              "store it and queue it for delivery; a running `kinode serve` delivers it.")
    publish.add_argument("--data-dir", required=True)
    publish.add_argument("file", metavar="FILE")
    publish.set_defaults(run=lambda args: _publish(args, unlock(args.data_dir)))

    status = commands.add_parser("status", help="show objects, outbox and peers",
                                 description="Print this node's object counts, outbox depth and peers as JSON.")
    status.add_argument("--data-dir", required=True)
    status.set_defaults(run=_status)

    demo = commands.add_parser("demo", help="run a local federation: two hubs and a participant node",
                               description="Start two peered hubs and a participant node on 127.0.0.1, publish a sample profile and offer, "
                                           "print the URLs to open, and run until Ctrl-C.")
    demo.add_argument("--data-dir", default=".demo", help="where the three nodes keep their data (default .demo)")
    demo.add_argument("--port", type=int, default=7400, help="first port; the nodes use PORT..PORT+2 (default 7400)")
    demo.set_defaults(run=lambda args: _demo(args))


def _slug(text: str) -> str:
    if not SLUG.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a category slug (lowercase letters, digits and single hyphens, "
                                         "like web-design)")
    return text


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", required=True, help="the node's data directory")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7400, help="port to listen on; 0 picks a free one (default 7400)")
    parser.add_argument("--public-url", help="the URL others reach this node at, if not http://HOST:PORT")
    parser.add_argument("--discover", action="store_true", help="find LAN peers with zeroconf (off by default)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--rate-limit", type=_rate, metavar="RATE:BURST",
                        help="requests a second (and at once) each client address may send (default 200:2000)")
    parser.add_argument("--author-rate-limit", type=_rate, metavar="RATE:BURST",
                        help="objects a second (and at once) each author may deliver (default 100:5000)")
    parser.add_argument("--work-limit", type=_rate, metavar="RATE:BURST",
                        help="objects a second (and at once) each client address may have verified; a failed "
                             "verification counts 10 (default 2000:10000)")
    bounds = parser.add_argument_group("resource bounds", "what one client may hold (README, \"Resource bounds\")")
    bounds.add_argument("--idle-timeout", type=_interval, metavar="SECONDS",
                        help="time to send a request's headers, and to keep an idle connection (default 10)")
    bounds.add_argument("--body-timeout", type=_interval, metavar="SECONDS",
                        help="time to send a whole request body (default 30)")
    bounds.add_argument("--max-connections", type=_count, metavar="N",
                        help="open connections at once, lowered to fit the descriptor limit (default 1024)")
    bounds.add_argument("--max-connections-per-address", type=_count, metavar="N",
                        help="open connections from one client address (default 64)")
    bounds.add_argument("--body-budget", type=_count, metavar="MIB",
                        help="MiB of request bodies buffered at once, across all requests (default 64)")
    bounds.add_argument("--max-streams-per-address", type=_count, metavar="N",
                        help="event streams one client address may hold open (default 8)")
    bounds.add_argument("--stream-buffer", type=_count, metavar="KIB",
                        help="KiB a stream subscriber may leave unread before it is dropped (default 4096)")


def _rate(text: str) -> tuple[float, float]:
    rate, _, burst = text.partition(":")
    try:
        limit = float(rate), float(burst)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not RATE:BURST, e.g. 10:100") from None
    if not (0 < limit[0] < float("inf") and 1 <= limit[1] < float("inf")):
        raise argparse.ArgumentTypeError("the rate must be positive and the burst at least 1 (one request)")
    return limit


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 0 < int(text) < 10**9):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _interval(text: str) -> float:
    # zero or less would make the reconciliation loop spin without pause
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError("the interval must be a positive number of seconds")
    return seconds


def _hub_identity(args, passphrase_env: str):
    return keystore.ensure_identity(args.data_dir, os.environ.get(passphrase_env),
                                    warn=lambda text: print(f"kinode: warning: {text}", file=sys.stderr))


def _run(args, identity, roles: tuple[str, ...]) -> int:
    from kinode.cli.runner import serve
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
    is_hub = "hub" in roles
    config = NodeConfig(
        data_dir=Path(args.data_dir), host=args.host, port=args.port, roles=roles,
        categories=tuple(args.category) if is_hub else (), hubs=() if is_hub else tuple(args.hub),
        peers=tuple(args.peer) if is_hub else (), discover=args.discover, public_url=args.public_url,
        reconcile_interval=getattr(args, "reconcile_interval", 30.0),
        verify_workers=getattr(args, "verify_workers", 0), **_rate_limits(args), **_bounds(args))
    asyncio.run(serve(config, identity))
    return 0


def _rate_limits(args) -> dict[str, float]:
    limits = {}
    if args.rate_limit:
        limits["client_rate"], limits["client_burst"] = args.rate_limit
    if args.author_rate_limit:
        limits["author_rate"], limits["author_burst"] = args.author_rate_limit
    if args.work_limit:
        limits["work_rate"], limits["work_burst"] = args.work_limit
    return limits


def _bounds(args) -> dict[str, float]:
    given = {"idle_timeout": args.idle_timeout, "body_timeout": args.body_timeout,
             "max_connections": args.max_connections,
             "max_connections_per_address": args.max_connections_per_address,
             "body_budget_bytes": args.body_budget and args.body_budget * 1024 * 1024,
             "max_streams_per_address": args.max_streams_per_address, "stream_buffer_bytes": args.stream_buffer and args.stream_buffer * 1024}
    return {name: value for name, value in given.items() if value}


def _publish(args, identity) -> int:
    text = sys.stdin.read() if args.file == "-" else _read(args.file)
    try:
        document = json.loads(text)
        type_, body = document["type"], document["body"]
    except (ValueError, KeyError, TypeError):
        raise BadInput('FILE must be a JSON object {"type": TYPE, "body": {...}}') from None
    try:
        obj = sign(identity, type_, body, int(time.time()))
    except ProtocolError as error:
        raise BadInput(f"{error.detail} [{error.code}]") from None
    store = Store(Path(args.data_dir) / "kinode.db")
    try:
        [result] = store.write_sync(store_verified, [obj], int(time.time()), (GOSSIP,))
    finally:
        store.close()
    if result.status == "rejected":
        raise BadInput(f"{result.detail} [{result.code}]")
    print(obj.id)
    return 0


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise BadInput(f"cannot read {path}: {error.strerror}") from None


def _status(args) -> int:
    path = Path(args.data_dir) / "kinode.db"
    if not path.exists():
        raise BadInput(f"no node database in {args.data_dir}; run `kinode serve` or `kinode hub` there first")
    store = Store(path)
    try:
        did = keystore.identity_did(args.data_dir)
        report = {"did": did, **store.read_sync(status_report)}
    finally:
        store.close()
    print(json.dumps(report, indent=2))
    return 0


def _demo(args) -> int:
    from kinode.cli.demo import run_demo
    return run_demo(Path(args.data_dir), args.port)
