"""What a contract body says, read the same way by the checks and the folds."""

from typing import Any, Mapping

from protocol import money
from protocol.envelope import SignedObject

CLIENT_ROLES = frozenset({"client", "coordinator"})
"""Roles that accept or reject deliveries and record payments sent."""
SUPPLIER_ROLES = frozenset({"supplier"})
"""Roles that deliver and confirm payments received."""
AUTO_ACCEPT_DEFAULT = 604_800
"""Seconds of silence after a delivery that count as its acceptance when a contract names none (7 days)."""


def parties(contract: SignedObject) -> dict[str, str]:
    """did -> role of every party (dids are distinct: the body rules say so)."""
    return {party["did"]: party["role"] for party in contract.body["parties"]}


def milestone(contract: SignedObject, key: str | None) -> Mapping[str, Any] | None:
    """The milestone of `contract` with this key, or None."""
    for item in contract.body["milestones"]:
        if item["key"] == key:
            return item
    return None


def auto_accept(contract: SignedObject) -> int:
    value = contract.body.get("auto_accept")
    return value if isinstance(value, int) else AUTO_ACCEPT_DEFAULT


def order(obj: SignedObject) -> tuple[int, str]:
    """The tie-break of every lifecycle fold: earlier `created_at`, then lower id."""
    return (obj.created_at, obj.id)


def same_money(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """Equal currency and equal amount as numbers ("400" is "400.00")."""
    if a == b:  # the usual case, and far cheaper than parsing both
        return True
    return a["currency"] == b["currency"] and money.in_minor_units(dict(a)) == money.in_minor_units(dict(b))
