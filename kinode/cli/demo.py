"""`kinode demo`: a local federation on 127.0.0.1 to look at and poke.

Two peered category hubs and one participant node attached to the first,
each a real `kinode` process with its own data directory. On the first run
the participant publishes a profile, an offer and a project, which reach
both hubs (the second one through hub-to-hub gossip). Ctrl-C stops all three.
"""

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

CATEGORIES = ["web-design", "copywriting"]


def run_demo(root: Path, first_port: int) -> int:
    root.mkdir(parents=True, exist_ok=True)
    hub_a, hub_b, node = (f"http://127.0.0.1:{first_port + i}" for i in range(3))
    first_run = not (root / "alice" / "identity.json").exists()
    alice = _kinode("init", "--data-dir", str(root / "alice"), "--no-passphrase") if first_run else None
    categories = [a for c in CATEGORIES for a in ("--category", c)]
    procs = [
        _start(root, "hub-a", "hub", "--port", str(first_port), *categories, "--peer", hub_b, "--reconcile-interval", "5"),
        _start(root, "hub-b", "hub", "--port", str(first_port + 1), *categories, "--peer", hub_a, "--reconcile-interval", "5"),
        _start(root, "alice", "serve", "--port", str(first_port + 2), "--hub", hub_a),
    ]
    try:
        for url, proc in zip((hub_a, hub_b, node), procs):
            _wait_ready(url, proc)
        if first_run:
            for document in _samples(alice):
                _kinode("publish", "--data-dir", str(root / "alice"), "-", stdin=json.dumps(document))
        print(f"""
kinode demo: a local federation is running (logs in {root}/*.log).

  hub A        {hub_a}/.well-known/kinode
  hub B        {hub_b}/.well-known/kinode      (peered with hub A)
  alice's node {node}/.well-known/kinode      (publishes to hub A)

  search hub B {hub_b}/ki/v1/search?q=landing
  the log      {hub_b}/ki/v1/objects
  live events  {hub_a}/ki/v1/stream

  publish more: kinode publish --data-dir {root}/alice FILE.json   ({{"type": ..., "body": {{...}}}})
  node status:  kinode status --data-dir {root}/alice

Press Ctrl-C to stop.""", flush=True)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except KeyboardInterrupt:
        pass
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        print("kinode demo: stopped", flush=True)
    return 0


def _samples(alice: str) -> list[dict]:
    in_a_month = int(time.time()) + 30 * 86400
    return [
        {"type": "profile", "body": {"name": "Alice Example", "bio": "Web designer and copywriter in Lisbon.",
                                     "skills": ["css", "figma", "copywriting"], "categories": CATEGORIES}},
        {"type": "offer", "body": {"category": "web-design", "title": "Landing page in a week",
                                   "description": "A responsive landing page with two rounds of changes.",
                                   "skills": ["css", "html"], "price": {"amount": "80.00", "currency": "EUR"},
                                   "unit": "hour"}},
        {"type": "project", "body": {"category": "copywriting", "title": "Product copy for a small shop",
                                     "description": "Thirty product descriptions, friendly tone.",
                                     "budget": {"amount": "900.00", "currency": "EUR"}, "deadline": in_a_month,
                                     "coordinator": alice}},
    ]


def _kinode(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "kinode", *args], input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"kinode demo: `kinode {args[0]}` failed: {done.stderr.strip()}")
    return done.stdout.strip()


def _start(root: Path, name: str, *args: str) -> subprocess.Popen:
    log = open(root / f"{name}.log", "ab")
    with log:
        return subprocess.Popen([sys.executable, "-m", "kinode", *args, "--data-dir", str(root / name)],
                                stdout=log, stderr=log, start_new_session=True)


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/.well-known/kinode", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            if proc.poll() is not None:
                raise SystemExit(f"kinode demo: the node for {url} exited; see its log") from None
            if time.monotonic() > deadline:
                raise SystemExit(f"kinode demo: {url} did not start within {timeout}s") from None
            time.sleep(0.1)
