"""How much full object validation costs next to the Ed25519 verify inside it.

Measures, in one run on one core: raw PyNaCl verify/s, full validation/s
(`protocol.envelope.parse_object` on the wire bytes of a realistic ~1 KB
offer: parse, canonicalise, id, verify, body checks) and sign/s. The figure
that matters is the ratio validation / raw verify: the protocol's own work
should cost little next to the signature check (target >= 0.75).

    .venv/bin/python bench/protocol_bench.py [--seconds 2] [--profile]
"""

import argparse
import cProfile
import os
import platform
import pstats
import time

import nacl.bindings

from protocol.envelope import SIGNATURE_CONTEXT, parse_object, sign
from protocol.identity import Identity

NOW = 1767225600
TARGET_RATIO = 0.75


def realistic_offer(identity: Identity):
    body = {
        "category": "web-design",
        "title": "Accessible marketing site, designed and built in two weeks",
        "description": (
            "I design and build small marketing sites for independent studios and shops: "
            "a few pages, fast, readable, and usable with a keyboard and a screen reader. "
            "You get a short discovery call, two rounds of design in Figma, a static build "
            "with a simple content editor, and a handover session. Hosting advice included; "
            "I do not lock you in. Typical projects take two weeks from brief to launch. "
            "Recent work: a bakery chain in Lyon, an architecture practice in Porto, a "
            "bookshop in Leipzig. Ask for references. I reply within one working day. "
            "Prices are fixed per site; larger sites are split into milestones."
        ),
        "skills": ["web-design", "html", "css", "accessibility", "figma", "static-sites"],
        "price": {"amount": "2400.00", "currency": "EUR"},
        "unit": "fixed",
    }
    return sign(identity, "offer", body, NOW)


def rate(fn, seconds: float) -> tuple[float, int]:
    """Calls per second of `fn` over about `seconds`, after a short warm-up."""
    for _ in range(50):
        fn()
    iterations, batch = 0, 200
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(batch):
            fn()
        iterations += batch
    return iterations / elapsed, iterations


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
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
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

    raw_rate, raw_n = rate(lambda: nacl.bindings.crypto_sign_open(signed_message, public_key), args.seconds)
    full_rate, full_n = rate(lambda: parse_object(wire, NOW), args.seconds)
    sign_rate, sign_n = rate(lambda: sign(identity, "offer", offer.body, NOW), args.seconds)
    ratio = full_rate / raw_rate

    print("protocol_bench")
    print(f"  python      {platform.python_implementation()} {platform.python_version()}")
    print(f"  pynacl      {nacl.__version__}, libsodium via nacl.bindings")
    print(f"  cpu         {cpu_model()}")
    print(f"  cores used  1 (affinity {sorted(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'})")
    print(f"  object      offer, {len(wire)} bytes on the wire")
    print(f"  duration    ~{args.seconds:g} s per measurement")
    print()
    print(f"  raw verify (crypto_sign_open)   {raw_rate:10.0f} /s   ({raw_n} iterations)")
    print(f"  full validation (parse_object)  {full_rate:10.0f} /s   ({full_n} iterations)")
    print(f"  sign (envelope.sign)            {sign_rate:10.0f} /s   ({sign_n} iterations)")
    print(f"  ratio validation / raw verify   {ratio:10.3f}     (target >= {TARGET_RATIO})")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(5000):
            parse_object(wire, NOW)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
