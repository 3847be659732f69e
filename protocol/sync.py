"""Set reconciliation between hubs over an id-prefix tree (`POST /ki/v1/sync`, version 2), sans-I/O.

Object ids are SHA-256 outputs, so the ids of a set spread evenly over the
tree of their hex prefixes: bucket `"3f"` holds the ids that start with
`3f`, and its 16 children are `"3f0"` … `"3ff"`. The initiator sends the
fingerprints of the root's 16 children; each side answers every child
whose fingerprint differs from its own with that child's 16 fingerprints
(or, when it holds few ids there, the ids themselves), one hex digit deeper
per message, until the differing buckets are small enough to list. The
buckets are implied by their prefix, so a message carries no range bounds,
and the fingerprints are 8 bytes keyed by a salt the initiator picks per
exchange (a third party who can mint ids cannot prepare a collision for a
salt it has not seen). At 1,000,000 items five levels reach buckets of
about one item: a difference is found in 3 round trips.

    initiator = Initiator(items, salt=os.urandom(8))   responder, per request:
    message = initiator.start()                        reply = respond(items, message)
    while message is not None:
        message = initiator.receive(post(message))
    initiator.have  # ids to push through the inbox
    initiator.need  # ids to fetch with GET /ki/v1/objects/{id}

Items come from an `ItemSet` (count, ids and children sums per prefix), so
storage can answer from an index instead of loading the set; `SortedItems`
is the in-memory one. Messages are plain JSON-ready dicts. Malformed
messages raise `InvalidSyncMessage` (`UnsupportedVersion` for a `v` other
than 2); JSON-level faults keep the codes of `protocol.canonical`.
"""

import bisect
import hashlib
from dataclasses import dataclass
from typing import Any, Iterable, Protocol, Sequence

from protocol import canonical
from protocol.envelope import is_object_id
from protocol.errors import InvalidSyncMessage
from protocol.sync_wire import (  # noqa: F401  (re-exported: the module's whole interface is here)
    AGAIN, DIFF, FANOUT, FINGERPRINT_BYTES, HEX, IDS, MAX_CATEGORIES, MAX_IDS, MAX_MESSAGE_BYTES, SALT_BYTES, SPLIT,
    VERSION, Bucket, b64, decode_reply, decode_request, encode, message_salt, parse_message, requested_categories)

MAX_ID_LIST_THRESHOLD = 64  # so one answer to a split (16 children listed) stays near 70 KB
_AGAIN_RESERVE = 80  # frame room kept for a closing `[<64 hex>,0]`


@dataclass(frozen=True)
class Params:
    """The sender's choices. Peers need not agree on them: any values interoperate."""

    id_list_threshold: int = 8  # a differing bucket with at most this many own ids is listed, not split
    diff_limit: int = MAX_IDS  # a responder answers an id list with a diff if it holds at most this many
    frame_limit: int = MAX_MESSAGE_BYTES

    def __post_init__(self) -> None:
        if not 1 <= self.id_list_threshold <= min(MAX_ID_LIST_THRESHOLD, self.diff_limit):
            raise ValueError(f"need 1 <= id_list_threshold <= min({MAX_ID_LIST_THRESHOLD}, diff_limit)")
        if self.diff_limit > MAX_IDS or not 1024 <= self.frame_limit <= MAX_MESSAGE_BYTES:
            raise ValueError("diff_limit must be at most MAX_IDS and frame_limit within 1024..MAX_MESSAGE_BYTES")


class ItemSet(Protocol):
    """The set of ids one side reconciles, asked bucket by bucket (a bucket is an id prefix)."""

    def count(self, prefix: str) -> int: ...

    def ids(self, prefix: str) -> list[str]:
        """The ids under the prefix, in order."""
        ...

    def children(self, prefix: str) -> list[tuple[int, int]]:
        """(count, sum of `id_value`) of each of the 16 children of the prefix, in order."""
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


