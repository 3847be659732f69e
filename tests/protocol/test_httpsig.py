"""Request signatures: RFC 9421 / RFC 9530 examples, the ki profile, interop, refusals."""

import base64
import datetime
from pathlib import Path
from types import SimpleNamespace

import http_message_signatures as hms
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from kinode.federation.replay_cache import ReplayCache
from protocol import httpsig
from protocol import structured_fields as sf
from protocol.errors import (
    BadContentDigest, BadRequestSignature, ReplayedSignature, StaleSignature,
)
from protocol.identity import Identity, public_key_from_did, verify_signature

NOW = 1_700_000_000
ALICE = Identity(bytes(range(32)))
MALLORY = Identity(bytes(range(1, 33)))
URI = "https://hub.example/ki/v1/inbox?category=web-design"
BODY = b'{"objects":[]}'
NONCE = "bm9uY2Utbm9uY2Utbm9uY2U"


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# RFC 9421 §B.1.4 test key (JWK d and x) and the §B.2 test request.
RFC_KEY = Identity(b64url("n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU"))
RFC_PUBLIC = b64url("JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs")
RFC_URI = "https://example.com/foo?param=Value&Pet=dog"
RFC_BODY = b'{"hello": "world"}'
RFC_FIELDS = httpsig.combine_fields([
    ("Host", "example.com"),
    ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"),
    ("Content-Type", "application/json"),
    ("Content-Digest", "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+"
                       "AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"),
    ("Content-Length", "18"),
])
B26_INPUT = ('sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
             ';created=1618884473;keyid="test-key-ed25519"')
B26_BASE = (
    '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    '"@method": POST\n'
    '"@path": /foo\n'
    '"@authority": example.com\n'
    '"content-type": application/json\n'
    '"content-length": 18\n'
    '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length")'
    ';created=1618884473;keyid="test-key-ed25519"'
)
B26_SIGNATURE = ("wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==")


def rfc_b26_base() -> bytes:
    inner = sf.parse_dictionary(B26_INPUT)["sig-b26"]
    names = [item.value for item in inner.items]
    return httpsig.signature_base("POST", RFC_URI, RFC_FIELDS, names, sf.serialize_member(inner))


def test_rfc9421_b14_key_is_the_published_pair():
    assert RFC_KEY.public_key == RFC_PUBLIC


def test_rfc9421_b26_signature_base_matches_the_rfc():
    assert rfc_b26_base() == B26_BASE.encode()


def test_rfc9421_b26_ed25519_signature_is_reproduced_and_verifies():
    signature = RFC_KEY.sign(rfc_b26_base())
    assert base64.b64encode(signature).decode() == B26_SIGNATURE
    assert verify_signature(RFC_KEY.did, rfc_b26_base(), base64.b64decode(B26_SIGNATURE))


def test_rfc9421_b21_empty_component_list_base():
    inner = sf.parse_dictionary('sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"')
    base = httpsig.signature_base("POST", RFC_URI, RFC_FIELDS, [], sf.serialize_member(inner["sig-b21"]))
    assert base == (b'"@signature-params": ();created=1618884473;keyid="test-key-rsa-pss"'
                    b';nonce="b3k2pp5k7z-50gnwp.yemd"')


@pytest.mark.parametrize("name, value", [
    # RFC 9421 §2.2.1-§2.2.7, for POST /path?param=value to www.example.com over https.
    ("@method", "POST"),
    ("@target-uri", "https://www.example.com/path?param=value"),
    ("@authority", "www.example.com"),
    ("@scheme", "https"),
    ("@request-target", "/path?param=value"),
    ("@path", "/path"),
    ("@query", "?param=value"),
])
def test_rfc9421_derived_component_examples(name, value):
    base = httpsig.signature_base("POST", "https://www.example.com/path?param=value", {}, [name], "()")
    assert base.split(b"\n")[0] == f'"{name}": {value}'.encode()


