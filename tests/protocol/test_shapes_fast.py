"""The shapes' fast `ok` paths accept exactly what their `check` accepts.

`Obj.check` asks `ok` first and only explains on failure, so a too-lenient
`ok` would let a bad body through: each property below compares `ok` with
the explaining path on random JSON and on the body cases of test_bodies.
"""

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from body_cases import INVALID, VALID
from protocol import money, shapes
from protocol.bodies import BODY_TYPES
from protocol.errors import InvalidBody


def all_shapes() -> list[shapes.Shape]:
    found: dict[int, shapes.Shape] = {}
    pending = [spec.fields for spec in BODY_TYPES.values()]
    while pending:
        shape = pending.pop()
        if id(shape) in found:
            continue
        found[id(shape)] = shape
        if isinstance(shape, shapes.Obj):
            pending.extend(member for member, _ in shape.members.values())
        elif isinstance(shape, shapes.ListOf):
            pending.append(shape.item)
    return list(found.values())


SHAPES = all_shapes()


def passes(shape: shapes.Shape, value) -> bool:
    explain = shape.explain if isinstance(shape, shapes.Obj) else shape.check
    try:
        explain(value, "x")
    except InvalidBody:
        return False
    return True


tricky_text = st.text(alphabet=st.sampled_from(
    ["a", "Z", "0", "-", " ", "\t", "\n", "\x1c", "\x1f", "\x7f", "\x85", "\xa0", "\u2028", "\u200b", "\ufeff",
     "\u3000", "é", "😀", "/", ":"]), max_size=12)
leaves = (st.none() | st.booleans() | st.integers(-3, 10**6) | tricky_text | st.text(max_size=70)
          | st.sampled_from(["web-design", "EUR", "JPY", "KWD", "1.5", "10.00", "0.123", "hour", "expert",
                             "https://a.example/", "a" * 64, "text/html", "A" * 32, BODY_TYPES["offer"].name]))
json_values = st.recursive(leaves, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.sampled_from(["amount", "currency", "did", "role", "key", "to",
                                                              "hub", "bps", "due", "title", "x"]), children,
                                             max_size=4), max_leaves=12)


@settings(max_examples=1000)
@given(st.sampled_from(SHAPES), json_values)
def test_ok_agrees_with_check(shape, value):
    assert shape.ok(value) == passes(shape, value)


@settings(max_examples=300)
@given(st.sampled_from(SHAPES), st.lists(json_values | tricky_text, max_size=5))
def test_ok_all_agrees_with_checking_each(shape, values):
    assert shape.ok_all(values) == all(passes(shape, value) for value in values)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.kind)
def test_null_is_never_ok(shape):
    # Obj.ok reads a null member like a missing one; that is only sound if no shape takes null
    assert not shape.ok(None)


BODIES = [(t, body) for t, _, body in VALID] + [(case.type, case.body) for case in INVALID]


@pytest.mark.parametrize(("type_", "body"), BODIES)
def test_body_fields_ok_agrees_with_explain(type_, body):
    fields = BODY_TYPES[type_].fields
    assert fields.ok(body) == passes(fields, body)


@settings(max_examples=500)
@given(st.sampled_from(sorted(BODY_TYPES)), st.data())
def test_mutated_bodies_agree(type_, data):
    fields = BODY_TYPES[type_].fields
    base = next(body for t, _, body in VALID if t == type_)
    name = data.draw(st.sampled_from(sorted(fields.members)))
    body = {**base, name: data.draw(json_values)}
    if data.draw(st.booleans()):
        body.pop(data.draw(st.sampled_from(sorted(body))))
    assert fields.ok(body) == passes(fields, body)


# is_money spells the amount pattern with str methods: non-ASCII digits (which
# str.isdigit accepts), signs, spaces and extra points must still fail as in check_money
amounts = (st.from_regex(r"-?[0-9]{0,17}(\.[0-9]{0,5})?", fullmatch=True)
           | st.from_regex(r"[-+ ]?[0-9\u0663\u00b2\uff11]{0,17}(\.[0-9\u0663.]{0,5})?[ ]?", fullmatch=True)
           | st.text(max_size=6))
currencies = st.sampled_from(["EUR", "JPY", "KWD", "CLF", "QQQ", "eur", "EU", "EURO", "ÉUR"]) | st.text(max_size=4)


@settings(max_examples=500)
@given(st.dictionaries(st.sampled_from(["amount", "currency", "x"]), amounts | currencies | st.integers(), max_size=3))
def test_is_money_agrees_with_check_money(value):
    try:
        money.check_money(value, "m")
        expected = True
    except InvalidBody:
        expected = False
    assert money.is_money(value) == expected


def test_fast_text_tests_are_sufficient_for_every_code_point():
    # Text.ok trusts str.strip() != "" to mean "not blank" and str.isprintable()
    # to mean "no control character"; both must hold for all of Unicode.
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if shapes._BLANK.fullmatch(char):
            assert char.isspace(), hex(code)
        if shapes._CONTROL.fullmatch(char):
            assert not char.isprintable(), hex(code)
