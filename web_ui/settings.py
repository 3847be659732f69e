"""The Settings page: hubs added here and the directory and discovery switches, kept in settings.json.

The service is kinode.federation.user_settings: it checks a hub URL by the
rules `serve --hub` uses, saves the file atomically and adds or removes the
remote at once. Flags given at start win, and the page says which came from one.
"""

from aiohttp import web

from kinode import overview
from kinode.federation import user_settings
from web_ui import forms
from web_ui.appkeys import NODE
from web_ui.render import render

routes = web.RouteTableDef()
SAVED = {"added": "Hub added: what you publish from now on is sent to it too.",
         "removed": "Hub removed: nothing new is sent to it.",
         "options": "Saved. Discovery and the hub directory change when the node next starts."}


async def _page(request: web.Request, status: int = 200, errors: dict | None = None, typed: str = "",
                done: str | None = None) -> web.Response:
    node = request.app[NODE]
    errors = dict(errors or {})
    try:
        saved = user_settings.current(node)
    except user_settings.SettingsError as error:
        saved, errors["_form"] = user_settings.UserSettings(), str(error)
    extra = node.config.extra
    return render(request, "settings.html", status=status, config=node.config,
                  remotes=await overview.remotes(node), saved=saved, errors=errors,
                  values={"hub": typed}, flag_hubs=user_settings.flag_hubs(node),
                  flag_discover=extra.get("flag_discover", False),
                  flag_no_directory=extra.get("flag_no_hub_directory", False),
                  directory_running=extra.get("hub_directory", True), done=SAVED.get(done or ""),
                  file=user_settings.path(node.config.data_dir))


@routes.get("/settings")
async def settings(request: web.Request) -> web.Response:
    return await _page(request, done=request.query.get("saved"))


async def _change(request: web.Request, change, done: str) -> web.StreamResponse:
    node = request.app[NODE]
    if node.config.is_hub:  # a hub's peers come from hub.toml and --peer
        raise web.HTTPNotFound()
    form = await request.post()
    try:
        change(node, form)
    except user_settings.SettingsError as error:
        return await _page(request, status=422, errors={error.field: str(error)}, typed=forms.text(form, "hub"))
    raise web.HTTPSeeOther(f"/settings?saved={done}")


@routes.post("/settings/hubs")
async def add_hub(request: web.Request) -> web.StreamResponse:
    return await _change(request, lambda node, form: user_settings.add_hub(node, forms.text(form, "hub")), "added")


@routes.post("/settings/hubs/remove")
async def remove_hub(request: web.Request) -> web.StreamResponse:
    return await _change(request, lambda node, form: user_settings.remove_hub(node, forms.text(form, "url")),
                         "removed")


@routes.post("/settings/options")
async def options(request: web.Request) -> web.StreamResponse:
    return await _change(request, lambda node, form: user_settings.set_options(
        node, discover=form.get("discover") == "on", hub_directory=form.get("hub_directory") == "on"), "options")
