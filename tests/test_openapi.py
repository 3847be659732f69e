"""specs/openapi.yaml is a test: valid OpenAPI 3.1, exactly the routes the app
serves, only codes the spec defines (with the statuses kinode.federation.problem gives
them), examples that fit their schemas, and real answers of a running hub
that fit the response schemas."""

import hashlib
import json
import pathlib
import re

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from kinode.federation.app import create_app
from kinode.federation.challenge import answer_challenge
from kinode.config import NodeConfig
from kinode.node import Node
from kinode.federation.problem import PROBLEM_TYPE, status_for
from protocol import sync
from protocol.envelope import sign
from protocol.identity import Identity
from storage.store import Store

SPECS = pathlib.Path(__file__).resolve().parent.parent / "specs"
OPENAPI_PATH = SPECS / "openapi.yaml"
OPENAPI_URI = OPENAPI_PATH.as_uri()
OPENAPI = yaml.safe_load(OPENAPI_PATH.read_text())
VECTORS = json.loads((SPECS / "vectors" / "objects.json").read_text())
OBJECTS = {v["name"]: v["object"] for v in VECTORS["vectors"] if "object" in v}
NOW = VECTORS["now"]  # the vectors verify at this clock
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _registry() -> Registry:
    """The OpenAPI document and specs/schemas/*.json, each under the URI its $refs use."""
    resources = [(OPENAPI_URI, DRAFT202012.create_resource(OPENAPI))]
    for path in sorted((SPECS / "schemas").glob("*.json")):
        resource = Resource.from_contents(json.loads(path.read_text()))
        resources += [(path.as_uri(), resource), (resource.id(), resource)]
    return Registry().with_resources(resources)


REGISTRY = _registry()


def pointer(*parts: str) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def validator(json_pointer: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"{OPENAPI_URI}#{json_pointer}"}, registry=REGISTRY)


def resolve(node: dict) -> tuple[dict, str | None]:
    """`node`, or the target of its local $ref together with the pointer it came from."""
    ref = node.get("$ref")
    if ref is None:
        return node, None
    at = ref.removeprefix("#")
    target = OPENAPI
    for part in at.strip("/").split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target, at


def operations() -> list[tuple[str, str, dict]]:
    return [(method.upper(), path, op) for path, item in OPENAPI["paths"].items()
            for method, op in item.items() if method in METHODS]


def responses() -> list[tuple[str, str, str, dict, str]]:
    """(method, path, status, Response Object, pointer to it) for every response of every operation."""
    found = []
    for method, path, op in operations():
        for status, response in op["responses"].items():
            target, at = resolve(response)
            found.append((method, path, status, target,
                          at or pointer("paths", path, method.lower(), "responses", status)))
    return found


def named_codes(node: object) -> set[str]:
    """Every code a schema (`code` enum or const) or an example (a `code` member) names."""
    codes: set[str] = set()
    if isinstance(node, dict):
        code = node.get("code")
        if isinstance(code, str):
            codes.add(code)
        if isinstance(code, dict):
            codes.update(code.get("enum", []))
            if "const" in code:
                codes.add(code["const"])
        for value in node.values():
            codes |= named_codes(value)
    elif isinstance(node, list):
        for value in node:
            codes |= named_codes(value)
    return codes


def schema_codes(schema: dict) -> set[str]:
    """The codes a problem schema allows, following its local $refs and allOf."""
    if schema.get("$ref", "").startswith("#"):
        return schema_codes(resolve(schema)[0])
    codes = named_codes(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        codes |= schema_codes(part)
    return codes


def spec_codes() -> set[str]:
    text = (SPECS / "protocol.md").read_text()
    section = text[text.index("## 11. Rejection codes"):]
    section = section[:section.index("<!-- section:")]
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE))


# --- the document ------------------------------------------------------------

def test_the_document_is_valid_openapi_3_1():
    validate_openapi(OPENAPI, base_uri=OPENAPI_URI)
    assert OPENAPI["openapi"].startswith("3.1.")


def test_every_code_named_is_in_the_codes_table_of_section_11():
    table = spec_codes()
    assert len(table) > 20  # the table was found and parsed
    named = named_codes(OPENAPI)
    assert named, "the document names no codes"
    assert named - table == set()


