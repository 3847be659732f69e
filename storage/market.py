"""Marketplace search over the search index (spec section 14.6): filters, facets, sorts, pages.

Reads `search_listing` (price in thousandths, currency, deadline, contracted),
`search_fts` (text, BM25), `market_skills` and `objects`. Listings are offers,
projects and tasks. The caller passes what needs judgement beyond SQL: the
(author, category) pairs of endorsed experts and the delisted ids and
authors (kinode.hub.market computes them from protocol.hubs).
"""

from dataclasses import dataclass, field

from sqlite_utils import Database

from storage.errors import InvalidQuery
from storage.market_index import skill_key
from storage.search_index import PRICE_SCALE
from storage.search_text import parse_terms, text_match

SORTS = ("relevance", "recent", "price", "reputation")
# Price bands in whole currency units, [low, high): the `price` facet counts listings per currency and band.
BANDS = ((0, 50), (50, 100), (100, 500), (500, 1000), (1000, 5000), (5000, None))
MAX_LIMIT = 100
FACET_SKILLS = 50  # the skill facet lists the most frequent skills only


@dataclass(frozen=True)
class MarketQuery:
    q: str | None = None
    type: str | None = None
    category: str | None = None
    skill: str | None = None
    currency: str | None = None
    min_price: int | None = None     # thousandths, as search_listing.price
    max_price: int | None = None
    deadline_before: int | None = None
    open_only: bool = False
    endorsed_only: bool = False
    hide_delisted: bool = False
    sort: str = "recent"
    limit: int = 20
    offset: int = 0
    facets: bool = True


@dataclass(frozen=True)
class Judged:
    """What SQL cannot decide: endorsed (author, category) pairs; delisted ids and authors."""

    endorsed: frozenset[tuple[str, str]] = frozenset()
    delisted_ids: frozenset[str] = frozenset()
    delisted_authors: frozenset[str] = frozenset()


@dataclass
class Page:
    rows: list[tuple] = field(default_factory=list)   # (id, type, author, category, created_at, wire, rank)
    total: int = 0
    facets: dict = field(default_factory=dict)


def band_sql() -> str:
    cases = " ".join(f"WHEN l.price < {high * PRICE_SCALE} THEN '{low}-{high}'" for low, high in BANDS if high)
    return f"l.currency || ':' || CASE {cases} ELSE '{BANDS[-1][0]}+' END"


def band_of(price: int) -> str:
    for low, high in BANDS:
        if high is None or price < high * PRICE_SCALE:
            return f"{low}-{high}" if high else f"{low}+"
    raise AssertionError("unreachable")


def _where(query: MarketQuery, judged: Judged, now: int) -> tuple[str, list, str, list, str]:
    """(FROM ... WHERE ..., params, CTE prefix, its params, the FROM part alone)."""
    joins, where, params, cte, cte_params = [], ["o.type IN ('offer', 'project', 'task')"], [], "", []
    if query.q:
        terms = parse_terms(query.q)
        joins.append("JOIN (SELECT rowid AS key, bm25(search_fts) AS rank FROM search_fts WHERE search_fts MATCH ?) f "
                     "ON f.key = l.key")
        params.append(text_match(terms))
    for column, value in (("o.type", query.type), ("o.category", query.category), ("l.currency", query.currency)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if query.skill is not None:
        where.append("EXISTS (SELECT 1 FROM market_skills s WHERE s.skill = ? AND s.seq = l.seq)")
        params.append(skill_key(query.skill))
    if query.min_price is not None:
        where.append("l.price >= ?")
        params.append(query.min_price)
    if query.max_price is not None:
        where.append("l.price <= ?")
        params.append(query.max_price)
    if query.deadline_before is not None:
        where.append("l.deadline < ?")
        params.append(query.deadline_before)
    if query.open_only:
        where.append("o.type IN ('project', 'task') AND l.contracted = 0 AND l.deadline > ?")
        params.append(now)
    if query.endorsed_only:
        pairs = sorted(judged.endorsed)
        if not pairs:
            where.append("0")
        else:
            cte = "WITH endorsed(author, category) AS (VALUES " + ", ".join("(?, ?)" for _ in pairs) + ") "
            cte_params = [v for pair in pairs for v in pair]
            where.append("EXISTS (SELECT 1 FROM endorsed e WHERE e.author = o.author AND e.category = o.category)")
    if query.hide_delisted:
        for column, values in (("o.id", judged.delisted_ids), ("o.author", judged.delisted_authors)):
            if values:
                where.append(f"{column} NOT IN ({', '.join('?' * len(values))})")
                params.extend(sorted(values))
    from_ = f"FROM search_listing l JOIN objects o ON o.seq = l.seq {' '.join(joins)}"
    return f"{from_} WHERE {' AND '.join(where)}", params, cte, cte_params, from_


def search(db: Database, query: MarketQuery, judged: Judged, now: int) -> Page:
    if query.sort == "relevance" and not query.q:
        raise InvalidQuery("sort=relevance needs q (the words to rank by)")
    body, params, cte, cte_params, from_ = _where(query, judged, now)
    rank = "f.rank" if query.q else "0"
    order = {"relevance": "f.rank, l.key DESC", "recent": "l.key DESC",
             "price": "l.currency, l.price, l.key DESC", "reputation": "l.key DESC"}[query.sort]
    rows = db.execute(f"{cte}SELECT o.id, o.type, o.author, o.category, o.created_at, o.wire, {rank} {body} "
                      f"ORDER BY {order} LIMIT ? OFFSET ?",
                      [*cte_params, *params, query.limit, query.offset]).fetchall()
    page = Page(rows=rows)
    page.total = db.execute(f"{cte}SELECT count(*) {body}", [*cte_params, *params]).fetchone()[0]
    if query.facets:
        page.facets = facets(db, body, from_, params, cte, cte_params)
    return page


def facets(db: Database, body: str, from_: str, params: list, cte: str = "", cte_params: list = ()) -> dict:
    """Counts over the whole filtered set: per category, per skill (the most frequent), per currency and price band."""
    every = [*cte_params, *params]
    category = db.execute(f"{cte}SELECT o.category, count(*) {body} GROUP BY o.category ORDER BY o.category",
                          every).fetchall()
    where = body[len(from_) + len(" WHERE "):]
    skills = db.execute(f"{cte}SELECT s.skill, count(*) {from_} JOIN market_skills s ON s.seq = l.seq WHERE {where} "
                        f"GROUP BY s.skill ORDER BY count(*) DESC, s.skill LIMIT {FACET_SKILLS}", every).fetchall()
    price = db.execute(f"{cte}SELECT {band_sql()}, count(*) {body} AND l.price IS NOT NULL "
                       "GROUP BY 1 ORDER BY 1", every).fetchall()
    return {"category": dict(category), "skill": dict(skills), "price": dict(price)}

