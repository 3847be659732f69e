"""Identities: Ed25519 against RFC 8032, did:key against the W3C did:key vectors."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import BadDid
from protocol.identity import (
    DID_PREFIX, ED25519_MULTICODEC, Identity, b58decode, b58encode, did_from_public_key,
    is_did, public_key_from_did, verify_signature,
)

# RFC 8032 section 7.1: secret key, public key, message, signature (hex).
RFC8032 = {
    "TEST 1": (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    "TEST 2": (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    "TEST 3": (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    "TEST SHA(abc)": (
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
        "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
    ),
}

# W3C CCG did:key test vectors (test-vectors/ed25519-x25519.json): seed, did, publicKeyBase58.
DID_KEY_VECTORS = [
    ("00" * 32, "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
     "4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS"),
    ("00" * 31 + "01", "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG",
     "6ASf5EcmmEHTgDJ4X4ZT5vT6iHVJBXPg5AN5YoTCpGWt"),
    ("00" * 31 + "02", "did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf",
     "8pM1DN3RiT8vbom5u1sNryaNT1nyL8CTTW3b5PwWXRBH"),
    ("00" * 31 + "03", "did:key:z6MkvqoYXQfDDJRv8L4wKzxYeuKyVZBfi9Qo6Ro8MiLH3kDQ",
     "HPYVwAQmskwT1qEEeRzhoomyfyupJGASQQtCXSNG8XS2"),
    ("00" * 31 + "04", "did:key:z6MkwW6aqMnjgrhJXFUko3NnZPGzVpkNzhYK7yEhnsibmLwL",
     "J3qYF7YJMKCqQke47UQwiHizgFUXapHxRxKmxbkar89x"),
]


@pytest.mark.parametrize("name", sorted(RFC8032))
def test_rfc8032_vectors(name):
    secret, public, message, signature = (bytes.fromhex(h) for h in RFC8032[name])
    identity = Identity(secret)
    assert identity.public_key == public
    assert identity.sign(message) == signature
    did = did_from_public_key(public)
    assert identity.did == did
    assert verify_signature(did, message, signature)
    assert not verify_signature(did, message + b"\0", signature)
    tampered = bytes([signature[0] ^ 1]) + signature[1:]
    assert not verify_signature(did, message, tampered)


def test_sha_abc_message_is_sha512_of_abc():
    assert RFC8032["TEST SHA(abc)"][2] == hashlib.sha512(b"abc").hexdigest()


def test_signature_from_another_key_fails():
    secret, _, message, signature = (bytes.fromhex(h) for h in RFC8032["TEST 2"])
    other = Identity(bytes.fromhex(RFC8032["TEST 3"][0]))
    assert not verify_signature(other.did, message, signature)


@pytest.mark.parametrize("bad_signature", [b"", b"\0" * 63, b"\0" * 65, b"\0" * 64])
def test_malformed_signatures_do_not_verify(bad_signature):
    assert not verify_signature(Identity(b"\1" * 32).did, b"m", bad_signature)


def test_verify_signature_with_bad_did_is_false():
    assert not verify_signature("did:key:nope", b"", b"\0" * 64)


@pytest.mark.parametrize("seed, did, public_b58", DID_KEY_VECTORS)
def test_w3c_did_key_vectors(seed, did, public_b58):
    public = b58decode(public_b58)
    assert Identity(bytes.fromhex(seed)).did == did
    assert did_from_public_key(public) == did
    assert public_key_from_did(did) == public
    assert b58encode(public) == public_b58
    assert is_did(did)


def _did_of(raw: bytes) -> str:
    return DID_PREFIX + b58encode(raw)


GOOD_KEY = b58decode(DID_KEY_VECTORS[0][2])
BAD_DIDS = {
    "did:web prefix": "did:web:example.com",
    "multibase other than z": "did:key:f" + (ED25519_MULTICODEC + GOOD_KEY).hex(),
    "no multibase prefix": "did:key:" + b58encode(ED25519_MULTICODEC + GOOD_KEY),
    "upper-case method": DID_KEY_VECTORS[0][1].replace("did:key", "DID:KEY"),
    "x25519 multicodec": _did_of(b"\xec\x01" + GOOD_KEY),
    "secp256k1 multicodec": _did_of(b"\xe7\x01" + b"\2" + GOOD_KEY),
    "no multicodec": _did_of(GOOD_KEY),
    "key too short": _did_of(ED25519_MULTICODEC + GOOD_KEY[:31]),
    "key too long": _did_of(ED25519_MULTICODEC + GOOD_KEY + b"\0"),
    "empty": "did:key:z",
    "base58 has 0": DID_KEY_VECTORS[0][1][:-1] + "0",
    "base58 has O": DID_KEY_VECTORS[0][1][:-1] + "O",
    "base58 has I": DID_KEY_VECTORS[0][1][:-1] + "I",
    "base58 has l": DID_KEY_VECTORS[0][1][:-1] + "l",
    "non-ASCII": DID_KEY_VECTORS[0][1][:-1] + "é",
    "trailing space": DID_KEY_VECTORS[0][1] + " ",
}


@pytest.mark.parametrize("name", sorted(BAD_DIDS))
def test_bad_dids_raise_bad_did(name):
    did = BAD_DIDS[name]
    with pytest.raises(BadDid) as err:
        public_key_from_did(did)
    assert err.value.code == "bad_did"
    assert not is_did(did)


@pytest.mark.parametrize("value", [None, 42, b"did:key:z6Mk"])
def test_non_strings_are_not_dids(value):
    with pytest.raises(BadDid):
        public_key_from_did(value)
    assert not is_did(value)


@pytest.mark.parametrize("length", [0, 31, 33])
def test_did_from_public_key_checks_length(length):
    with pytest.raises(BadDid):
        did_from_public_key(b"\1" * length)


def test_seed_must_be_32_bytes():
    with pytest.raises(ValueError):
        Identity(b"\1" * 31)


def test_repr_does_not_leak_the_seed():
    identity = Identity(bytes(range(32)))
    assert bytes(range(32)).hex() not in repr(identity)
    assert identity.did in repr(identity)


@given(st.binary(max_size=64), st.integers(0, 8))
def test_base58_round_trip_keeps_leading_zeros(data, zeros):
    raw = b"\0" * zeros + data
    text = b58encode(raw)
    assert b58decode(text) == raw
    assert len(text) - len(text.lstrip("1")) == len(raw) - len(raw.lstrip(b"\0"))


@given(st.binary(min_size=32, max_size=32))
def test_did_round_trip(public_key):
    did = did_from_public_key(public_key)
    assert did.startswith("did:key:z6Mk")
    assert public_key_from_did(did) == public_key


def test_base58_known_values():
    # Bitcoin base58 examples: "Hello World!" and a leading-zero case.
    assert b58encode(b"Hello World!") == "2NEpo7TZRRrLZSi2U"
    assert b58encode(b"\0\0\x28\x7f\xb4\xcd") == "11233QC4"
    assert b58encode(b"") == "" and b58decode("") == b""
