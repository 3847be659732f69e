"""Inclusion receipts on both ends (spec section 14.5): a hub signs one Merkle root per inbox answer
over the objects it holds after that delivery; the delivering node checks and keeps each object's
receipt."""

import logging

from protocol.errors import BadReceipt
from protocol.identity import Identity
from protocol.receipts import sign_receipts, verify_receipt
from storage import hub_state

log = logging.getLogger("kinode.hub.receipts")
HELD = ("accepted", "duplicate")


def attach(identity: Identity, answers: list[dict], now: int) -> list[dict]:
    """Add a receipt to each inbox answer whose object this hub now holds: one signature for all."""
    held = [answer for answer in answers if answer.get("status") in HELD]
    if held:
        signed = sign_receipts(identity, (answer["id"] for answer in held), now)
        for answer in held:
            answer["receipt"] = signed[answer["id"]]
    return answers


def keep(db, answer: object, object_id: str, destination: str) -> None:
    """Keep the receipt in one inbox answer for `object_id`, if it carries one that verifies."""
    receipt = answer.get("receipt") if isinstance(answer, dict) else None
    if receipt is None:
        return
    try:
        verify_receipt(receipt, object_id=object_id)  # one delivery's answers share a root: verified once (cached)
    except BadReceipt as error:
        log.warning("%s gave a receipt for %s that does not verify: %s", destination, object_id, error.detail)
        return
    hub_state.keep_receipt(db, receipt, destination)
