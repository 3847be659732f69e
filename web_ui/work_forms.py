"""Reading lifecycle forms: times typed in the browser's zone, money, milestones, parties.

A `datetime-local` field has no zone: the page script fills the hidden `tz`
field with the browser's offset (minutes, as JavaScript's getTimezoneOffset
gives it); without the script the time is read as UTC, and the page says so.
"+7d" / "+12h" are accepted too, relative to now.
"""

import datetime
import re
from typing import Any, Mapping

from web_ui.forms import FormErrors, text

RELATIVE = re.compile(r"\+(\d{1,4})([dhm])")
SECONDS = {"d": 86400, "h": 3600, "m": 60}


def moment(form: Mapping[str, Any], name: str, now: int, errors: dict[str, str], required: bool = True) -> int | None:
    value = text(form, name)
    if not value:
        if required:
            errors[name] = "Give a date and time."
        return None
    relative = RELATIVE.fullmatch(value)
    if relative:
        return now + int(relative.group(1)) * SECONDS[relative.group(2)]
    try:
        local = datetime.datetime.fromisoformat(value)
    except ValueError:
        errors[name] = f"{value!r} is not a date and time (like 2026-12-24T17:00, or +7d)."
        return None
    offset = text(form, "tz")
    minutes = int(offset) if re.fullmatch(r"-?\d{1,4}", offset) else 0
    if local.tzinfo is None:
        local = local.replace(tzinfo=datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
    return int(local.timestamp())


def money(form: Mapping[str, Any], name: str, currency_field: str = "currency") -> dict[str, str]:
    return {"amount": text(form, name), "currency": text(form, currency_field).upper()}


def milestones(form: Mapping[str, Any], currency: str, now: int, errors: dict[str, str]) -> list[dict[str, Any]]:
    """Rows m1..m5 of key/title/amount/due; empty rows are skipped."""
    found = []
    for row in range(1, 6):
        key, title, amount = (text(form, f"m{row}_{f}") for f in ("key", "title", "amount"))
        if not (key or title or amount):
            continue
        due = moment(form, f"m{row}_due", now, errors)
        found.append({"key": key, "title": title, "amount": {"amount": amount, "currency": currency.upper()},
                      "due": due if due is not None else 0})
    if not found:
        errors["milestones"] = "Give at least one milestone (a key such as all, a title, an amount and a due date)."
    return found


def integer(form: Mapping[str, Any], name: str, errors: dict[str, str], default: int | None = None) -> int | None:
    value = text(form, name)
    if not value:
        return default
    if not re.fullmatch(r"\d{1,10}", value):
        errors[name] = f"{value!r} is not a whole number."
        return None
    return int(value)


def raise_if(errors: dict[str, str]) -> None:
    if errors:
        raise FormErrors(errors)
