"""Reputation: a participant's weighted rating and on-time rate, with how it was reached (spec section 13.4).

`reputation(did, objects, now, category=None)` folds every contract among
`objects` (`contract_fold`) and derives, in integers only so that every
node and hub computes the same figures to the last digit:

- **rating**: the weighted mean of the counted reviews whose subject is
  `did`, in thousandths (`rating_milli`, 4500 = 4.5 stars, floored). A
  review's weight is value_weight × decay_ppm × pair_weight:
  - value_weight = bit_length(the contract price in whole currency units)
    + 1: log2-scaled, so a contract worth twice as much adds one, and no
    exchange rate is needed. Across currencies it compares whole units
    (a JPY contract counts about 7 more than a EUR one of the same worth,
    which one review of a contract 128 times larger also does): stated, not
    hidden.
  - decay_ppm = floor(10^6 × (2H − r) / (2H × 2^k)) with H the half-life
    (180 days), k = age // H and r = age % H, age = now − review time: the
    weight halves every H and falls linearly in between.
  - pair_weight = 1 when every completed contract of the reviewer among
    `objects` also has `did` as a party (a reviewer that only ever worked
    with its subject, like a second identity of it would), else 4.
- **on time**: over the milestones of contracts where `did` is a supplier:
  an accepted milestone counts, on time when the accepted delivery was made
  at or before `due`; one settled by a ruling before acceptance counts as
  late unless the ruling was `for_supplier` (then it does not count); an
  overdue one counts as late unless a delivery awaits the client's decision
  (it is counted once decided or auto-accepted).

Only contracts where `did` is a party and that are not withdrawn or losing
amendments take part, in `category` when one is given. The input should be
every contract in which `did` or one of its counterparties is a party, with
their lifecycle objects: pair_weight depends on the counterparties' other
contracts.
"""

from dataclasses import dataclass
from typing import Iterable

from protocol import money
from protocol.envelope import SignedObject
from protocol.lifecycle.contract_fold import fold_contract
from protocol.lifecycle.contract_index import index_objects
from protocol.lifecycle.contract_summary import FOREVER, ContractSummary, summarize
from protocol.lifecycle.terms import SUPPLIER_ROLES
from protocol.lifecycle.view import plain

HALF_LIFE = 180 * 86400
PPM = 1_000_000
PAIR_WEIGHT, CLOSED_PAIR_WEIGHT = 4, 1


@dataclass(frozen=True)
class ContractEntry:
    id: str
    category: str | None
    role: str
    status: str
    price: dict
    value_weight: int
    completed_at: int | None


@dataclass(frozen=True)
class ReviewEntry:
    id: str
    contract: str
    author: str
    rating: int
    at: int
    age: int
    value_weight: int
    decay_ppm: int
    pair_weight: int
    weight: int


@dataclass(frozen=True)
class MilestoneEntry:
    contract: str
    key: str
    due: int
    state: str
    on_time: bool


@dataclass(frozen=True)
class Reputation:
    did: str
    category: str | None
    now: int
    half_life: int
    rating_milli: int | None  # None without a counted review
    reviews_counted: int
    weight_total: int
    on_time: int
    milestones_counted: int
    on_time_permille: int | None
    completed_value: tuple[dict, ...]  # per currency, the prices of completed contracts added up
    contracts: tuple[ContractEntry, ...]
    reviews: tuple[ReviewEntry, ...]
    milestones: tuple[MilestoneEntry, ...]

    def as_dict(self) -> dict:
        return plain(self)


def value_weight(price: dict) -> int:
    """bit_length of the whole currency units of `price`, plus one (0 units: 1)."""
    whole = money.in_minor_units(price) // 10 ** money.minor_units(price["currency"])
    return whole.bit_length() + 1


def decay_ppm(age: int) -> int:
    """Parts per million left after `age` seconds: halves every HALF_LIFE, linear in between."""
    age = max(age, 0)
    halvings, rest = divmod(age, HALF_LIFE)
    if halvings >= 64:
        return 0
    return PPM * (2 * HALF_LIFE - rest) // (2 * HALF_LIFE << halvings)


