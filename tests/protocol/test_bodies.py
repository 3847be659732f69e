"""Per-type body validation: table-driven cases plus properties over random JSON."""

import copy
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from body_cases import BASE, CREATED_AT, INVALID, REQUIRED, VALID, Bad, eur
from protocol import envelope, money
from protocol.bodies import BODY_TYPES, OBJECT_TYPES, validate_body
from protocol.errors import InvalidBody, UnknownType
from protocol.identity import Identity


def test_every_type_has_cases() -> None:
    assert set(BASE) == set(REQUIRED) == OBJECT_TYPES
    assert {t for t, _, _ in VALID} == OBJECT_TYPES
    assert {case.type for case in INVALID} == OBJECT_TYPES


@pytest.mark.parametrize("type_", sorted(OBJECT_TYPES))
def test_required_fields_match_the_table(type_: str) -> None:
    table = BODY_TYPES[type_].fields.members
    assert [name for name, (_, required) in table.items() if required] == REQUIRED[type_]


@pytest.mark.parametrize(("type_", "label", "body"), VALID, ids=[f"{t}: {label}" for t, label, _ in VALID])
def test_valid_bodies_pass(type_: str, label: str, body: dict) -> None:
    before = copy.deepcopy(body)
    validate_body(type_, body, CREATED_AT)
    assert body == before  # validation never normalises or drops members


@pytest.mark.parametrize("case", INVALID, ids=str)
def test_invalid_bodies_name_the_field(case: Bad) -> None:
    with pytest.raises(InvalidBody) as info:
        validate_body(case.type, case.body, CREATED_AT)
    message = str(info.value)
    assert info.value.code == "invalid_body"
    assert message.startswith(case.path + ":") or message.startswith(case.path + "["), message
    assert len(message) < 400  # a sentence, never a dump of a huge value


def test_error_sentence_for_fraction_digits() -> None:
    expected = r"^body\.price\.amount: '12\.345' has more fraction digits than EUR allows \(2\)$"
    with pytest.raises(InvalidBody, match=expected):
        validate_body("offer", {**BASE["offer"], "price": eur("12.345")}, CREATED_AT)


def test_unknown_type() -> None:
    with pytest.raises(UnknownType):
        validate_body("invoice", {}, CREATED_AT)


def test_deadline_is_relative_to_created_at() -> None:
    body = BASE["project"]
    validate_body("project", body, body["deadline"] - 1)
    with pytest.raises(InvalidBody, match="not after created_at"):
        validate_body("project", body, body["deadline"])


def test_envelope_reports_invalid_body_last() -> None:
    """A signed object with a bad body fails verification with invalid_body."""
    alice = Identity(bytes([1]) * 32)
    with pytest.raises(InvalidBody, match=r"body\.unit"):
        envelope.sign(alice, "offer", {**BASE["offer"], "unit": "week"}, CREATED_AT)
    obj = envelope.sign(alice, "offer", {**BASE["offer"], "x_future": 1}, CREATED_AT)
    assert obj.body["x_future"] == 1 and b'"x_future":1' in obj.wire


# --- money --------------------------------------------------------------

@pytest.mark.parametrize(("currency", "digits"), [
    ("EUR", 2), ("USD", 2), ("JPY", 0), ("KRW", 0), ("ISK", 0), ("CLP", 0), ("VND", 0), ("UGX", 0),
    ("XOF", 0), ("XAF", 0), ("BHD", 3), ("IQD", 3), ("JOD", 3), ("KWD", 3), ("LYD", 3), ("OMR", 3),
    ("TND", 3), ("CLF", 4), ("QQQ", 2),
])
def test_fraction_digits_per_currency(currency: str, digits: int) -> None:
    money.check_money({"amount": "1" + ("." + "5" * digits if digits else ""), "currency": currency}, "m")
    with pytest.raises(InvalidBody, match=f"more fraction digits than {currency} allows \\({digits}\\)"):
        money.check_money({"amount": "1." + "5" * (digits + 1), "currency": currency}, "m")


@given(amount=st.decimals(min_value=0, max_value=Decimal("999999999999999"), places=4, allow_nan=False),
       currency=st.sampled_from(["EUR", "JPY", "KWD", "CLF", "ABC"]))
def test_money_accepts_exactly_the_amounts_the_currency_can_express(amount: Decimal, currency: str) -> None:
    text = format(amount, "f")
    digits = len(text.partition(".")[2])
    value = {"amount": text, "currency": currency}
    if digits <= money.minor_units(currency):
        money.check_money(value, "m")
        assert Decimal(money.format_minor_units(money.in_minor_units(value), currency)) == amount
    else:
        with pytest.raises(InvalidBody):
            money.check_money(value, "m")


# --- properties ---------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300)
@given(type_=st.sampled_from(sorted(OBJECT_TYPES)), body=json_values, created_at=st.integers(0, 2**53 - 1))
def test_random_json_raises_only_invalid_body(type_: str, body: object, created_at: int) -> None:
    try:
        validate_body(type_, body, created_at)  # type: ignore[arg-type]
    except InvalidBody as exc:
        assert str(exc).startswith("body")


@settings(max_examples=500)
@given(data=st.data(), type_=st.sampled_from(sorted(OBJECT_TYPES)))
def test_mutated_valid_bodies_raise_only_invalid_body(data: st.DataObject, type_: str) -> None:
    """Replace one member, at any depth, of a valid body with random JSON."""
    body = copy.deepcopy(BASE[type_])
    target = body
    while True:
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        key = data.draw(st.sampled_from(keys))
        if isinstance(target[key], (dict, list)) and target[key] and data.draw(st.booleans()):
            target = target[key]
            continue
        target[key] = data.draw(json_values)
        break
    try:
        validate_body(type_, body, CREATED_AT)
    except InvalidBody as exc:
        assert str(exc).startswith("body")


@given(type_=st.sampled_from(sorted(OBJECT_TYPES)),
       extra=st.dictionaries(st.text(max_size=10).map(lambda k: "x_" + k), json_values,
                             max_size=3))
def test_unknown_members_never_change_the_verdict(type_: str, extra: dict) -> None:
    validate_body(type_, {**BASE[type_], **extra}, CREATED_AT)
