"""Request signatures between nodes: RFC 9421 HTTP Message Signatures, ki profile.

A node signs a request with its identity key; the receiver learns which
did:key sent it and that method, full target URI and body arrived unchanged.

Signature-Input: ki=("@method" "@target-uri" "content-digest");created=C;
    expires=E;nonce="N";alg="ed25519";keyid="did:key:z6Mk...";tag="ki-v1"
Signature:       ki=:BASE64(Ed25519 signature over the signature base):
Content-Digest:  sha-256=:BASE64(SHA-256 of the body bytes):     (RFC 9530)

Sans-I/O: the caller passes the clock (`now`, Unix seconds), the nonce and
a `ReplayCache`. Verification runs its checks in a fixed order so every
implementation reports the same code for the same request:
bad_request_signature (headers, profile) → stale_signature (window) →
bad_request_signature (Ed25519) → bad_content_digest → replayed_signature.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Iterable, Mapping, Protocol
from urllib.parse import SplitResult, urlsplit

from protocol import structured_fields as sf
from protocol.errors import (
    BadContentDigest, BadRequestSignature, Malformed, StaleSignature,
)
from protocol.identity import Identity, is_did, verify_signature

LABEL = "ki"
TAG = "ki-v1"
ALGORITHM = "ed25519"
MAX_LIFETIME = 300
MAX_FUTURE_SKEW = 60
MIN_NONCE_BYTES = 16
MAX_NONCE_CHARS = 128
PARAM_ORDER = ("created", "expires", "nonce", "alg", "keyid", "tag")
REQUIRED_COMPONENTS = ("@method", "@target-uri")
DERIVED_COMPONENTS = frozenset({
    "@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query",
})
_NONCE = re.compile(r"[A-Za-z0-9_-]+")
_FIELD_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


class ReplayCache(Protocol):
    """Remembers (keyid, nonce) pairs until their signature expires."""

    def remember(self, keyid: str, nonce: str, created: int, expires: int, now: int) -> None:
        """Record the pair; raise ReplayedSignature if it was seen before (or
        StaleSignature if the cache can no longer vouch for signatures this old)."""


@dataclass(frozen=True)
class VerifiedRequest:
    """What a valid request signature established."""

    did: str
    nonce: str
    created: int
    expires: int
    components: tuple[str, ...]


def combine_fields(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header field lines → {lowercase name: values joined by ", "} (RFC 9421 §2.1)."""
    fields: dict[str, str] = {}
    for name, value in pairs:
        key, value = name.lower(), value.strip(" \t")
        fields[key] = f"{fields[key]}, {value}" if key in fields else value
    return fields


def normalize_target_uri(uri: str) -> str:
    """The @target-uri value: scheme and host lowercased, the scheme's default
    port dropped, an empty path as "/", no fragment; path and query exactly as sent."""
    parts = _split(uri)
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.netloc or "@" in parts.netloc:
        raise BadRequestSignature(f"{uri!r} is not an absolute http(s) URI without userinfo")
    scheme, authority = parts.scheme.lower(), parts.netloc.lower()
    host, _, port = authority.rpartition(":")
    if host and not port.strip("0123456789") and port == _DEFAULT_PORTS[scheme]:
        authority = host
    query = f"?{parts.query}" if "?" in uri.split("#", 1)[0] else ""
    return f"{scheme}://{authority}{parts.path or '/'}{query}"


def content_digest(body: bytes) -> str:
    """The Content-Digest field value for `body`: `sha-256=:BASE64:`."""
    return sf.serialize_dictionary({"sha-256": sf.Item(hashlib.sha256(body).digest())})


def check_content_digest(field_value: str | None, body: bytes) -> None:
    """Raise BadContentDigest unless `field_value` holds a sha-256 member equal
    to SHA-256(body). Other algorithms are checked when known (sha-512), else ignored."""
    if field_value is None:
        raise BadContentDigest("the request has a body but no Content-Digest")
    try:
        members = sf.parse_dictionary(field_value)
    except Malformed as exc:
        raise BadContentDigest(f"Content-Digest is not a structured dictionary: {exc}") from None
    if "sha-256" not in members:
        raise BadContentDigest("Content-Digest has no sha-256 member")
    for name, hasher in (("sha-256", hashlib.sha256), ("sha-512", hashlib.sha512)):
        member = members.get(name)
        if member is None:
            continue
        if not isinstance(member, sf.Item) or not isinstance(member.value, bytes):
            raise BadContentDigest(f"Content-Digest {name} is not a byte sequence")
        if not secrets.compare_digest(member.value, hasher(body).digest()):
            raise BadContentDigest(f"the body does not match its Content-Digest {name}")


