"""Canonical JSON: the strict parser and the one canonical encoder.

The protocol uses the subset of JSON on which RFC 8785 (JCS) equals sorted-key,
compact, UTF-8 JSON: integers within +-(2**53 - 1), no floats, ASCII object
keys, no duplicate keys, well-formed Unicode. On that subset Python's C JSON
encoder with sorted keys produces JCS byte for byte, which keeps the hot path
(verify an incoming object) in C.
"""

import json
import re
from typing import Any

from protocol.errors import DuplicateKey, Malformed, NotCanonicalNumber

MAX_SAFE_INTEGER = 2**53 - 1

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
    value = int(text)
    if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return value
    raise NotCanonicalNumber(f"integer {text} is outside +-(2**53 - 1)")


# Python's decoder accepts "\ud800"; text that contains a surrogate escape at
# all (rare) pays for a full re-encode that finds any unpaired one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

_decoder = json.JSONDecoder(
    object_pairs_hook=_pairs_to_dict,
    parse_float=_reject_float,
    parse_int=_checked_int,
    parse_constant=_reject_constant,
)


def parse(data: bytes | str) -> Any:
    """Parse JSON text under the protocol's rules.

    Raises `Malformed` for text that is not JSON, not UTF-8, has a byte-order
    mark, lone surrogates or non-ASCII keys; `DuplicateKey` for a key that
    appears twice in one object; `NotCanonicalNumber` for floats, exponents,
    NaN/Infinity and integers beyond +-(2**53 - 1).
    """
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
    except json.JSONDecodeError as exc:
        raise Malformed(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise Malformed("JSON nested too deeply") from None
    if _SURROGATE_ESCAPE.search(text):
        encode(value)
    return value


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
    if depth > 64:
        raise Malformed("value nested more than 64 levels deep")
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise NotCanonicalNumber(f"integer {value} is outside +-(2**53 - 1)")
        return
    if isinstance(value, float):
        raise NotCanonicalNumber(f"float {value!r} is not allowed; use an integer or a decimal string")
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
