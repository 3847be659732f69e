"""The Settings page on a real `kinode serve`: a hub added there is used at once, a bad URL is refused
with a sentence beside the field and changes nothing, and the settings survive a restart."""

import json
import re
import subprocess
import urllib.parse
import urllib.request

import pytest

from ui_proc import login, poll, request, start

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("settings")


@pytest.fixture(scope="module")
def hub(root):
    node = start(root, "hub", hub_categories=["web-design"])
    yield node
    node.stop()


def _post(node, cookie, path, **fields):
    page = request(node, "GET", "/settings", headers={"Cookie": cookie}).text
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)
    body = urllib.parse.urlencode({"csrf": csrf, **fields}).encode()
    return request(node, "POST", path, headers={**FORM, "Cookie": cookie, "Origin": node.ui}, body=body)


def _hub_holds(hub, object_id) -> bool:
    try:
        with urllib.request.urlopen(f"{hub.url}/ki/v1/objects/{object_id}", timeout=10) as answer:
            return answer.status == 200
    except OSError:
        return False


def test_a_hub_added_in_settings_gets_the_next_offer_and_survives_a_restart(root, hub):
    alice = start(root, "alice")
    try:
        cookie = login(alice)
        added = _post(alice, cookie, "/settings/hubs", hub=hub.url + "/")
        assert added.status == 303 and added.headers["location"] == "/settings?saved=added"
        page = request(alice, "GET", added.headers["location"], headers={"Cookie": cookie}).text
        assert "Hub added" in page and f"Remove {hub.url}" in page
        assert json.loads((alice.data_dir / "settings.json").read_text())["hubs"] == [hub.url]
        made = _post(alice, cookie, "/offers", category="web-design", title="Logo design", description="Logos.",
                     amount="90.00", currency="EUR", unit="hour")
        assert made.status == 303
        offer_id = made.headers["location"].split("/")[-1].split("?")[0]
        poll(lambda: _hub_holds(hub, offer_id), "the offer to reach the hub added in settings")
        options = _post(alice, cookie, "/settings/options", hub_directory="on", discover="")
        assert options.status == 303
    finally:
        alice.stop()
    alice = start(root, "alice")  # no --hub: the hub comes from settings.json
    try:
        cookie = login(alice)
        page = request(alice, "GET", "/settings", headers={"Cookie": cookie}).text
        assert f"Remove {hub.url}" in page
        assert re.search(r"Hubs in use</dt><dd>" + re.escape(hub.url), page)
        made = _post(alice, cookie, "/offers", category="web-design", title="Icons", description="Icons.",
                     amount="50.00", currency="EUR", unit="hour")
        offer_id = made.headers["location"].split("/")[-1].split("?")[0]
        poll(lambda: _hub_holds(hub, offer_id), "an offer after the restart to reach the saved hub")
        removed = _post(alice, cookie, "/settings/hubs/remove", url=hub.url)
        assert removed.status == 303
        assert json.loads((alice.data_dir / "settings.json").read_text())["hubs"] == []
        page = request(alice, "GET", "/settings", headers={"Cookie": cookie}).text
        assert f"Remove {hub.url}" not in page and "Hubs in use</dt><dd>none" in page
    finally:
        alice.stop()


@pytest.mark.parametrize("url, sentence", [
    ("ftp://127.0.0.1:7310", "only http and https urls are fetched."),
    ("http://user:pw@127.0.0.1:7310", "urls with user information are refused."),
    ("http://127.1:7310", "is not a dotted-quad ipv4 address."),
    ("", "give the hub"),
])
def test_a_bad_hub_url_is_refused_beside_the_field_and_changes_nothing(root, url, sentence):
    bob = start(root, "bob")
    try:
        cookie = login(bob)
        answer = _post(bob, cookie, "/settings/hubs", hub=url)
        assert answer.status == 422 and "Traceback" not in answer.text
        error = re.search(r'id="f-hub-error">([^<]+)<', answer.text)
        assert error and sentence in error.group(1).lower(), answer.text
        assert 'aria-invalid="true"' in answer.text
        assert not (bob.data_dir / "settings.json").exists()
        page = request(bob, "GET", "/settings", headers={"Cookie": cookie}).text
        assert "Hubs in use</dt><dd>none" in page
    finally:
        bob.stop()


def test_a_settings_change_without_the_csrf_token_is_refused(root):
    carol = start(root, "carol")
    try:
        cookie = login(carol)
        body = urllib.parse.urlencode({"hub": "http://127.0.0.1:1"}).encode()
        answer = request(carol, "POST", "/settings/hubs", headers={**FORM, "Cookie": cookie, "Origin": carol.ui},
                         body=body)
        assert answer.status == 403
        assert not (carol.data_dir / "settings.json").exists()
    finally:
        carol.stop()


def test_flags_win_over_the_file_and_the_page_says_which_came_from_a_flag(root, hub):
    (root / "erin").mkdir()
    saved = "http://127.0.0.1:9"  # loopback, nothing listens: only listed, never reached
    (root / "erin" / "settings.json").write_text(json.dumps({"hubs": [saved, hub.url], "discover": False}))
    erin = start(root, "erin", hubs=[hub.url])
    try:
        cookie = login(erin)
        page = request(erin, "GET", "/settings", headers={"Cookie": cookie}).text
        assert f"{hub.url} — from <code>--hub</code>" in page and f"Remove {saved}" in page
        assert f"Remove {hub.url}" not in page  # a flag's hub is not offered for removal
        answer = _post(erin, cookie, "/settings/hubs/remove", url=hub.url)
        assert answer.status == 422
        assert re.search(r'id="f-hub-error">[^<]*was given with --hub; restart the node without it', answer.text)
        assert hub.url in json.loads((erin.data_dir / "settings.json").read_text())["hubs"]
    finally:
        erin.stop()


def test_a_settings_file_that_is_not_ours_stops_serve_with_a_sentence(root):
    from harness import KINODE
    data_dir = root / "frank"
    subprocess.run(KINODE + ["init", "--data-dir", str(data_dir), "--no-passphrase"], check=True, capture_output=True)
    (data_dir / "settings.json").write_text('{"hubs": ["ftp://127.0.0.1:7310"]}')
    done = subprocess.run(KINODE + ["serve", "--data-dir", str(data_dir), "--port", "0", "--no-ui"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "settings.json is not a kinode settings file: Only http and https URLs are fetched. [bad_config]" \
        in done.stderr
