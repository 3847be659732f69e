"""The shapes a body field can take, each as a checker plus its own description.

A shape checks one JSON value (`check(value, path)` raises `InvalidBody` with
a sentence that starts with the field's path), describes itself as JSON Schema
2020-12 (`schema(defs)`) and for the spec's field tables (`kind`,
`constraints`). One object carries all three so that the code, the schemas in
`specs/schemas/` and the tables in `specs/protocol.md` cannot drift apart.

Type checks use `type(x) is int`, not `isinstance`: `True` is an int in
Python but a boolean in JSON, and a boolean is never a valid count or time.
"""

import functools
import re
from typing import Any

from protocol import money
from protocol.errors import InvalidBody
from protocol.identity import is_did
from protocol.money import json_kind

MAX_SAFE_INTEGER = 2**53 - 1
_MISSING = object()
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_JUST_STR = frozenset({str})
# Unicode White_Space, spelled out: Python's str.isspace and ECMA-262's \s each
# disagree with it (U+001C-U+001F, U+FEFF), and "blank" must mean one thing.
WHITE_SPACE = r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_BLANK = re.compile(f"[{WHITE_SPACE}]*")
_DID_LENGTH = 56  # "did:key:z" + 47 base58 digits: the length of every Ed25519 did:key
PASSED_LIMIT = 4096


class Passed(set):
    """Strings that passed one shape's check lately, so that a repeat costs a set lookup, not a regex.

    Slugs, skills and currency codes recur in nearly every object a hub sees.
    Only exact `str` values that passed go in, so membership (which compares
    by value) means the check would pass again. Cleared when full, to bound it.
    """

    def add_all(self, values: Any) -> None:
        if len(self) >= PASSED_LIMIT:
            self.clear()
        self.update(values)



class Shape:
    """A field's constraints. Subclasses set `kind` and `constraints` for the spec."""

    kind = "any"
    constraints = ""

    def check(self, value: Any, path: str) -> None:
        raise NotImplementedError

    def ok(self, value: Any) -> bool:
        """Whether `check` would pass; a fast path that builds no path strings."""
        try:
            self.check(value, "")
        except InvalidBody:
            return False
        return True

    def ok_all(self, values: list[Any]) -> bool:
        """Whether every item of `values` passes; shapes override it with C-level loops."""
        return all(map(self.ok, values))

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


class Text(Shape):
    """A human-written string of at most `max` code points."""

    kind = "string"

    def __init__(self, max: int, *, non_blank: bool = False, one_line: bool = False, min: int = 0,
                 remember: bool = False):
        self.max, self.min, self.non_blank, self.one_line = max, min, non_blank, one_line
        self.passed = Passed() if remember else None  # for short strings that recur (skills)
        self.length = f"{min}..{max} characters" if min else f"at most {max} characters"
        notes = [self.length]
        if non_blank:
            notes.append("not blank")
        if one_line:
            notes.append("no control characters")
        self.constraints = ", ".join(notes)

    # The regexes are the definition; str.strip and str.isprintable are C-fast
    # sufficient tests in front of them: whatever strip removes includes all
    # of White_Space, and no control character is printable.
    def ok(self, value: Any) -> bool:
        return (type(value) is str and self.min <= len(value) <= self.max
                and (not self.non_blank or value.strip() != "" or _BLANK.fullmatch(value) is None)
                and (not self.one_line or value.isprintable() or _CONTROL.search(value) is None))

    def ok_all(self, values: list[Any]) -> bool:
        if not values:
            return True
        if set(map(type, values)) != _JUST_STR:
            return False
        passed = self.passed
        if passed is not None and passed.issuperset(values):
            return True
        lengths = list(map(len, values))
        good = (self.min <= min(lengths) and max(lengths) <= self.max
                and (not self.non_blank or all(map(str.strip, values)) or not any(map(_BLANK.fullmatch, values)))
                and (not self.one_line or "".join(values).isprintable() or _CONTROL.search("".join(values)) is None))
        if good and passed is not None:
            passed.add_all(values)
        return good

    def check(self, value: Any, path: str) -> None:
        if type(value) is not str:
            raise InvalidBody(f"{path}: expected a string, got {json_kind(value)}")
        if not self.min <= len(value) <= self.max:
            raise InvalidBody(f"{path}: {len(value)} characters; {self.length} allowed")
        if self.non_blank and _BLANK.fullmatch(value) is not None:
            raise InvalidBody(f"{path}: must not be empty or only whitespace")
        if self.one_line and _CONTROL.search(value) is not None:
            raise InvalidBody(f"{path}: must not contain control characters (line breaks, tabs, U+0000-U+001F, U+007F)")

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string", "maxLength": self.max}
        if self.min:
            out["minLength"] = self.min
        if self.non_blank:
            out["pattern"] = f"[^{WHITE_SPACE}]"
        if self.one_line:
            out["not"] = {"pattern": "[\\u0000-\\u001f\\u007f]"}
        return out


