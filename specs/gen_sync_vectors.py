"""Generate specs/vectors/sync.json: vectors for set reconciliation (protocol.md section 10).

Ids are SHA-256 of fixed labels and the salts are fixed, so running this
again writes the same file (run: make vectors). The test
(tests/protocol/test_sync_vectors.py) reads the committed file and never
regenerates it.

Kinds of vector:
- `fingerprint`: `ids` under `salt` give `fingerprint` (10.2);
- `split`: the split of `prefix` over `ids` under `salt` (10.2);
- `exchange`: an initiator holding `initiator_ids` and a responder holding
  `responder_ids`, both with `params` (10.4), exchange `messages` (requests
  and responses alternately, canonical JSON text) and the initiator ends
  with `have` and `need`;
- `invalid`: a `request` or `reply` that a receiver refuses with `error`.
"""

import hashlib
from typing import Any

from protocol import sync
from protocol.errors import ProtocolError

SALT = bytes(range(8))
OTHER_SALT = hashlib.sha256(b"sync-vector salt").digest()[:8]


def vid(label: str) -> str:
    return hashlib.sha256(f"sync-vector:{label}".encode()).hexdigest()


def ids(n: int, tag: str = "") -> list[str]:
    return sorted(vid(f"{tag}{i}") for i in range(n))


def _fingerprint(name: str, salt: bytes, members: list[str]) -> dict[str, Any]:
    id_sum = sum(map(sync.id_value, members))
    return {"name": name, "kind": "fingerprint", "salt": sync.b64(salt), "ids": members,
            "fingerprint": sync.b64(sync.fingerprint_of(salt, id_sum, len(members)))}


def _split(name: str, salt: bytes, prefix: str, members: list[str]) -> dict[str, Any]:
    items = sync.SortedItems(members)
    fps = b"".join(sync.fingerprint_of(salt, s, n) for n, s in items.children(prefix))
    return {"name": name, "kind": "split", "salt": sync.b64(salt), "prefix": prefix, "ids": members,
            "split": sync.b64(fps)}


def _exchange(name: str, mine: list[str], theirs: list[str], params: sync.Params = sync.Params(),
              salt: bytes = SALT) -> dict[str, Any]:
    initiator = sync.Initiator(sync.SortedItems(mine), ["web-design"], params, salt=salt)
    responder = sync.SortedItems(theirs)
    messages, message = [], initiator.start()
    while message is not None:
        reply = sync.respond(responder, message, params)
        messages += [sync.encode(message).decode(), sync.encode(reply).decode()]
        message = initiator.receive(reply)
    assert initiator.have == set(mine) - set(theirs) and initiator.need == set(theirs) - set(mine)
    return {"name": name, "kind": "exchange", "initiator_ids": sorted(mine), "responder_ids": sorted(theirs),
            "params": {"id_list_threshold": params.id_list_threshold, "diff_limit": params.diff_limit,
                       "frame_limit": params.frame_limit},
            "messages": messages, "have": sorted(initiator.have), "need": sorted(initiator.need)}


