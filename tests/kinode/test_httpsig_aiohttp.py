"""Signed requests over real HTTP on loopback: our client, our verifier, and the
independent http-message-signatures package on either end."""

import datetime
import json
import time

import aiohttp
import http_message_signatures as hms
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from http_message_signatures import aiohttp as hms_aiohttp

from kinode.federation.httpsig import sign_request, signature_problem, target_uri, verify_aiohttp_request
from kinode.federation.replay_cache import ReplayCache
from protocol.errors import ProtocolError
from protocol.identity import Identity, public_key_from_did

NOW = 1_700_000_000
ALICE = Identity(bytes(range(32)))
BODY = b'{"objects":[]}'
CLOCK = web.AppKey("clock", list)
CACHE = web.AppKey("replay_cache", ReplayCache)


async def whoami(request: web.Request) -> web.Response:
    body = await request.read()
    try:
        did = verify_aiohttp_request(request, body, request.app[CLOCK][0], request.app[CACHE])
    except ProtocolError as error:
        return signature_problem(error)
    return web.json_response({"did": did, "bytes": len(body)})


@pytest.fixture
async def node(aiohttp_client):
    app = web.Application()
    app[CLOCK] = [NOW]
    app[CACHE] = ReplayCache()
    app.router.add_post("/ki/v1/inbox", whoami)
    app.router.add_get("/ki/v1/objects", whoami)
    return await aiohttp_client(app)


async def send(client, signed, body=None):
    async with client.session.request(signed.method, signed.url, headers=signed.headers,
                                      data=signed.body if body is None else body) as response:
        return response.status, response.content_type, await response.read()


async def test_signed_post_is_accepted(node):
    signed = sign_request(ALICE, "POST", node.make_url("/ki/v1/inbox?category=web-design"),
                          {"Content-Type": "application/json"}, BODY, now=NOW)
    status, _, raw = await send(node, signed)
    assert status == 200 and json.loads(raw) == {"did": ALICE.did, "bytes": len(BODY)}


async def test_signed_get_without_body_is_accepted(node):
    signed = sign_request(ALICE, "GET", node.make_url("/ki/v1/objects?after=abc&limit=10"), now=NOW)
    assert "Content-Digest" not in signed.headers
    status, _, raw = await send(node, signed)
    assert status == 200 and json.loads(raw)["did"] == ALICE.did


def problem(status, content_type, raw):
    assert content_type == "application/problem+json"
    document = json.loads(raw)
    assert document["status"] == status and document["detail"]
    return status, document["code"]


async def test_tampered_body_is_refused_as_problem_json(node):
    signed = sign_request(ALICE, "POST", node.make_url("/ki/v1/inbox"), body=BODY, now=NOW)
    result = await send(node, signed, body=BODY.replace(b"[]", b"[1]"))
    assert problem(*result) == (400, "bad_content_digest")


async def test_changed_query_is_refused(node):
    signed = sign_request(ALICE, "GET", node.make_url("/ki/v1/objects?limit=10"), now=NOW)
    moved = type(signed)(signed.method, signed.url.with_query(limit=1000), signed.headers, signed.body)
    assert problem(*await send(node, moved)) == (401, "bad_request_signature")


async def test_replayed_request_is_refused(node):
    signed = sign_request(ALICE, "POST", node.make_url("/ki/v1/inbox"), body=BODY, now=NOW)
    assert (await send(node, signed))[0] == 200
    assert problem(*await send(node, signed)) == (401, "replayed_signature")


async def test_expired_request_is_refused(node):
    signed = sign_request(ALICE, "POST", node.make_url("/ki/v1/inbox"), body=BODY, now=NOW - 301)
    assert problem(*await send(node, signed)) == (401, "stale_signature")


async def test_unsigned_request_is_refused_with_a_challenge(node):
    async with node.post("/ki/v1/inbox", data=BODY) as response:
        assert response.headers["WWW-Authenticate"].startswith("Signature")
        assert response.headers["Accept-Signature"] == 'ki=("@method" "@target-uri");tag="ki-v1"'
        result = response.status, response.content_type, await response.read()
    assert problem(*result) == (401, "bad_request_signature")