class Pattern(Shape):
    """A string matching a regular expression (written so that Python and ECMA-262 agree)."""

    def __init__(self, name: str, regex: str, max: int, what: str, kind: str | None = None, min: int = 0,
                 remember: bool = False):
        self.name, self.regex, self.min, self.max, self.what = name, regex, min, max, what
        self.kind = kind or name
        self.constraints = f"{what}; at most {max} characters" if kind is None or kind == "string" else ""
        self._match = re.compile(regex).fullmatch
        self.passed = Passed() if remember else None  # for short strings that recur (slugs)

    def ok(self, value: Any) -> bool:
        if type(value) is not str or not self.min <= len(value) <= self.max:
            return False
        passed = self.passed
        if passed is None:
            return self._match(value) is not None
        if value in passed:
            return True
        if self._match(value) is None:
            return False
        passed.add_all((value,))
        return True

    def ok_all(self, values: list[Any]) -> bool:
        if not values:
            return True
        if set(map(type, values)) != _JUST_STR:
            return False
        passed = self.passed
        if passed is not None and passed.issuperset(values):
            return True
        lengths = list(map(len, values))
        good = self.min <= min(lengths) and max(lengths) <= self.max and all(map(self._match, values))
        if good and passed is not None:
            passed.add_all(values)
        return good

    def check(self, value: Any, path: str) -> None:
        if type(value) is not str:
            raise InvalidBody(f"{path}: expected a string ({self.kind}), got {json_kind(value)}")
        if not self.min <= len(value) <= self.max or self._match(value) is None:
            raise InvalidBody(f"{path}: {value[:80]!r} is not {self.what}")

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        defs[self.name] = {"description": self.what, "type": "string",
                           "maxLength": self.max, "pattern": f"^{self.regex}$"}
        if self.min:
            defs[self.name]["minLength"] = self.min
        return {"$ref": f"#/$defs/{self.name}"}


class Did(Shape):
    """An Ed25519 did:key (the multicodec prefix and key length are checked by decoding)."""

    kind = "did"

    def ok(self, value: Any) -> bool:
        return type(value) is str and len(value) == _DID_LENGTH and _cached_is_did(value)

    def check(self, value: Any, path: str) -> None:
        if type(value) is not str:
            raise InvalidBody(f"{path}: expected a did:key string, got {json_kind(value)}")
        if len(value) != _DID_LENGTH or not _cached_is_did(value):
            raise InvalidBody(f"{path}: {value[:80]!r} is not an Ed25519 did:key")

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        defs["did"] = {
            "description": "an Ed25519 did:key. The pattern admits a few strings that decode to "
                           "another multicodec; implementations MUST also decode and check the prefix ed01.",
            "type": "string", "minLength": _DID_LENGTH, "maxLength": _DID_LENGTH,
            "pattern": "^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{44}$"}
        return {"$ref": "#/$defs/did"}


@functools.lru_cache(maxsize=4096)
def _cached_is_did(value: str) -> bool:
    # The same few dids (authors, hubs, coordinators) recur in every object;
    # decoding base58 each time would dominate validation.
    return is_did(value)


class Enum(Shape):
    """One of a fixed set of strings."""

    kind = "string"

    def __init__(self, *values: str):
        self.values = frozenset(values)
        self.ordered = values
        self.constraints = "one of " + ", ".join(f'`"{v}"`' for v in values)

    def ok(self, value: Any) -> bool:
        return type(value) is str and value in self.values

    def check(self, value: Any, path: str) -> None:
        if type(value) is not str or value not in self.values:
            shown = repr(value[:80]) if type(value) is str else json_kind(value)
            raise InvalidBody(f"{path}: {shown} is not one of {', '.join(self.ordered)}")

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.ordered)}