def test_rfc9421_query_without_query_is_a_lone_question_mark():
    base = httpsig.signature_base("GET", "https://www.example.com/path", {}, ["@query"], "()")
    assert base.startswith(b'"@query": ?\n')


def test_rfc9530_content_digest_example():
    assert httpsig.content_digest(RFC_BODY) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"


def test_content_digest_checks_a_known_second_algorithm():
    both = RFC_FIELDS["content-digest"] + ", " + httpsig.content_digest(RFC_BODY)
    httpsig.check_content_digest(both, RFC_BODY)
    with pytest.raises(BadContentDigest, match="sha-256"):
        httpsig.check_content_digest(RFC_FIELDS["content-digest"], RFC_BODY)
    other_sha512 = RFC_FIELDS["content-digest"].replace("WZD", "XZD")
    with pytest.raises(BadContentDigest, match="sha-512"):
        httpsig.check_content_digest(other_sha512 + ", " + httpsig.content_digest(RFC_BODY), RFC_BODY)


@pytest.mark.parametrize("uri, normal", [
    ("HTTPS://Hub.Example:443/a?b=c", "https://hub.example/a?b=c"),
    ("http://hub.example:80", "http://hub.example/"),
    ("http://hub.example:8080/x?", "http://hub.example:8080/x?"),
    ("http://[::1]:8080/p#frag", "http://[::1]:8080/p"),
    ("https://hub.example/%7Ea%2Fb?q=%20", "https://hub.example/%7Ea%2Fb?q=%20"),
])
def test_target_uri_normalization(uri, normal):
    assert httpsig.normalize_target_uri(uri) == normal


@pytest.mark.parametrize("uri", ["/relative", "ftp://hub.example/", "https://user@hub.example/",
                                 "http://[::1/x"])
def test_target_uri_must_be_absolute_http(uri):
    with pytest.raises(BadRequestSignature):
        httpsig.normalize_target_uri(uri)


# --- the ki profile: sign, verify, refuse ----------------------------------------------

def sign(identity=ALICE, method="POST", uri=URI, body=BODY, now=NOW, nonce=NONCE, **kwargs):
    return httpsig.sign_request(identity, method, uri, {}, body, now, nonce, **kwargs)


def verify(headers, method="POST", uri=URI, body=BODY, now=NOW, cache=None):
    fields = httpsig.combine_fields(headers.items())
    return httpsig.verify_request(method, uri, fields, body, now, ReplayCache() if cache is None else cache)


def forge(params, components=("@method", "@target-uri", "content-digest"), identity=ALICE,
          method="POST", uri=URI, body=BODY):
    """Sign with arbitrary parameters, to show what the verifier refuses."""
    fields = {"content-digest": httpsig.content_digest(body)}
    inner = sf.InnerList(tuple(sf.Item(name) for name in components), params)
    base = httpsig.signature_base(method, uri, fields, components, sf.serialize_member(inner))
    return {
        "Content-Digest": fields["content-digest"],
        "Signature-Input": sf.serialize_dictionary({"ki": inner}),
        "Signature": sf.serialize_dictionary({"ki": sf.Item(identity.sign(base))}),
    }


def params(**changes):
    base = {"created": NOW, "expires": NOW + 300, "nonce": NONCE, "alg": "ed25519",
            "keyid": ALICE.did, "tag": "ki-v1"}
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def test_signed_post_verifies_and_names_the_signer():
    headers = sign()
    assert headers["Signature-Input"] == (
        'ki=("@method" "@target-uri" "content-digest");created=1700000000;expires=1700000300;'
        f'nonce="{NONCE}";alg="ed25519";keyid="{ALICE.did}";tag="ki-v1"'
    )
    verified = verify(headers)
    assert (verified.did, verified.nonce, verified.created, verified.expires) == (
        ALICE.did, NONCE, NOW, NOW + 300)
    assert verified.components == ("@method", "@target-uri", "content-digest")


def test_get_without_body_covers_no_digest():
    headers = sign(method="GET", body=b"")
    assert "Content-Digest" not in headers
    assert verify(headers, method="GET", body=b"").components == ("@method", "@target-uri")


