"""Full-text search: text fields, filters, orders, keyset pages, open-only rules, rebuild."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.envelope import sign
from storage.errors import InvalidCursor, InvalidQuery, StorageError
from storage.search import MATCH_END, MATCH_START, SearchQuery, search
from tests.storage.storage_factory import T0, identity

NOW = T0 + 1_000
DAY = 86_400
ANN, BOB, CAT = identity("ann"), identity("bob"), identity("cat")


def offer(who, title, at=T0, *, description="Careful work.", category="web-design",
          amount="500.00", currency="EUR", skills=None):
    body = {"category": category, "title": title, "description": description,
            "price": {"amount": amount, "currency": currency}, "unit": "fixed"}
    if skills is not None:
        body["skills"] = skills
    return sign(who, "offer", body, at)


def project(who, title, at=T0, *, deadline=T0 + 30 * DAY, amount="2000.00", currency="EUR",
            category="web-design", description="A project.", coordinator=None):
    return sign(who, "project", {
        "category": category, "title": title, "description": description,
        "budget": {"amount": amount, "currency": currency}, "deadline": deadline,
        "coordinator": (coordinator or who).did}, at)


def task(who, project_id, title, at=T0, *, deadline=T0 + 2 * DAY, amount="300.00"):
    return sign(who, "task", {
        "project": project_id, "category": "web-design", "title": title, "description": "A task.",
        "budget": {"amount": amount, "currency": "EUR"}, "deadline": deadline, "depends_on": [],
        "claim_lease": 3600}, at)


def profile(who, name, at=T0, *, bio="", skills=(), categories=()):
    return sign(who, "profile", {"name": name, "bio": bio, "skills": list(skills),
                                 "categories": list(categories)}, at)


def contract(who, other, scope, at=T0 + 100):
    price = {"amount": "100.00", "currency": "EUR"}
    return sign(who, "contract", {
        "parties": [{"did": who.did, "role": "client"}, {"did": other.did, "role": "supplier"}],
        "scope": scope, "terms": "As agreed.", "price": price,
        "milestones": [{"key": "all", "title": "Everything", "amount": price, "due": at + DAY}],
        "deadline": at + 2 * DAY, "dispute_resolver": other.did}, at)


def retract(who, target, at=T0 + 200):
    return sign(who, "retract", {"target": target}, at)


def put(store, *objs, now=NOW):
    """Deliver objects; a lifecycle object whose context is not held yet may wait ("pending")."""
    results = store.ingest_sync([o.as_dict() for o in objs], now)
    assert all(r.status == "accepted" or (r.status == "pending" and o.type not in ("project", "offer"))
               for r, o in zip(results, objs)), results


def find(store, now=NOW, **fields):
    return store.read_sync(search, SearchQuery(**fields), now)


def ids(store, now=NOW, **fields):
    return [hit.id for hit in find(store, now, **fields).results]


def all_pages(store, now=NOW, between=lambda: None, **fields):
    seen, cursor = [], None
    while True:
        page = find(store, now, cursor=cursor, **fields)
        seen += [hit.id for hit in page.results]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor
        between()


def test_text_matches_every_listing_field(store):
    by_title = offer(ANN, "Logo design", description="Vector marks.")
    by_description = offer(BOB, "Branding", description="Includes a logo.")
    by_skill = offer(CAT, "Identity work", skills=["logo", "typography"])
    by_category = offer(ANN, "Marks", T0 + 1, category="logo-making")
    unrelated = offer(BOB, "Bookkeeping", T0 + 2, category="accounting")
    put(store, by_title, by_description, by_skill, by_category, unrelated)
    assert set(ids(store, q="logo")) == {by_title.id, by_description.id, by_skill.id, by_category.id}


def test_profile_fields_are_name_bio_skills_and_categories(store):
    by_name, by_bio = profile(ANN, "Rust Ann"), profile(BOB, "Bob", bio="I write rust daily.")
    by_skill = profile(CAT, "Cat", skills=["rust"])
    put(store, by_name, by_bio, by_skill)
    assert set(ids(store, q="rust", type="profile")) == {by_name.id, by_bio.id, by_skill.id}
    assert ids(store, category="systems") == []
    dee = identity("dee")
    by_category = profile(dee, "Dee", categories=["systems", "rust"])
    put(store, by_category)
    assert ids(store, category="systems") == [by_category.id]
    assert by_category.id in ids(store, q="rust")


def test_words_are_anded_phrases_are_adjacent_and_prefixes_expand(store):
    a = offer(ANN, "Responsive web design", T0, category="graphics")
    b = offer(BOB, "Design for the web", T0 + 1, category="graphics")
    put(store, a, b)
    assert set(ids(store, q="web design")) == {a.id, b.id}
    assert ids(store, q='"web design"') == [a.id]
    assert ids(store, q="respons*") == [a.id]
    assert ids(store, q="web zebra") == []
    assert set(ids(store, q="DÉSIGN")) == {a.id, b.id}  # case and diacritics fold like the index


def test_filters_type_category_author(store):
    o = offer(ANN, "Site audit", category="web-design")
    p = project(BOB, "Site rebuild", category="web-design")
    t = task(BOB, p.id, "Site map")
    other = offer(CAT, "Site photos", category="photography")
    put(store, o, p, t, other)
    assert set(ids(store, q="site", type="project")) == {p.id}
    assert set(ids(store, q="site", type="task")) == {t.id}
    assert set(ids(store, q="site", category="photography")) == {other.id}
    assert set(ids(store, q="site", author=BOB.did)) == {p.id, t.id}
    assert set(ids(store, author=BOB.did, type="task")) == {t.id}
    assert set(ids(store)) == {o.id, p.id, t.id, other.id}


def test_price_range_within_one_currency(store):
    cheap = offer(ANN, "Cheap", amount="50", currency="EUR")
    mid = offer(BOB, "Mid", amount="500.50", currency="EUR")
    dear_project = project(CAT, "Dear", amount="5000.00", currency="EUR")
    dollars = offer(ANN, "Dollars", T0 + 1, amount="500.50", currency="USD")
    put(store, cheap, mid, dear_project, dollars)
    assert set(ids(store, currency="EUR", min_price="100", max_price="1000")) == {mid.id}
    assert set(ids(store, currency="EUR", min_price="500.50")) == {mid.id, dear_project.id}
    assert set(ids(store, currency="EUR", max_price="500.499")) == {cheap.id}
    assert set(ids(store, currency="USD")) == {dollars.id}
    assert set(ids(store, currency="EUR", min_price=5000)) == {dear_project.id}


def test_created_range_bounds_are_exclusive(store):
    objs = [offer(ANN, f"Item {i}", T0 + i) for i in range(5)]
    put(store, *objs)
    got = ids(store, q="item", created_after=T0 + 1, created_before=T0 + 4)
    assert got == [objs[3].id, objs[2].id]
    assert ids(store, created_after=T0 + 3) == [objs[4].id]


def test_recency_order_ignores_arrival_order_and_breaks_ties_by_id(store):
    objs = [offer(ANN, f"Logo {i}", T0 + i % 3) for i in range(9)]
    shuffled = objs[:]
    random.Random(7).shuffle(shuffled)
    put(store, *shuffled)
    expected = [o.id for o in sorted(objs, key=lambda o: (o.created_at, o.id), reverse=True)]
    assert ids(store, q="logo", limit=100) == expected
    assert all_pages(store, q="logo", limit=2) == expected


def test_relevance_prefers_title_hits_and_scores_descend(store):
    in_title = offer(ANN, "Logo logo design", T0)
    in_text = offer(BOB, "Branding", T0 + 5, description="We also do a logo, among many other things.")
    put(store, in_text, in_title)
    page = find(store, q="logo", order="relevance")
    assert [h.id for h in page.results] == [in_title.id, in_text.id]
    assert page.results[0].score > page.results[1].score > 0
    assert [h.id for h in find(store, q="logo").results] == [in_text.id, in_title.id]


def test_relevance_ties_break_by_recency(store):
    objs = [offer(ANN, "Logo", T0 + i) for i in range(4)]
    put(store, *objs)
    assert ids(store, q="logo", order="relevance") == [o.id for o in reversed(objs)]


@pytest.mark.parametrize("order", ["recent", "relevance"])
def test_pages_cover_every_hit_once_while_objects_arrive(store, order):
    rng = random.Random(11)
    words = ["logo", "vector", "print", "brand", "type"]
    originals = [offer(ANN, " ".join(rng.choices(words, k=3)) + " logo", T0 + rng.randrange(50),
                       description=" ".join(rng.choices(words, k=rng.randrange(1, 9))))
                 for _ in range(40)]
    put(store, *originals)
    arrivals = iter(range(1000))

    def between():  # newer and backdated listings land between pages
        n = next(arrivals)
        put(store, offer(BOB, f"logo extra {n}", T0 + rng.randrange(-20, 80)),
            offer(CAT, f"logo logo logo {n}", T0 + 60 + n))

    seen = all_pages(store, between=between, q="logo", order=order, limit=3)
    assert len(seen) == len(set(seen))
    assert {o.id for o in originals} <= set(seen)


def test_relevance_window_ranks_only_the_most_recent_matches(store):
    objs = [offer(ANN, "Logo", T0 + i) for i in range(6)]
    put(store, *objs)
    page = store.read_sync(lambda db: search(db, SearchQuery(q="logo", order="relevance", limit=2), NOW,
                                             relevance_window=4))
    seen = [h.id for h in page.results]
    page = store.read_sync(lambda db: search(db, SearchQuery(q="logo", order="relevance", limit=2,
                                                             cursor=page.next_cursor), NOW))
    seen += [h.id for h in page.results]
    assert page.next_cursor is None
    assert seen == [o.id for o in reversed(objs[2:])]


def test_retract_hides_and_retracting_the_contract_reopens(store):
    o, p = offer(ANN, "Logo"), project(BOB, "Logo rework")
    put(store, o, p)
    put(store, retract(ANN, o.id))
    assert ids(store, q="logo", open_only=False) == [p.id]
    c = contract(BOB, CAT, [p.id])
    put(store, c)
    assert ids(store, q="logo") == []
    put(store, retract(BOB, c.id, T0 + 300))
    assert ids(store, q="logo") == [p.id]


@pytest.mark.parametrize("contract_first", [False, True])
def test_contract_takes_listing_whichever_arrives_first(store, contract_first):
    p = project(ANN, "Logo rework")
    c = contract(ANN, BOB, [p.id])
    put(store, *([c, p] if contract_first else [p, c]))
    assert ids(store, q="logo") == []
    assert ids(store, q="logo", open_only=False) == [p.id]


def test_expiry_follows_the_clock_parameter(store):
    p = project(ANN, "Logo rework", deadline=T0 + 5 * DAY)
    t = task(ANN, p.id, "Logo sketch", deadline=T0 + 2 * DAY)
    o = offer(BOB, "Logo offer")
    put(store, p, t, o)
    assert set(ids(store, now=T0 + 2 * DAY - 1, q="logo")) == {p.id, t.id, o.id}
    assert set(ids(store, now=T0 + 2 * DAY, q="logo")) == {p.id, o.id}
    assert set(ids(store, now=T0 + 9 * DAY, q="logo")) == {o.id}
    assert set(ids(store, now=T0 + 9 * DAY, q="logo", open_only=False)) == {p.id, t.id, o.id}


def test_only_the_current_profile_is_indexed(store):
    v1, v2 = profile(ANN, "Ann Painter", T0), profile(ANN, "Ann Sculptor", T0 + 10)
    put(store, v1)
    put(store, v2)
    assert ids(store, type="profile") == [v2.id]
    assert ids(store, q="painter") == []
    late_old = profile(ANN, "Ann Potter", T0 + 5)
    put(store, late_old)
    assert ids(store, type="profile") == [v2.id]
    put(store, retract(ANN, v2.id, T0 + 20))  # the newest visible older version takes over
    assert ids(store, type="profile") == [late_old.id]
    assert find(store, type="profile").results[0].title == "Ann Potter"


def test_profile_ties_go_to_the_lowest_id(store):
    a, b = profile(ANN, "Ann One", T0), profile(ANN, "Ann Two", T0)
    put(store, max(a, b, key=lambda o: o.id))
    put(store, min(a, b, key=lambda o: o.id))
    assert ids(store, type="profile") == [min(a.id, b.id)]


@pytest.mark.parametrize("q, found", [
    ("logo OR zebra", False), ("NOT logo", False), ("title:logo", False), ("{tags}: toffer", False),
    ("toffer", False), ('"unbalanced logo', False), ("NEAR(logo zebra)", False), ("logo AND", False),
    ("logo;DROP TABLE objects", False), ("logo*)", True), ("^logo", True), ("(logo", True),
    ("- logo", True), ('"" logo', True), ("logo design", True),
])
def test_query_syntax_in_user_text_is_plain_words(store, q, found):
    o = offer(ANN, "Logo design")
    put(store, o)
    assert ids(store, q=q) == ([o.id] if found else [])
    assert ids(store, q=q, order="relevance") == ([o.id] if found else [])
    assert ids(store, q="logo") == [o.id]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_any_text_either_searches_or_is_refused_with_a_code(q):
    from storage.store import Store
    s = Store()
    try:
        put(s, offer(ANN, "Logo design"))
        try:
            find(s, q=q, order="relevance")
            find(s, q=q)
        except InvalidQuery as error:
            assert error.code == "invalid_query" and error.detail
    finally:
        s.close()


@pytest.mark.parametrize("fields, code", [
    ({"limit": 0}, "invalid_query"), ({"limit": 101}, "invalid_query"), ({"limit": "5"}, "invalid_query"),
    ({"min_price": "10"}, "invalid_query"), ({"currency": "EUR", "min_price": "ten"}, "invalid_query"),
    ({"currency": "EUR", "min_price": "9", "max_price": "1"}, "invalid_query"),
    ({"type": "contract"}, "invalid_query"), ({"order": "random"}, "invalid_query"),
    ({"q": "a*"}, "invalid_query"), ({"q": "!!! ???"}, "invalid_query"), ({"q": "x" * 300}, "invalid_query"),
    ({"created_after": "yesterday"}, "invalid_query"), ({"open_only": "yes"}, "invalid_query"),
    ({"cursor": "not a cursor"}, "invalid_cursor"), ({"cursor": "W10"}, "invalid_cursor"),
    ({"cursor": ""}, "invalid_cursor"),
])
def test_bad_input_has_a_code_and_a_sentence(store, fields, code):
    with pytest.raises(StorageError) as caught:
        find(store, **fields)
    assert caught.value.code == code and len(caught.value.detail) > 10


def test_a_cursor_only_continues_its_own_query(store):
    put(store, *[offer(ANN, f"Logo {i}", T0 + i) for i in range(3)])
    cursor = find(store, q="logo", limit=1).next_cursor
    with pytest.raises(InvalidCursor):
        find(store, q="logo", category="other", limit=1, cursor=cursor)
    with pytest.raises(InvalidCursor):
        find(store, q="logo", order="relevance", limit=1, cursor=cursor)
    assert len(find(store, q="logo", limit=2, cursor=cursor).results) == 2  # limit may change


def test_snippets_mark_matches(store):
    put(store, offer(ANN, "Branding", description="We draw a logo and a letterhead."))
    hit = find(store, q="logo").results[0]
    assert f"{MATCH_START}logo{MATCH_END}" in hit.snippet
    assert hit.title == "Branding" and hit.author == ANN.did and hit.type == "offer"


def test_rebuild_gives_identical_results(store):
    rng = random.Random(3)
    p = project(BOB, "Logo rework", deadline=T0 + 3 * DAY)
    objs = [p, offer(ANN, "Logo", T0 + 1), offer(CAT, "Vector logo", T0 + 1), profile(ANN, "Ann logo"),
            profile(ANN, "Ann newer logo", T0 + 50), task(BOB, p.id, "Logo sketch", T0 + 2)]
    objs += [offer(rng.choice([ANN, BOB, CAT]), f"logo {rng.choice(['print', 'web', 'brand'])}",
                   T0 + rng.randrange(100), amount=str(rng.randrange(10, 900))) for _ in range(30)]
    put(store, *objs)
    put(store, retract(ANN, objs[1].id), contract(BOB, CAT, [objs[2].id]),
        retract(ANN, objs[4].id, T0 + 300))
    queries = [dict(q="logo", limit=4), dict(q="logo", order="relevance", limit=4),
               dict(q="logo", open_only=False), dict(currency="EUR", min_price="100", max_price="600"),
               dict(type="profile"), dict(q="logo", created_after=T0 + 20, author=ANN.did)]
    before = [[find(store, now, **q).results for q in queries] for now in (NOW, T0 + 4 * DAY)]
    before_pages = [all_pages(store, **q) for q in queries]
    store.rebuild_sync(["search"])
    assert [[find(store, now, **q).results for q in queries] for now in (NOW, T0 + 4 * DAY)] == before
    store.rebuild_sync()
    assert [all_pages(store, **q) for q in queries] == before_pages
