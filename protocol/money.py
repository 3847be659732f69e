"""Money: a decimal amount string and an ISO 4217 currency code.

`{"amount": "1500.00", "currency": "EUR"}`. Amounts are strings, never JSON
numbers, so no node ever rounds one through a float. An amount has at most 15
integer digits and at most as many fraction digits as the currency has minor
units (JPY none, EUR two, KWD three); trailing zeros are allowed ("1500.0").
"""

import re
from typing import Any

from protocol.errors import InvalidBody

AMOUNT_PATTERN = r"^(0|[1-9][0-9]{0,14})(\.[0-9]+)?$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"

# ISO 4217 minor units where they differ from the usual two. Any other code
# shaped like a currency gets two: a node need not know a currency to carry it.
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
         "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}
DEFAULT_MINOR_UNITS = 2

_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,14})(?:\.([0-9]+))?")
_CURRENCY = re.compile(r"[A-Z]{3}")


def minor_units(currency: str) -> int:
    """How many fraction digits an amount in `currency` may have."""
    return MINOR_UNITS.get(currency, DEFAULT_MINOR_UNITS)


def check_money(value: Any, path: str) -> None:
    """Raise `InvalidBody` unless `value` is a money object; `path` names it in the error."""
    if type(value) is not dict:
        raise InvalidBody(f"{path}: expected a money object {{amount, currency}}, got {json_kind(value)}")
    if len(value) != 2 or "amount" not in value or "currency" not in value:
        raise InvalidBody(f"{path}: a money object has exactly the members amount and currency, got {sorted(value)}")
    currency = value["currency"]
    if type(currency) is not str or _CURRENCY.fullmatch(currency) is None:
        raise InvalidBody(f"{path}.currency: {currency!r} is not an ISO 4217 code (three capital letters)")
    amount = value["amount"]
    if type(amount) is not str:
        raise InvalidBody(f"{path}.amount: expected a decimal string such as \"1500.00\", got {json_kind(amount)}")
    match = _AMOUNT.fullmatch(amount)
    if match is None:
        raise InvalidBody(f"{path}.amount: {amount[:40]!r} is not a non-negative decimal "
                          "(digits, optional '.' and fraction, at most 15 integer digits, no leading zeros)")
    fraction = match.group(2)
    if fraction is not None:
        allowed = MINOR_UNITS.get(currency, DEFAULT_MINOR_UNITS)
        if len(fraction) > allowed:
            raise InvalidBody(f"{path}.amount: {amount!r} has more fraction digits than {currency} allows ({allowed})")


# Currency codes that passed `_CURRENCY` (a handful recur): a set lookup instead of the regex.
_PASSED_CURRENCIES: set[str] = set()


def is_money(value: Any) -> bool:
    """Whether `check_money` would accept `value`; builds no error text."""
    if type(value) is not dict or len(value) != 2:
        return False
    currency, amount = value.get("currency"), value.get("amount")
    if type(currency) is not str or type(amount) is not str:
        return False
    if currency not in _PASSED_CURRENCIES:
        if _CURRENCY.fullmatch(currency) is None:
            return False
        if len(_PASSED_CURRENCIES) >= 1024:  # bounded: there are fewer than 200 real codes
            _PASSED_CURRENCIES.clear()
        _PASSED_CURRENCIES.add(currency)
    # `_AMOUNT` spelled with str methods (ASCII digits, no leading zero, at most 15
    # integer digits, a point only before digits): no regex on the hot path
    whole, point, fraction = amount.partition(".")
    return (whole.isdigit() and amount.isascii() and len(whole) <= 15 and (whole[0] != "0" or whole == "0")
            and (not point or fraction.isdigit()) and len(fraction) <= MINOR_UNITS.get(currency, DEFAULT_MINOR_UNITS))


def in_minor_units(money: dict[str, str]) -> int:
    """The amount of a checked money object as an integer count of minor units."""
    whole, _, fraction = money["amount"].partition(".")
    digits = minor_units(money["currency"])
    return int(whole) * 10**digits + int(fraction.ljust(digits, "0") or 0)


def format_minor_units(count: int, currency: str) -> str:
    """Inverse of `in_minor_units`: the canonical amount string for `count` minor units."""
    digits = minor_units(currency)
    if digits == 0:
        return str(count)
    whole, fraction = divmod(count, 10**digits)
    return f"{whole}.{fraction:0{digits}d}"


def json_kind(value: Any) -> str:
    """How an error message names the JSON type of `value` ("an array", "null")."""
    return _JSON_KINDS.get(type(value), type(value).__name__)


_JSON_KINDS = {dict: "an object", list: "an array", str: "a string", int: "an integer",
               bool: "a boolean", type(None): "null", float: "a number with a fraction"}
