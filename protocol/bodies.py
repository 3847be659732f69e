"""Per-type body validation: one table row per object type.

Each type lists its fields as shapes (`protocol.shapes`) and the rules that
relate fields to each other or to the envelope's `created_at`. Members a type
does not define are accepted and kept: they are covered by the signature, so
newer optional fields can roll out without a protocol version; a known member
with the wrong shape is `invalid_body`. The same table generates the JSON
Schemas in `specs/schemas/` and the field tables in `specs/protocol.md`.

Only single-object rules live here: a rule may look at the body and at the
envelope's `created_at` and `author`. Rules that need other objects (a review's
author was party to the contract, a claim's lease) belong to `protocol.rules`.
"""

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from protocol import money
from protocol.errors import InvalidBody, UnknownType
from protocol.shapes import (
    CIPHERTEXT, DID, MEDIA_TYPE, MONEY, NONCE, OBJECT_ID, SHA256, SKILLS, SLUG, TIMESTAMP, URL,
    WRAPPED_KEY, Bool, Enum, Int, ListOf, Obj, Text,
)

Body = dict[str, Any]


@dataclass(frozen=True)
class Rule:
    """A constraint beyond one field's shape; `text` is its MUST sentence in the spec."""

    text: str
    check: Callable[[Body, int, str | None], None]  # (body, envelope created_at, envelope author)
    schema: dict[str, Any] | None = None  # set when JSON Schema can express the rule


@dataclass(frozen=True)
class BodyType:
    """An object type: what it is for, its fields and its cross-field rules."""

    name: str
    purpose: str
    fields: Obj
    rules: tuple[Rule, ...] = ()
    notes: Mapping[str, str] | None = None  # extra words for a field's row in the spec table


# --- shared field shapes ---------------------------------------------------

NAME = Text(100, non_blank=True, one_line=True)
TITLE = Text(200, non_blank=True, one_line=True)
DESCRIPTION = Text(10000, non_blank=True)
NOTE = Text(2000)
_NON_BLANK_REASON = Text(2000, non_blank=True)


def _after_created(field: str, optional: bool = False) -> Rule:
    def check(body: Body, created_at: int, author: str | None) -> None:
        value = body.get(field)
        if value is None and optional:
            return
        if value <= created_at:
            raise InvalidBody(f"body.{field}: {value} is not after created_at ({created_at})")
    when = "When present, " if optional else ""
    return Rule(f"{when}`{field}` MUST be later than the envelope's `created_at`.", check)


def _parent_differs(body: Body, created_at: int, author: str | None) -> None:
    if body.get("parent") == body["slug"]:
        raise InvalidBody(f"body.parent: a category cannot be its own parent ({body['slug']!r})")


def _reason_when_rejected(body: Body, created_at: int, author: str | None) -> None:
    if body["decision"] == "reject" and not _NON_BLANK_REASON.ok(body.get("reason")):
        raise InvalidBody("body.reason: required (and not blank) when decision is reject")


def _confirms_iff_confirmed(body: Body, created_at: int, author: str | None) -> None:
    confirmed = body["kind"] == "confirmed"
    if confirmed and "confirms" not in body:
        raise InvalidBody("body.confirms: required when kind is confirmed (the id of the sent payment)")
    if not confirmed and "confirms" in body:
        raise InvalidBody("body.confirms: only a payment of kind confirmed names the payment it confirms")


def _award_iff_split(body: Body, created_at: int, author: str | None) -> None:
    split = body["outcome"] == "split"
    if split and "award" not in body:
        raise InvalidBody("body.award: required when outcome is split (what the client owes the supplier)")
    if not split and "award" in body:
        raise InvalidBody("body.award: only a ruling of outcome split names an award")


def _successor_differs(body: Body, created_at: int, author: str | None) -> None:
    if body["successor"] == author:
        raise InvalidBody("body.successor: a key cannot be its own successor (it equals the author)")


