"""Contract pages: draft one (from a proposal or a claim), then sign, deliver, accept or reject,
pay and confirm, dispute, rule and review, each one `WorkService` call.

A delivery's file is uploaded here: the node hashes it (the delivery commits
to its sha256) and keeps a copy under the data dir, offered back only as a
download (application/octet-stream, attachment, nosniff, sandboxed), never
as a page a browser would render or run.
"""

import re

from aiohttp import web

from kinode import overview
from kinode.errors import KinodeError
from web_ui import forms, work_forms
from web_ui.appkeys import NODE
from web_ui.render import render
from web_ui.work import _id, attempt, know, service

routes = web.RouteTableDef()
MAX_UPLOAD_BYTES = 16 * 1024 * 1024
CONTRACT_FIELDS = {"terms", "price", "milestones", "deadline", "dispute_resolver", "parties", "scope"}
SHA256 = re.compile(r"[0-9a-f]{64}")


@routes.get("/contracts/new")
async def new_contract(request: web.Request) -> web.Response:
    node = request.app[NODE]
    query = request.query
    values = {"scope": query.get("scope", ""), "other": query.get("with", ""),
              "my_role": query.get("my_role", "client"), "other_role": query.get("other_role", "supplier"),
              "amount": query.get("amount", ""), "currency": query.get("currency", "EUR"),
              "terms": query.get("terms", ""), "deadline": "+30d", "resolver": query.get("resolver", ""),
              "m1_key": "all", "m1_title": query.get("title", "The whole work"), "m1_amount": query.get("amount", ""),
              "m1_due": "+28d"}
    hubs = [r["did"] for r in await overview.remotes(node) if r["did"]]
    if not values["resolver"] and hubs:
        values["resolver"] = hubs[0]  # the hub's operator is the usual resolver; the form shows it
    return render(request, "contract_form.html", values=values, errors={})


