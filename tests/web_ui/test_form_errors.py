"""Refusals from the service layer come back as a sentence next to the field, the form refilled."""

import re
import urllib.parse

from ui_proc import login, request

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _post(node, cookie, path, **fields):
    page = request(node, "GET", "/offers/new", headers={"Cookie": cookie}).text
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)
    body = urllib.parse.urlencode({"csrf": csrf, **fields}).encode()
    return request(node, "POST", path, headers={**FORM, "Cookie": cookie, "Origin": node.ui}, body=body)


def test_a_refused_proposal_keeps_what_was_typed_and_says_why_beside_the_price(node):
    cookie = login(node)
    made = _post(node, cookie, "/offers", category="web-design", title="Logo design", description="Logos.",
                 amount="90.00", currency="EUR", unit="hour")
    assert made.status == 303
    offer_id = made.headers["location"].split("/")[-1].split("?")[0]
    answer = _post(node, cookie, "/proposals", target=offer_id, price="ninety", currency="EUR",
                   message="I can start Monday", back=f"/objects/{offer_id}")
    assert answer.status == 422
    assert re.search(r'id="p-price-error">[^<]*ninety', answer.text)
    assert "I can start Monday" in answer.text and 'value="ninety"' in answer.text
    assert "Traceback" not in answer.text


def test_a_project_with_an_unreadable_deadline_names_the_field(node):
    cookie = login(node)
    answer = _post(node, cookie, "/projects", category="web-design", title="Shop", description="A shop",
                   budget="100.00", currency="EUR", deadline="next tuesday")
    assert answer.status == 422
    assert re.search(r'id="f-deadline-error">[^<]*not a date', answer.text)
    assert 'value="Shop"' in answer.text


def test_an_unknown_object_is_a_sentence_not_a_traceback(node):
    cookie = login(node)
    answer = request(node, "GET", "/contracts/" + "cd" * 32, headers={"Cookie": cookie})
    assert answer.status == 404 and "Traceback" not in answer.text and "<h1>Not here</h1>" in answer.text
    assert request(node, "GET", "/projects/nothex", headers={"Cookie": cookie}).status == 404
