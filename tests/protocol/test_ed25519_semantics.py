"""Which Ed25519 signatures an object verifier accepts (spec section 4.3 step 8).

The edge-case vectors in objects.json are only worth something if each one
fails for the reason its name gives. An independent, pure-Python Edwards25519
(specs/ed25519_points.py) checks the equations they satisfy; the verifier
(libsodium's crypto_sign_open) must still refuse all but the last.
"""

import importlib.util
import json
import pathlib

import pytest

from protocol import message
from protocol.envelope import SIGNATURE_CONTEXT, verify
from protocol.errors import BadDid, ProtocolError
from protocol.identity import Identity, public_key_from_did

SPECS = pathlib.Path(__file__).resolve().parents[2] / "specs"
_spec = importlib.util.spec_from_file_location("ed25519_points", SPECS / "ed25519_points.py")
ed = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ed)

OBJECTS = json.loads((SPECS / "vectors" / "objects.json").read_text(encoding="utf-8"))
BY_NAME = {v["name"]: v for v in OBJECTS["vectors"]}
ALICE = Identity(bytes([1]) * 32)


def parts(name: str) -> tuple[bytes, bytes, bytes]:
    """(public key, signed message, signature) of a vector's object."""
    obj = BY_NAME[name]["object"]
    return (public_key_from_did(obj["author"]), SIGNATURE_CONTEXT + obj["id"].encode(),
            bytes.fromhex(obj["sig"]))


def code(name: str) -> str | None:
    try:
        verify(BY_NAME[name]["object"], OBJECTS["now"])
    except ProtocolError as error:
        return error.code
    return None


def test_reference_arithmetic_matches_libsodium() -> None:
    a, prefix = ed.secret_scalar(ALICE.seed)
    assert ed.encode(ed.mul(a, ed.BASE)) == ALICE.public_key
    assert ed.sign(a, prefix, ALICE.public_key, b"m") == ALICE.sign(b"m")
    assert ed.satisfies(ALICE.public_key, b"m", ALICE.sign(b"m"))
    assert not ed.satisfies(ALICE.public_key, b"n", ALICE.sign(b"m"))


def test_s_not_below_l_is_refused_though_the_equation_holds() -> None:
    key, msg, sig = parts("invalid/S not below L (S + L)")
    assert int.from_bytes(sig[32:], "little") >= ed.L
    assert ed.satisfies(key, msg, sig)
    assert code("invalid/S not below L (S + L)") == "bad_signature"


def test_small_order_key_is_refused_though_the_equation_holds() -> None:
    key, msg, sig = parts("invalid/author key of small order")
    assert ed.has_small_order(ed.decode(key))
    assert ed.satisfies(key, msg, sig)
    assert code("invalid/author key of small order") == "bad_signature"


def test_small_order_r_is_refused_though_the_equation_holds() -> None:
    key, msg, sig = parts("invalid/R of small order")
    assert ed.has_small_order(ed.decode(sig[:32])) and not ed.has_small_order(ed.decode(key))
    assert ed.satisfies(key, msg, sig)
    assert code("invalid/R of small order") == "bad_signature"


def test_key_that_is_no_point_passes_did_decoding_and_fails_the_signature() -> None:
    key, _, _ = parts("invalid/author key not a curve point")
    assert ed.decode(key) is None
    assert code("invalid/author key not a curve point") == "bad_signature"


def test_verification_is_cofactorless() -> None:
    key, msg, sig = parts("invalid/mixed-order key, cofactored equation only")
    assert ed.satisfies(key, msg, sig, cofactor=8) and not ed.satisfies(key, msg, sig)
    assert code("invalid/mixed-order key, cofactored equation only") == "bad_signature"


def test_mixed_order_key_is_not_refused_as_such() -> None:
    name = "valid/mixed-order key, cofactorless equation holds"
    key, msg, sig = parts(name)
    point = ed.decode(key)
    assert not ed.has_small_order(point) and not ed.equal(ed.mul(ed.L, point), ed.IDENTITY)
    assert ed.satisfies(key, msg, sig)
    assert code(name) is None


@pytest.mark.parametrize("name", ["invalid/author key of small order", "invalid/author key not a curve point",
                                  "valid/mixed-order key, cofactorless equation holds"])
def test_no_message_can_be_sealed_to_a_key_outside_the_prime_order_group(name: str) -> None:
    did = BY_NAME[name]["object"]["author"]
    with pytest.raises(BadDid):
        message.seal(ALICE, [ALICE.did, did], b"x")
    with pytest.raises(BadDid):
        message.x25519_public_key(did)


def test_a_message_claimed_by_such_a_sender_does_not_open_as_bad_did() -> None:
    bob = Identity(bytes([2]) * 32)
    body = message.seal(ALICE, [bob.did], b"x")
    sender = BY_NAME["valid/mixed-order key, cofactorless equation holds"]["object"]["author"]
    with pytest.raises(BadDid):
        message.open_message(bob, sender, body)
