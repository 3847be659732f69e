"""Shared pieces of the node benchmarks: how the run was made, signed test
objects, real hub processes, the raw-verify baseline and latency percentiles.

Hubs are started with tests/e2e/harness.py (the same code the end-to-end
tests use), so a benchmark measures exactly what `kinode hub` does.
"""

import contextlib
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "e2e")]

import aiohttp  # noqa: E402
import nacl  # noqa: E402
import nacl.bindings  # noqa: E402

import harness  # noqa: E402  (tests/e2e/harness.py)
from protocol.envelope import SIGNATURE_CONTEXT, sign  # noqa: E402
from protocol.identity import Identity  # noqa: E402

CATEGORY = "web-design"
DESCRIPTION = (
    "I design and build small marketing sites for independent studios and shops: "
    "a few pages, fast, readable, and usable with a keyboard and a screen reader. "
    "You get a short discovery call, two rounds of design in Figma, a static build "
    "with a simple content editor, and a handover session. Hosting advice included; "
    "I do not lock you in. Typical projects take two weeks from brief to launch. "
    "Recent work: a bakery chain in Lyon, an architecture practice in Porto, a "
    "bookshop in Leipzig. Ask for references. I reply within one working day. "
    "Prices are fixed per site; larger sites are split into milestones."
)
SKILLS = ["web-design", "html", "css", "accessibility", "figma", "static-sites", "seo", "wordpress"]


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def all_cpus() -> set[int]:
    return set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))


def describe_run(title: str, sizes: dict) -> None:
    """Print what the figures depend on: interpreter, libraries, CPU, cores, sizes."""
    print(title)
    print(f"  python      {platform.python_implementation()} {platform.python_version()} ({sys.executable})")
    print(f"  libraries   pynacl {nacl.__version__}, aiohttp {aiohttp.__version__}, SQLite {sqlite3.sqlite_version}")
    print(f"  cpu         {cpu_model()}, {os.cpu_count()} cores online, affinity {sorted(all_cpus())}")
    print(f"  load avg    {os.getloadavg()[0]:.2f} at start (other processes on the box skew every figure)")
    print(f"  command     {' '.join([Path(sys.argv[0]).name] + sys.argv[1:])}")
    for name, value in sizes.items():
        print(f"  {name:<11} {value}")
    print()


def offer_body(index: int, rng_words: list[str]) -> dict:
    """A realistic ~1 KB offer; index varies the text so ids and search terms differ."""
    word = rng_words[index % len(rng_words)]
    return {
        "category": CATEGORY,
        "title": f"Accessible {word} site #{index}, designed and built in two weeks",
        "description": f"{DESCRIPTION} Offer {index}: {word} specialist.",
        "skills": SKILLS[: 3 + index % 6],
        "price": {"amount": f"{1200 + index % 3000}.00", "currency": "EUR"},
        "unit": "fixed",
    }


WORDS = ["bakery", "studio", "bookshop", "architect", "cafe", "florist", "gallery", "clinic",
         "brewery", "theatre", "school", "garage", "hotel", "winery", "museum", "tailor"]


def signed_offers(count: int, authors: int, created_at: int | None = None, seed: int = 1) -> list:
    """`count` offers signed round-robin by `authors` deterministic identities (SignedObject list)."""
    created_at = int(time.time()) - 60 if created_at is None else created_at
    identities = [Identity(((seed << 20) + i).to_bytes(32, "big")) for i in range(authors)]
    return [sign(identities[i % authors], "offer", offer_body(i, WORDS), created_at) for i in range(count)]


def batch_body(wires: list[bytes]) -> bytes:
    return b'{"objects":[' + b",".join(wires) + b"]}"


def raw_verify_rate(seconds: float, threads: int = 1) -> float:
    """Ed25519 verifies per second of a bare crypto_sign_open loop (the baseline).

    With threads > 1 the loops run concurrently: PyNaCl releases the GIL in
    libsodium, so this shows what the cores can do together.
    """
    identity = Identity(bytes([7]) * 32)
    obj = sign(identity, "offer", offer_body(0, WORDS), 1_767_225_600)
    signed = bytes.fromhex(obj.sig) + SIGNATURE_CONTEXT + obj.id.encode("ascii")
    public_key = identity.public_key
    counts = [0] * threads
    deadline = time.perf_counter() + seconds

    def loop(slot: int) -> None:
        n = 0
        while time.perf_counter() < deadline:
            for _ in range(100):
                nacl.bindings.crypto_sign_open(signed, public_key)
            n += 100
        counts[slot] = n

    start = time.perf_counter()
    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - start)


def raw_verify_cpu_rate(seconds: float) -> float:
    """Verifies per CPU-second of this thread: what one core does when it is not shared.

    Wall-clock rates fall when other processes take the cores; CPU time
    spent does not (much), so this is the load-robust form of the baseline.
    Shared caches still slow it somewhat, hence the fastest chunk of 200.
    """
    identity = Identity(bytes([7]) * 32)
    obj = sign(identity, "offer", offer_body(0, WORDS), 1_767_225_600)
    signed = bytes.fromhex(obj.sig) + SIGNATURE_CONTEXT + obj.id.encode("ascii")
    public_key = identity.public_key
    fastest, deadline = float("inf"), time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        begin = time.thread_time()
        for _ in range(200):
            nacl.bindings.crypto_sign_open(signed, public_key)
        fastest = min(fastest, time.thread_time() - begin)
    return 200 / fastest  # the least disturbed chunk, as timeit advises


def best_raw_verify(seconds: float, rounds: int = 3, threads: int = 1) -> float:
    """The best of a few short runs: the figure least disturbed by other load."""
    return max(raw_verify_rate(seconds / rounds, threads) for _ in range(rounds))


@contextlib.contextmanager
def cpus(which: set[int] | None):
    """Run the body with this process (and so the children it starts) pinned to `which`."""
    if which is None or not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, which)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def start_hub(root: Path, name: str, peers: list[str] = (), port: int = 0, reconcile_interval: float = 30.0,
              extra_args: list[str] = (), env: dict | None = None) -> "harness.Proc":
    """A real `kinode hub` process for CATEGORY, ready to answer."""
    args = ["hub", "--data-dir", str(root / name), "--category", CATEGORY,
            "--reconcile-interval", str(reconcile_interval), "--log-level", "WARNING", *extra_args]
    args += [a for p in peers for a in ("--peer", p)]
    proc = harness.Proc(args, root / name, root / f"{name}.log", port, extra_env=env or {})
    return proc.start()


def stop_hub(proc: "harness.Proc") -> int | None:
    """SIGTERM and wait; the exit code, or None (after SIGKILL) if it did not stop in time.

    A hub that ignores SIGTERM is reported, not fatal, so the other figures
    still print (seen under heavy load: a cancellation lost in asyncio.wait_for
    on Python 3.11 keeps a background task alive).
    """
    try:
        return proc.stop()
    except subprocess.TimeoutExpired:
        print(f"  warning: hub {proc.data_dir.name} did not stop within 15 s of SIGTERM; killed it")
        return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process and its live descendants (e.g. verify workers) have used, from /proc."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    family, ticks = {pid}, 0
    for _ in range(8):  # a few generations: hub -> forkserver -> workers
        family |= {p for p, (ppid, _) in stats.items() if ppid in family}
    ticks = sum(stats[p][1] for p in family if p in stats)
    return ticks / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by the nearest-rank method."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))]


def summary(values: list[float]) -> str:
    return (f"median {statistics.median(values) * 1000:.1f} ms, p99 {percentile(values, 0.99) * 1000:.1f} ms, "
            f"max {max(values) * 1000:.1f} ms")
