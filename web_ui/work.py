"""The work lifecycle in the browser: projects and tasks, claims, proposals, contracts and what follows.

Every write is one `WorkService` call (kinode.work), so the browser, the CLI
and the HTTP API do exactly the same thing; every read is a view the folds
computed. A refusal is shown as a sentence next to the form that caused it
(422), and nothing is written.
"""

from typing import Any, Awaitable, Callable

from aiohttp import web

from kinode import overview
from kinode.errors import KinodeError
from kinode.work.fetch import HubFetcher
from kinode.work.service import Published, WorkService
from protocol.envelope import is_object_id
from protocol.errors import ProtocolError
from web_ui import forms, work_forms
from web_ui.appkeys import CLIENT, NODE
from web_ui.graph import task_graph
from web_ui.render import render

routes = web.RouteTableDef()
PROJECT_FIELDS = {"category", "title", "description", "budget", "deadline", "skills", "claims_per_task"}
TASK_FIELDS = {"title", "description", "budget", "deadline", "depends_on", "claim_lease", "estimate"}


def service(request: web.Request) -> WorkService:
    node = request.app[NODE]
    hubs = list(node.remotes)
    return WorkService(node, HubFetcher(hubs) if hubs else None)


async def know(request: web.Request, dids: list[str]) -> None:
    """Hold the profiles of the people a write is for, so it is routed to their nodes (see overview)."""
    svc = service(request)
    await overview.learn_profiles(svc.node, svc.fetcher, dids)


async def author_of(request: web.Request, object_id: str) -> list[str]:
    found = await overview.fetch(request.app[NODE], request.app[CLIENT], object_id) if is_object_id(object_id) else None
    return [found.item.author] if found and found.verified else []


def _id(request: web.Request) -> str:
    object_id = request.match_info["id"]
    if not is_object_id(object_id):
        raise web.HTTPNotFound()
    return object_id


async def attempt(call: Callable[[], Awaitable[Published]], fields: set[str]) -> tuple[Published | None, dict]:
    """(published, {}) or (None, {field: sentence}) from the service's refusal."""
    try:
        return await call(), {}
    except forms.FormErrors as error:
        return None, error.errors
    except ProtocolError as error:
        return None, forms.field_errors(error, fields)
    except KinodeError as error:
        return None, {"_form": error.detail}


# --- projects and tasks ------------------------------------------------------

@routes.get("/projects/new")
async def new_project(request: web.Request) -> web.Response:
    return render(request, "project_form.html", values={"currency": "EUR", "claims_per_task": "1"}, errors={})


