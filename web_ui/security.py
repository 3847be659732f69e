"""The UI's guard: token login, session cookie, Host and Origin checks, CSRF, safe headers.

A local web server is reachable by every page the owner's browser opens, so:
- DNS rebinding: a request whose Host is not the bound address:port is 403,
  so an attacker's domain that resolves to 127.0.0.1 reads nothing.
- Access: a random 256-bit token, printed as a login URL, is exchanged for an
  HttpOnly, SameSite=Strict session cookie; secrets are compared in constant
  time. The cookie is named after the port: browsers share cookies between
  ports of one host, and two nodes on one machine must not log each other out.
- CSRF: every state-changing request carries the per-session CSRF token (a
  form field or X-CSRF-Token header) and no foreign Origin.
- Headers: a CSP allowing only this origin, nosniff, no framing, no referrer
  (so the login URL never leaks to another site), no caching of pages, never
  Access-Control-Allow-Origin.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from aiohttp import web

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_PATHS = frozenset({"/login", "/static/style.css"})
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


@dataclass(frozen=True)
class Guard:
    """The secrets of one UI process; `host` is the bound address:port browsers must name."""

    host: str
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    session: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)

    @property
    def origin(self) -> str:
        return f"http://{self.host}"

    @property
    def login_url(self) -> str:
        return f"{self.origin}/login?token={self.token}"

    @property
    def cookie_name(self) -> str:
        return f"kinode_ui_{self.host.rsplit(':', 1)[-1]}"

    @property
    def csrf(self) -> str:
        # Derived from the session secret: the same for every page of a session, unknown outside it.
        return hmac.new(self.session.encode(), b"kinode-ui-csrf", hashlib.sha256).hexdigest()

    def token_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def session_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.session.encode())

    def csrf_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.csrf.encode())


GUARD = web.AppKey("guard", Guard)


@dataclass(frozen=True)
class BodyLimits:
    """Bytes a request body may declare: small for forms, larger for paths ending in an upload suffix."""

    form: int
    upload: int
    upload_suffixes: tuple[str, ...]

    def for_path(self, path: str) -> int:
        return self.upload if path.endswith(self.upload_suffixes) else self.form


BODY_LIMITS = web.AppKey("body_limits", BodyLimits)


def forbidden(reason: str) -> web.Response:
    return web.Response(status=403, text=f"403 Forbidden: {reason}\n", content_type="text/plain")


@web.middleware
async def guard_middleware(request: web.Request, handler) -> web.StreamResponse:
    guard = request.app[GUARD]
    if request.headers.get("Host") != guard.host:
        response = forbidden(f"this UI answers only to http://{guard.host}/ (Host header mismatch)")
    elif request.method not in SAFE_METHODS and _too_large(request):
        response = web.Response(status=413, text="413: the body is larger than this form allows\n",
                                content_type="text/plain")
    elif request.method not in SAFE_METHODS and not await _checked_change(request, guard):
        response = forbidden("a change needs this page's CSRF token and no foreign Origin")
    elif request.path not in PUBLIC_PATHS and not guard.session_ok(request.cookies.get(guard.cookie_name)):
        response = await _not_logged_in(request)
    else:
        try:
            response = await handler(request)
        except web.HTTPException as error:  # redirects and 404s get the same headers
            secure_headers(error)
            raise
    secure_headers(response)
    return response


def _too_large(request: web.Request) -> bool:
    """Refused before a byte of the body is read (a body without a length is bounded by client_max_size)."""
    limits = request.app.get(BODY_LIMITS)
    return limits is not None and (request.content_length or 0) > limits.for_path(request.path)


async def _checked_change(request: web.Request, guard: Guard) -> bool:
    try:
        return await _same_origin_with_csrf(request, guard)
    except web.HTTPRequestEntityTooLarge:
        return False  # an oversized body is refused unread, like a forged one


async def _same_origin_with_csrf(request: web.Request, guard: Guard) -> bool:
    origin = request.headers.get("Origin")
    if origin is not None and origin != guard.origin:
        return False
    if request.headers.get("Sec-Fetch-Site") not in (None, "same-origin", "none"):
        return False
    if request.path == "/login":
        return True  # logging in needs the token itself, which is the stronger secret
    given = request.headers.get("X-CSRF-Token")
    if given is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        # Reading the form here caches it on the request; the handler reads it again for free.
        form = await request.post()
        value = form.get("csrf")
        given = value if isinstance(value, str) else None
    return guard.csrf_ok(given)


async def _not_logged_in(request: web.Request) -> web.StreamResponse:
    if request.method in SAFE_METHODS and request.path != "/events":
        return web.Response(status=303, headers={"Location": "/login"})
    return web.Response(status=401, text="401: log in with the URL kinode printed when it started\n",
                        content_type="text/plain")


def secure_headers(response: web.StreamResponse) -> None:
    """Set on every response; a streamed one (SSE) calls it itself before it starts."""
    if response.prepared:
        return
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)  # a download may set a stricter one (sandbox)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"  # no-referrer would make Chromium send Origin: null on our own forms
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers.popall("Access-Control-Allow-Origin", None)
    if "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
