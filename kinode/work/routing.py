"""Where an object must go: every participant it concerns, and the hubs of its category.

Routing is a pure reading of what the node holds (spec section 13, routing):

- the participants an object concerns are read from its chain of references:
  the parties and dispute resolver of the contract it belongs to, else the
  coordinator of its project (and a proposal's target author, an approval's
  claimant), plus a `subject`; a `message` concerns its recipients;
- each such participant is reached at the `node` URL of their current
  profile held here; one without a known URL is reported `unreachable`, so
  the owner is told instead of the object silently going nowhere;
- hubs: those serving the object's inherited category; a `message` goes to
  every hub this node uses and to the hubs its recipients list in their
  profiles (their mailboxes), so an offline recipient finds it there.
"""

from dataclasses import dataclass, field

from sqlite_utils import Database

from kinode.policy import HUB_GLOBAL_TYPES
from protocol.envelope import SignedObject
from protocol.lifecycle import refs
from storage import hub_objects, lineage, peers
from storage.deliveries import UNREACHABLE
from storage.derived import signed_from_wire

MESSAGE = "message"
NOWHERE = UNREACHABLE + "nowhere"


@dataclass(frozen=True)
class Hub:
    url: str
    categories: tuple[str, ...] | None  # None: not reached yet, so unknown (send; it will say)


@dataclass(frozen=True)
class Route:
    """An object's destinations as (inbox base URL or @unreachable:DID, name for people)."""

    object_id: str
    category: str | None
    destinations: tuple[tuple[str, str], ...] = ()
    concerned: dict[str, str] = field(default_factory=dict)  # did -> role

    @property
    def reachable(self) -> tuple[tuple[str, str], ...]:
        return tuple(d for d in self.destinations if not d[0].startswith(UNREACHABLE))

    @property
    def unreachable(self) -> tuple[tuple[str, str], ...]:
        return tuple(d for d in self.destinations if d[0].startswith(UNREACHABLE))

    @property
    def unreachable_dids(self) -> list[str]:
        """The participants it concerns whose node is not known here (a profile may still be fetched)."""
        return [url.removeprefix(UNREACHABLE) for url, _ in self.unreachable if url != NOWHERE]

    def as_dict(self) -> dict:
        return {"object": self.object_id, "category": self.category,
                "destinations": [{"to": None if url.startswith(UNREACHABLE) else url, "name": name,
                                  "reachable": not url.startswith(UNREACHABLE)} for url, name in self.destinations]}


def concerned(obj: SignedObject, held: dict[str, SignedObject]) -> dict[str, str]:
    """The participants `obj` concerns (did -> role), its author included."""
    found: dict[str, str] = {}

    def add(did: object, role: str) -> None:
        if isinstance(did, str) and did not in found:
            found[did] = role

    if obj.type == MESSAGE:
        for recipient in obj.body.get("recipients", ()):
            add(recipient.get("to") if isinstance(recipient, dict) else None, "recipient")
        return found
    chain = [obj, *refs.ancestors(obj, held)]
    contract = next((o for o in chain if o.type == "contract"), None)
    if contract is not None:
        for party in contract.body.get("parties", ()):
            add(party.get("did"), party.get("role", "party"))
        add(contract.body.get("dispute_resolver"), "resolver")
        previous = held.get(contract.body.get("supersedes", ""))
        for party in (previous.body.get("parties", ()) if previous else ()):
            add(party.get("did"), party.get("role", "party"))
    project = next((o for o in chain if o.type == "project"), None)
    if project is not None:
        add(project.body.get("coordinator"), "coordinator")
    if obj.type == "proposal":
        target = held.get(obj.body.get("target", ""))
        if target is not None:
            add(target.author, "listing author")
    if obj.type == "approval":
        claim = held.get(obj.body.get("claim", ""))
        if claim is not None:
            add(claim.author, "claimant")
    add(obj.body.get("subject"), "subject")
    add(obj.body.get("resolver"), "resolver")
    return found


def node_url(db: Database, did: str) -> str | None:
    """Where `did` is reached (spec 9.13 step 2): the `node` URL of its current profile held here;
    else the `url` of its current hub announcement (a hub named as resolver has no profile); else
    the URL where this node reached `did` itself as a peer (its /.well-known/kinode said so)."""
    profile = _profile(db, did)
    url = profile.body.get("node") if profile is not None else None
    if not isinstance(url, str):
        announcement = hub_objects.announcement_of(db, did)
        url = announcement.body.get("url") if announcement is not None else None
    if not isinstance(url, str):
        peer = peers.get_peer(db, did)
        url = peer.url if peer is not None else None
    return url.rstrip("/") if isinstance(url, str) else None


def profile_hubs(db: Database, did: str) -> list[str]:
    profile = _profile(db, did)
    hubs = profile.body.get("hubs", ()) if profile is not None else ()
    return [h.rstrip("/") for h in hubs if isinstance(h, str)]


def plan(db: Database, obj: SignedObject, hubs: list[Hub], me: str) -> Route:
    """Every destination of `obj`, published by `me`, given the hubs this node uses."""
    held = lineage.chain(db, obj)
    category = lineage.inherited_category(db, obj)
    people = concerned(obj, held)
    destinations: dict[str, str] = {}
    for did, role in people.items():
        if did == me:
            continue
        url = node_url(db, did)
        if url is None:
            destinations[UNREACHABLE + did] = (f"{role} {short(did)} "
                                               "(no node URL here: no profile, hub announcement or peer gives one)")
        else:
            destinations.setdefault(url, f"{role} {short(did)}")
    for hub in hubs:
        if serves(hub, obj, category):
            destinations.setdefault(hub.url, f"hub {hub.url}")
    if obj.type == MESSAGE:
        for did in people:
            if did != me:
                for url in profile_hubs(db, did):
                    destinations.setdefault(url, f"hub {url} (mailbox of {short(did)})")
    if not destinations:  # said, and kept in the delivery log, so `status` shows it too
        what = f"category {category}" if category else f"{obj.type} objects"
        destinations[NOWHERE] = f"nowhere: no hub this node uses serves {what}, and it concerns nobody else"
    return Route(obj.id, category, tuple(destinations.items()), people)


def serves(hub: Hub, obj: SignedObject, category: str | None) -> bool:
    """Whether a hub takes `obj`: a message (mailbox) or a global type always; else by inherited category."""
    if hub.categories is None or obj.type == MESSAGE or obj.type in HUB_GLOBAL_TYPES:
        return True
    return category in hub.categories if category is not None else refs.is_lifecycle(obj)


def known_hubs(db: Database) -> list[Hub]:
    """The hubs this node has reached (from `peers`): what a CLI without a running node knows."""
    return [Hub(p.url.rstrip("/"), tuple(p.categories)) for p in peers.list_peers(db, role="hub")]


def short(did: str) -> str:
    return did if len(did) <= 20 else f"{did[:14]}…{did[-4:]}"


def _profile(db: Database, did: str) -> SignedObject | None:
    row = db.execute("SELECT o.wire FROM current_versions c JOIN objects o ON o.id = c.object_id "
                     "WHERE c.type = 'profile' AND c.author = ?", [did]).fetchone()
    return signed_from_wire(row[0]) if row else None
