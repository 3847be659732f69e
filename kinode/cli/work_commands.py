"""The lifecycle verbs: `kinode project`, `task`, `claim`, ..., `review`, `show`.

Each writes to the local node database (like `publish`: one commit and an
outbox entry; a running `kinode serve` on the same data dir delivers) through
kinode.work.WorkService, and says where the object goes. Missing context (the
task a claim names, the contract a payment names) is fetched from the hubs
this node has reached. `--json` prints the service's answer as it is.
"""

import argparse
import asyncio
import concurrent.futures
import re
import time
from pathlib import Path
from typing import Any, Callable

from kinode.cli.output import BadInput, add_json_flag, emit, utc
from kinode.config import NodeConfig
from kinode.node import Node
from kinode.work import routing
from kinode.work.fetch import HubFetcher
from kinode.work.service import Published, WorkService
from storage.store import Store

MONEY = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([A-Z]{3})")
RELATIVE = re.compile(r"\+([0-9]+)([smhd])")
UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def money(text: str) -> dict[str, str]:
    match = MONEY.fullmatch(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount with its currency, like '150.00 EUR'")
    return {"amount": match[1], "currency": match[2]}


def when(text: str) -> int:
    """Unix seconds, or +N{s,m,h,d} from now."""
    if text.isascii() and text.isdigit():
        return int(text)
    match = RELATIVE.fullmatch(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time: Unix seconds, or +3d, +12h, +30m")
    return int(time.time()) + int(match[1]) * UNIT[match[2]]


def party(text: str) -> dict[str, str]:
    did, sep, role = text.rpartition(":")
    if not sep or not did or not role:
        raise argparse.ArgumentTypeError(f"{text!r} is not DID:ROLE, like did:key:z6Mk...:supplier")
    return {"did": did, "role": role}


def add_commands(commands: argparse._SubParsersAction, unlock, passphrase_env: str) -> None:
    def verb(name: str, help_: str, run: Callable[[WorkService, argparse.Namespace], Any]) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, help=help_, description=help_ + ". Writes to the local node database; "
                                     "a running `kinode serve` on the same data dir delivers it.")
        parser.add_argument("--data-dir", required=True, help="the node's data directory")
        add_json_flag(parser)
        parser.set_defaults(run=lambda args: _run(args, unlock, run))
        return parser

    p = verb("profile", "publish who you are and where your node is reached", lambda s, a: s.profile(
        name=a.name, node_url=a.node, hubs=a.hub or None, bio=a.bio, skills=a.skill or None,
        categories=a.category or None))
    p.add_argument("--name", required=True)
    p.add_argument("--node", metavar="URL", help="your node's public URL, where others deliver what concerns you "
                                                   "(what `kinode serve` prints, or its --public-url)")
    p.add_argument("--hub", action="append", default=[], metavar="URL",
                   help="a hub holding your mailbox (default: the hubs this node has reached)")
    p.add_argument("--bio")
    p.add_argument("--skill", action="append", default=[])
    p.add_argument("--category", action="append", default=[])

    p = verb("project", "post a project you coordinate", lambda s, a: s.project(
        category=a.category, title=a.title, description=a.description, budget=a.budget, deadline=a.deadline,
        claims_per_task=a.claims_per_task, claim_approval=True if a.claim_approval else None))
    p.add_argument("--category", required=True)
    p.add_argument("--title", required=True)
    p.add_argument("--description", required=True)
    p.add_argument("--budget", required=True, type=money, help="e.g. '1000.00 EUR'")
    p.add_argument("--deadline", required=True, type=when, help="Unix seconds or +30d")
    p.add_argument("--claims-per-task", type=int)
    p.add_argument("--claim-approval", action="store_true", help="claims hold only once you approve them")

    p = verb("task", "add a task (a microchunk) to your project", lambda s, a: s.task(
        a.project, title=a.title, description=a.description, budget=a.budget, deadline=a.deadline,
        depends_on=a.depends_on, claim_lease=a.lease, estimate=a.estimate))
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("--title", required=True)
    p.add_argument("--description", required=True)
    p.add_argument("--budget", required=True, type=money)
    p.add_argument("--deadline", required=True, type=when)
    p.add_argument("--depends-on", action="append", default=[], metavar="TASK")
    p.add_argument("--lease", type=int, default=86400, help="claim lease in seconds (default 86400)")
    p.add_argument("--estimate", type=int, help="seconds of work, for the critical path")

    p = verb("claim", "claim a task for its lease", lambda s, a: s.claim(a.task, a.note))
    p.add_argument("task", metavar="TASK")
    p.add_argument("--note")

    p = verb("approve", "approve a claim on your project's task", lambda s, a: s.approve(a.claim, a.note))
    p.add_argument("claim", metavar="CLAIM")
    p.add_argument("--note")

    p = verb("reopen", "reopen an overdue task with a new deadline", lambda s, a: s.reopen(
        a.task, deadline=a.deadline, reason=a.reason))
    p.add_argument("task", metavar="TASK")
    p.add_argument("--deadline", required=True, type=when)
    p.add_argument("--reason", required=True)

    p = verb("propose", "bid on a project, task or offer", lambda s, a: s.propose(
        a.target, price=a.price, message=a.message, deliver_by=a.deliver_by, private=a.private))
    p.add_argument("target", metavar="TARGET")
    p.add_argument("--price", required=True, type=money)
    p.add_argument("--message", required=True)
    p.add_argument("--deliver-by", type=when)
    p.add_argument("--private", action="store_true", help="seal it for the listing's author only")

    p = verb("contract", "propose a contract (parties sign it to put it in force)", lambda s, a: s.contract(
        scope=a.scope, parties=a.party, terms=a.terms, price=a.price, deadline=a.deadline,
        milestones=[{"key": k, "title": t, "amount": money(m), "due": when(d)} for k, t, m, d in a.milestone],
        dispute_resolver=a.resolver, auto_accept=a.auto_accept, supersedes=a.supersedes, private=a.private))
    p.add_argument("--scope", action="append", required=True, metavar="ID", help="project, task, offer or proposal")
    p.add_argument("--party", action="append", required=True, type=party, metavar="DID:ROLE")
    p.add_argument("--terms", required=True)
    p.add_argument("--price", required=True, type=money)
    p.add_argument("--milestone", action="append", required=True, nargs=4, metavar=("KEY", "TITLE", "AMOUNT", "DUE"))
    p.add_argument("--deadline", required=True, type=when)
    p.add_argument("--resolver", required=True, metavar="DID")
    p.add_argument("--auto-accept", type=int, metavar="SECONDS")
    p.add_argument("--supersedes", metavar="CONTRACT")
    p.add_argument("--private", action="store_true", help="seal it for the parties (it goes public when signed)")

    p = verb("sign", "sign a contract you are party to", lambda s, a: s.sign(a.contract))
    p.add_argument("contract", metavar="CONTRACT")

    p = verb("deliver", "deliver a milestone: the file's SHA-256 and where to fetch it", lambda s, a: s.deliver(
        a.contract, a.milestone, Path(a.file), location=a.location, media_type=a.media_type, manifest=a.manifest))
    p.add_argument("contract", metavar="CONTRACT")
    p.add_argument("milestone", metavar="MILESTONE")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--location", required=True, metavar="URL", help="where the client fetches the artifact")
    p.add_argument("--media-type")
    p.add_argument("--manifest", metavar="SHA256", help="the project manifest this delivery was built from")

    p = verb("accept", "accept a delivery", lambda s, a: s.accept(a.delivery))
    p.add_argument("delivery", metavar="DELIVERY")
    p = verb("reject", "reject a delivery, saying why", lambda s, a: s.reject(a.delivery, a.reason))
    p.add_argument("delivery", metavar="DELIVERY")
    p.add_argument("--reason", required=True)

    p = verb("pay", "record that you paid a milestone", lambda s, a: s.pay(a.contract, a.milestone, a.reference))
    p.add_argument("contract", metavar="CONTRACT")
    p.add_argument("milestone", metavar="MILESTONE")
    p.add_argument("--reference", help="e.g. the bank transfer reference")
    p = verb("confirm", "confirm a payment you received", lambda s, a: s.confirm(a.payment))
    p.add_argument("payment", metavar="PAYMENT")

    p = verb("dispute", "ask the contract's resolver to rule", lambda s, a: s.dispute(a.contract, a.reason, a.milestone))
    p.add_argument("contract", metavar="CONTRACT")
    p.add_argument("--reason", required=True)
    p.add_argument("--milestone")
    p = verb("rule", "rule on a dispute you resolve", lambda s, a: s.rule(
        a.dispute, outcome=a.outcome, reason=a.reason, award=a.award))
    p.add_argument("dispute", metavar="DISPUTE")
    p.add_argument("--outcome", required=True, choices=["for_client", "for_supplier", "split"])
    p.add_argument("--reason", required=True)
    p.add_argument("--award", type=money, help="with --outcome split: what the client owes the supplier")

    p = verb("review", "review another party of a completed contract", lambda s, a: s.review(
        a.contract, a.subject, a.rating, a.text))
    p.add_argument("contract", metavar="CONTRACT")
    p.add_argument("subject", metavar="DID")
    p.add_argument("rating", type=int, choices=range(1, 6), metavar="RATING", help="1 to 5")
    p.add_argument("--text")

    p = verb("show", "show a project, contract, reputation, what needs you, or where your objects went", _show)
    p.add_argument("what", choices=["project", "contract", "reputation", "needs", "deliveries"])
    p.add_argument("id", nargs="?", metavar="ID", help="project or contract id, or a did (reputation)")
    p.add_argument("--category", help="reputation in this category only")
    p.add_argument("--at", type=int, metavar="SECONDS", help="reputation as of this Unix time (default now)")


def _show(service: WorkService, args: argparse.Namespace):
    if args.what in ("project", "contract", "reputation") and not args.id:
        raise BadInput(f"`kinode show {args.what}` needs an ID")
    if args.what == "project":
        return service.project_view(args.id)
    if args.what == "contract":
        return service.contract_view(args.id)
    if args.what == "reputation":
        return service.reputation(args.id, args.category, args.at)
    if args.what == "needs":
        return service.needs_me()
    return service.deliveries([args.id] if args.id else None)


def _run(args: argparse.Namespace, unlock, run: Callable[[WorkService, argparse.Namespace], Any]) -> int:
    identity = unlock(args.data_dir)
    store = Store(Path(args.data_dir) / "kinode.db")
    try:
        hubs = [hub.url for hub in store.read_sync(routing.known_hubs)]
        node = Node(NodeConfig(data_dir=Path(args.data_dir)), identity, store)
        service = WorkService(node, HubFetcher(hubs) if hubs else None)
        answer = run_blocking(lambda: _call(run, service, args))
    finally:
        store.close()
    if isinstance(answer, Published):
        emit(args, answer.as_dict(), _published_lines)
    else:
        emit(args, answer, lambda data: _view_lines(args.what, data))
    return 0


def publish_document(data_dir: str, identity, type_: str, body: dict) -> Published:
    """`kinode publish` through the service: signed, stored, queued, and routed (said where it goes)."""
    store = Store(Path(data_dir) / "kinode.db")
    try:
        hubs = [hub.url for hub in store.read_sync(routing.known_hubs)]
        node = Node(NodeConfig(data_dir=Path(data_dir)), identity, store)
        service = WorkService(node, HubFetcher(hubs) if hubs else None)
        return run_blocking(lambda: service.publish(type_, body))
    finally:
        store.close()


def route_lines(answer: dict) -> list[str]:
    """Where a published object goes, for stderr (stdout keeps only the id for scripts)."""
    return _published_lines(answer)[1:-1]


def run_blocking(make: Callable[[], Any]) -> Any:
    """Run the coroutine `make()` to its end from synchronous code, even when the caller is itself
    inside an event loop (a test or script calling `main`): then on a thread with a loop of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


async def _call(run, service: WorkService, args):
    return await run(service, args)


def _published_lines(answer: dict) -> list[str]:
    lines = [f"{answer['type']} {answer['id']} {answer['status']}"
             + (" (sealed: only the people it names can read it)" if answer["private"] else "")]
    if answer.get("code"):
        lines.append(f"  waiting: {answer['detail']} [{answer['code']}]")
    route = answer["route"]
    reachable = [d for d in route["destinations"] if d["reachable"]]
    if reachable:
        lines.append(f"  goes to {len(reachable)} destination(s): " + "; ".join(d["name"] for d in reachable))
    else:
        lines.append("  goes NOWHERE yet: no hub this node knows serves "
                     f"{route['category'] or 'it'} and nobody it names has a node URL here")
    for d in route["destinations"]:
        if not d["reachable"] and not d["name"].startswith("nowhere"):
            lines.append(f"  NOT reachable yet: {d['name']}; sent there once an address for them is known")
    lines.append("  delivered by `kinode serve` on this data dir; see `kinode show deliveries " + answer["id"] + "`")
    return lines


def _view_lines(what: str, data) -> list[str]:
    if what == "deliveries":
        lines = []
        for item in data:
            lines.append(f"{item['type']} {item['id']}: delivered to {item['delivered']} of {item['total']}")
            for d in item["destinations"]:
                why = f" ({d['detail']} [{d['code']}])" if d["code"] else ""
                lines.append(f"  {d['state']:<11} {d['name']}{why}")
        return lines or ["nothing routed yet"]
    if what == "needs":
        return [f"{n['action']:<16} {n['object']}  {n['why']}" for n in data] or ["nothing waits for you"]
    if what == "project":
        lines = [f"project {data['project']}: {'complete' if data['complete'] else 'in progress'}"
                 f"{', AT RISK' if data['at_risk'] else ''}{', OVERDUE' if data['overdue'] else ''}; "
                 f"projected completion {_when(data['projected_completion'])} vs deadline {_when(data['deadline'])}"]
        critical = set(data["critical_path"])
        for task in data["tasks"]:
            mark = "*" if task["id"] in critical else " "
            lines.append(f" {mark} {task['id'][:12]} {task['state']:<11} {task.get('title', '')}")
        lines.append(" (* on the critical path)")
        return lines
    if what == "contract":
        lines = [f"contract {data['id']}: {data['status']}"]
        for m in data["milestones"]:
            lines.append(f"  {m['key']:<12} {m['state']:<10} {m['amount']['amount']} {m['amount']['currency']} due {_when(m['due'])}")
        for event in data["timeline"]:
            lines.append(f"  {_when(event['at'])} {event['kind']} {event['id'][:12]}")
        return lines
    return [_plain(data)]


def _when(timestamp) -> str:
    """A protocol timestamp as people read it; anything else (none yet) as it is."""
    return utc(timestamp) if type(timestamp) is int else str(timestamp)


def _plain(data) -> str:
    import json
    return json.dumps(data, indent=2, sort_keys=True)
