"""Each security rule of the web UI, against a real `kinode serve` on 127.0.0.1."""

import json
import re
import urllib.parse

from ui_proc import login, request

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _csrf(node, cookie: str) -> str:
    page = request(node, "GET", "/profile", headers={"Cookie": cookie}).text
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)


def _form(**fields) -> bytes:
    return urllib.parse.urlencode(fields).encode()


def test_the_ui_has_its_own_loopback_port_and_a_long_random_token(node):
    assert node.ui_host.startswith("127.0.0.1:")
    assert node.ui != node.url, "the UI must not share the federation port"
    assert len(node.token) >= 43  # token_urlsafe(32): 256 bits, at least 128 required
    federation = urllib.parse.urlsplit(node.url).netloc
    assert request(node, "GET", "/.well-known/kinode").status != 200  # the UI port serves no protocol
    assert federation != node.ui_host


def test_without_login_pages_redirect_to_login_and_changes_are_refused(node):
    assert request(node, "GET", "/").status == 303
    assert request(node, "GET", "/").headers["location"] == "/login"
    assert request(node, "GET", "/events").status == 401
    refused = request(node, "POST", "/offers", headers={**FORM, "Origin": node.ui}, body=_form(title="x"))
    assert refused.status == 403  # no CSRF token without a session


def test_a_wrong_token_is_refused_and_sets_no_cookie(node):
    wrong = node.token[:-2] + ("AA" if not node.token.endswith("AA") else "BB")
    answer = request(node, "GET", "/login?token=" + urllib.parse.quote(wrong))
    assert answer.status == 403 and not answer.cookies
    assert "not this node" in answer.text


def test_the_token_becomes_an_httponly_samesite_strict_cookie(node):
    answer = request(node, "GET", "/login?token=" + node.token)
    assert answer.status == 303 and answer.headers["location"] == "/"
    [(name, header)] = answer.cookies.items()
    assert name.startswith("kinode_ui_")
    attributes = [a.strip().lower() for a in header.split(";")]
    assert "httponly" in attributes and "samesite=strict" in attributes
    assert node.token not in header, "the cookie is a session secret, not the login token"
    cookie = login(node)
    assert request(node, "GET", "/", headers={"Cookie": cookie}).status == 200
    assert request(node, "GET", "/", headers={"Cookie": cookie + "x"}).status == 303


def test_a_foreign_host_is_refused_even_with_a_session(node):
    cookie = login(node)
    for host in ("evil.example:" + node.ui_host.rsplit(":", 1)[1], "localhost", "127.0.0.1", "127.0.0.1:1", ""):
        answer = request(node, "GET", "/", headers={"Cookie": cookie}, host=host)
        assert answer.status == 403, host
        assert b"did:key" not in answer.body


def test_a_change_without_csrf_or_with_a_foreign_origin_is_refused(node):
    cookie = login(node)
    csrf = _csrf(node, cookie)
    body = _form(csrf=csrf, name="Mallory's rename")
    base = {**FORM, "Cookie": cookie}
    assert request(node, "POST", "/profile", headers=base, body=_form(name="no token")).status == 403
    assert request(node, "POST", "/profile", headers=base, body=_form(name="bad", csrf="0" * 64)).status == 403
    assert request(node, "POST", "/profile", headers={**base, "Origin": "http://evil.example"}, body=body).status == 403
    assert request(node, "POST", "/profile", headers={**base, "Origin": "null"}, body=body).status == 403
    assert request(node, "POST", "/profile", headers={**base, "Sec-Fetch-Site": "cross-site"}, body=body).status == 403
    assert "Mallory" not in request(node, "GET", "/profile", headers={"Cookie": cookie}).text
    accepted = request(node, "POST", "/profile", headers={**base, "Origin": node.ui},
                       body=_form(csrf=csrf, name="Alice Example"))
    assert accepted.status == 303, accepted.text
    assert "Alice Example" in request(node, "GET", "/profile", headers={"Cookie": cookie}).text