class Int(Shape):
    """An integer in [min, max]; never a boolean."""

    kind = "integer"

    def __init__(self, min: int = 0, max: int = MAX_SAFE_INTEGER, name: str | None = None):
        self.min, self.max, self.name = min, max, name
        self.kind = name or "integer"
        self.constraints = "" if name else f"{min}..{max}"

    def ok(self, value: Any) -> bool:
        return type(value) is int and self.min <= value <= self.max

    def check(self, value: Any, path: str) -> None:
        if type(value) is not int:
            raise InvalidBody(f"{path}: expected an integer, got {json_kind(value)}")
        if not self.min <= value <= self.max:
            raise InvalidBody(f"{path}: {value} is outside {self.min}..{self.max}")

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        out = {"type": "integer", "minimum": self.min, "maximum": self.max}
        if self.name is None:
            return out
        defs[self.name] = {"description": "integer Unix seconds", **out}
        return {"$ref": f"#/$defs/{self.name}"}


class Bool(Shape):
    """`true` or `false`; never 0 or 1."""

    kind = "boolean"

    def ok(self, value: Any) -> bool:
        return type(value) is bool

    def check(self, value: Any, path: str) -> None:
        if type(value) is not bool:
            raise InvalidBody(f"{path}: expected true or false, got {json_kind(value)}")

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        return {"type": "boolean"}


class Money(Shape):
    """`{"amount": decimal string, "currency": ISO 4217 code}`; see `protocol.money`."""

    kind = "money"

    def ok(self, value: Any) -> bool:
        return money.is_money(value)

    def check(self, value: Any, path: str) -> None:
        money.check_money(value, path)

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        listed = sorted(money.MINOR_UNITS)
        by_digits: dict[int, list[str]] = {}
        for code in listed:
            by_digits.setdefault(money.MINOR_UNITS[code], []).append(code)

        def amount_for(digits: int) -> dict[str, Any]:
            fraction = f"(\\.[0-9]{{1,{digits}}})?" if digits else ""
            return {"properties": {"amount": {"pattern": f"^(0|[1-9][0-9]{{0,14}}){fraction}$"}}}

        rules = [{"if": {"properties": {"currency": {"enum": codes}}}, "then": amount_for(digits)}
                 for digits, codes in sorted(by_digits.items())]
        rules.append({"if": {"properties": {"currency": {"not": {"enum": listed}}}},
                      "then": amount_for(money.DEFAULT_MINOR_UNITS)})
        defs["money"] = {
            "description": "a non-negative decimal amount with at most as many fraction digits "
                           "as the currency's ISO 4217 minor units (2 unless listed here)",
            "type": "object", "required": ["amount", "currency"], "additionalProperties": False,
            # maxLength: 15 integer digits, the point and at most 4 fraction digits (CLF, UYW)
            "properties": {"amount": {"type": "string", "maxLength": 15 + 1 + max(money.MINOR_UNITS.values()),
                                      "pattern": money.AMOUNT_PATTERN},
                           "currency": {"type": "string", "maxLength": 3, "pattern": money.CURRENCY_PATTERN}},
            "allOf": rules}
        return {"$ref": "#/$defs/money"}


class ListOf(Shape):
    """An array of `min`..`max` items of one shape; `distinct` is True or a member name."""

    def __init__(self, item: Shape, min: int = 0, max: int = 50, distinct: bool | str = True):
        self.item, self.min, self.max, self.distinct = item, min, max, distinct
        self.kind = f"[{item.kind}]"
        notes = [f"{min}..{max} items"]
        if distinct is True:
            notes.append("distinct")
        elif distinct:
            notes.append(f"distinct `{distinct}`")
        if item.constraints:
            notes.append(f"each {item.constraints}")
        self.constraints = ", ".join(notes)

    def ok(self, value: Any) -> bool:
        if type(value) is not list or not self.min <= len(value) <= self.max or not self.item.ok_all(value):
            return False
        if self.distinct is True:
            return len(set(value)) == len(value)
        if self.distinct:
            return len({item[self.distinct] for item in value}) == len(value)
        return True

    def check(self, value: Any, path: str) -> None:
        if type(value) is not list:
            raise InvalidBody(f"{path}: expected an array, got {json_kind(value)}")
        if not self.min <= len(value) <= self.max:
            raise InvalidBody(f"{path}: {len(value)} items; {self.min}..{self.max} allowed")
        if not self.item.ok_all(value):
            check = self.item.check  # slow path, only to name the bad item
            for index, item in enumerate(value):
                check(item, f"{path}[{index}]")
        if self.distinct is True:
            if len(set(value)) != len(value):
                raise InvalidBody(f"{path}: items must be distinct; {_first_repeat(value)!r} appears twice")
        elif self.distinct:
            keys = [item[self.distinct] for item in value]
            if len(set(keys)) != len(keys):
                raise InvalidBody(f"{path}: {self.distinct} must be distinct; {_first_repeat(keys)!r} appears twice")

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "array", "items": self.item.schema(defs),
                               "minItems": self.min, "maxItems": self.max}
        if self.distinct is True:
            out["uniqueItems"] = True
        elif self.distinct:
            out["description"] = (f"`{self.distinct}` MUST be distinct across items "
                                  "(JSON Schema cannot say so; implementations check it)")
        return out


