"""Projects and tasks: static checks of task/claim/approval/reopen and the project fold.

API (spec section 13.2)::

    check_task(task, held)          check_claim(claim, held)
    check_approval(approval, held)  check_reopen(reopen, held)
        raise a ProtocolError subclass (not_authorized, wrong_reference,
        currency_mismatch, over_budget, deadline_conflict, not_overdue);
        `held` maps the ids the object names (refs.required_ids and their
        ancestors) to objects, as protocol.lifecycle.check passes it.

    project_view(project, objects, now, contracts=None) -> ProjectView
        `objects`: every object under the project (any order, any other
        types mixed in; duplicates harmless). `contracts`: the contract
        state of those objects as {contract id: ContractWork}; None derives
        it with protocol.lifecycle.contracts (see contract_work below).

What this module needs from a contract fold (helper B's contracts.py) is
`ContractWork` (below): its id, created_at and scope, the time it came into
force (None if it is not in force at `now`, e.g. unsigned or superseded) and
per milestone, in the contract's order: key, due, whether a delivery is
held that was not rejected, when it was accepted (explicitly or by
auto-accept; None if not), and the accepted delivery's id and artifact sha256.
`contracts.project_contract_work(objects, now)` builds it (the contract
fold's module owns the mapping from its view's fields).

The fold ignores what the static checks would refuse, objects dated after
`now`, and objects withdrawn by a retract from their author, so it can be
given any set. Ties are always broken by (created_at, id).
"""

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from protocol import money
from protocol.envelope import SignedObject
from protocol.errors import ProtocolError
from protocol.lifecycle.claims import ClaimPlace, Claims, replay
from protocol.lifecycle.cpm import Schedule, critical_path_method, dependency_order, manifest_hash
from protocol.lifecycle.project_checks import check_approval, check_claim, check_reopen, check_task

__all__ = ["check_task", "check_claim", "check_approval", "check_reopen", "project_view", "ProjectView",
           "TaskView", "ContractWork", "MilestoneWork", "contract_work"]

WITHDRAWABLE = frozenset({"task", "claim", "approval", "reopen"})
"""Project types a retract by their author withdraws (the fold treats them as never held)."""


# --- what the fold needs from contracts ---------------------------------------

@dataclass(frozen=True)
class MilestoneWork:
    key: str
    due: int
    delivered: bool  # a delivery is held that was not rejected (awaiting a decision, or accepted)
    accepted_at: int | None = None
    delivery: str | None = None  # the accepted delivery's id
    sha256: str | None = None  # its artifact digest
    ruled_at: int | None = None  # settled by a ruling (any outcome) before it was complete

    @property
    def done_at(self) -> int | None:
        """When nothing more is owed on it for the task: accepted, else ruled (spec 13.2.2 step 7). A milestone
        a ruling closed (for_client, say) is never accepted, yet the task must not stay overdue forever."""
        return self.accepted_at if self.accepted_at is not None else self.ruled_at


@dataclass(frozen=True)
class ContractWork:
    id: str
    created_at: int
    scope: tuple[str, ...]
    in_force_at: int | None  # None: not in force at `now`
    milestones: tuple[MilestoneWork, ...]


def contract_work(objects: Iterable[SignedObject], now: int) -> dict[str, ContractWork]:
    """The ContractWork of every contract among `objects`, from the contract fold."""
    from protocol.lifecycle.contracts import project_contract_work  # late: contracts imports this module

    return project_contract_work(list(objects), now)


# --- the view --------------------------------------------------------------

