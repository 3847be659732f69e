"""`kinode serve`, `hub`, `publish`, `status` and `demo`."""

import argparse
import asyncio
import json
import logging
import os
import re
import sys
import time
from pathlib import Path

from kinode import keystore
from kinode.cli.output import BadInput, CliError, add_json_flag, emit, warn
from kinode.cli.status_text import status_lines
from kinode.config import NodeConfig
from kinode.errors import BadUrl
from kinode.federation.ssrf import parse_url
from kinode.node import GOSSIP, status_report
from protocol.envelope import sign
from protocol.errors import ProtocolError
from storage.objects import store_verified
from storage.store import Store

SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
# Distinct defaults, below the demo's range (7400 and up), so a node, a hub
# and `kinode demo` all start on one machine without a --port.
NODE_PORT = 7300
HUB_PORT = 7310


def add_commands(commands: argparse._SubParsersAction, unlock, passphrase_env: str) -> None:
    serve = commands.add_parser("serve", help="run a participant node",
                                description="Run a participant node: serve the protocol and gossip what you publish to your hubs. "
                                            "Without --hub, what you publish waits in the outbox until you start with one. "
                                            f"An encrypted key is unlocked with ${passphrase_env} or a prompt.")
    _common(serve, NODE_PORT)
    serve.add_argument("--hub", action="append", default=[], metavar="URL", help="a hub to publish to (repeatable)")
    serve.add_argument("--no-hub-directory", action="store_true",
                       help="publish only to the --hub URLs, not also to the hubs their directory lists for your categories")
    serve.set_defaults(run=lambda args: _run(args, unlock, roles=("node",)))

    hub = commands.add_parser("hub", help="run a category hub",
                              description="Run a category hub: aggregate the listings of its categories, serve search, federate with peer hubs. "
                                          f"A new data dir gets an identity (encrypted with ${passphrase_env} if set).")
    _common(hub, HUB_PORT)
    hub.add_argument("--category", action="append", default=[], metavar="SLUG", type=_slug,
                     help="a category this hub serves (repeatable; added to those of the config file)")
    hub.add_argument("--config", metavar="FILE",
                     help="the hub's configuration: categories, leaders, fee, peers, moderation "
                          "(default DATA_DIR/hub.toml when it exists)")
    hub.add_argument("--peer", action="append", default=[], metavar="URL", help="a peer hub to federate with (repeatable)")
    hub.add_argument("--reconcile-interval", type=_interval, default=30.0, metavar="SECONDS",
                     help="how often to reconcile with each peer (default 30)")
    hub.add_argument("--verify-workers", type=_workers, default=None, metavar="N",
                     help="verify incoming objects in N worker processes (default: one per core this hub "
                          "may use beyond the first two; 0: threads in the hub process)")
    hub.set_defaults(run=lambda args: _run(args, lambda data_dir: _hub_identity(data_dir, unlock, passphrase_env),
                                           roles=("node", "hub")))

    publish = commands.add_parser("publish", help="sign an object and queue it for your hubs",
                                  description='Sign FILE ({"type": ..., "body": {...}}, or - for stdin) as this node\'s owner, '
                                              "store it and queue it for delivery; a running `kinode serve` delivers it. "
                                              f"An encrypted key is unlocked with ${passphrase_env} or a prompt.")
    publish.add_argument("--data-dir", required=True, help="the node's data directory")
    publish.add_argument("file", metavar="FILE", help="the object to publish as JSON, or - to read it from stdin")
    add_json_flag(publish)
    publish.set_defaults(run=lambda args: _publish(args, unlock))

    status = commands.add_parser("status", help="show objects, outbox, deliveries and peers",
                                 description="Show this node's object counts, what waits in its outbox for each destination "
                                             "(with failed attempts and the last error) and its peers.")
    status.add_argument("--data-dir", required=True, help="the node's data directory")
    add_json_flag(status)
    status.set_defaults(run=_status)

    demo = commands.add_parser("demo", help="run a local ki work federation: two hubs, four participants, a project",
                               description="Start on 127.0.0.1 two peered category hubs (each with a leader) and four "
                                           "participants' nodes, each with its web UI; on the first run seed profiles, offers, "
                                           "endorsements and a project whose tasks stand at every stage, through the CLI verbs. "
                                           "Print the login URLs and what to try, and run until Ctrl-C. A later run reuses "
                                           "the demo data; --fresh replaces it.")
    demo.add_argument("--data-dir", default=".demo", help="where the six nodes keep their data (default .demo)")
    demo.add_argument("--port", type=int, default=7400,
                      help="first port; the hubs use PORT and PORT+1, the participants PORT+2..PORT+5 (default 7400)")
    demo.add_argument("--fresh", action="store_true", help="delete the demo data of an earlier run and seed it again")
    demo.set_defaults(run=lambda args: _demo(args))


