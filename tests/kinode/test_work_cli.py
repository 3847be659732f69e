"""The lifecycle verbs as a user runs them (real processes, no hub running): what they write,
where they say it goes, and bad input as one sentence with its code and exit 2, nothing written."""

import json
import re
import subprocess

import pytest

from cli_support import as_json, assert_clean_failure, ok, run
from kinode.cli.entry import main


def inproc(capsys, *args: str) -> subprocess.CompletedProcess:
    """The same entry point in this process (a subprocess per case is slow); a CompletedProcess."""
    code = main(list(args))
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


@pytest.fixture
def node(tmp_path, capsys):
    data_dir = str(tmp_path / "coord")
    assert inproc(capsys, "init", "--data-dir", data_dir, "--no-passphrase").returncode == 0
    return data_dir


def project(node: str) -> dict:
    return as_json(run("project", "--data-dir", node, "--json", "--category", "web-design", "--title", "Shop",
                       "--description", "A shop", "--budget", "500.00 EUR", "--deadline", "+30d"))


def test_a_project_and_task_are_stored_and_say_that_nothing_serves_them_yet(node):
    made = project(node)
    assert made["status"] == "accepted" and made["type"] == "project"
    assert made["route"]["category"] == "web-design"
    assert [(d["to"], d["reachable"]) for d in made["route"]["destinations"]] == [(None, False)]
    assert made["route"]["destinations"][0]["name"].startswith("nowhere: no hub this node uses serves category web-design")
    human = run("task", "--data-dir", node, made["id"], "--title", "Logo", "--description", "A logo",
                "--budget", "100.00 EUR", "--deadline", "+10d")
    out = ok(human)
    assert out.startswith("task ") and "goes NOWHERE yet" in out and "web-design" in out
    view = as_json(run("show", "--data-dir", node, "--json", "project", made["id"]))
    assert [t["title"] for t in view["tasks"]] == ["Logo"] and view["tasks"][0]["state"] == "open"
    said = ok(run("show", "--data-dir", node, "project", made["id"])).splitlines()[0]
    assert re.search(r"projected completion \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC vs deadline \d{4}-\d\d-\d\d .* UTC$", said), said


@pytest.mark.parametrize("args, code", [
    (["claim", "a" * 64], "not_found"),
    (["claim", "not-an-id"], "not_found"),
    (["sign", "b" * 64], "not_found"),
    (["show", "project", "c" * 64], "not_found"),
    (["show", "project"], "bad_input"),
    (["show", "deliveries", "d" * 64], "not_found"),
    (["show", "deliveries", "zz"], "not_found"),
])
def test_bad_references_fail_cleanly(node, args, code, capsys):
    assert_clean_failure(inproc(capsys, args[0], "--data-dir", node, *args[1:]), code)


def test_a_task_the_rules_refuse_changes_nothing(node, capsys):
    made = json.loads(inproc(capsys, "project", "--data-dir", node, "--json", "--category", "web-design", "--title",
                             "Shop", "--description", "A shop", "--budget", "500.00 EUR", "--deadline", "+30d").stdout)
    over = inproc(capsys, "task", "--data-dir", node, made["id"], "--title", "Big", "--description", "Too dear",
               "--budget", "100.00 USD", "--deadline", "+10d")
    assert_clean_failure(over, "currency_mismatch")
    view = json.loads(inproc(capsys, "show", "--data-dir", node, "--json", "project", made["id"]).stdout)
    assert view["tasks"] == []
    assert_clean_failure(inproc(capsys, "task", "--data-dir", node, made["id"], "--title", "Late", "--description", "x",
                             "--budget", "1.00 EUR", "--deadline", "+90d"), "deadline_conflict")


def test_argument_errors_are_usage_errors(node):
    bad = run("project", "--data-dir", node, "--category", "web-design", "--title", "T", "--description", "D",
              "--budget", "five euros", "--deadline", "+3d")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "is not an amount" in bad.stderr


def test_publish_reports_where_an_object_goes(node, tmp_path):
    document = tmp_path / "offer.json"
    document.write_text(json.dumps({"type": "offer", "body": {
        "category": "web-design", "title": "Logos", "description": "Logos in a day",
        "price": {"amount": "80.00", "currency": "EUR"}, "unit": "hour"}}))
    done = run("publish", "--data-dir", node, str(document))
    assert done.returncode == 0 and len(done.stdout.strip()) == 64  # stdout: the id alone, for scripts
    assert "goes NOWHERE yet" in done.stderr
    routed = as_json(run("publish", "--data-dir", node, "--json", str(document)))
    assert [d["reachable"] for d in routed["route"]["destinations"]] == [False]


def test_a_profile_names_the_node_others_deliver_to(node, capsys):
    made = inproc(capsys, "profile", "--data-dir", node, "--json", "--name", "Ada", "--node", "http://127.0.0.1:7301",
                  "--hub", "http://127.0.0.1:7310", "--skill", "logos")
    assert made.returncode == 0, made.stderr
    body = json.loads(made.stdout)["object"]["body"]
    assert body == {"name": "Ada", "node": "http://127.0.0.1:7301", "hubs": ["http://127.0.0.1:7310"], "skills": ["logos"]}
    assert_clean_failure(inproc(capsys, "profile", "--data-dir", node, "--name", "Ada", "--node", "not a url"),
                         "invalid_body")


def test_reputation_of_something_that_is_not_a_did_is_refused(tmp_path):
    """Found trying the CLI by hand: `show reputation notadid` printed empty figures with exit 0."""
    import subprocess
    import sys
    subprocess.run([sys.executable, "-m", "kinode", "init", "--no-passphrase", "--data-dir", str(tmp_path)],
                   capture_output=True, check=True)
    done = subprocess.run([sys.executable, "-m", "kinode", "show", "reputation", "notadid", "--data-dir", str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "not a participant's did" in done.stderr and "[bad_input]" in done.stderr
