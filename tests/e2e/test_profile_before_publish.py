"""A node fetches the profiles of the people an object concerns before it stores the object.

The running `kinode serve` picks a new outbox entry up at once and plans its
destinations from the profiles it holds then; a profile fetched after the
write came too late, and a supplier's first claim on a coordinator's task
went to the hub only (the coordinator's node never saw it). The proof is in
the supplier's own object log: the coordinator's profile comes before the
claim, and the claim reaches the coordinator's node.
"""

from harness import eventually, verb as cli

CATEGORY = "web-design"




def test_a_first_claim_reaches_the_coordinator_whose_profile_the_supplier_lacked(federation):
    hub = federation.hub("hub", [CATEGORY])
    coord = federation.node("coord", hubs=[hub.url])
    supplier = federation.node("supplier", hubs=[hub.url])
    profile = federation.publish(coord, "profile", {"name": "Coordinator", "node": coord.url, "hubs": [hub.url]})
    eventually(lambda: hub.get_json(f"/ki/v1/objects/{profile}")[0] == 200, what="the profile at the hub")
    for proc in (coord, supplier):
        eventually(lambda: federation.status(proc)["peers"], what=f"{proc.data_dir.name} knows its hub")
    project = cli(coord, "project", "--category", CATEGORY, "--title", "Site", "--description", "A site",
                  "--budget", "100.00 EUR", "--deadline", "+30d")["id"]
    task = cli(coord, "task", project, "--title", "logo", "--description", "a logo", "--budget", "100.00 EUR",
               "--deadline", "+10d")["id"]
    eventually(lambda: hub.get_json(f"/ki/v1/objects/{task}")[0] == 200, what="the task at the hub")
    assert profile not in supplier.object_ids()

    claim = cli(supplier, "claim", task)["id"]
    log = supplier.object_ids()
    assert log.index(profile) < log.index(claim)  # fetched before the claim was stored
    eventually(lambda: coord.get_json(f"/ki/v1/objects/{claim}")[0] == 200, what="the claim at the coordinator's node")