def test_default_nonce_is_fresh_base64url_of_16_bytes():
    first, second = (httpsig.sign_request(ALICE, "GET", URI, {}, b"", NOW) for _ in range(2))
    nonces = [sf.parse_dictionary(h["Signature-Input"])["ki"].params["nonce"] for h in (first, second)]
    assert nonces[0] != nonces[1] and all(len(b64url(n)) == 16 for n in nonces)


def test_verifier_accepts_parameters_in_any_order():
    reordered = dict(reversed(list(params().items())))
    assert verify(forge(reordered)).did == ALICE.did


def test_tampered_body_is_bad_content_digest():
    with pytest.raises(BadContentDigest):
        verify(sign(), body=BODY + b" ")


def test_changed_query_is_bad_request_signature():
    with pytest.raises(BadRequestSignature, match="does not match"):
        verify(sign(), uri=URI.replace("web-design", "interim-management"))


@pytest.mark.parametrize("change", [
    {"method": "PUT"}, {"uri": URI.replace("hub.example", "evil.example")},
    {"uri": URI.replace("https", "http")}, {"uri": URI.replace("/inbox", "/outbox")},
])
def test_changed_request_line_is_bad_request_signature(change):
    with pytest.raises(BadRequestSignature):
        verify(sign(), **change)


def test_same_nonce_twice_is_replayed_signature():
    cache = ReplayCache()
    verify(sign(), cache=cache)
    with pytest.raises(ReplayedSignature):
        verify(sign(), now=NOW + 5, cache=cache)


def test_refused_request_does_not_use_up_its_nonce():
    cache = ReplayCache()
    with pytest.raises(BadContentDigest):
        verify(sign(), body=b"tampered", cache=cache)
    assert verify(sign(), cache=cache).did == ALICE.did


def test_signature_by_another_key_is_bad_request_signature():
    headers = forge(params(), identity=MALLORY)  # keyid says Alice, Mallory signed
    with pytest.raises(BadRequestSignature, match="does not match"):
        verify(headers)


@pytest.mark.parametrize("missing", ["Signature", "Signature-Input"])
def test_missing_signature_field_is_bad_request_signature(missing):
    headers = sign()
    del headers[missing]
    with pytest.raises(BadRequestSignature, match=missing.lower()):
        verify(headers)


def test_missing_content_digest_is_refused():
    headers = sign()
    del headers["Content-Digest"]
    with pytest.raises(BadRequestSignature, match="content-digest"):
        verify(headers)


def test_body_needs_covered_digest():
    headers = forge(params(), components=("@method", "@target-uri"))
    with pytest.raises(BadRequestSignature, match="does not cover content-digest"):
        verify(headers)


@pytest.mark.parametrize("now, error", [
    (NOW + 300, None), (NOW + 301, StaleSignature), (NOW - 60, None), (NOW - 61, StaleSignature),
])
def test_signature_window_edges(now, error):
    if error is None:
        assert verify(sign(), now=now).did == ALICE.did
    else:
        with pytest.raises(error):
            verify(sign(), now=now)


@pytest.mark.parametrize("lifetime, error", [(300, None), (301, StaleSignature)])
def test_window_longer_than_300_seconds_is_stale(lifetime, error):
    headers = forge(params(expires=NOW + lifetime))
    if error is None:
        assert verify(headers).did == ALICE.did
    else:
        with pytest.raises(error, match="window"):
            verify(headers)


@pytest.mark.parametrize("bad", [
    {"alg": "rsa-pss-sha512"}, {"tag": "other"}, {"tag": None}, {"nonce": None},
    {"expires": None}, {"keyid": "test-key-ed25519"}, {"nonce": "short"}, {"nonce": "not base64!" * 3},
    {"created": "1700000000"}, {"alg": sf.Token("ed25519")}, {"context": "extra"},
    {"expires": NOW}, {"created": -1},
])
def test_unsupported_parameters_are_bad_request_signature(bad):
    with pytest.raises(BadRequestSignature):
        verify(forge(params(**bad)))