def test_every_answer_has_a_self_only_csp_nosniff_and_no_cors(node):
    cookie = login(node)
    for path in ("/", "/login", "/find", "/profile", "/static/style.css", "/static/ui.js", "/nowhere"):
        answer = request(node, "GET", path, headers={"Cookie": cookie, "Origin": "http://evil.example"})
        headers = answer.headers
        assert "access-control-allow-origin" not in headers, path
        assert headers["x-content-type-options"] == "nosniff", path
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "*" not in csp and "http" not in csp
        assert headers["referrer-policy"] == "same-origin"
    preflight = request(node, "OPTIONS", "/offers", headers={"Origin": "http://evil.example",
                                                             "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


def test_no_page_shows_the_token_or_the_private_key(node):
    cookie = login(node)
    identity = json.loads((node.data_dir / "identity.json").read_text())
    secrets = [node.token] + [v for k, v in identity.items() if isinstance(v, str) and k not in ("did", "version")
                              and len(v) >= 32]
    assert len(secrets) >= 2, identity.keys()
    session = cookie.split("=", 1)[1]
    for path in ("/", "/profile", "/find", "/offers/new", "/delivery", "/settings", "/login"):
        page = request(node, "GET", path, headers={"Cookie": cookie}).text
        for secret in secrets + [session]:
            assert secret not in page, path


def test_an_oversized_form_is_refused_and_changes_nothing(node):
    cookie = login(node)
    csrf = _csrf(node, cookie)
    huge = _form(csrf=csrf, name="x" * (2 * 1024 * 1024))
    answer = request(node, "POST", "/profile", headers={**FORM, "Cookie": cookie, "Origin": node.ui}, body=huge)
    assert answer.status in (403, 413)
    assert "x" * 1000 not in request(node, "GET", "/profile", headers={"Cookie": cookie}).text


def test_static_files_are_served_with_their_type_and_never_sniffable(node):
    css = request(node, "GET", "/static/style.css")
    assert css.status == 200 and css.headers["content-type"].startswith("text/css")
    cookie = login(node)
    for path in ("/static/../identity.json", "/static/%2e%2e/identity.json", "/static/..%2fkinode.db"):
        answer = request(node, "GET", path, headers={"Cookie": cookie})
        assert answer.status in (403, 404) and b'"did":' not in answer.body, path


def test_an_oversized_upload_is_refused_before_it_is_read(node):
    cookie = login(node)
    csrf = _csrf(node, cookie)
    boundary = "kinodeboundary"
    big = 17 * 1024 * 1024
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"artifact\"; filename=\"a.html\"\r\n"
            "Content-Type: text/html\r\n\r\n").encode()
    body = head + b"x" * big + f"\r\n--{boundary}--\r\n".encode()
    answer = request(node, "POST", "/contracts/" + "ab" * 32 + "/deliver", body=body,
                     headers={"Cookie": cookie, "Origin": node.ui,
                              "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert answer.status == 413


def test_delivered_files_are_served_only_as_sandboxed_downloads(node):
    cookie = login(node)
    # As the node keeps a delivered file (under its data dir, named by its sha256).
    import hashlib
    page = b"<script>alert(document.cookie)</script>"
    digest = hashlib.sha256(page).hexdigest()
    (node.data_dir / "artifacts").mkdir(exist_ok=True)
    (node.data_dir / "artifacts" / digest).write_bytes(page)
    answer = request(node, "GET", f"/artifacts/{digest}", headers={"Cookie": cookie})
    assert answer.status == 200 and answer.body == page
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers["content-disposition"].startswith("attachment")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in answer.headers["content-security-policy"]
    assert request(node, "GET", f"/artifacts/{digest}").status == 303  # only for the logged-in owner
    assert request(node, "GET", "/artifacts/..%2fidentity.json", headers={"Cookie": cookie}).status == 404
