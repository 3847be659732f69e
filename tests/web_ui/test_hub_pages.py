"""A hub operator's page on a real `kinode hub`: endorse, see whether it counts, label, revoke."""

import re
import urllib.parse

import pytest

from ui_proc import login, request, start

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    node = start(tmp_path_factory.mktemp("hubui"), "hub", hub_categories=["web-design"])
    yield node
    node.stop()


def _post(hub, cookie, path, **fields):
    page = request(hub, "GET", "/hub", headers={"Cookie": cookie}).text
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)
    body = urllib.parse.urlencode({"csrf": csrf, **fields}).encode()
    return request(hub, "POST", path, headers={**FORM, "Cookie": cookie, "Origin": hub.ui}, body=body)


def test_endorse_then_revoke_an_expert(hub):
    cookie = login(hub)
    expert = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    done = _post(hub, cookie, "/hub/endorse", subject=expert, category="web-design", level="expert", note="Solid")
    assert done.status == 303 and done.headers["location"] == "/hub?done=endorsed"
    page = request(hub, "GET", "/hub", headers={"Cookie": cookie}).text
    row = re.search(r"<tr><td><code title=\"" + expert + r"\">.*?</tr>", page, re.S).group(0)
    assert "counts" in row  # endorsed by the hub itself, a leader of its own categories
    endorsement = re.search(r'name="endorsement" value="([0-9a-f]{64})"', row).group(1)
    assert _post(hub, cookie, "/hub/revoke", endorsement=endorsement, reason="left the field").status == 303
    assert expert not in request(hub, "GET", "/hub", headers={"Cookie": cookie}).text.split("Endorsed by this hub")[1]


def test_a_bad_endorsement_is_a_sentence_next_to_the_field_and_nothing_is_published(hub):
    cookie = login(hub)
    answer = _post(hub, cookie, "/hub/endorse", subject="not-a-did", category="web-design", level="expert", note="")
    assert answer.status == 422
    assert re.search(r'id="f-subject-error">[^<]*did', answer.text), answer.text[-2000:]
    assert "not-a-did" not in answer.text.split("Endorsed by this hub")[1]


def test_label_an_author_with_a_reason_and_an_expiry(hub):
    cookie = login(hub)
    spammer = "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG"
    assert _post(hub, cookie, "/hub/label", subject=spammer, reason="spam", expires="+7d", note="bulk posts").status == 303
    page = request(hub, "GET", "/hub", headers={"Cookie": cookie}).text
    assert "spam</strong> on author" in page and "bulk posts" in page
    both = _post(hub, cookie, "/hub/label", subject=spammer, target="ab" * 32, reason="spam", expires="+7d")
    assert both.status == 422 and "not both" in both.text
