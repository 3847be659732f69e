"""A participant's pages: dashboard, profile, publishing an offer, finding work, a listing, delivery.

Handlers stay thin: read the form, call the service layer (`Node.publish`,
`kinode.overview`), render or redirect (POST, then 303 to a GET page).
"""

from aiohttp import web

from kinode import overview
from kinode.errors import KinodeError
from protocol.envelope import is_object_id
from protocol.errors import ProtocolError
from web_ui import forms, work
from web_ui.appkeys import CLIENT, NODE
from web_ui.render import render

routes = web.RouteTableDef()
SEARCH_FIELDS = ("q", "category", "type", "skill", "currency", "min_price", "max_price", "sort", "endorsed")
SORTS = ("recent", "relevance", "price", "reputation")
SEARCH_TYPES = ("offer", "project", "task", "profile")
RECENT_MINE = 20


@routes.get("/")
async def dashboard(request: web.Request) -> web.Response:
    node = request.app[NODE]
    mine = await overview.mine(node, limit=RECENT_MINE)
    counts = await overview.counts(node)
    profile = await overview.profile(node)
    offers = [i for i in mine if i.type == "offer"]
    waiting = [d for d in await overview.deliveries(node, limit=RECENT_MINE) if d.rejected or d.waiting]
    projects = await overview.mine(node, "project", limit=RECENT_MINE)
    needs = await work.service(request).needs_me()
    claims = await overview.mine(node, "claim", limit=RECENT_MINE)
    return render(request, "dashboard.html", mine=mine, offers=offers, counts=counts, profile=profile,
                  waiting=waiting, total=sum(counts.values()), projects=projects, needs=needs, claims=claims,
                  contracts=await work.my_contracts(request, limit=RECENT_MINE))


@routes.get("/profile")
async def profile_page(request: web.Request) -> web.Response:
    node = request.app[NODE]
    current = await overview.profile(node)
    values = forms.profile_values(current.body if current else {})
    return render(request, "profile.html", values=values, errors={}, current=current,
                  saved=request.query.get("saved") == "1", **await _standing(request))


async def _standing(request: web.Request) -> dict:
    """My endorsements (from my hubs, verified) and my reputation, for the profile page."""
    node = request.app[NODE]
    rep, rep_source = await reputation_of(request, node.did)
    return {"endorsements": await overview.endorsements(node, request.app[CLIENT], node.did),
            "rep": rep, "rep_source": rep_source}


@routes.post("/profile")
async def publish_profile(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    node = request.app[NODE]
    body = forms.profile_body(form)
    # Where objects that concern the owner are delivered (spec: profile.node), and the hubs used.
    body["node"] = node.config.url
    if node.remotes:
        body["hubs"] = sorted(node.remotes)
    try:
        await node.publish("profile", body)
    except ProtocolError as error:
        return render(request, "profile.html", status=422, values=forms.profile_values(body),
                      errors=forms.field_errors(error, forms.PROFILE_FIELDS), current=None, saved=False,
                      **await _standing(request))
    raise web.HTTPSeeOther("/profile?saved=1")


@routes.get("/offers/new")
async def new_offer(request: web.Request) -> web.Response:
    return render(request, "offer_form.html", values=forms.offer_values({}), errors={})


@routes.post("/offers")
async def publish_offer(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    body = forms.offer_body(form)
    try:
        obj, _ = await request.app[NODE].publish("offer", body)
    except ProtocolError as error:
        return render(request, "offer_form.html", status=422, values=forms.offer_values(body),
                      errors=forms.field_errors(error, forms.OFFER_FIELDS))
    raise web.HTTPSeeOther(f"/objects/{obj.id}?published=1")


@routes.get("/find")
async def find_work(request: web.Request) -> web.Response:
    node = request.app[NODE]
    values = {k: request.query.get(k, "").strip() for k in SEARCH_FIELDS}
    params = {k: v for k, v in values.items() if v}
    if values["type"] and values["type"] not in SEARCH_TYPES:
        params.pop("type")
    if params.get("sort") not in SORTS:
        params.pop("sort", None)
    if params.get("endorsed") != "true":
        params.pop("endorsed", None)
    answers = []
    asked = bool(request.query)
    if asked:
        params["limit"] = "20"
        if node.config.is_hub:
            local = {k: v for k, v in params.items() if k not in ("limit", "skill", "sort", "endorsed")}
            found, _, behind = await overview.search_local(node, **local)
            answers = [overview.HubAnswer("this hub", [overview.Found(i, "this hub", True) for i in found],
                                          behind=behind)]
        else:
            answers = await overview.search_hubs(node, request.app[CLIENT], params)
    return render(request, "find.html", values=values, answers=answers, asked=asked, types=SEARCH_TYPES,
                  hubs=len(node.remotes), sorts=SORTS, query=params)


@routes.get("/objects/{id}")
async def listing_page(request: web.Request) -> web.Response:
    node, client = request.app[NODE], request.app[CLIENT]
    object_id = request.match_info["id"]
    if not is_object_id(object_id):
        return render(request, "missing.html", status=404, what="That is not an object id (64 hex digits).")
    found = await overview.fetch(node, client, object_id)
    if found is None:
        return render(request, "missing.html", status=404,
                      what="Neither this node nor its hubs hold that object (it may be retracted).")
    author = found.item.author
    profile = await overview.author_profile(node, client, author)
    endorsements = await overview.endorsements(node, client, author)
    rep, rep_source = await reputation_of(request, author)
    moderated = await overview.hub_json(node, client, f"/ki/v1/moderation/{object_id}")
    return render(request, "listing.html", found=found, obj=found.item, profile=profile,
                  endorsements=endorsements, published=request.query.get("published") == "1",
                  rep=rep, rep_source=rep_source, moderated=moderated)


async def reputation_of(request: web.Request, did: str) -> tuple[dict | None, str | None]:
    """The hub's figures (it holds the most contracts), else this node's own."""
    node = request.app[NODE]
    remote = await overview.hub_json(node, request.app[CLIENT], f"/ki/v1/reputation/{did}")
    if remote is not None and remote[1].get("contracts"):
        return remote[1], remote[0]
    try:
        return await work.service(request).reputation(did), "this node"
    except (KinodeError, ProtocolError):
        return (remote[1], remote[0]) if remote else (None, None)


@routes.get("/delivery")
async def delivery(request: web.Request) -> web.Response:
    node = request.app[NODE]
    return render(request, "delivery.html", remotes=await overview.remotes(node),
                  deliveries=await overview.deliveries(node, limit=100))


@routes.post("/labels/{id}/respond")
async def respond_to_label(request: web.Request) -> web.StreamResponse:
    """The author affected by a hub's label answers it; hubs show the answer beside the label."""
    label_id = request.match_info["id"]
    form = await request.post()
    back = forms.text(form, "back")
    back = back if back.startswith("/objects/") else "/"
    if not is_object_id(label_id):
        raise web.HTTPNotFound()
    try:
        await request.app[NODE].publish("response", {"label": label_id, "text": forms.text(form, "text")})
    except ProtocolError as error:
        return render(request, "missing.html", status=422, what=forms.field_errors(error, {"text"}).popitem()[1])
    raise web.HTTPSeeOther(f"{back}?answered=1")
