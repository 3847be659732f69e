"""Full-text search over listings: offers, projects, tasks and profiles.

    page = search(db, SearchQuery(q="logo vector", category="graphic-design"), now)
    for hit in page.results: ...                 # SearchHit(id, type, author, ...)
    more = search(db, SearchQuery(q="logo vector", category="graphic-design",
                                  cursor=page.next_cursor), now)

Text is matched in title, description, skills and category (profiles: name,
bio, skills, categories); `storage.search_text` defines the query language.

Filters: type, category, author, currency, a price range in that currency
(offers' price, projects' and tasks' budget; compared in thousandths),
created_after < created_at < created_before, and `open_only` (default),
which leaves out:

- projects and tasks whose deadline is not after `now`;
- projects and tasks taken by a contract: a visible contract whose
  `body.scope` names the listing and whose author is the listing's author
  (a contract by anyone else, even one naming that author, does not), and an
  offer is never taken: it can be sold many times.
  Contract and listing may arrive in either order; a retracted contract
  releases the listing (`storage.search_scope`).

Retracted listings are never found, open or not.

Orders:

- "recent": created_at descending, ties by id descending. Pages are keyset
  pages: each hit that matches throughout appears exactly once even while
  objects arrive between pages (newer arrivals are not in later pages).
- "relevance": BM25 (`storage.search_text.Scorer`), ties by recency. Only the
  `relevance_window` most recent matches (default `RELEVANCE_WINDOW`) are
  ranked, so a query on a word in half a million listings costs the same as
  one on a rare word; for a common word that means *the best of the most
  recent N matches*, and older matches are not returned at all in this order
  (narrow the query or use "recent" to reach them). Term rarity is measured
  by counting at most `DF_CAP` matches. The first page freezes the window
  and the statistics in the cursor, so later pages continue the same ranking.
  With no text, relevance order is recency order.

Bad input raises `InvalidQuery` or `InvalidCursor` (storage.errors); no
SQLite error escapes for anything a user typed.
"""

import heapq
from dataclasses import dataclass
from typing import Literal

from sqlite_utils import Database

from storage import search_cursor
from storage.errors import InvalidQuery
from storage.search_cursor import RecentCursor, RelevanceCursor
from storage.search_index import CONTENT_SQL, LISTING_TYPES, scaled_amount, tag
from storage.search_text import (
    FIELD_SEPARATOR, TEXT_COLUMNS, Scorer, Term, average_lengths, idf, parse_terms, text_match, unpack_lengths,
)

RELEVANCE_WINDOW = 500
DF_CAP = 10_000
MAX_LIMIT = 100
MATCH_START, MATCH_END = "\x02", "\x03"  # around matched words in snippets: escape, then style
_JOINED = f" || char({ord(FIELD_SEPARATOR)}) || ".join(f"ifnull({sql}, '')" for sql in CONTENT_SQL)
_TITLE = "json_extract(CAST(o.wire AS TEXT), CASE o.type WHEN 'profile' THEN '$.body.name' ELSE '$.body.title' END)"


@dataclass(frozen=True)
class SearchQuery:
    q: str = ""
    type: str | None = None
    category: str | None = None
    author: str | None = None
    currency: str | None = None
    min_price: str | None = None
    max_price: str | None = None
    created_after: int | None = None
    created_before: int | None = None
    open_only: bool = True
    order: Literal["recent", "relevance"] = "recent"
    limit: int = 20
    cursor: str | None = None


@dataclass(frozen=True)
class SearchHit:
    id: str
    type: str
    author: str
    created_at: int
    title: str | None
    snippet: str | None = None
    score: float | None = None


@dataclass(frozen=True)
class SearchPage:
    results: list[SearchHit]
    next_cursor: str | None


@dataclass(frozen=True)
class _Plan:
    terms: tuple[Term, ...]
    match: str | None
    where: tuple[str, ...]
    params: tuple
    fingerprint: str