@routes.post("/projects")
async def publish_project(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    now = request.app[NODE].now()

    async def call() -> Published:
        errors: dict[str, str] = {}
        deadline = work_forms.moment(form, "deadline", now, errors)
        per_task = work_forms.integer(form, "claims_per_task", errors)
        work_forms.raise_if(errors)
        return await service(request).project(
            category=forms.text(form, "category"), title=forms.text(form, "title"),
            description=forms.text(form, "description"), budget=work_forms.money(form, "budget"),
            deadline=deadline, skills=forms.words(form, "skills") or None, claims_per_task=per_task,
            claim_approval=True if form.get("claim_approval") else None)

    published, errors = await attempt(call, PROJECT_FIELDS)
    if published is None:
        return render(request, "project_form.html", status=422, values=dict(form), errors=errors)
    raise web.HTTPSeeOther(f"/projects/{published.obj.id}")


async def _project_page(request: web.Request, project_id: str, status: int = 200,
                        errors: dict | None = None, values: dict | None = None) -> web.Response:
    node = request.app[NODE]
    seen_at = None
    try:
        view = await service(request).project_view(project_id)
    except KinodeError as error:
        # Not held here (someone else's project found on a hub): show the hub's view of it.
        remote = await overview.hub_json(node, request.app[CLIENT], f"/ki/v1/projects/{project_id}")
        if remote is None:
            return render(request, "missing.html", status=404, what=error.detail)
        seen_at, view = remote
    found = await overview.fetch(node, request.app[CLIENT], project_id)
    project = found.item if found and found.verified else None
    titles = {t["id"]: t["title"] for t in view["tasks"]}
    proposals = [p for p in await overview.recent(node, "proposal", 500)
                 if p.body.get("target") in titles or p.body.get("target") == project_id]
    return render(request, "project.html", status=status, view=view, project=project, titles=titles,
                  graph=task_graph(view), coordinator=view["coordinator"] == node.did, proposals=proposals,
                  errors=errors or {}, values=values or {"currency": view["budget"]["currency"]},
                  done=request.query.get("done", ""), seen_at=seen_at)


@routes.get("/projects/{id}")
async def project_page(request: web.Request) -> web.Response:
    return await _project_page(request, _id(request))


@routes.post("/projects/{id}/tasks")
async def add_task(request: web.Request) -> web.StreamResponse:
    project_id = _id(request)
    form = await request.post()
    now = request.app[NODE].now()

    async def call() -> Published:
        errors: dict[str, str] = {}
        deadline = work_forms.moment(form, "deadline", now, errors)
        lease = work_forms.integer(form, "claim_lease_hours", errors, 24)
        estimate = work_forms.integer(form, "estimate_hours", errors)
        work_forms.raise_if(errors)
        return await service(request).task(
            project_id, title=forms.text(form, "title"), description=forms.text(form, "description"),
            budget=work_forms.money(form, "budget"), deadline=deadline,
            depends_on=[v for v in form.getall("depends_on", []) if isinstance(v, str) and v],
            claim_lease=(lease or 24) * 3600, estimate=estimate * 3600 if estimate else None)

    published, errors = await attempt(call, TASK_FIELDS)
    if published is None:
        return await _project_page(request, project_id, 422, errors, dict(form))
    raise web.HTTPSeeOther(f"/projects/{project_id}?done=task")


@routes.post("/tasks/{id}/claim")
async def claim(request: web.Request) -> web.StreamResponse:
    task_id = _id(request)
    form = await request.post()
    project_id = forms.text(form, "project")
    await know(request, await author_of(request, task_id))
    published, errors = await attempt(lambda: service(request).claim(task_id, forms.text(form, "note") or None),
                                      {"note"})
    if published is None:
        if is_object_id(project_id):
            return await _project_page(request, project_id, 422, {"claim-" + task_id: errors.popitem()[1]})
        return render(request, "missing.html", status=422, what=next(iter(errors.values())))
    raise web.HTTPSeeOther(f"/projects/{published.obj.body['project']}?done=claimed")


# --- proposals -----------------------------------------------------------------

@routes.post("/proposals")
async def propose(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    target, back = forms.text(form, "target"), forms.text(form, "back")
    back = back if back.startswith("/") and not back.startswith("//") else "/"
    now = request.app[NODE].now()

    async def call() -> Published:
        errors: dict[str, str] = {}
        deliver_by = work_forms.moment(form, "deliver_by", now, errors, required=False)
        work_forms.raise_if(errors)
        return await service(request).propose(target, price=work_forms.money(form, "price"),
                                               message=forms.text(form, "message"), deliver_by=deliver_by,
                                               private=bool(form.get("private")))

    await know(request, await author_of(request, target))
    published, errors = await attempt(call, {"price", "message", "deliver_by"})
    if published is None:
        return render(request, "propose_failed.html", status=422, errors=errors, values=dict(form), back=back)
    raise web.HTTPSeeOther(f"{back}{'&' if '?' in back else '?'}done=proposed")


@routes.get("/inbox")
async def inbox(request: web.Request) -> web.Response:
    node = request.app[NODE]
    mine = {i.id for i in await overview.mine(node, limit=1000) if i.type in ("offer", "project", "task")}
    proposals = await overview.recent(node, "proposal", 500)
    to_me = [p for p in proposals if p.body.get("target") in mine]
    from_me = [p for p in proposals if p.author == node.did]
    needs = await service(request).needs_me()
    contracts = await my_contracts(request)
    return render(request, "inbox.html", to_me=to_me, from_me=from_me, needs=needs, contracts=contracts)


async def my_contracts(request: web.Request, limit: int = 500) -> list[dict[str, Any]]:
    """Contracts naming this node's owner as a party or resolver (newest first), with their state."""
    node = request.app[NODE]
    found = []
    for item in await overview.recent(node, "contract", limit):
        parties = [p.get("did") for p in item.body.get("parties", [])]
        if node.did in parties or item.body.get("dispute_resolver") == node.did:
            try:
                view = await service(request).contract_view(item.id)
            except KinodeError:
                continue
            found.append({"item": item, "view": view})
    return found


@routes.post("/claims/{id}/approve")
async def approve(request: web.Request) -> web.StreamResponse:
    """The coordinator lets a claim hold its task (projects with claim_approval)."""
    claim_id = _id(request)
    form = await request.post()
    project_id = forms.text(form, "project")
    published, errors = await attempt(lambda: service(request).approve(claim_id), set())
    if published is None:
        return await _project_page(request, project_id, 422, {"approve-" + claim_id: next(iter(errors.values()))})
    raise web.HTTPSeeOther(f"/projects/{project_id}?done=approved")


@routes.post("/tasks/{id}/reopen")
async def reopen(request: web.Request) -> web.StreamResponse:
    """The coordinator reopens an overdue task with a new deadline and a reason."""
    task_id = _id(request)
    form = await request.post()
    project_id = forms.text(form, "project")
    now = request.app[NODE].now()

    async def call() -> Published:
        errors: dict[str, str] = {}
        deadline = work_forms.moment(form, "deadline", now, errors)
        work_forms.raise_if(errors)
        return await service(request).reopen(task_id, deadline=deadline, reason=forms.text(form, "reason"))

    published, errors = await attempt(call, {"deadline", "reason"})
    if published is None:
        return await _project_page(request, project_id, 422, {"reopen-" + task_id: next(iter(errors.values()))})
    raise web.HTTPSeeOther(f"/projects/{project_id}?done=reopened")
