"""Forms to object bodies, and the service's refusals back to a sentence next to the field.

A form is read as plain strings; what is missing or unreadable becomes a
field error here, everything else is judged by the service layer (the
protocol's body rules), whose `body.<field>...` detail names the field.
"""

import re
from typing import Any, Mapping

from protocol.errors import ProtocolError

FIELD = re.compile(r"body\.([a-z_]+)")


class FormErrors(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def field_errors(error: ProtocolError, known: set[str]) -> dict[str, str]:
    """{'title': 'a sentence'} from a refusal; a refusal naming no known field goes under '_form'."""
    detail = error.detail
    match = FIELD.match(detail)
    name = match.group(1) if match else None
    sentence = detail.split(": ", 1)[1] if match and ": " in detail else detail
    sentence = sentence[:1].upper() + sentence[1:]
    return {name if name in known else "_form": sentence}


def text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def words(form: Mapping[str, Any], name: str) -> list[str]:
    """'python, sql ,  rust' -> ['python', 'sql', 'rust'] (comma separated, blanks dropped)."""
    return [w.strip() for w in text(form, name).split(",") if w.strip()]


def optional(body: dict[str, Any], name: str, value: Any) -> None:
    if value not in ("", [], None):
        body[name] = value


def offer_body(form: Mapping[str, Any]) -> dict[str, Any]:
    body = {"category": text(form, "category"), "title": text(form, "title"),
            "description": text(form, "description"),
            "price": {"amount": text(form, "amount"), "currency": text(form, "currency").upper()},
            "unit": text(form, "unit")}
    optional(body, "skills", words(form, "skills"))
    return body


OFFER_FIELDS = {"category", "title", "description", "price", "unit", "skills"}


def profile_body(form: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"name": text(form, "name")}
    optional(body, "bio", text(form, "bio"))
    optional(body, "skills", words(form, "skills"))
    optional(body, "categories", words(form, "categories"))
    optional(body, "location", text(form, "location"))
    optional(body, "links", words(form, "links"))
    return body


PROFILE_FIELDS = {"name", "bio", "skills", "categories", "location", "links"}


def offer_values(body: Mapping[str, Any]) -> dict[str, str]:
    """The form's values back from a body, to refill the form after a refusal."""
    price = body.get("price") or {}
    return {"category": body.get("category", ""), "title": body.get("title", ""),
            "description": body.get("description", ""), "amount": price.get("amount", ""),
            "currency": price.get("currency", "EUR"), "unit": body.get("unit", "hour"),
            "skills": ", ".join(body.get("skills", []))}


def profile_values(body: Mapping[str, Any]) -> dict[str, str]:
    return {"name": body.get("name", ""), "bio": body.get("bio", ""),
            "skills": ", ".join(body.get("skills", [])), "categories": ", ".join(body.get("categories", [])),
            "location": body.get("location", ""), "links": ", ".join(body.get("links", []))}