def search(db: Database, query: SearchQuery, now: int, *,
           relevance_window: int = RELEVANCE_WINDOW) -> SearchPage:
    """One page of listings matching `query` at time `now` (Unix seconds)."""
    plan = _plan(query, now)
    position = None
    if query.cursor is not None:
        position = search_cursor.decode(query.cursor, plan.fingerprint, len(plan.terms), len(TEXT_COLUMNS))
    if query.order == "relevance" and plan.terms:
        if isinstance(position, RecentCursor):
            raise InvalidQuery("the cursor is for recency order, not relevance")
        return _relevance(db, plan, query.limit, position, relevance_window)
    if isinstance(position, RelevanceCursor):
        raise InvalidQuery("the cursor is for relevance order, not recency")
    return _recent(db, plan, query.limit, position)


def _recent(db: Database, plan: _Plan, limit: int, position: RecentCursor | None) -> SearchPage:
    key = "search_fts.rowid" if plan.match else "l.key"
    where, params = list(plan.where), list(plan.params)
    if position is not None:
        where.append(f"{key} < ?")
        params.append(position.after_key)
    snippet = f"snippet(search_fts, 1, '{MATCH_START}', '{MATCH_END}', '…', 16)" if plan.terms else "NULL"
    rows = db.execute(
        f"SELECT {key}, o.id, o.type, o.author, o.created_at, {_TITLE}, {snippet} FROM {_source(plan)} "
        f"WHERE {' AND '.join(where) or '1'} ORDER BY {key} DESC LIMIT ?", [*params, limit + 1]).fetchall()
    hits = [SearchHit(*row[1:]) for row in rows[:limit]]
    more = len(rows) > limit
    cursor = search_cursor.encode(plan.fingerprint, RecentCursor(rows[limit - 1][0])) if more else None
    return SearchPage(hits, cursor)


def _relevance(db: Database, plan: _Plan, limit: int, position: RelevanceCursor | None,
               window: int) -> SearchPage:
    where, params = list(plan.where), list(plan.params)
    if position is not None:
        where += ["search_fts.rowid >= ?", "l.seq <= ?"]
        params += [position.floor_key, position.max_seq]
    rows = db.execute(
        f"SELECT search_fts.rowid, l.seq, o.id, o.type, o.author, o.created_at, l.lengths, {_JOINED} "
        f"FROM {_source(plan)} "
        f"WHERE {' AND '.join(where)} ORDER BY search_fts.rowid DESC LIMIT ?",
        [*params, window if position is None else -1]).fetchall()
    lengths = [unpack_lengths(row[6]) for row in rows]
    if position is None:
        max_seq = max((row[1] for row in rows), default=0)
        floor_key = rows[-1][0] if len(rows) >= window else -1
        idfs, avgs = _idfs(db, plan.terms), tuple(average_lengths(lengths))
    else:
        max_seq, floor_key, idfs, avgs = position.max_seq, position.floor_key, position.idfs, position.avg_lengths
    scorer = Scorer(plan.terms, idfs, avgs)
    ranked = ((-scorer.score(row[7], n), -row[0], i)
              for i, (row, n) in enumerate(zip(rows, lengths)))
    if position is not None:
        after = (-position.after_score, -position.after_key)
        ranked = (r for r in ranked if r[:2] > after)
    page = heapq.nsmallest(limit + 1, ranked)
    chosen = [rows[i] for _, _, i in page[:limit]]
    extras = {key: (title, snippet) for key, title, snippet in db.execute(
        f"SELECT search_fts.rowid, {_TITLE}, snippet(search_fts, 1, '{MATCH_START}', '{MATCH_END}', '…', 16) "
        "FROM search_fts JOIN search_listing l ON l.key = search_fts.rowid JOIN objects o ON o.seq = l.seq "
        f"WHERE search_fts MATCH ? AND search_fts.rowid IN ({','.join('?' * len(chosen))})",
        [plan.match, *(row[0] for row in chosen)])}
    hits = [SearchHit(row[2], row[3], row[4], row[5], *extras[row[0]], -neg_score)
            for row, (neg_score, _, _) in zip(chosen, page)]
    cursor = None
    if len(page) > limit:
        last_score, last_key = -page[limit - 1][0], -page[limit - 1][1]
        cursor = search_cursor.encode(plan.fingerprint, RelevanceCursor(
            max_seq, floor_key, tuple(idfs), tuple(avgs), last_score, last_key))
    return SearchPage(hits, cursor)


