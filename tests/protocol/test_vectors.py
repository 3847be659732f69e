"""The committed vectors in specs/vectors/ hold for our implementation.

One parametrized loop per file, negatives included. The files are never
regenerated here: `make vectors` does that, and a diff shows what changed.
"""

import json
import pathlib

import pytest

from protocol import canonical
from protocol.envelope import parse_object, verify
from protocol.errors import ProtocolError
from protocol.identity import Identity, public_key_from_did

VECTORS = pathlib.Path(__file__).resolve().parents[2] / "specs" / "vectors"


def load(name: str) -> dict:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def cases(name: str) -> list:
    return [pytest.param(v, id=v["name"]) for v in load(name)["vectors"]]


@pytest.mark.parametrize("vector", cases("canonical.json"))
def test_canonical_vector(vector: dict) -> None:
    text = bytes.fromhex(vector["input_hex"]) if "input_hex" in vector else vector["input"].encode("utf-8")
    if "error" in vector:
        with pytest.raises(ProtocolError) as caught:
            canonical.parse(text)
        assert caught.value.code == vector["error"]
    else:
        assert canonical.encode(canonical.parse(text)).decode("utf-8") == vector["output"]


@pytest.mark.parametrize("vector", cases("didkey.json"))
def test_didkey_vector(vector: dict) -> None:
    if "error" in vector:
        with pytest.raises(ProtocolError) as caught:
            public_key_from_did(vector["did"])
        assert caught.value.code == vector["error"]
        return
    identity = Identity(bytes.fromhex(vector["seed"]))
    assert identity.public_key.hex() == vector["public_key"]
    assert identity.did == vector["did"]
    assert public_key_from_did(vector["did"]).hex() == vector["public_key"]


OBJECTS = load("objects.json")


@pytest.mark.parametrize("vector", cases("objects.json"))
def test_object_vector(vector: dict) -> None:
    now = OBJECTS["now"]
    raw = vector["raw"] if "raw" in vector else json.dumps(vector["object"])
    if vector["valid"]:
        obj = parse_object(raw, now)
        assert obj.id == vector["object"]["id"]
        assert obj.wire.decode("utf-8") == vector["wire"]
        assert verify(json.loads(vector["wire"]), now) == obj
    else:
        with pytest.raises(ProtocolError) as caught:
            parse_object(raw, now)
        assert caught.value.code == vector["error"], caught.value.detail


def test_object_vectors_cover_the_required_codes() -> None:
    valid = [v for v in OBJECTS["vectors"] if v["valid"]]
    codes = {v["error"] for v in OBJECTS["vectors"] if not v["valid"]}
    assert len(valid) >= 10 and len({v["object"]["type"] for v in valid}) >= 10
    assert {"bad_id", "bad_signature", "duplicate_key", "not_canonical_number", "too_large",
            "clock_skew", "unknown_type", "invalid_body", "malformed"} <= codes


@pytest.mark.parametrize("name", ["canonical.json", "didkey.json", "objects.json", "encryption.json",
                                  "lifecycle_projects.json", "lifecycle_contracts.json", "receipts.json"])
def test_the_generator_reproduces_the_committed_file(name: str) -> None:
    """A protocol change that alters a vector must come with the regenerated file (make vectors)."""
    import importlib.util
    import sys

    specs = VECTORS.parent
    sys.path.insert(0, str(specs))
    try:
        spec = importlib.util.spec_from_file_location("generate_vectors", specs / "generate_vectors.py")
        generator = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(generator)
        expected = generator.render(generator.all_generators()[name]())
    finally:
        sys.path.remove(str(specs))
    assert (VECTORS / name).read_text(encoding="utf-8") == expected
