"""The key-possession challenge: the pure answer and check, the handler, the client."""

import asyncio
import base64
import json

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from kinode.federation.challenge import (
    CHALLENGE_PATH, MAX_CHALLENGE_BYTES, answer_challenge, challenge_handler, challenge_peer,
    check_challenge_answer, new_nonce,
)
from kinode.errors import ChallengeFailed
from protocol.errors import Malformed
from protocol.identity import Identity, verify_signature

ALICE, BOB = Identity(bytes([1]) * 32), Identity(bytes([2]) * 32)
NONCE = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()  # fixed, reproducible


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@given(seed=st.binary(min_size=32, max_size=32), raw_nonce=st.binary(min_size=32, max_size=32))
def test_an_answer_verifies_for_its_did_and_nonce_only(seed, raw_nonce):
    identity, nonce = Identity(seed), b64url(raw_nonce)
    answer = answer_challenge(identity, nonce)
    check_challenge_answer(identity.did, nonce, answer)
    assert verify_signature(identity.did, b"ki-challenge-v1:" + nonce.encode(), bytes.fromhex(answer["sig"]))
    other_nonce = b64url(bytes(b ^ 1 for b in raw_nonce))
    with pytest.raises(ChallengeFailed, match="does not verify"):
        check_challenge_answer(identity.did, other_nonce, answer)


def test_the_signed_message_is_the_prefix_and_the_nonce_text():
    answer = answer_challenge(ALICE, NONCE)
    assert answer["did"] == ALICE.did
    assert answer["sig"] == ALICE.sign(f"ki-challenge-v1:{NONCE}".encode("ascii")).hex()


@pytest.mark.parametrize("answer, complaint", [
    (answer_challenge(BOB, NONCE), "answered as did:key:"),  # someone else's valid answer
    ({"did": ALICE.did, "sig": answer_challenge(BOB, NONCE)["sig"]}, "does not verify"),
    ({"did": ALICE.did, "sig": answer_challenge(ALICE, NONCE)["sig"].upper()}, "lowercase hex"),
    ({"did": ALICE.did, "sig": answer_challenge(ALICE, NONCE)["sig"][:-2]}, "128 lowercase hex"),
    ({"did": ALICE.did, "sig": 7}, "128 lowercase hex"),
    ({"did": "did:key:zNotAKey", "sig": "00" * 64}, "not an Ed25519 did:key"),
    ({"did": ALICE.did}, 'exactly "did" and "sig"'),
    ({**answer_challenge(ALICE, NONCE), "extra": 1}, 'exactly "did" and "sig"'),
    ([ALICE.did, "00" * 64], 'exactly "did" and "sig"'),
])
def test_a_wrong_answer_fails_the_challenge(answer, complaint):
    with pytest.raises(ChallengeFailed, match=complaint) as raised:
        check_challenge_answer(ALICE.did, NONCE, answer)
    assert raised.value.code == "challenge_failed"


def test_a_flipped_signature_bit_fails_the_challenge():
    sig = bytearray(bytes.fromhex(answer_challenge(ALICE, NONCE)["sig"]))
    sig[10] ^= 0x04
    with pytest.raises(ChallengeFailed, match="does not verify"):
        check_challenge_answer(ALICE.did, NONCE, {"did": ALICE.did, "sig": sig.hex()})


BAD_NONCES = [
    b64url(bytes(31)), b64url(bytes(33)), b64url(bytes(32)) + "=",  # wrong length, padding
    base64.b64encode(b"\xfb" * 32).decode().rstrip("="),  # standard alphabet: + and /
    NONCE[:-1] + "B",  # non-zero unused bits: a second spelling of other bytes
    " " + NONCE, "", None, 32,
]


@pytest.mark.parametrize("nonce", BAD_NONCES)
def test_a_malformed_nonce_is_not_signed(nonce):
    with pytest.raises(Malformed):
        answer_challenge(ALICE, nonce)


