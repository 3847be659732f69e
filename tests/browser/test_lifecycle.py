"""The work lifecycle across two participants' UIs and a hub's, in real Chromium.

Alice posts a project and a task; Bob finds it through the hub and proposes;
Alice drafts a contract from the proposal; both sign; Bob delivers a file,
Alice rejects it with a reason, Bob delivers again, Alice accepts and records
payment, Bob confirms; both review. The hub's operator endorses Bob, and the
endorsement shows on Bob's offer as Alice's node sees it.
"""

import datetime
import hashlib

import pytest

from harness import http_json
from ui_proc import layout_problems, poll, shoot, start

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def trio(tmp_path_factory):
    root = tmp_path_factory.mktemp("lifecycle")
    started = []
    try:
        hub = start(root, "hub", hub_categories=["web-design"])
        started.append(hub)
        started.append(start(root, "alice", hubs=[hub.url]))
        started.append(start(root, "bob", hubs=[hub.url]))
        yield started
    finally:
        for node in started:
            node.stop()


def reload_until(page, text: str, what: str, timeout: float = 120.0):
    return poll(lambda: (page.reload(), text in page.content())[1], what, timeout)


def profile(page, node, name: str) -> None:
    page.goto(node.ui + "/profile")
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Publish profile").click()
    assert "Profile published" in page.content()


