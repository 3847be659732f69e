"""Canonical JSON: round trips, agreement with an independent RFC 8785 implementation, strictness."""

import json

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from protocol.canonical import MAX_SAFE_INTEGER, canonical, encode, parse, parse_batch, parse_canonical
from protocol.errors import DuplicateKey, Malformed, NotCanonicalNumber

ascii_keys = st.text(alphabet=st.characters(max_codepoint=127), max_size=8)
scalars = (st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
           | st.text())  # st.text never yields lone surrogates
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(ascii_keys, children, max_size=5),
    max_leaves=30,
)


@given(json_values)
def test_canonical_is_a_fixed_point_of_parse(value):
    text = canonical(value)
    assert canonical(parse(text)) == text
    assert encode(parse(text)) == text


@given(json_values)
def test_canonical_equals_rfc8785(value):
    assert canonical(value) == rfc8785.dumps(value)


@given(json_values, st.integers(0, 3), st.booleans())
def test_any_spelling_canonicalises_to_the_same_bytes(value, indent, ascii_only):
    spelled = json.dumps(value, indent=indent, ensure_ascii=ascii_only)  # \u escapes, surrogate pairs, spaces
    assert canonical(parse(spelled)) == canonical(value)


def test_known_output():
    value = {"b": [1, True, None], "a": {"z": "é\n\"", "y": -(2**53 - 1)}, "": "\u2028😀"}
    expected = '{"":"\u2028😀","a":{"y":-9007199254740991,"z":"é\\n\\""},"b":[1,true,null]}'
    assert canonical(value) == expected.encode("utf-8")


def test_surrogate_pair_escape_is_one_character():
    assert parse('"\\ud83d\\ude00"') == "😀"


def test_bytes_and_str_input_agree():
    text = '{"a":[1,"x"]}'
    assert parse(text) == parse(text.encode()) == parse(bytearray(text.encode())) == parse(memoryview(text.encode()))


PARSE_REJECTS = {
    # name: (input, error class)
    "duplicate key at top": ('{"a":1,"a":2}', DuplicateKey),
    "duplicate key at depth": ('{"x":{"y":[{"k":1,"j":2,"k":3}]}}', DuplicateKey),
    "duplicate key via escape": ('{"a":1,"\\u0061":2}', DuplicateKey),
    "float 1.0": ("1.0", NotCanonicalNumber),
    "exponent 1e3": ('{"n":1e3}', NotCanonicalNumber),
    "negative zero float": ("[-0.0]", NotCanonicalNumber),
    "NaN": ("[NaN]", NotCanonicalNumber),
    "Infinity": ('{"n":Infinity}', NotCanonicalNumber),
    "-Infinity": ("-Infinity", NotCanonicalNumber),
    "2**53": (str(2**53), NotCanonicalNumber),
    "-(2**53)": (str(-(2**53)), NotCanonicalNumber),
    "huge integer": ("1" * 400, NotCanonicalNumber),
    "non-ASCII key": ('{"é":1}', Malformed),
    "non-ASCII key by escape": ('{"\\u00e9":1}', Malformed),
    "non-ASCII key at depth": ('[{"ok":{"ключ":1}}]', Malformed),
    "invalid UTF-8": (b'"\xff"', Malformed),
    "overlong UTF-8": (b'"\xc0\xaf"', Malformed),
    "UTF-8 encoded surrogate": (b'"\xed\xa0\x80"', Malformed),
    "lone high surrogate escape": ('"\\ud800"', Malformed),
    "lone low surrogate escape": ('["\\udc00"]', Malformed),
    "lone surrogate in key": ('{"\\ud800":1}', Malformed),
    "reversed surrogate pair": ('"\\ude00\\ud83d"', Malformed),
    "BOM bytes": (b"\xef\xbb\xbf{}", Malformed),
    "BOM text": ("\ufeff{}", Malformed),
    "trailing garbage": ('{"a":1} x', Malformed),
    "two values": ("{}{}", Malformed),
    "trailing comma": ("[1,]", Malformed),
    "single quotes": ("{'a':1}", Malformed),
    "empty": ("", Malformed),
    "unterminated": ('{"a":', Malformed),
    "control character in string": ('"a\x01b"', Malformed),
    "very deep nesting": ("[" * 100_000 + "]" * 100_000, Malformed),
}


@pytest.mark.parametrize("name", sorted(PARSE_REJECTS))
def test_parse_rejects(name):
    data, error = PARSE_REJECTS[name]
    with pytest.raises(error) as err:
        parse(data)
    assert type(err.value) is error
    assert err.value.code == error.code
    assert err.value.detail


def test_largest_safe_integers_are_accepted():
    assert parse(f"[{MAX_SAFE_INTEGER},{-MAX_SAFE_INTEGER}]") == [MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]


def test_negative_zero_integer_is_zero():
    # "-0" is an integer literal in JSON; it means 0 and canonicalises to "0".
    assert canonical(parse("-0")) == b"0"


