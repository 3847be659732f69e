"""End-to-end encrypted `message` objects: private objects for named recipients.

A message body carries a signed inner object (a proposal, a contract...) as
ciphertext. The content is encrypted once with a random content key
(XSalsa20-Poly1305, libsodium's `crypto_secretbox`); the content key is then
boxed to every recipient (`crypto_box`: X25519 between the sender's and the
recipient's keys, both converted from their Ed25519 identities, then
XSalsa20-Poly1305). Each recipient's box nonce is derived by hashing the body
nonce, the ciphertext's digest, the sender and the whole recipient list, so a
box opens only for the exact message it was made for: a recipient, who knows
the content key, still cannot alter the content, the recipient list or the
claimed sender without the other recipients noticing.

The outer envelope (type "message") is signed by the sender as usual: anyone
can check who sent it and to whom, only the recipients can read it.

Errors: `DecryptionFailed` (decryption_failed) when a message does not open
for the reader; `InvalidBody` for a body of the wrong shape; `BadDid` for a
recipient DID that is not an Ed25519 key; `NotAuthorized` when the inner
object's author is not the sender.
"""

import base64
import hashlib
import os
import re
from typing import Any, Callable, Mapping

import nacl.bindings as sodium
import nacl.exceptions

from protocol import envelope
from protocol.envelope import SignedObject
from protocol.errors import BadDid, DecryptionFailed, InvalidBody, NotAuthorized
from protocol.identity import Identity, is_did, public_key_from_did

MESSAGE_TYPE = "message"
CONTEXT = b"ki-message-v1\x00"
KEY_BYTES = 32  # content key
NONCE_BYTES = 24  # body nonce and every box nonce
MAC_BYTES = 16
WRAPPED_KEY_BYTES = KEY_BYTES + MAC_BYTES
MAX_RECIPIENTS = 20  # the same bound as the message body's shape in protocol.bodies
BODY_KEYS = frozenset({"recipients", "nonce", "ciphertext"})
RECIPIENT_KEYS = frozenset({"to", "key"})
_B64URL = re.compile(r"[A-Za-z0-9_-]*")

Random = Callable[[int], bytes]


def b64url_encode(data: bytes) -> str:
    """Base64url (RFC 4648 section 5) without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: object, what: str) -> bytes:
    """Strict inverse of `b64url_encode`; raises `InvalidBody` naming `what`.

    Padding, characters outside the alphabet and non-zero trailing bits are
    rejected, so every byte string has exactly one accepted spelling.
    """
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise InvalidBody(f"{what} must be unpadded base64url (RFC 4648 section 5)")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(data) != text:
        raise InvalidBody(f"{what} is not the canonical base64url spelling (non-zero trailing bits)")
    return data


def x25519_public_key(did: str) -> bytes:
    """The X25519 public key converted from the Ed25519 key that `did` names."""
    try:
        return sodium.crypto_sign_ed25519_pk_to_curve25519(public_key_from_did(did))
    except nacl.exceptions.RuntimeError:
        raise BadDid(f"{did} does not name a usable Ed25519 public key") from None


def x25519_secret_key(identity: Identity) -> bytes:
    """The X25519 secret key converted from `identity`'s Ed25519 key."""
    return sodium.crypto_sign_ed25519_sk_to_curve25519(identity.seed + identity.public_key)


def box_nonce(nonce: bytes, ciphertext: bytes, sender_did: str, to: list[str], recipient_did: str) -> bytes:
    """The nonce of the content-key box for `recipient_did` (spec: encryption).

    SHA-256 over the context, the body nonce, SHA-256(ciphertext), the sender
    and the recipient list, then the recipient, truncated to 24 bytes. Fresh
    per message (the body nonce is random) and per recipient (the DID), so no
    nonce repeats under one key pair; binding the rest makes a box useless
    for any other message.
    """
    header = (CONTEXT + nonce + hashlib.sha256(ciphertext).digest()
              + sender_did.encode("ascii") + b"\n" + "\n".join(to).encode("ascii"))
    return hashlib.sha256(header + b"\x00" + recipient_did.encode("ascii")).digest()[:NONCE_BYTES]


def seal(sender: Identity, recipients: list[str], plaintext: bytes, *, random: Random = os.urandom) -> dict[str, Any]:
    """Encrypt `plaintext` from `sender` to `recipients` (DIDs); return the message body.

    `random(n)` supplies n random bytes: first the 32-byte content key, then
    the 24-byte nonce. The sender SHOULD list themselves to keep a readable
    copy. Raises `InvalidBody` for an empty or repeating recipient list and
    `BadDid` for a recipient that is not an Ed25519 did:key.
    """
    recipient_keys = [x25519_public_key(did) for did in recipients]
    _check_recipient_list(recipients)
    content_key = random(KEY_BYTES)
    nonce = random(NONCE_BYTES)
    if len(content_key) != KEY_BYTES or len(nonce) != NONCE_BYTES:
        raise ValueError("the random source returned the wrong number of bytes")
    ciphertext = sodium.crypto_secretbox(plaintext, nonce, content_key)
    sender_secret = x25519_secret_key(sender)
    entries = []
    for did, public in zip(recipients, recipient_keys):
        wrap_nonce = box_nonce(nonce, ciphertext, sender.did, recipients, did)
        wrapped = sodium.crypto_box(content_key, wrap_nonce, public, sender_secret)
        entries.append({"to": did, "key": b64url_encode(wrapped)})
    return {"recipients": entries, "nonce": b64url_encode(nonce), "ciphertext": b64url_encode(ciphertext)}


