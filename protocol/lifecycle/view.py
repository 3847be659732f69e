"""Views as plain JSON: what the HTTP API, the CLI's --json and the vectors carry unchanged."""

import dataclasses
from typing import Any, Mapping

_SCALARS = frozenset({str, int, bool, float, type(None)})
_FIELDS: dict[type, tuple[str, ...] | None] = {}  # per class: its dataclass field names, or None if not one


def plain(value: Any) -> Any:
    """Dataclasses to dicts (fields in declaration order), tuples to lists; ints, strings, None kept."""
    # Exact-type checks and field names cached per class: a reputation of 1,000 contracts is ~100,000
    # values, and the generic isinstance(..., Mapping) costs an ABC check each (bench/lifecycle_bench.py).
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind in _FIELDS:
        names = _FIELDS[kind]
    else:
        is_instance = dataclasses.is_dataclass(value) and not isinstance(value, type)
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(value)) if is_instance else None
    if names is not None:
        return {name: plain(getattr(value, name)) for name in names}
    if kind is dict:
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    return value
