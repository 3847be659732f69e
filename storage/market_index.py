"""The marketplace skills index (spec section 14.6): one row per (listing, skill), a derived table.

The full-text index (`search_listing`, `search_fts`) already holds each
listing's price, currency, deadline and contracted flag; skills are there
only as words, so facets and matching per exact skill need this table.
Skills are compared case-folded (`"HTML"` and `"html"` are one skill).
Retracted listings leave it; it is rebuilt from the objects alone.
"""

from typing import Sequence

from sqlite_utils import Database

from protocol.envelope import SignedObject
from storage.derived import Derived, register, select_in

LISTING_TYPES = ("offer", "project", "task")


def skill_key(skill: str) -> str:
    return skill.strip().casefold()


def create(db: Database) -> None:
    db.execute("""CREATE TABLE IF NOT EXISTS market_skills (
        skill TEXT NOT NULL,
        seq INTEGER NOT NULL,      -- objects.seq of the listing
        PRIMARY KEY (skill, seq)) WITHOUT ROWID""")
    db.execute("CREATE INDEX IF NOT EXISTS market_skills_by_seq ON market_skills(seq)")


def _rows(db: Database, objs: Sequence[SignedObject]) -> list[tuple[str, int]]:
    listings = [o for o in objs if o.type in LISTING_TYPES and isinstance(o.body.get("skills"), list)]
    if not listings:
        return []
    seqs = dict(select_in(db.conn, "SELECT id, seq FROM objects WHERE id IN ({})", [o.id for o in listings]))
    return [(skill_key(s), seqs[o.id]) for o in listings if o.id in seqs
            for s in dict.fromkeys(o.body["skills"]) if isinstance(s, str) and skill_key(s)]


def apply(db: Database, obj: SignedObject, hidden: bool) -> None:
    if not hidden:
        apply_many(db, [obj])


def apply_many(db: Database, objs: Sequence[SignedObject]) -> None:
    rows = _rows(db, objs)
    if rows:
        db.conn.executemany("INSERT OR IGNORE INTO market_skills(skill, seq) VALUES (?, ?)", rows)


def hide(db: Database, object_id: str) -> None:
    db.execute("DELETE FROM market_skills WHERE seq = (SELECT seq FROM objects WHERE id = ?)", [object_id])


def drop(db: Database) -> None:
    db.execute("DROP TABLE IF EXISTS market_skills")


MARKET_SKILLS = register(Derived("market_skills", create, apply, hide, drop, apply_many=apply_many))