@dataclass(frozen=True)
class TaskView:
    """One counted task at `now`. `state` is one of STATES; the flags say what needs attention."""

    id: str
    title: str
    created_at: int
    budget: Mapping[str, str]
    deadline: int  # the latest counted reopen's deadline, else the task's own
    depends_on: tuple[str, ...]
    waiting_on: tuple[str, ...]  # dependencies not accepted yet (including ones the fold does not count)
    state: str
    overdue: bool
    at_risk: bool
    overdue_milestones: tuple[str, ...]
    reopens: tuple[str, ...]  # counted reopens, in (created_at, id) order
    claims: Claims
    awaiting_approval: tuple[str, ...]  # claims of this round with no approval yet, sorted
    voided_claims: tuple[str, ...]  # claims signed before the latest counted reopen, sorted
    contract: str | None
    contracted_at: int | None
    accepted_at: int | None
    schedule: Schedule

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "created_at": self.created_at, "budget": dict(self.budget),
                "deadline": self.deadline, "depends_on": list(self.depends_on), "waiting_on": list(self.waiting_on),
                "state": self.state, "overdue": self.overdue, "at_risk": self.at_risk,
                "overdue_milestones": list(self.overdue_milestones), "reopens": list(self.reopens),
                **self.claims.as_dict(), "awaiting_approval": list(self.awaiting_approval),
                "voided_claims": list(self.voided_claims), "contract": self.contract,
                "contracted_at": self.contracted_at, "accepted_at": self.accepted_at,
                "schedule": self.schedule.as_dict()}


STATES = ("open", "claimed", "contracted", "delivered", "accepted")


@dataclass(frozen=True)
class ProjectView:
    """A project at `now`: its tasks in dependency order, the critical path and the recombination manifest."""

    project: str
    coordinator: str
    now: int
    deadline: int
    budget: Mapping[str, str]
    committed: Mapping[str, str]  # the sum of the counted tasks' budgets
    claims_per_task: int
    claim_approval: bool
    tasks: tuple[TaskView, ...]
    over_budget: tuple[str, ...]  # tasks left out because they would push `committed` above `budget`
    cyclic: tuple[str, ...]  # tasks on a dependency cycle (cannot be signed; guarded anyway)
    critical_path: tuple[str, ...]
    projected_completion: int | None
    at_risk: bool
    overdue: bool
    complete: bool
    deliverables: tuple[Mapping[str, str], ...] = field(default=())
    manifest: str = ""

    @property
    def at_risk_tasks(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.tasks if t.at_risk)

    @property
    def overdue_tasks(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.tasks if t.overdue)

    def task(self, task_id: str) -> TaskView | None:
        return next((t for t in self.tasks if t.id == task_id), None)

    def as_dict(self) -> dict[str, Any]:
        return {"project": self.project, "coordinator": self.coordinator, "now": self.now,
                "deadline": self.deadline, "budget": dict(self.budget), "committed": dict(self.committed),
                "claims_per_task": self.claims_per_task, "claim_approval": self.claim_approval,
                "tasks": [t.as_dict() for t in self.tasks], "over_budget": list(self.over_budget),
                "cyclic": list(self.cyclic), "critical_path": list(self.critical_path),
                "projected_completion": self.projected_completion, "at_risk": self.at_risk,
                "overdue": self.overdue, "complete": self.complete, "at_risk_tasks": list(self.at_risk_tasks),
                "overdue_tasks": list(self.overdue_tasks), "deliverables": [dict(d) for d in self.deliverables],
                "manifest": self.manifest}


# --- the fold --------------------------------------------------------------

def _order(obj: SignedObject) -> tuple[int, str]:
    return (obj.created_at, obj.id)


_CHECKS = {"task": check_task, "claim": check_claim, "approval": check_approval, "reopen": check_reopen}


def _passes(obj: SignedObject, held: Mapping[str, SignedObject]) -> bool:
    """Whether a node holding `held` would accept `obj`. The type's own checks imply the shared reference
    rules of check.check_references for these types (check_task checks the category too), at a fraction
    of the cost."""
    try:
        _CHECKS[obj.type](obj, held)
    except (ProtocolError, LookupError):
        return False
    return True


def _accepted_at(contract: ContractWork | None) -> int | None:
    if contract is None or not contract.milestones or any(m.done_at is None for m in contract.milestones):
        return None
    return max(m.done_at for m in contract.milestones)  # type: ignore[type-var]


def _contract_for(covering: list[ContractWork], since: int | None) -> ContractWork | None:
    """The task's contract: in force, signed in the current round, earliest (in_force_at, id)."""
    live = [c for c in covering if c.in_force_at is not None and (since is None or c.created_at >= since)]
    return min(live, key=lambda c: (c.in_force_at, c.id)) if live else None


