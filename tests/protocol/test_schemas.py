"""The JSON Schemas in specs/schemas and the spec's examples agree with the code."""

import importlib.util
import json
import pathlib
import re
from types import ModuleType

import pytest
from jsonschema import Draft202012Validator

from body_cases import BASE, CREATED_AT, INVALID, VALID, Bad
from protocol import envelope
from protocol.bodies import BODY_TYPES, OBJECT_TYPES, validate_body
from protocol.errors import InvalidBody

SPECS = pathlib.Path(__file__).resolve().parents[2] / "specs"
SCHEMAS = SPECS / "schemas"


def _load(path: pathlib.Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _load(SCHEMAS / "generate.py")
examples = _load(SPECS / "examples.py")


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads((SCHEMAS / name).read_text(encoding="utf-8")))


def test_schema_files_are_what_the_generator_writes() -> None:
    expected = generate.all_schemas()
    on_disk = {p.name for p in SCHEMAS.glob("*.json")}
    assert on_disk == set(expected) == {f"{t}.json" for t in OBJECT_TYPES} | {"envelope.json"}
    for name, schema in expected.items():
        assert (SCHEMAS / name).read_text(encoding="utf-8") == generate.render(schema), (
            f"{name} is stale: run .venv/bin/python specs/schemas/generate.py")


@pytest.mark.parametrize("name", sorted(p.name for p in SCHEMAS.glob("*.json")))
def test_every_schema_is_valid_2020_12(name: str) -> None:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("type_", sorted(OBJECT_TYPES))
def test_schema_names_the_rules_it_cannot_express(type_: str) -> None:
    description = json.loads((SCHEMAS / f"{type_}.json").read_text())["description"]
    for rule in BODY_TYPES[type_].rules:
        assert (rule.schema is not None) or rule.text in description


@pytest.mark.parametrize(("type_", "label", "body"), VALID, ids=[f"{t}: {label}" for t, label, _ in VALID])
def test_schema_accepts_valid_bodies(type_: str, label: str, body: dict) -> None:
    validate_body(type_, body, CREATED_AT)
    errors = list(validator(f"{type_}.json").iter_errors(body))
    assert not errors, errors[0].message


@pytest.mark.parametrize("case", INVALID, ids=str)
def test_schema_agrees_on_invalid_bodies(case: Bad) -> None:
    """The schema rejects what the code rejects, except the rules marked as code-only."""
    with pytest.raises(InvalidBody):
        validate_body(case.type, case.body, CREATED_AT)
    assert validator(f"{case.type}.json").is_valid(case.body) is not case.schema


def test_envelope_schema() -> None:
    obj = envelope.sign(examples.alice, "offer", BASE["offer"], CREATED_AT).as_dict()
    check = validator("envelope.json")
    assert check.is_valid(obj)
    for broken in ({**obj, "extra": 1}, {**obj, "v": 2}, {**obj, "type": "invoice"}, {**obj, "created_at": True},
                   {**obj, "sig": obj["sig"].upper()}, {k: v for k, v in obj.items() if k != "id"}):
        assert not check.is_valid(broken)


# --- the spec's examples stay true -----------------------------------------

SPEC_TEXT = (SPECS / "protocol.md").read_text(encoding="utf-8")
# A block that mentions "sig" shows a full object, so it must be one that verifies;
# other blocks (wire-format sketches with placeholders) are not checked here.
SIGNED_EXAMPLES = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", SPEC_TEXT, re.DOTALL)
                   if '"sig"' in block]


def test_spec_carries_the_generated_type_sections() -> None:
    assert examples.render() in SPEC_TEXT, "specs/protocol.md is stale: paste the output of specs/examples.py"


def test_spec_has_an_example_of_every_type() -> None:
    assert OBJECT_TYPES <= {obj["type"] for obj in SIGNED_EXAMPLES}


@pytest.mark.parametrize("obj", SIGNED_EXAMPLES, ids=lambda o: f"{o.get('type')}-{o.get('id', '')[:8]}")
def test_spec_examples_verify_and_match_their_schema(obj: dict) -> None:
    envelope.verify(obj, now=CREATED_AT)
    assert validator("envelope.json").is_valid(obj)
    errors = list(validator(f"{obj['type']}.json").iter_errors(obj["body"]))
    assert not errors, errors[0].message
