"""Identities: Ed25519 keys and their `did:key` names.

A participant's id is `did:key:z` + base58btc(0xed 0x01 + 32-byte public key).
"""

from dataclasses import dataclass
from functools import cached_property, lru_cache

import nacl.bindings
import nacl.exceptions
import nacl.signing

from protocol.errors import BadDid

DID_PREFIX = "did:key:z"
ED25519_MULTICODEC = b"\xed\x01"
MAX_DID_LENGTH = 64  # an Ed25519 did:key is 56 characters; a little slack for a clear length error
_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}


def b58encode(data: bytes) -> str:
    """Base58 (Bitcoin alphabet) of `data`, leading zero bytes as '1'."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rem = divmod(number, 58)
        digits.append(_ALPHABET[rem])
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """Inverse of `b58encode`; raises `BadDid` on a character outside the alphabet."""
    number = 0
    for char in text:
        if char not in _INDEX:
            raise BadDid(f"{char!r} is not a base58btc character")
        number = number * 58 + _INDEX[char]
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def did_from_public_key(public_key: bytes) -> str:
    """The did:key naming a 32-byte Ed25519 public key."""
    if len(public_key) != 32:
        raise BadDid(f"an Ed25519 public key is 32 bytes, not {len(public_key)}")
    return DID_PREFIX + b58encode(ED25519_MULTICODEC + public_key)


def public_key_from_did(did: str) -> bytes:
    """The 32-byte Ed25519 public key a did:key names.

    Raises `BadDid` for a wrong prefix, bad base58, a multicodec other than
    ed25519-pub (0xed01) or a key that is not 32 bytes.
    """
    if not isinstance(did, str):
        raise BadDid(f"{str(did)[:80]!r} does not start with {DID_PREFIX!r}")
    return public_key_of(did)


# A hub verifies many objects by the same authors; base58 decoding in Python costs
# about a tenth of an Ed25519 verify. Failures raise, so they are never cached.
@lru_cache(maxsize=16384)
def public_key_of(did: str) -> bytes:
    """`public_key_from_did` for a `did` known to be a str, cached: what `envelope.verify` calls."""
    if not did.startswith(DID_PREFIX):
        raise BadDid(f"{did[:80]!r} does not start with {DID_PREFIX!r}")
    if len(did) > MAX_DID_LENGTH:  # base58 decoding is quadratic: refuse long input before it
        raise BadDid(f"a did:key is at most {MAX_DID_LENGTH} characters, not {len(did)}")
    raw = b58decode(did[len(DID_PREFIX):])
    if raw[:2] != ED25519_MULTICODEC:
        raise BadDid(f"multicodec prefix {raw[:2].hex()} is not ed25519-pub (ed01)")
    key = raw[2:]
    if len(key) != 32:
        raise BadDid(f"an Ed25519 public key is 32 bytes, not {len(key)}")
    return key


def is_did(value: object) -> bool:
    """Whether `value` is a well-formed Ed25519 did:key."""
    try:
        public_key_from_did(value)  # type: ignore[arg-type]
    except BadDid:
        return False
    return True


def verify_signature(did: str, message: bytes, signature: bytes) -> bool:
    """Whether `signature` is `did`'s Ed25519 signature over `message` (False for a bad did too)."""
    try:
        public_key = public_key_from_did(did)
    except BadDid:
        return False
    return signature_valid(public_key, message, signature)


def signature_valid(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether `signature` is the Ed25519 signature over `message` by the 32-byte `public_key`.

    libsodium's `crypto_sign_open` decides, so every node accepts the same signatures.
    """
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError):
        return False
    return True


@dataclass(frozen=True, repr=False)
class Identity:
    """An Ed25519 key pair: the private half of a did:key."""

    seed: bytes

    def __post_init__(self) -> None:
        if len(self.seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")

    @classmethod
    def generate(cls) -> "Identity":
        return cls(bytes(nacl.signing.SigningKey.generate()))

    @cached_property
    def _signing_key(self) -> nacl.signing.SigningKey:
        return nacl.signing.SigningKey(self.seed)

    @cached_property
    def public_key(self) -> bytes:
        return bytes(self._signing_key.verify_key)

    @cached_property
    def did(self) -> str:
        return did_from_public_key(self.public_key)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature over `message`."""
        return self._signing_key.sign(message).signature

    def __repr__(self) -> str:
        return f"Identity({self.did})"
