"""Static refusals of lifecycle objects: what is invalid whatever else may arrive later.

`check(obj, held)` runs once every id of `refs.required_ids(obj)` is held;
`held` maps those ids and their ancestors (parent chains up to the root
listing) to their objects. It applies the rules every lifecycle type shares
(each reference names an object of an allowed type; everything lives under
one root; a body `category` equals the inherited one) and then the type's
own rules, from `projects` (task, claim, approval, reopen) and `contracts` (proposal,
contract, sign, delivery, acceptance, payment, dispute, ruling, review).

A per-type checker is `check_<type>(obj, held) -> None`, raising a
`ProtocolError` subclass with a spec code and one sentence. What depends on
competition or time (claim limits, leases, auto-accept, overdue, budgets
summed over tasks) is never refused here: the folds decide it as state.
"""

import importlib
from typing import Callable, Mapping

from protocol.envelope import SignedObject
from protocol.errors import AwaitingContext, WrongReference
from protocol.lifecycle import refs

Checker = Callable[[SignedObject, Mapping[str, SignedObject]], None]

_CHECKERS = {
    "task": "projects", "claim": "projects", "approval": "projects", "reopen": "projects",
    "proposal": "contracts", "contract": "contracts", "sign": "contracts", "delivery": "contracts",
    "acceptance": "contracts", "payment": "contracts", "dispute": "contracts", "ruling": "contracts",
    "review": "contracts",
}


def checker(type_: str) -> Checker | None:
    """The type's own checker, `protocol.lifecycle.<module>.check_<type>`, if that module defines it."""
    module_name = _CHECKERS.get(type_)
    if module_name is None:
        return None
    try:
        module = importlib.import_module(f"protocol.lifecycle.{module_name}")
    except ModuleNotFoundError as error:
        if error.name != f"protocol.lifecycle.{module_name}":
            raise
        return None
    return getattr(module, f"check_{type_}", None)


def check(obj: SignedObject, held: Mapping[str, SignedObject]) -> None:
    """Raise the refusal of `obj` in the context `held`, or return if it may be stored.

    Raises `AwaitingContext` if a required id is missing from `held`: callers
    keep such an object pending instead of judging it.
    """
    if not refs.is_lifecycle(obj):
        return
    missing = [ref_id for ref_id in refs.required_ids(obj) if ref_id not in held]
    if missing:
        raise AwaitingContext(f"{obj.type} {obj.id} refers to {len(missing)} object(s) not held yet: "
                              f"{', '.join(missing[:3])}")
    check_references(obj, held)
    own = checker(obj.type)
    if own is not None:
        own(obj, held)


def check_references(obj: SignedObject, held: Mapping[str, SignedObject]) -> None:
    """The rules every lifecycle type shares (spec section 13.1), raising `WrongReference`."""
    for path, ref_id, allowed in refs.references(obj):
        found = held[ref_id]
        if found.type not in allowed:
            raise WrongReference(f"{path}: {ref_id} is a {found.type}, not a "
                                 f"{' or '.join(sorted(allowed))}")
    root = refs.root(obj, held)
    if root is None:
        raise WrongReference(f"{obj.type} {obj.id}: its parent chain does not reach a project or offer")
    for path, ref_id, _ in refs.references(obj):
        other = refs.root(held[ref_id], held)
        if other is not None and other.id != root.id:
            raise WrongReference(f"{path}: {ref_id} belongs to {other.type} {other.id}, not to "
                                 f"{root.type} {root.id} like the rest of this {obj.type}")
    declared = obj.category
    if declared is not None and root.category is not None and declared != root.category:
        raise WrongReference(f"body.category: {declared!r} differs from {root.category!r}, the category of "
                             f"its {root.type} {root.id}")
