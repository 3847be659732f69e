"""The search query language and the relevance score.

Query language (the whole of it; nothing else in user text has a meaning):

- words separated by spaces are ANDed: ``logo vector`` finds listings with both;
- ``"a quoted phrase"`` matches those words next to each other, in order;
- a trailing ``*`` makes the last word a prefix: ``typo*`` finds "typography"
  (the prefix needs at least `MIN_PREFIX` letters or digits);
- everything else (``AND OR NOT NEAR ( ) : ^ + -`` ...) is plain text: each
  term is handed to FTS5 inside double quotes, so it can never act as syntax.
  Punctuation splits words the way the index does ("web-design" is the phrase
  "web design").

The score is Okapi BM25 over four weighted fields (`Scorer`), computed here
rather than by FTS5's `bm25()` so that its corpus statistics can be frozen in
a cursor: a ranking that shifts while someone pages through it would repeat
or skip hits. Term frequencies are counted by regex over the folded text, so
they can differ from FTS5's tokens at the edges (overlapping phrase repeats);
FTS5 alone decides what matches.
"""

import bisect
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Sequence

from storage.errors import InvalidQuery

MAX_QUERY_CHARS = 256
MAX_TERMS = 12
MIN_PREFIX = 3
TEXT_COLUMNS = ("title", "body", "skills", "cats")
FIELD_WEIGHTS = (3.0, 1.0, 2.0, 1.5)  # a title hit says more than a description hit
K1 = 1.2
B = 0.75
_WORD = re.compile(r"[^\W_]+")
# For counting ASCII words with bytes.translate: a letter or digit becomes "a", anything else " ".
_ASCII_WORDS = bytes(97 if chr(i).isalnum() else 32 for i in range(128)) + bytes(128)
_LENGTH_MASK = (1 << 15) - 1
_PROFILE_FIELDS = ("name", "bio", "skills", "categories")
_LISTING_FIELDS = ("title", "description", "skills", "category")
_CHUNK = re.compile(r'"([^"]*)("?)(\*?)|(\S+)')


def tokens(text: str) -> list[str]:
    """Split text into lower-case words, diacritics removed, like the index's tokenizer."""
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class Term:
    """One ANDed unit of a query: a word or phrase, its last word maybe a prefix."""

    words: tuple[str, ...]
    prefix: bool

    def fts(self) -> str:
        quoted = '"' + " ".join(self.words).replace('"', '""') + '"'
        return quoted + "*" if self.prefix else quoted


def parse_terms(q: str) -> tuple[Term, ...]:
    """Parse user text into terms; raises InvalidQuery if it is too long or has no words."""
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidQuery(f"the query is {len(q)} characters; at most {MAX_QUERY_CHARS} are allowed")
    terms: list[Term] = []
    for phrase, _closing, star, word in _CHUNK.findall(q):
        text, prefix = (phrase, star == "*") if not word else (word.rstrip("*"), word.endswith("*"))
        words = tuple(tokens(text))
        if not words:
            continue
        if prefix and len(words[-1]) < MIN_PREFIX:
            raise InvalidQuery(f"a prefix search needs at least {MIN_PREFIX} letters before the '*'")
        term = Term(words, prefix)
        if term not in terms:
            terms.append(term)
    if q.strip() and not terms:
        raise InvalidQuery("the query has no searchable words")
    if len(terms) > MAX_TERMS:
        raise InvalidQuery(f"the query has {len(terms)} terms; at most {MAX_TERMS} are allowed")
    return tuple(terms)


def text_match(terms: Sequence[Term]) -> str:
    """The FTS5 expression matching all terms in the text columns (not the filter tags)."""
    return "{" + " ".join(TEXT_COLUMNS) + "} : (" + " AND ".join(t.fts() for t in terms) + ")"


def listing_texts(type_: str, body: dict) -> list[str]:
    """The four searchable fields of a listing body, as the index's content view reads them."""
    names = _PROFILE_FIELDS if type_ == "profile" else _LISTING_FIELDS
    return [_as_text(body.get(name)) for name in names]


