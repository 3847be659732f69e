"""Static checks of the project types: task, claim, approval, reopen (spec section 13.2).

Each `check_<type>(obj, held)` raises a ProtocolError subclass with its spec
code, or returns. `held` maps the ids the object names (refs.required_ids and
their ancestors) to objects, as protocol.lifecycle.check passes it; a missing
id is the caller's mistake (LookupError). Only rules that hold whatever else
may arrive later live here; the fold (projects.project_view) decides the rest.
"""

from typing import Mapping

from protocol import money
from protocol.envelope import SignedObject
from protocol.errors import CurrencyMismatch, DeadlineConflict, NotAuthorized, NotOverdue, OverBudget, WrongReference

def _named(held: Mapping[str, SignedObject], ref_id: str, type_: str, path: str) -> SignedObject:
    found = held.get(ref_id)
    if found is None:
        raise LookupError(f"{path}: {ref_id} is not in the held context")  # the caller's mistake
    if found.type != type_:
        raise WrongReference(f"{path}: {ref_id} is a {found.type}, not a {type_}")
    return found


def _coordinator_only(obj: SignedObject, project: SignedObject) -> None:
    if obj.author != project.body["coordinator"]:
        raise NotAuthorized(f"a {obj.type} must be signed by the project's coordinator "
                            f"{project.body['coordinator']}, not {obj.author}")


def check_task(task: SignedObject, held: Mapping[str, SignedObject]) -> None:
    """A task is the coordinator's, in the project's currency and limits, after its dependencies."""
    body = task.body
    project = _named(held, body["project"], "project", "body.project")
    if body["category"] != project.body["category"]:  # also a shared rule (check_references): the fold relies on it
        raise WrongReference(f"body.category: {body['category']!r} differs from {project.body['category']!r}, "
                             f"the category of its project")
    _coordinator_only(task, project)
    budget, limit = body["budget"], project.body["budget"]
    if budget["currency"] != limit["currency"]:
        raise CurrencyMismatch(f"body.budget.currency: {budget['currency']} differs from the project's "
                               f"{limit['currency']}")
    if money.in_minor_units(budget) > money.in_minor_units(limit):
        raise OverBudget(f"body.budget: {budget['amount']} {budget['currency']} is above the project's budget "
                         f"{limit['amount']} {limit['currency']}")
    if body["deadline"] > project.body["deadline"]:
        raise DeadlineConflict(f"body.deadline: {body['deadline']} is after the project's deadline "
                               f"{project.body['deadline']}")
    for index, dep_id in enumerate(body["depends_on"]):
        path = f"body.depends_on[{index}]"
        dep = _named(held, dep_id, "task", path)
        if dep.body["project"] != body["project"]:
            raise WrongReference(f"{path}: task {dep_id} belongs to project {dep.body['project']}, "
                                 f"not {body['project']}")
        if dep.body["deadline"] > body["deadline"]:
            raise DeadlineConflict(f"{path}: the dependency's deadline {dep.body['deadline']} is after this "
                                   f"task's {body['deadline']}")


def check_claim(claim: SignedObject, held: Mapping[str, SignedObject]) -> None:
    """A claim names its task's project."""
    task = _named(held, claim.body["task"], "task", "body.task")
    if claim.body["project"] != task.body["project"]:
        raise WrongReference(f"body.project: {claim.body['project']} is not the task's project "
                             f"{task.body['project']}")


def check_approval(approval: SignedObject, held: Mapping[str, SignedObject]) -> None:
    """An approval names a claim and is signed by that claim's project coordinator."""
    claim = _named(held, approval.body["claim"], "claim", "body.claim")
    task = _named(held, claim.body["task"], "task", "claim's body.task")
    _coordinator_only(approval, _named(held, task.body["project"], "project", "task's body.project"))


def check_reopen(reopen: SignedObject, held: Mapping[str, SignedObject]) -> None:
    """A reopen is the coordinator's, after the task's own deadline, within the project's."""
    task = _named(held, reopen.body["task"], "task", "body.task")
    if reopen.body["project"] != task.body["project"]:
        raise WrongReference(f"body.project: {reopen.body['project']} is not the task's project "
                             f"{task.body['project']}")
    project = _named(held, task.body["project"], "project", "body.project")
    _coordinator_only(reopen, project)
    if reopen.created_at <= task.body["deadline"]:
        raise NotOverdue(f"the task's deadline {task.body['deadline']} had not passed at this reopen's "
                         f"created_at {reopen.created_at}")
    if reopen.body["deadline"] > project.body["deadline"]:
        raise DeadlineConflict(f"body.deadline: {reopen.body['deadline']} is after the project's deadline "
                               f"{project.body['deadline']}")

