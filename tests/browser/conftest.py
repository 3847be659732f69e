"""Real Chromium (Debian's, through Playwright) against real kinode processes on 127.0.0.1.

One browser per test module (see `browser`); each test opens its own contexts (cookie
jars), so the owner of each node logs in with that node's printed token.
Screenshots are written only when KINODE_SCREENSHOTS names a folder
(`make screenshots`), so a normal test run leaves the tree clean.
"""

from pathlib import Path

import pytest

from ui_proc import start

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser():
    # Module scope, not session: Playwright's sync API keeps an event loop running on
    # this thread while it is open, and every later test that calls asyncio.run()
    # would fail with "cannot be called from a running event loop".
    if not CHROMIUM.exists():
        pytest.fail(f"the browser tests need {CHROMIUM}: `make chromium` (as root) or `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    """A hub for web-design and two participants publishing to it, each with its web UI."""
    root = tmp_path_factory.mktemp("market")
    started = []
    try:
        hub = start(root, "hub", hub_categories=["web-design"])
        started.append(hub)
        alice = start(root, "alice", hubs=[hub.url])
        started.append(alice)
        bob = start(root, "bob", hubs=[hub.url])
        started.append(bob)
        yield {"hub": hub, "alice": alice, "bob": bob}
    finally:
        for node in started:
            node.stop()


@pytest.fixture
def open_ui(browser):
    """open_ui(node, width=1000, javascript=True) -> a logged-in page of that node's UI."""
    contexts = []

    def opener(node, width: int = 1000, javascript: bool = True):
        context = browser.new_context(viewport={"width": width, "height": 800}, java_script_enabled=javascript,
                                      locale="en-GB", timezone_id="Europe/Berlin")
        context.set_default_timeout(60000)  # a loaded CI box is slow; waits end as soon as the page is ready
        contexts.append(context)
        page = context.new_page()
        page.goto(node.login_url)
        assert page.url == node.ui + "/", page.url
        return page

    yield opener
    for context in contexts:
        context.close()