class Obj(Shape):
    """A JSON object with known members `{name: (shape, required)}`; other members are allowed."""

    kind = "object"

    def __init__(self, members: dict[str, tuple[Shape, bool]]):
        self.members = members
        self._table = tuple((name, shape, required) for name, (shape, required) in members.items())
        self._oks = tuple((name, shape.ok, required) for name, shape, required in self._table)

    def ok(self, value: Any) -> bool:
        if type(value) is not dict:
            return False
        get = value.get
        for name, ok, required in self._oks:
            member = get(name)
            if member is None:  # missing, or null, which no shape accepts
                if required or name in value:
                    return False
            elif not ok(member):
                return False
        return True

    def check(self, value: Any, path: str) -> None:
        if not self.ok(value):  # the common case builds no path strings
            self.explain(value, path)

    def explain(self, value: Any, path: str) -> None:
        """`check` without the fast path: raise `InvalidBody` naming the first bad member."""
        if type(value) is not dict:
            raise InvalidBody(f"{path}: expected an object, got {json_kind(value)}")
        get = value.get
        for name, shape, required in self._table:
            member = get(name, _MISSING)
            if member is _MISSING:
                if required:
                    raise InvalidBody(f"{path}.{name}: required field is missing")
                continue
            shape.check(member, f"{path}.{name}")

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object",
                "required": [name for name, (_, required) in self.members.items() if required],
                "properties": {name: shape.schema(defs) for name, (shape, _) in self.members.items()}}


def _first_repeat(values: list[Any]) -> Any:
    seen = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None


SLUG = Pattern("slug", r"[a-z0-9]+(?:-[a-z0-9]+)*", 64,
               "a slug: lowercase letters and digits in runs joined by single hyphens", kind="slug", remember=True)
OBJECT_ID = Pattern("object_id", r"[0-9a-f]{64}", 64, "an object id: 64 lowercase hex digits", kind="id")
SHA256 = Pattern("sha256", r"[0-9a-f]{64}", 64, "a SHA-256 digest: 64 lowercase hex digits", kind="sha256")
URL = Pattern("url", r"https?://[A-Za-z0-9._~%!$&'()*+,;=:@\[\]-]+(?:[/?#][!-~]*)?", 2048,
              "an absolute http or https URL, ASCII without spaces (percent-encode the rest)", kind="url")
_B64 = "[A-Za-z0-9_-]"
# Canonical unpadded base64url: the last character may not carry set unused bits,
# so every byte string has one spelling (and one object id).
CIPHERTEXT = Pattern("ciphertext", rf"(?:{_B64}{{4}})*(?:{_B64}[AQgw]|{_B64}{{2}}[AEIMQUYcgkosw048])?", 65536,
                     "canonical unpadded base64url (RFC 4648 section 5, unused bits zero) of at least 16 bytes",
                     kind="base64url", min=22)
NONCE = Pattern("nonce", rf"{_B64}{{32}}", 32, "a 24-byte nonce in base64url (32 characters)", kind="base64url")
WRAPPED_KEY = Pattern("wrapped_key", rf"{_B64}{{64}}", 64,
                      "a 48-byte boxed content key in base64url (64 characters)", kind="base64url")
MEDIA_TYPE = Pattern("media_type", r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*", 255,
                     "a media type: type/subtype without parameters", kind="media_type")
DID = Did()
MONEY = Money()
TIMESTAMP = Int(0, MAX_SAFE_INTEGER, name="timestamp")
SKILLS = ListOf(Text(50, min=1, non_blank=True, one_line=True, remember=True), max=50)
