"""Canonical JSON: the strict parser and the one canonical encoder.

The protocol uses the subset of JSON on which RFC 8785 (JCS) equals sorted-key,
compact, UTF-8 JSON: integers within +-(2**53 - 1), no floats, ASCII object
keys, no duplicate keys, well-formed Unicode. On that subset Python's C JSON
encoder with sorted keys produces JCS byte for byte; `encode` uses it.

Nodes send canonical bytes, so parsing first tries the cheapest proof that
the input is canonical, with orjson (about a third of the stdlib's round
trip): decode the bytes, encode the result with sorted keys and
STRICT_INTEGER, compare, then walk the value once for what equal bytes cannot
rule out. Equal bytes rule out whitespace, key order, any escape but the
canonical ones (orjson escapes every code point as the canonical encoder
does; a test checks all of them), duplicate keys (orjson keeps the last, so a
member would be missing), lone surrogates (orjson refuses them both ways) and
integers beyond +-(2**53 - 1) (STRICT_INTEGER refuses them). A float survives
the comparison when spelled as orjson writes it ("1.0", "1e+16"), so the walk
looks for floats, nesting deeper than MAX_DEPTH and, when the text is not
ASCII, non-ASCII keys. Anything else, and every error, goes to the strict
parser (the stdlib decoder with hooks), so both paths return the same value
or raise the same error for every input.

When text breaks several rules, the code is decided by precedence, not by
where the parser happened to notice first (spec section 2.1): malformed
(syntax, nesting deeper than MAX_DEPTH, a non-ASCII key, a lone surrogate)
before duplicate_key before not_canonical_number. The strict parser stops at
the first duplicate key or bad number it meets; only then does `_diagnose`
read the whole text again to find any violation that outranks it.
"""

import functools
import json
import re
from typing import Any, NamedTuple

import orjson

from protocol.errors import DuplicateKey, Malformed, NotCanonicalNumber, ProtocolError

MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 32
"""Arrays and objects may nest this deep (`[[]]` is 2); deeper text is `malformed`."""
_MAX_INTEGER_CHARS = len(str(-MAX_SAFE_INTEGER))  # longer digit strings are out of range unread

_encoder = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
)


