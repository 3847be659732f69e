"""The canonical fast path (decode, re-encode, compare) agrees with the strict parser on every input.

`parse` tries the fast path first and falls back to the strict parser, so the
properties compare it with `_parse_strictly` alone: same value, or the same
error class, code and sentence. The strategies aim at what the fast path must
not let through: duplicate keys (also adjacent and identical, which keeps the
key order), floats, big integers, non-ASCII keys and lone surrogates.
"""

import json

import orjson

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from protocol import canonical
from protocol.canonical import MAX_SAFE_INTEGER, Canonical, encode, parse, parse_batch, parse_canonical
from protocol.errors import Malformed, ProtocolError

any_keys = st.text(max_size=6)  # non-ASCII too: the strict parser must reject those
ascii_keys = st.text(alphabet=st.characters(max_codepoint=127), max_size=6)
numbers = st.integers(-(2**60), 2**60) | st.floats(allow_nan=True, allow_infinity=True)
scalars = st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | st.text()


def values(keys, leaves):
    return st.recursive(leaves, lambda children: st.lists(children, max_size=4)
                        | st.dictionaries(keys, children, max_size=4), max_leaves=20)


canonical_values = values(ascii_keys, scalars)
odd_values = values(any_keys, scalars | numbers)


def outcome(parser, data):
    try:
        return "value", parser(data)
    except ProtocolError as error:
        return "error", type(error), error.code, error.detail
    except RecursionError:  # pragma: no cover - would be a bug in either path
        return "recursion",


def assert_agrees(data):
    expected = outcome(canonical._parse_strictly, data)
    assert outcome(parse, data) == expected
    got = outcome(parse_canonical, data)
    if expected[0] == "error":
        assert got == expected
    else:
        value, wire = got[1]
        assert value == expected[1]
        assert wire is None or wire == encode(value)


def insert_duplicate(text: str, at: int) -> str | None:
    """`text` with its `at`-th object member written twice in place (key order stays sorted)."""
    members = [m for m in _members(text)]
    if not members:
        return None
    start, end = members[at % len(members)]
    return text[:end] + "," + text[start:end] + text[end:]


def _members(text: str):
    value = json.loads(text)
    if not isinstance(value, dict) or not value:
        return
    # a top-level member of canonical text: from its key up to the next top-level comma
    for key, item in value.items():
        member = json.dumps(key, ensure_ascii=False) + ":" + encode(item).decode("utf-8")
        start = text.find(member)
        if start > 0:
            yield start, start + len(member)


@settings(max_examples=300)
@given(canonical_values)
def test_canonical_text_takes_the_fast_path(value):
    text = encode(value)
    assert canonical._parse_if_canonical(text) == (value, text)
    assert parse_canonical(text) == (value, text)
    assert_agrees(text)
    assert_agrees(text.decode("utf-8"))


@settings(max_examples=300)
@given(canonical_values.filter(lambda v: isinstance(v, dict) and v), st.integers(0, 10))
def test_a_duplicated_member_is_reported_as_by_the_strict_parser(value, at):
    spelled = insert_duplicate(encode(value).decode("utf-8"), at)
    if spelled is not None:
        assert outcome(parse, spelled)[2] == "duplicate_key"
        assert_agrees(spelled)
        assert_agrees(spelled.encode("utf-8"))


@settings(max_examples=300)
@given(odd_values, st.booleans(), st.booleans())
def test_any_json_text_agrees(value, ensure_ascii, sort_keys):
    # compact like canonical text, so that floats, big integers and non-ASCII
    # keys meet the fast path's comparison rather than failing on whitespace
    text = json.dumps(value, ensure_ascii=ensure_ascii, sort_keys=sort_keys, separators=(",", ":"))
    assert_agrees(text)
    assert_agrees(text.encode("utf-8", "surrogatepass"))