def _milestones_fit(body: Body, created_at: int, author: str | None) -> None:
    price = body["price"]
    currency, deadline = price["currency"], body["deadline"]
    total = 0
    for index, milestone in enumerate(body["milestones"]):
        path = f"body.milestones[{index}]"
        if milestone["amount"]["currency"] != currency:
            raise InvalidBody(f"{path}.amount.currency: {milestone['amount']['currency']} differs "
                              f"from the price's currency {currency}")
        if not created_at < milestone["due"] <= deadline:
            raise InvalidBody(f"{path}.due: {milestone['due']} is not after created_at ({created_at}) "
                              f"and at or before the deadline ({deadline})")
        total += money.in_minor_units(milestone["amount"])
    if total != money.in_minor_units(price):
        raise InvalidBody(f"body.milestones: amounts add up to {money.format_minor_units(total, currency)} "
                          f"{currency}, not the price {price['amount']} {currency}")


LABEL_REASONS = ("spam", "fraud", "illegal", "off_topic", "impersonation", "harassment", "misleading",
                 "duplicate", "other")


def _label_names_one(body: Body, created_at: int, author: str | None) -> None:
    wanted, unwanted = ("target", "subject") if body["scope"] == "object" else ("subject", "target")
    if wanted not in body:
        raise InvalidBody(f"body.{wanted}: required when scope is {body['scope']}")
    if unwanted in body:
        raise InvalidBody(f"body.{unwanted}: a label of scope {body['scope']} names no {unwanted}")


_LABEL_SCHEMA = {"if": {"required": ["scope"], "properties": {"scope": {"const": "object"}}},
                 "then": {"required": ["target"], "not": {"required": ["subject"]}},
                 "else": {"required": ["subject"], "not": {"required": ["target"]}}}
_REASON_SCHEMA = {"if": {"required": ["decision"], "properties": {"decision": {"const": "reject"}}},
                  "then": {"required": ["reason"], "properties": {"reason": _NON_BLANK_REASON.schema({})}}}
_CONFIRMS_SCHEMA = {"if": {"required": ["kind"], "properties": {"kind": {"const": "confirmed"}}},
                    "then": {"required": ["confirms"]}, "else": {"not": {"required": ["confirms"]}}}
_AWARD_SCHEMA = {"if": {"required": ["outcome"], "properties": {"outcome": {"const": "split"}}},
                 "then": {"required": ["award"]}, "else": {"not": {"required": ["award"]}}}


def _type(name: str, purpose: str, members: dict[str, tuple[Any, bool]],
          rules: tuple[Rule, ...] = (), notes: Mapping[str, str] | None = None) -> BodyType:
    return BodyType(name, purpose, Obj(members), rules, notes)


R, O = True, False  # required, optional: keeps the tables readable