def _pairs_to_dict(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(f"duplicate object key {key!r}")
            seen.add(key)
    for key in obj:
        if not key.isascii():
            raise Malformed(f"object key {key!r} is not ASCII")
    return obj


def _reject_float(text: str) -> Any:
    raise NotCanonicalNumber(f"number {text} is not an integer (fractions and exponents are not allowed)")


def _reject_constant(text: str) -> Any:
    raise NotCanonicalNumber(f"{text} is not a JSON number")


def _checked_int(text: str) -> int:
    # int() of thousands of digits is slow and, past 4300, a plain ValueError: decide by length first
    if len(text) <= _MAX_INTEGER_CHARS:
        value = int(text)
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return value
    raise NotCanonicalNumber(f"integer {text[:40]}{'...' if len(text) > 40 else ''} is outside +-(2**53 - 1)")


# Python's decoder accepts "\ud800"; text that contains a surrogate escape at
# all (rare) pays for a full re-encode that finds any unpaired one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

_decoder = json.JSONDecoder(
    object_pairs_hook=_pairs_to_dict,
    parse_float=_reject_float,
    parse_int=_checked_int,
    parse_constant=_reject_constant,
)
# The fast path's decoder and encoder (see `_proves_canonical` for why they agree with the canonical rules).
_orjson_loads = orjson.loads
_orjson_dumps = orjson.dumps
_ORJSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
_encode_item = functools.partial(orjson.dumps, option=_ORJSON_OPTIONS)


class Canonical(NamedTuple):
    """A parsed value with its canonical bytes, as `parse_canonical` and `parse_batch` return them."""

    value: Any
    wire: bytes


def parse(data: bytes | str) -> Any:
    """Parse JSON text under the protocol's rules.

    Raises `Malformed` for text that is not JSON, not UTF-8, has a byte-order
    mark, lone surrogates or non-ASCII keys; `DuplicateKey` for a key that
    appears twice in one object; `NotCanonicalNumber` for floats, exponents,
    NaN/Infinity and integers beyond +-(2**53 - 1).
    """
    fast = _parse_if_canonical(data)
    return fast[0] if fast is not None else _parse_strictly(data)


def parse_canonical(data: bytes | str) -> tuple[Any, bytes | None]:
    """`parse`, plus the input as bytes when it already is the canonical encoding.

    The second item is None for valid but otherwise spelled input (whitespace,
    escapes, key order); the caller then encodes the value itself.
    """
    return _parse_if_canonical(data) or (_parse_strictly(data), None)


def parse_batch(data: bytes | str, member: str) -> tuple[Any, list[Canonical] | None]:
    """`parse`, plus each item of `data[member]` with its canonical bytes.

    Nodes send a batch as `{"<member>":[` + the items' canonical bytes joined
    by commas + `]}`, which is the batch's own canonical encoding. For such
    input the second item lists the items with their bytes, each encoded once
    by orjson; for anything else it is None.
    """
    return _batch(data, member, alone=True)


def parse_listing(data: bytes | str, member: str) -> tuple[Any, list[Canonical] | None]:
    """`parse_batch` for a canonical object that has other members beside the list (a fetch answer's
    `unsent`, spec 9.16): the same items with their bytes, at the price of encoding the whole once more."""
    return _batch(data, member, alone=False)


def _batch(data: bytes | str, member: str, alone: bool) -> tuple[Any, list[Canonical] | None]:
    wire = _bytes_if_cheap(data)
    if wire is not None:
        try:
            value = _orjson_loads(wire)
            items = value.get(member) if type(value) is dict and (len(value) == 1 or not alone) else None
            if type(items) is list:
                wires = list(map(_encode_item, items))
                whole = (b"{%s:[%s]}" % (_orjson_dumps(member), b",".join(wires)) if len(value) == 1
                         else _orjson_dumps(value, option=_ORJSON_OPTIONS))
                if whole == wire and _plain(value, wire.isascii()):
                    return value, list(map(Canonical, items, wires))
        except (ValueError, TypeError):
            pass  # orjson's decode and encode errors: not canonical, or not even valid; the strict parser says which
    return _parse_strictly(data), None


def _parse_if_canonical(data: bytes | str) -> tuple[Any, bytes] | None:
    """The value and bytes of `data` if it is exactly canonical, else None (then parse strictly)."""
    wire = data if type(data) is bytes else _bytes_if_cheap(data)
    if wire is None:
        return None
    # `_proves_canonical`, inlined: this is the hot path of every incoming object
    try:
        value = _orjson_loads(wire)
        if _orjson_dumps(value, option=_ORJSON_OPTIONS) != wire:
            return None
    except (ValueError, TypeError):  # orjson's decode and encode errors (see `_proves_canonical`)
        return None
    return (value, wire) if _plain(value, wire.isascii()) else None


def _proves_canonical(value: Any, wire: bytes) -> bool:
    """Whether `wire`, which orjson decoded to `value`, is canonical text under every rule.

    orjson's sorted encoding writes ints, strings (escapes included, checked
    for every code point in the tests), true, false and null exactly as the
    canonical encoder does, so equal bytes rule out whitespace, key order,
    escapes other than the canonical ones, duplicate keys (orjson keeps the
    last, so a member would be missing), numbers not spelled as canonical
    integers and, with STRICT_INTEGER, integers beyond +-(2**53 - 1). What
    equal bytes cannot rule out, `_plain` checks on the value.
    """
    try:
        if _orjson_dumps(value, option=_ORJSON_OPTIONS) != wire:
            return False
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 53 bits, or nesting past orjson's limit
        return False
    return _plain(value, wire.isascii())


def _plain(value: Any, keys_are_ascii: bool) -> bool:
    """No float anywhere, nesting at most MAX_DEPTH and, unless known already, ASCII keys.

    A float survives the comparison in `_proves_canonical` when spelled the
    way orjson writes it ("1.0", "1e+16"), so floats are looked for here. One
    pass, level by level, over the containers only.
    """
    kind = type(value)
    if kind is not dict and kind is not list:
        return kind is not float
    level, pending = 1, [value]
    while pending:
        if level > MAX_DEPTH:
            return False
        children = []
        for item in pending:
            if type(item) is dict:
                if not keys_are_ascii and not "".join(item).isascii():
                    return False
                item = item.values()
            for child in item:
                kind = type(child)
                if kind is dict or kind is list:
                    children.append(child)
                elif kind is float:
                    return False
        pending, level = children, level + 1
    return True


def _bytes_if_cheap(data: bytes | str) -> bytes | None:
    if type(data) is bytes:
        return data
    if type(data) is str:
        try:
            return data.encode("utf-8")
        except UnicodeEncodeError:  # a raw lone surrogate: the strict parser reports it
            return None
    return bytes(data)


def _bracket_count(text: str) -> int:
    """An upper bound on the nesting depth of `text` (brackets inside strings count too), in C."""
    return text.count("[") + text.count("{")


def _check_depth(value: Any, around: int = 0) -> None:
    """Raise `Malformed` if arrays and objects nest deeper than MAX_DEPTH in `value`,
    which sits inside `around` of them."""
    level, pending = around + 1, [value] if type(value) in (list, dict) else []
    while pending:
        if level > MAX_DEPTH:
            raise Malformed(f"JSON nested more than {MAX_DEPTH} levels deep")
        children = []
        for item in pending:
            for child in (item.values() if type(item) is dict else item):
                if type(child) is list or type(child) is dict:
                    children.append(child)
        pending, level = children, level + 1


def _parse_strictly(data: bytes | str) -> Any:
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Malformed(f"not valid UTF-8: {exc.reason} at byte {exc.start}") from None
    else:
        text = data
    if text.startswith("\ufeff"):
        raise Malformed("a byte-order mark is not allowed")
    try:
        value = _decoder.decode(text)
    except (DuplicateKey, NotCanonicalNumber) as first:
        raise _diagnose(text, first) from None
    except json.JSONDecodeError as exc:
        raise _syntax_error(exc) from None
    except RecursionError:
        raise _too_deep() from None
    _check_well_formed(text, value)
    return value


def _check_well_formed(text: str, value: Any) -> None:
    """The `malformed` rules that need the whole value: nesting depth, then lone surrogates."""
    if _bracket_count(text) > MAX_DEPTH:
        _check_depth(value)
    if _SURROGATE_ESCAPE.search(text):
        encode(value)


def _syntax_error(exc: json.JSONDecodeError) -> Malformed:
    return Malformed(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")


def _too_deep() -> Malformed:
    return Malformed(f"JSON nested more than {MAX_DEPTH} levels deep")


def _diagnose(text: str, first: ProtocolError) -> ProtocolError:
    """The error of highest precedence in `text`, which the strict parser found `first` breaking.

    Reads the text again with hooks that note duplicate keys and bad numbers
    instead of raising, so a syntax error, a deep nesting, a non-ASCII key or
    a lone surrogate anywhere (all `malformed`) outranks them, and a
    duplicate key anywhere outranks a bad number.
    """
    duplicates: list[ProtocolError] = []

    def pairs(members: list[tuple[str, Any]]) -> dict[str, Any]:
        try:
            return _pairs_to_dict(members)
        except DuplicateKey as error:
            duplicates.append(error)
            return _pairs_to_dict(list(dict(members).items()))  # still raises for a non-ASCII key

    def number(parse: Any) -> Any:
        def lenient(token: str) -> Any:
            try:
                return parse(token)
            except NotCanonicalNumber:
                return 0
        return lenient

    reader = json.JSONDecoder(object_pairs_hook=pairs, parse_float=number(_reject_float),
                              parse_int=number(_checked_int), parse_constant=number(_reject_constant))
    try:
        value = reader.decode(text)
        _check_well_formed(text, value)
    except json.JSONDecodeError as exc:
        return _syntax_error(exc)
    except RecursionError:
        return _too_deep()
    except Malformed as error:  # a non-ASCII key, too deep or a lone surrogate
        return error
    if duplicates and not isinstance(first, DuplicateKey):
        return duplicates[0]
    return first


def encode(value: Any) -> bytes:
    """The canonical bytes of a value that is already known to be in the subset.

    Use this on values produced by `parse`; use `canonical` on values built
    in code, which checks them first.
    """
    try:
        return _encoder.encode(value).encode("utf-8")
    except UnicodeEncodeError:
        raise Malformed("string contains a lone surrogate") from None


def canonical(value: Any) -> bytes:
    """Check that `value` is in the protocol subset and return its canonical bytes.

    Raises `NotCanonicalNumber` for floats or out-of-range integers and
    `Malformed` for non-ASCII or non-string keys and unsupported types.
    """
    _check(value, 0)
    return encode(value)


def _check(value: Any, depth: int) -> None:
    """`depth` counts the arrays and objects around `value`."""
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise NotCanonicalNumber(f"integer {value} is outside +-(2**53 - 1)")
        return
    if isinstance(value, float):
        raise NotCanonicalNumber(f"float {value!r} is not allowed; use an integer or a decimal string")
    if isinstance(value, (list, tuple, dict)) and depth >= MAX_DEPTH:
        raise Malformed(f"value nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, (list, tuple)):
        for item in value:
            _check(item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise Malformed(f"object key {key!r} is not an ASCII string")
            _check(item, depth + 1)
        return
    raise Malformed(f"{type(value).__name__} is not a JSON value")
