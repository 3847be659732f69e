"""`kinode status`, `peers` and `outbox` as lines a person reads (their --json form is the data itself)."""

import time
from typing import Any, Iterable

from kinode.cli.output import utc
from kinode.node import GOSSIP


def status_lines(report: dict[str, Any]) -> Iterable[str]:
    yield f"identity    {report['did'] or '(none: run `kinode init`)'}"
    kinds = ", ".join(f"{count} {type_}" for type_, count in report["objects"].items()) or "none"
    yield f"objects     {report['objects_total']} ({kinds})"
    waiting = sum(d["waiting"] for d in report["destinations"])
    yield f"outbox      {waiting} waiting, {report['quarantined']} quarantined (refused; see `kinode outbox`)"
    yield from delivery_lines(report["destinations"])
    yield from routed_lines(report.get("deliveries", []), report.get("pending", []), report.get("refused_later", []))
    yield f"peers       {len(report['peers'])}"
    yield from peer_lines(report["peers"])


def delivery_lines(deliveries: list[dict[str, Any]], now: float | None = None) -> Iterable[str]:
    now = time.time() if now is None else now
    for d in deliveries:
        if d["destination"] == GOSSIP:
            yield (f"  {d['waiting']} not yet assigned to a hub: delivered once this node runs with a --hub "
                   "that serves them")
            continue
        line = f"  {d['destination']}: {d['waiting']} waiting"
        if d["failures"]:
            retry = max(0, int(d["next_attempt_at"] - now))
            line += f", {d['failures']} failed attempts, next in {retry} s; last error: {d['last_error']}"
        yield line


def routed_lines(routed: list[dict[str, Any]], pending: list[dict[str, Any]],
                 refused: list[dict[str, Any]]) -> Iterable[str]:
    """Per published object "delivered to N of M", and why each other destination has not taken it."""
    if routed:
        yield f"published   {len(routed)} routed (newest first)"
    for item in routed:
        yield f"  {item['type'] or 'object'} {item['id'][:12]}: delivered to {item['delivered']} of {item['total']}"
        for d in item["destinations"]:
            if d["state"] != "delivered":
                why = f": {d['detail']} [{d['code']}]" if d["code"] else ""
                yield f"    {d['state']} {d['name']}{why}"
    if pending:
        yield f"pending     {len(pending)} held until their context arrives"
        for p in pending:
            yield f"  {p['type']} {p['id'][:12]} waits for {', '.join(i[:12] for i in p['awaiting'])}"
    for r in refused:
        yield f"refused     {r['id'][:12]} once its context came: {r['detail']} [{r['code']}]"


def peer_lines(peers: list[dict[str, Any]]) -> Iterable[str]:
    for p in peers:
        roles = "/".join(p["roles"]) or "?"
        health = "ok" if not p["failures"] else f"{p['failures']} failures, last: {p['last_error']}"
        seen = utc(p["last_seen"]) if p["last_seen"] else "never"
        categories = f" [{', '.join(p['categories'])}]" if p["categories"] else ""
        yield f"  {p['url']} {roles}{categories} {p['did']}; seen {seen}; {health}"
