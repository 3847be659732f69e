"""The contract views and reputations of specs/vectors/lifecycle_contracts.json fit their OpenAPI components."""

import json

import pytest

from test_openapi import SPECS, pointer, validator

CASES = json.loads((SPECS / "vectors" / "lifecycle_contracts.json").read_text())["vectors"]
CONTRACT_VIEW = validator(pointer("components", "schemas", "ContractView"))
REPUTATION = validator(pointer("components", "schemas", "Reputation"))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"][:50])
def test_view_fits_its_component(case):
    check, data = (REPUTATION, case["reputation"]) if case["kind"] == "reputation" else (CONTRACT_VIEW, case["view"])
    errors = list(check.iter_errors(data))
    assert not errors, errors[0].message


def test_a_broken_view_does_not_fit():
    view = dict(next(c["view"] for c in CASES if c["kind"] == "contract"))
    view["status"] = "finished"
    assert not CONTRACT_VIEW.is_valid(view)
    assert not CONTRACT_VIEW.is_valid({k: v for k, v in view.items() if k != "timeline"})
