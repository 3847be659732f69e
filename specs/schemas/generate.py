"""Write the JSON Schemas in this directory from `protocol.bodies`' table.

    .venv/bin/python specs/schemas/generate.py

One schema per object type validates that type's `body`; `envelope.json`
validates the envelope. tests/protocol/test_schemas.py fails when a file here
differs from what this script writes, and checks that the schemas and the
Python validator agree on sample bodies.
"""

import json
import pathlib
from typing import Any

from protocol import envelope
from protocol.bodies import BODY_TYPES, OBJECT_TYPES
from protocol.shapes import DID, OBJECT_ID, TIMESTAMP, ListOf

HERE = pathlib.Path(__file__).parent
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def body_schema(type_: str) -> dict[str, Any]:
    """The JSON Schema of the body of `type_`."""
    spec = BODY_TYPES[type_]
    defs: dict[str, Any] = {}
    shape = spec.fields.schema(defs)
    python_only = [rule.text for rule in spec.rules if rule.schema is None]
    python_only += [f"`{name}[].{s.distinct}` MUST be distinct across items."
                    for name, (s, _) in spec.fields.members.items()
                    if isinstance(s, ListOf) and isinstance(s.distinct, str)]
    if "did" in defs:
        python_only.append("Every did MUST decode to an Ed25519 public key (multicodec ed01).")
    description = (f"{spec.purpose} Members this schema does not list are allowed and MUST be kept "
                   "(they are covered by the signature).")
    if python_only:
        description += (" Rules this schema cannot express, which implementations MUST also check: "
                        + " ".join(python_only))
    schema: dict[str, Any] = {"$schema": DRAFT, "$id": f"urn:ki:v1:schema:{type_}",
                              "title": f"ki v1 {type_} body", "description": description, **shape}
    rules = [rule.schema for rule in spec.rules if rule.schema is not None]
    if rules:
        schema["allOf"] = rules
    schema["$defs"] = dict(sorted(defs.items()))
    return schema


def envelope_schema() -> dict[str, Any]:
    """The JSON Schema of the signed-object envelope (the body is checked by `<type>.json`)."""
    defs: dict[str, Any] = {}
    return {
        "$schema": DRAFT, "$id": "urn:ki:v1:schema:envelope", "title": "ki v1 signed object",
        "description": "The envelope of every object. Validate `body` with the schema named after `type` "
                       "(e.g. offer.json). The id, signature, size and clock rules are in specs/protocol.md.",
        "type": "object", "additionalProperties": False,
        "required": sorted(envelope.ENVELOPE_KEYS),
        "properties": {
            "v": {"const": envelope.VERSION},
            "type": {"enum": sorted(OBJECT_TYPES)},
            "author": DID.schema(defs),
            "created_at": TIMESTAMP.schema(defs),
            "body": {"type": "object", "$ref": "#/$defs/ascii_keys"},
            "id": OBJECT_ID.schema(defs),
            "sig": {"type": "string", "maxLength": 128, "pattern": "^[0-9a-f]{128}$"},
        },
        "$defs": dict(sorted({**defs, "ascii_keys": ASCII_KEYS}.items())),
    }


# Object keys anywhere in an object are ASCII (protocol.md 2.1); a non-ASCII key is `malformed`.
ASCII_KEYS = {
    "description": "every object key, at any depth, is ASCII",
    "propertyNames": {"pattern": "^[\\u0000-\\u007f]*$"},
    "additionalProperties": {"$ref": "#/$defs/ascii_keys"},
    "items": {"$ref": "#/$defs/ascii_keys"},
}


def all_schemas() -> dict[str, dict[str, Any]]:
    """File name -> schema, for every file this script writes."""
    out = {f"{type_}.json": body_schema(type_) for type_ in sorted(OBJECT_TYPES)}
    out["envelope.json"] = envelope_schema()
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    for name, schema in all_schemas().items():
        (HERE / name).write_text(render(schema), encoding="utf-8")
        print("wrote", HERE / name)
