"""Search cursors: opaque to callers, a small versioned JSON list inside.

A cursor names the query it belongs to (a fingerprint of the filters and
text) and where the last page ended; for relevance order it also carries the
frozen ranking window and corpus statistics (see `storage.search`). It is
not signed: a forged cursor can only change what its holder sees.
"""

import base64
import binascii
import hashlib
import json
import math
from dataclasses import dataclass

from storage.errors import InvalidCursor

MAX_CURSOR_CHARS = 2048
_VERSION = 1


@dataclass(frozen=True)
class RecentCursor:
    after_key: int  # the last key shown; the next page has smaller keys


@dataclass(frozen=True)
class RelevanceCursor:
    max_seq: int                 # objects stored later are not in this ranking
    floor_key: int               # the oldest key in the ranking window (-1: no floor)
    idfs: tuple[float, ...]      # per term, frozen at the first page
    avg_lengths: tuple[float, ...]
    after_score: float           # the last hit shown, in (score desc, key desc) order
    after_key: int


def fingerprint(parts: list) -> str:
    return hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).hexdigest()[:16]


def encode(query_fingerprint: str, position: RecentCursor | RelevanceCursor) -> str:
    if isinstance(position, RecentCursor):
        value = [_VERSION, query_fingerprint, "t", position.after_key]
    else:
        value = [_VERSION, query_fingerprint, "r", position.max_seq, position.floor_key,
                 list(position.idfs), list(position.avg_lengths), position.after_score, position.after_key]
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(cursor: str, query_fingerprint: str, n_terms: int, n_fields: int) -> RecentCursor | RelevanceCursor:
    """Parse a cursor made by `encode` for this same query; anything else is InvalidCursor."""
    if not isinstance(cursor, str) or not 0 < len(cursor) <= MAX_CURSOR_CHARS:
        raise InvalidCursor("the cursor is not a cursor this node returned")
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise InvalidCursor("the cursor is not a cursor this node returned") from None
    if not (isinstance(value, list) and len(value) >= 4 and value[0] == _VERSION):
        raise InvalidCursor("the cursor is not a cursor this node returned")
    if value[1] != query_fingerprint:
        raise InvalidCursor("the cursor belongs to a different query; start again without it")
    kind, rest = value[2], value[3:]
    if kind == "t" and len(rest) == 1 and _is_int(rest[0]):
        return RecentCursor(rest[0])
    if kind == "r" and len(rest) == 6:
        max_seq, floor_key, idfs, avgs, score, key = rest
        if (_is_int(max_seq) and _is_int(floor_key) and _is_int(key) and _floats(idfs, n_terms)
                and _floats(avgs, n_fields) and _floats([score], 1)):
            return RelevanceCursor(max_seq, floor_key, tuple(idfs), tuple(avgs), float(score), key)
    raise InvalidCursor("the cursor is not a cursor this node returned")


def _is_int(x: object) -> bool:
    return type(x) is int and -(1 << 63) <= x < 1 << 63


def _floats(xs: object, n: int) -> bool:
    return (isinstance(xs, list) and len(xs) == n
            and all(type(x) in (int, float) and math.isfinite(x) for x in xs))
