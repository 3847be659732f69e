"""Validation before storage: CPU work that must stay off the writer thread.

`validate_batch` is pure (no database, clock passed in) so it can run in any
thread or process; `storage.objects.store_verified` then stores the survivors
in the writer's transaction.
"""

from dataclasses import dataclass
from typing import Any, Iterable, Literal

from protocol import canonical
from protocol.envelope import SignedObject, is_object_id, parse_object, verify
from protocol.errors import Malformed, ProtocolError

Status = Literal["accepted", "duplicate", "pending", "rejected"]


@dataclass(frozen=True)
class IngestResult:
    """What happened to one submitted object, in the order it was submitted."""

    id: str | None
    status: Status
    code: str | None = None
    detail: str | None = None


def validate_batch(items: Iterable[Any], now: int) -> list[SignedObject | ProtocolError]:
    """Verify each item at time `now`: raw JSON bytes/str, a parsed dict, or a
    `canonical.Canonical` (a parsed object with its wire bytes, from `canonical.parse_batch`).

    Returns, position for position, the verified object or the error that
    rejects it; one bad item never affects the others.
    """
    checked: list[SignedObject | ProtocolError] = []
    for position, item in enumerate(items):
        try:
            if isinstance(item, canonical.Canonical):
                checked.append(verify(item.value, now, wire=item.wire))
            elif isinstance(item, (bytes, bytearray, memoryview, str)):
                checked.append(parse_object(bytes(item) if not isinstance(item, str) else item, now))
            elif isinstance(item, dict):
                checked.append(verify(item, now))
            else:
                raise Malformed(f"item {position} is not a JSON object (got {type(item).__name__})")
        except ProtocolError as error:
            error.claimed_id = claimed_id(item.value if isinstance(item, canonical.Canonical) else item)
            checked.append(error)
    return checked


def claimed_id(item: Any) -> str | None:
    """The id a rejected item says it has, if it says one (for the per-object answer)."""
    if isinstance(item, (bytes, bytearray, memoryview, str)):
        try:
            item = canonical.parse(bytes(item) if not isinstance(item, str) else item)
        except ProtocolError:
            return None
    value = item.get("id") if isinstance(item, dict) else None
    return value if is_object_id(value) else None


def rejected(error: ProtocolError, object_id: str | None = None) -> IngestResult:
    return IngestResult(object_id if object_id is not None else getattr(error, "claimed_id", None),
                        "rejected", error.code, error.detail)
