"""A newcomer's first minutes: a fresh clone, the README's run command, the printed URLs and hints.

`git clone` of this repository's HEAD into a temporary directory, then `make
run` there as the README says. The one shortcut: the clone reuses this
checkout's virtualenv (BIN=...) instead of installing one over the network,
with PYTHONPATH on the clone so every process runs the clone's code, and a
STAMP made newer than its pyproject.toml so make does not install. The demo
gets free ports and a data dir of its own (DEMO_ARGS), so it never meets a
developer's demo. Then: every printed URL answers; the printed hints run as
printed; alice's web UI, logged in with her printed token, shows the seeded
project at its stages (and, where Debian's chromium is installed, a real
browser sees the task graph with its one task at risk); the federation port's `/` says what the node is
without the token; Ctrl-C (SIGINT to the process group, as a terminal sends
it) stops everything and no port is left open; a second start reuses the
data and exits 0 on SIGINT.
"""

import http.cookiejar
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")  # Debian's, as in tests/browser
URL = re.compile(r"http://127\.0\.0\.1:[0-9]+[^\s)]*")
STAGES = ("open", "claimed", "contracted", "delivered", "accepted", "at risk", "Standby")
TITLES = ("Launch checklist", "Icon set", "Product photos", "Logo refresh", "Page build", "Landing page copy",
          "SEO audit", "Brand guide", "Checkout flow")

pytestmark = pytest.mark.skipif(not (ROOT / ".git").exists() or not Path("/usr/bin/make").exists(),
                                reason="needs a git checkout and make")


