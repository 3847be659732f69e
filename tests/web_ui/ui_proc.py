"""Start real `kinode serve` / `kinode hub` processes with their web UI, and talk to the UI.

Like tests/e2e/harness.py, but reads the second line the node prints (the
web UI's login URL) and keeps the token, so tests can log in as the owner.
"""

import http.client
import os
import time
import signal
import subprocess
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from harness import KINODE, wait_ready


@dataclass
class UiNode:
    name: str
    data_dir: Path
    process: subprocess.Popen
    url: str       # the federation URL
    did: str
    login_url: str

    @property
    def ui(self) -> str:
        parts = urllib.parse.urlsplit(self.login_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def ui_host(self) -> str:
        return urllib.parse.urlsplit(self.login_url).netloc

    @property
    def token(self) -> str:
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.login_url).query)["token"][0]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start(root: Path, name: str, *, hub_categories: list[str] = (), hubs: list[str] = (),
          peers: list[str] = ()) -> UiNode:
    data_dir = root / name
    if hub_categories:
        args = ["hub", "--data-dir", str(data_dir)] + [a for c in hub_categories for a in ("--category", c)]
        args += [a for p in peers for a in ("--peer", p)] + ["--reconcile-interval", "1"]
    else:
        if not (data_dir / "identity.json").exists():
            subprocess.run(KINODE + ["init", "--data-dir", str(data_dir), "--no-passphrase"], check=True,
                           capture_output=True)
        args = ["serve", "--data-dir", str(data_dir)] + [a for h in hubs for a in ("--hub", h)]
    log = open(root / f"{name}.log", "ab")
    with log:
        process = subprocess.Popen(KINODE + args + ["--port", "0", "--ui-port", "0"], stdout=subprocess.PIPE,
                                   stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
    first = process.stdout.readline().decode().strip()
    second = process.stdout.readline().decode().strip()
    process.stdout.close()
    if "listening on" not in first or "web UI: open " not in second:
        process.kill()
        process.wait(5)
        raise RuntimeError(f"kinode did not start with its UI: {first!r} {second!r}\n"
                           f"{(root / f'{name}.log').read_text()}")
    url = first.rsplit(" ", 1)[-1]
    did = wait_ready(url, process)["did"]
    return UiNode(name, data_dir, process, url, did, second.rsplit(" ", 1)[-1])


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes
    cookies: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def request(node: UiNode, method: str, path: str, *, headers: dict | None = None, body: bytes | None = None,
            host: str | None = None) -> Answer:
    """One raw HTTP request to the UI port (http.client: nothing rewrites Host or follows redirects)."""
    address = node.ui_host.rsplit(":", 1)
    connection = http.client.HTTPConnection(address[0], int(address[1]), timeout=60)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", host if host is not None else node.ui_host)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        got = {k.lower(): v for k, v in response.getheaders()}
        cookies = {}
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                cookies[key] = value
        return Answer(response.status, got, response.read(), cookies)
    finally:
        connection.close()


def login(node: UiNode) -> str:
    """The session cookie header value ('name=value') after following the login URL."""
    answer = request(node, "GET", "/login?token=" + node.token)
    assert answer.status == 303, answer.text
    [(name, header)] = answer.cookies.items()
    return f"{name}={header.split(';', 1)[0].split('=', 1)[1]}"


def shoot(page, name: str) -> None:
    folder = os.environ.get("KINODE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def poll(check, what: str, timeout: float = 120.0):
    """Retry `check()` (which may reload a page) until truthy; the UI is eventually consistent with gossip."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


UNLABELLED_JS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label'))
  .map(el => el.name || el.id || el.outerHTML.slice(0, 60))"""
OVERFLOW_JS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def layout_problems(page) -> list[str]:
    """What a page gets wrong for a keyboard or screen-reader user or on a narrow window: unlabelled
    controls, sideways scrolling."""
    problems = [f"unlabelled control {name!r}" for name in page.evaluate(UNLABELLED_JS)]
    overflow = page.evaluate(OVERFLOW_JS)
    if overflow > 0:
        problems.append(f"scrolls sideways by {overflow}px")
    return problems