_S = sync.b64(SALT)
_ID = vid("x")
INVALID = [
    ("request", "version 1", '{"v":1,"buckets":[],"salt":"%s"}' % _S, "unsupported_version"),
    ("request", "version 1 members", '{"v":1,"ranges":[]}', "invalid_sync_message"),
    ("request", "no salt", '{"v":2,"buckets":[]}', "invalid_sync_message"),
    ("request", "salt of 7 bytes", '{"v":2,"buckets":[],"salt":"AAECAwQFBg"}', "invalid_sync_message"),
    ("request", "salt with unused bits set", '{"v":2,"buckets":[],"salt":"AAECAwQFBgd"}', "invalid_sync_message"),
    ("request", "again from the initiator", '{"v":2,"buckets":[["a",0]],"salt":"%s"}' % _S, "invalid_sync_message"),
    ("request", "diff from the initiator", '{"v":2,"buckets":[["a",3,[],[]]],"salt":"%s"}' % _S,
     "invalid_sync_message"),
    ("request", "the root twice", '{"v":2,"buckets":[["",2,[]],["",2,[]]],"salt":"%s"}' % _S, "invalid_sync_message"),
    ("request", "a bucket inside the one before", '{"v":2,"buckets":[["a",2,[]],["ab",2,[]]],"salt":"%s"}' % _S,
     "invalid_sync_message"),
    ("request", "buckets out of order", '{"v":2,"buckets":[["b",2,[]],["a",2,[]]],"salt":"%s"}' % _S,
     "invalid_sync_message"),
    ("request", "split of 64 digits", '{"v":2,"buckets":[["%s",1,"%s"]],"salt":"%s"}' % ("a" * 64, "A" * 171, _S),
     "invalid_sync_message"),
    ("request", "split of 170 characters", '{"v":2,"buckets":[["",1,"%s"]],"salt":"%s"}' % ("A" * 170, _S),
     "invalid_sync_message"),
    ("request", "uppercase prefix", '{"v":2,"buckets":[["A",2,[]]],"salt":"%s"}' % _S, "invalid_sync_message"),
    ("request", "id outside its bucket", '{"v":2,"buckets":[["%s",2,["%s"]]],"salt":"%s"}'
     % ("0" if _ID[0] != "0" else "1", _ID, _S), "invalid_sync_message"),
    ("request", "duplicate key", '{"v":2,"v":2,"buckets":[],"salt":"%s"}' % _S, "duplicate_key"),
    ("request", "a float", '{"v":2.0,"buckets":[],"salt":"%s"}' % _S, "not_canonical_number"),
    ("reply", "a salt in a reply", '{"v":2,"buckets":[],"salt":"%s"}' % _S, "invalid_sync_message"),
    ("reply", "a bucket after again", '{"v":2,"buckets":[["a",0],["b",2,[]]]}', "invalid_sync_message"),
    ("reply", "diff with one list", '{"v":2,"buckets":[["a",3,[]]]}', "invalid_sync_message"),
]


def _invalid(role: str, name: str, text: str, error: str) -> dict[str, Any]:
    decode = sync.decode_request if role == "request" else sync.decode_reply
    try:
        decode(text.encode())
    except ProtocolError as exc:
        assert exc.code == error, (name, exc.code)
    else:
        raise AssertionError(f"{name} was accepted")
    return {"name": f"invalid/{name}", "kind": "invalid", "role": role, "input": text, "error": error}


def sync_vectors() -> dict:
    common = ids(120)
    deep = sorted(("0" * 58 + f"{i:06x}") for i in range(0, 60, 3))  # 58 shared digits: a deep tree
    vectors = [
        _fingerprint("fingerprint/empty", SALT, []),
        _fingerprint("fingerprint/one id", SALT, ids(1)),
        _fingerprint("fingerprint/sum wraps mod 2^256", SALT, ["f" * 64, "f" * 63 + "e"]),
        _fingerprint("fingerprint/10 ids", SALT, ids(10)),
        _fingerprint("fingerprint/10 ids, another salt", OTHER_SALT, ids(10)),
        _split("split/root of 120", SALT, "", common),
        _split("split/a child of 120", SALT, common[0][0], common),
        _split("split/an empty bucket", SALT, "abc", common),
        _exchange("exchange/identical", common, common),
        _exchange("exchange/one missing", common[1:], common),
        _exchange("exchange/one extra", common, common[:60] + common[61:]),
        _exchange("exchange/three each way", common[:117] + ids(3, "mine:"), common[3:] + ids(3, "theirs:")),
        _exchange("exchange/disjoint", ids(40, "a:"), ids(40, "b:")),
        _exchange("exchange/empty initiator", [], ids(20)),
        _exchange("exchange/empty responder", ids(20), []),
        _exchange("exchange/both empty", [], []),
        _exchange("exchange/deep tree", deep[1:] + ["0" * 58 + "00000a"], deep),
        _exchange("exchange/crowded frames", common[20:], common[:-20], sync.Params(id_list_threshold=2,
                                                                                    diff_limit=2, frame_limit=1024)),
    ]
    vectors += [_invalid(*case) for case in INVALID]
    return {"description": "set reconciliation over the id-prefix tree, message version 2 (section 10); "
                           "see specs/gen_sync_vectors.py for the kinds", "vectors": vectors}
