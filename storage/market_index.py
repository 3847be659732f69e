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
    # Keyed for "the newest listings of this type and category with this skill" (matching, 14.6):
    # an index range read newest first, whatever the table's size.
    db.execute("""CREATE TABLE IF NOT EXISTS market_skills (
        skill TEXT NOT NULL,
        category TEXT NOT NULL,
        type TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        id TEXT NOT NULL,
        seq INTEGER NOT NULL,      -- objects.seq of the listing
        PRIMARY KEY (skill, category, type, created_at, id)) WITHOUT ROWID""")
    db.execute("CREATE INDEX IF NOT EXISTS market_skills_by_seq ON market_skills(seq)")


def _rows(db: Database, objs: Sequence[SignedObject]) -> list[tuple]:
    listings = [o for o in objs if o.type in LISTING_TYPES and isinstance(o.body.get("skills"), list)
                and isinstance(o.body.get("category"), str)]
    if not listings:
        return []
    seqs = dict(select_in(db.conn, "SELECT id, seq FROM objects WHERE id IN ({})", [o.id for o in listings]))
    return [(skill_key(s), o.body["category"], o.type, o.created_at, o.id, seqs[o.id]) for o in listings if o.id in seqs
            for s in dict.fromkeys(o.body["skills"]) if isinstance(s, str) and skill_key(s)]


def apply(db: Database, obj: SignedObject, hidden: bool) -> None:
    if not hidden:
        apply_many(db, [obj])


def apply_many(db: Database, objs: Sequence[SignedObject]) -> None:
    rows = _rows(db, objs)
    if rows:
        db.conn.executemany("INSERT OR IGNORE INTO market_skills(skill, category, type, created_at, id, seq) "
                            "VALUES (?, ?, ?, ?, ?, ?)", rows)


def hide(db: Database, object_id: str) -> None:
    db.execute("DELETE FROM market_skills WHERE seq = (SELECT seq FROM objects WHERE id = ?)", [object_id])


def drop(db: Database) -> None:
    db.execute("DROP TABLE IF EXISTS market_skills")


MARKET_SKILLS = register(Derived("market_skills", create, apply, hide, drop, version=2, apply_many=apply_many))