def test_target_uri_is_what_aiohttp_puts_on_the_wire():
    url = sign_request(ALICE, "GET", "HTTP://Hub.Example:80/a b/%7e?x=1 2", now=NOW).url
    assert target_uri(url) == "http://hub.example/a%20b/~?x=1+2"


def test_given_signature_headers_are_replaced_not_duplicated():
    signed = sign_request(ALICE, "POST", "http://hub.example/ki/v1/inbox",
                          {"signature": "old=:AAAA:", "X-Other": "kept"}, BODY, now=NOW)
    assert [name for name in signed.headers if name.lower() == "signature"] == ["Signature"]
    assert signed.headers["X-Other"] == "kept"


# --- the independent implementation on either end ----------------------------------

class DidKeyResolver(hms.HTTPSignatureKeyResolver):
    def resolve_public_key(self, key_id):
        return Ed25519PublicKey.from_public_bytes(public_key_from_did(key_id))

    def resolve_private_key(self, key_id):
        assert key_id == ALICE.did
        return Ed25519PrivateKey.from_private_bytes(ALICE.seed)


async def test_http_message_signatures_client_is_accepted_by_our_server(node):
    created = datetime.datetime.fromtimestamp(NOW, datetime.timezone.utc)
    middleware = hms_aiohttp.SignatureMiddleware(
        hms_aiohttp.SignatureMiddlewareMode.SIGN_REQUEST,
        sign_options=hms_aiohttp.SigningOptions(
            origin=str(node.make_url("/")), signature_algorithm=hms.algorithms.ED25519,
            key_id=ALICE.did, key_resolver=DidKeyResolver(), created=created,
            expires=created + datetime.timedelta(seconds=60), nonce="aW50ZXJvcC1ub25jZS0xMjM0",
            label="ki", tag="ki-v1", covered_component_ids=("@method", "@target-uri"),
        ),
    )
    async with aiohttp.ClientSession(**middleware.session_kwargs) as session:
        async with session.post(node.make_url("/ki/v1/inbox?category=web-design"), data=BODY) as response:
            assert response.status == 200
            assert json.loads(await response.read())["did"] == ALICE.did


@pytest.fixture
async def library_node(aiohttp_client):
    middleware = hms_aiohttp.ServerSignatureMiddleware(
        hms_aiohttp.ServerSignatureMiddlewareMode.VERIFY_REQUEST,
        verify_options=hms_aiohttp.ServerVerificationOptions(
            signature_algorithm=hms.algorithms.ED25519, key_resolver=DidKeyResolver(),
            expect_tag="ki-v1", require_components=("@method", "@target-uri", "content-digest"),
        ),
    )

    @web.middleware
    async def refuse_invalid(request, handler):
        try:
            return await handler(request)
        except hms.InvalidSignature as error:
            return web.json_response({"refused": str(error)}, status=401)

    async def handler(request):
        [result] = middleware.verification_results(request)
        return web.json_response({"did": result.parameters["keyid"], "body": (await request.read()).decode()})

    options = middleware.application_kwargs
    app = web.Application(middlewares=(refuse_invalid, *options["middlewares"]),
                          handler_args=options["handler_args"])
    app.router.add_post("/ki/v1/inbox", handler)
    return await aiohttp_client(app)


async def test_our_client_is_accepted_by_http_message_signatures_server(library_node):
    now = int(time.time())  # the library checks created/expires against the wall clock
    signed = sign_request(ALICE, "POST", library_node.make_url("/ki/v1/inbox?category=web-design"),
                          body=BODY, now=now)
    status, _, raw = await send(library_node, signed)
    assert status == 200 and json.loads(raw) == {"did": ALICE.did, "body": BODY.decode()}
    status, _, raw = await send(library_node, signed, body=BODY + b" ")
    assert status == 401 and "digest" in json.loads(raw)["refused"].lower()


async def test_garbled_host_field_is_refused_not_a_crash(node):
    signed = sign_request(ALICE, "POST", node.make_url("/ki/v1/inbox"), body=BODY, now=NOW)
    garbled = type(signed)(signed.method, signed.url, {**signed.headers, "Host": "[::1"}, signed.body)
    assert problem(*await send(node, garbled)) == (401, "bad_request_signature")
