"""Print the per-type part of the object-types section of specs/protocol.md.

    .venv/bin/python specs/examples.py

For every object type: its purpose, its field table and rules (from
`protocol.bodies`' table) and one complete signed example. The examples are
signed at created_at 1767225600 (2026-01-01T00:00:00Z) by fixed seeds, so
anyone can reproduce them byte for byte:

    alice = Identity(bytes([1]) * 32)   client, coordinator, hub operator
    bob   = Identity(bytes([2]) * 32)   supplier
    carol = Identity(bytes([3]) * 32)   dispute resolver
    bob2  = Identity(bytes([4]) * 32)   bob's successor key

tests/protocol/test_schemas.py checks that this output appears verbatim in
the spec and that every example there verifies.
"""

import json
from typing import Any, Iterator

from protocol import envelope, message
from protocol.bodies import BODY_TYPES
from protocol.envelope import SignedObject
from protocol.identity import Identity
from protocol.shapes import ListOf, Obj, Shape

CREATED_AT = 1767225600  # 2026-01-01T00:00:00Z
DAY = 86400
alice, bob, carol, bob2 = (Identity(bytes([n]) * 32) for n in (1, 2, 3, 4))


def build_examples() -> dict[str, SignedObject]:
    """One signed example per object type; later ones refer to earlier ones by id."""
    at = CREATED_AT
    eur = lambda amount: {"amount": amount, "currency": "EUR"}  # noqa: E731
    ex: dict[str, SignedObject] = {}

    def sign(who: Identity, type_: str, body: dict[str, Any]) -> SignedObject:
        ex[type_] = envelope.sign(who, type_, body, at)
        return ex[type_]

    sign(bob, "profile", {
        "name": "Bob Okafor", "bio": "Front-end developer; accessible, fast websites.",
        "skills": ["html", "css", "accessibility"], "categories": ["web-design"],
        "location": "Lagos, NG", "links": ["https://bob.example.net/"],
        "hubs": ["https://hub.example.org/"]})
    sign(alice, "hub", {
        "url": "https://hub.example.org/", "name": "Web design hub",
        "categories": ["web-design", "copywriting"], "policy": "Listings must name a price.",
        "leaders": [carol.did], "fee_bps": 250})
    sign(alice, "category", {
        "slug": "web-design", "name": "Web design",
        "description": "Design and build of websites and landing pages.", "parent": "design"})
    sign(alice, "endorsement", {
        "subject": bob.did, "category": "web-design", "level": "expert",
        "note": "Delivered three projects on this hub on time."})
    offer = sign(bob, "offer", {
        "category": "web-design", "title": "Accessible landing page",
        "description": "A one-page site, WCAG 2.2 AA, delivered as static files.",
        "skills": ["html", "css"], "price": eur("85.00"), "unit": "hour"})
    project = sign(alice, "project", {
        "category": "web-design", "title": "Relaunch of the shop website",
        "description": "New design and front end for a small online shop.",
        "budget": eur("4000.00"), "deadline": at + 60 * DAY, "coordinator": alice.did,
        "skills": ["html", "css"]})
    task = sign(alice, "task", {
        "project": project.id, "category": "web-design", "title": "Landing page",
        "description": "Design and build the landing page from the brand guide.",
        "budget": eur("1200.00"), "deadline": at + 30 * DAY, "depends_on": [],
        "claim_lease": 2 * DAY, "skills": ["html", "css"]})
    claim = sign(bob, "claim", {"task": task.id, "project": project.id, "note": "Can start today."})
    sign(alice, "approval", {"claim": claim.id, "note": "Welcome aboard."})
    # Shape only: in context a reopen is signed after the task's deadline (section 13.2).
    sign(alice, "reopen", {
        "task": task.id, "project": project.id, "deadline": at + 45 * DAY,
        "reason": "The lease lapsed without a delivery; two more weeks for a new claimant."})
    proposal = sign(bob, "proposal", {
        "target": task.id, "category": "web-design", "price": eur("1200.00"),
        "message": "Design in week one, build in weeks two and three.", "deliver_by": at + 21 * DAY})
    contract = sign(alice, "contract", {
        "parties": [{"did": alice.did, "role": "client"}, {"did": bob.did, "role": "supplier"}],
        "scope": [task.id, proposal.id],
        "terms": "Bob designs and builds the landing page as described in the task. "
                 "Alice pays each milestone within 7 days of acceptance.",
        "price": eur("1200.00"),
        "milestones": [
            {"key": "design", "title": "Approved design", "amount": eur("400.00"), "due": at + 7 * DAY},
            {"key": "build", "title": "Finished page", "amount": eur("800.00"), "due": at + 21 * DAY}],
        "deadline": at + 30 * DAY, "dispute_resolver": carol.did,
        "hub_fee": {"hub": alice.did, "bps": 250}, "category": "web-design"})
    sign(bob, "sign", {"contract": contract.id})
    delivery = sign(bob, "delivery", {
        "contract": contract.id, "milestone": "design",
        "artifact": {"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                     "location": "https://files.example.net/landing-design.pdf",
                     "size": 48213, "media_type": "application/pdf"}})
    sign(alice, "acceptance", {"delivery": delivery.id, "decision": "accept"})
    sign(alice, "payment", {
        "contract": contract.id, "milestone": "design", "amount": eur("400.00"), "kind": "sent",
        "reference": "SEPA 2026-01-08 KI-DESIGN"})
    dispute = sign(alice, "dispute", {
        "contract": contract.id, "resolver": carol.did, "milestone": "build",
        "reason": "The finished page fails the accessibility checks the terms require."})
    sign(carol, "ruling", {
        "dispute": dispute.id, "contract": contract.id, "outcome": "split", "award": eur("600.00"),
        "reason": "Two of the eight checks fail; bob keeps three quarters of the build milestone."})
    sign(alice, "review", {
        "contract": contract.id, "subject": bob.did, "rating": 5, "text": "Clear, early, thorough."})
    label = sign(alice, "label", {
        "scope": "object", "target": offer.id, "reason": "misleading",
        "note": "The offer names an hourly price but describes a fixed-price package.", "expires": at + 30 * DAY})
    sign(bob, "response", {"label": label.id, "text": "The package is billed by the hour; the description now says so."})
    sign(bob, "retract", {"target": offer.id, "reason": "Fully booked until March."})
    sign(bob, "key_rotation", {"successor": bob2.did})
    counter = iter(range(256))
    fixed_random = lambda n: bytes([next(counter)] * n)  # noqa: E731 - reproducible, never do this for real
    ex["message"] = message.seal_object(bob, [alice.did, bob.did], proposal, at, random=fixed_random)
    return ex


