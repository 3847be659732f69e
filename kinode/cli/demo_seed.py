"""What `kinode demo` seeds on its first run: a small ki work market with a project at every stage.

Everything is written by the CLI verbs a user types (`kinode publish`,
`project`, `task`, `claim`, `contract`, `sign`, `deliver`, ...), run in this
process on each participant's data dir while that participant's `kinode
serve` delivers; no row is written by hand. Each step that needs what
another node published waits until it has arrived there, as a person would.

The project's tasks end at these stages (STAGES): open, claimed, claimed with
a standby, under contract, delivered, rejected and delivered again, paid,
reviewed, and one at risk of missing its deadline.
"""

import contextlib
import io
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from kinode.cli.output import EXIT_INTERRUPTED
from kinode.cli.progress import Progress

DAY = 86400
CATEGORY = "web-design"
STAGES = {  # task key -> (title, the stage the demo leaves it at)
    "launch": ("Launch checklist", "open (waits on the page build and the copy)"),
    "icons": ("Icon set", "claimed by cleo"),
    "photos": ("Product photos", "claimed by dana, ben on standby"),
    "logo": ("Logo refresh", "under contract with ben"),
    "build": ("Page build", "delivered by dana, waiting for alice"),
    "copy": ("Landing page copy", "rejected once, delivered again by cleo"),
    "seo": ("SEO audit", "accepted and paid (ben confirmed)"),
    "brand": ("Brand guide", "paid and reviewed both ways (dana)"),
    "checkout": ("Checkout flow", "claimed by cleo, AT RISK: 5 days of work, 2 days left"),
}


@dataclass
class Member:
    name: str
    data_dir: Path
    url: str = ""
    did: str = ""