CANONICAL_REJECTS = {
    "float": (1.0, NotCanonicalNumber),
    "float at depth": ({"a": [{"b": 0.5}]}, NotCanonicalNumber),
    "negative zero": (-0.0, NotCanonicalNumber),
    "nan": (float("nan"), NotCanonicalNumber),
    "infinity": (float("inf"), NotCanonicalNumber),
    "2**53": (2**53, NotCanonicalNumber),
    "-(2**53)": ([-(2**53)], NotCanonicalNumber),
    "non-ASCII key": ({"é": 1}, Malformed),
    "integer key": ({1: "a"}, Malformed),
    "bytes": (b"x", Malformed),
    "set": ({1}, Malformed),
    "lone surrogate": ("\ud800", Malformed),
    "lone surrogate in list": (["ok", "\udfff"], Malformed),
}


@pytest.mark.parametrize("name", sorted(CANONICAL_REJECTS))
def test_canonical_rejects(name):
    value, error = CANONICAL_REJECTS[name]
    with pytest.raises(error) as err:
        canonical(value)
    assert type(err.value) is error


def nest(depth: int, inner: object = None) -> object:
    """`inner` inside `depth` arrays and objects, alternating."""
    value = inner
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@pytest.mark.parametrize("entry", ["parse", "parse_canonical", "batch"])
def test_depth_limit_is_32_for_text(entry):
    def read(value):
        text = encode({"objects": [value]} if entry == "batch" else value)
        return (parse_batch(text, "objects") if entry == "batch"
                else parse_canonical(text) if entry == "parse_canonical" else parse(text))

    deepest = 32 - (2 if entry == "batch" else 0)  # a batch adds its object and array
    read(nest(deepest))
    with pytest.raises(Malformed, match="nested more than 32 levels"):
        read(nest(deepest + 1))


def test_depth_limit_holds_on_the_strict_path_and_outranks_other_errors():
    assert parse(" " + "[" * 32 + "]" * 32) == nest_lists(32)
    for text in ["[" * 33 + "]" * 33, " " + "[" * 33 + "]" * 33,
                 "[" * 33 + "1.5" + "]" * 33, '[{"a":1,"a":2},' + "[" * 32 + "]" * 32 + "]",
                 "[" * 5000 + "]" * 5000]:
        with pytest.raises(Malformed, match="nested more than 32 levels"):
            parse(text)


def test_brackets_inside_strings_do_not_count_as_depth():
    text = '["' + "[" * 40 + '{{{{"]'
    assert parse(text) == ["[" * 40 + "{{{{"]


def nest_lists(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_depth_limit_for_values_built_in_code():
    canonical(nest(32))
    with pytest.raises(Malformed):
        canonical(nest(33))


def test_tuples_encode_as_arrays():
    assert canonical({"a": (1, 2)}) == b'{"a":[1,2]}'


# Several violations in one text: the code follows precedence, not reading order
# (malformed > duplicate_key > not_canonical_number), whichever comes first.
PRECEDENCE = {
    '{"a":1.5,"a":2}': DuplicateKey,
    '{"a":2,"a":1.5}': DuplicateKey,
    '[1.5,{"k":1,"k":2}]': DuplicateKey,
    '[NaN,{"k":1,"k":2}]': DuplicateKey,
    '[9007199254740992,{"k":1,"k":1}]': DuplicateKey,
    '{"a":1,"a":2} x': Malformed,
    '[1.5': Malformed,
    '[Infinity1]': Malformed,
    r'{"a":1,"a":2,"\u00e9":1}': Malformed,
    r'[1.5,{"\u00e9":1}]': Malformed,
    r'[{"k":1,"k":2},"\ud800"]': Malformed,
    r'[1e3,"\udc00"]': Malformed,
    '[1.5,-Infinity]': NotCanonicalNumber,
}


@pytest.mark.parametrize("text", sorted(PRECEDENCE))
def test_error_precedence(text):
    for data in (text, text.encode("utf-8")):
        with pytest.raises(PRECEDENCE[text]) as err:
            parse(data)
        assert type(err.value) is PRECEDENCE[text]


def test_huge_integer_is_not_canonical_number():
    for digits in (17, 5000):  # 5000 digits is past Python's int() limit
        with pytest.raises(NotCanonicalNumber):
            parse("[" + "1" * digits + "]")


VIOLATIONS = {  # array elements, each breaking one rule (or none)
    '{"k":1,"k":2}': "duplicate_key", "1.5": "not_canonical_number", "NaN": "not_canonical_number",
    "9007199254740992": "not_canonical_number", r'{"\u00e9":1}': "malformed", r'"\ud800"': "malformed",
    "[" * 32 + "]" * 32: "malformed", '{"ok":[1]}': None,
}
RANK = ["malformed", "duplicate_key", "not_canonical_number"]


@given(st.lists(st.sampled_from(sorted(VIOLATIONS)), min_size=1, max_size=6), st.randoms())
def test_the_code_depends_on_which_rules_break_not_where(elements, rnd):
    broken = {VIOLATIONS[e] for e in elements} - {None}
    rnd.shuffle(elements)
    text = "[" + ",".join(elements) + "]"
    if not broken:
        parse(text)
        return
    with pytest.raises((Malformed, DuplicateKey, NotCanonicalNumber)) as err:
        parse(text)
    assert err.value.code == min(broken, key=RANK.index)