@pytest.mark.parametrize("method, path, status, response", [
    pytest.param(method, path, status, response, id=f"{method} {path} {status}")
    for method, path, status, response, _ in responses() if not status.startswith("2")])
def test_every_error_is_problem_json_with_codes_of_its_status(method, path, status, response):
    assert list(response["content"]) == [PROBLEM_TYPE]
    codes = schema_codes(response["content"][PROBLEM_TYPE]["schema"])
    assert codes, f"{method} {path} {status} names no code"
    for code in codes:
        assert (500 if code == "internal_error" else status_for(code)) == int(status), code


def _media_examples():
    for method, path, status, response, at in responses():
        for media, content in response.get("content", {}).items():
            for name, example in content.get("examples", {}).items():
                yield pytest.param(at + pointer("content", media, "schema"), example["value"],
                                   id=f"{method} {path} {status} {name}")
    for method, path, op in operations():
        for media, content in op.get("requestBody", {}).get("content", {}).items():
            for name, example in content.get("examples", {}).items():
                yield pytest.param(pointer("paths", path, method.lower(), "requestBody", "content", media, "schema"),
                                   example["value"], id=f"{method} {path} request {name}")


@pytest.mark.parametrize("schema_at, value", list(_media_examples()))
def test_every_example_fits_its_schema(schema_at, value):
    validator(schema_at).validate(value)


def test_the_schemas_refuse_what_the_protocol_refuses():
    offer = OBJECTS["valid/offer"]
    signed_object = validator(pointer("components", "schemas", "SignedObject"))
    signed_object.validate(offer)
    assert not signed_object.is_valid({**offer, "body": {**offer["body"], "unit": "week"}})  # offer.json
    assert not signed_object.is_valid({**offer, "type": "advert"})
    result = validator(pointer("components", "schemas", "InboxResult"))
    assert not result.is_valid({"id": offer["id"], "status": "rejected"})  # a rejection says why
    assert not result.is_valid({"id": None, "status": "accepted"})


def test_the_sync_examples_are_what_a_responder_answers():
    """Section 10.7's E(2)..E(4) responder, asked the request example, gives the diff example."""
    def item(n: int) -> str:
        return hashlib.sha256(str(n).encode()).hexdigest()

    sync_op = OPENAPI["paths"]["/ki/v1/sync"]["post"]
    request = sync_op["requestBody"]["content"]["application/json"]["examples"]["ids"]["value"]
    expected = sync_op["responses"]["200"]["content"]["application/json"]["examples"]["diff"]["value"]
    assert request == sync.Initiator(sync.SortedItems(item(n) for n in (1, 2, 3)), ["web-design"],
                                     salt=bytes(range(8))).start()
    assert sync.respond(sync.SortedItems([item(n) for n in (2, 3, 4)]), request) == expected


def test_the_sync_schemas_take_what_the_code_sends_and_refuse_what_it_refuses():
    request, response = (validator(pointer("components", "schemas", name)) for name in ("SyncRequest", "SyncResponse"))
    ids = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(40)]
    initiator = sync.Initiator(sync.SortedItems(ids[:30]), ["web-design"], salt=bytes(range(8)))
    message = initiator.start()
    while message is not None:
        request.validate(message)
        reply = sync.respond(sync.SortedItems(ids[5:]), message)
        response.validate(reply)
        message = initiator.receive(reply)
    assert initiator.need == set(ids[30:]) and initiator.have == set(ids[:5])
    assert not request.is_valid({"v": 2, "buckets": [], "categories": ["web-design"]})  # no salt
    assert not response.is_valid({"v": 2, "buckets": [], "categories": ["web-design"], "salt": "AAECAwQFBgc"})
    assert not request.is_valid({"v": 2, "buckets": [["a", 0]], "categories": ["x"], "salt": "AAECAwQFBgc"})
    assert not request.is_valid({"v": 1, "ranges": [], "categories": ["x"]})


# --- the document against the app ------------------------------------------

def served_routes(tmp_path, roles, categories) -> set[tuple[str, str]]:
    store = Store()
    try:
        node = Node(NodeConfig(data_dir=tmp_path, roles=roles, categories=categories), Identity(bytes(32)), store)
        routes = list(create_app(node).router.routes())
    finally:
        store.close()
    served = {(r.method, r.resource.canonical) for r in routes}
    heads = {(m, p) for m, p in served if m == "HEAD"}
    assert heads == {("HEAD", p) for m, p in served if m == "GET"}  # aiohttp's HEAD for each GET
    return served - heads


