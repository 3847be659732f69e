"""kinode hub ingest next to the nostr-relay package, same machine, same run, equivalent signed events.

    .venv/bin/python bench/nostr_compare_bench.py [--events 5000] [--clients 32] [--window 200]
                                                  [--venv /tmp/kinode-nostr-venv]

nostr-relay (PyPI `nostr-relay`, SQLite storage through SQLAlchemy, gunicorn
with one uvicorn worker, its default) is installed only into a separate
virtualenv (--venv, created on first use with `pip install nostr-relay`),
never into the project's .venv. That venv's Python runs the nostr side of
this script (`--nostr-side`): it signs NIP-01 events (kind 1, ~1 KB
content: the same offer text kinode signs, plus t/title/price tags) with
BIP-340 schnorr via coincurve (a dependency of nostr-relay), starts the relay
on 127.0.0.1, sends them as ["EVENT", ...] over websockets and counts the
["OK", id, true, ...] answers. The kinode side signs the same number of
~1 KB offers by as many authors and posts them to a fresh `kinode hub`.

Two shapes, each measured on both systems:
- one by one: --clients connections, each waiting for the answer to one
  object before sending the next (kinode: one object per POST, keep-alive);
- pipelined: --clients connections with up to --window objects outstanding
  (nostr: EVENT messages before their OKs; kinode: --window objects per POST).

Printed: objects/s and latency for each, the server's CPU seconds, and the
ratio kinode / nostr-relay per shape. Signing is done before timing on both
sides. Everything shares the machine's cores; no figure is asserted. If the
relay cannot be installed or run, the script says why and exits 0.
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_VENV = "/tmp/kinode-nostr-venv"
HERE = Path(__file__).resolve()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))]


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its live descendants (gunicorn master + worker)."""
    total, stack = 0.0, [pid]
    while stack:
        here = stack.pop()
        try:
            fields = Path(f"/proc/{here}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            stack += [int(c) for c in Path(f"/proc/{here}/task/{here}/children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def shape_result(seconds: float, accepted: int, latencies: list[float], cpu: float) -> dict:
    return {"rate": accepted / seconds, "accepted": accepted, "seconds": seconds, "cpu": cpu,
            "p50": statistics.median(latencies), "p99": percentile(latencies, 0.99)}


# --- the nostr side: runs in the nostr venv --------------------------------------------

def nostr_side(args) -> None:
    import hashlib

    import coincurve
    import nostr_relay

    description = ("I design and build small marketing sites for independent studios and shops: a few pages, fast, "
                   "readable, and usable with a keyboard and a screen reader. You get a short discovery call, two rounds "
                   "of design in Figma, a static build with a simple content editor, and a handover session. Hosting "
                   "advice included; I do not lock you in. Typical projects take two weeks from brief to launch. Recent "
                   "work: a bakery chain in Lyon, an architecture practice in Porto, a bookshop in Leipzig. Ask for "
                   "references. I reply within one working day. Prices are fixed per site; larger sites are split into "
                   "milestones.")
    keys = [coincurve.PrivateKey(hashlib.sha256(b"nostr-bench-%d" % i).digest()) for i in range(args.authors)]
    pubkeys = [k.public_key_xonly.format().hex() for k in keys]
    created_at = int(time.time()) - 60

    def event(i: int) -> bytes:
        key, pubkey = keys[i % len(keys)], pubkeys[i % len(keys)]
        tags = [["t", "web-design"], ["title", f"Accessible marketing site #{i}, designed and built in two weeks"],
                ["price", f"{1200 + i % 3000}.00", "EUR", "fixed"]]
        content = f"{description} Offer {i}."
        serial = json.dumps([0, pubkey, created_at, 1, tags, content], separators=(",", ":"), ensure_ascii=False)
        event_id = hashlib.sha256(serial.encode()).hexdigest()
        sig = key.sign_schnorr(bytes.fromhex(event_id), None).hex()
        return json.dumps(["EVENT", {"id": event_id, "pubkey": pubkey, "created_at": created_at, "kind": 1,
                                     "tags": tags, "content": content, "sig": sig}], separators=(",", ":"))

    begin = time.perf_counter()
    shapes = {"one by one": [event(i) for i in range(args.events)],
              "pipelined": [event(args.events + i) for i in range(args.events)]}
    sign_seconds = time.perf_counter() - begin
    results = {"version": nostr_relay.__version__ if hasattr(nostr_relay, "__version__") else "?",
               "coincurve": coincurve.__version__ if hasattr(coincurve, "__version__") else "?",
               "event_bytes": statistics.mean(len(m) for m in shapes["one by one"]) - 11,
               "sign_rate": 2 * args.events / sign_seconds}
    with tempfile.TemporaryDirectory(prefix="kinode-nostr-relay-") as tmp:
        for shape, messages in shapes.items():
            relay = start_relay(Path(tmp) / shape.replace(" ", "-"))
            try:
                window = 1 if shape == "one by one" else args.window
                cpu_before = tree_cpu_seconds(relay.process.pid)
                seconds, accepted, latencies, refusals = asyncio.run(send_events(relay.url, messages, args.clients, window))
                results[shape] = shape_result(seconds, accepted, latencies, tree_cpu_seconds(relay.process.pid) - cpu_before)
                results[shape]["refusals"] = refusals[:3]
            finally:
                relay.stop()
    print("NOSTR_RESULT " + json.dumps(results))


class Relay:
    def __init__(self, process: subprocess.Popen, url: str):
        self.process, self.url = process, url

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def start_relay(directory: Path) -> Relay:
    """nostr-relay (gunicorn, one worker, SQLite) on a free loopback port, ready for websockets."""
    directory.mkdir(parents=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = {
        "DEBUG": False,
        "storage": {"sqlalchemy.url": f"sqlite+aiosqlite:///{directory / 'nostr.sqlite3'}",
                    "num_concurrent_reqs": 10, "num_concurrent_adds": 2,
                    "validators": ["nostr_relay.validators.is_not_too_large", "nostr_relay.validators.is_signed",
                                   "nostr_relay.validators.is_recent", "nostr_relay.validators.is_not_hellthread"]},
        "verification": {"nip05_verification": "disabled", "expiration": 2592000, "update_frequency": 3600},
        "gunicorn": {"bind": f"127.0.0.1:{port}", "workers": 1, "loglevel": "warning", "reload": False},
        "authentication": {"enabled": False},
        "logging": {"version": 1, "root": {"level": "WARNING"},
                    "loggers": {"nostr_relay": {"level": "WARNING"}}},
    }
    conf = directory / "config.yaml"
    conf.write_text(json.dumps(config))  # YAML is a superset of JSON
    relay_cli = Path(sys.executable).with_name("nostr-relay")
    log = open(directory / "relay.log", "wb")
    with log:
        process = subprocess.Popen([str(relay_cli), "-c", str(conf), "serve"], cwd=directory, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    relay = Relay(process, f"ws://127.0.0.1:{port}")
    asyncio.run(wait_for_relay(relay, directory / "relay.log"))
    return relay


async def wait_for_relay(relay: Relay, log: Path, timeout: float = 60.0) -> None:
    import websockets

    deadline = time.monotonic() + timeout
    while True:
        try:
            async with websockets.connect(relay.url, open_timeout=2):
                return
        except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException):
            if relay.process.poll() is not None or time.monotonic() > deadline:
                relay.stop()
                raise RuntimeError(f"nostr-relay did not start: {log.read_text(errors='replace')[-2000:]}") from None
            await asyncio.sleep(0.1)


async def send_events(url: str, messages: list[str], clients: int, window: int):
    """(seconds, accepted, latencies, refusals): `clients` websockets, up to `window` EVENTs unanswered each."""
    import websockets

    queue = list(reversed(messages))
    accepted, latencies, refusals = 0, [], []

    async def client() -> None:
        nonlocal accepted
        async with websockets.connect(url, max_size=None, compression=None) as ws:
            sent: dict[str, float] = {}
            while queue or sent:
                while queue and len(sent) < window:
                    message = queue.pop()
                    sent[json.loads(message)[1]["id"]] = time.perf_counter()
                    await ws.send(message)
                answer = json.loads(await ws.recv())
                if answer[0] == "OK":
                    latencies.append(time.perf_counter() - sent.pop(answer[1]))
                    if answer[2]:
                        accepted += 1
                    else:
                        refusals.append(answer[3])

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - start, accepted, latencies, refusals


# --- the kinode side: runs in the project's venv ------------------------------------------

def kinode_side(args) -> dict:
    sys.path.insert(0, str(HERE.parent))
    import benchlib
    from http_ingest_bench import post_batches, post_singles

    objects = benchlib.signed_offers(2 * args.events, args.authors)
    results = {"object_bytes": statistics.mean(len(o.wire) for o in objects)}
    shapes = {"one by one": [benchlib.batch_body([o.wire]) for o in objects[:args.events]],
              "pipelined": [benchlib.batch_body([o.wire for o in objects[args.events + i:args.events + i + args.window]])
                            for i in range(0, args.events, args.window)]}
    with tempfile.TemporaryDirectory(prefix="kinode-nostr-compare-") as tmp:
        for shape, bodies in shapes.items():
            hub = benchlib.start_hub(Path(tmp), shape.replace(" ", "-"))
            try:
                cpu_before = benchlib.cpu_seconds(hub.process.pid)
                if shape == "one by one":
                    outcome = asyncio.run(post_singles(hub.url, bodies, args.clients, True))
                else:
                    outcome = asyncio.run(post_batches(hub.url, bodies, min(args.clients, len(bodies))))
                results[shape] = shape_result(*outcome, benchlib.cpu_seconds(hub.process.pid) - cpu_before)
            finally:
                benchlib.stop_hub(hub)
    return results


def nostr_results(args) -> dict | str:
    """The nostr side's figures, or the reason there are none."""
    venv = Path(args.venv)
    python = venv / "bin" / "python"
    if not (venv / "bin" / "nostr-relay").exists():
        print(f"setting up {venv} with nostr-relay (first run only) ...", flush=True)
        try:
            if not python.exists():
                subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", "nostr-relay"], check=True,
                           capture_output=True, timeout=600)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
            output = getattr(error, "stderr", b"") or b""
            return f"cannot install nostr-relay into {venv}: {error}\n{output.decode(errors='replace')[-1500:]}"
    command = [str(python), str(HERE), "--nostr-side", "--events", str(args.events), "--clients", str(args.clients),
               "--window", str(args.window), "--authors", str(args.authors)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    for line in done.stdout.splitlines():
        if line.startswith("NOSTR_RESULT "):
            return json.loads(line.split(" ", 1)[1])
    return f"the nostr side failed (exit {done.returncode}):\n{(done.stdout + done.stderr)[-2000:]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000, help="objects per shape on each system (default 5000)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--window", type=int, default=200, help="objects outstanding per connection when pipelined")
    parser.add_argument("--authors", type=int, default=500)
    parser.add_argument("--venv", default=DEFAULT_VENV, help=f"virtualenv for nostr-relay (default {DEFAULT_VENV})")
    parser.add_argument("--nostr-side", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.nostr_side:
        nostr_side(args)
        return
    sys.path.insert(0, str(HERE.parent))
    import benchlib
    benchlib.describe_run("nostr_compare_bench", {
        "objects": f"{args.events} per shape per system, {args.authors} authors, signed before timing",
        "shapes": f"one by one over {args.clients} connections; pipelined, {args.window} outstanding "
                  f"per connection (kinode: {args.window} per POST)",
        "servers": "fresh kinode hub (SQLite FULL, search index) / fresh nostr-relay (gunicorn, 1 worker, SQLite)",
        "note": "servers and load generators share the machine's cores"})
    nostr = nostr_results(args)
    if isinstance(nostr, str):
        print("nostr_compare_bench: nostr-relay could not be measured, so there is no ratio.")
        print(nostr)
        return
    kinode = kinode_side(args)
    print(f"nostr-relay {nostr['version']} (coincurve {nostr['coincurve']}), events ~{nostr['event_bytes']:.0f} B; "
          f"kinode offers ~{kinode['object_bytes']:.0f} B\n")
    for shape in ("one by one", "pipelined"):
        print(f"{shape}:")
        for name, figures in (("kinode hub", kinode[shape]), ("nostr-relay", nostr[shape])):
            print(f"   {name:<12} {figures['rate']:8.0f} objects/s  p50 {figures['p50'] * 1000:7.1f} ms  "
                  f"p99 {figures['p99'] * 1000:7.1f} ms  server CPU {figures['cpu'] / figures['seconds']:.2f} cores busy  "
                  f"({figures['accepted']}/{args.events} accepted)")
        if nostr[shape].get("refusals"):
            print(f"   nostr-relay refusals, first few: {nostr[shape]['refusals']}")
        print(f"   ratio kinode / nostr-relay: {kinode[shape]['rate'] / nostr[shape]['rate']:.2f}x")


if __name__ == "__main__":
    main()