def _source(plan: _Plan) -> str:
    # CROSS JOIN fixes the loop order: FTS5 walks keys newest first and the join stops at LIMIT.
    if plan.match:
        return ("search_fts CROSS JOIN search_listing l ON l.key = search_fts.rowid "
                "CROSS JOIN objects o ON o.seq = l.seq")
    return "search_listing l CROSS JOIN objects o ON o.seq = l.seq"


def _idfs(db: Database, terms: tuple[Term, ...]) -> tuple[float, ...]:
    total = db.execute("SELECT value FROM search_stats WHERE name = 'listings'").fetchone()[0]
    result = []
    for term in terms:
        df = db.execute("SELECT count(*) FROM (SELECT 1 FROM search_fts WHERE search_fts MATCH ? LIMIT ?)",
                        [text_match([term]), DF_CAP]).fetchone()[0]
        result.append(idf(max(total, df), df))
    return tuple(result)


def _plan(query: SearchQuery, now: int) -> _Plan:
    if not isinstance(query.q, str):
        raise InvalidQuery("q must be text")
    terms = parse_terms(query.q)
    if query.order not in ("recent", "relevance"):
        raise InvalidQuery(f"order must be 'recent' or 'relevance', not {query.order!r}")
    if type(query.limit) is not int or not 1 <= query.limit <= MAX_LIMIT:
        raise InvalidQuery(f"limit must be an integer from 1 to {MAX_LIMIT}")
    if type(query.open_only) is not bool:
        raise InvalidQuery("open_only must be true or false")
    if query.type is not None and query.type not in LISTING_TYPES:
        raise InvalidQuery(f"type must be one of {', '.join(sorted(LISTING_TYPES))}")
    for name in ("category", "author", "currency"):
        value = getattr(query, name)
        if value is not None and not (isinstance(value, str) and 0 < len(value) <= 256):
            raise InvalidQuery(f"{name} must be non-empty text")
    tags = [f'"t{query.type}"'] if query.type else []
    tags += [f'"{tag(kind, value)}"' for kind, value in
             (("c", query.category), ("a", query.author), ("m", query.currency)) if value is not None]
    where: list[str] = []
    params: list = []
    if query.author is not None:
        where.append("o.author = ?")
        params.append(query.author)
    if query.currency is not None:
        where.append("l.currency = ?")
        params.append(query.currency)
    prices = []
    for name, op in (("min_price", ">="), ("max_price", "<=")):
        value = getattr(query, name)
        if value is None:
            prices.append(None)
            continue
        scaled = scaled_amount(value) if isinstance(value, (str, int)) else None
        if scaled is None:
            raise InvalidQuery(f"{name} must be a decimal amount such as \"1500.00\"")
        if query.currency is None:
            raise InvalidQuery("a price range needs a currency")
        where.append(f"l.price {op} ?")
        params.append(scaled)
        prices.append(scaled)
    if None not in prices and prices[0] > prices[1]:
        raise InvalidQuery("min_price is greater than max_price")
    key = "search_fts.rowid" if terms or tags else "l.key"
    for name, op, shift in (("created_after", ">=", 1), ("created_before", "<", 0)):
        value = getattr(query, name)
        if value is None:
            continue
        if type(value) is not int or not 0 <= value < 1 << 32:
            raise InvalidQuery(f"{name} must be a Unix time in seconds")
        where.append(f"{key} {op} ?")
        params.append((value + shift) << 30)
    if query.open_only:
        where.append("l.contracted = 0 AND (l.deadline IS NULL OR l.deadline > ?)")
        params.append(now)
    parts = ([text_match(terms)] if terms else []) + ([f"tags : ({' AND '.join(tags)})"] if tags else [])
    if parts:
        where.insert(0, "search_fts MATCH ?")
        params.insert(0, " AND ".join(parts))
    fingerprint = search_cursor.fingerprint([
        query.q, query.type, query.category, query.author, query.currency, prices,
        query.created_after, query.created_before, query.open_only, query.order])
    return _Plan(terms, " AND ".join(parts) or None, tuple(where), tuple(params), fingerprint)
