"""A project from posting to reviews, run with the CLI verbs alone, across real processes.

A hub (web-design, also the dispute resolver), a coordinator and three
suppliers, each a `kinode serve` on 127.0.0.1. Four tasks, the last
depending on two others; two claimed, one proposed privately; contracts
co-signed; one delivery rejected and delivered again; payments confirmed; a
dispute ruled; reviews. The third supplier's node is down while its contract
is proposed (sealed) and gets it from the hub's mailbox when it returns.
Every party ends with the same contract state, and the hub's reputation
figures equal each node's.
"""

import json
import subprocess
import time

import pytest

from harness import KINODE, eventually, verb as cli

EUR = "EUR"
CATEGORY = "web-design"




def cli_fails(node, *args: str) -> tuple[int, str]:
    done = subprocess.run(KINODE + [args[0], "--data-dir", str(node.data_dir), *args[1:]],
                          capture_output=True, timeout=60)
    return done.returncode, done.stderr.decode()


def held(proc, object_id: str) -> bool:
    return proc.get_json(f"/ki/v1/objects/{object_id}")[0] == 200


def reaches(object_id: str, *procs, what: str = "") -> None:
    for proc in procs:
        eventually(lambda: held(proc, object_id), timeout=60, what=f"{what or object_id} at {proc.data_dir.name}")


def profile(federation, proc, name: str, hub) -> None:
    cli(proc, "profile", "--name", name, "--node", proc.url, "--hub", hub.url)