class Seeder:
    """Runs CLI verbs in-process and waits for objects to arrive; advances one progress bar."""

    def __init__(self, bar: Progress, scratch: Path):
        self.bar, self.scratch = bar, scratch

    def verb(self, who: Member, *args: str, count: bool = True) -> dict:
        from kinode.cli.entry import main
        out, err = io.StringIO(), io.StringIO()
        argv = [args[0], "--data-dir", str(who.data_dir), "--json", *args[1:]]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
        if count:
            self.bar.advance(f"{who.name}: kinode {args[0]}")
        if code == EXIT_INTERRUPTED:  # Ctrl-C landed inside the verb, which reported it: stop the demo
            raise KeyboardInterrupt
        if code != 0:
            raise SystemExit(f"kinode demo: `kinode {' '.join(args[:2])}` as {who.name} failed: {err.getvalue().strip()}")
        return json.loads(out.getvalue())

    def publish(self, who: Member, type_: str, body: dict) -> str:
        path = self.scratch / f"{who.name}-{type_}.json"
        path.write_text(json.dumps({"type": type_, "body": body}))
        return self.verb(who, "publish", str(path))["id"]

    def arrives(self, object_id: str, *urls: str, timeout: float = 60) -> None:
        """Wait until every node at `urls` holds `object_id`."""
        deadline = time.monotonic() + timeout
        for url in urls:
            while not _holds(url, object_id):
                if time.monotonic() > deadline:
                    raise SystemExit(f"kinode demo: {object_id[:12]} did not reach {url} within {timeout:.0f}s; "
                                     "see the logs")
                time.sleep(0.05)

    def all_arrive(self, sent: list[tuple[str, str]], timeout: float = 60) -> None:
        """Wait until each (object id, node URL) pair holds: the node at URL has the object."""
        for object_id, url in sent:
            self.arrives(object_id, url, timeout=timeout)

    def until(self, check, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise SystemExit(f"kinode demo: {what} did not happen within {timeout:.0f}s; see the logs")
            time.sleep(0.1)


STEPS = 58  # verbs run by seed(), for the progress bar's total


def seed(people: dict[str, Member], hub_a: Member, hub_b: Member, scratch: Path) -> dict:
    """Seed the market; returns {"project": id, "tasks": {key: id}} for the hints."""
    scratch.mkdir(parents=True, exist_ok=True)
    alice, ben, cleo, dana = (people[n] for n in ("alice", "ben", "cleo", "dana"))
    with Progress("kinode demo: seeding", STEPS) as bar:
        s = Seeder(bar, scratch)
        _market(s, people, hub_a, hub_b)
        return _project(s, alice, ben, cleo, dana, hub_a)


def _market(s: Seeder, people: dict[str, Member], hub_a: Member, hub_b: Member) -> None:
    about = {
        "alice": ("Alice Okafor", "Runs a small tea shop and coordinates its new website.", ["project-management"],
                  ["web-design", "copywriting"]),
        "ben": ("Ben Larsen", "Copywriter; leads the copywriting category.", ["copywriting", "seo"], ["copywriting"]),
        "cleo": ("Cleo Marchetti", "Illustrator and UI designer.", ["figma", "illustration", "css"], ["web-design"]),
        "dana": ("Dana Kim", "Front-end developer; leads the web-design category.", ["html", "css", "javascript"],
                 ["web-design"]),
    }
    offers = {
        "alice": ("copywriting", "Tea descriptions that sell", "Short, warm product texts for food shops.", "45.00"),
        "ben": ("copywriting", "Landing page copy in three days", "Headline, sections and calls to action.", "60.00"),
        "cleo": ("web-design", "Icons and illustrations", "A consistent icon set or spot illustrations.", "55.00"),
        "dana": ("web-design", "Responsive landing page in a week", "Hand-written HTML and CSS, fast.", "80.00"),
    }
    hubs = [hub_a.url, hub_b.url]
    for name, who in people.items():
        full, bio, skills, categories = about[name]
        s.publish(who, "profile", {"name": full, "bio": bio, "skills": skills, "categories": categories,
                                   "node": who.url, "hubs": hubs})
        category, title, description, price = offers[name]
        s.publish(who, "offer", {"category": category, "title": title, "description": description,
                                 "skills": skills, "price": {"amount": price, "currency": "EUR"}, "unit": "hour"})
    for who in people.values():  # the lifecycle verbs fetch context from the hubs a node has reached
        s.until(lambda: set(hubs) <= {p["url"] for p in s.verb(who, "status", count=False)["peers"]},
                f"{who.name}'s node reaching both hubs")
    # Endorsements by each category's leader (named in that hub's hub.toml), so they count there.
    s.verb(people["dana"], "endorse", people["cleo"].did, "--category", "web-design",
           "--note", "Clean, accessible UI work on three projects with me.")
    s.verb(people["ben"], "endorse", people["alice"].did, "--category", "copywriting",
           "--note", "Writes product copy that customers quote back.")


def _project(s: Seeder, alice: Member, ben: Member, cleo: Member, dana: Member, hub: Member) -> dict:
    project = s.verb(alice, "project", "--category", CATEGORY, "--title", "A website for a small tea shop",
                     "--description", "A one-page shop site: logo, icons, photos, copy, build and checkout.",
                     "--budget", "2000.00 EUR", "--deadline", "+30d")["id"]
    tasks: dict[str, str] = {}

    def task(key: str, budget: str, deadline: str, *extra: str) -> None:
        title = STAGES[key][0]
        tasks[key] = s.verb(alice, "task", project, "--title", title, "--description", f"{title} for the tea shop.",
                            "--budget", f"{budget} EUR", "--deadline", deadline, *extra)["id"]

    for key in ("icons", "photos", "logo", "build", "copy", "seo", "brand"):
        task(key, "150.00", "+20d")
    task("launch", "100.00", "+25d", "--depends-on", tasks["build"], "--depends-on", tasks["copy"])
    task("checkout", "200.00", "+2d", "--estimate", str(5 * DAY))
    s.all_arrive([(task_id, hub.url) for task_id in tasks.values()])  # each: delivery order is not promised

    # Steps that do not depend on one another go out together; each wait is for the whole batch.
    claims = [(cleo, "icons"), (dana, "photos"), (ben, "logo"), (dana, "build"), (cleo, "copy"), (ben, "seo"),
              (dana, "brand"), (cleo, "checkout")]
    made = [(s.verb(who, "claim", tasks[key], "--note", "I can start today")["id"], alice.url) for who, key in claims]
    time.sleep(1.05 - time.time() % 1)  # ben claims the photos a second after dana: one place, so he stands by
    made.append((s.verb(ben, "claim", tasks["photos"], "--note", "Happy to stand by")["id"], alice.url))

    suppliers = {"logo": ben, "build": dana, "copy": cleo, "seo": ben, "brand": dana}
    contracts = {}
    for key, who in suppliers.items():
        contracts[key] = s.verb(alice, "contract", "--scope", tasks[key], "--party", f"{alice.did}:client",
                                "--party", f"{who.did}:supplier", "--terms", f"{STAGES[key][0]} as the task describes",
                                "--price", "150.00 EUR", "--milestone", "all", STAGES[key][0], "150.00 EUR", "+14d",
                                "--deadline", "+15d", "--resolver", hub.did)["id"]
    s.all_arrive([(contracts[key], who.url) for key, who in suppliers.items()])
    signs = [(s.verb(alice, "sign", contracts[key])["id"], who.url) for key, who in suppliers.items()]
    signs += [(s.verb(who, "sign", contracts[key])["id"], alice.url) for key, who in suppliers.items()]
    s.all_arrive(signs)

    artifacts = s.scratch / "artifacts"
    artifacts.mkdir(exist_ok=True)

    def deliver(key: str, version: int, text: str) -> str:
        path = artifacts / f"{key}-{version}.txt"
        path.write_text(text + "\n")
        return s.verb(suppliers[key], "deliver", contracts[key], "all", str(path),
                      "--location", f"https://files.example/{key}-{version}")["id"]

    delivered = {key: deliver(key, 1, f"{STAGES[key][0]}, first version") for key in ("build", "copy", "seo", "brand")}
    s.all_arrive([(delivery, alice.url) for delivery in delivered.values()])
    judged = [(s.verb(alice, "reject", delivered["copy"], "--reason", "The tone is too formal for a tea shop.")["id"],
               cleo.url)]
    judged += [(s.verb(alice, "accept", delivered[key])["id"], suppliers[key].url) for key in ("seo", "brand")]
    s.all_arrive(judged)
    paid = [(deliver("copy", 2, "Landing page copy, warmer second version"), alice.url)]
    payments = {key: s.verb(alice, "pay", contracts[key], "all", "--reference", f"bank transfer TEA-{key.upper()}")["id"]
                for key in ("seo", "brand")}
    s.all_arrive(paid + [(payments[key], suppliers[key].url) for key in payments])
    s.all_arrive([(s.verb(suppliers[key], "confirm", payments[key])["id"], alice.url) for key in payments])
    s.all_arrive([(s.verb(alice, "review", contracts["brand"], dana.did, "5",
                          "--text", "Thorough and on time; the guide is a joy to use.")["id"], hub.url),
                  (s.verb(dana, "review", contracts["brand"], alice.did, "5",
                          "--text", "Clear brief, quick answers, paid the same day.")["id"], hub.url)] + made)
    return {"project": project, "tasks": tasks, "contracts": contracts}


def _holds(url: str, object_id: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ki/v1/objects/{object_id}", timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False
