"""Range-based set reconciliation between hubs (`POST /ki/v1/sync`), sans-I/O.

Two hubs each hold a set of items `(created_at, id)`, ordered by timestamp then
id. The initiator sends a message that cuts the whole order into ranges, each
summarised by a fingerprint (or, when small, listed id by id); the responder
answers every range: equal fingerprints are skipped, different ones are cut
finer, small ones are answered with ids. Only the ranges where the sets differ
are ever cut, so traffic grows with the size of the difference, not of the sets
(the idea and the fingerprint are negentropy's, NIP-77; the JSON framing is
ours). The responder keeps no state between requests: every message describes
its ranges completely.

    initiator = Initiator(items)            responder side, per HTTP request:
    message = initiator.start()             reply = respond(items, message)
    while message is not None:
        message = initiator.receive(post(message))
    initiator.have  # ids to push through the inbox
    initiator.need  # ids to fetch with GET /ki/v1/objects/{id}

Items come from an `ItemSet` (count, fingerprint and a page of items per
range), so storage can answer from an index instead of loading the set;
`SortedItems` is the in-memory one. Messages are plain JSON-ready dicts.
Malformed messages raise `InvalidSyncMessage` (`UnsupportedVersion` for a `v`
other than 1); JSON-level faults keep the codes of `protocol.canonical`.
"""

import base64
import bisect
import hashlib
import re
from dataclasses import dataclass
from typing import Any, Iterable, Protocol, Sequence

from protocol import canonical
from protocol.errors import InvalidSyncMessage, UnsupportedVersion

VERSION = 1
MAX_TIMESTAMP = 2**53 - 1
INFINITY = 2**53  # the timestamp of the top bound; `null` on the wire
MAX_MESSAGE_BYTES = 256 * 1024
MAX_IDS = 1024  # per id list; keeps the largest single answer (a diff) near 137 KB
MAX_RANGES = MAX_MESSAGE_BYTES // 8  # the shortest range, `[0,"",0],`, is 9 bytes
MAX_CATEGORIES = 64
FINGERPRINT_BYTES = 16
SKIP, FINGERPRINT, IDS, DIFF = 0, 1, 2, 3
_CLOSING_RESERVE = 128  # frame room kept for a closing range to infinity and the skip before it

_HEX_ID = re.compile(r"[0-9a-f]{64}")
_HEX_PREFIX = re.compile(r"(?:[0-9a-f]{2}){0,32}")
_B64_FINGERPRINT = re.compile(r"[A-Za-z0-9_-]{22}")
_ENVELOPE_KEYS = frozenset({"v", "ranges", "categories"})

Item = tuple[int, str]  # (created_at, lowercase hex id): hex order is byte order


@dataclass(frozen=True)
class Bound:
    """An exclusive upper (or inclusive lower) limit: the point (timestamp, prefix padded with zeros)."""

    timestamp: int
    prefix: str = ""

    @property
    def key(self) -> tuple[int, str]:
        """Comparable with items: `item < bound` iff `item < bound.key`."""
        return (self.timestamp, self.prefix.ljust(64, "0"))


MIN_BOUND = Bound(0)
MAX_BOUND = Bound(INFINITY)


@dataclass(frozen=True)
class Params:
    """The sender's choices. Peers need not agree on them: any values interoperate."""

    branching: int = 8  # a differing range is cut into this many (bench: 8 beats 4, 12 and 16 on bytes)
    id_list_threshold: int = 8  # a range with at most this many items is sent as ids
    diff_limit: int = MAX_IDS  # a responder answers ids with a diff if it holds at most this many
    frame_limit: int = MAX_MESSAGE_BYTES

    def __post_init__(self) -> None:
        if not 2 <= self.branching <= self.id_list_threshold + 1 or self.id_list_threshold > MAX_IDS:
            raise ValueError("need 2 <= branching <= id_list_threshold + 1 and id_list_threshold <= MAX_IDS")
        if not 0 <= self.diff_limit <= MAX_IDS or self.frame_limit > MAX_MESSAGE_BYTES:
            raise ValueError("diff_limit must be within 0..MAX_IDS and frame_limit at most MAX_MESSAGE_BYTES")