def project_view(project: SignedObject, objects: Iterable[SignedObject], now: int,
                 contracts: Mapping[str, ContractWork] | None = None) -> ProjectView:
    """The state of `project` at `now` from the set `objects` (spec section 13.2); see the module docstring."""
    held: dict[str, SignedObject] = {project.id: project}
    by_type: dict[str, list[SignedObject]] = {"task": [], "claim": [], "approval": [], "reopen": [], "retract": []}
    others: list[SignedObject] = [project]  # what the contract fold reads: everything but tasks, claims, ...
    for obj in objects:  # one pass: the set is large, and each visit of an object costs a cache miss
        if obj.created_at <= now and obj.id not in held:  # a repeat is the same object
            held[obj.id] = obj
            bucket = by_type.get(obj.type)
            if bucket is None:
                others.append(obj)
            else:
                bucket.append(obj)
                if obj.type == "retract":
                    others.append(obj)
    if contracts is None:
        contracts = contract_work(others, now)  # contract_work leaves tasks, claims, ... out anyway
    withdrawn = {r.body["target"] for r in by_type.pop("retract")
                 if (t := held.get(r.body["target"])) is not None and t.author == r.author and t.type in WITHDRAWABLE}
    if withdrawn:
        by_type = {kind: [o for o in objs if o.id not in withdrawn] for kind, objs in by_type.items()}

    body = project.body
    limit, currency = money.in_minor_units(body["budget"]), body["budget"]["currency"]
    committed, counted, over_budget = 0, {}, []
    for task in sorted(by_type["task"], key=_order):
        if task.body["project"] != project.id or not _passes(task, held):
            continue
        cost = money.in_minor_units(task.body["budget"])
        if committed + cost > limit:
            over_budget.append(task.id)
            continue
        committed += cost
        counted[task.id] = task

    per_task: dict[str, dict[str, list]] = {}
    approved: dict[str, int] = {}
    for approval in by_type["approval"]:
        if _passes(approval, held):
            claim_id = approval.body["claim"]
            approved[claim_id] = min(approved.get(claim_id, approval.created_at), approval.created_at)
    project_id = project.id
    for claim in by_type["claim"]:
        task_id = claim.body["task"]
        # check_claim of a claim on a counted task (which names this project) is just this comparison
        if task_id in counted and claim.body["project"] == project_id:
            related = per_task.get(task_id)
            if related is None:
                per_task[task_id] = {"claim": [claim]}
            else:
                related.setdefault("claim", []).append(claim)
    for reopen in by_type["reopen"]:
        task_id = reopen.body["task"]
        if task_id in counted and _passes(reopen, held):
            per_task.setdefault(task_id, {}).setdefault("reopen", []).append(reopen)
    for contract in contracts.values():
        for item in dict.fromkeys(contract.scope):
            if item in counted:
                per_task.setdefault(item, {}).setdefault("contract", []).append(contract)

    rounds = {tid: _task_round(counted[tid], per_task.get(tid, _NOTHING), body, approved, now) for tid in counted}
    order, cyclic = dependency_order(counted)
    duration = {t: counted[t].body.get("estimate", counted[t].body["claim_lease"]) for t in order}
    remaining = {t: _remaining(rounds[t], duration[t], now) for t in order}
    done_at = {t: r["accepted_at"] for t in order if (r := rounds[t])["accepted_at"] is not None}
    schedules, path, projected = critical_path_method(order, counted, duration, remaining, done_at, now)

    tasks = tuple(_task_view(counted[t], rounds[t], schedules[t], rounds, now) for t in order)
    deliverables = tuple(_deliverables(tasks, {c.id: c for c in contracts.values()}))
    complete = bool(tasks) and all(t.state == "accepted" for t in tasks) and not cyclic
    return ProjectView(
        project.id, body["coordinator"], now, body["deadline"], body["budget"],
        {"amount": money.format_minor_units(committed, currency), "currency": currency},
        body.get("claims_per_task", 1), body.get("claim_approval", False), tasks, tuple(over_budget),
        tuple(cyclic), tuple(path), projected, projected is not None and projected > body["deadline"],
        now > body["deadline"] and not complete, complete, deliverables, manifest_hash(deliverables))


_NOTHING: Mapping[str, list] = {}