def documented(role: str) -> set[tuple[str, str]]:
    return {(method, path) for method, path, op in operations() if role in op["x-kinode-roles"]}


def test_the_operations_are_exactly_the_routes_a_hub_serves(tmp_path):
    assert served_routes(tmp_path, ("node", "hub"), ("web-design",)) == documented("hub")


def test_a_participants_node_serves_the_operations_documented_for_nodes(tmp_path):
    served = served_routes(tmp_path, ("node",), ())
    assert served == documented("node")
    assert ("POST", "/ki/v1/sync") not in served


@pytest.fixture
async def hub(store, tmp_path, aiohttp_client):
    node = Node(NodeConfig(data_dir=tmp_path, roles=("node", "hub"), categories=("web-design",)),
                Identity(bytes([2]) * 32), store, clock=lambda: NOW)
    return await aiohttp_client(create_app(node))


async def answer(response, method: str, path: str) -> object:
    """The body of `response`, checked against what the document says of it."""
    op = OPENAPI["paths"][path][method.lower()]
    status = str(response.status)
    assert status in op["responses"], f"{method} {path} answered {status}, which is not documented"
    declared, at = resolve(op["responses"][status])
    at = at or pointer("paths", path, method.lower(), "responses", status)
    media = response.content_type
    assert media in declared["content"], f"{method} {path} {status} answered {media}"
    for header, spec in declared.get("headers", {}).items():
        if header not in response.headers and resolve(spec)[0].get("required") is False:
            continue  # sent only in some answers (Ki-Moderation: a delisted object)
        assert header in response.headers, f"{method} {path} {status} lacks {header}"
        header_schema = resolve(spec)[0]["schema"]
        Draft202012Validator(header_schema).validate(response.headers[header])
    body = json.loads(await response.read())
    validator(at + pointer("content", media, "schema")).validate(body)
    return body


async def test_the_node_description_fits(hub):
    body = await answer(await hub.get("/.well-known/kinode"), "GET", "/.well-known/kinode")
    assert body["roles"] == ["node", "hub"] and body["categories"] == ["web-design"]


def example(path: str, method: str, *keys: str) -> object:
    """The `value` of the example at `keys` under an operation (keys walk its dicts)."""
    node = OPENAPI["paths"][path][method]
    for key in keys:
        node = node[key]
    return node["value"]


async def test_inbox_answers_fit(hub):
    batch = example("/ki/v1/inbox", "post", "requestBody", "content", "application/json", "examples", "offers")
    assert batch["objects"] == [OBJECTS[n] for n in ("valid/offer", "valid/project", "invalid/signature flipped")]
    first = await answer(await hub.post("/ki/v1/inbox", json=batch), "POST", "/ki/v1/inbox")
    assert first == example("/ki/v1/inbox", "post", "responses", "200", "content", "application/json",
                            "examples", "first delivery")
    again = await answer(await hub.post("/ki/v1/inbox", json=batch), "POST", "/ki/v1/inbox")
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate", "rejected"]
    empty = await answer(await hub.post("/ki/v1/inbox", json={"objects": []}), "POST", "/ki/v1/inbox")
    assert empty["code"] == "malformed"
    text = await answer(await hub.post("/ki/v1/inbox", data="x", headers={"Content-Type": "text/plain"}),
                        "POST", "/ki/v1/inbox")
    assert text["code"] == "unsupported_media_type"
    forged = await answer(await hub.post("/ki/v1/inbox", json=batch, headers={"Signature": "ki=:AA==:"}),
                          "POST", "/ki/v1/inbox")
    assert forged["code"] == "bad_request_signature"


