"""Views as plain JSON: what the HTTP API, the CLI's --json and the vectors carry unchanged."""

import dataclasses
from typing import Any, Mapping


def plain(value: Any) -> Any:
    """Dataclasses to dicts (fields in declaration order), tuples to lists; ints, strings, None kept."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    return value