class ItemSet(Protocol):
    """The set one side reconciles, ranges being [lower, upper) in item order."""

    def count(self, lower: Bound, upper: Bound) -> int: ...

    def fingerprint(self, lower: Bound, upper: Bound) -> bytes:
        """`fingerprint_of(sum of id_value over the range, count)`."""
        ...

    def items(self, lower: Bound, upper: Bound, limit: int | None = None, offset: int = 0) -> list[Item]:
        """Items of the range in order, skipping `offset`, at most `limit` of them."""
        ...


def id_value(item_id: str) -> int:
    """An id as the little-endian 256-bit integer that fingerprints add up."""
    return int.from_bytes(bytes.fromhex(item_id), "little")


def varint(n: int) -> bytes:
    """Negentropy's varint: base 128, most significant group first, high bit on all but the last byte."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def fingerprint_of(id_sum: int, count: int) -> bytes:
    """SHA-256(sum mod 2**256 as 32 bytes little-endian || varint(count)), first 16 bytes."""
    data = (id_sum % 2**256).to_bytes(32, "little") + varint(count)
    return hashlib.sha256(data).digest()[:FINGERPRINT_BYTES]


def minimal_bound(before: Item, after: Item) -> Bound:
    """The shortest bound above `before` and at or below `after` (which must be greater)."""
    if before[0] != after[0]:
        return Bound(after[0])
    shared = next(i for i in range(0, 64, 2) if before[1][i:i + 2] != after[1][i:i + 2])
    return Bound(after[0], after[1][:shared + 2])


class SortedItems:
    """An in-memory `ItemSet`: a sorted list with prefix sums, O(log n) per question."""

    def __init__(self, items: Iterable[Item]):
        self._items = sorted(set(items))
        for created_at, item_id in self._items:
            if not (isinstance(created_at, int) and 0 <= created_at <= MAX_TIMESTAMP and _HEX_ID.fullmatch(item_id)):
                raise ValueError(f"not an item: {(created_at, item_id)!r}")
        self._sums = [0]
        for _, item_id in self._items:
            self._sums.append(self._sums[-1] + id_value(item_id))

    def __len__(self) -> int:
        return len(self._items)

    def _span(self, lower: Bound, upper: Bound) -> tuple[int, int]:
        lo = bisect.bisect_left(self._items, lower.key)
        return lo, max(lo, bisect.bisect_left(self._items, upper.key))

    def count(self, lower: Bound, upper: Bound) -> int:
        lo, hi = self._span(lower, upper)
        return hi - lo

    def fingerprint(self, lower: Bound, upper: Bound) -> bytes:
        lo, hi = self._span(lower, upper)
        return fingerprint_of(self._sums[hi] - self._sums[lo], hi - lo)

    def items(self, lower: Bound, upper: Bound, limit: int | None = None, offset: int = 0) -> list[Item]:
        lo, hi = self._span(lower, upper)
        start = lo + offset
        return self._items[start:hi if limit is None else min(hi, start + limit)]


@dataclass(frozen=True)
class Range:
    """One decoded range of a message; its lower bound is the previous range's upper bound."""

    upper: Bound
    mode: int
    fingerprint: bytes = b""
    ids: tuple[str, ...] = ()  # IDS: the sender's ids; DIFF: ids the receiver lacks
    lacking: tuple[str, ...] = ()  # DIFF: ids of the receiver's list that the sender lacks


# --- wire format ------------------------------------------------------------