async def test_object_answers_fit(hub):
    offer = OBJECTS["valid/offer"]
    await hub.post("/ki/v1/inbox", json={"objects": [offer]})
    path = "/ki/v1/objects/{id}"
    got = await answer(await hub.get(f"/ki/v1/objects/{offer['id']}"), "GET", path)
    assert got == offer
    missing = await answer(await hub.get("/ki/v1/objects/" + "a" * 64), "GET", path)
    assert missing["code"] == "not_found"
    bad = await answer(await hub.get("/ki/v1/objects/" + offer["id"].upper()), "GET", path)
    assert bad["code"] == "malformed"
    page = await answer(await hub.get("/ki/v1/objects?after=0&limit=5"), "GET", "/ki/v1/objects")
    assert [o["id"] for o in page["objects"]] == [offer["id"]]
    refused = await answer(await hub.get("/ki/v1/objects?limit=0"), "GET", "/ki/v1/objects")
    assert refused["code"] == "invalid_query"
    retract = sign(Identity(bytes([1]) * 32), "retract", {"target": offer["id"]}, NOW + 60)  # the vectors' alice
    await hub.post("/ki/v1/inbox", json={"objects": [json.loads(retract.wire)]})
    gone = await answer(await hub.get(f"/ki/v1/objects/{offer['id']}"), "GET", path)
    assert gone == example(path, "get", "responses", "410", "content", PROBLEM_TYPE, "examples", "retracted offer")


async def test_a_delisted_objects_answers_fit(hub):
    """A hub's own label delists the offer: fetch, log and search carry the mark in the documented shapes."""
    offer = OBJECTS["valid/offer"]
    label = sign(Identity(bytes([2]) * 32), "label", {"scope": "object", "target": offer["id"], "reason": "spam",
                                                      "note": "Bulk listings.", "expires": NOW + 3600}, NOW)
    await hub.post("/ki/v1/inbox", json={"objects": [offer, json.loads(label.wire)]})
    fetched = await hub.get(f"/ki/v1/objects/{offer['id']}")
    assert await answer(fetched, "GET", "/ki/v1/objects/{id}") == offer
    assert fetched.headers["Ki-Moderation"].startswith(f'"{label.id}";reason=spam;expires={NOW + 3600};by=')
    page = await answer(await hub.get("/ki/v1/objects?type=offer"), "GET", "/ki/v1/objects")
    assert [m["label"] for m in page["moderation"][offer["id"]]] == [label.id]
    found = await answer(await hub.get("/ki/v1/search?q=landing"), "GET", "/ki/v1/search")
    assert found["results"][0]["moderation"] == page["moderation"][offer["id"]]


async def test_search_answers_fit(hub):
    await hub.post("/ki/v1/inbox", json={"objects": [OBJECTS["valid/offer"]]})
    found = await answer(await hub.get("/ki/v1/search?q=landing"), "GET", "/ki/v1/search")
    assert [r["id"] for r in found["results"]] == [OBJECTS["valid/offer"]["id"]]
    for query, code in [("limit=0", "invalid_query"), ("foo=1", "invalid_query"), ("cursor=zzz", "invalid_cursor")]:
        refused = await answer(await hub.get(f"/ki/v1/search?{query}"), "GET", "/ki/v1/search")
        assert refused["code"] == code


async def test_sync_and_challenge_answers_fit(hub):
    unsigned = await answer(await hub.post("/ki/v1/sync", json={"v": 2, "buckets": [], "categories": ["web-design"],
                                                                 "salt": "AAECAwQFBgc"}),
                            "POST", "/ki/v1/sync")
    assert unsigned["code"] == "signature_required"
    nonce = OPENAPI["paths"]["/ki/v1/challenge"]["post"]["requestBody"]["content"]["application/json"][
        "examples"]["bytes 0 to 31"]["value"]
    proof = await answer(await hub.post("/ki/v1/challenge", json=nonce), "POST", "/ki/v1/challenge")
    assert proof == answer_challenge(Identity(bytes([2]) * 32), nonce["nonce"])
    assert answer_challenge(Identity(bytes([1]) * 32), nonce["nonce"]) == example(
        "/ki/v1/challenge", "post", "responses", "200", "content", "application/json", "examples", "alice")
    refused = await answer(await hub.post("/ki/v1/challenge", json={"nonce": "x"}), "POST", "/ki/v1/challenge")
    assert refused["code"] == "malformed"


async def test_the_generic_refusals_fit_their_components(hub):
    for method, path, component, status in [("GET", "/ki/v1/inbox", "MethodNotAllowed", 405),
                                            ("POST", "/nope", "NoSuchEndpoint", 404)]:
        response = await hub.request(method, path)
        assert response.status == status
        declared = OPENAPI["components"]["responses"][component]
        assert set(declared.get("headers", {})) <= set(response.headers)
        validator(pointer("components", "responses", component, "content", PROBLEM_TYPE, "schema")) \
            .validate(json.loads(await response.read()))