def signature_base(
    method: str, target_uri: str, fields: Mapping[str, str],
    components: Iterable[str], signature_params: str,
) -> bytes:
    """The RFC 9421 §2.5 signature base for a request.

    `fields` maps lowercase field names to combined values (see
    `combine_fields`); `signature_params` is the serialized inner list that
    becomes the "@signature-params" line. Components are bare names: derived
    ones from DERIVED_COMPONENTS, or field names (no ;sf/;key/;bs/;req).
    """
    lines = []
    for name in components:
        lines.append(f"{sf.serialize_bare_item(name)}: {_component_value(name, method, target_uri, fields)}")
    lines.append(f'"@signature-params": {signature_params}')
    base = "\n".join(lines)
    if not base.isascii() or "\r" in base:
        raise BadRequestSignature("a covered component is not printable ASCII on one line")
    return base.encode("ascii")


def _component_value(name: str, method: str, target_uri: str, fields: Mapping[str, str]) -> str:
    if not name.startswith("@"):
        if not _FIELD_NAME.fullmatch(name):
            raise BadRequestSignature(f"{name!r} is not a lowercase field name")
        if name not in fields:
            raise BadRequestSignature(f"covered field {name!r} is not in the request")
        value = fields[name]
    else:
        value = _derived_value(name, method, target_uri)
    if "\n" in value:
        raise BadRequestSignature(f"component {name!r} spans lines")
    return value


def _split(uri: str) -> SplitResult:
    try:
        return urlsplit(uri)
    except ValueError:  # e.g. an unclosed "[" in a Host field an attacker chose
        raise BadRequestSignature(f"{uri!r} is not a URI") from None


def _derived_value(name: str, method: str, target_uri: str) -> str:
    parts = _split(target_uri)
    query = "?" + parts.query
    values = {
        "@method": method,
        "@target-uri": target_uri,
        "@authority": parts.netloc,
        "@scheme": parts.scheme,
        "@path": parts.path or "/",
        "@query": query,
        "@request-target": (parts.path or "/") + (query if "?" in target_uri else ""),
    }
    if name not in values:
        raise BadRequestSignature(f"derived component {name!r} is not supported")
    return values[name]


def sign_request(
    identity: Identity, method: str, target_uri: str, fields: Mapping[str, str],
    body: bytes, now: int, nonce: str | None = None, lifetime: int = MAX_LIFETIME,
) -> dict[str, str]:
    """Sign a request; return the header fields to add to it.

    Covers @method and @target-uri, plus content-digest when `body` is not
    empty (a Content-Digest field is then part of the result). `nonce`
    defaults to 16 fresh random bytes, base64url without padding.
    """
    if not 0 < lifetime <= MAX_LIFETIME:
        raise ValueError(f"a signature lives 1..{MAX_LIFETIME} seconds")
    nonce = secrets.token_urlsafe(MIN_NONCE_BYTES) if nonce is None else nonce
    if not _is_nonce(nonce):
        raise ValueError(f"a nonce is base64url of {MIN_NONCE_BYTES}+ bytes, at most {MAX_NONCE_CHARS} chars")
    target_uri = normalize_target_uri(target_uri)
    added = {"Content-Digest": content_digest(body)} if body else {}
    all_fields = {**{k.lower(): v for k, v in fields.items()}, **{k.lower(): v for k, v in added.items()}}
    components = REQUIRED_COMPONENTS + (("content-digest",) if body else ())
    params: sf.Params = {
        "created": now, "expires": now + lifetime, "nonce": nonce,
        "alg": ALGORITHM, "keyid": identity.did, "tag": TAG,
    }
    inner = sf.InnerList(tuple(sf.Item(name) for name in components), params)
    params_value = sf.serialize_member(inner)
    signature = identity.sign(signature_base(method, target_uri, all_fields, components, params_value))
    added["Signature-Input"] = sf.serialize_dictionary({LABEL: inner})
    added["Signature"] = sf.serialize_dictionary({LABEL: sf.Item(signature)})
    return added