BODY_TYPES: dict[str, BodyType] = {t.name: t for t in (
    _type("profile", "Who the author is and what they do. Replaceable: the latest per author wins.", {
        "name": (NAME, R), "bio": (Text(5000), O), "skills": (SKILLS, O),
        "categories": (ListOf(SLUG, max=50), O), "location": (Text(200, one_line=True), O),
        "links": (ListOf(URL, max=20), O), "hubs": (ListOf(URL, max=20), O), "node": (URL, O)},
        notes={"hubs": "the hubs the author publishes to (and fetches its mailbox from)",
               "node": "the base URL of the author's node, where objects that concern the author are delivered"}),
    _type("hub", "A hub announcement: where it listens and which categories it aggregates. Replaceable.", {
        "url": (URL, R), "name": (NAME, R), "categories": (ListOf(SLUG, 1, 100), R),
        "policy": (NOTE, O), "leaders": (ListOf(DID, max=100), O), "fee_bps": (Int(0, 10_000), O)},
        notes={"url": "the hub's base URL", "policy": "moderation policy, short",
               "leaders": "the category leaders of this hub: their endorsements count (section 14.2)",
               "fee_bps": "the hub's fee in basis points of a contract's price, for contracts made through it"}),
    _type("category", "A category of work, optionally under a parent category.", {
        "slug": (SLUG, R), "name": (NAME, R), "description": (Text(10000), O), "parent": (SLUG, O)},
        rules=(Rule("`parent` MUST differ from `slug`.", _parent_differs),)),
    _type("endorsement", "The author (a category leader or expert) attests a participant's expertise.", {
        "subject": (DID, R), "category": (SLUG, R), "level": (Enum("expert", "leader"), R),
        "note": (NOTE, O)}, notes={"subject": "the participant endorsed"}),
    _type("offer", "A service the author offers, at a price per unit.", {
        "category": (SLUG, R), "title": (TITLE, R), "description": (DESCRIPTION, R),
        "skills": (SKILLS, O), "price": (MONEY, R), "unit": (Enum("hour", "day", "fixed"), R)}),
    _type("project", "Work the author wants done, run by a coordinator.", {
        "category": (SLUG, R), "title": (TITLE, R), "description": (DESCRIPTION, R),
        "budget": (MONEY, R), "deadline": (TIMESTAMP, R), "coordinator": (DID, R), "skills": (SKILLS, O),
        "claims_per_task": (Int(1, 100), O), "claim_approval": (Bool(), O)},
        rules=(_after_created("deadline"),),
        notes={"claims_per_task": "how many claims hold a task at once; default 1",
               "claim_approval": "when true, a claim holds only once the coordinator approves it "
                                 "(an `approval`); default false"}),
    _type("task", "A microchunk of a project that a peer can claim.", {
        "project": (OBJECT_ID, R), "category": (SLUG, R), "title": (TITLE, R),
        "description": (DESCRIPTION, R), "budget": (MONEY, R), "deadline": (TIMESTAMP, R),
        "depends_on": (ListOf(OBJECT_ID, max=100), R), "claim_lease": (Int(60, 2_592_000), R),
        "skills": (SKILLS, O), "estimate": (Int(60, 31_536_000), O)},
        rules=(_after_created("deadline"),),
        notes={"depends_on": "ids of tasks that must be accepted first", "claim_lease": "seconds",
               "estimate": "seconds of work, for the critical path; default `claim_lease`"}),
    _type("claim", "The author self-selects a task; once it holds a place, its lease runs the task's "
                   "`claim_lease` seconds from that moment (section 13.2.2 step 6).", {
        "task": (OBJECT_ID, R), "project": (OBJECT_ID, R), "note": (NOTE, O)}),
    _type("approval", "The project's coordinator lets a claim hold a task of a project with `claim_approval`.", {
        "claim": (OBJECT_ID, R), "note": (NOTE, O)}, notes={"claim": "id of the claim approved"}),
    _type("reopen", "The project's coordinator reopens an overdue task with a new deadline.", {
        "task": (OBJECT_ID, R), "project": (OBJECT_ID, R), "deadline": (TIMESTAMP, R),
        "reason": (_NON_BLANK_REASON, R)},
        rules=(_after_created("deadline"),),
        notes={"deadline": "the task's new deadline", "reason": "why, for the claimants and the record"}),
    _type("proposal", "A bid on a project, task or offer.", {
        "target": (OBJECT_ID, R), "category": (SLUG, R), "price": (MONEY, R),
        "message": (DESCRIPTION, R), "deliver_by": (TIMESTAMP, O)},
        rules=(_after_created("deliver_by", optional=True),),
        notes={"target": "id of a project, task or offer"}),
    _type("contract", "An agreement between parties; in force once every party has signed it.", {
        "parties": (ListOf(Obj({"did": (DID, R), "role": (SLUG, R)}), 2, 20, distinct="did"), R),
        "scope": (ListOf(OBJECT_ID, 1, 100), R), "terms": (Text(30000, non_blank=True), R),
        "price": (MONEY, R),
        "milestones": (ListOf(Obj({"key": (SLUG, R), "title": (TITLE, R), "amount": (MONEY, R),
                                   "due": (TIMESTAMP, R)}), 1, 50, distinct="key"), R),
        "deadline": (TIMESTAMP, R), "dispute_resolver": (DID, R),
        "hub_fee": (Obj({"hub": (DID, R), "bps": (Int(0, 10_000), R)}), O), "category": (SLUG, O),
        "supersedes": (OBJECT_ID, O), "auto_accept": (Int(60, 31_536_000), O)},
        rules=(_after_created("deadline"),
               Rule("Every milestone's `amount` MUST be in the price's currency, its `due` MUST be later "
                    "than `created_at` and not later than `deadline`, and the amounts MUST add up to "
                    "the price exactly.", _milestones_fit)),
        notes={"parties[].role": 'usually "client", "supplier", "coordinator" or "resolver"',
               "scope": "ids of the projects, tasks, offers or proposals covered",
               "hub_fee.bps": "the hub's fee in basis points of the price",
               "supersedes": "id of the contract this one amends (replaces once in force)",
               "auto_accept": "seconds of silence after a delivery that count as its acceptance; "
                              "default 604800 (7 days)"}),
    _type("sign", "The author, a party, accepts a contract.", {"contract": (OBJECT_ID, R)}),
    _type("delivery", "The author delivers a milestone: an artifact by digest and location.", {
        "contract": (OBJECT_ID, R), "milestone": (SLUG, R),
        "artifact": (Obj({"sha256": (SHA256, R), "location": (URL, R), "size": (Int(), O),
                          "media_type": (MEDIA_TYPE, O)}), R), "manifest": (SHA256, O)},
        notes={"milestone": "a milestone `key` of the contract", "artifact.size": "bytes",
               "manifest": "the project's recombination manifest hash this delivery was built from"}),
    _type("acceptance", "The author accepts or rejects a delivery.", {
        "delivery": (OBJECT_ID, R), "decision": (Enum("accept", "reject"), R), "reason": (NOTE, O)},
        rules=(Rule('`reason` MUST be present and not blank when `decision` is "reject".',
                    _reason_when_rejected, _REASON_SCHEMA),)),
    _type("payment", "The payer records a milestone payment (sent); the payee confirms it.", {
        "contract": (OBJECT_ID, R), "milestone": (SLUG, R), "amount": (MONEY, R),
        "kind": (Enum("sent", "confirmed"), R), "confirms": (OBJECT_ID, O),
        "reference": (Text(200, one_line=True), O)},
        rules=(Rule('`confirms` (the id of the sent payment) MUST be present when `kind` is "confirmed" '
                    "and MUST be absent otherwise.", _confirms_iff_confirmed, _CONFIRMS_SCHEMA),),
        notes={"milestone": "a milestone `key` of the contract",
               "confirms": "id of the payment of kind sent that this confirms",
               "reference": "e.g. a bank transfer reference"}),
    _type("dispute", "The author, a party, asks the contract's dispute resolver to rule.", {
        "contract": (OBJECT_ID, R), "resolver": (DID, R), "milestone": (SLUG, O), "reason": (DESCRIPTION, R)},
        notes={"resolver": "the contract's `dispute_resolver`",
               "milestone": "a milestone `key` of the contract; absent: the whole contract"}),
    _type("ruling", "The dispute resolver settles a dispute; the earliest ruling closes it.", {
        "dispute": (OBJECT_ID, R), "contract": (OBJECT_ID, R),
        "outcome": (Enum("for_client", "for_supplier", "split"), R), "award": (MONEY, O),
        "reason": (DESCRIPTION, R)},
        rules=(Rule('`award` MUST be present when `outcome` is "split" and MUST be absent otherwise.',
                    _award_iff_split, _AWARD_SCHEMA),),
        notes={"contract": "the dispute's contract",
               "award": "what the client owes the supplier for what the dispute covers"}),
    _type("review", "The author rates another party of a completed contract.", {
        "contract": (OBJECT_ID, R), "subject": (DID, R), "rating": (Int(1, 5), R),
        "text": (Text(5000), O)}, notes={"subject": "another party of the contract"}),
    _type("label", "A hub's moderation decision about an object or an author, with a reason and an expiry.", {
        "scope": (Enum("object", "author"), R), "target": (OBJECT_ID, O), "subject": (DID, O),
        "reason": (Enum(*LABEL_REASONS), R), "note": (NOTE, O), "expires": (TIMESTAMP, R)},
        rules=(_after_created("expires"),
               Rule('`target` MUST be present and `subject` absent when `scope` is "object"; `subject` MUST be '
                    'present and `target` absent when `scope` is "author".', _label_names_one, _LABEL_SCHEMA)),
        notes={"scope": '"object": delist `target`; "author": block every object by `subject`',
               "target": "id of the object delisted", "subject": "the author blocked",
               "reason": "section 14.4 says what each reason means", "note": "free text for the author and readers",
               "expires": "the label stops applying at this time"}),
    _type("response", "The author affected by a label answers it; hubs show the answer beside the label.", {
        "label": (OBJECT_ID, R), "text": (Text(5000, non_blank=True), R)},
        notes={"label": "id of the label answered"}),
    _type("retract", "The author withdraws one of their own objects.", {
        "target": (OBJECT_ID, R), "reason": (NOTE, O)}, notes={"target": "id of an object by the same author"}),
    _type("key_rotation", "The author's key names its successor.", {"successor": (DID, R)},
          rules=(Rule("`successor` MUST differ from the envelope's `author`.", _successor_differs),),
          notes={"successor": "the key that replaces the author's"}),
    _type("message", "An end-to-end encrypted object for named recipients (see the encryption section).", {
        "recipients": (ListOf(Obj({"to": (DID, R), "key": (WRAPPED_KEY, R)}), 1, 20, distinct="to"), R),
        "nonce": (NONCE, R), "ciphertext": (CIPHERTEXT, R)},
        notes={"recipients[].key": "48 bytes: the content key boxed for `to`",
               "nonce": "24 bytes: the content nonce",
               "ciphertext": "at least 16 bytes: the sender's signed object, sealed with the content key"}),
)}

