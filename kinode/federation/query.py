"""The one parser for query parameters: integers, cursors, money and currency (spec 9.5, 9.6, 9.7).

Python's int() and str.isdigit() take "+5", " 5 ", "1_0" and "٣"; a query
parameter here is ASCII digits only, no sign, no spaces, no separators, so
every endpoint refuses the same inputs with `invalid_query`.
"""

import re

from protocol.identity import is_did
from protocol.money import AMOUNT_PATTERN, CURRENCY_PATTERN

_DIGITS = re.compile(r"[0-9]{1,16}")
_AMOUNT = re.compile(AMOUNT_PATTERN)
_CURRENCY = re.compile(CURRENCY_PATTERN)


class QueryError(ValueError):
    code = "invalid_query"

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


def integer(text: str, name: str, low: int, high: int) -> int:
    """`text` as an integer in [low, high], written in ASCII digits only."""
    if not _DIGITS.fullmatch(text) or not low <= int(text) <= high:
        raise QueryError(f"{name} must be a whole number from {low} to {high}, in ASCII digits")
    return int(text)


def cursor(text: str, name: str) -> int:
    """A log cursor: a non-negative integer this node sent."""
    return integer(text, name, 0, 2**53 - 1)


def amount(text: str, name: str) -> str:
    """A non-negative decimal amount, as money amounts are written ("1500.00")."""
    if not _AMOUNT.fullmatch(text):
        raise QueryError(f'{name} must be a decimal amount such as "1500.00"')
    return text


def currency(text: str) -> str:
    if not _CURRENCY.fullmatch(text):
        raise QueryError("currency must be an ISO 4217 code: three capital letters, such as EUR")
    return text


def did(text: str, name: str) -> str:
    if not is_did(text):
        raise QueryError(f"{name} must be a did:key")
    return text


def text(value: str, name: str, longest: int = 256) -> str:
    if not 0 < len(value) <= longest:
        raise QueryError(f"{name} must be from 1 to {longest} characters")
    return value
