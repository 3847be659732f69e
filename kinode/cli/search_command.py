"""`kinode search`: a hub's full-text search (GET /ki/v1/search) from the command line.

Every result's signature is checked here too: a hub indexes and ranks, but
it cannot forge what a participant signed.
"""

import argparse
import json
import time
import urllib.error
import urllib.parse
import urllib.request

from kinode.cli.commands import open_store
from kinode.cli.output import BadInput, CliError, Unreachable, add_json_flag, emit
from kinode.errors import BadUrl
from kinode.federation.ssrf import parse_url
from kinode.overview import index_behind
from protocol.envelope import verify
from protocol.errors import ProtocolError
from storage import peers

FILTERS = ("category", "type", "author", "currency", "min_price", "max_price", "created_after", "created_before")


def add_commands(commands: argparse._SubParsersAction, unlock, passphrase_env: str) -> None:
    search = commands.add_parser("search", help="search a hub's listings",
                                 description="Search the offers, projects, tasks and profiles a hub holds (specs/protocol.md 9.6: "
                                             "every word must match; \"a phrase\"; a trailing * for a prefix). Ask the hub at --hub, "
                                             "or the healthiest hub this node (--data-dir) has reached.")
    search.add_argument("query", nargs="*", metavar="WORD", help="what to look for (none: the most recent listings)")
    where = search.add_mutually_exclusive_group(required=True)
    where.add_argument("--hub", metavar="URL", help="the hub to ask")
    where.add_argument("--data-dir", help="ask a hub this node knows (from `kinode peers`)")
    for name in FILTERS:
        search.add_argument(f"--{name.replace('_', '-')}", dest=name, metavar=name.split("_")[-1].upper(),
                            help=f"only listings with this {name.replace('_', ' ')}")
    search.add_argument("--order", choices=["recent", "relevance"], help="result order (default recent)")
    search.add_argument("--limit", type=int, metavar="N", help="results per page, 1-100 (default 20)")
    search.add_argument("--cursor", help="continue after a previous page (its `next`)")
    add_json_flag(search)
    search.set_defaults(run=_search)


def _search(args) -> int:
    hub = args.hub or _known_hub(args.data_dir)
    try:
        parse_url(hub)
    except BadUrl as error:
        raise BadInput(f"--hub {hub}: {error.detail.split(': ', 1)[-1]}", code="bad_url") from None
    params = {"q": " ".join(args.query)} if args.query else {}
    params.update({k: str(getattr(args, k)) for k in (*FILTERS, "order", "limit", "cursor") if getattr(args, k) is not None})
    page = _get(hub.rstrip("/") + "/ki/v1/search?" + urllib.parse.urlencode(params))
    now = int(time.time())
    results = [_checked(hit, now) for hit in page.get("results", [])]
    freshness = {k: page[k] for k in ("indexed_through", "log_seq") if type(page.get(k)) is int}  # spec 9.6
    emit(args, {"hub": hub, "results": results, "next": page.get("next"), **freshness}, _lines)
    return 0


def _known_hub(data_dir: str) -> str:
    store = open_store(data_dir)
    try:
        hubs = store.read_sync(peers.list_peers, role="hub")
    finally:
        store.close()
    if not hubs:
        raise BadInput(f"the node in {data_dir} has not reached a hub yet; pass --hub URL", code="no_hub")
    return hubs[0].url


def _get(url: str) -> dict:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            problem = json.loads(error.read())
            code, detail = problem["code"], problem.get("detail") or problem.get("title")
        except (ValueError, KeyError, TypeError):
            code, detail = "hub_error", f"the hub answered HTTP {error.code}"
        raise CliError(f"the hub refused the search: {detail}", code=code, exit_code=2 if error.code < 500 else 1) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise Unreachable(f"cannot reach {url.split('/ki/')[0]}: {reason}", exit_code=1) from None
    except ValueError:
        raise CliError(f"{url.split('/ki/')[0]} answered something that is not JSON", code="hub_error", exit_code=1) from None


def _checked(hit: dict, now: int) -> dict:
    try:
        verify(hit["object"], now)
        hit["verified"] = True
    except (ProtocolError, KeyError, TypeError) as error:
        hit["verified"] = False
        hit["problem"] = getattr(error, "code", "malformed")
    return hit


def _lines(data) -> list[str]:
    lines = []
    for hit in data["results"]:
        mark = "" if hit["verified"] else f"  (INVALID SIGNATURE OR BODY: {hit['problem']})"
        lines.append(f"{hit['type']:<8} {hit.get('title') or '(untitled)'}  by {hit['author']}  {hit['id']}{mark}")
    if not lines:
        lines.append(f"no listings on {data['hub']} match")
    if data["next"]:
        lines.append(f"more: add --cursor {data['next']}")
    behind = index_behind(data)
    if behind:
        lines.append(f"the hub's index was {behind} objects behind what it holds: newer listings may be missing")
    return lines