@given(st.sampled_from(['"\\ud800"', '["\\udc00"]', '{"a":"\\ud83d"}', '{"\\ud800":1}', '"\\ude00\\ud83d"',
                        '"\\ud83d\\ude00"', '"\\u00e9"', '{"\\u00e9":1}', '{"é":1}', '{"a":{"é":1}}', '[{"ключ":"x"}]',
                        '{"a":"é"}', '{"a":1.0}', '[1e3]', '[-0]', '[NaN]', "[9007199254740992]",
                        "[9007199254740991]", "[-9007199254740991]", '{"a":1,"a":1}', '{"b":1,"a":2}', '{"a":1} ',
                        '{"a":1}{}', '\ufeff{}', "", "[", '"\\/"', '"\\u0041"', '"\\u001f"', '"\\u007f"', '"\x7f"']))
def test_corner_cases_agree(text):
    assert_agrees(text)
    assert_agrees(text.encode("utf-8", "surrogatepass"))


@example("\ud800")
@example('{"a":"\ud800"}')
@given(st.text(max_size=20))
def test_raw_lone_surrogates_in_str_input_agree(text):
    # str input may hold raw surrogates: the strict parser accepts them (the
    # encoder rejects them later), so the fast path must not claim canonical bytes
    data = json.dumps(text, ensure_ascii=False)
    assert_agrees(data)
    value, wire = parse_canonical(data)
    assert wire is None or wire.decode("utf-8") == data


def test_non_canonical_spelling_parses_without_wire():
    assert parse_canonical(b'{ "a": 1 }') == ({"a": 1}, None)
    assert parse_canonical(b'{"b":1,"a":2}') == ({"a": 2, "b": 1}, None)
    assert parse_canonical('{"a":"\\u00e9"}') == ({"a": "é"}, None)
    assert parse_canonical('{"a":"é"}'.encode()) == ({"a": "é"}, '{"a":"é"}'.encode())
    assert parse_canonical(bytearray(b'{"a":[1]}')) == ({"a": [1]}, b'{"a":[1]}')


# --- batches -------------------------------------------------------------------

def batch_of(items) -> bytes:
    return b'{"objects":[' + b",".join(map(encode, items)) + b"]}"


@settings(max_examples=200)
@given(st.lists(canonical_values, max_size=5))
def test_a_canonical_batch_yields_each_item_with_its_wire(items):
    value, wired = parse_batch(batch_of(items), "objects")
    assert value == {"objects": items}
    assert wired == [Canonical(item, encode(item)) for item in items]


@settings(max_examples=200)
@given(st.lists(odd_values, max_size=4), st.sampled_from([
    lambda b: b.replace(b"[", b"[ ", 1), lambda b: b[:-1] + b',"x":1}', lambda b: b.replace(b"objects", b"object", 1),
    lambda b: b'{"objects":[' + b.split(b"[", 1)[1].replace(b"]}", b"", 1) + b',{"a":1,"a":2}]}', lambda b: b,
]))
def test_any_batch_agrees_with_the_strict_parser(items, mutate):
    data = mutate(json.dumps({"objects": items}, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))
    expected = outcome(canonical._parse_strictly, data)
    got = outcome(lambda d: parse_batch(d, "objects"), data)
    if expected[0] == "error":
        assert got == expected
        return
    value, wired = got[1]
    assert value == expected[1]
    if wired is not None:
        assert data == batch_of(value["objects"])
        assert wired == [Canonical(item, encode(item)) for item in value["objects"]]


def test_batch_that_is_not_canonical_has_no_wires():
    assert parse_batch(b'{"objects": [{"a":1}]}', "objects") == ({"objects": [{"a": 1}]}, None)
    assert parse_batch(b'{"objects":[{"a":1}],"z":0}', "objects")[1] is None
    assert parse_batch(b'{"objects":{"a":1}}', "objects")[1] is None
    assert parse_batch(b'[{"a":1}]', "objects") == ([{"a": 1}], None)
    with pytest.raises(Malformed, match="not ASCII"):
        parse_batch('{"objects":[{"é":1}]}'.encode(), "objects")