def _task_round(task: SignedObject, related: Mapping[str, list], project_body: Mapping[str, Any],
                approved: Mapping[str, int], now: int) -> dict[str, Any]:
    """Reopens, the task's contract and its claims in the current round (since the latest counted reopen)."""
    deadline, since, reopens = task.body["deadline"], None, []
    covering = related.get("contract", [])
    for reopen in sorted(related.get("reopen", ()), key=_order):
        accepted = _accepted_at(_contract_for(covering, since))
        if reopen.created_at <= deadline or (accepted is not None and accepted <= reopen.created_at):
            continue  # not overdue when it was signed
        deadline, since = reopen.body["deadline"], reopen.created_at
        reopens.append(reopen.id)
    contract = _contract_for(covering, since) if covering else None
    needs_approval = project_body.get("claim_approval", False)
    ready, awaiting, voided = [], [], []
    for claim in related.get("claim", ()):
        if since is not None and claim.created_at < since:
            voided.append(claim.id)
        elif not needs_approval:
            ready.append((claim.created_at, claim))
        elif claim.id in approved:
            ready.append((max(claim.created_at, approved[claim.id]), claim))
        else:
            awaiting.append(claim.id)
    until = now if contract is None else min(now, contract.in_force_at)  # type: ignore[type-var]
    claims = replay(ready, task.body["claim_lease"], project_body.get("claims_per_task", 1), until)
    accepted_at = _accepted_at(contract)
    if accepted_at is not None:
        state = "accepted"
    elif contract is not None and all(m.delivered or m.done_at is not None for m in contract.milestones):
        state = "delivered"
    elif contract is not None:
        state = "contracted"
    else:
        state = "claimed" if claims.holders else "open"
    return {"deadline": deadline, "reopens": tuple(reopens), "contract": contract, "claims": claims,
            "awaiting": tuple(sorted(awaiting)), "voided": tuple(sorted(voided)), "state": state,
            "accepted_at": accepted_at}


def _remaining(round_: Mapping[str, Any], duration: int, now: int) -> int:
    """Work left: none once delivered; else the duration less the time since work began (a lease or a contract)."""
    if round_["state"] in ("delivered", "accepted"):
        return 0
    contract, holders = round_["contract"], round_["claims"].holders
    began = contract.in_force_at if contract is not None else min((h.lease_start for h in holders), default=None)
    return duration if began is None else max(0, began + duration - now)


def _task_view(task: SignedObject, round_: Mapping[str, Any], schedule: Schedule,
               rounds: Mapping[str, Mapping[str, Any]], now: int) -> TaskView:
    contract: ContractWork | None = round_["contract"]
    deadline, state, claims = round_["deadline"], round_["state"], round_["claims"]
    late = tuple(m.key for m in contract.milestones if m.due < now and m.done_at is None) if contract else ()
    overdue = state != "accepted" and (now > deadline or bool(late))
    lease_late = state == "claimed" and any(h.lease_end > deadline for h in claims.holders)
    at_risk = state != "accepted" and not overdue and (schedule.earliest_finish > deadline or lease_late)
    deps = tuple(task.body["depends_on"])
    waiting = tuple(d for d in deps if d not in rounds or rounds[d]["state"] != "accepted")
    return TaskView(task.id, task.body["title"], task.created_at, task.body["budget"], deadline, deps, waiting,
                    state, overdue, at_risk, late, round_["reopens"], claims, round_["awaiting"], round_["voided"],
                    contract.id if contract else None, contract.in_force_at if contract else None,
                    round_["accepted_at"], schedule)


def _deliverables(tasks: Iterable[TaskView], contracts: Mapping[str, ContractWork]) -> Iterable[dict[str, str]]:
    """Accepted deliveries in dependency order, then the contract's milestone order; each milestone once."""
    seen: set[tuple[str, str]] = set()
    for task in tasks:
        if task.contract is None:
            continue
        for m in contracts[task.contract].milestones:
            if m.accepted_at is not None and (task.contract, m.key) not in seen:
                seen.add((task.contract, m.key))
                yield {"task": task.id, "contract": task.contract, "milestone": m.key,
                       "delivery": m.delivery or "", "sha256": m.sha256 or ""}
