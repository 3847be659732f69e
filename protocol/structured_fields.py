"""The slice of RFC 8941 Structured Field Values that request signatures need.

Parses Dictionaries (members are Items or Inner Lists, each with Parameters)
and serializes Inner Lists and Dictionaries. Bare items: Integer, String,
Token, Byte Sequence, Boolean. Stricter than RFC 8941 in three ways, all of
which make a signature header ambiguous or unusable for us, never valid:
Decimals (and RFC 9651's Dates and Display Strings) are refused, and so are a
duplicate dictionary key and a duplicate parameter key (RFC 8941 lets the
last one win, which would let two parsers disagree about what was signed).

Errors are `Malformed`; callers re-raise them under their own code.
"""

import base64
import re
from dataclasses import dataclass, field
from typing import Union

from protocol.errors import Malformed


class Token(str):
    """An sf-token, kept apart from an sf-string so it serializes unquoted."""


BareItem = Union[int, str, Token, bytes, bool]
Params = dict[str, BareItem]


@dataclass(frozen=True)
class Item:
    value: BareItem
    params: Params = field(default_factory=dict)


@dataclass(frozen=True)
class InnerList:
    items: tuple[Item, ...]
    params: Params = field(default_factory=dict)


Member = Union[Item, InnerList]

_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_INTEGER = re.compile(r"-?[0-9]{1,15}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_MAX_INTEGER = 999_999_999_999_999


class _Parser:
    def __init__(self, text: str):
        if not text.isascii():
            raise Malformed("a structured field is ASCII")
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos:self.pos + 1]

    def skip(self, chars: str) -> None:
        while self.peek() and self.peek() in chars:
            self.pos += 1

    def expect(self, char: str) -> None:
        if self.peek() != char:
            found = self.peek() or "the end"
            raise Malformed(f"expected {char!r} at offset {self.pos}, found {found!r}")
        self.pos += 1

    def match(self, pattern: re.Pattern[str], what: str) -> str:
        found = pattern.match(self.text, self.pos)
        if found is None or not found.group():
            raise Malformed(f"expected {what} at offset {self.pos}")
        self.pos = found.end()
        return found.group()

    def dictionary(self) -> dict[str, Member]:
        self.skip(" ")
        members: dict[str, Member] = {}
        while self.peek():
            key = self.match(_KEY, "a dictionary key")
            if key in members:
                raise Malformed(f"dictionary key {key!r} appears twice")
            if self.peek() == "=":
                self.pos += 1
                members[key] = self.item_or_inner_list()
            else:
                members[key] = Item(True, self.params())
            self.skip(" \t")
            if not self.peek():
                break
            self.expect(",")
            self.skip(" \t")
            if not self.peek():
                raise Malformed("a dictionary does not end with a comma")
        return members

    def item_or_inner_list(self) -> Member:
        if self.peek() != "(":
            return Item(self.bare_item(), self.params())
        self.pos += 1
        items = []
        while True:
            self.skip(" ")
            if self.peek() == ")":
                self.pos += 1
                return InnerList(tuple(items), self.params())
            items.append(Item(self.bare_item(), self.params()))
            if self.peek() not in (" ", ")"):
                raise Malformed(f"expected ' ' or ')' in an inner list at offset {self.pos}")

    def params(self) -> Params:
        params: Params = {}
        while self.peek() == ";":
            self.pos += 1
            self.skip(" ")
            key = self.match(_KEY, "a parameter key")
            if key in params:
                raise Malformed(f"parameter {key!r} appears twice")
            params[key] = True
            if self.peek() == "=":
                self.pos += 1
                params[key] = self.bare_item()
        return params

    def bare_item(self) -> BareItem:
        char = self.peek()
        if char == "-" or char.isdigit():
            number = self.match(_INTEGER, "an integer")
            if self.peek() == "." or self.peek().isdigit():
                raise Malformed("decimals and integers over 15 digits are not accepted")
            return int(number)
        if char == '"':
            return self.string()
        if char == ":":
            self.pos += 1
            encoded = self.match(_BASE64, "base64") if self.peek() != ":" else ""
            self.expect(":")
            try:
                return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
            except ValueError:
                raise Malformed("a byte sequence is not valid base64") from None
        if char == "?":
            self.pos += 1
            flag = self.peek()
            if flag not in ("0", "1"):
                raise Malformed("a boolean is ?0 or ?1")
            self.pos += 1
            return flag == "1"
        if char.isalpha() or char == "*":
            return Token(self.match(_TOKEN, "a token"))
        raise Malformed(f"no item starts with {char or 'the end'!r} (offset {self.pos})")

    def string(self) -> str:
        self.pos += 1
        out = []
        while True:
            char = self.peek()
            self.pos += 1
            if char == "\\":
                escaped = self.peek()
                if escaped not in ('"', "\\"):
                    raise Malformed("a string escapes only '\"' and '\\\\'")
                out.append(escaped)
                self.pos += 1
            elif char == '"':
                return "".join(out)
            elif not char:
                raise Malformed("a string is not closed")
            elif not " " <= char <= "~":
                raise Malformed("a string holds only visible ASCII and space")
            else:
                out.append(char)


def parse_dictionary(text: str) -> dict[str, Member]:
    """Parse a Dictionary field value (RFC 8941 §4.2.2), strictly as described above."""
    parser = _Parser(text)
    members = parser.dictionary()
    if parser.pos != len(text):
        raise Malformed(f"unexpected {text[parser.pos]!r} at offset {parser.pos}")
    return members


def serialize_bare_item(value: BareItem) -> str:
    """Serialize one bare item (RFC 8941 §4.1.3)."""
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        if abs(value) > _MAX_INTEGER:
            raise Malformed("an integer has at most 15 digits")
        return str(value)
    if isinstance(value, Token):
        if not _TOKEN.fullmatch(value):
            raise Malformed(f"{value!r} is not a token")
        return str(value)
    if isinstance(value, str):
        if not all(" " <= char <= "~" for char in value):
            raise Malformed("a string holds only visible ASCII and space")
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode() + ":"
    raise Malformed(f"cannot serialize {type(value).__name__}")


def serialize_params(params: Params) -> str:
    """Serialize parameters in their insertion order; a true flag is the bare key."""
    out = []
    for key, value in params.items():
        if not _KEY.fullmatch(key):
            raise Malformed(f"{key!r} is not a parameter key")
        out.append(f";{key}" if value is True else f";{key}={serialize_bare_item(value)}")
    return "".join(out)


def serialize_member(member: Member) -> str:
    """Serialize an Item or an Inner List with their parameters."""
    if isinstance(member, InnerList):
        inner = " ".join(serialize_member(item) for item in member.items)
        return f"({inner}){serialize_params(member.params)}"
    return serialize_bare_item(member.value) + serialize_params(member.params)


def serialize_dictionary(members: dict[str, Member]) -> str:
    """Serialize a Dictionary (RFC 8941 §4.1.2)."""
    out = []
    for key, member in members.items():
        if not _KEY.fullmatch(key):
            raise Malformed(f"{key!r} is not a dictionary key")
        if isinstance(member, Item) and member.value is True:
            out.append(key + serialize_params(member.params))
        else:
            out.append(f"{key}={serialize_member(member)}")
    return ", ".join(out)
