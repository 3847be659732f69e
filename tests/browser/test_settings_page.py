"""Settings in real Chromium: add a hub with the form (no JavaScript needed), see a bad URL refused beside
the field, and the page stays readable at 360 px with a hub listed."""

import json

import pytest

from ui_proc import layout_problems, shoot, start

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("settings-browser")
    started = []
    try:
        started.append(start(root, "hub", hub_categories=["web-design"]))
        started.append(start(root, "dana"))  # no --hub: she adds it in Settings
        yield {"hub": started[0], "dana": started[1]}
    finally:
        for node in started:
            node.stop()


def test_add_a_hub_in_settings_then_a_bad_url_is_refused_beside_the_field(pair, open_ui):
    hub, dana = pair["hub"], pair["dana"]
    page = open_ui(dana, javascript=False)
    page.goto(dana.ui + "/settings")
    page.get_by_label("Add a hub").fill("http://user:secret@127.0.0.1:7310")
    page.get_by_role("button", name="Add hub").click()
    assert page.locator("#f-hub-error").inner_text() == "URLs with user information are refused."
    assert page.get_by_label("Add a hub").get_attribute("aria-invalid") == "true"
    assert not (dana.data_dir / "settings.json").exists()

    page.get_by_label("Add a hub").fill(hub.url)
    page.get_by_role("button", name="Add hub").click()
    assert "Hub added" in page.get_by_role("status").inner_text()
    assert page.get_by_role("button", name=f"Remove {hub.url}").is_visible()
    assert json.loads((dana.data_dir / "settings.json").read_text())["hubs"] == [hub.url]
    shoot(page, "settings")

    page.get_by_label("Discover hubs on my local network").check()
    page.get_by_role("button", name="Save").click()
    assert "next starts" in page.get_by_role("status").inner_text()
    assert json.loads((dana.data_dir / "settings.json").read_text())["discover"] is True


def test_settings_with_a_hub_listed_fits_360_pixels(pair, open_ui):
    hub, dana = pair["hub"], pair["dana"]
    page = open_ui(dana, width=360)
    page.goto(dana.ui + "/settings")
    if not (dana.data_dir / "settings.json").exists():  # run alone: list a hub first
        page.get_by_label("Add a hub").fill(hub.url)
        page.get_by_role("button", name="Add hub").click()
    assert page.get_by_role("button", name=f"Remove {hub.url}").is_visible()
    assert not layout_problems(page), layout_problems(page)
