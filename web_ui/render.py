"""Jinja2 rendering with autoescaping, and the filters pages share (money, times, dids)."""

import datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from web_ui.appkeys import NODE
from web_ui.security import GUARD

TEMPLATES = Path(__file__).parent / "templates"
ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                         trim_blocks=True, lstrip_blocks=True)


def money(value: Any) -> str:
    """'1500.00 EUR': the amount exactly as signed (never through a float) and its currency."""
    if isinstance(value, dict) and "amount" in value and "currency" in value:
        return f"{value['amount']} {value['currency']}"
    return "—"


def relative(seconds: int) -> str:
    """'in 3 days' / '2 hours ago': the server's wording when the page's script does not run."""
    future, span = seconds >= 0, abs(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if span >= size:
            count = span // size
            words = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"in {words}" if future else f"{words} ago"
    return "now"


def when(timestamp: Any, now: int, deadline: bool = False) -> Markup:
    """A <time> the page's script shows in the browser's locale; deadlines also get 'due in ...'."""
    if not isinstance(timestamp, int):
        return Markup("—")
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    text = moment.strftime("%Y-%m-%d %H:%M UTC")
    kind = "deadline" if deadline else "time"
    late = " late" if deadline and timestamp < now else ""
    suffix = f' <span class="relative{late}" data-relative="{timestamp}">({"due " if deadline else ""}{relative(timestamp - now)})</span>'
    return Markup(f'<time datetime="{moment.isoformat()}" data-ts="{timestamp}" data-kind="{kind}">{escape(text)}</time>'
                  f'{suffix}')


def short_did(did: Any) -> str:
    text = str(did)
    return text if len(text) < 24 else f"{text[:14]}…{text[-6:]}"


def per(unit: Any) -> str:
    """' per hour', ' per day', ', fixed price': what follows a price."""
    return ", fixed price" if unit == "fixed" else f" per {unit}" if unit else ""


ENV.filters.update(money=money, short_did=short_did, per=per)


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    node = request.app[NODE]
    now = node.now()
    guard = request.app[GUARD]
    logged_in = guard.session_ok(request.cookies.get(guard.cookie_name))
    page = ENV.get_template(template).render(
        csrf=guard.csrf if logged_in else "", logged_in=logged_in, is_hub=node.config.is_hub,
        me=node.did, now=now, when=lambda ts, deadline=False: when(ts, now, deadline),
        path=request.path, **context)
    return web.Response(status=status, text=page, content_type="text/html", charset="utf-8")


def see_other(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)