def test_fresh_nonces_are_32_bytes_and_differ():
    first, second = new_nonce(), new_nonce()
    assert first != second
    answer_challenge(ALICE, first)  # well-formed by the handler's own rules


@pytest.fixture
async def node(aiohttp_client):
    app = web.Application()
    app.router.add_post(CHALLENGE_PATH, challenge_handler(ALICE))
    return await aiohttp_client(app)


async def test_the_handler_answers_a_well_formed_challenge(node):
    response = await node.post(CHALLENGE_PATH, json={"nonce": NONCE})
    assert response.status == 200
    check_challenge_answer(ALICE.did, NONCE, await response.json())


@pytest.mark.parametrize("body", [
    *(json.dumps({"nonce": nonce}).encode() for nonce in BAD_NONCES),
    b"not json", b"[]", b'{"nonce": "' + NONCE.encode() + b'", "extra": 1}', b"{}",
])
async def test_the_handler_refuses_a_malformed_challenge(node, body):
    response = await node.post(CHALLENGE_PATH, data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert response.content_type == "application/problem+json"
    assert (await response.json())["code"] == "malformed"


async def test_the_handler_refuses_an_oversized_challenge(node):
    body = json.dumps({"nonce": NONCE, "padding": "x" * MAX_CHALLENGE_BYTES}).encode()
    response = await node.post(CHALLENGE_PATH, data=body)
    assert response.status == 413
    assert (await response.json())["code"] == "too_large"


async def test_the_handler_gives_duplicate_keys_their_own_code(node):
    body = ('{"nonce": "%s", "nonce": "%s"}' % (NONCE, NONCE)).encode()
    response = await node.post(CHALLENGE_PATH, data=body)
    assert (response.status, (await response.json())["code"]) == (400, "duplicate_key")


async def test_the_client_accepts_a_node_that_holds_the_key(node):
    await challenge_peer(node.session, str(node.make_url("/")), ALICE.did)


async def test_the_client_rejects_a_node_answering_for_another_did(node):
    with pytest.raises(ChallengeFailed, match="advertised"):
        await challenge_peer(node.session, str(node.make_url("/")), BOB.did)


async def serve(aiohttp_client, handler):
    app = web.Application()
    app.router.add_post(CHALLENGE_PATH, handler)
    return await aiohttp_client(app)


@pytest.mark.parametrize("respond, complaint", [
    (lambda: web.json_response({"error": "no"}, status=500), "status 500"),
    (lambda: web.Response(status=302, headers={"Location": CHALLENGE_PATH}), "status 302"),  # not followed
    (lambda: web.Response(body=b"x" * (MAX_CHALLENGE_BYTES + 1)), f"over {MAX_CHALLENGE_BYTES} bytes"),
    (lambda: web.Response(body=b"{not json"), "unparsable"),
    (lambda: web.json_response(answer_challenge(ALICE, NONCE)), "does not verify"),  # a replayed answer
])
async def test_the_client_rejects_a_bad_answer(aiohttp_client, respond, complaint):
    async def handler(request):
        return respond()

    client = await serve(aiohttp_client, handler)
    with pytest.raises(ChallengeFailed, match=complaint):
        await challenge_peer(client.session, str(client.make_url("/")), ALICE.did)


async def test_the_client_gives_up_on_a_node_that_never_answers(aiohttp_client):
    release = asyncio.Event()

    async def handler(request):
        await release.wait()
        return web.Response(status=204)

    client = await serve(aiohttp_client, handler)
    try:
        with pytest.raises(ChallengeFailed, match="TimeoutError"):
            await challenge_peer(client.session, str(client.make_url("/")), ALICE.did, timeout=0.2)
    finally:
        release.set()


async def test_the_client_rejects_an_unreachable_node(aiohttp_client, unused_tcp_port):
    client = await serve(aiohttp_client, challenge_handler(ALICE))
    with pytest.raises(ChallengeFailed, match="failed"):
        await challenge_peer(client.session, f"http://127.0.0.1:{unused_tcp_port}", ALICE.did)
