"""Docs are tests: every object type and rejection code of the code appears in specs/protocol.md."""

import re
from pathlib import Path

import pytest

from protocol.bodies import OBJECT_TYPES
from protocol.errors import ALL_CODES

SPEC = Path(__file__).resolve().parents[2] / "specs" / "protocol.md"


def _backticked() -> set[str]:
    return set(re.findall(r"`([^`\n]+)`", SPEC.read_text(encoding="utf-8")))


def test_there_is_something_to_check():
    assert len(OBJECT_TYPES) >= 18 and len(ALL_CODES) >= 14


@pytest.mark.parametrize("object_type", sorted(OBJECT_TYPES))
def test_object_type_is_specified(object_type):
    specified = object_type in _backticked()
    assert specified, f"object type `{object_type}` is not in specs/protocol.md"


@pytest.mark.parametrize("code", sorted(ALL_CODES))
def test_rejection_code_is_specified(code):
    specified = code in _backticked()
    assert specified, f"rejection code `{code}` is not in specs/protocol.md"
