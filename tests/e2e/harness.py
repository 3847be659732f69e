"""Start real `kinode` processes on 127.0.0.1 and wait until they answer.

Each process picks a free port (--port 0) and prints its URL; readiness is
awaited by polling /.well-known/kinode, never by sleeping a fixed time.
"""

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

KINODE = [sys.executable, "-m", "kinode"]
READY_TIMEOUT = 20.0


@dataclass
class Proc:
    args: list[str]
    data_dir: Path
    log_path: Path
    port: int = 0
    process: subprocess.Popen | None = None
    url: str = ""
    did: str = ""
    extra_env: dict = field(default_factory=dict)
    max_descriptors: int | None = None  # RLIMIT_NOFILE for the child, to exhaust descriptors cheaply

    def start(self) -> "Proc":
        """Start (or restart, on the same port and data) and wait until ready."""
        port_args = ["--port", str(self.port)]
        log = open(self.log_path, "ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.extra_env}
        with log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(KINODE + self.args + port_args, stdout=subprocess.PIPE, stderr=log,
                                            env=env, start_new_session=True, preexec_fn=self._limit_descriptors)
        line = self._first_line()
        self.url = line.rsplit(" ", 1)[-1]
        self.port = int(self.url.rsplit(":", 1)[-1])
        self.did = wait_ready(self.url, self.process)["did"]
        return self

    def _limit_descriptors(self) -> None:
        if self.max_descriptors is not None:
            import resource
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.max_descriptors, self.max_descriptors))

    def rss_bytes(self) -> int:
        """The process's resident memory now, from /proc."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS in /proc status")

    def _first_line(self) -> str:
        line = self.process.stdout.readline().decode().strip()
        self.process.stdout.close()  # one line is all a test reads; the rest goes to the pipe's end
        if "listening on" not in line:
            self.process.wait(5)
            raise RuntimeError(f"kinode did not start: {line!r}\n{self.log_path.read_text()}")
        return line

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as in a crash or power cut."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> int:
        """SIGTERM and wait for a clean exit; returns the exit code."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
                raise
        return self.process.returncode if self.process else 0

    def get_json(self, path: str):
        return http_json("GET", self.url + path)

    def get_raw(self, path: str) -> tuple[int, bytes]:
        """(status, body bytes unparsed): for comparing objects byte for byte."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def object_ids(self) -> list[str]:
        """Every object id in this node's log (GET /ki/v1/objects, all pages), in log order."""
        ids, after = [], "0"
        while True:
            status, page, _ = self.get_json(f"/ki/v1/objects?after={after}&limit=500")
            assert status == 200, page
            ids += [obj["id"] for obj in page["objects"]]
            if not page["objects"]:
                return ids
            after = page["next"]

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def verb(node, *args: str) -> dict:
    """Run a CLI verb with --json on `node`'s data dir (as a person at that node would); its parsed answer."""
    done = subprocess.run(KINODE + [args[0], "--data-dir", str(node.data_dir), "--json", *args[1:]],
                          capture_output=True, timeout=60)
    assert done.returncode == 0, (args, done.stderr.decode())
    return json.loads(done.stdout)


def free_port() -> int:
    """A port that was free a moment ago: for peers that must know each other's URL before starting."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen | None = None, timeout: float = READY_TIMEOUT) -> dict:
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        try:
            return http_json("GET", url + "/.well-known/kinode")[1]
        except (urllib.error.URLError, ConnectionError, OSError):
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"kinode at {url} exited with {process.returncode}") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"kinode at {url} not ready after {timeout}s") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def http_json(method: str, url: str, body: bytes | None = None, headers: dict | None = None):
    """(status, parsed JSON body or raw bytes, headers) of one request; HTTP errors are answers too."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw, got = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        status, raw, got = error.code, error.read(), dict(error.headers)
    try:
        return status, json.loads(raw), got
    except ValueError:
        return status, raw, got


def eventually(check, timeout: float = 30.0, what: str = "condition"):
    """Poll `check()` until it returns a truthy value; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


class Federation:
    """Hubs and nodes under one temporary directory; `close()` stops them all."""

    def __init__(self, root: Path):
        self.root = root
        self.procs: list[Proc] = []

    def hub(self, name: str, categories: list[str], peers: list[str] = (), reconcile_interval: float = 1.0,
            port: int = 0) -> Proc:
        args = ["hub", "--data-dir", str(self.root / name), "--reconcile-interval", str(reconcile_interval)]
        args += [a for c in categories for a in ("--category", c)] + [a for p in peers for a in ("--peer", p)]
        return self._start(name, args, port)

    def node(self, name: str, hubs: list[str] = ()) -> Proc:
        data_dir = self.root / name
        if not (data_dir / "identity.json").exists():
            subprocess.run(KINODE + ["init", "--data-dir", str(data_dir), "--no-passphrase"], check=True,
                           capture_output=True)
        args = ["serve", "--data-dir", str(data_dir)] + [a for h in hubs for a in ("--hub", h)]
        return self._start(name, args)

    def publish(self, node: Proc, type_: str, body: dict) -> str:
        document = json.dumps({"type": type_, "body": body})
        done = subprocess.run(KINODE + ["publish", "--data-dir", str(node.data_dir), "-"], input=document.encode(),
                              capture_output=True, check=True)
        return done.stdout.decode().strip()

    def publish_many(self, node: Proc, documents: list[dict]) -> list[str]:
        """`kinode publish` for each document, run in this process: a subprocess per object is too slow for bulk."""
        from kinode.cli.entry import main
        ids = []
        for number, document in enumerate(documents):
            path = self.root / f"{node.data_dir.name}-publish-{number}.json"
            path.write_text(json.dumps(document))
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                assert main(["publish", "--data-dir", str(node.data_dir), str(path)]) == 0
            ids.append(out.getvalue().strip())
        return ids

    def status(self, node: Proc) -> dict:
        """`kinode status` of a node's data dir, parsed."""
        done = subprocess.run(KINODE + ["status", "--data-dir", str(node.data_dir), "--json"], capture_output=True, check=True)
        return json.loads(done.stdout)

    def _start(self, name: str, args: list[str], port: int = 0) -> Proc:
        proc = Proc(args, self.root / name, self.root / f"{name}.log", port)
        self.procs.append(proc)
        return proc.start()

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
