"""A hub operator's pages (on `kinode hub`): categories and leaders, endorse and revoke experts,
peers and their health, ingest figures.

Endorsing publishes an `endorsement` signed by the hub's key; revoking
publishes a `retract` of it. Both go through `Node.publish`, like every write.
"""

from aiohttp import web

from kinode import overview
from protocol.errors import ProtocolError
from web_ui import forms
from web_ui.appkeys import NODE
from web_ui.render import render

routes = web.RouteTableDef()
ENDORSE_FIELDS = {"subject", "category", "level", "note"}


async def _hub_page(request: web.Request, status: int = 200, errors: dict | None = None,
                    values: dict | None = None) -> web.Response:
    node = request.app[NODE]
    mine = await overview.endorsements_by(node)
    everyone = await overview.recent(node, "endorsement", 500)
    leaders = [e for e in everyone if e.body.get("level") == "leader"]
    return render(request, "hub.html", status=status, categories=node.config.categories,
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
