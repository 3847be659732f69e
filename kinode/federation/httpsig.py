"""aiohttp glue for request signatures (protocol.httpsig).

Client side::

    signed = sign_request(identity, "POST", "http://hub:8080/ki/v1/inbox", body=raw)
    async with session.request(signed.method, signed.url, headers=signed.headers,
                               data=signed.body) as response: ...

Pass `signed.url` (a yarl.URL), not the original string: the signature
covers the target URI exactly as aiohttp will put it on the wire.

Server side, in a handler or middleware::

    body = await request.read()
    did = verify_aiohttp_request(request, body, int(time.time()), replay_cache)

It raises the protocol's errors (bad_request_signature, stale_signature,
replayed_signature, bad_content_digest); `signature_problem` turns one into
an application/problem+json response.
"""

import time
from dataclasses import dataclass
from typing import Mapping

from aiohttp import web
from yarl import URL

from kinode.federation.problem import problem, status_for
from protocol.errors import ProtocolError
from protocol.httpsig import (
    LABEL, TAG, ReplayCache, VerifiedRequest, combine_fields, verify_request,
)
from protocol.httpsig import sign_request as _sign
from protocol.identity import Identity

# RFC 9110 wants a challenge with a 401; Accept-Signature (RFC 9421 §5.1) says what to sign.
CHALLENGE = {
    "WWW-Authenticate": f'Signature realm="{LABEL}"',
    "Accept-Signature": f'{LABEL}=("@method" "@target-uri");tag="{TAG}"',
}


@dataclass(frozen=True)
class SignedRequest:
    """A request ready for `ClientSession.request(method, url, headers=, data=)`."""

    method: str
    url: URL
    headers: dict[str, str]
    body: bytes


def target_uri(url: URL) -> str:
    """The @target-uri aiohttp's client will send for `url`: scheme, the Host
    it sends, and the raw path and query of its request line."""
    return f"{url.scheme}://{url.host_port_subcomponent}{url.raw_path_qs}"


def sign_request(
    identity: Identity, method: str, url: str | URL, headers: Mapping[str, str] | None = None,
    body: bytes = b"", *, now: int | None = None, nonce: str | None = None,
) -> SignedRequest:
    """Sign an outgoing request with the node's identity (clock defaults to now)."""
    url = URL(url)
    headers = dict(headers or {})
    now = int(time.time()) if now is None else now
    fields = combine_fields(headers.items())
    added = _sign(identity, method, target_uri(url), fields, body, now, nonce)
    dropped = {name.lower() for name in added}
    kept = {name: value for name, value in headers.items() if name.lower() not in dropped}
    return SignedRequest(method, url, {**kept, **added}, body)


def request_target_uri(request: web.BaseRequest, origin: str | None = None) -> str:
    """The target URI a request reached: `origin` (e.g. "https://hub.example",
    for a node behind a TLS-terminating proxy) or the scheme and Host it
    arrived with, followed by the raw request-target."""
    base = origin.rstrip("/") if origin else f"{request.scheme}://{request.host}"
    return base + request.raw_path


def verify_aiohttp_request_fully(
    request: web.BaseRequest, body: bytes, now: int, replay_cache: ReplayCache,
    *, origin: str | None = None,
) -> VerifiedRequest:
    """Like `verify_aiohttp_request`, returning everything the signature established."""
    fields = combine_fields(request.headers.items())
    return verify_request(
        request.method, request_target_uri(request, origin), fields, body, int(now), replay_cache
    )


def verify_aiohttp_request(
    request: web.BaseRequest, body: bytes, now: int, replay_cache: ReplayCache,
    *, origin: str | None = None,
) -> str:
    """Verify the "ki" signature of a received request; return the signer's did.

    `body` is the request body already read (`await request.read()`); `now`
    Unix seconds. Raises a ProtocolError: bad_request_signature, stale_signature,
    replayed_signature or bad_content_digest.
    """
    return verify_aiohttp_request_fully(request, body, now, replay_cache, origin=origin).did


def signature_problem(error: ProtocolError) -> web.Response:
    """The problem+json response for a refused request signature (statuses from
    kinode.federation.problem), with the signature challenge on a 401."""
    headers = dict(CHALLENGE) if status_for(error.code) == 401 else None
    return problem(error.code, error.detail, headers=headers)
