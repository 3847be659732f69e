"""Marketplace search and matching (spec section 14.6), for GET /ki/v1/market and /ki/v1/match/{id}.

Search: storage.market does filters, facets, sorts and pages in SQL; this
module parses the query, supplies the judgements SQL cannot make (endorsed
experts, delisted listings), marks each result, and ranks by reputation.
Matching ranks offers for a task or project, or open tasks for a participant,
by the integer score of section 14.6.
"""

import base64
import hashlib
import json
from dataclasses import asdict, replace

from sqlite_utils import Database

from kinode.errors import KinodeError
from kinode.hub import moderation, standing
from kinode.work import reads
from protocol import hubs
from protocol.shapes import SLUG
from storage import hub_objects, market
from storage.derived import signed_from_wire
from storage.errors import InvalidQuery
from storage.search_index import scaled_amount

REPUTATION_WINDOW = 1000   # sort=reputation ranks the most recent this many matches
PARAMS = {"q", "type", "category", "skill", "currency", "min_price", "max_price", "deadline_before", "open",
          "endorsed", "delisted", "sort", "limit", "cursor", "facets"}


class BadMarketQuery(KinodeError):
    code, status = "invalid_query", 400

    def __init__(self, detail: str, code: str = "invalid_query"):
        super().__init__(detail)
        self.code = code


def parse_query(params) -> market.MarketQuery:
    unknown = set(params) - PARAMS
    if unknown:
        raise BadMarketQuery(f"unknown parameters: {', '.join(sorted(unknown))}")
    got = dict(params)
    if "category" in got and not SLUG.ok(got["category"]):
        raise BadMarketQuery("category must be a category slug")
    if got.get("type", "offer") not in ("offer", "project", "task"):
        raise BadMarketQuery("type is offer, project or task")
    if got.get("sort", "recent") not in market.SORTS:
        raise BadMarketQuery(f"sort is one of {', '.join(market.SORTS)}")
    for name, values in (("open", ("true", "false")), ("endorsed", ("true", "false")),
                         ("delisted", ("show", "hide")), ("facets", ("true", "false"))):
        if got.get(name, values[-1] if name != "facets" else "true") not in values:
            raise BadMarketQuery(f"{name} is {' or '.join(values)}")
    prices = {}
    for name in ("min_price", "max_price"):
        if name in got:
            prices[name] = scaled_amount(got[name])
            if prices[name] is None or prices[name] < 0:
                raise BadMarketQuery(f"{name} is a decimal amount such as 80 or 99.50")
    if "deadline_before" in got and not (got["deadline_before"].isascii() and got["deadline_before"].isdigit()):
        raise BadMarketQuery("deadline_before is a Unix time in seconds")
    limit = got.get("limit", "20")
    if not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= market.MAX_LIMIT):
        raise BadMarketQuery(f"limit is 1..{market.MAX_LIMIT}")
    currency = got.get("currency")
    if currency is not None and not (len(currency) == 3 and currency.isascii() and currency.isupper()):
        raise BadMarketQuery("currency is an ISO 4217 code such as EUR")
    query = market.MarketQuery(
        q=got.get("q") or None, type=got.get("type"), category=got.get("category"), skill=got.get("skill"),
        currency=currency, deadline_before=int(got["deadline_before"]) if "deadline_before" in got else None,
        open_only=got.get("open") == "true", endorsed_only=got.get("endorsed") == "true",
        hide_delisted=got.get("delisted") == "hide", sort=got.get("sort", "recent"), limit=int(limit),
        facets=got.get("facets", "true") == "true", **prices)
    if "cursor" in got:
        query = replace(query, offset=_offset(got["cursor"], query))
    return query


def _fingerprint(query: market.MarketQuery) -> str:
    fields = {k: v for k, v in asdict(query).items() if k not in ("offset", "facets", "limit")}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def _cursor(query: market.MarketQuery, offset: int) -> str:
    raw = json.dumps({"o": offset, "f": _fingerprint(query)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _offset(cursor: str, query: market.MarketQuery) -> int:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, fingerprint = value["o"], value["f"]
    except (ValueError, KeyError, TypeError):
        raise BadMarketQuery("the cursor is not one this hub issued", "invalid_cursor") from None
    if fingerprint != _fingerprint(query) or type(offset) is not int or offset < 0:
        raise BadMarketQuery("the cursor belongs to another query", "invalid_cursor")
    return offset


def judgements(db: Database, me: str, now: int, honoured: set[str]) -> tuple[market.Judged, dict]:
    """Endorsed (expert, category) pairs and delisted ids/authors, and the applying label states by kind."""
    endorsed = frozenset((s.endorsement.body["subject"], s.endorsement.body["category"])
                         for s in standing.standings(db, me) if s.counts)
    states = [s for s in moderation.states(db, hub_objects.labels(db), now, honoured) if s.applies]
    ids = frozenset(s.label.body["target"] for s in states if s.label.body.get("scope") == "object")
    authors = frozenset(s.label.body["subject"] for s in states if s.label.body.get("scope") == "author")
    return market.Judged(endorsed, ids, authors), {"states": states}


def search(db: Database, query: market.MarketQuery, me: str, now: int, honoured: set[str]) -> dict:
    judged, labels = judgements(db, me, now, honoured)
    try:
        if query.sort == "reputation":
            page = market.search(db, replace(query, limit=REPUTATION_WINDOW, offset=0), judged, now)
            rows = _by_reputation(db, page.rows, now)[query.offset:query.offset + query.limit]
        else:
            page = market.search(db, query, judged, now)
            rows = page.rows
    except InvalidQuery as error:
        raise BadMarketQuery(error.detail) from None
    results = [_result(row, judged, labels["states"]) for row in rows]
    after = query.offset + len(rows)
    more = after < (min(page.total, REPUTATION_WINDOW) if query.sort == "reputation" else page.total)
    return {"results": results, "total": page.total, "facets": page.facets,
            "next": _cursor(query, after) if more else None}


def _by_reputation(db: Database, rows: list, now: int) -> list:
    ratings: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row[2], row[3])
        if key not in ratings:
            ratings[key] = reads.reputation(db, row[2], now, row[3]).get("rating_milli") or 0
    ranked = sorted(rows, key=lambda r: (-ratings[(r[2], r[3])], -r[4], r[0]))
    return [(*r, ratings[(r[2], r[3])]) for r in ranked]


def _result(row, judged: market.Judged, states: list) -> dict:
    obj = signed_from_wire(row[5])
    delisting = hubs.delisting(obj, states) if (obj.id in judged.delisted_ids
                                                or obj.author in judged.delisted_authors) else []
    answer = {"id": obj.id, "type": obj.type, "author": obj.author, "category": obj.category,
              "created_at": obj.created_at, "endorsed_expert": (obj.author, obj.category) in judged.endorsed,
              "delisted": {"why": [s.why for s in delisting], "labels": [s.label.id for s in delisting]}
              if delisting else None, "object": obj.as_dict()}
    if len(row) > 7:
        answer["reputation"] = row[7]
    return answer


def match(db: Database, object_id: str, me: str, now: int, honoured: set[str]) -> dict | None:
    """Ranked candidates for a task or project (offers), or open tasks for a profile's author."""
    from kinode.hub import matching
    return matching.match(db, object_id, me, now, honoured, judgements)