@pytest.mark.parametrize("components", [
    ("@method", "@target-uri", "content-digest", "@method"),
    ("@method", "@target-uri", "content-digest", "@query-param"),
    ("@method", "content-digest"),
])
def test_unsupported_component_lists_are_bad_request_signature(components):
    with pytest.raises(BadRequestSignature):
        verify(forge(params(), components=components))


@pytest.mark.parametrize("signature_input, signature", [
    ('ki=("@method" "@target-uri");created=1', "ki=:AAAA"),
    ('ki=("@method"', "ki=:AAAA:"),
    ('other=("@method")', "other=:AAAA:"),
    ('ki="@method"', "ki=:AAAA:"),
    ('ki=("@method" "@target-uri" "content-digest");created=1700000000', "ki=:AAAA:"),
])
def test_unparseable_signature_fields_are_bad_request_signature(signature_input, signature):
    headers = {"Signature-Input": signature_input, "Signature": signature}
    with pytest.raises(BadRequestSignature):
        verify(headers)


def test_other_labels_are_ignored():
    headers = sign()
    headers["Signature-Input"] = 'proxy=("@method");created=1, ' + headers["Signature-Input"]
    headers["Signature"] = "proxy=:AAAA:, " + headers["Signature"]
    assert verify(headers).did == ALICE.did


def test_signer_refuses_bad_lifetime_and_nonce():
    with pytest.raises(ValueError):
        sign(lifetime=301)
    with pytest.raises(ValueError):
        sign(nonce="short")


@settings(max_examples=60)
@given(st.binary(min_size=1, max_size=200), st.data())
def test_any_changed_body_byte_is_refused(body, data):
    headers = sign(body=body)
    index = data.draw(st.integers(0, len(body) - 1))
    flipped = body[:index] + bytes([body[index] ^ data.draw(st.integers(1, 255))]) + body[index + 1:]
    with pytest.raises(BadContentDigest):
        verify(headers, body=flipped)
    assert verify(headers, body=body).did == ALICE.did


@settings(max_examples=60)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789=&%-_", min_size=1, max_size=30))
def test_any_changed_query_is_refused(query):
    headers = sign(uri=f"https://hub.example/ki/v1/objects?{query}", method="GET", body=b"")
    with pytest.raises(BadRequestSignature):
        verify(headers, method="GET", body=b"", uri=f"https://hub.example/ki/v1/objects?{query}x")



field_text = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80),
    st.sampled_from([sign()["Signature-Input"], sign()["Signature"], 'ki=("@method");created=1']),
)


@settings(max_examples=200)
@given(field_text, field_text, field_text, st.sampled_from([URI, "http://[::1/x", "https://h/ü"]))
def test_garbage_fields_only_ever_raise_protocol_errors(signature_input, signature, digest, uri):
    headers = {"Signature-Input": signature_input, "Signature": signature, "Content-Digest": digest}
    with pytest.raises((BadRequestSignature, StaleSignature, BadContentDigest)):
        verify(headers, uri=uri)

# --- interop with the independent http-message-signatures package -------------------

class DidKeyResolver(hms.HTTPSignatureKeyResolver):
    """Public keys straight from the did:key; private keys for our test identities."""

    def resolve_public_key(self, key_id):
        return Ed25519PublicKey.from_public_bytes(public_key_from_did(key_id))

    def resolve_private_key(self, key_id):
        identity = {ALICE.did: ALICE}[key_id]
        return Ed25519PrivateKey.from_private_bytes(identity.seed)


def message(method, uri, headers):
    return SimpleNamespace(method=method, url=uri, headers=dict(headers))