def listing_lengths(type_: str, body: dict) -> int:
    """Word counts of the four fields of a listing, packed in one integer (15 bits each) for BM25.

    Equal to counting `tokens` of each of `listing_texts`; ingest runs this
    for every listing, so ASCII text (and JSON, which json.dumps makes ASCII)
    is counted with translate + split, four times faster than the regex.
    """
    packed = shift = 0
    for name in _PROFILE_FIELDS if type_ == "profile" else _LISTING_FIELDS:
        value = body.get(name)
        if isinstance(value, str):
            text = value
        elif isinstance(value, list) and all(type(v) is str for v in value) and \
                (joined := " ".join(value)).isascii() and joined.isprintable():
            text = joined  # json.dumps adds only punctuation around printable ASCII: same words, no encoding
        else:
            text = _as_text(value)
        count = len(text.encode("ascii").translate(_ASCII_WORDS).split()) if text.isascii() else len(tokens(text))
        packed |= min(count, _LENGTH_MASK) << shift
        shift += 15
    return packed


def unpack_lengths(packed: int) -> tuple[int, ...]:
    return tuple(packed >> shift & _LENGTH_MASK for shift in range(0, 60, 15))


def fold(text: str | None) -> str:
    """Lower-case, diacritics removed: the form `Scorer` searches in."""
    if not text:
        return ""
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text.lower()


def idf(total_docs: int, doc_frequency: int) -> float:
    """BM25's inverse document frequency, in the always-positive form."""
    return math.log(1.0 + (total_docs - doc_frequency + 0.5) / (doc_frequency + 0.5))


FIELD_SEPARATOR = "\x1f"  # joins the four fields into one string: one regex pass per term


class Scorer:
    """BM25 over weighted fields; a term's frequency is counted by one regex over all fields."""

    def __init__(self, terms: Sequence[Term], idfs: Sequence[float], avg_lengths: Sequence[float]):
        self.patterns = [(re.compile(_pattern(t)), i) for i, t in zip(idfs, terms)]
        self.avg_lengths = tuple(avg_lengths)

    def score(self, joined_fields: str, lengths: Sequence[int]) -> float:
        """Score one listing: `joined_fields` is its four fields, folded, joined by FIELD_SEPARATOR."""
        text = fold(joined_fields)
        first = text.find(FIELD_SEPARATOR)
        bounds = (first, text.find(FIELD_SEPARATOR, first + 1), text.rfind(FIELD_SEPARATOR))
        total = 0.0
        for pattern, term_idf in self.patterns:
            tfs = [0, 0, 0, 0]
            for match in pattern.finditer(text):
                tfs[bisect.bisect(bounds, match.start())] += 1
            for tf, length, weight, avg in zip(tfs, lengths, FIELD_WEIGHTS, self.avg_lengths):
                if tf:
                    norm = K1 * (1.0 - B + B * length / avg)
                    total += term_idf * weight * tf * (K1 + 1.0) / (tf + norm)
        return total


def average_lengths(all_lengths: Sequence[Sequence[int]]) -> list[float]:
    """Mean word count per field (at least 1) over the documents' unpacked lengths."""
    if not all_lengths:
        return [1.0] * len(TEXT_COLUMNS)
    return [max(1.0, sum(d[c] for d in all_lengths) / len(all_lengths)) for c in range(len(TEXT_COLUMNS))]


def _pattern(term: Term) -> str:
    # Literal first, boundary checked by a lookbehind after it: re then scans for the
    # literal at C speed instead of trying the lookbehind at every position (10x).
    first = re.escape(term.words[0])
    parts = [first + rf"(?<![^\W_]{first})"] + [re.escape(w) for w in term.words[1:]]
    tail = r"[^\W_]*" if term.prefix else r"(?![^\W_])"
    return r"(?:[^\w\x1f]|_)+".join(parts) + tail


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    return "" if value is None else json.dumps(value)
