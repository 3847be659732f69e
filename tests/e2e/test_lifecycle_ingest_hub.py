"""A real hub enforces the lifecycle at its inbox (spec 13.1): every static rule, pending, order.

Each static rule's violation POSTed to /ki/v1/inbox is refused with its code
and the hub's log is unchanged; a sign posted before its contract waits
("pending", awaiting_context) and is accepted once the contract arrives; a
re-delivery of an object hidden by a retract or a key rotation, and a fetch
of it, answer as the spec says whatever came first.
"""

import pytest

from harness import Proc
from hub_client import log_ids, offer, post_inbox, request
from protocol.envelope import sign
from protocol.identity import Identity
from tests.storage.lifecycle_world import WORLD, refusals

W = WORLD


def start_hub(root, name: str = "hub") -> Proc:
    return Proc(["hub", "--data-dir", str(root / name), "--category", "web-design"], root / name,
                root / f"{name}.log").start()


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    proc = start_hub(tmp_path_factory.mktemp("lifecycle"))
    yield proc
    proc.kill()


@pytest.fixture
def fresh_hub(tmp_path):
    proc = start_hub(tmp_path)
    yield proc
    proc.kill()


def answers(url: str, *objs) -> list[tuple[str, str | None]]:
    reply = post_inbox(url, list(objs))
    assert reply.status == 200, reply.json
    return [(r["status"], r.get("code")) for r in reply.json["results"]]


def fetch(url: str, obj) -> tuple[int, str | None]:
    got = request(url, "GET", f"/ki/v1/objects/{obj.id}")
    return got.status, (got.json.get("code") if got.status != 200 else None)


@pytest.mark.parametrize("context, bad, code", [pytest.param(c, b, code, id=name) for name, c, b, code in refusals()])
def test_every_static_rule_is_refused_at_the_inbox_with_its_code_and_nothing_changes(hub, context, bad, code):
    assert {status for status, _ in answers(hub.url, *context)} <= {"accepted", "duplicate"}
    before = log_ids(hub.url)
    assert answers(hub.url, bad) == [("rejected", code)]
    assert log_ids(hub.url) == before
    assert fetch(hub.url, bad) == (404, "not_found")


def test_a_sign_posted_before_its_contract_is_accepted_once_the_contract_arrives(fresh_hub):
    url = fresh_hub.url
    assert answers(url, W["project"], W["t1"]) == [("accepted", None)] * 2
    assert answers(url, W["sign bob"]) == [("pending", "awaiting_context")]
    assert fetch(url, W["sign bob"]) == (404, "not_found")
    assert W["sign bob"].id not in log_ids(url)
    assert answers(url, W["contract"]) == [("accepted", None)]
    assert answers(url, W["sign bob"]) == [("duplicate", None)]
    assert request(url, "GET", f"/ki/v1/objects/{W['sign bob'].id}").raw == W["sign bob"].wire
    assert log_ids(url, category="web-design")[-2:] == [W["contract"].id, W["sign bob"].id]  # filed by its root


def test_a_sign_and_its_contract_in_one_batch_are_both_accepted(fresh_hub):
    assert answers(fresh_hub.url, W["project"], W["t1"], W["sign alice"], W["contract"], W["sign bob"]) == \
        [("accepted", None)] * 5


def test_a_lifecycle_object_of_a_root_the_hub_does_not_take_stays_pending(fresh_hub):
    photo = sign(Identity(bytes([7]) * 32), "project", {**W["project"].body, "category": "photography"},
                 W["project"].created_at)
    assert answers(fresh_hub.url, photo) == [("rejected", "category_not_served")]
    task = sign(Identity(bytes([7]) * 32), "task", {**W["t1"].body, "project": photo.id}, W["t1"].created_at)
    assert answers(fresh_hub.url, task) == [("pending", "awaiting_context")]
    assert task.id not in log_ids(fresh_hub.url)


def test_re_deliveries_and_fetches_of_hidden_objects_answer_as_if_the_hider_came_first(fresh_hub):
    url, ann, ann2 = fresh_hub.url, Identity(bytes([11]) * 32), Identity(bytes([12]) * 32)
    withdrawn = offer(ann, title="Withdrawn", created_at=1_767_225_600)
    late = offer(ann, title="Signed after the rotation", created_at=1_767_225_700)
    assert answers(url, withdrawn, late) == [("accepted", None)] * 2
    retract = sign(ann, "retract", {"target": withdrawn.id}, 1_767_225_610)
    rotation = sign(ann, "key_rotation", {"successor": ann2.did}, 1_767_225_650)
    assert answers(url, retract, rotation) == [("accepted", None)] * 2
    assert answers(url, withdrawn, late) == [("rejected", "retracted"), ("rejected", "key_rotated")]
    assert fetch(url, withdrawn) == (410, "retracted")
    gone = request(url, "GET", f"/ki/v1/objects/{late.id}")
    assert (gone.status, gone.json["code"], gone.json["rotated_by"]) == (410, "key_rotated", rotation.id)