def fingerprint_of(salt: bytes, id_sum: int, count: int) -> bytes:
    """SHA-256(salt || sum mod 2**256 as 32 bytes little-endian || varint(count)), first 8 bytes."""
    data = salt + (id_sum % 2**256).to_bytes(32, "little") + varint(count)
    return hashlib.sha256(data).digest()[:FINGERPRINT_BYTES]


def prefix_span(prefix: str) -> tuple[str, str]:
    """[low, high) in string order holding exactly the hex ids that start with `prefix`."""
    return prefix, prefix + "g"  # "g" sorts after every hex digit


class SortedItems:
    """An in-memory `ItemSet`: a sorted list of ids with prefix sums, O(log n) per question."""

    def __init__(self, ids: Iterable[str]):
        self._ids = sorted(set(ids))
        self._sums = [0]
        for item_id in self._ids:
            if not is_object_id(item_id):
                raise ValueError(f"not an id: {item_id!r}")
            self._sums.append(self._sums[-1] + id_value(item_id))

    def __len__(self) -> int:
        return len(self._ids)

    def _span(self, prefix: str) -> tuple[int, int]:
        low, high = prefix_span(prefix)
        return bisect.bisect_left(self._ids, low), bisect.bisect_left(self._ids, high)

    def count(self, prefix: str) -> int:
        lo, hi = self._span(prefix)
        return hi - lo

    def ids(self, prefix: str) -> list[str]:
        lo, hi = self._span(prefix)
        return self._ids[lo:hi]

    def children(self, prefix: str) -> list[tuple[int, int]]:
        lo, hi = self._span(prefix)
        cuts = [bisect.bisect_left(self._ids, prefix + digit, lo, hi) for digit in HEX] + [hi]
        return [(cuts[i + 1] - cuts[i], self._sums[cuts[i + 1]] - self._sums[cuts[i]]) for i in range(FANOUT)]


def _entries_bytes(entries: list[list[Any]]) -> int:
    return sum(len(canonical.encode(entry)) + 1 for entry in entries)  # each with its comma


# --- the state machine ------------------------------------------------------

class _Side:
    """What both roles share: the answer to one received bucket, over this side's items."""

    def __init__(self, items: ItemSet, params: Params, salt: bytes, initiator: bool):
        self.items, self.params, self.salt, self.initiator = items, params, salt, initiator
        self.have: set[str] = set()
        self.need: set[str] = set()

    def node(self, prefix: str, count: int | None = None) -> list[Any]:
        """What this side sends for a bucket it finds different: its ids when few, else a split."""
        if count is None:
            count = self.items.count(prefix)
        if count <= self.params.id_list_threshold:
            return [prefix, IDS, self.items.ids(prefix)]
        children = self.items.children(prefix)
        return [prefix, SPLIT, b64(b"".join(fingerprint_of(self.salt, s, n) for n, s in children))]

    def answer(self, bucket: Bucket) -> list[list[Any]]:
        prefix = bucket.prefix
        if bucket.mode == SPLIT:
            answer = []
            for digit, (count, id_sum), theirs in zip(HEX, self.items.children(prefix), bucket.fingerprints):
                if fingerprint_of(self.salt, id_sum, count) != theirs:
                    answer.append(self.node(prefix + digit, count))
            return answer
        if self.initiator:  # IDS and DIFF are settled here; AGAIN is the caller's business
            own = set(self.items.ids(prefix))
            if bucket.mode == IDS:
                self.need.update(set(bucket.ids) - own)
                self.have.update(own - set(bucket.ids))
            else:
                self.need.update(set(bucket.ids) - own)
                self.have.update(set(bucket.lacking) & own)
            return []
        count = self.items.count(prefix)
        if count > self.params.diff_limit:  # too many to list: narrow it down first
            return [self.node(prefix, count)]
        own_ids = self.items.ids(prefix)
        theirs, own = set(bucket.ids), set(own_ids)
        you_lack = [item_id for item_id in own_ids if item_id not in theirs]
        i_lack = [item_id for item_id in bucket.ids if item_id not in own]
        return [[prefix, DIFF, you_lack, i_lack]] if you_lack or i_lack else []


