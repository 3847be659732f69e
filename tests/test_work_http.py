"""The hub mailbox and the lifecycle reads over HTTP, against a real app, answers checked
against specs/openapi.yaml (the helpers of test_openapi)."""

import json
import time

import pytest

from kinode.config import NodeConfig
from kinode.federation.app import create_app
from kinode.federation.appkeys import NODE
from kinode.federation.httpsig import sign_request
from kinode.node import Node
from kinode.work.service import WorkService
from protocol.envelope import sign
from protocol.identity import Identity
from protocol.message import seal_object
from test_openapi import answer

NOW = int(time.time())
HUB = Identity(bytes([20]) * 32)
ALICE, BOB, CAROL = (Identity(bytes([n]) * 32) for n in (21, 22, 23))
EUR = "EUR"


def money(amount: str) -> dict:
    return {"amount": amount, "currency": EUR}


@pytest.fixture
async def hub(store, tmp_path, aiohttp_client):
    node = Node(NodeConfig(data_dir=tmp_path, roles=("node", "hub"), categories=("web-design",)), HUB, store,
                clock=lambda: NOW)
    return await aiohttp_client(create_app(node))


async def deliver(client, *objects) -> list[dict]:
    response = await client.post("/ki/v1/inbox", json={"objects": [json.loads(o.wire) for o in objects]})
    assert response.status == 200
    return (await response.json())["results"]


async def signed_get(client, identity: Identity, path: str):
    request = sign_request(identity, "GET", client.make_url(path), now=NOW)
    return await client.get(path, headers=request.headers)


async def signed_post(client, identity: Identity, path: str, body: dict):
    raw = json.dumps(body).encode()
    request = sign_request(identity, "POST", client.make_url(path), {"Content-Type": "application/json"}, raw, now=NOW)
    return await client.post(path, data=raw, headers=request.headers)


def proposal() -> object:
    project = sign(ALICE, "project", {"category": "web-design", "title": "Site", "description": "A site",
                                      "budget": money("500.00"), "deadline": NOW + 864000,
                                      "coordinator": ALICE.did}, NOW - 10)
    offer = sign(BOB, "proposal", {"target": project.id, "category": "web-design", "price": money("400.00"),
                                   "message": "I can do it"}, NOW - 5)
    return project, offer


async def test_the_mailbox_holds_a_sealed_message_for_its_recipient_only_until_acknowledged(hub):
    _, offer = proposal()
    message = seal_object(BOB, [BOB.did, ALICE.did], offer, NOW - 4)
    assert [r["status"] for r in await deliver(hub, message)] == ["accepted"]
    assert [r["status"] for r in await deliver(hub, message)] == ["duplicate"]
    # Not a public object of the hub: not served, not in its log.
    assert (await hub.get(f"/ki/v1/objects/{message.id}")).status == 404

    unsigned = await answer(await hub.get("/ki/v1/mailbox"), "GET", "/ki/v1/mailbox")
    assert unsigned["code"] == "signature_required"
    nothing = await answer(await signed_get(hub, CAROL, "/ki/v1/mailbox"), "GET", "/ki/v1/mailbox")
    assert nothing == {"messages": []}
    held = await answer(await signed_get(hub, ALICE, "/ki/v1/mailbox"), "GET", "/ki/v1/mailbox")
    assert [m["id"] for m in held["messages"]] == [message.id]
    assert held["messages"][0] == json.loads(message.wire)

    # Carol cannot drop Alice's mail; Alice's acknowledgement drops it for her, not for Bob.
    other = await answer(await signed_post(hub, CAROL, "/ki/v1/mailbox/ack", {"ids": [message.id]}),
                         "POST", "/ki/v1/mailbox/ack")
    assert other == {"acknowledged": 0}
    done = await answer(await signed_post(hub, ALICE, "/ki/v1/mailbox/ack", {"ids": [message.id]}),
                        "POST", "/ki/v1/mailbox/ack")
    assert done == {"acknowledged": 1}
    assert (await (await signed_get(hub, ALICE, "/ki/v1/mailbox")).json()) == {"messages": []}
    assert [m["id"] for m in (await (await signed_get(hub, BOB, "/ki/v1/mailbox")).json())["messages"]] == [message.id]

    bad = await answer(await signed_post(hub, ALICE, "/ki/v1/mailbox/ack", {"ids": []}), "POST", "/ki/v1/mailbox/ack")
    assert bad["code"] == "malformed"
    unsigned_ack = await answer(await hub.post("/ki/v1/mailbox/ack", json={"ids": [message.id]}),
                                "POST", "/ki/v1/mailbox/ack")
    assert unsigned_ack["code"] == "signature_required"


