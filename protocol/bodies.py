"""Per-type body validation (being written; see specs/protocol.md)."""

from typing import Any, Mapping

from protocol.errors import InvalidBody

OBJECT_TYPES = frozenset({
    "profile", "hub", "category", "endorsement", "offer", "project", "task",
    "claim", "proposal", "contract", "sign", "delivery", "acceptance",
    "payment", "review", "retract", "key_rotation", "message",
})


def validate_body(type_: str, body: Mapping[str, Any], created_at: int) -> None:
    if not isinstance(body, dict):
        raise InvalidBody("body must be an object")