def _envelope(categories: list[str] | None, salt: bytes | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"v": VERSION, "buckets": []}
    if salt is not None:
        message["salt"] = b64(salt)
    if categories is not None:
        message["categories"] = list(categories)
    return message


def respond(items: ItemSet, message: Any, params: Params = Params()) -> dict[str, Any]:
    """The responder's answer to one request; stateless, so each HTTP request stands alone.

    `items` must be the set for `requested_categories(message)`; the reply
    echoes those categories. Buckets are answered in order; when the next
    answer would overflow the frame, the reply ends with `[prefix, 0]`
    (again) for that bucket and the initiator asks the rest again.
    """
    buckets = parse_message(message, from_responder=False)
    side = _Side(items, params, message_salt(message), initiator=False)
    reply = _envelope(requested_categories(message))
    size, entries = len(encode(reply)), reply["buckets"]
    for bucket in buckets:
        answer = side.answer(bucket)
        cost = _entries_bytes(answer)
        if entries and size + cost > params.frame_limit - _AGAIN_RESERVE:  # the first answer always goes
            entries.append([bucket.prefix, AGAIN])
            break
        entries.extend(answer)
        size += cost
    return reply


class Initiator:
    """The side that opens a reconciliation and ends it knowing `have` and `need` (hex ids).

    `have`: ids it holds that the peer lacks (push them to the peer's inbox);
    `need`: ids the peer holds that it lacks (fetch them). `rounds` counts the
    replies received: the caller caps it against a peer that never finishes.
    `salt` must be unpredictable to third parties (8 random bytes per exchange).
    """

    def __init__(self, items: ItemSet, categories: Sequence[str] | None = None, params: Params = Params(), *,
                 salt: bytes):
        if not (isinstance(salt, bytes) and len(salt) == SALT_BYTES):
            raise ValueError(f"the salt is {SALT_BYTES} bytes")
        self.categories = None if categories is None else list(categories)
        if self.categories is not None:
            requested_categories({"categories": self.categories})
        self._side = _Side(items, params, salt, initiator=True)
        self._sent: list[str] = []  # prefixes of the last request, for a reply's `again`
        self._backlog: list[list[Any]] = []  # nodes that did not fit in the last request
        self.rounds = 0
        self.done = False

    @property
    def have(self) -> set[str]:
        return self._side.have

    @property
    def need(self) -> set[str]:
        return self._side.need

    def start(self) -> dict[str, Any]:
        """The first message: the root bucket, split into its 16 children (or listed when small)."""
        return self._message([self._side.node("")])

    def receive(self, message: Any) -> dict[str, Any] | None:
        """Take the responder's reply; return the next message, or None when the sets are reconciled."""
        buckets = parse_message(message, from_responder=True)
        if requested_categories(message) != self.categories:
            raise InvalidSyncMessage("the reply does not echo the categories of the request")
        again = buckets[-1].prefix if buckets and buckets[-1].mode == AGAIN else None
        if again is not None and again not in self._sent:
            raise InvalidSyncMessage("an again names a bucket the request did not carry")
        self.rounds += 1
        nodes = list(self._backlog)
        for bucket in buckets:
            if bucket.mode != AGAIN:
                nodes.extend(self._side.answer(bucket))
        if again is not None:  # the responder had no room for these: send them again, recomputed
            nodes.extend(self._side.node(prefix) for prefix in self._sent[self._sent.index(again):])
        if not nodes:
            self.done = True
            return None
        return self._message(sorted(nodes, key=lambda node: node[0]))

    def _message(self, nodes: list[list[Any]]) -> dict[str, Any]:
        """A request with as many nodes as fit in a frame; the rest wait for the next one."""
        message = _envelope(self.categories, self._side.salt)
        size, entries = len(encode(message)), message["buckets"]
        for index, node in enumerate(nodes):
            cost = _entries_bytes([node])
            if entries and size + cost > self._side.params.frame_limit:
                self._backlog = nodes[index:]
                break
            entries.append(node)
            size += cost
        else:
            self._backlog = []
        self._sent = [node[0] for node in entries]
        return message