def _slug(text: str) -> str:
    if not SLUG.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a category slug (lowercase letters, digits and single hyphens, "
                                         "like web-design)")
    return text


def _common(parser: argparse.ArgumentParser, port: int) -> None:
    parser.add_argument("--data-dir", required=True, help="the node's data directory")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=port, help=f"port to listen on; 0 picks a free one (default {port})")
    parser.add_argument("--public-url", help="the URL others reach this node at, if not http://HOST:PORT")
    parser.add_argument("--discover", action="store_true", help="find LAN peers with zeroconf (off by default)")
    parser.add_argument("--ui-port", type=int, default=0, metavar="PORT",
                        help="port of the local web UI on 127.0.0.1 (default 0: any free port; the login URL is printed)")
    parser.add_argument("--no-ui", action="store_true", help="do not serve the local web UI")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--json", action="store_true",
                        help="announce readiness as one JSON line (role, did, categories, url, ui) instead of text")
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


def _workers(text: str) -> int:
    # a negative count of worker processes would otherwise fail deep inside the process pool
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if count < 0:
        raise argparse.ArgumentTypeError("the number of worker processes cannot be negative")
    return count


def _hub_identity(data_dir: str, unlock, passphrase_env: str):
    if keystore.identity_path(data_dir).exists():
        return unlock(data_dir)
    return keystore.ensure_identity(data_dir, os.environ.get(passphrase_env), warn=warn)


def _remote_urls(flag: str, urls: list[str]) -> tuple[str, ...]:
    """The operator's --hub/--peer URLs, refused before anything starts if they cannot work."""
    for url in urls:
        try:
            parse_url(url)
        except BadUrl as error:
            raise BadInput(f"{flag} {url}: {error.detail.split(': ', 1)[-1]}", code="bad_url") from None
    return tuple(urls)


def _run(args, unlock, roles: tuple[str, ...]) -> int:
    is_hub = "hub" in roles
    hub_config = _hub_config(args) if is_hub else None
    remotes = _remote_urls("--peer" if is_hub else "--hub", list(hub_config.peers) if is_hub else args.hub)
    identity = unlock(args.data_dir)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
    saved = None
    if not is_hub:
        from kinode.federation import user_settings  # what the owner chose in the web UI; flags win
        try:
            saved = user_settings.load(args.data_dir)
        except user_settings.SettingsError as error:
            raise BadInput(str(error), code=error.code) from None
        flags, remotes = remotes, user_settings.merged_hubs(remotes, saved)
    if not remotes and not is_hub:
        warn("no --hub given: what you publish is kept in this node's outbox and delivered once you start "
             "`kinode serve` with --hub URL")
    elif not remotes:
        warn("no --peer given: this hub serves its categories alone until you start it with --peer URL")
    config = NodeConfig(
        data_dir=Path(args.data_dir), host=args.host, port=args.port, roles=roles,
        categories=hub_config.slugs if is_hub else (), hubs=() if is_hub else remotes,
        peers=remotes if is_hub else (), discover=args.discover or bool(saved and saved.discover), public_url=args.public_url,
        reconcile_interval=getattr(args, "reconcile_interval", 30.0),
        verify_workers=getattr(args, "verify_workers", None), **_rate_limits(args), **_bounds(args),
        extra={"hub": hub_config, "hub_flags": (args.category, args.peer)} if is_hub
        else {"hub_directory": not args.no_hub_directory and saved.hub_directory, "flag_hubs": flags,
              "flag_discover": args.discover, "flag_no_hub_directory": args.no_hub_directory})
    from kinode.cli.runner import serve  # the server's imports only when one starts
    asyncio.run(serve(config, identity, ui_port=None if args.no_ui else args.ui_port, as_json=args.json))
    return 0


