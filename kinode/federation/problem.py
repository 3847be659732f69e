"""RFC 9457 problem details: the only place that maps error codes to HTTP statuses.

Every error a client sees is `application/problem+json` with a `code` from
specs/protocol.md and a human sentence in `detail`.
"""

import json

from aiohttp import web

from kinode.errors import KinodeError
from protocol.errors import ProtocolError
from storage.errors import StorageError

PROBLEM_TYPE = "application/problem+json"

STATUS_BY_CODE = {
    "too_large": 413,
    "not_authorized": 403,
    "forbidden_address": 403,
    "forbidden_host": 403,
    "retracted": 410,
    "key_rotated": 410,  # as a GET of a rotation-hidden object answers (spec 9.4)
    "not_found": 404,
    "rate_limited": 429,
    "unsupported_media_type": 415,
    "method_not_allowed": 405,
    "bad_request_signature": 401,
    "stale_signature": 401,
    "replayed_signature": 401,
    "signature_required": 401,
    "unavailable": 503,
    "request_timeout": 408,
}
TITLES = {
    400: "Bad request", 401: "Request signature refused", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 408: "Request timeout", 410: "Gone", 413: "Payload too large", 415: "Unsupported media type",
    429: "Too many requests", 500: "Internal error", 503: "Unavailable",
}


def status_for(code: str) -> int:
    return STATUS_BY_CODE.get(code, 400)


def problem(code: str, detail: str, status: int | None = None, headers: dict | None = None,
            **extra: object) -> web.Response:
    """A problem+json response for `code` with the sentence `detail`."""
    status = status or status_for(code)
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status,
            "code": code, "detail": detail, **extra}
    return web.Response(status=status, body=json.dumps(body).encode(), headers=headers,
                        content_type=PROBLEM_TYPE)


def problem_from(error: Exception) -> web.Response:
    """The problem response for a layer error (protocol, storage or kinode)."""
    if isinstance(error, KinodeError):
        return problem(error.code, error.detail, error.status)
    if isinstance(error, (ProtocolError, StorageError)):
        return problem(error.code, error.detail)
    raise TypeError(f"not a layer error: {error!r}")