# --- the orjson fast path ---------------------------------------------------------
# `_parse_if_canonical` decodes with orjson and proves canonicity by comparing its
# sorted re-encoding with the input. The tests below aim at where orjson differs
# from the protocol's rules: it keeps the last of duplicate keys, parses floats
# (and writes them back the same way, so the text comparison alone cannot see
# them), takes integers up to 64 bits, nests up to 1024 deep, and has its own
# string escaping.

def test_orjson_escapes_every_code_point_as_the_canonical_encoder_does():
    # The proof behind the fast path: for strings, orjson's bytes equal canonical
    # bytes. Every code point but the surrogates, alone and inside long strings
    # (orjson escapes long strings with vector code).
    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    for point in points[:0x800]:
        assert orjson.dumps(point) == encode(point), hex(ord(point))
    for size in (1, 7, 16, 31, 64, 257):
        chunks = ["".join(points[i:i + size]) for i in range(0, len(points), size)]
        assert orjson.dumps(chunks) == encode(chunks)
        assert orjson.dumps({"k": "x" * 40 + "".join(chunks[:50])}) == encode({"k": "x" * 40 + "".join(chunks[:50])})


def orjson_float_text(number: float) -> str:
    return orjson.dumps(number).decode("ascii")


floats_as_orjson_writes_them = st.floats(allow_nan=False, allow_infinity=False).map(orjson_float_text)
big_integers = st.one_of(st.integers(MAX_SAFE_INTEGER + 1, 2**64 + 5), st.integers(-(2**64) - 5, -MAX_SAFE_INTEGER - 1),
                         st.sampled_from([2**53, -(2**53), 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1]))


def around(value, number: str, where: int) -> str:
    """Canonical text holding `value` and, in place `where`, the number spelled `number`."""
    inner = encode(value).decode("utf-8")
    return [f"[{inner},{number}]", f"[{number},{inner}]", f'{{"a":{inner},"b":{number}}}',
            f'{{"a":[[{number}]],"b":{inner}}}', f'{{"a":{{"b":{inner},"c":{{"d":{number}}}}}}}'][where]


@settings(max_examples=300)
@given(canonical_values, st.one_of(floats_as_orjson_writes_them, big_integers.map(str)), st.integers(0, 4))
def test_a_float_or_big_integer_spelled_canonically_is_rejected_as_strictly(value, number, where):
    # canonical in every other way: only the value walk or STRICT_INTEGER can see the number
    spelled = around(value, number, where)
    assert outcome(parse, spelled)[2] == "not_canonical_number"
    assert_agrees(spelled)
    assert_agrees(spelled.encode("utf-8"))


@given(st.sampled_from(["[1.0]", '{"a":1e+16}', '{"a":[1,2,{"b":-0.5}]}', "[1e-7]", '{"a":{"b":{"c":[5e-324]}}}',
                        "[9223372036854775807]", "[9223372036854775808]", "[18446744073709551615]",
                        "[18446744073709551616]", "[-9223372036854775808]", "[-9223372036854775809]",
                        '{"a":1.0,"a":1.0}', '{"a":1,"a":1.0}', '{"é":1.0}', '{"a":"\\ud800","b":1.0}',
                        "1.0", "9007199254740992", "-9007199254740992", "0", "-0", "1E+16", '"\\u2028"', '"\u2028"',
                        '"\\u007f"', '"\x7f"', '"\\b\\f\\n\\r\\t"', '"\\u0008"', '"\\u001F"', '"\\u001f"']))
def test_orjson_corner_cases_agree(text):
    assert_agrees(text)
    assert_agrees(text.encode("utf-8"))


def nested(depth: int, inner: str = "0") -> str:
    text = inner
    for level in range(depth):
        text = f"[{text}]" if level % 2 else f'{{"k":{text}}}'
    return text