async def test_project_contract_and_reputation_reads_fit_the_document(hub):
    project, offer = proposal()
    task = sign(ALICE, "task", {"project": project.id, "category": "web-design", "title": "Logo",
                                "description": "A logo", "budget": money("100.00"), "deadline": NOW + 86400,
                                "depends_on": [], "claim_lease": 3600}, NOW - 9)
    contract = sign(ALICE, "contract", {
        "parties": [{"did": ALICE.did, "role": "client"}, {"did": BOB.did, "role": "supplier"}],
        "scope": [task.id], "terms": "a logo", "price": money("100.00"),
        "milestones": [{"key": "all", "title": "the logo", "amount": money("100.00"), "due": NOW + 80000}],
        "deadline": NOW + 86000, "dispute_resolver": HUB.did}, NOW - 8)
    signs = [sign(who, "sign", {"contract": contract.id}, NOW - 7) for who in (ALICE, BOB)]
    results = await deliver(hub, project, task, contract, *signs)
    assert [r["status"] for r in results] == ["accepted"] * 5, results

    view = await answer(await hub.get(f"/ki/v1/projects/{project.id}"), "GET", "/ki/v1/projects/{id}")
    assert [t["id"] for t in view["tasks"]] == [task.id] and view["critical_path"] == [task.id]
    state = await answer(await hub.get(f"/ki/v1/contracts/{contract.id}"), "GET", "/ki/v1/contracts/{id}")
    assert state["in_force"] and state["status"] == "in_force"
    rep = await answer(await hub.get(f"/ki/v1/reputation/{BOB.did}"), "GET", "/ki/v1/reputation/{did}")
    assert rep["did"] == BOB.did
    later = await answer(await hub.get(f"/ki/v1/reputation/{BOB.did}?at={NOW + 1000}"), "GET", "/ki/v1/reputation/{did}")
    assert later == await WorkService(hub.server.app[NODE]).reputation(BOB.did, at=NOW + 1000)
    listed = await answer(await hub.get(f"/ki/v1/contracts?party={BOB.did}"), "GET", "/ki/v1/contracts")
    assert listed == {"contracts": [contract.id]}
    for query in ("", "?party=bob", f"?party={BOB.did}&x=1"):
        refused = await answer(await hub.get(f"/ki/v1/contracts{query}"), "GET", "/ki/v1/contracts")
        assert refused["code"] == "invalid_query"

    for path, op, code in [(f"/ki/v1/projects/{contract.id}", "/ki/v1/projects/{id}", "not_found"),
                           (f"/ki/v1/projects/{project.id.upper()}", "/ki/v1/projects/{id}", "malformed"),
                           (f"/ki/v1/contracts/{'a' * 64}", "/ki/v1/contracts/{id}", "not_found"),
                           ("/ki/v1/reputation/bob", "/ki/v1/reputation/{did}", "malformed"),
                           (f"/ki/v1/reputation/{BOB.did}?category=X", "/ki/v1/reputation/{did}", "invalid_query"),
                           (f"/ki/v1/reputation/{BOB.did}?at=-1", "/ki/v1/reputation/{did}", "invalid_query")]:
        refused = await answer(await hub.get(path), "GET", op)
        assert refused["code"] == code, path


async def test_the_service_reads_are_what_http_serves(hub):
    project, _ = proposal()
    await deliver(hub, project)
    served = await (await hub.get(f"/ki/v1/projects/{project.id}")).json()
    assert await WorkService(hub.server.app[NODE]).project_view(project.id) == served