class Demo:
    """A demo process whose stdout is read on a thread; `until(text)` waits for a line containing it."""

    def __init__(self, argv: list[str], cwd: Path, env: dict):
        self.process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, start_new_session=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self.readers = [threading.Thread(target=self._read, args=(stream, into), daemon=True)
                        for stream, into in ((self.process.stdout, self.out), (self.process.stderr, self.err))]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(stream, into: list[str]) -> None:
        with stream:
            for line in stream:
                into.append(line)

    def text(self) -> str:
        return "".join(self.out)

    def until(self, needle: str, timeout: float = 150) -> str:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                time.sleep(0.2)  # let the readers drain
                raise AssertionError(f"no {needle!r} from the demo (exit {self.process.poll()}):\n"
                                     f"{self.text()}\n{''.join(self.err)}")
            time.sleep(0.1)
        return self.text()

    def kill(self) -> None:
        """SIGKILL the group if it still runs; then wait for the readers to reach the pipes' end."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for reader in self.readers:
            reader.join(10)


def free_block(size: int) -> int:
    """A first port whose `size` ports from it were all free a moment ago."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + size < 65000 and all(_free(first + i) for i in range(size)):
            return first
    raise RuntimeError("no block of free ports")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def answers(url: str) -> int:
    """The status of GET `url`, redirects not followed (a login URL answers 303)."""
    try:
        with urllib.request.build_opener(NoRedirect).open(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _processes_naming(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(entry.name)
        except OSError:
            continue
    return found


def test_a_newcomer_clones_runs_the_demo_and_sees_a_living_federation(tmp_path):
    clone = tmp_path / "kinode"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=60)
    stamp = tmp_path / "installed"
    stamp.touch()  # newer than the clone's pyproject.toml: make skips the (network) install
    first_port = free_block(6)
    data = tmp_path / "demo-data"
    env = {**os.environ, "PYTHONPATH": str(clone), "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    env.pop("KINODE_PASSPHRASE", None)
    demo_args = f"--port {first_port} --data-dir {data}"
    make = ["make", "--no-print-directory", "run", f"BIN={Path(sys.executable).parent}", f"STAMP={stamp}",
            f"DEMO_ARGS={demo_args}"]
    demo = Demo(make, clone, env)
    try:
        out = demo.until("Press Ctrl-C to stop.")
        assert "Traceback" not in out + "".join(demo.err)
        assert "seeding" in "".join(demo.err)  # the progress lines (no terminal: plain lines)

        # Every printed URL answers: 6 nodes, 6 web UIs, the experts listing.
        urls = list(dict.fromkeys(URL.findall(out)))
        logins = [u for u in urls if "/login?token=" in u]
        assert len(logins) == 6 and len(urls) >= 13, urls
        for url in urls:
            assert answers(url) in (200, 303), url

        # The hints run as printed, from the clone.
        hints = [line.split("$ ", 1)[1] for line in out.splitlines() if line.strip().startswith("$ ")]
        assert len(hints) == 4
        for hint in hints:
            done = subprocess.run(shlex.split(hint), cwd=clone, env=env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0 and "Traceback" not in done.stderr, (hint, done.stderr)
        project_hint = next(h for h in hints if " show project " in h)
        project = project_hint.split(" show project ", 1)[1].split()[0]
        shown = subprocess.run(shlex.split(project_hint), cwd=clone, env=env, capture_output=True, text=True).stdout
        for word in ("open", "claimed", "contracted", "delivered", "accepted"):
            assert word in shown, shown

        # Alice's web UI, logged in with her printed token, shows the project at its stages.
        alice_node, alice_login = URL.findall(out.split("\n  alice", 1)[1])[:2]
        assert "/login?token=" in alice_login
        ui = alice_login.split("/login", 1)[0]
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with browser.open(alice_login, timeout=10) as response:
            assert response.status == 200 and response.url.rstrip("/") == ui  # the token left the address bar
        with browser.open(f"{ui}/projects/{project}", timeout=10) as response:
            page = response.read().decode()
        assert "A website for a small tea shop" in page
        for text in TITLES + STAGES:
            assert text in page, text

        if CHROMIUM.exists():  # and in a real browser: the task graph with its one task at risk
            _browse(alice_login, ui, project)

        # The federation port's / is a page for people: what the node is, where its UI is, never the token.
        with urllib.request.urlopen(alice_node + "/", timeout=10) as response:
            front = response.read().decode()
            assert response.headers["Content-Type"].startswith("text/html")
        assert "did:key:z6Mk" in front and "/.well-known/kinode" in front and ui in front
        assert alice_login.split("token=", 1)[1] not in front
    finally:
        if demo.process.poll() is None:
            os.killpg(demo.process.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        try:
            demo.process.wait(30)
        finally:
            demo.kill()
    assert "kinode demo: stopped" in demo.text(), demo.text()
    assert "Traceback" not in demo.text() + "".join(demo.err)
    ports = [int(u.rsplit(":", 1)[1].split("/", 1)[0]) for u in URL.findall(out)]
    assert not [p for p in ports if _open(p)], "a port is still open"
    assert not _processes_naming(str(data)), "a node is still running"

    # A second start reuses the seeded data (no seeding) and exits 0 on SIGINT.
    again = Demo([sys.executable, "-m", "kinode", "demo", *shlex.split(demo_args)], clone, env)
    try:
        out2 = again.until("Press Ctrl-C to stop.", timeout=60)
        assert "reusing the demo data" in out2 and "seeding" not in "".join(again.err)
        assert project in out2
        again.process.send_signal(signal.SIGINT)
        assert again.process.wait(30) == 0
    finally:
        again.kill()
    assert not _processes_naming(str(data))


def _browse(login: str, ui: str, project: str) -> None:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.set_default_timeout(60000)
            page.goto(login)
            assert page.url == ui + "/", page.url
            page.get_by_role("link", name="A website for a small tea shop").first.click()
            assert page.url == f"{ui}/projects/{project}", page.url
            assert page.locator("svg.graph .task").count() == len(TITLES)
            assert page.locator("svg.graph .task.at-risk").count() == 1
            assert page.locator("svg.graph .task.at-risk").text_content().startswith("Checkout flow")
        finally:
            browser.close()
