"""`kinode status`, `peers` and `outbox` as lines a person reads (their --json form is the data itself)."""

import time
from typing import Any, Iterable

from kinode.node import GOSSIP


def status_lines(report: dict[str, Any]) -> Iterable[str]:
    yield f"identity    {report['did'] or '(none: run `kinode init`)'}"
    kinds = ", ".join(f"{count} {type_}" for type_, count in report["objects"].items()) or "none"
    yield f"objects     {report['objects_total']} ({kinds})"
    waiting = sum(d["waiting"] for d in report["destinations"])
    yield f"outbox      {waiting} waiting, {report['quarantined']} quarantined (refused; see `kinode outbox`)"
    yield from delivery_lines(report["destinations"])
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


def peer_lines(peers: list[dict[str, Any]]) -> Iterable[str]:
    for p in peers:
        roles = "/".join(p["roles"]) or "?"
        health = "ok" if not p["failures"] else f"{p['failures']} failures, last: {p['last_error']}"
        seen = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(p["last_seen"])) + " UTC" if p["last_seen"] else "never"
        categories = f" [{', '.join(p['categories'])}]" if p["categories"] else ""
        yield f"  {p['url']} {roles}{categories} {p['did']}; seen {seen}; {health}"
