"""The hub's judgements read from storage (spec 14.2, 14.4) are a function of the set of objects held:
any order and any subset of deliveries gives what the pure rules give over that subset. And
hub.toml parsing refuses each mistake with its key."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinode.hub import config as hub_config
from kinode.hub import moderation, standing
from protocol import hubs
from protocol.envelope import sign
from protocol.identity import Identity
from storage.store import Store

T = 1767225600
HUB, OTHER, LEADER, OUTSIDER, EXPERT = (Identity(bytes([n]) * 32) for n in (71, 72, 73, 74, 75))


def _objects():
    first = sign(HUB, "hub", {"url": "https://a.example/", "name": "A", "categories": ["web"]}, T)
    later = sign(HUB, "hub", {"url": "https://a.example/", "name": "A", "categories": ["web"],
                              "leaders": [LEADER.did]}, T + 10)
    endorsements = [sign(who, "endorsement", {"subject": EXPERT.did, "category": "web", "level": "expert"}, T + n)
                    for n, who in enumerate((HUB, LEADER, OUTSIDER), start=1)]
    revoke = sign(HUB, "retract", {"target": endorsements[0].id}, T + 20)
    listing = sign(EXPERT, "offer", {"category": "web", "title": "Site", "description": "A site.",
                                     "price": {"amount": "10", "currency": "EUR"}, "unit": "hour"}, T)
    label = sign(HUB, "label", {"scope": "object", "target": listing.id, "reason": "spam", "expires": T + 50}, T + 2)
    foreign = sign(OTHER, "label", {"scope": "author", "subject": EXPERT.did, "reason": "fraud",
                                    "expires": T + 500}, T + 2)
    lift = sign(HUB, "retract", {"target": label.id}, T + 30)
    answer = sign(EXPERT, "response", {"label": label.id, "text": "It is not spam."}, T + 3)
    return [first, later, *endorsements, revoke, listing, label, foreign, lift, answer]


OBJECTS = _objects()


def expected(held: list, now: int) -> tuple[dict, dict]:
    """The pure rules over the held set: standing per endorsement, applying labels per object."""
    ids = {o.id for o in held}
    retracted = {o.body["target"]: o.id for o in held if o.type == "retract"}
    announcements = {}
    for a in sorted((o for o in held if o.type == "hub"), key=lambda o: (o.created_at, o.id)):
        announcements[a.author] = a
    counts = {e.id: hubs.standing(e, announcements.values(), {HUB.did}, retracted.get(e.id)).counts
              for e in held if e.type == "endorsement"}
    labels = [l for l in held if l.type == "label" and l.id not in retracted]
    listing = next((o for o in held if o.type == "offer"), None)
    states = [hubs.label_state(l, now, {HUB.did}, [o for o in held if o.type == "response"],
                               {o.id: o for o in held}) for l in labels]
    delisted = {listing.id: bool(hubs.delisting(listing, states))} if listing is not None and listing.id in ids else {}
    return counts, delisted


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(OBJECTS), st.data(), st.sampled_from([T + 40, T + 60]))
def test_standing_and_delisting_from_storage_equal_the_rules_over_any_subset_in_any_order(order, data, now):
    held = order[:data.draw(st.integers(0, len(order)))]
    store = Store()
    try:
        for obj in held:  # one at a time: every arrival order the permutation gives
            store.ingest_sync([obj.wire], now)
        got = {s.endorsement.id: s.counts for s in store.read_sync(standing.standings, HUB.did)}
        listing = [o for o in held if o.type == "offer"]
        delisted = {o.id: bool(d) for o in listing
                    for d in [store.read_sync(moderation.moderation_of, [o], now, {HUB.did}).get(o.id)]}
        marks = store.read_sync(moderation.marks, listing, now, {HUB.did})  # what search and the log carry
    finally:
        store.close()
    want_counts, want_delisted = expected(held, now)
    assert got == want_counts
    assert delisted == want_delisted
    assert marks == expected_marks(held, now)


def expected_marks(held: list, now: int) -> dict:
    """The marks (spec 9.5) the pure rules give the held listing: its applying labels, oldest first."""
    retracted = {o.body["target"] for o in held if o.type == "retract"}
    labels = sorted((l for l in held if l.type == "label" and l.id not in retracted), key=lambda l: (l.created_at, l.id))
    states = [hubs.label_state(l, now, {HUB.did}, [o for o in held if o.type == "response"],
                               {o.id: o for o in held}) for l in labels]
    return {o.id: [moderation.mark(s) for s in hubs.delisting(o, states)]
            for o in held if o.type == "offer" and hubs.delisting(o, states)}


@pytest.mark.parametrize("text, key", [
    ("fee_bps = -1", "fee_bps"), ("leaders = ['alice']", "leaders"), ("colour = 'red'", "colour"),
    ("[categories.Web]\ntitle = 'x'", "categories.Web"), ("[categories.web]\nparent = 'web'", "categories.web"),
    ("[moderation]\nhonour = ['x']", "moderation.honour"), ("name = ", "not TOML"),
])
def test_a_bad_hub_toml_names_what_is_wrong(tmp_path, text, key):
    path = tmp_path / "hub.toml"
    path.write_text(text)
    with pytest.raises(hub_config.BadHubConfig) as refused:
        hub_config.load(path)
    assert key in refused.value.detail and refused.value.code == "bad_config"


def test_hub_toml_and_flags_make_the_announcement(tmp_path):
    path = tmp_path / "hub.toml"
    path.write_text(f'name = "Web"\nfee_bps = 250\nleaders = ["{LEADER.did}"]\npeers = ["http://127.0.0.1:1"]\n'
                    '[moderation]\npolicy = "Be kind."\n[categories.web]\ntitle = "Web design"\nparent = "design"\n')
    config = hub_config.load(path).with_flags(["seo", "web"], ["http://127.0.0.1:2"])
    assert config.slugs == ("web", "seo") and config.peers == ("http://127.0.0.1:1", "http://127.0.0.1:2")
    assert config.announcement("http://h.example") == {
        "url": "http://h.example", "name": "Web", "categories": ["web", "seo"], "policy": "Be kind.",
        "leaders": [LEADER.did], "fee_bps": 250}
    assert config.categories[0].body() == {"slug": "web", "name": "Web design", "parent": "design"}
    assert hub_config.load(tmp_path / "absent.toml", required=False).categories == ()
