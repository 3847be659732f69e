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

The score is Okapi BM25 over four weighted fields, computed here rather than
by FTS5's `bm25()` so that its corpus statistics can be frozen in a cursor:
a ranking that shifts while someone pages through it would repeat or skip hits.
"""

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


def term_frequency(term: Term, words: list[str]) -> int:
    if len(term.words) == 1 and not term.prefix:
        return words.count(term.words[0])
    n = len(term.words)
    head, last = term.words[:-1], term.words[-1]
    count = 0
    for i in range(len(words) - n + 1):
        w = words[i + n - 1]
        if (w.startswith(last) if term.prefix else w == last) and tuple(words[i:i + n - 1]) == head:
            count += 1
    return count


def idf(total_docs: int, doc_frequency: int) -> float:
    """BM25's inverse document frequency, in the always-positive form."""
    return math.log(1.0 + (total_docs - doc_frequency + 0.5) / (doc_frequency + 0.5))


def average_lengths(docs: Sequence[Sequence[list[str]]]) -> list[float]:
    """Mean word count per field over `docs` (each doc a list of per-field word lists)."""
    if not docs:
        return [1.0] * len(TEXT_COLUMNS)
    return [max(1.0, sum(len(d[c]) for d in docs) / len(docs)) for c in range(len(TEXT_COLUMNS))]


def score(terms: Sequence[Term], fields: Sequence[list[str]], idfs: Sequence[float],
          avg_lengths: Sequence[float]) -> float:
    """BM25 of one document: per term, the weighted saturated frequency in each field."""
    total = 0.0
    for term, term_idf in zip(terms, idfs):
        for words, weight, avg in zip(fields, FIELD_WEIGHTS, avg_lengths):
            tf = term_frequency(term, words)
            if tf:
                norm = K1 * (1.0 - B + B * len(words) / avg)
                total += term_idf * weight * tf * (K1 + 1.0) / (tf + norm)
    return total