def _hub_config(args):
    """hub.toml (or --config FILE) plus --category and --peer; at least one category in all."""
    from kinode.hub.config import default_path, load
    config = load(args.config) if args.config else load(default_path(args.data_dir), required=False)
    config = config.with_flags(args.category, args.peer)
    if not config.categories:
        raise BadInput("a hub serves at least one category: give --category SLUG or a [categories.SLUG] table "
                       f"in {args.config or default_path(args.data_dir)}", code="bad_config")
    return config


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


def _publish(args, unlock) -> int:
    type_, body = read_document(sys.stdin.read() if args.file == "-" else read_text(args.file))
    if type_ == "key_rotation":
        # Published by hand, it would leave the node holding a key that can no
        # longer sign anything; `rotate` also moves the node to the successor.
        raise BadInput("a key_rotation is published with `kinode rotate`, which also switches this node to the new key")
    identity = unlock(args.data_dir)
    from kinode.cli.work_commands import publish_document, route_lines  # the service layer: one set of rules
    try:
        sign(identity, type_, body, int(time.time()))  # a body the rules refuse touches no database
        published = publish_document(args.data_dir, identity, type_, body)
    except ProtocolError as error:
        raise CliError(error.detail, code=error.code) from None
    obj, answer = published.obj, published.as_dict()
    emit(args, {"id": obj.id, "status": published.result.status, "type": obj.type, "author": obj.author,
                "route": answer["route"]}, obj.id)
    if not args.json:
        for line in route_lines(answer):
            print(line, file=sys.stderr)
    return 0


def read_document(text: str) -> tuple[str, dict]:
    """The type and body of a {"type": ..., "body": {...}} document, or BadInput saying what is wrong."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise BadInput(f"FILE is not JSON ({error})", code="malformed") from None
    if not isinstance(document, dict) or set(document) != {"type", "body"}:
        raise BadInput('FILE must be a JSON object with exactly "type" and "body"', code="malformed")
    if not isinstance(document["type"], str):
        raise BadInput('"type" must be a string such as "offer"', code="malformed")
    if not isinstance(document["body"], dict):
        raise BadInput(f'"body" must be a JSON object, not {_json_kind(document["body"])}', code="invalid_body")
    return document["type"], document["body"]


def _json_kind(value) -> str:
    return {str: "a string", type(None): "null", list: "an array", bool: "a boolean"}.get(type(value), "a number")


def store_locally(data_dir: str, obj, now: int):
    """Store an object this node's owner signed and queue it for every hub that serves it."""
    store = Store(Path(data_dir) / "kinode.db")
    try:
        [result] = store.write_sync(store_verified, [obj], now, (GOSSIP,))
    finally:
        store.close()
    if result.status == "rejected":
        raise CliError(result.detail, code=result.code)
    return result


def read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not UTF-8 text"
        raise BadInput(f"cannot read {path}: {reason}", code="unreadable_file") from None


def open_store(data_dir: str) -> Store:
    """The node's existing database (never a new empty one made by a typo in --data-dir)."""
    path = Path(data_dir) / "kinode.db"
    if not path.exists():
        raise BadInput(f"no node database in {data_dir}; run `kinode serve` or `kinode hub` there first",
                       code="no_database")
    return Store(path)


def _status(args) -> int:
    store = open_store(args.data_dir)
    try:
        report = {"did": keystore.identity_did(args.data_dir), **store.read_sync(status_report)}
    finally:
        store.close()
    emit(args, report, status_lines)
    return 0


def _demo(args) -> int:
    from kinode.cli.demo import run_demo
    return run_demo(Path(args.data_dir), args.port, fresh=args.fresh)
