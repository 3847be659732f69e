"""When a contract is in force, withdrawn, superseded or a losing amendment (spec section 13.3.3).

A sign counts from max(its created_at, the contract's created_at). A
retract of a sign by its author, or of the contract by the contract's
author, takes effect only if the contract is not in force at the retract's
`created_at`; a retract at the very instant the contract comes into force
is void (the contract was in force at that instant). So once every party
has signed, no single party can withdraw: that needs an amendment.

The contract is in force at the earliest instant T at which every party
holds a counted sign that is not retracted before T, provided T is before
the contract is withdrawn and before it is superseded. Signs at or after
`superseded_at` do not count.

An amendment names its predecessor in `supersedes`. Among the amendments of
one contract whose own parties have all signed, the winner is the one signed
earliest, then the lowest id; it is in force and its predecessor is
superseded from that instant. The others are `lost`: never in force. The
walk goes from a contract to its amendments only (ids are hashes of content
naming earlier ids, so it cannot loop; `visiting` still guards a bad index).
"""

from dataclasses import dataclass, field

from protocol.envelope import SignedObject
from protocol.lifecycle.contract_index import Index
from protocol.lifecycle.terms import parties

NEVER = 2**63  # later than any timestamp: "no cutoff"


@dataclass(frozen=True)
class Signing:
    signed_at: int | None  # every party signed (before any cutoff), whether or not it lost as an amendment
    in_force_at: int | None
    signs: dict[str, tuple[str, int]] = field(default_factory=dict)  # did -> (sign id, counted from)
    withdrawn_at: int | None = None
    superseded_at: int | None = None
    superseded_by: str | None = None
    lost_to: str | None = None


def contract_signing(contract: SignedObject, index: Index, memo: dict[str, Signing]) -> Signing:
    """The signing state of `contract`, its competition with sibling amendments settled."""
    own = _own_signing(contract, index, memo, set())
    predecessor = contract.body.get("supersedes")
    if own.signed_at is None or predecessor is None:
        return own
    winner = _winning_amendment(predecessor, index, memo)
    if winner is None or winner.id == contract.id:
        return own
    return Signing(own.signed_at, None, own.signs, own.withdrawn_at, own.superseded_at, own.superseded_by,
                   lost_to=winner.id)


def amendments_of(contract: SignedObject | None, index: Index) -> tuple[SignedObject, ...]:
    """The contracts that name `contract` in `supersedes` and whose author is a party of it (check_contract)."""
    if contract is None:
        return ()
    roles = parties(contract)
    return tuple(a for a in index.amendments.get(contract.id, ()) if a.author in roles)


def _winning_amendment(predecessor: str, index: Index, memo: dict[str, Signing]) -> SignedObject | None:
    best: tuple[int, str] | None = None
    winner = None
    for amendment in amendments_of(index.by_id.get(predecessor), index):
        signed_at = _own_signing(amendment, index, memo, set()).signed_at
        if signed_at is not None and (best is None or (signed_at, amendment.id) < best):
            best, winner = (signed_at, amendment.id), amendment
    return winner


def _own_signing(contract: SignedObject, index: Index, memo: dict[str, Signing], visiting: set[str]) -> Signing:
    """Signing without looking at the predecessor: only this contract's signs and its amendments."""
    if contract.id in memo:
        return memo[contract.id]
    if contract.id in visiting:
        return Signing(None, None)
    visiting.add(contract.id)
    superseded_at, superseded_by = None, None
    for amendment in amendments_of(contract, index):
        signed_at = _own_signing(amendment, index, memo, visiting).signed_at
        if signed_at is not None and (superseded_at is None or (signed_at, amendment.id) < (superseded_at, superseded_by)):
            superseded_at, superseded_by = signed_at, amendment.id
    signed_at, signs, withdrawn_at = _signed_at(contract, index, NEVER if superseded_at is None else superseded_at)
    result = Signing(signed_at, signed_at, signs, withdrawn_at, superseded_at, superseded_by)
    memo[contract.id] = result
    return result


def _signed_at(contract: SignedObject, index: Index, cutoff: int) -> tuple[int | None, dict, int | None]:
    roles = parties(contract)
    withdrawn = index.retracted_by_author(contract)
    signs = []  # (counted from, id, author, retracted at)
    for sign in index.named(contract.id, "sign"):
        if sign.author in roles:  # a non-party's sign is refused at ingest; never part of the state
            signs.append((max(sign.created_at, contract.created_at), sign.id, sign.author,
                          index.retracted_by_author(sign)))
    signs.sort()
    best_live: dict[str, tuple[str, int]] = {}
    for instant in sorted({t for t, _, _, _ in signs if t < cutoff}):
        if withdrawn is not None and instant > withdrawn:
            break
        live: dict[str, tuple[str, int]] = {}
        for counted_from, sign_id, author, retracted_at in signs:
            if counted_from > instant:
                break
            if author not in live and (retracted_at is None or retracted_at >= instant):
                live[author] = (sign_id, counted_from)
        if len(live) == len(roles):
            return instant, live, None
        best_live = live
    return None, best_live, withdrawn
