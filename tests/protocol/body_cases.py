"""Sample bodies for every object type, shared by test_bodies and test_schemas.

`VALID` are (type, label, body) that every implementation must accept;
`INVALID` are `Bad` cases that must be rejected with `invalid_body`, each
naming the field path the error must mention and whether JSON Schema can
express the rule (`schema=False` marks the rules only code can check).
"""

import copy
from dataclasses import dataclass
from typing import Any

from protocol.identity import Identity

CREATED_AT = 1767225600
LATER = CREATED_AT + 30 * 86400
ALICE = Identity(bytes([1]) * 32).did
BOB = Identity(bytes([2]) * 32).did
CAROL = Identity(bytes([3]) * 32).did
ID1, ID2, ID3 = "a" * 64, "0123456789abcdef" * 4, "f" * 64
ALL_ZERO_PREFIX_DID = "did:key:z6Mk" + "1" * 44  # matches the schema's pattern, decodes to multicodec ed00
X25519_DID = "did:key:z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc"
DELETE = object()


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


BASE: dict[str, dict[str, Any]] = {
    "profile": {"name": "Bob Okafor", "bio": "Front-end developer.", "skills": ["html", "css"],
                "categories": ["web-design"], "location": "Lagos", "links": ["https://bob.example.net/"],
                "hubs": ["https://hub.example.org/"]},
    "hub": {"url": "https://hub.example.org/", "name": "Web hub", "categories": ["web-design"],
            "policy": "Be nice.", "leaders": [ALICE, CAROL], "fee_bps": 250},
    "category": {"slug": "web-design", "name": "Web design", "description": "Websites.", "parent": "design"},
    "endorsement": {"subject": BOB, "category": "web-design", "level": "expert", "note": "Solid."},
    "offer": {"category": "web-design", "title": "Landing page", "description": "A one-page site.",
              "skills": ["html"], "price": eur("85.00"), "unit": "hour"},
    "project": {"category": "web-design", "title": "Shop relaunch", "description": "New shop front end.",
                "budget": eur("4000"), "deadline": LATER, "coordinator": ALICE, "skills": ["css"],
                "claims_per_task": 2, "claim_approval": True},
    "task": {"project": ID1, "category": "web-design", "title": "Landing page", "description": "Build it.",
             "budget": eur("1200.00"), "deadline": LATER, "depends_on": [ID2], "claim_lease": 86400,
             "skills": ["html"], "estimate": 43200},
    "claim": {"task": ID2, "project": ID1, "note": "Starting now."},
    "approval": {"claim": ID3, "note": "Welcome aboard."},
    "reopen": {"task": ID2, "project": ID1, "deadline": LATER, "reason": "The claim lapsed without a delivery."},
    "proposal": {"target": ID2, "category": "web-design", "price": eur("1200.00"),
                 "message": "Three weeks.", "deliver_by": LATER},
    "contract": {"parties": [{"did": ALICE, "role": "client"}, {"did": BOB, "role": "supplier"}],
                 "scope": [ID2, ID3], "terms": "Build the landing page.", "price": eur("1200.00"),
                 "milestones": [{"key": "design", "title": "Design", "amount": eur("400.00"), "due": LATER - 86400},
                                {"key": "build", "title": "Build", "amount": eur("800"), "due": LATER}],
                 "deadline": LATER, "dispute_resolver": CAROL, "hub_fee": {"hub": ALICE, "bps": 250},
                 "category": "web-design"},
    "sign": {"contract": ID1},
    "delivery": {"contract": ID1, "milestone": "design",
                 "artifact": {"sha256": ID3, "location": "https://files.example.net/a.pdf", "size": 10,
                              "media_type": "application/pdf"}},
    "acceptance": {"delivery": ID1, "decision": "reject", "reason": "Missing the footer."},
    "payment": {"contract": ID1, "milestone": "design", "amount": eur("400.00"), "kind": "confirmed",
                "confirms": ID2, "reference": "SEPA 123"},
    "dispute": {"contract": ID1, "resolver": CAROL, "milestone": "build", "reason": "The page fails the checks."},
    "ruling": {"dispute": ID2, "contract": ID1, "outcome": "split", "award": eur("600.00"),
               "reason": "Two checks fail."},
    "review": {"contract": ID1, "subject": BOB, "rating": 5, "text": "Great."},
    "label": {"scope": "object", "target": ID1, "reason": "spam", "note": "Posted forty times.",
              "expires": LATER},
    "response": {"label": ID2, "text": "Each listing is a different city."},
    "retract": {"target": ID1, "reason": "Booked out."},
    "key_rotation": {"successor": BOB},
    "message": {"recipients": [{"to": ALICE, "key": "A" * 64}, {"to": BOB, "key": "b" * 64}],
                "nonce": "n" * 32, "ciphertext": "c2VjcmV0IGNvbnRlbnQgYm94ZWQ"},
}