def field_rows(shape: Obj, prefix: str = "") -> Iterator[tuple[str, Shape, bool]]:
    """(path, shape, required) for every member, nested objects flattened as a.b and a[].b."""
    for name, (member, required) in shape.members.items():
        path = prefix + name
        yield path, member, required
        if isinstance(member, Obj):
            yield from field_rows(member, path + ".")
        elif isinstance(member, ListOf) and isinstance(member.item, Obj):
            yield from field_rows(member.item, path + "[].")


def type_section(type_: str, example: SignedObject) -> str:
    spec = BODY_TYPES[type_]
    notes = spec.notes or {}
    lines = [f"#### `{type_}`", "", spec.purpose, "",
             "| field | type | required | constraints |", "|---|---|---|---|"]
    for path, shape, required in field_rows(spec.fields):
        words = "; ".join(w for w in (shape.constraints, notes.get(path, "")) if w)
        lines.append(f"| `{path}` | {shape.kind} | {'yes' if required else 'no'} | {words} |")
    if spec.rules:
        lines += ["", *(f"- {rule.text}" for rule in spec.rules)]
    lines += ["", "```json", pretty(example.as_dict()), "```"]
    return "\n".join(lines)


def pretty(value: Any, indent: str = "", width: int = 100) -> str:
    """JSON with one member per line, but arrays and objects inline where they fit."""
    flat = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    if len(indent) + len(flat) <= width or not isinstance(value, (dict, list)) or not value:
        return flat
    inner = indent + "  "
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {pretty(v, inner, width - len(k) - 4)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    items = [inner + pretty(v, inner, width) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + indent + "]"


def render() -> str:
    """The markdown that the spec's object-types section carries after its prose."""
    examples = build_examples()
    return "\n\n".join(type_section(type_, examples[type_]) for type_ in BODY_TYPES) + "\n"


if __name__ == "__main__":
    print(render(), end="")
