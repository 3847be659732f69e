"""The RFC 8941 subset: examples from the RFC, strict refusals, round trips."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import structured_fields as sf
from protocol.errors import Malformed


@pytest.mark.parametrize("text, expected", [
    # RFC 8941 §3.2 examples.
    ('en="Applepie", da=:w4ZibGV0w6ZydGU=:', {"en": sf.Item("Applepie"), "da": sf.Item("Æbletærte".encode())}),
    ("a=?0, b, c; foo=bar", {"a": sf.Item(False), "b": sf.Item(True),
                             "c": sf.Item(True, {"foo": sf.Token("bar")})}),
    ("rating=1, feelings=(joy sadness)", {"rating": sf.Item(1), "feelings": sf.InnerList(
        (sf.Item(sf.Token("joy")), sf.Item(sf.Token("sadness"))))}),
    ("", {}),
    ('  a=1 ,\tb=-2  ', {"a": sf.Item(1), "b": sf.Item(-2)}),
    ('sig=(  "x"   "y" );k="a\\"b\\\\c"', {"sig": sf.InnerList(
        (sf.Item("x"), sf.Item("y")), {"k": 'a"b\\c'})}),
    ("e=()", {"e": sf.InnerList(())}),
    ("t=*foo/bar:baz", {"t": sf.Item(sf.Token("*foo/bar:baz"))}),
    ("n=:YWI:", {"n": sf.Item(b"ab")}),  # unpadded base64 is tolerated (RFC 8941 §4.2.7)
])
def test_parse_examples(text, expected):
    assert sf.parse_dictionary(text) == expected


@pytest.mark.parametrize("text", [
    "a=1,", "a=1,,b=2", "a=1 b=2", "A=1", "a=1, a=2", "a=1;p;p", "a=1.5", "a=1234567890123456",
    'a="unterminated', 'a="bad \\n escape"', 'a="tab\tinside"', "a=:not base64!:", "a=:YWJj",
    "a=?2", "a=(1 2", "a=(1,2)", "a=@1659578233", 'a=%"percent"', "a=é", "a=1;P=2", "1a=1",
])
def test_strict_refusals(text):
    with pytest.raises(Malformed):
        sf.parse_dictionary(text)


def test_serialize_examples():
    members = {"sig": sf.InnerList((sf.Item("@method"), sf.Item("content-digest")),
                                   {"created": 1, "flag": True, "alg": "ed25519"}),
               "b": sf.Item(True), "d": sf.Item(b"\x00\xff")}
    assert sf.serialize_dictionary(members) == 'sig=("@method" "content-digest");created=1;flag;alg="ed25519", b, d=:AP8=:'


@pytest.mark.parametrize("value", [10**15, "é", "line\n", sf.Token("1bad"), 1.5])
def test_serializer_refuses_what_cannot_be_sent(value):
    with pytest.raises(Malformed):
        sf.serialize_bare_item(value)


keys = st.from_regex(r"[a-z*][a-z0-9_\-.*]{0,6}", fullmatch=True)
bare_items = st.one_of(
    st.integers(-(10**15) + 1, 10**15 - 1),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12),
    st.from_regex(r"[A-Za-z*][A-Za-z0-9:/*!#$%&'+.^_`|~-]{0,6}", fullmatch=True).map(sf.Token),
    st.binary(max_size=12),
    st.booleans(),
)
params = st.dictionaries(keys, bare_items, max_size=3)
items = st.builds(sf.Item, bare_items, params)
members = st.one_of(items, st.builds(sf.InnerList, st.lists(items, max_size=3).map(tuple), params))


@given(st.dictionaries(keys, members, max_size=4))
def test_serialize_then_parse_round_trips(dictionary):
    text = sf.serialize_dictionary(dictionary)
    parsed = sf.parse_dictionary(text)
    assert parsed == dictionary
    assert sf.serialize_dictionary(parsed) == text