# Fields each type requires (the rest of BASE is optional): the tests check the
# validator against this list, so it is written out rather than derived.
REQUIRED = {
    "profile": ["name"], "hub": ["url", "name", "categories"], "category": ["slug", "name"],
    "endorsement": ["subject", "category", "level"],
    "offer": ["category", "title", "description", "price", "unit"],
    "project": ["category", "title", "description", "budget", "deadline", "coordinator"],
    "task": ["project", "category", "title", "description", "budget", "deadline", "depends_on", "claim_lease"],
    "claim": ["task", "project"], "approval": ["claim"], "reopen": ["task", "project", "deadline", "reason"],
    "proposal": ["target", "category", "price", "message"],
    "contract": ["parties", "scope", "terms", "price", "milestones", "deadline", "dispute_resolver"],
    "sign": ["contract"], "delivery": ["contract", "milestone", "artifact"],
    "acceptance": ["delivery", "decision"], "payment": ["contract", "milestone", "amount", "kind"],
    "dispute": ["contract", "resolver", "reason"], "ruling": ["dispute", "contract", "outcome", "reason"],
    "review": ["contract", "subject", "rating"], "label": ["scope", "reason", "expires"],
    "response": ["label", "text"], "retract": ["target"], "key_rotation": ["successor"],
    "message": ["recipients", "nonce", "ciphertext"],
}


def changed(type_: str, **changes: Any) -> dict[str, Any]:
    """BASE[type_] with members replaced; keys are paths like price__amount or milestones__0__due."""
    body = copy.deepcopy(BASE[type_])
    for path, value in changes.items():
        *parents, last = [int(p) if p.isdigit() else p for p in path.split("__")]
        target = body
        for part in parents:
            target = target[part]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return body


def minimal(type_: str) -> dict[str, Any]:
    return {k: v for k, v in BASE[type_].items() if k in REQUIRED[type_]}


