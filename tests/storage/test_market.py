"""Marketplace search (spec 14.6): every filter and facet count equals a brute-force pass over the
same random listings, delivered in any order and any subset."""

from decimal import ROUND_FLOOR, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.envelope import sign
from protocol.identity import Identity
from storage import market
from storage.store import Store

T = 1767225600
NOW = T + 1000
PEOPLE = [Identity(bytes([n]) * 32) for n in (61, 62, 63)]
CATEGORIES = ["web-design", "seo", "copywriting"]
SKILLS = ["html", "CSS", "css", "seo", "copy"]
CURRENCIES = ["EUR", "USD"]

listing = st.fixed_dictionaries({
    "type": st.sampled_from(["offer", "project", "task"]), "who": st.integers(0, 2),
    "category": st.sampled_from(CATEGORIES), "skills": st.lists(st.sampled_from(SKILLS), max_size=3, unique=True),
    "amount": st.sampled_from(["0", "49.99", "50", "99.999", "100", "750", "1000", "4999", "5000", "12000.5"]),
    "currency": st.sampled_from(CURRENCIES), "deadline": st.integers(T + 51, T + 2000), "at": st.integers(0, 50)})


def build(spec: dict):
    who = PEOPLE[spec["who"]]
    money = {"amount": spec["amount"], "currency": spec["currency"]}
    if "." in spec["amount"] and len(spec["amount"].split(".")[1]) > 2:
        money["amount"] = spec["amount"][:-1]
    body = {"category": spec["category"], "title": "A listing", "description": "Work.", "skills": spec["skills"]}
    if spec["type"] == "offer":
        body.update(price=money, unit="hour")
    elif spec["type"] == "project":
        body.update(budget=money, deadline=spec["deadline"], coordinator=who.did)
    else:  # a task needs its project (held first, or it waits as pending): one per task, roomy enough
        project = sign(who, "project", {"category": spec["category"], "title": "Parent", "description": "Work.",
                                        "budget": {"amount": "100000", "currency": spec["currency"]},
                                        "deadline": T + 5000, "coordinator": who.did}, T)
        body.update(budget=money, deadline=spec["deadline"], project=project.id, depends_on=[], claim_lease=3600)
        return [project, sign(who, "task", body, T + spec["at"])]
    return [sign(who, spec["type"], body, T + spec["at"])]


query_strategy = st.builds(
    market.MarketQuery, type=st.none() | st.sampled_from(["offer", "project", "task"]),
    category=st.none() | st.sampled_from(CATEGORIES), skill=st.none() | st.sampled_from(["html", "css", "SEO"]),
    currency=st.none() | st.sampled_from(CURRENCIES), min_price=st.none() | st.sampled_from([0, 50_000, 100_000]),
    max_price=st.none() | st.sampled_from([99_999, 1_000_000]), deadline_before=st.none() | st.integers(T, T + 2000),
    open_only=st.booleans(), endorsed_only=st.booleans(), hide_delisted=st.booleans(),
    sort=st.sampled_from(["recent", "price"]), limit=st.just(1000))


def scaled(money: dict) -> int:
    return int((Decimal(money["amount"]) * 1000).to_integral_value(ROUND_FLOOR))


def keep(obj, query: market.MarketQuery, judged: market.Judged) -> bool:
    body = obj.body
    money = body.get("price") or body.get("budget")
    price, deadline = scaled(money), body.get("deadline")
    skills = {s.casefold() for s in body.get("skills", ())}
    return all([
        query.type in (None, obj.type), query.category in (None, obj.category),
        query.currency in (None, money["currency"]), query.skill is None or query.skill.casefold() in skills,
        query.min_price is None or price >= query.min_price, query.max_price is None or price <= query.max_price,
        query.deadline_before is None or (deadline is not None and deadline < query.deadline_before),
        not query.open_only or (obj.type in ("project", "task") and deadline > NOW),
        not query.endorsed_only or (obj.author, obj.category) in judged.endorsed,
        not query.hide_delisted or (obj.id not in judged.delisted_ids and obj.author not in judged.delisted_authors)])


def brute_facets(kept: list) -> dict:
    category, skill, price = {}, {}, {}
    for obj in kept:
        money = obj.body.get("price") or obj.body.get("budget")
        category[obj.category] = category.get(obj.category, 0) + 1
        for s in {s.casefold() for s in obj.body.get("skills", ())}:
            skill[s] = skill.get(s, 0) + 1
        band = f"{money['currency']}:{market.band_of(scaled(money))}"
        price[band] = price.get(band, 0) + 1
    return {"category": category, "skill": skill, "price": price}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(listing, min_size=0, max_size=25), st.data(), st.lists(query_strategy, min_size=1, max_size=4))
def test_filters_and_facets_equal_brute_force_whatever_the_delivery(specs, data, queries):
    objects = list({o.id: o for spec in specs for o in build(spec)}.values())
    delivered = data.draw(st.permutations(objects))
    delivered = delivered[:data.draw(st.integers(0, len(delivered)))]  # a partial delivery, in any order
    judged = market.Judged(
        frozenset(data.draw(st.sets(st.tuples(st.sampled_from([p.did for p in PEOPLE]), st.sampled_from(CATEGORIES))))),
        frozenset(data.draw(st.sets(st.sampled_from([o.id for o in objects] or ["0" * 64])))),
        frozenset(data.draw(st.sets(st.sampled_from([p.did for p in PEOPLE])))))
    store = Store()
    try:
        for batch in (delivered[:len(delivered) // 2], delivered[len(delivered) // 2:]):
            if batch:
                store.ingest_sync([o.wire for o in batch], NOW)
        held = {o.id for o in delivered}
        indexed = [o for o in delivered if o.type != "task" or o.body["project"] in held]  # the rest is pending
        for query in queries:
            page = store.read_sync(market.search, query, judged, NOW)
            kept = [o for o in indexed if keep(o, query, judged)]
            assert page.total == len(kept)
            assert sorted(r[0] for r in page.rows) == sorted(o.id for o in kept)
            assert page.facets == brute_facets(kept)
            if query.sort == "recent":
                assert [r[4] for r in page.rows] == sorted((r[4] for r in page.rows), reverse=True)
    finally:
        store.close()