def test_a_contract_from_proposal_to_reviews_across_two_uis(trio, open_ui, tmp_path):
    hub, alice, bob = trio
    a, b, h = open_ui(alice), open_ui(bob), open_ui(hub)
    profile(a, alice, "Alice Client")
    profile(b, bob, "Bob Supplier")

    # Alice posts a project with one task.
    in_ten_days = (datetime.datetime.now() + datetime.timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    in_five_days = (datetime.datetime.now() + datetime.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    a.goto(alice.ui + "/projects/new")
    a.get_by_label("Category").fill("web-design")
    a.get_by_label("Title").fill("Bakery website")
    a.get_by_label("Description").fill("A small site for a bakery: menu, hours, map.")
    a.locator("#f-budget").fill("900.00")
    a.get_by_label("Deadline").fill(in_ten_days)
    a.get_by_role("button", name="Post project").click()
    assert a.get_by_role("heading", level=1).inner_text() == "Bakery website"
    a.get_by_label("Title").fill("Menu page")
    a.get_by_label("Description").fill("The menu, with prices.")
    a.get_by_label("Budget (EUR)").fill("300.00")
    a.get_by_label("Deadline").fill(in_five_days)
    a.get_by_role("button", name="Add task").click()
    assert "Task added" in a.content()
    assert a.locator("svg.graph .task.critical").count() == 1  # one task: it is the critical path
    shoot(a, "project")
    project_url = a.url.split("?")[0]

    # Bob finds the project through the hub and proposes for the task.
    b.goto(bob.ui + "/find?type=project&q=bakery")
    poll(lambda: (b.reload(), b.locator(".results li", has_text="Bakery website").count())[1], "the project on the hub")
    b.locator(".results li", has_text="Bakery website").get_by_role("link").click()
    b.get_by_role("link", name="Open the project").click()
    reload_until(b, "Menu page", "the task at the hub")
    b.get_by_role("button", name="Claim this task").click()
    assert "Claimed." in b.content()
    assert "(you)" in b.locator("article", has_text="Menu page").inner_text()
    b.get_by_label("For", exact=True).select_option(label="Menu page")
    b.get_by_label("Your price").fill("300.00")
    b.get_by_label("Message").fill("I build bakery menus; done in four days.")
    b.get_by_role("button", name="Send proposal").click()
    assert "Proposal sent" in b.content()

    a.goto(project_url)
    reload_until(a, "Held by", "Bob's claim at Alice's node")
    assert "claimed" in a.locator("article", has_text="Menu page").inner_text()

    # Alice drafts a contract from the proposal in her inbox.
    a.goto(alice.ui + "/inbox")
    reload_until(a, "I build bakery menus", "the proposal at Alice's node")
    shoot(a, "inbox")
    a.get_by_role("link", name="draft a contract").first.click()
    a.get_by_label("Terms").fill("The menu page as described in the task, responsive, in German and English.")
    a.get_by_role("button", name="Propose contract").click()
    assert "Contract proposed" in a.content(), a.locator(".error").all_inner_texts()
    contract_path = a.url.split("?")[0].split(alice.ui, 1)[1]
    a.get_by_role("button", name="Sign this contract").click()
    assert "Signed." in a.content()

    # Bob sees it waiting for his sign, and signs.
    b.goto(bob.ui + "/")
    reload_until(b, "waits for your sign", "the contract at Bob's node")
    b.goto(bob.ui + contract_path)
    b.get_by_role("button", name="Sign this contract").click()
    assert "in force" in b.get_by_role("heading", level=1).inner_text()

    # Bob delivers; Alice rejects with a reason; Bob delivers again; Alice accepts.
    first = tmp_path / "menu-v1.html"
    first.write_text("<h1>Menu</h1>")
    b.get_by_label("File to deliver for all").set_input_files(str(first))
    b.get_by_label("Where the client fetches it").fill("https://files.example/menu-v1.html")
    b.get_by_role("button", name="Deliver all").click()
    assert "Delivered" in b.content()
    a.goto(alice.ui + contract_path)
    reload_until(a, "Accept delivery", "the first delivery at Alice's node")
    a.get_by_label("Reason, if you reject").fill("The prices are missing.")
    a.get_by_role("button", name="Reject delivery").click()
    assert "rejected" in a.content()
    b.goto(bob.ui + contract_path)
    reload_until(b, "The prices are missing.", "the rejection at Bob's node")
    second = tmp_path / "menu-v2.html"
    second.write_text("<h1>Menu</h1><p>Bread 3.50 EUR</p>")
    b.get_by_label("File to deliver for all").set_input_files(str(second))
    b.get_by_label("Where the client fetches it").fill("https://files.example/menu-v2.html")
    b.get_by_role("button", name="Deliver all").click()
    a.goto(alice.ui + contract_path)
    reload_until(a, "Accept delivery", "the second delivery at Alice's node")
    a.get_by_role("button", name="Accept delivery").click()
    a.get_by_label("Payment reference").fill("transfer 2026-12")
    a.get_by_role("button", name="Record payment of 300.00 EUR").click()
    assert "Payment recorded" in a.content()

    # Bob confirms the payment; the contract completes; both review.
    b.goto(bob.ui + contract_path)
    reload_until(b, "Confirm payment received", "the payment at Bob's node")
    b.get_by_role("button", name="Confirm payment received").click()
    assert "completed" in b.get_by_role("heading", level=1).inner_text()
    b.get_by_label("Rating").select_option("5")
    b.get_by_label("Your review").fill("Clear brief, paid at once.")
    b.get_by_role("button", name="Publish review").click()
    assert "Review published" in b.content()
    a.goto(alice.ui + contract_path)
    reload_until(a, "Publish review", "completion at Alice's node")
    a.get_by_label("Rating").select_option("4")
    a.get_by_role("button", name="Publish review").click()
    assert "Review published" in a.content()
    shoot(a, "contract")

    # The hub's operator endorses Bob; Alice's node shows it on Bob's offer.
    b.goto(bob.ui + "/offers/new")
    b.get_by_label("Category").fill("web-design")
    b.get_by_label("Title").fill("Menu pages for food shops")
    b.get_by_label("Description").fill("Menus that customers can read on a phone.")
    b.get_by_label("Amount").fill("250")
    b.get_by_role("button", name="Publish offer").click()
    offer_path = b.url.split("?")[0].split(bob.ui, 1)[1]
    h.goto(hub.ui + "/hub")
    endorse = h.get_by_role("region", name="Endorse an expert")
    endorse.get_by_label("Participant (did:key)").fill(bob.did)
    endorse.get_by_label("Note (public)").fill("Delivered menus for three bakeries")
    h.get_by_role("button", name="Endorse").click()
    assert "Endorsement published" in h.content()
    shoot(h, "hub")
    a.goto(alice.ui + offer_path)
    reload_until(a, "Delivered menus for three bakeries", "the endorsement on Bob's listing at Alice's node")
    assert "expert in web-design" in a.get_by_role("region", name="The author").inner_text()
    reload_until(a, "4.00 / 5", "the 4 Alice gave Bob, in his reputation on his listing")
    assert "How this was computed" in a.content()
    a.goto(alice.ui + "/find?q=menu+pages&endorsed=true")
    assert "endorsed expert" in a.locator(".results li", has_text="Menu pages for food shops").inner_text()
    shoot(a, "listing-endorsed")
    a.goto(project_url)
    deliverables = a.get_by_role("region", name="Accepted deliverables").inner_text()
    assert hashlib.sha256(second.read_bytes()).hexdigest() in deliverables  # the re-done file, not the first
    assert "accepted" in a.locator("article", has_text="Menu page").inner_text()
    narrow = open_ui(alice, width=360)
    for path in (project_url.split(alice.ui, 1)[1], contract_path, offer_path, "/inbox"):
        narrow.goto(alice.ui + path)
        assert not layout_problems(narrow), (path, layout_problems(narrow))
    hub_page = open_ui(hub, width=360)
    hub_page.goto(hub.ui + "/hub")
    assert not layout_problems(hub_page), layout_problems(hub_page)


def test_a_dispute_ruled_by_the_hubs_operator_and_a_label_answered(trio, open_ui, tmp_path):
    hub, alice, bob = trio
    a, b, h = open_ui(alice), open_ui(bob), open_ui(hub)
    for page, node, name in ((h, hub, "Hub and resolver"), (a, alice, "Alice Client"), (b, bob, "Bob Supplier")):
        profile(page, node, name)  # each profile names its node, so the others' nodes can reach it
    a.goto(alice.ui + "/projects/new")
    a.get_by_label("Category").fill("web-design")
    a.get_by_label("Title").fill("Logo for the bakery")
    a.get_by_label("Description").fill("A logo.")
    a.locator("#f-budget").fill("200.00")
    a.get_by_label("Deadline").fill((datetime.datetime.now() + datetime.timedelta(days=20)).strftime("%Y-%m-%dT%H:%M"))
    a.get_by_role("button", name="Post project").click()
    project_id = a.url.split("?")[0].rsplit("/", 1)[-1]

    # Bob proposes privately: sealed for Alice, opened by her node, never readable on the hub.
    b.goto(f"{bob.ui}/projects/{project_id}")
    reload_until(b, "Make a proposal", "the logo project at the hub")
    b.get_by_label("Your price").fill("200.00")
    b.get_by_label("Message").fill("Sealed: two colours, three drafts.")
    b.get_by_label("Private").check()
    b.get_by_role("button", name="Send proposal").click()
    assert "Proposal sent" in b.content(), b.locator(".error").all_inner_texts()
    a.goto(alice.ui + "/inbox")
    reload_until(a, "Sealed: two colours, three drafts.", "the sealed proposal opened at Alice's node")
    on_hub = http_json("GET", f"{hub.url}/ki/v1/objects?type=proposal&limit=500")[1]["objects"]
    assert not [o for o in on_hub if "Sealed" in o["body"].get("message", "")]

    a.goto(f"{alice.ui}/contracts/new?scope={project_id}&with={bob.did}&amount=200.00&currency=EUR")
    assert a.get_by_label("Dispute resolver").input_value() == hub.did  # the hub's operator, by default
    a.get_by_label("Terms").fill("A logo in two colours.")
    a.get_by_role("button", name="Propose contract").click()
    assert "Contract proposed" in a.content(), a.locator(".error").all_inner_texts()
    contract_path = a.url.split("?")[0].split(alice.ui, 1)[1]
    a.get_by_role("button", name="Sign this contract").click()
    b.goto(bob.ui + contract_path)
    reload_until(b, "Sign this contract", "the second contract at Bob's node")
    b.get_by_role("button", name="Sign this contract").click()
    logo = tmp_path / "logo.svg"
    logo.write_text("<svg/>")
    b.get_by_label("File to deliver for all").set_input_files(str(logo))
    b.get_by_label("Where the client fetches it").fill("https://files.example/logo.svg")
    b.get_by_role("button", name="Deliver all").click()
    a.goto(alice.ui + contract_path)
    reload_until(a, "Accept delivery", "the logo delivery at Alice's node")
    a.get_by_label("Open a dispute").fill("One colour only, not two.")
    a.get_by_role("button", name="Open dispute").click()
    assert "Dispute opened" in a.content(), a.locator(".error").all_inner_texts()

    h.goto(hub.ui + contract_path)
    reload_until(h, "Publish ruling", "the dispute at the hub (the resolver)")
    h.get_by_label("Outcome").select_option("for_supplier")
    h.get_by_label("Reason").fill("The brief said two colours; the file has two.")
    h.get_by_role("button", name="Publish ruling").click()
    assert "Ruling published" in h.content(), h.locator(".error").all_inner_texts()
    a.goto(alice.ui + contract_path)
    reload_until(a, "ruled for supplier", "the ruling at Alice's node")

    # The operator labels Alice's project off topic; she answers from her listing page; the hub shows it.
    h.goto(hub.ui + "/hub")
    moderation = h.get_by_role("region", name="Moderation")
    moderation.get_by_label("Object id to delist").fill(project_id)
    moderation.get_by_label("Reason").select_option("off_topic")
    moderation.get_by_label("Note (public)").fill("Logos belong in graphic-design")
    h.get_by_role("button", name="Publish label").click()
    assert "Label published" in h.content()
    a.goto(f"{alice.ui}/objects/{project_id}")
    assert "Delisted at" in a.content() and "Logos belong in graphic-design" in a.content()
    a.get_by_label("Your answer").fill("It is a web logo, for the site.")
    a.get_by_role("button", name="Answer the label").click()
    h.goto(hub.ui + "/hub")
    reload_until(h, "It is a web logo, for the site.", "Alice's answer at the hub")
