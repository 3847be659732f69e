"""`GET /`: a short human page saying what this node is (spec section 9.2a).

Someone who opens a node's federation URL in a browser gets its did, roles
and categories, links to the machine description, and — only when the
request comes from this machine — where its local web UI is. Never the UI's
login token: that is printed on the node's terminal and nowhere else.
"""

import html
import ipaddress

from aiohttp import web

from kinode.federation.appkeys import NODE

UI_ORIGIN = web.AppKey("ui_origin", str)  # e.g. http://127.0.0.1:41873, set by the runner when the UI runs

STYLE = ("body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}"
         "code{font-size:.9em;word-break:break-all}dt{font-weight:600}dd{margin:0 0 .5rem}")


async def front_page(request: web.Request) -> web.Response:
    node = request.app[NODE]
    described = node.describe()
    role = "category hub" if "hub" in described["roles"] else "participant's node"
    e = html.escape
    rows = [("DID", f"<code>{e(described['did'])}</code>"), ("roles", e(", ".join(described["roles"]))),
            ("software", e(described["software"])), ("federation URL", f"<code>{e(described['url'])}</code>")]
    if described["categories"]:
        rows.append(("categories", e(", ".join(described["categories"]))))
    ui = request.app.get(UI_ORIGIN)
    if ui and _from_this_machine(request):
        rows.append(("web UI", f'<a href="{e(ui)}/">{e(ui)}/</a> (log in with the URL and token this node '
                               "printed when it started)"))
    listing = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>kinode {e(role)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
            f"<body><h1>A kinode {e(role)}</h1><p>This address speaks the ki work federation protocol "
            f"(<code>/ki/v1/</code>) to other nodes; it is not a website.</p><dl>{listing}</dl>"
            f'<p>Machine-readable: <a href="/.well-known/kinode">/.well-known/kinode</a>.</p></body></html>')
    return web.Response(text=page, content_type="text/html", charset="utf-8",
                        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
                                 "X-Content-Type-Options": "nosniff"})


def _from_this_machine(request: web.Request) -> bool:
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False
