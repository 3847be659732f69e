"""A hub operator's pages (on `kinode hub`): categories and leaders, endorse and revoke experts
(with whether each endorsement counts and why), moderation labels with their reasons, expiries and
authors' responses, the verified hub directory, peers and their health, ingest figures.

Endorsing publishes an `endorsement` signed by the hub's key, revoking a
`retract` of it, moderating a `label`; all go through `Node.publish`, like
every write. Standing, labels and the directory are kinode.hub's reads.
"""

from aiohttp import web

from kinode import overview
from kinode.federation.hub_routes import honoured
from kinode.hub import directory, moderation, standing
from protocol.errors import ProtocolError
from web_ui import forms
from web_ui.appkeys import NODE
from web_ui.render import render

routes = web.RouteTableDef()
ENDORSE_FIELDS = {"subject", "category", "level", "note"}
LABEL_FIELDS = {"target", "subject", "reason", "note", "expires"}
LABEL_REASONS = ("spam", "fraud", "illegal", "off_topic", "impersonation", "harassment", "misleading",
                 "duplicate", "other")


async def _hub_page(request: web.Request, status: int = 200, errors: dict | None = None,
                    values: dict | None = None) -> web.Response:
    node = request.app[NODE]
    mine = await overview.endorsements_by(node)
    everyone = await overview.recent(node, "endorsement", 500)
    leaders = [e for e in everyone if e.body.get("level") == "leader"]
    now = node.now()
    standings = (await node.store.read(standing.endorsements_answer, node.did))["endorsements"]
    labels = (await node.store.read(moderation.labels_answer, now, honoured(node)))["labels"]
    hubs = await node.store.read(directory.directory, node.did, now)
    label_values = (values if values and "reason" in values
                    else {"target": "", "subject": "", "reason": "spam", "note": "", "expires": "+30d"})
    return render(request, "hub.html", status=status, categories=node.config.categories,
                  standings={s["id"]: s for s in standings}, labels=labels, hub_directory=hubs,
                  reasons=LABEL_REASONS, label_values=label_values,
                  category_objects=await overview.recent(node, "category", 200), leaders=leaders,
                  endorsed=mine, remotes=await overview.remotes(node), counts=await overview.counts(node),
                  queue=await overview.queue_depth(node), errors=errors or {},
                  values=values or {"subject": "", "category": (node.config.categories or [""])[0],
                                    "level": "expert", "note": ""},
                  done=request.query.get("done", ""))


@routes.get("/hub")
async def hub_page(request: web.Request) -> web.Response:
    return await _hub_page(request)


@routes.post("/hub/endorse")
async def endorse(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    values = {k: forms.text(form, k) for k in ENDORSE_FIELDS}
    body = {"subject": values["subject"], "category": values["category"], "level": values["level"]}
    forms.optional(body, "note", values["note"])
    try:
        await request.app[NODE].publish("endorsement", body)
    except ProtocolError as error:
        return await _hub_page(request, 422, forms.field_errors(error, ENDORSE_FIELDS), values)
    raise web.HTTPSeeOther("/hub?done=endorsed")


@routes.post("/hub/revoke")
async def revoke(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    target = forms.text(form, "endorsement")
    node = request.app[NODE]
    endorsement = await overview.item(node, target) if target else None
    if endorsement is None or endorsement.type != "endorsement" or endorsement.author != node.did:
        return await _hub_page(request, 422, {"_revoke": "That is not an endorsement this hub made."})
    body = {"target": target}
    forms.optional(body, "reason", forms.text(form, "reason"))
    try:
        await node.publish("retract", body)
    except ProtocolError as error:
        return await _hub_page(request, 422, {"_revoke": error.detail})
    raise web.HTTPSeeOther("/hub?done=revoked")


@routes.post("/hub/label")
async def label(request: web.Request) -> web.StreamResponse:
    """Delist an object or block an author, with a reason and an expiry (spec section 14)."""
    from web_ui import work_forms
    form = await request.post()
    node = request.app[NODE]
    values = {k: forms.text(form, k) for k in LABEL_FIELDS}
    errors: dict[str, str] = {}
    expires = work_forms.moment(form, "expires", node.now(), errors)
    if bool(values["target"]) == bool(values["subject"]):
        errors["target"] = "Name either an object id to delist or an author's did:key to block, not both."
    if errors:
        return await _hub_page(request, 422, {"label-" + k: v for k, v in errors.items()}, values)
    body = {"scope": "object" if values["target"] else "author", "reason": values["reason"], "expires": expires}
    body.update({"target": values["target"]} if values["target"] else {"subject": values["subject"]})
    forms.optional(body, "note", values["note"])
    try:
        await node.publish("label", body)
    except ProtocolError as error:
        named = forms.field_errors(error, LABEL_FIELDS)
        return await _hub_page(request, 422, {"label-" + k: v for k, v in named.items()}, values)
    raise web.HTTPSeeOther("/hub?done=labelled")