# About 40 s on a quiet 2-core box and over 100 s under load: a whole project from posting to
# reviews across five processes, so it gets more than the suite's 120 s per test.
@pytest.mark.timeout(480)
def test_a_project_from_posting_to_reviews(federation):
    hub = federation.hub("hub", [CATEGORY])
    coord = federation.node("coord", hubs=[hub.url])
    s1 = federation.node("s1", hubs=[hub.url])
    s2 = federation.node("s2", hubs=[hub.url])
    s3 = federation.node("s3", hubs=[hub.url])
    profile(federation, hub, "Hub and resolver", hub)
    for proc, name in ((coord, "Coordinator"), (s1, "Ada"), (s2, "Ben"), (s3, "Cy")):
        profile(federation, proc, name, hub)
    for proc in (coord, s1, s2, s3):  # each node has reached the hub (peers), so the CLI knows it
        eventually(lambda: federation.status(proc)["peers"], what=f"{proc.data_dir.name} knows its hub")

    # Posting: a project of four tasks, the last depending on two others.
    project = cli(coord, "project", "--category", CATEGORY, "--title", "Shop site", "--description", "A small shop",
                  "--budget", "1000.00 EUR", "--deadline", "+30d")
    assert project["status"] == "accepted"
    assert [d["name"] for d in project["route"]["destinations"]] == [f"hub {hub.url}"]
    pid = project["id"]
    tasks = {}
    for name, deadline in (("logo", "+10d"), ("copy", "+10d"), ("photos", "+12d")):
        tasks[name] = cli(coord, "task", pid, "--title", name, "--description", f"the {name}",
                          "--budget", "100.00 EUR", "--deadline", deadline)["id"]
    tasks["page"] = cli(coord, "task", pid, "--title", "page", "--description", "the page from logo and copy",
                        "--budget", "200.00 EUR", "--deadline", "+20d",
                        "--depends-on", tasks["logo"], "--depends-on", tasks["copy"])["id"]
    reaches(tasks["page"], hub, what="the tasks")

    # Claims by two suppliers (their nodes fetch the task from the hub first); the claim reaches the coordinator.
    claim1 = cli(s1, "claim", tasks["logo"])
    claim2 = cli(s2, "claim", tasks["copy"])
    assert {d["name"].split()[0] for d in claim1["route"]["destinations"]} == {"coordinator", "hub"}
    reaches(claim1["id"], coord, hub)
    reaches(claim2["id"], coord, hub)
    view = coord.get_json(f"/ki/v1/projects/{pid}")[1]
    states = {t["id"]: t["state"] for t in view["tasks"]}
    assert states[tasks["logo"]] == states[tasks["copy"]] == "claimed"
    assert view["critical_path"][-1] == tasks["page"]

    # A private proposal for the third task: sealed for the coordinator, never on the hub in clear.
    proposal = cli(s3, "propose", tasks["photos"], "--price", "100.00 EUR", "--message", "I shoot products",
                   "--private")
    assert proposal["private"] and proposal["message"]
    reaches(proposal["id"], coord, what="the opened private proposal")
    assert not held(hub, proposal["id"])

    # Public contracts with the claimants, co-signed.
    resolver = hub.did
    contracts = {}
    for supplier, task in ((s1, "logo"), (s2, "copy")):
        made = cli(coord, "contract", "--scope", tasks[task], "--party", f"{coord.did}:client",
                   "--party", f"{supplier.did}:supplier", "--terms", f"the {task}", "--price", "100.00 EUR",
                   "--milestone", "all", f"the {task}", "100.00 EUR", "+8d", "--deadline", "+9d",
                   "--resolver", resolver)
        contracts[task] = made["id"]
        reaches(made["id"], supplier, hub)
        cli(coord, "sign", made["id"])
        assert any(n["action"] == "sign" for n in cli(supplier, "show", "needs"))
        signed = cli(supplier, "sign", made["id"])
        reaches(signed["id"], coord, hub)

    # The third supplier is offline while its contract is proposed, sealed: the hub's mailbox holds it.
    s3.stop()
    sealed = cli(coord, "contract", "--scope", tasks["photos"], "--party", f"{coord.did}:client",
                 "--party", f"{s3.did}:supplier", "--terms", "product photos", "--price", "100.00 EUR",
                 "--milestone", "all", "photos", "100.00 EUR", "+8d", "--deadline", "+9d",
                 "--resolver", resolver, "--private")
    contracts["photos"] = sealed["id"]
    destinations = {d["to"] for d in sealed["route"]["destinations"]}
    assert {s3.url, hub.url} <= destinations  # its node (down) and the hub's mailbox
    eventually(lambda: _delivered_to(coord, sealed["message"], hub.url), timeout=60, what="the sealed contract at the hub")
    assert not held(hub, sealed["id"])
    s3.start()
    reaches(sealed["id"], s3, what="the contract from the mailbox")
    cli(s3, "sign", sealed["id"])
    cli(coord, "sign", sealed["id"])
    reaches(sealed["id"], hub, what="the contract made public by its signs")
    for task in contracts:
        eventually(lambda: hub.get_json(f"/ki/v1/contracts/{contracts[task]}")[1].get("in_force"), timeout=60,
                   what=f"the {task} contract in force at the hub")

    # Deliveries: the first is rejected and delivered again.
    artifact = federation.root / "logo.svg"
    artifact.write_text("<svg/>")
    first = cli(s1, "deliver", contracts["logo"], "all", str(artifact), "--location", "https://files.example/logo1")
    reaches(first["id"], coord)
    rejected = cli(coord, "reject", first["id"], "--reason", "too plain")
    reaches(rejected["id"], s1, hub)
    artifact.write_text("<svg><circle r='1'/></svg>")
    second = cli(s1, "deliver", contracts["logo"], "all", str(artifact), "--location", "https://files.example/logo2")
    reaches(second["id"], coord)
    cli(coord, "accept", second["id"])
    photos = cli(s3, "deliver", contracts["photos"], "all", str(artifact), "--location", "https://files.example/p")
    reaches(photos["id"], coord)
    cli(coord, "accept", photos["id"])

    # Payments, confirmed by the payee.
    for task, supplier in (("logo", s1), ("photos", s3)):
        paid = cli(coord, "pay", contracts[task], "all", "--reference", f"transfer {task}")
        reaches(paid["id"], supplier)
        confirmed = cli(supplier, "confirm", paid["id"])
        reaches(confirmed["id"], coord, hub)

    # A dispute over the copy, ruled by the resolver (the hub's operator).
    copy = cli(s2, "deliver", contracts["copy"], "all", str(artifact), "--location", "https://files.example/c")
    reaches(copy["id"], coord)
    dispute = cli(coord, "dispute", contracts["copy"], "--reason", "the copy is not what we agreed")
    reaches(dispute["id"], hub, s2)
    ruling = cli(hub, "rule", dispute["id"], "--outcome", "for_supplier", "--reason", "it matches the terms")
    reaches(ruling["id"], coord, s2)

    # Reviews of completed contracts.
    for task, supplier in (("logo", s1), ("photos", s3), ("copy", s2)):
        review = cli(coord, "review", contracts[task], supplier.did, "5", "--text", "good work")
        reaches(review["id"], supplier, hub)
    back = cli(s1, "review", contracts["logo"], coord.did, "4")
    reaches(back["id"], coord, hub)

    # Every party sees the same contract state; the hub's reputation equals each node's.
    for task, supplier in (("logo", s1), ("photos", s3), ("copy", s2)):
        at_hub = hub.get_json(f"/ki/v1/contracts/{contracts[task]}")[1]
        assert at_hub["completed"], at_hub
        for proc in (coord, supplier):
            assert proc.get_json(f"/ki/v1/contracts/{contracts[task]}")[1] | {"now": 0} == at_hub | {"now": 0}
    # Each node computes every participant's reputation itself (`kinode show reputation` first fetches
    # from the hub the contracts it depends on and lacks, and verifies them): the hub's figures exactly.
    # Each node computes its own reputation and the first supplier's (whose pair weight needs the
    # coordinator's other contracts, which that supplier's node never held).
    at = int(time.time())
    at_hub = {p.did: _reputation(hub, p.did, at) for p in (coord, s1, s2, s3)}
    assert all(r["reviews"] for r in at_hub.values()), at_hub
    for proc in (coord, s1, s2, s3):
        for subject in ((proc, s1) if proc is not s1 else (s1,)):
            mine = cli(proc, "show", "reputation", subject.did, "--at", str(at))
            assert mine == at_hub[subject.did], (proc.data_dir.name, subject.data_dir.name)
    status = federation.status(coord)
    assert status["objects_total"] > 0

    # Bad input: one sentence with its code, exit 2, nothing written.
    code, error = cli_fails(coord, "pay", contracts["logo"], "nope")
    assert code == 2 and "[unknown_milestone]" in error and "Traceback" not in error


def _reputation(proc, did: str, at: int) -> dict:
    status, body, _ = proc.get_json(f"/ki/v1/reputation/{did}?at={at}")
    assert status == 200, body
    return body


def _delivered_to(node, object_id: str, url: str) -> bool:
    done = subprocess.run(KINODE + ["show", "--data-dir", str(node.data_dir), "--json", "deliveries", object_id],
                          capture_output=True, timeout=60)
    [item] = json.loads(done.stdout) or [None]
    return item is not None and any(d["to"] == url and d["state"] == "delivered" for d in item["destinations"])
