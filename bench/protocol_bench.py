"""How much full object validation costs next to the Ed25519 verify inside it.

Measures, in one run on one core: raw PyNaCl verify/s, full validation/s
(`protocol.envelope.parse_object` on the wire bytes of a realistic ~1 KB
offer: parse, canonicalise, id, verify, body checks) and sign/s. The figure
that matters is the ratio validation / raw verify: the protocol's own work
should cost little next to the signature check (target >= 0.85).

It then times each stage of validation on its own (`--no-stages` skips it),
so the ratio can be read as microseconds: where each one beyond the
signature check goes.

    .venv/bin/python bench/protocol_bench.py [--seconds 3] [--rounds 30] [--no-stages] [--profile]
"""

import argparse
import cProfile
import os
import platform
import pstats
import statistics
import time

import nacl.bindings

from benchlib import DESCRIPTION
from protocol import canonical, envelope
from protocol.bodies import BODY_TYPES, check_body
from protocol.envelope import SIGNATURE_CONTEXT, parse_object, sign
from protocol.identity import Identity, public_key_from_did, public_key_of, signature_valid

NOW = 1767225600
TARGET_RATIO = 0.85


def realistic_offer(identity: Identity):
    body = {
        "category": "web-design",
        "title": "Accessible marketing site, designed and built in two weeks",
        "description": DESCRIPTION,
        "skills": ["web-design", "html", "css", "accessibility", "figma", "static-sites"],
        "price": {"amount": "2400.00", "currency": "EUR"},
        "unit": "fixed",
    }
    return sign(identity, "offer", body, NOW)


def rate(fn, seconds: float, batch: int = 50) -> tuple[float, float, int]:
    """(mean calls/s, best batch's calls/s, iterations) of `fn` over about `seconds`.

    The best batch is the figure least disturbed by other processes (as timeit
    advises, the minimum is the one to trust); the mean shows the spread.
    """
    iterations, fastest = 0, float("inf")
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        begin = time.perf_counter()
        for _ in range(batch):
            fn()
        fastest = min(fastest, time.perf_counter() - begin)
        iterations += batch
    return iterations / elapsed, batch / fastest, iterations


def interleaved(cases: dict, seconds: float, rounds: int) -> dict[str, list[tuple[float, float, int]]]:
    """Measure the cases in alternating short rounds, so that load from other
    processes hits them alike; ratios are taken within a round."""
    for fn in cases.values():
        for _ in range(50):
            fn()  # warm-up: caches, allocator
    results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            results[name].append(rate(fn, seconds / rounds))
    return results


def stages(wire: bytes) -> dict:
    """Each step `parse_object` takes on `wire`, as a call of its own, in the order it runs them.

    They name the modules' internals on purpose: the point is to see what the
    current implementation spends, so this follows it when it changes.
    """
    value = canonical.parse(wire)
    author, obj_id, sig, body = value["author"], value["id"], value["sig"], value["body"]
    message, signature = SIGNATURE_CONTEXT + obj_id.encode("ascii"), bytes.fromhex(sig)
    public_key, offer_type = public_key_from_did(author), BODY_TYPES["offer"]
    return {
        "JSON decode (orjson.loads of the bytes)": lambda: canonical._orjson_loads(wire),
        "canonical proof (re-encode, compare, walk)": lambda: canonical._proves_canonical(value, wire),
        "id: SHA-256 of the wire minus id and sig": lambda: envelope._id_of_wire(wire),
        "signing input (context + id; author's key)": lambda: (
            SIGNATURE_CONTEXT + obj_id.encode("ascii"), public_key_of(author)),
        "envelope shape checks (sig from hex)": lambda: envelope._check_shape(value),
        "body checks (check_body, offer)": lambda: check_body(offer_type, body, NOW, author),
        "signature (signature_valid: crypto_sign_open)": lambda: signature_valid(public_key, message, signature),
    }


