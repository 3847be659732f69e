"""The key-possession challenge: a node proves it holds the key of the DID it claims.

A node that learns of a peer (e.g. by LAN discovery) sends
`POST /ki/v1/challenge` with `{"nonce": BASE64URL(32 random bytes)}`; the peer
answers 200 `{"did": DID, "sig": HEX}`, where `sig` is DID's Ed25519 signature
over the ASCII bytes of `"ki-challenge-v1:" + nonce`. The challenger picks a
fresh nonce every time, so an answer cannot be replayed and the answering side
needs no memory of nonces it has signed.

Three pieces: `answer_challenge` and `check_challenge_answer` (pure),
`challenge_handler` (the aiohttp route) and `challenge_peer` (the HTTP client
side). Every failure of a peer's answer is `ChallengeFailed`.
"""

import asyncio
import os
import re

import aiohttp
from aiohttp import web

from kinode.errors import ChallengeFailed
from kinode.federation.problem import problem, problem_from
from protocol import canonical
from protocol.errors import InvalidBody, Malformed, ProtocolError
from protocol.identity import Identity, is_did, verify_signature
from protocol.message import b64url_decode, b64url_encode

CHALLENGE_PATH = "/ki/v1/challenge"
CHALLENGE_PREFIX = "ki-challenge-v1:"
NONCE_BYTES = 32
# A request or answer is a few hundred bytes; anything bigger is not one.
MAX_CHALLENGE_BYTES = 1024
CHALLENGE_TIMEOUT = 5.0
_SIG_HEX = re.compile(r"[0-9a-f]{128}")


def new_nonce() -> str:
    """A fresh challenge nonce: 32 random bytes, unpadded base64url."""
    return b64url_encode(os.urandom(NONCE_BYTES))


def check_nonce(nonce_b64: object) -> str:
    """`nonce_b64` if it is the unpadded base64url of exactly 32 bytes, else `Malformed`."""
    try:
        raw = b64url_decode(nonce_b64, "nonce")
    except InvalidBody as error:
        raise Malformed(error.detail) from None
    if len(raw) != NONCE_BYTES:
        raise Malformed(f"nonce must encode exactly {NONCE_BYTES} bytes, not {len(raw)}")
    return nonce_b64  # type: ignore[return-value]


def challenge_message(nonce_b64: str) -> bytes:
    return (CHALLENGE_PREFIX + nonce_b64).encode("ascii")


def answer_challenge(identity: Identity, nonce_b64: str) -> dict:
    """The answer `{"did", "sig"}` that proves `identity` holds its key; `Malformed` for a bad nonce."""
    check_nonce(nonce_b64)
    return {"did": identity.did, "sig": identity.sign(challenge_message(nonce_b64)).hex()}


def check_challenge_answer(expected_did: str, nonce_b64: str, answer: object) -> None:
    """Raise `ChallengeFailed` unless `answer` is `expected_did`'s valid answer to `nonce_b64`."""
    if not isinstance(answer, dict) or set(answer) != {"did", "sig"}:
        raise ChallengeFailed('a challenge answer is a JSON object with exactly "did" and "sig"')
    did, sig = answer["did"], answer["sig"]
    if not isinstance(did, str) or not is_did(did):
        raise ChallengeFailed("the answer's did is not an Ed25519 did:key")
    if did != expected_did:
        raise ChallengeFailed(f"the peer answered as {did}, but advertised {expected_did}")
    if not isinstance(sig, str) or not _SIG_HEX.fullmatch(sig):
        raise ChallengeFailed("the answer's sig is not 128 lowercase hex digits")
    if not verify_signature(did, challenge_message(nonce_b64), bytes.fromhex(sig)):
        raise ChallengeFailed(f"the signature does not verify under {did}")


def challenge_handler(identity: Identity):
    """The `POST /ki/v1/challenge` handler answering for `identity`."""

    async def handle_challenge(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_CHALLENGE_BYTES:
            return problem("too_large", f"a challenge is at most {MAX_CHALLENGE_BYTES} bytes")
        raw = await request.content.read(MAX_CHALLENGE_BYTES + 1)
        if len(raw) > MAX_CHALLENGE_BYTES:
            return problem("too_large", f"a challenge is at most {MAX_CHALLENGE_BYTES} bytes")
        try:
            request_body = canonical.parse(raw)
            if not isinstance(request_body, dict) or set(request_body) != {"nonce"}:
                raise Malformed('a challenge is a JSON object with exactly one key, "nonce"')
            return web.json_response(answer_challenge(identity, request_body["nonce"]))
        except ProtocolError as error:
            return problem_from(error)

    return handle_challenge


async def challenge_peer(session: aiohttp.ClientSession, base_url: str, expected_did: str,
                         timeout: float = CHALLENGE_TIMEOUT) -> None:
    """Challenge the node at `base_url` to prove it holds `expected_did`'s key.

    Raises `ChallengeFailed` for any failure: unreachable, a non-200 status,
    an oversized or unparsable answer, or an answer that does not verify.
    """
    nonce = new_nonce()
    url = base_url.rstrip("/") + CHALLENGE_PATH
    try:
        async with asyncio.timeout(timeout):
            async with session.post(url, json={"nonce": nonce}, allow_redirects=False) as response:
                raw = await response.content.read(MAX_CHALLENGE_BYTES + 1)
                status = response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        raise ChallengeFailed(f"challenging {url} failed: {error!r}") from None
    if status != 200:
        raise ChallengeFailed(f"{url} answered the challenge with status {status}")
    if len(raw) > MAX_CHALLENGE_BYTES:
        raise ChallengeFailed(f"{url} sent a challenge answer over {MAX_CHALLENGE_BYTES} bytes")
    try:
        answer = canonical.parse(raw)
    except ProtocolError as error:
        raise ChallengeFailed(f"{url} sent an unparsable challenge answer: {error.detail}") from None
    check_challenge_answer(expected_did, nonce, answer)