@pytest.mark.parametrize("depth", [31, 32, 33, 40, 254, 255, 256, 1023, 1024, 1025, 2000])
@pytest.mark.parametrize("inner", ["0", "1.5", '"\\ud800"', "99999999999999999999"])
def test_deep_nesting_agrees(depth, inner):
    text = nested(depth, inner)
    assert_agrees(text)
    assert_agrees(text.encode("utf-8"))
    if depth > canonical.MAX_DEPTH:
        assert outcome(parse, text)[2] == "malformed"


@settings(max_examples=300)
@given(canonical_values, st.data())
def test_near_canonical_text_agrees(value, data):
    # one character inserted, deleted or replaced: whitespace, a duplicate comma,
    # a dropped quote, a capital E, a stray backslash...
    text = encode(value).decode("utf-8")
    at = data.draw(st.integers(0, len(text)))
    char = data.draw(st.sampled_from([" ", "\n", ",", ":", '"', "\\", ".", "e", "E", "-", "0", "1", "[", "]", "{", "}",
                                      "\x7f", "\u2028", "é", "\ud800"]))
    how = data.draw(st.sampled_from(["insert", "replace", "delete"]))
    mutated = text[:at] + ("" if how == "delete" else char) + text[at + (0 if how == "insert" else 1):]
    assert_agrees(mutated)
    assert_agrees(mutated.encode("utf-8", "surrogatepass"))


@settings(max_examples=500)
@given(st.binary(max_size=60) | st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_arbitrary_bytes_agree(data):
    assert_agrees(data)


@settings(max_examples=300)
@given(st.text(alphabet='{}[]:,"\\ 0123456789.eE+-abtrufnlsu\x7f\u2028é\ud800', max_size=40))
def test_arbitrary_json_like_text_agrees(text):
    assert_agrees(text)
    assert_agrees(text.encode("utf-8", "surrogatepass"))


@settings(max_examples=200)
@given(canonical_values, canonical_values, st.booleans())
def test_duplicate_keys_are_reported_though_orjson_keeps_the_last(first, second, same):
    # orjson keeps the last of duplicate keys; the shorter re-encoding must send such text to the strict parser
    text = '{"a":%s,"a":%s}' % (encode(first).decode("utf-8"), encode(first if same else second).decode("utf-8"))
    assert outcome(parse, text)[2] == "duplicate_key"
    assert_agrees(text)


@settings(max_examples=200)
@given(st.lists(canonical_values, max_size=4), floats_as_orjson_writes_them)
def test_a_batch_with_a_canonically_spelled_float_has_no_wires(items, number):
    spelled = b'{"objects":[' + b",".join([*map(encode, items), b"[" + number.encode("ascii") + b"]"]) + b"]}"
    expected = outcome(canonical._parse_strictly, spelled)
    assert expected[2] == "not_canonical_number"
    assert outcome(lambda d: parse_batch(d, "objects"), spelled) == expected


def test_a_listing_with_other_members_yields_its_items_with_their_wires_only_when_canonical():
    items = [{"a": 1}, {"b": [2, "x"]}]
    answer = b'{"objects":[{"a":1},{"b":[2,"x"]}],"unsent":["u"]}'
    value, wired = canonical.parse_listing(answer, "objects")
    assert value == {"objects": items, "unsent": ["u"]}
    assert wired == [Canonical(item, encode(item)) for item in items]
    assert canonical.parse_listing(b'{"objects":[{"a":1}]}', "objects")[1] == [Canonical({"a": 1}, b'{"a":1}')]
    for spelled in (b'{"unsent":[],"objects":[{"a":1}]}', b'{"objects":[{"a": 1}],"unsent":[]}'):
        assert canonical.parse_listing(spelled, "objects")[1] is None  # key order, whitespace
    with pytest.raises(ProtocolError):  # the strict parser's rules hold, as for a batch
        canonical.parse_listing(b'{"objects":[{"a":1.5}],"unsent":[]}', "objects")
    assert parse_batch(answer, "objects")[1] is None  # a batch is the list alone