def reputation(did: str, objects: Iterable[SignedObject], now: int, category: str | None = None) -> Reputation:
    """The reputation of `did` among `objects` at `now`, optionally in one `category`."""
    return reputation_of(did, contract_summaries(objects, now).values(), now, category)


def contract_summaries(objects: Iterable[SignedObject], now: int) -> dict[str, ContractSummary]:
    """The summary of every contract among the `objects` dated at or before `now`."""
    index = index_objects(obj for obj in objects if obj.created_at <= now)
    memo: dict = {}
    return {c.id: summarize(fold_contract(c, index, FOREVER, memo, timeline=False)) for c in index.contracts()}


def reputation_of(did: str, summaries: Iterable[ContractSummary], now: int,
                  category: str | None = None) -> Reputation:
    """`reputation` from contract summaries (e.g. a derived table) instead of objects."""
    summaries = sorted(summaries, key=lambda s: (s.created_at, s.id))
    partners = _completed_partners(summaries, now)
    contracts, reviews, milestones, value = [], [], [], {}
    for summary in summaries:
        role = next((r for d, r in summary.parties if d == did), None)
        if role is None or not summary.counts or (category is not None and summary.category != category):
            continue
        weight = value_weight(summary.price)
        completed = summary.completed_at is not None and summary.completed_at <= now
        contracts.append(ContractEntry(summary.id, summary.category, role, _status(summary, now), summary.price,
                                       weight, summary.completed_at if completed else None))
        if completed:
            currency = summary.price["currency"]
            value[currency] = value.get(currency, 0) + money.in_minor_units(summary.price)
        for r in summary.reviews:
            if r.subject == did:
                decay = decay_ppm(now - r.at)
                pair = CLOSED_PAIR_WEIGHT if partners.get(r.author, set()) <= {did} else PAIR_WEIGHT
                reviews.append(ReviewEntry(r.id, summary.id, r.author, r.rating, r.at, max(now - r.at, 0),
                                           weight, decay, pair, weight * decay * pair))
        if role in SUPPLIER_ROLES:
            milestones += _counted_milestones(summary, now)
    total = sum(r.weight for r in reviews)
    on_time = sum(m.on_time for m in milestones)
    return Reputation(
        did=did, category=category, now=now, half_life=HALF_LIFE,
        rating_milli=sum(r.weight * r.rating * 1000 for r in reviews) // total if total else None,
        reviews_counted=len(reviews), weight_total=total, on_time=on_time, milestones_counted=len(milestones),
        on_time_permille=on_time * 1000 // len(milestones) if milestones else None,
        completed_value=tuple({"amount": money.format_minor_units(v, c), "currency": c}
                              for c, v in sorted(value.items())),
        contracts=tuple(contracts), reviews=tuple(reviews), milestones=tuple(milestones))


def _status(summary: ContractSummary, now: int) -> str:
    if summary.superseded_at is not None and summary.superseded_at <= now:
        return "superseded"
    if summary.completed_at is not None and summary.completed_at <= now:
        return "completed"
    return "in_force" if summary.in_force(now) else "proposed"


def _completed_partners(summaries: list[ContractSummary], now: int) -> dict[str, set[str]]:
    """did -> the other parties of its contracts completed by `now`."""
    partners: dict[str, set[str]] = {}
    for summary in summaries:
        if summary.counts and summary.completed_at is not None and summary.completed_at <= now:
            dids = {did for did, _ in summary.parties}
            for did in dids:
                partners.setdefault(did, set()).update(dids - {did})
    return partners


def _counted_milestones(summary: ContractSummary, now: int) -> list[MilestoneEntry]:
    entries = []
    in_force = summary.in_force(now)
    for m in summary.milestones:
        if m.accepted_at is not None and m.accepted_at <= now:  # kept beside a ruling only if it came first
            on_time, state = m.delivered_at <= m.due, "accepted"
        elif m.accepted_at is not None:
            continue  # a delivery awaits the client's decision (it auto-accepts later): not counted yet
        elif m.ruled_at is not None:
            if m.ruling_outcome == "for_supplier":
                continue
            on_time, state = False, "ruled"
        elif in_force and m.due < now:
            on_time, state = False, "overdue"
        else:
            continue
        entries.append(MilestoneEntry(summary.id, m.key, m.due, state, on_time))
    return entries