OBJECT_TYPES = frozenset(BODY_TYPES)


def validate_body(type_: str, body: Mapping[str, Any], created_at: int, author: str | None = None) -> None:
    """Check `body` against the rules of `type_`; raise `InvalidBody` naming the field.

    `created_at` and `author` are the envelope's, for rules such as "deadline
    is later than created_at" or "a key_rotation's successor is not its
    author" (skipped when `author` is None). Members the type does not define
    are accepted untouched.
    Raises `UnknownType` for a type outside `OBJECT_TYPES`.
    """
    spec = BODY_TYPES.get(type_)
    if spec is None:
        raise UnknownType(f"unknown object type {type_!r}")
    check_body(spec, body, created_at, author)


def passes_body(spec: BodyType, body: Mapping[str, Any], created_at: int, author: str | None) -> bool:
    """Whether `check_body` would pass, without building the error (`envelope.verify` raises it later)."""
    if not spec.fields.ok(body):
        return False
    try:
        for rule in spec.rules:
            rule.check(body, created_at, author)
    except InvalidBody:
        return False
    return True


def check_body(spec: BodyType, body: Mapping[str, Any], created_at: int, author: str | None) -> None:
    """`validate_body` for a type already looked up (`envelope.verify` has done so)."""
    fields = spec.fields
    if not fields.ok(body):  # the common case builds no path strings
        fields.explain(body, "body")
    for rule in spec.rules:
        rule.check(body, created_at, author)