def test_our_signature_verifies_with_http_message_signatures():
    now = int(datetime.datetime.now(datetime.timezone.utc).timestamp())  # it reads the wall clock
    headers = sign(now=now)
    verifier = hms.HTTPMessageVerifier(signature_algorithm=hms.algorithms.ED25519, key_resolver=DidKeyResolver())
    [result] = verifier.verify(message("POST", URI, headers), expect_tag="ki-v1", body=BODY,
                               require_components=("@method", "@target-uri", "content-digest"))
    assert result.parameters["keyid"] == ALICE.did and result.body == BODY
    with pytest.raises(hms.InvalidSignature):
        verifier.verify(message("POST", URI + "x", headers), expect_tag="ki-v1", body=BODY)


def test_http_message_signatures_signature_verifies_with_us():
    created = datetime.datetime.fromtimestamp(NOW, datetime.timezone.utc)
    msg = message("POST", URI, {"Content-Type": "application/json"})
    signer = hms.HTTPMessageSigner(signature_algorithm=hms.algorithms.ED25519, key_resolver=DidKeyResolver())
    signer.sign(msg, key_id=ALICE.did, created=created, expires=created + datetime.timedelta(seconds=120),
                nonce=NONCE, label="ki", tag="ki-v1", covered_component_ids=("@method", "@target-uri"),
                body=BODY)
    verified = verify(msg.headers, now=NOW + 10)
    assert verified.did == ALICE.did and verified.expires == NOW + 120
    assert "content-digest" in verified.components
    with pytest.raises(BadContentDigest):
        verify(msg.headers, now=NOW + 10, body=b"{}")


# --- the spec's worked examples are what the code produces ---------------------------

def spec_section() -> str:
    text = (Path(__file__).parents[2] / "specs" / "protocol.md").read_text()
    start = text.index("<!-- section: request-signatures (owner: httpsig) -->")
    return text[start:text.index("<!-- section:", start + 1)]


@pytest.mark.parametrize("method, uri, body, nonce", [
    ("POST", "https://hub.example/ki/v1/inbox?category=web-design", b'{"objects":[]}', NONCE),
    ("GET", "https://hub.example/ki/v1/objects?after=0&limit=50", b"", "Z2V0LW5vbmNlLWdldC1ub25jZQ"),
])
def test_spec_worked_examples(method, uri, body, nonce):
    seed_identity = Identity(bytes(range(32)))
    headers = httpsig.sign_request(seed_identity, method, uri, {}, body, NOW, nonce)
    section = spec_section()
    assert seed_identity.did in section
    for name, value in headers.items():
        assert f"    {name}: {value}\n" in section
    assert verify(headers, method=method, uri=uri, body=body).did == seed_identity.did


def test_spec_names_every_request_signature_code():
    section = spec_section()
    for error in (BadRequestSignature, StaleSignature, ReplayedSignature, BadContentDigest):
        assert f"`{error.code}`" in section


# --- spec 8.1/8.2 edge cases: the nonce is opaque, and replays at the last second ------

@pytest.mark.parametrize("nonce", ["A" * 22, "A" * 25, "B" * 23, "_-" * 64])
def test_the_nonce_is_an_opaque_string_of_22_to_128_alphabet_characters(nonce):
    """Length 25 is 1 mod 4 (no base64url decodes it), "B" * 23 has non-zero unused bits: both accepted."""
    assert verify(sign(nonce=nonce)).nonce == nonce


@pytest.mark.parametrize("nonce", ["A" * 21, "A" * 129, "A" * 21 + "=", "A" * 21 + "+"])
def test_a_nonce_outside_length_or_alphabet_is_refused(nonce):
    with pytest.raises(BadRequestSignature):
        verify(forge({"created": NOW, "expires": NOW + 300, "nonce": nonce, "alg": "ed25519",
                      "keyid": ALICE.did, "tag": "ki-v1"}))


def test_a_replay_at_the_expiry_second_is_refused_and_the_pair_is_free_after_it():
    cache = ReplayCache()
    verify(sign(), cache=cache)
    with pytest.raises(ReplayedSignature):
        verify(sign(), now=NOW + 300, cache=cache)  # now == expires: not stale, but a replay
    later = sign(now=NOW + 301)  # a new signature reusing the nonce, after the first expired
    assert verify(later, now=NOW + 301, cache=cache).nonce == NONCE
