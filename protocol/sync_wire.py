"""The wire format of sync messages (version 2, specs/protocol.md 10.3), sans-I/O.

Parsing and checking requests and replies in the order the spec gives,
so each fault gets its code: JSON-level faults keep those of
`protocol.canonical`, a `v` other than 2 is `UnsupportedVersion`, the rest
`InvalidSyncMessage`. `protocol.sync` builds the messages and re-exports
what callers need from here.
"""

import base64
import re
from dataclasses import dataclass
from typing import Any

from protocol import canonical
from protocol.errors import InvalidSyncMessage, UnsupportedVersion

VERSION = 2
MAX_MESSAGE_BYTES = 256 * 1024
MAX_IDS = 1024  # per id list; keeps the largest single answer (a diff) near 137 KB
MAX_CATEGORIES = 64
FINGERPRINT_BYTES = 8
SALT_BYTES = 8
HEX = "0123456789abcdef"
FANOUT = len(HEX)  # a bucket's children: its prefix followed by each hex digit
AGAIN, SPLIT, IDS, DIFF = 0, 1, 2, 3

_HEX_ID = re.compile(r"[0-9a-f]{64}")
_HEX_PREFIX = re.compile(r"[0-9a-f]{0,64}")
_B64_SALT = re.compile(r"[A-Za-z0-9_-]{11}")
_B64_SPLIT = re.compile(r"[A-Za-z0-9_-]{171}")  # 16 fingerprints of 8 bytes
_REQUEST_KEYS = frozenset({"v", "buckets", "salt", "categories"})
_REPLY_KEYS = frozenset({"v", "buckets", "categories"})


@dataclass(frozen=True)
class Bucket:
    """One decoded bucket of a message."""

    prefix: str
    mode: int
    fingerprints: tuple[bytes, ...] = ()  # SPLIT: the sender's fingerprint of each child
    ids: tuple[str, ...] = ()  # IDS: the sender's ids; DIFF: ids the receiver lacks
    lacking: tuple[str, ...] = ()  # DIFF: ids of the receiver's list that the sender lacks


def _parse_json(raw: bytes) -> Any:
    if len(raw) > MAX_MESSAGE_BYTES:
        raise InvalidSyncMessage(f"sync message of {len(raw)} bytes exceeds {MAX_MESSAGE_BYTES}")
    return canonical.parse(raw)


def decode_request(raw: bytes) -> dict[str, Any]:
    """Parse an initiator's message and check it; returns the message dict."""
    message = _parse_json(raw)
    parse_message(message, from_responder=False)
    return message


def decode_reply(raw: bytes) -> dict[str, Any]:
    """Parse a responder's message and check it; returns the message dict."""
    message = _parse_json(raw)
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


def message_salt(message: dict[str, Any]) -> bytes:
    """The salt of a request already checked by `parse_message`."""
    return base64.urlsafe_b64decode(message["salt"] + "=")


def parse_message(message: Any, *, from_responder: bool) -> list[Bucket]:
    """Check a message dict and decode its buckets; requests carry a salt, replies do not."""
    requested_categories(message)
    allowed = _REPLY_KEYS if from_responder else _REQUEST_KEYS
    required = allowed - {"categories"}
    if set(message) - allowed or required - set(message):
        raise InvalidSyncMessage(f"a sync {'reply' if from_responder else 'request'} has exactly "
                                 f"{', '.join(sorted(required))} and optionally categories; got {sorted(message)}")
    if not _is_int(message["v"]):
        raise InvalidSyncMessage("v must be an integer")
    if message["v"] != VERSION:
        raise UnsupportedVersion(f"sync version {message['v']} is not spoken here; this node speaks {VERSION}")
    if not from_responder:
        salt = message["salt"]
        if not (isinstance(salt, str) and _B64_SALT.fullmatch(salt) and b64(message_salt(message)) == salt):
            raise InvalidSyncMessage(f"the salt is {SALT_BYTES} bytes in unpadded base64url (11 characters)")
    entries = message["buckets"]
    if not isinstance(entries, list):
        raise InvalidSyncMessage("buckets must be a list")
    buckets: list[Bucket] = []
    for index, entry in enumerate(entries):
        try:
            bucket = _parse_bucket(entry, from_responder)
            if buckets and (bucket.prefix <= buckets[-1].prefix or bucket.prefix.startswith(buckets[-1].prefix)):
                raise InvalidSyncMessage("buckets must be in increasing order and none may contain another")
            if buckets and buckets[-1].mode == AGAIN:
                raise InvalidSyncMessage("no bucket may follow an again")
        except InvalidSyncMessage as exc:
            raise InvalidSyncMessage(f"bucket {index}: {exc.detail}") from None
        buckets.append(bucket)
    return buckets


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_ARITY = {AGAIN: 2, SPLIT: 3, IDS: 3, DIFF: 4}


def _parse_bucket(entry: Any, from_responder: bool) -> Bucket:
    if not (isinstance(entry, list) and 2 <= len(entry) <= 4):
        raise InvalidSyncMessage("a bucket is a list [prefix, mode, ...]")
    prefix, mode = entry[:2]
    if not (isinstance(prefix, str) and _HEX_PREFIX.fullmatch(prefix)):
        raise InvalidSyncMessage("a bucket's prefix is 0 to 64 lowercase hex digits")
    arity = _ARITY.get(mode) if _is_int(mode) else None
    if arity is None or (mode in (AGAIN, DIFF) and not from_responder):
        raise InvalidSyncMessage(f"mode {mode!r} is not one this sender may use")
    if len(entry) != arity:
        raise InvalidSyncMessage(f"a bucket of mode {mode} has {arity} members")
    if mode == SPLIT:
        if len(prefix) == 64:
            raise InvalidSyncMessage("a bucket of 64 digits holds one id at most and has no children")
        return Bucket(prefix, mode, fingerprints=_parse_fingerprints(entry[2]))
    if mode == IDS:
        return Bucket(prefix, mode, ids=_parse_ids(entry[2], prefix))
    if mode == DIFF:
        return Bucket(prefix, mode, ids=_parse_ids(entry[2], prefix), lacking=_parse_ids(entry[3], prefix))
    return Bucket(prefix, mode)


def _parse_fingerprints(value: Any) -> tuple[bytes, ...]:
    if isinstance(value, str) and _B64_SPLIT.fullmatch(value):
        raw = base64.urlsafe_b64decode(value + "=")
        if b64(raw) == value:
            return tuple(raw[i:i + FINGERPRINT_BYTES] for i in range(0, len(raw), FINGERPRINT_BYTES))
    raise InvalidSyncMessage("a split is 16 fingerprints of 8 bytes in unpadded base64url (171 characters)")


def _parse_ids(value: Any, prefix: str) -> tuple[str, ...]:
    if not (isinstance(value, list) and len(value) <= MAX_IDS):
        raise InvalidSyncMessage(f"an id list is a list of at most {MAX_IDS} ids")
    if not all(isinstance(item_id, str) and _HEX_ID.fullmatch(item_id) for item_id in value):
        raise InvalidSyncMessage("an id is 64 lowercase hex characters")
    if not all(item_id.startswith(prefix) for item_id in value):
        raise InvalidSyncMessage("every listed id starts with its bucket's prefix")
    if len(set(value)) != len(value):
        raise InvalidSyncMessage("an id list names an id twice")
    return tuple(value)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