def print_stages(wire: bytes, seconds: float, rounds: int) -> None:
    cases = {"full validation (parse_object)": lambda: parse_object(wire, NOW), **stages(wire)}
    public_key = public_key_from_did(canonical.parse(wire)["author"])
    value = canonical.parse(wire)
    signed_message = bytes.fromhex(value["sig"]) + SIGNATURE_CONTEXT + value["id"].encode("ascii")
    cases["raw verify (crypto_sign_open)"] = lambda: nacl.bindings.crypto_sign_open(signed_message, public_key)
    results = interleaved(cases, seconds, rounds)
    micros = {name: 1e6 / max(fast for _, fast, _ in rounds) for name, rounds in results.items()}
    full, raw = micros.pop("full validation (parse_object)"), micros.pop("raw verify (crypto_sign_open)")
    print()
    print("  per stage, microseconds per call (fastest batch of 50):")
    for name, micro in micros.items():
        print(f"  {name:44s} {micro:7.2f} us")
    print(f"  {'sum of the stages':44s} {sum(micros.values()):7.2f} us")
    print(f"  {'full validation, measured whole':44s} {full:7.2f} us")
    print(f"  {'raw verify':44s} {raw:7.2f} us")
    print(f"  {'beyond raw verify (full - raw)':44s} {full - raw:7.2f} us"
          f"   (0.85x allows {raw / 0.85 - raw:.2f} us)")
    print(f"  load average at the end         {os.getloadavg()[0]:10.2f}")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--rounds", type=int, default=30, help="interleaved rounds per measurement")
    parser.add_argument("--no-stages", dest="stages", action="store_false", help="skip the per-stage timing")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of validation")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as promised

    identity = Identity(bytes([1]) * 32)
    offer = realistic_offer(identity)
    public_key = identity.public_key
    message = SIGNATURE_CONTEXT + offer.id.encode("ascii")
    signed_message = bytes.fromhex(offer.sig) + message
    wire = offer.wire

    results = interleaved({
        "raw": lambda: nacl.bindings.crypto_sign_open(signed_message, public_key),
        "full": lambda: parse_object(wire, NOW),
        "sign": lambda: sign(identity, "offer", offer.body, NOW),
    }, args.seconds, args.rounds)
    ratios = sorted(f[0] / r[0] for f, r in zip(results["full"], results["raw"]))
    best = {name: max(fast for _, fast, _ in rounds) for name, rounds in results.items()}
    total = {name: sum(n for _, _, n in rounds) for name, rounds in results.items()}
    ratio = best["full"] / best["raw"]

    print("protocol_bench")
    print(f"  python      {platform.python_implementation()} {platform.python_version()}")
    print(f"  pynacl      {nacl.__version__}, libsodium via nacl.bindings")
    print(f"  cpu         {cpu_model()}")
    print(f"  cores used  1 (affinity {sorted(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'})")
    print(f"  object      offer, {len(wire)} bytes on the wire")
    print(f"  duration    ~{args.seconds:g} s per measurement, in {args.rounds} interleaved rounds")
    print()
    print("  calls per second, fastest batch of 50 (least disturbed by other load):")
    print(f"  raw verify (crypto_sign_open)   {best['raw']:10.0f} /s   ({total['raw']} iterations)")
    print(f"  full validation (parse_object)  {best['full']:10.0f} /s   ({total['full']} iterations)")
    print(f"  sign (envelope.sign)            {best['sign']:10.0f} /s   ({total['sign']} iterations)")
    print(f"  ratio validation / raw verify   {ratio:10.3f}     (target >= {TARGET_RATIO})")
    print(f"  same ratio from round means     {statistics.median(ratios):10.3f}     median of {len(ratios)} "
          f"rounds, min {ratios[0]:.3f}, max {ratios[-1]:.3f}")
    print(f"  load average at the end         {os.getloadavg()[0]:10.2f}")

    if args.stages:
        print_stages(wire, args.seconds, args.rounds)

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(5000):
            parse_object(wire, NOW)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
