"""`kinode demo`: a living ki work federation on 127.0.0.1 to look at and poke.

Two peered category hubs (web-design led by dana, copywriting led by ben,
each leader named in its hub's hub.toml) and four participants (alice, ben,
cleo, dana), each a real `kinode hub` or `kinode serve` process with its own
data directory and web UI. On the first run kinode.cli.demo_seed fills the
market through the CLI verbs; later runs reuse it (`--fresh` replaces it).
Ctrl-C (or SIGTERM) stops every process and exits 0.
"""

import contextlib
import io
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from kinode.cli.demo_seed import STAGES, Member, seed
from kinode.cli.output import BadInput, runnable_kinode

PEOPLE = ("alice", "ben", "cleo", "dana")
HUBS = {  # data dir -> (category, its title, the leader named in hub.toml)
    "hub-web": ("web-design", "Web design", "dana"),
    "hub-copy": ("copywriting", "Copywriting", "ben"),
}
MARKER = "demo.json"  # {"seeded": bool, ...}: what a later run reuses, and proof the dir is the demo's
OURS = {MARKER, "seed", *PEOPLE, *HUBS, *(f"{n}.log" for n in (*PEOPLE, *HUBS))}
EARLIER = {"alice", "hub-a", "hub-b", "alice.log", "hub-a.log", "hub-b.log"}  # the first demo's layout, no marker


class DemoDirNotOurs(BadInput):
    """--data-dir names a directory the demo did not make: it never writes into or removes it."""


def run_demo(root: Path, first_port: int, fresh: bool = False) -> int:
    # SIGTERM during set-up stops the nodes started so far, as Ctrl-C does (later both are awaited).
    signal.signal(signal.SIGTERM, _interrupt)
    marker = root / MARKER
    state = json.loads(marker.read_text()) if marker.exists() else None
    if fresh or (state is not None and not state.get("seeded")):
        _clear(root, "--fresh: replacing the demo data" if fresh else "the last set-up did not finish: starting afresh")
        state = None
    elif state is None and root.exists() and any(root.iterdir()):
        if not {p.name for p in root.iterdir()} <= EARLIER:
            raise DemoDirNotOurs(f"{root} holds files that are not a kinode demo's; give another --data-dir")
        _step(f"replacing the data of an earlier kinode demo in {root}")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    first_run = state is None
    if not first_run:
        _step(f"reusing the demo data in {root} (--fresh replaces it)")
    members = {name: Member(name, root / name) for name in PEOPLE}
    if first_run:
        marker.write_text(json.dumps({"seeded": False}))
        _step("creating four identities (alice, ben, cleo, dana)")
        for who in members.values():
            who.did = _kinode_json("init", "--data-dir", str(who.data_dir), "--no-passphrase")["did"]
        for name, (slug, title, leader) in HUBS.items():
            (root / name).mkdir(exist_ok=True)
            (root / name / "hub.toml").write_text(
                f'name = "{title} hub (demo)"\nleaders = ["{members[leader].did}"]\n\n'
                f'[categories.{slug}]\ntitle = "{title}"\n')
    hub_urls = [f"http://127.0.0.1:{first_port + i}" for i in range(len(HUBS))]
    procs: list[tuple[Member, subprocess.Popen]] = []
    try:
        _step(f"starting 2 hubs and 4 participant nodes on 127.0.0.1:{first_port}-{first_port + 5}")
        hubs = []
        for i, name in enumerate(HUBS):
            hub = Member(name, root / name)
            peers = [a for u in hub_urls if u != hub_urls[i] for a in ("--peer", u)]
            procs.append((hub, _start(root, name, "hub", "--port", str(first_port + i), *peers,
                                      "--reconcile-interval", "5")))
            hubs.append(hub)
        # The hubs answer before a participant starts: a node that finds its hub down learns it only on
        # a later retry, and until then its CLI verbs would not look there for what they need.
        ui = {member.name: _ready(member, proc, root) for member, proc in procs}
        for i, who in enumerate(members.values()):
            hubs_args = [a for u in hub_urls for a in ("--hub", u)]
            procs.append((who, _start(root, who.name, "serve", "--port", str(first_port + 2 + i), *hubs_args)))
        ui |= {member.name: _ready(member, proc, root) for member, proc in procs[len(hubs):]}
        if first_run:
            state = {"seeded": True, **seed(members, hubs[0], hubs[1], root / "seed")}
            marker.write_text(json.dumps(state))
        print(_summary(root, hubs, members, ui, state), flush=True)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
        print("\nkinode demo: stopping ...", flush=True)
    except KeyboardInterrupt:
        print("\nkinode demo: interrupted; stopping ...", flush=True)
    finally:
        _stop([proc for _, proc in procs])
    print("kinode demo: stopped (every node exited)", flush=True)
    return 0


