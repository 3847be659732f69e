"""What an inclusion receipt costs per object (spec section 14.5): the old scheme (a signature per
object, "ki-receipt-v1") against the batched one (one signature per inbox answer over a Merkle root,
a path per object), for batches of 1, 200 and 500, in one run on one core.

For each batch size it prints, per object, in CPU microseconds (the least disturbed of many rounds):
  hub    signing the answer's receipts (kinode.hub.receipts.attach for the new scheme);
  json   encoding the answer's results with their receipts (the path makes each answer longer);
  sender checking each receipt it keeps (kinode.hub.receipts.keep's checks, without the SQLite write);
and the answer's bytes per object, beside the raw Ed25519 verify (crypto_sign_open) of the same run,
the baseline the issue's ingest target is stated against (>= 0.6x raw verify in total hub CPU).

    .venv/bin/python bench/receipts_bench.py [--rounds 30] [--sizes 1,200,500]
"""

import argparse
import hashlib
import json
import time

import nacl.bindings

from benchlib import describe_run
from kinode.hub import receipts as hub_receipts
from protocol.identity import Identity, verify_signature
from protocol.receipts import root_signature_holds, verify_receipt

AT = 1767225600
HUB = Identity(bytes([2]) * 32)


def answers_for(size: int) -> list[dict]:
    return [{"id": hashlib.sha256(f"bench {n}".encode()).hexdigest(), "status": "accepted"} for n in range(size)]


def attach_v1(identity: Identity, answers: list[dict], now: int) -> list[dict]:
    """The scheme this change replaces, as it was: one Ed25519 signature per held object."""
    for answer in answers:
        message = f"ki-receipt-v1:{answer['id']}:{identity.did}:{now}".encode("ascii")
        answer["receipt"] = {"hub": identity.did, "object": answer["id"], "at": now,
                             "sig": identity.sign(message).hex()}
    return answers


def keep_v1(answers: list[dict]) -> None:
    for answer in answers:
        r = answer["receipt"]
        message = f"ki-receipt-v1:{r['object']}:{r['hub']}:{r['at']}".encode("ascii")
        assert verify_signature(r["hub"], message, bytes.fromhex(r["sig"]))


def keep_v2(answers: list[dict]) -> None:
    root_signature_holds.cache_clear()  # a new delivery: its root is verified once, here
    for answer in answers:
        verify_receipt(answer["receipt"], object_id=answer["id"])


def best(rounds: int, work) -> float:
    """The least CPU time of `rounds` runs of `work()` (timeit's advice: the rest is other load)."""
    fastest = float("inf")
    for _ in range(rounds):
        begin = time.thread_time()
        work()
        fastest = min(fastest, time.thread_time() - begin)
    return fastest


def raw_verify_us(rounds: int) -> float:
    message = b"ki-object-v1:" + b"a" * 64
    signed = HUB.sign(message) + message
    return best(rounds, lambda: [nacl.bindings.crypto_sign_open(signed, HUB.public_key) for _ in range(200)]) / 200 * 1e6


def measure(size: int, rounds: int) -> dict[str, dict[str, float]]:
    figures = {}
    for scheme, attach, keep in (("v1", attach_v1, keep_v1), ("v2", hub_receipts.attach, keep_v2)):
        answers = answers_for(size)
        hub = best(rounds, lambda: attach(HUB, answers_for(size), AT)) - best(rounds, lambda: answers_for(size))
        attach(HUB, answers, AT)
        encoded = json.dumps({"results": answers}).encode()
        encode = best(rounds, lambda: json.dumps({"results": answers}).encode())
        sender = best(rounds, lambda: keep(answers))
        figures[scheme] = {"hub": hub / size * 1e6, "json": encode / size * 1e6, "sender": sender / size * 1e6,
                           "bytes": len(encoded) / size}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="runs of each measurement; the fastest counts")
    parser.add_argument("--sizes", default="1,200,500", help="batch sizes (objects held per inbox answer)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    describe_run("Inclusion receipts per object: one signature per object (v1) vs one per answer (v2)",
                 {"sizes": sizes, "rounds": args.rounds, "measure": "CPU time of this thread, fastest round"})
    raw = raw_verify_us(args.rounds)
    print(f"raw Ed25519 verify (crypto_sign_open): {raw:.1f} µs per object (the baseline)\n")
    print(f"{'batch':>6} {'scheme':>6} {'hub µs':>8} {'json µs':>8} {'hub total':>10} {'÷ verify':>9} "
          f"{'sender µs':>10} {'bytes':>7}")
    for size in sizes:
        figures = measure(size, args.rounds)
        for scheme, f in figures.items():
            total = f["hub"] + f["json"]
            print(f"{size:>6} {scheme:>6} {f['hub']:>8.2f} {f['json']:>8.2f} {total:>10.2f} {total / raw:>8.2f}x "
                  f"{f['sender']:>10.2f} {f['bytes']:>7.0f}")
        old, new = figures["v1"], figures["v2"]
        print(f"{'':>6} {'v2/v1':>6} {new['hub'] / old['hub']:>8.2f} {new['json'] / old['json']:>8.2f} "
              f"{(new['hub'] + new['json']) / (old['hub'] + old['json']):>10.2f} {'':>9} "
              f"{new['sender'] / old['sender']:>10.2f} {new['bytes'] / old['bytes']:>7.2f}")
    print("\n'hub total' is the receipt's share of hub CPU per object (signing + encoding it into the answer);")
    print("'÷ verify' puts it beside one raw verify, which the ingest target (>= 0.6x raw verify) leaves ~75 µs for.")


if __name__ == "__main__":
    main()