VALID: list[tuple[str, str, dict[str, Any]]] = [
    *((t, "full", BASE[t]) for t in BASE),
    *((t, "required only", minimal(t)) for t in BASE if t not in ("acceptance", "payment", "ruling", "label")),
    ("label", "author scope", {"scope": "author", "subject": BOB, "reason": "fraud", "expires": LATER}),
    ("hub", "fee bounds, no leaders", changed("hub", fee_bps=10000, leaders=[])),
    *((t, "unknown member kept", {**BASE[t], "x_future": {"anything": [1, None, True]}}) for t in BASE),
    ("offer", "JPY has no fraction", changed("offer", price={"amount": "12000", "currency": "JPY"})),
    ("offer", "KWD has three", changed("offer", price={"amount": "1.250", "currency": "KWD"})),
    ("offer", "CLF has four", changed("offer", price={"amount": "0.0001", "currency": "CLF"})),
    ("offer", "unlisted code has two", changed("offer", price={"amount": "3.10", "currency": "XYZ"})),
    ("offer", "fewer digits than allowed", changed("offer", price={"amount": "85.5", "currency": "EUR"})),
    ("offer", "zero", changed("offer", price={"amount": "0", "currency": "EUR"})),
    ("offer", "fifteen integer digits", changed("offer", price=eur("999999999999999.99"))),
    ("offer", "title at 200", changed("offer", title="t" * 200)),
    ("offer", "non-ASCII text", changed("offer", title="Café — 東京 ✓", description="Ünïcödé\ntext")),
    ("offer", "U+001C and U+FEFF are not White_Space", changed("offer", description="\x1c", title="\ufeff")),
    ("offer", "fifty skills", changed("offer", skills=[f"skill {n}" for n in range(50)])),
    ("offer", "skills empty", changed("offer", skills=[])),
    ("profile", "slug at 64", changed("profile", categories=["a" * 64, "a-b-c", "0"])),
    ("profile", "url with query and fragment",
     changed("profile", links=["http://[::1]:8080/a%20b?q=1&r=(x)#frag", "https://user@host.example/"])),
    ("task", "lease bounds", changed("task", claim_lease=60)),
    ("task", "lease upper bound", changed("task", claim_lease=2_592_000)),
    ("task", "no dependencies", changed("task", depends_on=[])),
    ("project", "claim approval off", changed("project", claim_approval=False, claims_per_task=1)),
    ("project", "claims_per_task upper bound", changed("project", claims_per_task=100)),
    ("contract", "due on deadline", changed("contract", milestones__1__due=LATER)),
    ("contract", "one milestone", changed("contract", milestones=[
        {"key": "all", "title": "All", "amount": eur("1200"), "due": LATER}])),
    ("contract", "any slug as role", changed("contract", parties__1__role="second-opinion")),
    ("contract", "fee bounds", changed("contract", hub_fee={"hub": ALICE, "bps": 10000})),
    ("acceptance", "accept without reason", {"delivery": ID1, "decision": "accept"}),
    ("payment", "sent without confirms", changed("payment", kind="sent", confirms=DELETE)),
    ("ruling", "for the client without award", changed("ruling", outcome="for_client", award=DELETE)),
    ("contract", "amendment with auto-accept", changed("contract", supersedes=ID3, auto_accept=60)),
    ("delivery", "with a manifest", changed("delivery", manifest=ID2)),
    ("review", "lowest rating", changed("review", rating=1)),
    ("delivery", "empty artifact", changed("delivery", artifact__size=0)),
    ("message", "ciphertext three-char tail", changed("message", ciphertext="AAAAAAAAAAAAAAAAAAAAAAAAAAE")),
    ("message", "ciphertext two-char tail", changed("message", ciphertext="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
]


@dataclass(frozen=True)
class Bad:
    type: str
    label: str
    body: Any
    path: str  # the field path the error message must name
    schema: bool = True  # whether the JSON Schema rejects it too

    def __str__(self) -> str:
        return f"{self.type}: {self.label}"


def _generic() -> list[Bad]:
    cases = []
    for type_ in BASE:
        cases.append(Bad(type_, "body is an array", [], "body"))
        for field in REQUIRED[type_]:
            cases.append(Bad(type_, f"{field} missing", changed(type_, **{field: DELETE}), f"body.{field}"))
        for field in BASE[type_]:
            # Null is always wrong, and true for every field that is not boolean.
            if not isinstance(BASE[type_][field], bool):
                cases.append(Bad(type_, f"{field} is true", changed(type_, **{field: True}), f"body.{field}"))
            cases.append(Bad(type_, f"{field} is null", changed(type_, **{field: None}), f"body.{field}"))
    return cases


INVALID: list[Bad] = _generic() + [
    # slugs
    *(Bad("offer", f"slug {s!r}", changed("offer", category=s), "body.category")
      for s in ("Web-design", "web--design", "-web", "web-", "", "a" * 65, "web_design", "wéb", "web design")),
    # money
    Bad("offer", "EUR with three decimals", changed("offer", price=eur("12.345")), "body.price.amount"),
    Bad("offer", "JPY with a fraction", changed("offer", price={"amount": "100.5", "currency": "JPY"}),
        "body.price.amount"),
    Bad("offer", "KWD with four", changed("offer", price={"amount": "1.2345", "currency": "KWD"}),
        "body.price.amount"),
    Bad("offer", "CLF with five", changed("offer", price={"amount": "1.23456", "currency": "CLF"}),
        "body.price.amount"),
    *(Bad("offer", f"amount {a!r}", changed("offer", price=eur(a)), "body.price.amount")
      for a in ("01", "1.", ".5", "-1", "+1", "1e3", " 1", "1,00", "1000000000000000", "")),
    Bad("offer", "amount is a number", changed("offer", price={"amount": 85, "currency": "EUR"}),
        "body.price.amount"),
    *(Bad("offer", f"currency {c!r}", changed("offer", price={"amount": "1", "currency": c}), "body.price.currency")
      for c in ("eur", "EU", "EURO", "", 978)),
    Bad("offer", "money with an extra member", changed("offer", price={**eur("1"), "per": "hour"}), "body.price"),
    Bad("offer", "money without currency", changed("offer", price={"amount": "1"}), "body.price"),
    Bad("offer", "money is a string", changed("offer", price="85 EUR"), "body.price"),
    # texts
    Bad("offer", "blank title", changed("offer", title="  \t "), "body.title"),
    Bad("offer", "empty title", changed("offer", title=""), "body.title"),
    Bad("offer", "title with a line break", changed("offer", title="two\nlines"), "body.title"),
    Bad("offer", "title with NUL", changed("offer", title="a\x00b"), "body.title"),
    Bad("offer", "title too long", changed("offer", title="t" * 201), "body.title"),
    Bad("offer", "description too long", changed("offer", description="d" * 10001), "body.description"),
    Bad("offer", "blank description", changed("offer", description="\n\n"), "body.description"),
    Bad("offer", "description of Unicode spaces", changed("offer", description="\u3000\u2028\xa0\x85"),
        "body.description"),
    Bad("offer", "title of a no-break space", changed("offer", title="\xa0"), "body.title"),
    Bad("offer", "unit unknown", changed("offer", unit="week"), "body.unit"),
    Bad("profile", "name too long", changed("profile", name="n" * 101), "body.name"),
    Bad("profile", "bio is a number", changed("profile", bio=5), "body.bio"),
    # skills and lists
    Bad("offer", "duplicate skills", changed("offer", skills=["css", "html", "css"]), "body.skills"),
    Bad("offer", "51 skills", changed("offer", skills=[f"s{n}" for n in range(51)]), "body.skills"),
    Bad("offer", "empty skill", changed("offer", skills=["css", ""]), "body.skills[1]"),
    Bad("offer", "blank skill", changed("offer", skills=[" "]), "body.skills[0]"),
    Bad("offer", "skill too long", changed("offer", skills=["s" * 51]), "body.skills[0]"),
    Bad("offer", "skill with tab", changed("offer", skills=["a\tb"]), "body.skills[0]"),
    Bad("offer", "skill is a number", changed("offer", skills=["css", 3]), "body.skills[1]"),
    Bad("offer", "skills is a string", changed("offer", skills="css"), "body.skills"),
    Bad("profile", "duplicate links", changed("profile", links=["https://a.example/"] * 2), "body.links"),
    Bad("profile", "21 links", changed("profile", links=[f"https://a.example/{n}" for n in range(21)]), "body.links"),
    Bad("hub", "no categories", changed("hub", categories=[]), "body.categories"),
    Bad("hub", "101 categories", changed("hub", categories=[f"c{n}" for n in range(101)]), "body.categories"),
    # urls
    *(Bad("profile", f"url {u!r}", changed("profile", links=[u]), "body.links[0]")
      for u in ("ftp://example.com/", "https://", "https://exa mple.com/", "https://example.com/é",
                "example.com", "HTTPS://example.com/", "https://example.com/" + "a" * 2029, "//example.com/")),
    Bad("hub", "hub url javascript", changed("hub", url="javascript:alert(1)"), "body.url"),
    # ids and dids
    Bad("claim", "uppercase id", changed("claim", task="A" * 64), "body.task"),
    Bad("claim", "short id", changed("claim", task="a" * 63), "body.task"),
    Bad("endorsement", "did:web", changed("endorsement", subject="did:web:example.com"), "body.subject"),
    Bad("endorsement", "X25519 did:key", changed("endorsement", subject=X25519_DID), "body.subject"),
    Bad("endorsement", "did with a 0", changed("endorsement", subject=BOB[:-1] + "0"), "body.subject"),
    Bad("endorsement", "did with wrong multicodec", changed("endorsement", subject=ALL_ZERO_PREFIX_DID),
        "body.subject", schema=False),
    Bad("endorsement", "long did", changed("endorsement", subject=BOB + "1" * 10000), "body.subject"),
    Bad("label", "object scope without target", changed("label", target=DELETE), "body.target"),
    Bad("label", "object scope with subject", changed("label", subject=BOB), "body.subject"),
    Bad("label", "author scope without subject", changed("label", scope="author"), "body.subject"),
    Bad("label", "reason unknown", changed("label", reason="ugly"), "body.reason"),
    Bad("label", "expires at created_at", changed("label", expires=CREATED_AT), "body.expires", schema=False),
    Bad("response", "blank text", changed("response", text=" "), "body.text"),
    Bad("hub", "fee over 100%", changed("hub", fee_bps=10001), "body.fee_bps"),
    Bad("hub", "leader not a did", changed("hub", leaders=["alice"]), "body.leaders"),
    Bad("endorsement", "level unknown", changed("endorsement", level="guru"), "body.level"),
    # timestamps and integers
    Bad("project", "deadline at created_at", changed("project", deadline=CREATED_AT), "body.deadline", schema=False),
    Bad("project", "deadline before created_at", changed("project", deadline=CREATED_AT - 1), "body.deadline",
        schema=False),
    Bad("project", "deadline as string", changed("project", deadline=str(LATER)), "body.deadline"),
    Bad("project", "negative deadline", changed("project", deadline=-1), "body.deadline"),
    Bad("project", "deadline beyond 2**53-1", changed("project", deadline=2**53), "body.deadline"),
    Bad("task", "deadline is false", changed("task", deadline=False), "body.deadline"),
    Bad("task", "deadline in the past", changed("task", deadline=1), "body.deadline", schema=False),
    Bad("proposal", "deliver_by in the past", changed("proposal", deliver_by=CREATED_AT), "body.deliver_by",
        schema=False),
    Bad("project", "claim_approval is 1", changed("project", claim_approval=1), "body.claim_approval"),
    Bad("project", "claim_approval is a string", changed("project", claim_approval="true"), "body.claim_approval"),
    Bad("project", "claims_per_task 0", changed("project", claims_per_task=0), "body.claims_per_task"),
    Bad("project", "claims_per_task 101", changed("project", claims_per_task=101), "body.claims_per_task"),
    Bad("task", "estimate too short", changed("task", estimate=59), "body.estimate"),
    Bad("task", "estimate is a string", changed("task", estimate="3600"), "body.estimate"),
    Bad("reopen", "deadline at created_at", changed("reopen", deadline=CREATED_AT), "body.deadline", schema=False),
    Bad("reopen", "blank reason", changed("reopen", reason=" "), "body.reason"),
    Bad("approval", "claim not an id", changed("approval", claim="claim-1"), "body.claim"),
    Bad("task", "lease too short", changed("task", claim_lease=59), "body.claim_lease"),
    Bad("task", "lease too long", changed("task", claim_lease=2_592_001), "body.claim_lease"),
    Bad("task", "lease is true", changed("task", claim_lease=True), "body.claim_lease"),
    Bad("task", "duplicate dependencies", changed("task", depends_on=[ID1, ID1]), "body.depends_on"),
    Bad("task", "101 dependencies", changed("task", depends_on=[f"{n:064x}" for n in range(101)]),
        "body.depends_on"),
    Bad("task", "dependency not an id", changed("task", depends_on=["task-1"]), "body.depends_on[0]"),
    Bad("review", "rating 0", changed("review", rating=0), "body.rating"),
    Bad("review", "rating 6", changed("review", rating=6), "body.rating"),
    Bad("review", "rating as string", changed("review", rating="5"), "body.rating"),
    Bad("review", "text too long", changed("review", text="x" * 5001), "body.text"),
    # category
    Bad("category", "own parent", changed("category", parent="web-design"), "body.parent", schema=False),
    # contract
    Bad("contract", "one party", changed("contract", parties=[{"did": ALICE, "role": "client"}]), "body.parties"),
    Bad("contract", "party twice", changed("contract", parties__1__did=ALICE), "body.parties", schema=False),
    Bad("contract", "role not a slug", changed("contract", parties__0__role="Client"), "body.parties[0].role"),
    Bad("contract", "party without did", changed("contract", parties__0__did=DELETE), "body.parties[0].did"),
    Bad("contract", "party is a string", changed("contract", parties=[ALICE, BOB]), "body.parties[0]"),
    Bad("contract", "empty scope", changed("contract", scope=[]), "body.scope"),
    Bad("contract", "blank terms", changed("contract", terms=" "), "body.terms"),
    Bad("contract", "no milestones", changed("contract", milestones=[]), "body.milestones"),
    Bad("contract", "milestone key twice", changed("contract", milestones__1__key="design"), "body.milestones",
        schema=False),
    Bad("contract", "milestone in USD", changed("contract", milestones__1__amount={"amount": "800", "currency": "USD"}),
        "body.milestones[1].amount.currency", schema=False),
    Bad("contract", "milestones short of price", changed("contract", milestones__1__amount=eur("799.99")),
        "body.milestones", schema=False),
    Bad("contract", "milestone after deadline", changed("contract", milestones__1__due=LATER + 1),
        "body.milestones[1].due", schema=False),
    Bad("contract", "milestone due at created_at", changed("contract", milestones__0__due=CREATED_AT),
        "body.milestones[0].due", schema=False),
    Bad("contract", "milestone amount with three decimals", changed("contract", milestones__0__amount=eur("400.001")),
        "body.milestones[0].amount.amount"),
    Bad("contract", "deadline passed", changed("contract", deadline=CREATED_AT - 5), "body.deadline", schema=False),
    Bad("contract", "fee over 100%", changed("contract", hub_fee={"hub": ALICE, "bps": 10001}), "body.hub_fee.bps"),
    Bad("contract", "fee without hub", changed("contract", hub_fee={"bps": 100}), "body.hub_fee.hub"),
    # delivery
    Bad("delivery", "uppercase digest", changed("delivery", artifact__sha256="F" * 64), "body.artifact.sha256"),
    Bad("delivery", "negative size", changed("delivery", artifact__size=-1), "body.artifact.size"),
    Bad("delivery", "size is true", changed("delivery", artifact__size=True), "body.artifact.size"),
    Bad("delivery", "media type without subtype", changed("delivery", artifact__media_type="pdf"),
        "body.artifact.media_type"),
    Bad("delivery", "artifact without location", changed("delivery", artifact__location=DELETE),
        "body.artifact.location"),
    Bad("delivery", "milestone not a slug", changed("delivery", milestone="Design"), "body.milestone"),
    # acceptance and payment
    Bad("acceptance", "reject without reason", changed("acceptance", reason=DELETE), "body.reason"),
    Bad("acceptance", "reject with blank reason", changed("acceptance", reason="  "), "body.reason"),
    Bad("acceptance", "decision unknown", changed("acceptance", decision="maybe"), "body.decision"),
    Bad("payment", "confirmed without confirms", changed("payment", confirms=DELETE), "body.confirms"),
    Bad("payment", "sent with confirms", changed("payment", kind="sent"), "body.confirms"),
    Bad("payment", "reference with newline", changed("payment", reference="a\nb"), "body.reference"),
    # dispute, ruling and the contract's lifecycle fields
    Bad("dispute", "blank reason", changed("dispute", reason=" "), "body.reason"),
    Bad("dispute", "resolver not a did", changed("dispute", resolver="carol"), "body.resolver"),
    Bad("ruling", "split without award", changed("ruling", award=DELETE), "body.award"),
    Bad("ruling", "award for the supplier", changed("ruling", outcome="for_supplier"), "body.award"),
    Bad("ruling", "outcome unknown", changed("ruling", outcome="draw"), "body.outcome"),
    Bad("contract", "auto_accept under a minute", changed("contract", auto_accept=59), "body.auto_accept"),
    Bad("contract", "supersedes not an id", changed("contract", supersedes="c1"), "body.supersedes"),
    Bad("delivery", "manifest not a digest", changed("delivery", manifest="ab"), "body.manifest"),
    # message
    Bad("message", "no recipients", changed("message", recipients=[]), "body.recipients"),
    Bad("message", "recipient twice", changed("message", recipients__1__to=ALICE), "body.recipients", schema=False),
    Bad("message", "short nonce", changed("message", nonce="n" * 31), "body.nonce"),
    Bad("message", "padded ciphertext", changed("message", ciphertext="c2VjcmV0IGNvbnRlbnQgYm94ZWQ="),
        "body.ciphertext"),
    Bad("message", "ciphertext with + (not base64url)", changed("message", ciphertext="c2VjcmV0+GNvbnRlbnQgYm94ZWQ"),
        "body.ciphertext"),
    Bad("message", "ciphertext with unused bits set", changed("message", ciphertext="AAAAAAAAAAAAAAAAAAAAAAAAAAB"),
        "body.ciphertext"),
    Bad("message", "ciphertext of impossible length", changed("message", ciphertext="A" * 25), "body.ciphertext"),
    Bad("message", "ciphertext under 16 bytes", changed("message", ciphertext="A" * 20), "body.ciphertext"),
    Bad("message", "wrapped key too short", changed("message", recipients__0__key="A" * 63), "body.recipients[0].key"),
    Bad("message", "recipient not a did", changed("message", recipients__0__to="alice"), "body.recipients[0].to"),
]