def decode(raw: bytes) -> dict[str, Any]:
    """Parse a sync request or response body and check its shape; returns the message dict."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise InvalidSyncMessage(f"sync message of {len(raw)} bytes exceeds {MAX_MESSAGE_BYTES}")
    message = canonical.parse(raw)
    parse_message(message, from_responder=True)
    return message


def encode(message: dict[str, Any]) -> bytes:
    """The JSON bytes of a message built by this module."""
    return canonical.encode(message)


def requested_categories(message: Any) -> list[str] | None:
    """The `categories` a message carries (None if absent), checked: the caller picks the set by them."""
    if not isinstance(message, dict):
        raise InvalidSyncMessage("a sync message is a JSON object")
    categories = message.get("categories")
    if categories is None and "categories" not in message:
        return None
    if not (isinstance(categories, list) and 1 <= len(categories) <= MAX_CATEGORIES):
        raise InvalidSyncMessage(f"categories must be a list of 1 to {MAX_CATEGORIES} names")
    for name in categories:
        if not (isinstance(name, str) and 1 <= len(name) <= 64):
            raise InvalidSyncMessage("each category is a string of 1 to 64 characters")
    if len(set(categories)) != len(categories):
        raise InvalidSyncMessage("categories lists a name twice")
    return categories


def parse_message(message: Any, *, from_responder: bool) -> list[Range]:
    """Check a message dict and decode its ranges; only a responder may send `diff` ranges."""
    requested_categories(message)
    extra = set(message) - _ENVELOPE_KEYS
    if extra or "v" not in message or "ranges" not in message:
        raise InvalidSyncMessage(f"a sync message has v, ranges and optionally categories; got {sorted(message)}")
    if not _is_int(message["v"]):
        raise InvalidSyncMessage("v must be an integer")
    if message["v"] != VERSION:
        raise UnsupportedVersion(f"sync version {message['v']} is not spoken here; this node speaks {VERSION}")
    entries = message["ranges"]
    if not isinstance(entries, list) or len(entries) > MAX_RANGES:
        raise InvalidSyncMessage(f"ranges must be a list of at most {MAX_RANGES} ranges")
    ranges, previous = [], MIN_BOUND
    for index, entry in enumerate(entries):
        try:
            rng = _parse_range(entry, previous, from_responder)
        except InvalidSyncMessage as exc:
            raise InvalidSyncMessage(f"range {index}: {exc.detail}") from None
        ranges.append(rng)
        previous = rng.upper
    return ranges


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_range(entry: Any, previous: Bound, from_responder: bool) -> Range:
    if not (isinstance(entry, list) and 3 <= len(entry) <= 5):
        raise InvalidSyncMessage("a range is a list [delta, prefix, mode, ...]")
    delta, prefix, mode = entry[:3]
    if previous.timestamp == INFINITY:
        raise InvalidSyncMessage("no range may follow the one that ends at infinity (null)")
    if delta is None:
        timestamp = INFINITY
        if prefix != "":
            raise InvalidSyncMessage("the bound at infinity has the empty prefix")
    elif _is_int(delta) and 0 <= delta <= MAX_TIMESTAMP - previous.timestamp:
        timestamp = previous.timestamp + delta
    else:
        raise InvalidSyncMessage("a timestamp delta is null or an integer keeping the timestamp within 0..2**53-1")
    if not (isinstance(prefix, str) and _HEX_PREFIX.fullmatch(prefix)):
        raise InvalidSyncMessage("an id prefix is lowercase hex of whole bytes, at most 32 of them")
    upper = Bound(timestamp, prefix)
    if upper.key <= previous.key:
        raise InvalidSyncMessage("bounds must strictly increase")
    arity = {SKIP: 3, FINGERPRINT: 4, IDS: 4, DIFF: 5}.get(mode) if _is_int(mode) else None
    if arity is None or (mode == DIFF and not from_responder):
        raise InvalidSyncMessage(f"mode {mode!r} is not one this sender may use")
    if len(entry) != arity:
        raise InvalidSyncMessage(f"a range of mode {mode} has {arity} members")
    if mode == FINGERPRINT:
        return Range(upper, mode, fingerprint=_parse_fingerprint(entry[3]))
    if mode == IDS:
        return Range(upper, mode, ids=_parse_ids(entry[3]))
    if mode == DIFF:
        return Range(upper, mode, ids=_parse_ids(entry[3]), lacking=_parse_ids(entry[4]))
    return Range(upper, mode)


def _parse_fingerprint(value: Any) -> bytes:
    if isinstance(value, str) and _B64_FINGERPRINT.fullmatch(value):
        raw = base64.urlsafe_b64decode(value + "==")
        if _b64(raw) == value:
            return raw
    raise InvalidSyncMessage("a fingerprint is 16 bytes in unpadded base64url (22 characters)")


def _parse_ids(value: Any) -> tuple[str, ...]:
    if not (isinstance(value, list) and len(value) <= MAX_IDS):
        raise InvalidSyncMessage(f"an id list is a list of at most {MAX_IDS} ids")
    if not all(isinstance(item_id, str) and _HEX_ID.fullmatch(item_id) for item_id in value):
        raise InvalidSyncMessage("an id is 64 lowercase hex characters")
    if len(set(value)) != len(value):
        raise InvalidSyncMessage("an id list names an id twice")
    return tuple(value)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class _Frame:
    """The ranges of an outgoing message, written with delta timestamps and coalesced skips."""

    def __init__(self, limit: int, envelope_bytes: int):
        self.entries: list[list[Any]] = []
        self.size = envelope_bytes
        self.limit = limit
        self._timestamp = 0  # of the last written bound
        self._skip_to: Bound | None = None

    def skip(self, upper: Bound) -> None:
        self._skip_to = upper

    def fits(self, answer: list[list[Any]]) -> bool:
        return self.size + self._cost(answer) <= self.limit

    def write(self, answer: list[list[Any]]) -> None:
        """Append an answer: [[upper, mode, payload...], ...] with Bound uppers."""
        if self._skip_to is not None:
            answer = [[self._skip_to, SKIP], *answer]
            self._skip_to = None
        for upper, *rest in answer:
            self.size += self._entry_bytes(upper, rest) + 1
            delta = None if upper.timestamp == INFINITY else upper.timestamp - self._timestamp
            self.entries.append([delta, upper.prefix, *rest])
            self._timestamp = upper.timestamp

    def _cost(self, answer: list[list[Any]]) -> int:
        pending = [[self._skip_to, SKIP]] if self._skip_to is not None else []
        return sum(self._entry_bytes(upper, rest) + 1 for upper, *rest in pending + answer)

    def _entry_bytes(self, upper: Bound, rest: list[Any]) -> int:
        # A generous upper limit on the delta's digits keeps this cheap and never too small.
        return len(str(upper.timestamp)) + len(upper.prefix) + 4 + len(canonical.encode(rest))


# --- the state machine ------------------------------------------------------

def _split(items: ItemSet, lower: Bound, upper: Bound, params: Params) -> list[list[Any]]:
    """The answer to a range that differs: its ids when small, else `branching` fingerprinted parts."""
    count = items.count(lower, upper)
    if count <= params.id_list_threshold:
        return [[upper, IDS, [item_id for _, item_id in items.items(lower, upper)]]]
    per, extra = divmod(count, params.branching)
    answer, start, offset = [], lower, 0
    for part in range(params.branching - 1):
        offset += per + (part < extra)
        before, after = items.items(lower, upper, limit=2, offset=offset - 1)
        bound = minimal_bound(before, after)
        answer.append([bound, FINGERPRINT, _b64(items.fingerprint(start, bound))])
        start = bound
    answer.append([upper, FINGERPRINT, _b64(items.fingerprint(start, upper))])
    return answer


class _Side:
    """What both roles share: answering each received range in order within one frame."""

    def __init__(self, items: ItemSet, params: Params, initiator: bool):
        self.items, self.params, self.initiator = items, params, initiator
        self.have: set[str] = set()
        self.need: set[str] = set()

    def answer(self, ranges: Sequence[Range], envelope_bytes: int) -> list[list[Any]]:
        frame = _Frame(self.params.frame_limit - _CLOSING_RESERVE, envelope_bytes)
        lower, crowded = MIN_BOUND, False
        for rng in ranges:
            reply = [] if rng.mode == SKIP else None
            if reply is None and not crowded:
                reply = self._full_answer(lower, rng)
                if reply and frame.entries and not frame.fits(reply):  # the first answer always goes: progress
                    crowded, reply = True, None
            if reply is None:
                # No room for full answers: hand each range back by our fingerprint (the peer
                # cuts it again next round); when even that does not fit, one range to the end.
                reply = self._summary(lower, rng)
                if reply and not frame.fits(reply):
                    frame.write(self._rest(lower))
                    break
            if reply:
                frame.write(reply)
            else:
                frame.skip(rng.upper)
            lower = rng.upper
        return frame.entries

    def _rest(self, lower: Bound) -> list[list[Any]]:
        return [[MAX_BOUND, FINGERPRINT, _b64(self.items.fingerprint(lower, MAX_BOUND))]]

    def _summary(self, lower: Bound, rng: Range) -> list[list[Any]]:
        if self.initiator and rng.mode in (IDS, DIFF):
            return self._full_answer(lower, rng)  # resolved here, costs no bytes
        own = self.items.fingerprint(lower, rng.upper)
        if rng.mode == FINGERPRINT and own == rng.fingerprint:
            return []
        return [[rng.upper, FINGERPRINT, _b64(own)]]

    def _full_answer(self, lower: Bound, rng: Range) -> list[list[Any]]:
        upper = rng.upper
        if rng.mode == FINGERPRINT:
            if self.items.fingerprint(lower, upper) == rng.fingerprint:
                return []
            return _split(self.items, lower, upper, self.params)
        if self.initiator:
            own = {item_id for _, item_id in self.items.items(lower, upper)}
            if rng.mode == IDS:
                self.need.update(set(rng.ids) - own)
                self.have.update(own - set(rng.ids))
            else:
                self.need.update(set(rng.ids) - own)
                self.have.update(set(rng.lacking) & own)
            return []
        if self.items.count(lower, upper) > self.params.diff_limit:
            return _split(self.items, lower, upper, self.params)
        own_items = self.items.items(lower, upper)
        theirs, own = set(rng.ids), {item_id for _, item_id in own_items}
        you_lack = [item_id for _, item_id in own_items if item_id not in theirs]
        i_lack = [item_id for item_id in rng.ids if item_id not in own]
        return [[upper, DIFF, you_lack, i_lack]] if you_lack or i_lack else []


def _envelope(categories: list[str] | None) -> dict[str, Any]:
    message: dict[str, Any] = {"v": VERSION, "ranges": []}
    if categories is not None:
        message["categories"] = list(categories)
    return message


def respond(items: ItemSet, message: Any, params: Params = Params()) -> dict[str, Any]:
    """The responder's answer to one message; stateless, so each HTTP request stands alone.

    `items` must be the set for `requested_categories(message)`; the reply
    echoes those categories. Raises `InvalidSyncMessage` or
    `UnsupportedVersion` for a malformed message.
    """
    ranges = parse_message(message, from_responder=False)
    reply = _envelope(requested_categories(message))
    side = _Side(items, params, initiator=False)
    reply["ranges"] = side.answer(ranges, len(encode(reply)))
    return reply


class Initiator:
    """The side that opens a reconciliation and ends it knowing `have` and `need` (hex ids).

    `have`: ids it holds that the peer lacks (push them to the peer's inbox);
    `need`: ids the peer holds that it lacks (fetch them). `rounds` counts the
    replies received: the caller caps it against a peer that never finishes.
    """

    def __init__(self, items: ItemSet, categories: Sequence[str] | None = None, params: Params = Params()):
        self.categories = None if categories is None else list(categories)
        if self.categories is not None:
            requested_categories({"categories": self.categories})
        self._side = _Side(items, params, initiator=True)
        self.rounds = 0
        self.done = False

    @property
    def have(self) -> set[str]:
        return self._side.have

    @property
    def need(self) -> set[str]:
        return self._side.need

    def start(self) -> dict[str, Any]:
        """The first message: the whole order as one differing range, cut or listed."""
        message = _envelope(self.categories)
        frame = _Frame(self._side.params.frame_limit, len(encode(message)))
        frame.write(_split(self._side.items, MIN_BOUND, MAX_BOUND, self._side.params))
        message["ranges"] = frame.entries
        return message

    def receive(self, message: Any) -> dict[str, Any] | None:
        """Take the responder's reply; return the next message, or None when the sets are reconciled."""
        ranges = parse_message(message, from_responder=True)
        if requested_categories(message) != self.categories:
            raise InvalidSyncMessage("the reply does not echo the categories of the request")
        self.rounds += 1
        reply = _envelope(self.categories)
        reply["ranges"] = self._side.answer(ranges, len(encode(reply)))
        if not reply["ranges"]:
            self.done = True
            return None
        return reply