@routes.post("/contracts")
async def publish_contract(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    node = request.app[NODE]
    now = node.now()

    async def call():
        errors: dict[str, str] = {}
        currency = forms.text(form, "currency").upper()
        milestones = work_forms.milestones(form, currency, now, errors)
        deadline = work_forms.moment(form, "deadline", now, errors)
        other = forms.text(form, "other")
        if not other.startswith("did:key:"):
            errors["parties"] = "Name the other party by their did:key (from their profile or proposal)."
        work_forms.raise_if(errors)
        parties = [{"did": node.did, "role": forms.text(form, "my_role")},
                   {"did": other, "role": forms.text(form, "other_role")}]
        return await service(request).contract(
            scope=forms.words(form, "scope"), parties=parties, terms=forms.text(form, "terms"),
            price={"amount": forms.text(form, "amount"), "currency": currency}, milestones=milestones,
            deadline=deadline, dispute_resolver=forms.text(form, "resolver"), private=bool(form.get("private")))

    await know(request, [forms.text(form, "other"), forms.text(form, "resolver")])
    published, errors = await attempt(call, CONTRACT_FIELDS)
    if published is None:
        return render(request, "contract_form.html", status=422, values=dict(form), errors=errors)
    raise web.HTTPSeeOther(f"/contracts/{published.obj.id}?done=proposed")


async def _contract_page(request: web.Request, contract_id: str, status: int = 200,
                         errors: dict | None = None) -> web.Response:
    node = request.app[NODE]
    try:
        view = await service(request).contract_view(contract_id)
    except KinodeError as error:
        return render(request, "missing.html", status=404, what=error.detail)
    contract = await overview.item(node, contract_id)
    role = next((p["role"] for p in view["parties"] if p["did"] == node.did), None)
    names = {}
    for party in view["parties"]:
        profile = await overview.profile(node, party["did"])
        names[party["did"]] = profile.body.get("name") if profile else None
    return render(request, "contract.html", status=status, view=view, contract=contract, role=role,
                  resolver=contract.body.get("dispute_resolver") == node.did if contract else False,
                  signed=any(p["did"] == node.did and p["sign"] for p in view["parties"]), names=names,
                  errors=errors or {}, done=request.query.get("done", ""))


@routes.get("/contracts/{id}")
async def contract_page(request: web.Request) -> web.Response:
    return await _contract_page(request, _id(request))


async def _act(request: web.Request, contract_id: str, action: str, call, done: str) -> web.StreamResponse:
    published, errors = await attempt(call, set())
    if published is None:
        return await _contract_page(request, contract_id, 422, {action: next(iter(errors.values()))})
    raise web.HTTPSeeOther(f"/contracts/{contract_id}?done={done}")


@routes.post("/contracts/{id}/sign")
async def sign(request: web.Request) -> web.StreamResponse:
    contract_id = _id(request)
    return await _act(request, contract_id, "sign", lambda: service(request).sign(contract_id), "signed")


@routes.post("/contracts/{id}/deliver")
async def deliver(request: web.Request) -> web.StreamResponse:
    contract_id = _id(request)
    form = await request.post()
    upload = form.get("artifact")
    milestone, location = forms.text(form, "milestone"), forms.text(form, "location")
    if not isinstance(upload, web.FileField):
        return await _contract_page(request, contract_id, 422, {"deliver": "Choose the file to deliver."})
    data = upload.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        return await _contract_page(request, contract_id, 413,
                                    {"deliver": f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB."})
    node = request.app[NODE]

    async def call():
        published = await service(request).deliver(contract_id, milestone, data, location=location or "",
                                                    media_type=None)
        folder = node.config.data_dir / "artifacts"
        folder.mkdir(exist_ok=True)
        (folder / published.obj.body["artifact"]["sha256"]).write_bytes(data)
        return published

    return await _act(request, contract_id, "deliver", call, "delivered")


@routes.post("/deliveries/{id}/decide")
async def decide(request: web.Request) -> web.StreamResponse:
    delivery_id = _id(request)
    form = await request.post()
    contract_id = forms.text(form, "contract")
    if forms.text(form, "decision") == "accept":
        call = lambda: service(request).accept(delivery_id)  # noqa: E731
    else:
        call = lambda: service(request).reject(delivery_id, forms.text(form, "reason"))  # noqa: E731
    return await _act(request, contract_id, "decide-" + delivery_id, call, "decided")


@routes.post("/contracts/{id}/pay")
async def pay(request: web.Request) -> web.StreamResponse:
    contract_id = _id(request)
    form = await request.post()
    milestone = forms.text(form, "milestone")
    return await _act(request, contract_id, "pay-" + milestone,
                      lambda: service(request).pay(contract_id, milestone, forms.text(form, "reference") or None),
                      "paid")


@routes.post("/payments/{id}/confirm")
async def confirm(request: web.Request) -> web.StreamResponse:
    payment_id = _id(request)
    form = await request.post()
    return await _act(request, forms.text(form, "contract"), "confirm-" + payment_id,
                      lambda: service(request).confirm(payment_id), "confirmed")


@routes.post("/contracts/{id}/dispute")
async def dispute(request: web.Request) -> web.StreamResponse:
    contract_id = _id(request)
    form = await request.post()
    return await _act(request, contract_id, "dispute",
                      lambda: service(request).dispute(contract_id, forms.text(form, "reason"),
                                                       forms.text(form, "milestone") or None), "disputed")


@routes.post("/disputes/{id}/rule")
async def rule(request: web.Request) -> web.StreamResponse:
    dispute_id = _id(request)
    form = await request.post()
    award = work_forms.money(form, "award") if forms.text(form, "award") else None
    return await _act(request, forms.text(form, "contract"), "rule-" + dispute_id,
                      lambda: service(request).rule(dispute_id, outcome=forms.text(form, "outcome"),
                                                    reason=forms.text(form, "reason"), award=award), "ruled")


@routes.post("/contracts/{id}/review")
async def review(request: web.Request) -> web.StreamResponse:
    contract_id = _id(request)
    form = await request.post()
    errors: dict[str, str] = {}
    rating = work_forms.integer(form, "rating", errors)
    if errors or rating is None:
        return await _contract_page(request, contract_id, 422, {"review": "Choose a rating from 1 to 5."})
    return await _act(request, contract_id, "review",
                      lambda: service(request).review(contract_id, forms.text(form, "subject"), rating,
                                                      forms.text(form, "text") or None), "reviewed")


@routes.get("/artifacts/{sha256}")
async def artifact(request: web.Request) -> web.StreamResponse:
    digest = request.match_info["sha256"]
    path = request.app[NODE].config.data_dir / "artifacts" / digest
    if not SHA256.fullmatch(digest) or not path.is_file():
        raise web.HTTPNotFound()
    # Never rendered by the browser: a download of opaque bytes, in a sandbox even if opened.
    return web.Response(body=path.read_bytes(), content_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{digest[:16]}.bin"',
        "Content-Security-Policy": "sandbox; default-src 'none'"})