def open_message(recipient: Identity, sender_did: str, body: Mapping[str, Any]) -> bytes:
    """Decrypt a message body addressed to `recipient` and sent by `sender_did`.

    Raises `InvalidBody` for a malformed body and `DecryptionFailed` when the
    message is not addressed to `recipient`, or was not sealed by `sender_did`
    for exactly this nonce, ciphertext and recipient list.
    """
    nonce, ciphertext, entries = parse_body(body)
    to = [did for did, _ in entries]
    wrapped = dict(entries).get(recipient.did)
    if wrapped is None:
        raise DecryptionFailed(f"message is not addressed to {recipient.did}")
    wrap_nonce = box_nonce(nonce, ciphertext, sender_did, to, recipient.did)
    try:
        content_key = sodium.crypto_box_open(
            wrapped, wrap_nonce, x25519_public_key(sender_did), x25519_secret_key(recipient))
    except nacl.exceptions.CryptoError:
        raise DecryptionFailed(
            f"the content key for {recipient.did} does not open as sent by {sender_did}: "
            "another sender, or the nonce, ciphertext, recipient list or key was altered") from None
    try:
        return sodium.crypto_secretbox_open(ciphertext, nonce, content_key)
    except nacl.exceptions.CryptoError:
        raise DecryptionFailed("the ciphertext does not open with its content key: it was altered") from None


def parse_body(body: Mapping[str, Any]) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Check a message body's shape; return (nonce, ciphertext, [(to, wrapped key)]).

    Raises `InvalidBody` with the first problem found. Does no cryptography,
    so hubs can run it on messages they cannot read.
    """
    # Unknown members are ignored, as everywhere in version 1 (spec: versioning);
    # none of them takes part in decryption, and the outer signature covers them.
    if not isinstance(body, dict) or not BODY_KEYS <= body.keys():
        raise InvalidBody("a message body needs the members recipients, nonce and ciphertext")
    nonce = b64url_decode(body["nonce"], "nonce")
    if len(nonce) != NONCE_BYTES:
        raise InvalidBody(f"nonce must be {NONCE_BYTES} bytes, not {len(nonce)}")
    ciphertext = b64url_decode(body["ciphertext"], "ciphertext")
    if len(ciphertext) < MAC_BYTES:
        raise InvalidBody(f"ciphertext must be at least {MAC_BYTES} bytes (the authenticator)")
    recipients = body["recipients"]
    if not isinstance(recipients, list):
        raise InvalidBody("recipients must be a list")
    entries = []
    for index, entry in enumerate(recipients):
        if not isinstance(entry, dict) or not RECIPIENT_KEYS <= entry.keys():
            raise InvalidBody(f"recipients[{index}] needs the members to and key")
        wrapped = b64url_decode(entry["key"], f"recipients[{index}].key")
        if len(wrapped) != WRAPPED_KEY_BYTES:
            raise InvalidBody(f"recipients[{index}].key must be {WRAPPED_KEY_BYTES} bytes, not {len(wrapped)}")
        entries.append((entry["to"], wrapped))
    _check_recipient_list([to for to, _ in entries])
    return nonce, ciphertext, entries


def seal_object(sender: Identity, recipients: list[str], inner: SignedObject, created_at: int,
                *, random: Random = os.urandom) -> SignedObject:
    """Encrypt the signed object `inner` to `recipients` in a "message" signed by `sender`.

    `inner` must be the sender's own object (`NotAuthorized` otherwise), since
    recipients reject any other (see `open_object`).
    """
    if inner.author != sender.did:
        raise NotAuthorized(f"{sender.did} may only send its own objects, not one by {inner.author}")
    body = seal(sender, recipients, inner.wire, random=random)
    return envelope.sign(sender, MESSAGE_TYPE, body, created_at)


def open_object(recipient: Identity, outer: SignedObject, now: int) -> SignedObject:
    """Decrypt a verified "message" object and verify the object inside at time `now`.

    Raises `InvalidBody` if `outer` is not a message, the plaintext is not a
    canonically encoded object or is itself a message; `DecryptionFailed` as
    `open_message`; any code `envelope.verify` gives for the inner object;
    `NotAuthorized` if the inner author is not the sender, which stops anyone
    re-wrapping another participant's private object as their own.
    """
    if outer.type != MESSAGE_TYPE:
        raise InvalidBody(f"a {outer.type!r} object is not a message")
    plaintext = open_message(recipient, outer.author, outer.body)
    inner = envelope.parse_object(plaintext, now)
    if inner.wire != plaintext:
        raise InvalidBody("the decrypted object is not in canonical form")
    if inner.type == MESSAGE_TYPE:
        raise InvalidBody("a message may not contain another message")
    if inner.author != outer.author:
        raise NotAuthorized(f"message from {outer.author} carries an object by {inner.author}; "
                            "a message may only carry its sender's own objects")
    return inner


def _check_recipient_list(recipients: list[Any]) -> None:
    if not recipients:
        raise InvalidBody("a message needs at least one recipient")
    if len(recipients) > MAX_RECIPIENTS:
        raise InvalidBody(f"a message has at most {MAX_RECIPIENTS} recipients, not {len(recipients)}")
    for index, did in enumerate(recipients):
        if not is_did(did):
            raise InvalidBody(f"recipients[{index}] is not an Ed25519 did:key")
    if len(set(recipients)) != len(recipients):
        raise InvalidBody("a recipient may be listed only once")
