"""A participant's flows in real Chromium: log in, profile, offer, find it from another node."""

import re

import pytest

from ui_proc import layout_problems, poll, shoot

pytestmark = pytest.mark.browser


def test_login_with_the_printed_url_then_the_token_leaves_the_address_bar(market, open_ui):
    alice = market["alice"]
    page = open_ui(alice)
    assert alice.token not in page.url
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome to kinode"
    assert alice.token not in page.content()
    shoot(page, "dashboard-new")


def test_a_refused_field_shows_a_sentence_next_to_it_and_nothing_is_published(market, open_ui):
    page = open_ui(market["alice"])
    page.goto(market["alice"].ui + "/offers/new")
    page.get_by_label("Category").fill("web-design")
    page.get_by_label("Title").fill("Too precise")
    page.get_by_label("Description").fill("An amount with three decimals in euros.")
    page.get_by_label("Amount").fill("12.345")
    page.get_by_role("button", name="Publish offer").click()
    error = page.locator("#f-price-error")
    assert "more fraction digits than EUR allows" in error.inner_text()
    assert page.get_by_label("Amount").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Title").input_value() == "Too precise"  # the form keeps what was typed
    shoot(page, "offer-error")
    page.goto(market["alice"].ui + "/")
    assert "Too precise" not in page.content()


def test_publish_profile_and_offer_on_one_node_and_find_it_from_another(market, open_ui):
    alice, bob = market["alice"], market["bob"]
    page = open_ui(alice)
    page.goto(alice.ui + "/profile")
    page.get_by_label("Name").fill("Alice Example")
    page.get_by_label("About you").fill("Web designer in Berlin. Accessible sites that load fast.")
    page.get_by_label("Skills").fill("css, accessibility")
    page.get_by_role("button", name="Publish profile").click()
    assert "Profile published" in page.get_by_role("status").first.inner_text()
    shoot(page, "profile")

    page.goto(alice.ui + "/offers/new")
    page.get_by_label("Category").fill("web-design")
    page.get_by_label("Title").fill("Accessible landing page")
    page.get_by_label("Description").fill("A fast, accessible landing page, delivered in a week.")
    page.get_by_label("Skills").fill("css, html")
    page.get_by_label("Amount").fill("1500.00")
    page.get_by_label("Currency").fill("EUR")
    page.get_by_label("Per").select_option("fixed")
    page.get_by_role("button", name="Publish offer").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Accessible landing page"
    assert "Signature verified" in page.content()
    assert "1500.00 EUR" in page.content()
    offer_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    assert re.fullmatch(r"[0-9a-f]{64}", offer_id)

    page.goto(alice.ui + "/delivery")
    poll(lambda: (page.reload(), "delivered to 1 of 1" in page.locator("tr", has_text="Accessible landing page")
                  .inner_text())[1], "the offer to reach the hub")
    shoot(page, "delivery")

    other = open_ui(bob)
    other.goto(bob.ui + "/find")
    other.get_by_label("Search").fill("accessible landing")
    other.get_by_role("button", name="Search").click()
    result = other.locator(".results li", has_text="Accessible landing page")
    assert "signature verified" in result.inner_text()
    assert "1500.00 EUR, fixed price" in result.inner_text()
    refine = other.get_by_role("navigation", name=re.compile("Refine the results"))
    assert refine.get_by_role("link", name="web-design (1)").count() == 1  # the hub's facets, as links
    shoot(other, "find")
    result.get_by_role("link").click()
    assert other.get_by_role("heading", level=1).inner_text() == "Accessible landing page"
    assert "Signature verified by this node" in other.content()
    assert "Alice Example" in other.get_by_role("region", name="The author").inner_text()
    shoot(other, "listing")
    page.goto(alice.ui + "/")
    assert "Accessible landing page" in page.locator("section", has_text="My offers").inner_text()
    shoot(page, "dashboard")


def test_forms_work_without_javascript(market, open_ui):
    bob = market["bob"]
    page = open_ui(bob, javascript=False)
    page.goto(bob.ui + "/profile")
    page.get_by_label("Name").fill("Bob Builder")
    page.get_by_role("button", name="Publish profile").click()
    assert page.url == bob.ui + "/profile?saved=1"
    assert page.get_by_label("Name").input_value() == "Bob Builder"


def test_times_show_in_the_browsers_locale(market, open_ui):
    page = open_ui(market["alice"])
    page.goto(market["alice"].ui + "/profile")
    page.get_by_label("Name").fill("Alice Example")
    page.get_by_role("button", name="Publish profile").click()
    page.goto(market["alice"].ui + "/")
    stamp = page.locator("time[data-ts]").first
    # The server writes UTC; the script rewrites it in the browser's locale (en-GB, Europe/Berlin here).
    assert "UTC" not in stamp.inner_text()
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}", stamp.inner_text()), stamp.inner_text()
    relative = page.locator("[data-relative]").first.inner_text()
    assert "ago" in relative or "now" in relative, relative


def test_readable_at_360_pixels_without_sideways_scrolling(market, open_ui):
    alice = market["alice"]
    page = open_ui(alice, width=360)
    for path in ("/", "/find?q=landing", "/offers/new", "/profile", "/delivery", "/settings", "/inbox",
                 "/projects/new", "/contracts/new"):
        page.goto(alice.ui + path)
        assert not layout_problems(page), (path, layout_problems(page))
    page.goto(alice.ui + "/")
    shoot(page, "dashboard-360")


def test_live_update_by_server_sent_events(market, open_ui):
    bob = market["bob"]
    watching = open_ui(bob)
    watching.goto(bob.ui + "/")
    region = watching.locator('[data-live="dashboard"]')
    region.wait_for()
    acting = watching.context.new_page()
    acting.goto(bob.ui + "/offers/new")
    acting.get_by_label("Category").fill("web-design")
    acting.get_by_label("Title").fill("Bob's refused-nowhere offer")
    acting.get_by_label("Description").fill("Checks that the dashboard learns of changes without a reload.")
    acting.get_by_label("Amount").fill("80")
    acting.get_by_label("Currency").fill("EUR")
    acting.get_by_role("button", name="Publish offer").click()
    # Without reloading: the SSE event makes the page fetch its live regions again.
    watching.locator("section", has_text="My offers").get_by_text("Bob's refused-nowhere offer").wait_for()


def test_an_offer_can_be_published_with_the_keyboard_alone(market, open_ui):
    alice = market["alice"]
    page = open_ui(alice)
    page.goto(alice.ui + "/offers/new")
    page.get_by_label("Category").focus()
    typed = {"f-category": "web-design", "f-title": "Keyboard-made offer", "f-description": "Typed, tabbed, sent.",
             "f-skills": "", "f-amount": "40"}
    for field_id, text in typed.items():
        assert page.evaluate("document.activeElement.id") == field_id  # Tab follows the form's order
        page.keyboard.type(text)
        if field_id != "f-amount":
            page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Enter in a field submits the form
    page.wait_for_url("**/objects/**")
    assert page.get_by_role("heading", level=1).inner_text() == "Keyboard-made offer"
    focus_ring = page.evaluate("""() => { const a = document.querySelector('nav a'); a.focus();
        return getComputedStyle(a).outlineStyle; }""")
    assert focus_ring != "none"  # a visible focus indicator
