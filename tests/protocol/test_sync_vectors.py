"""specs/vectors/sync.json holds for our implementation, message by message."""

import base64
import json
import pathlib

import pytest

from protocol import sync
from protocol.errors import ProtocolError

VECTORS = json.loads((pathlib.Path(__file__).resolve().parents[2] / "specs" / "vectors" / "sync.json")
                     .read_text(encoding="utf-8"))["vectors"]


def of_kind(kind: str) -> list:
    return [pytest.param(v, id=v["name"]) for v in VECTORS if v["kind"] == kind]


def salt_of(vector: dict) -> bytes:
    return base64.urlsafe_b64decode(vector["salt"] + "=")


def test_every_kind_is_there():
    assert {v["kind"] for v in VECTORS} == {"fingerprint", "split", "exchange", "invalid"}


@pytest.mark.parametrize("vector", of_kind("fingerprint"))
def test_fingerprint_vector(vector):
    total = sum(map(sync.id_value, vector["ids"]))
    assert sync.b64(sync.fingerprint_of(salt_of(vector), total, len(vector["ids"]))) == vector["fingerprint"]


@pytest.mark.parametrize("vector", of_kind("split"))
def test_split_vector(vector):
    children = sync.SortedItems(vector["ids"]).children(vector["prefix"])
    assert sync.b64(b"".join(sync.fingerprint_of(salt_of(vector), s, n) for n, s in children)) == vector["split"]


@pytest.mark.parametrize("vector", of_kind("exchange"))
def test_exchange_vector(vector):
    params = sync.Params(**vector["params"])
    messages = vector["messages"]
    first = sync.decode_request(messages[0].encode())
    initiator = sync.Initiator(sync.SortedItems(vector["initiator_ids"]), first["categories"], params,
                               salt=sync.message_salt(first))
    responder = sync.SortedItems(vector["responder_ids"])
    sent = initiator.start()
    for request, reply in zip(messages[::2], messages[1::2]):
        assert sync.encode(sent).decode() == request
        assert sync.encode(sync.respond(responder, sync.decode_request(request.encode()), params)).decode() == reply
        sent = initiator.receive(sync.decode_reply(reply.encode()))
    assert sent is None and initiator.done
    assert sorted(initiator.have) == vector["have"] and sorted(initiator.need) == vector["need"]


@pytest.mark.parametrize("vector", of_kind("invalid"))
def test_invalid_vector(vector):
    decode = sync.decode_request if vector["role"] == "request" else sync.decode_reply
    with pytest.raises(ProtocolError) as caught:
        decode(vector["input"].encode())
    assert caught.value.code == vector["error"]