def _summary(root: Path, hubs: list[Member], members: dict[str, Member], ui: dict[str, str], state: dict) -> str:
    kinode, project = runnable_kinode(), state["project"]
    lines = ["", f"kinode demo: a ki work federation is running on 127.0.0.1 (data and logs in {root}/)", "",
             "Hubs (peered with each other):"]
    for hub, (slug, _, leader) in zip(hubs, HUBS.values()):
        lines += [f"  {slug:<12} hub  {hub.url}   leader: {leader}", f"      web UI  {ui[hub.name]}"]
    lines += ["", "Participants:"]
    roles = {"alice": "coordinates the tea-shop project", "ben": "copywriter, copywriting leader",
             "cleo": "designer, endorsed web-design expert", "dana": "developer, web-design leader"}
    for who in members.values():
        lines += [f"  {who.name:<6} {roles[who.name]:<38} {who.url}", f"      web UI  {ui[who.name]}"]
    lines += ["", "The project's tasks:"]
    lines += [f"  {title:<18} {stage}" for title, stage in STAGES.values()]
    hub_web = hubs[0].url
    lines += ["", "Try first:",
              "  1. Open alice's web UI: the dashboard lists her project; its page draws the task graph with the",
              "     critical path and the task at risk, and links each contract (delivery, rejection, payment).",
              "  2. Open ben's web UI: the Inbox shows what waits for him (the logo to deliver); Find work",
              "     searches the hubs.",
              "  3. Open the web-design hub's UI: its categories, peer hub and what it holds. Its experts",
              f"     (cleo, endorsed by the leader dana): {hub_web}/ki/v1/experts?category=web-design",
              "  4. From a terminal in this directory:",
              f"     $ {kinode} show project {project} --data-dir {root / 'alice'}",
              f"     $ {kinode} show needs --data-dir {root / 'alice'}",
              f"     $ {kinode} search --hub {hub_web} tea shop",
              f"     $ {kinode} status --data-dir {root / 'alice'}",
              "  The login URLs change at every start (a new token each time).", "",
              "Press Ctrl-C to stop."]
    return "\n".join(lines)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _step(text: str) -> None:
    print(f"kinode demo: {text}", flush=True)


def _clear(root: Path, why: str) -> None:
    if root.exists():
        strangers = [p.name for p in root.iterdir() if p.name not in OURS]
        if not (root / MARKER).exists() or strangers:
            raise DemoDirNotOurs(f"{root} is not only a kinode demo's data ({', '.join(strangers[:3]) or 'no demo.json'});"
                                 " not removing it")
        _step(why)
        shutil.rmtree(root)


def _kinode_json(*args: str) -> dict:
    """`kinode ARGS --json` run in this process (a process each would cost a second of start-up)."""
    from kinode.cli.entry import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*args, "--json"])
    if code != 0:
        raise SystemExit(f"kinode demo: `kinode {args[0]}` failed: {err.getvalue().strip()}")
    return json.loads(out.getvalue())


def _start(root: Path, name: str, *args: str) -> subprocess.Popen:
    log = open(root / f"{name}.log", "ab")
    with log:  # the child keeps its own copy of the descriptor
        # Its own session: a Ctrl-C in the terminal reaches only the demo, which stops the nodes in order.
        return subprocess.Popen([sys.executable, "-m", "kinode", *args, "--data-dir", str(root / name), "--json"],
                                stdout=subprocess.PIPE, stderr=log, start_new_session=True)


def _ready(member: Member, proc: subprocess.Popen, root: Path) -> str:
    """Read the node's JSON readiness line (url, did, ui); the UI login URL."""
    line = proc.stdout.readline()
    proc.stdout.close()
    try:
        ready = json.loads(line)
    except ValueError:
        proc.wait(10)
        tail = (root / f"{member.name}.log").read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        try:  # with --json the node reports its error as one JSON line
            why = json.loads(tail[0])["error"]["detail"]
        except (ValueError, KeyError, TypeError):
            why = tail[0]
        hint = "; try another --port" if "in use" in why else ""
        raise SystemExit(f"kinode demo: {member.name}'s node did not start: {why}{hint} "
                         f"(log: {root / member.name}.log)") from None
    member.url, member.did = ready["url"], ready["did"]
    return ready["ui"]


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
