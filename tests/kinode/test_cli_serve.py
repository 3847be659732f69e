"""`kinode serve` and `kinode hub` through the real entry point: bad remotes, no hub, a hub that is down, ports."""

import json
import re

import pytest

from cli_support import as_json, assert_clean_failure, ok, run
from harness import Federation, eventually

PROFILE = {"type": "profile", "body": {"name": "Ada"}}


@pytest.fixture
def federation(tmp_path):
    fed = Federation(tmp_path)
    yield fed
    fed.close()


@pytest.mark.parametrize("command", [["serve", "--hub"], ["hub", "--category", "web-design", "--peer"]])
@pytest.mark.parametrize("url", ["ftp://x", "not a url", "http://user:pw@127.0.0.1:7"])
def test_a_remote_that_cannot_work_is_refused_before_anything_starts(tmp_path, command, url):
    *head, flag = command
    result = run(*head, "--data-dir", str(tmp_path / "node"), flag, url, "--port", "0")
    assert_clean_failure(result, "bad_url")
    assert url in result.stderr
    assert not (tmp_path / "node").exists()


def test_serve_without_a_hub_says_where_objects_wait_and_delivers_them_once_given_one(federation):
    alice = federation.node("alice")
    assert "no --hub given" in alice.log_text() and "outbox" in alice.log_text()
    object_id = federation.publish(alice, "profile", PROFILE["body"])
    assert "not yet assigned to a hub" in ok(run("status", "--data-dir", str(alice.data_dir)))
    alice.stop()
    hub = federation.hub("hub", ["web-design"])
    assert "no --peer given" in hub.log_text()
    alice.args += ["--hub", hub.url]
    alice.start()
    eventually(lambda: object_id in hub.object_ids(), what="the waiting profile reaching the hub")
    eventually(lambda: federation.status(alice)["outbox"] == {}, what="alice's outbox draining")


def test_a_hub_that_is_down_is_reported_and_counted_as_failures(federation):
    down = "http://127.0.0.1:1"
    alice = federation.node("alice", hubs=[down])
    federation.publish(alice, "profile", PROFILE["body"])
    eventually(lambda: f"{down} is unreachable" in alice.log_text(), what="the unreachable warning")
    assert alice.process.poll() is None  # offline is not an error: the node keeps running and retrying

    def failing():
        report = federation.status(alice)
        return next((d for d in report["destinations"] if d["destination"] == down and d["failures"] >= 1), None)
    entry = eventually(failing, what="a failed attempt in status")
    assert entry["waiting"] == 1 and "127.0.0.1:1" in entry["last_error"]
    human = ok(run("status", "--data-dir", str(alice.data_dir)))
    assert re.search(rf"{re.escape(down)}: 1 waiting, \d+ failed attempts, next in \d+ s; last error: .*127\.0\.0\.1:1", human)
    assert alice.log_text().count("is unreachable") == 1  # said once, not on every retry


def test_peers_lists_the_hub_a_node_reached(federation):
    hub = federation.hub("hub", ["web-design"])
    alice = federation.node("alice", hubs=[hub.url])
    listed = eventually(lambda: as_json(run("peers", "--data-dir", str(alice.data_dir), "--json")), what="a peer")
    assert [(p["did"], p["url"], p["roles"]) for p in listed] == [(hub.did, hub.url, ["hub", "node"])]
    assert hub.url in ok(run("peers", "--data-dir", str(alice.data_dir)))


def test_serve_hub_and_demo_have_distinct_default_ports():
    defaults = {}
    for command in ("serve", "hub", "demo"):
        text = " ".join(ok(run(command, "--help")).split())
        defaults[command] = int(re.search(r"--port PORT .*?\(default (\d+)\)", text).group(1))
    assert defaults == {"serve": 7300, "hub": 7310, "demo": 7400}
    demo_range = range(defaults["demo"], defaults["demo"] + 20)
    assert defaults["serve"] not in demo_range and defaults["hub"] not in demo_range


def test_serve_announces_itself_as_json_for_scripts(tmp_path):
    import signal
    import subprocess

    from cli_support import KINODE
    from harness import wait_ready
    data_dir = str(tmp_path / "node")
    ok(run("init", "--data-dir", data_dir, "--no-passphrase"))
    process = subprocess.Popen([*KINODE, "serve", "--data-dir", data_dir, "--port", "0", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        ready = json.loads(process.stdout.readline())
        assert ready["role"] == "node" and ready["url"].startswith("http://127.0.0.1:")
        assert wait_ready(ready["url"], process)["did"] == ready["did"]
        assert ready["ui"] is None or ready["ui"].startswith("http://127.0.0.1:")
    finally:
        process.send_signal(signal.SIGTERM)
        process.stdout.close()
        assert process.wait(15) == 0


@pytest.mark.parametrize("value, message", [("-1", "cannot be negative"), ("two", "is not a whole number")])
def test_a_bad_number_of_verify_workers_is_a_usage_error(tmp_path, value, message):
    done = run("hub", "--data-dir", str(tmp_path / "hub"), "--category", "web-design", "--verify-workers", value)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "hub").exists()  # refused before anything was made


@pytest.mark.parametrize("flag", ["--max-connections", "--max-connections-per-address", "--body-budget",
                                  "--max-streams-per-address", "--stream-buffer"])
@pytest.mark.parametrize("value", ["0", "-3", "1_000", "+5"])
def test_a_resource_bound_that_is_not_a_positive_whole_number_is_a_usage_error(tmp_path, flag, value):
    done = run("hub", "--data-dir", str(tmp_path / "hub"), "--category", "web-design", flag, value)
    assert done.returncode == 2 and "is not a positive whole number" in done.stderr, done.stderr
    assert not (tmp_path / "hub").exists()