def verify_request(
    method: str, target_uri: str, fields: Mapping[str, str], body: bytes,
    now: int, replay_cache: ReplayCache,
) -> VerifiedRequest:
    """Check the "ki" signature of a received request; return who signed it.

    `target_uri` is the URI the request reached, as this node reconstructs
    it; `fields` are the received header fields (`combine_fields`); `body`
    the received body bytes. The replay cache is consulted last, so only a
    request that passed every other check can occupy it.
    """
    inner, signature = _select_signature(fields)
    components = _checked_components(inner, body)
    params = _checked_params(inner.params)
    created, expires = params["created"], params["expires"]
    if expires - created > MAX_LIFETIME:
        raise StaleSignature(f"the signature window is {expires - created} s; at most {MAX_LIFETIME} s")
    if created > now + MAX_FUTURE_SKEW:
        raise StaleSignature(f"the signature is created {created - now} s in the future")
    if now > expires:
        raise StaleSignature(f"the signature expired {now - expires} s ago")
    base = signature_base(method, normalize_target_uri(target_uri), fields, components, sf.serialize_member(inner))
    if not verify_signature(params["keyid"], base, signature):
        raise BadRequestSignature("the Ed25519 signature does not match the request")
    if body or "content-digest" in components:
        check_content_digest(fields.get("content-digest"), body)
    replay_cache.remember(params["keyid"], params["nonce"], created, expires, now)
    return VerifiedRequest(params["keyid"], params["nonce"], created, expires, components)


def _select_signature(fields: Mapping[str, str]) -> tuple[sf.InnerList, bytes]:
    try:
        inputs = sf.parse_dictionary(fields["signature-input"])
        signatures = sf.parse_dictionary(fields["signature"])
    except KeyError as missing:
        raise BadRequestSignature(f"the request has no {missing.args[0]} field") from None
    except Malformed as exc:
        raise BadRequestSignature(f"a signature field is not a structured dictionary: {exc}") from None
    inner, signature = inputs.get(LABEL), signatures.get(LABEL)
    if not isinstance(inner, sf.InnerList):
        raise BadRequestSignature(f'Signature-Input has no inner list labelled "{LABEL}"')
    if not isinstance(signature, sf.Item) or not isinstance(signature.value, bytes) or signature.params:
        raise BadRequestSignature(f'Signature has no byte sequence labelled "{LABEL}"')
    if len(signature.value) != 64:
        raise BadRequestSignature("an Ed25519 signature is 64 bytes")
    return inner, signature.value


def _checked_components(inner: sf.InnerList, body: bytes) -> tuple[str, ...]:
    names = []
    for item in inner.items:
        if type(item.value) is not str or item.params:
            raise BadRequestSignature("covered components are plain strings without parameters")
        names.append(item.value)
    if len(set(names)) != len(names):
        raise BadRequestSignature("a component is covered twice")
    for name in names:
        if name.startswith("@") and name not in DERIVED_COMPONENTS:
            raise BadRequestSignature(f"derived component {name!r} is not supported")
    required = REQUIRED_COMPONENTS + (("content-digest",) if body else ())
    missing = [name for name in required if name not in names]
    if missing:
        raise BadRequestSignature(f"the signature does not cover {', '.join(missing)}")
    return tuple(names)


def _checked_params(params: sf.Params) -> dict:
    if set(params) != set(PARAM_ORDER):
        raise BadRequestSignature(f"signature parameters must be exactly {', '.join(PARAM_ORDER)}")
    for name in ("created", "expires"):
        if type(params[name]) is not int or params[name] < 0:
            raise BadRequestSignature(f"{name} is a non-negative integer")
    for name in ("nonce", "alg", "keyid", "tag"):
        if type(params[name]) is not str:
            raise BadRequestSignature(f"{name} is a string")
    if params["alg"] != ALGORITHM or params["tag"] != TAG:
        raise BadRequestSignature(f'alg must be "{ALGORITHM}" and tag "{TAG}"')
    if not is_did(params["keyid"]):
        raise BadRequestSignature("keyid is not an Ed25519 did:key")
    if not _is_nonce(params["nonce"]):
        raise BadRequestSignature(f"nonce is base64url of at least {MIN_NONCE_BYTES} bytes")
    if params["expires"] <= params["created"]:
        raise BadRequestSignature("expires is not after created")
    return dict(params)


def _is_nonce(nonce: str) -> bool:
    # 22 base64url characters carry 16 bytes; the upper bound keeps cache entries small.
    return 22 <= len(nonce) <= MAX_NONCE_CHARS and _NONCE.fullmatch(nonce) is not None
