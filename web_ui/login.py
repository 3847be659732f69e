"""Logging in with the printed token, and out."""

from aiohttp import web

from web_ui.render import render
from web_ui.security import GUARD


async def login(request: web.Request) -> web.StreamResponse:
    """GET /login?token=... (the printed URL) or POST /login (the pasted token) -> cookie, then /."""
    guard = request.app[GUARD]
    if request.method == "POST":
        form = await request.post()
        given = form.get("token")
        given = given.strip() if isinstance(given, str) else None
    else:
        given = request.query.get("token")
    if given is None:
        return render(request, "login.html", error=None)
    if not guard.token_ok(given):
        return render(request, "login.html", status=403,
                      error="That token is not this node's. Use the login URL kinode printed when it started.")
    response = web.HTTPSeeOther("/")
    response.set_cookie(guard.cookie_name, guard.session, httponly=True, samesite="Strict", path="/")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    response = web.HTTPSeeOther("/login")
    response.del_cookie(request.app[GUARD].cookie_name, path="/")
    raise response
