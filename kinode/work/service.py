"""`WorkService`: every step of the work lifecycle, for the CLI, the HTTP API and the web UI.

Each write builds the body from what the node holds (a claim's project from
its task, a payment's amount from the contract's milestone, a dispute's
resolver from the contract), fetches missing context from the hubs first,
signs as the node's owner, stores and queues it (a running `kinode serve`
delivers), and answers a `Published`: the object, what the local store made
of it, and where it will go (kinode.work.routing), so nobody is left
thinking an object went somewhere it did not.

`private=True` (propose, contract) seals the object in a `message` to the
participants it concerns: the object is stored here unrouted, and only the
message travels, to their nodes and to the hubs' mailboxes.

Errors are `WorkError`s (kinode.errors) with a code and one sentence:
`bad_input` (400), `not_found` (404, a referenced object neither held here
nor served by a hub), or the protocol code of a refusal (e.g. `not_authorized`).
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kinode.errors import KinodeError
from kinode.node import GOSSIP, Node
from kinode.work import reads, routing
from kinode.work.fetch import HubFetcher
from protocol.envelope import SignedObject, sign
from protocol.identity import is_did
from protocol.lifecycle import refs
from protocol.message import seal_object
from storage import outbox
from storage.derived import signed_from_wire
from storage.ingest import IngestResult
from storage.objects import store_verified


class WorkError(KinodeError):
    code, status = "bad_input", 400

    def __init__(self, detail: str, code: str | None = None, status: int | None = None):
        super().__init__(detail)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


@dataclass(frozen=True)
class Published:
    obj: SignedObject
    result: IngestResult
    route: routing.Route
    private: bool = False
    message: SignedObject | None = None  # the sealed envelope that travels, when private

    def as_dict(self) -> dict[str, Any]:
        answer = {"id": self.obj.id, "type": self.obj.type, "status": self.result.status,
                  "object": self.obj.as_dict(), "private": self.private, "route": self.route.as_dict()}
        if self.result.code:
            answer["code"], answer["detail"] = self.result.code, self.result.detail
        if self.message is not None:
            answer["message"] = self.message.id
        return answer


class WorkService:
    def __init__(self, node: Node, fetcher: HubFetcher | None = None):
        self.node = node
        self.fetcher = fetcher

    @classmethod
    def for_node(cls, node: Node) -> "WorkService":
        """The service of a running node (the web UI's): missing context is fetched from its hubs."""
        hubs = [r.url for r in node.remotes.values()]
        return cls(node, HubFetcher(hubs) if hubs else None)

    # --- generic -------------------------------------------------------------

    async def publish(self, type_: str, body: dict[str, Any], *, private: bool = False) -> Published:
        """Sign `body` as `type_`, store it, queue it for everyone it concerns (sealed if `private`)."""
        if not isinstance(body, dict):
            raise WorkError("the body must be a JSON object")
        obj = sign(self.node.identity, type_, body, self.node.now())  # ProtocolError: the caller reports it
        await self._ensure(list(refs.required_ids(obj)))
        # Fetch the profiles of the people it concerns BEFORE storing it: the running node's gossip
        # plans destinations from the profiles held when it picks the object up, at once.
        await self.route(obj)
        if private:
            return await self._publish_sealed(obj)
        [result] = await self.node.store.write(store_verified, [obj], self.node.now(), (GOSSIP,))
        self.node.changes.notify()
        _refused(result)
        return Published(obj, result, await self.route(obj))

    async def route(self, obj: SignedObject) -> routing.Route:
        """Where `obj` goes from here; profiles of people it concerns are fetched first if missing."""
        plan = await self.node.store.read(self._plan, obj)
        missing = plan.unreachable_dids
        if missing and self.fetcher is not None:
            found = await self.fetcher.profiles(missing)
            if found:
                await self.node.store.ingest(found, self.node.now())
                plan = await self.node.store.read(self._plan, obj)
        return plan

    def _plan(self, db, obj: SignedObject) -> routing.Route:
        hubs = [routing.Hub(r.url, r.categories) for r in self.node.remotes.values()] or routing.known_hubs(db)
        return routing.plan(db, obj, hubs, self.node.did)

    async def _publish_sealed(self, inner: SignedObject) -> Published:
        node = self.node
        held = await node.store.read(lambda db: routing.lineage.chain(db, inner))
        recipients = [did for did in routing.concerned(inner, held) if did != node.did]
        if not recipients:
            raise WorkError(f"nobody else is named by this {inner.type}, so there is no one to seal it for")
        message = seal_object(node.identity, [node.did, *recipients], inner, node.now())
        [result, _] = await node.store.write(_store_private, inner, message, node.now())
        node.changes.notify()
        _refused(result)
        return Published(inner, result, await self.route(message), True, message)

    async def _ensure(self, ids: list[str], depth: int = 8) -> None:
        """Fetch from the hubs what `ids` (and their own references) need and this node lacks."""
        for _ in range(depth):
            held = await self.node.store.read(reads.held_or_pending, ids)
            missing = [i for i in dict.fromkeys(ids) if i not in held]
            if not missing or self.fetcher is None:
                return
            found = await self.fetcher.objects(missing)
            if not found:
                return
            await self.node.store.ingest(found, self.node.now())
            ids = [r for o in found for r in refs.required_ids(_parsed(o))]

    async def _get(self, object_id: str, type_: str) -> SignedObject:
        await self._ensure([object_id])
        obj = await self.node.store.read(reads.visible, object_id)
        if obj is None:
            raise WorkError(f"no {type_} {object_id} here or at this node's hubs{self._no_hubs()}", "not_found", 404)
        if obj.type != type_:
            raise WorkError(f"{object_id} is a {obj.type}, not a {type_}", "wrong_reference")
        return obj

    def _no_hubs(self) -> str:
        return "" if self.fetcher is not None else (
            " (this node has reached no hub yet: run `kinode serve --hub URL` on this data dir first)")

    # --- who I am ---------------------------------------------------------------

    async def profile(self, *, name: str, node_url: str | None = None, hubs: list[str] | None = None,
                      bio: str | None = None, skills: list[str] | None = None,
                      categories: list[str] | None = None) -> Published:
        """Publish my profile; `node_url` is where others deliver what concerns me (spec 9.13),
        `hubs` where my mailbox is (default: the hubs this node uses)."""
        if hubs is None:
            hubs = [r.url for r in self.node.remotes.values()] or [
                h.url for h in await self.node.store.read(routing.known_hubs)]
        body = _put({"name": name}, node=node_url, hubs=list(dict.fromkeys(hubs)) or None, bio=bio,
                    skills=skills, categories=categories)
        return await self.publish("profile", body)

    # --- projects and tasks --------------------------------------------------

    async def project(self, *, category: str, title: str, description: str, budget: dict, deadline: int,
                      coordinator: str | None = None, skills: list | None = None,
                      claims_per_task: int | None = None, claim_approval: bool | None = None) -> Published:
        body = {"category": category, "title": title, "description": description, "budget": budget,
                "deadline": deadline, "coordinator": coordinator or self.node.did}
        _put(body, skills=skills, claims_per_task=claims_per_task, claim_approval=claim_approval)
        return await self.publish("project", body)

    async def task(self, project_id: str, *, title: str, description: str, budget: dict, deadline: int,
                   depends_on: list[str] = (), claim_lease: int = 86400, estimate: int | None = None,
                   skills: list | None = None) -> Published:
        project = await self._get(project_id, "project")
        body = {"project": project.id, "category": project.body["category"], "title": title,
                "description": description, "budget": budget, "deadline": deadline,
                "depends_on": list(depends_on), "claim_lease": claim_lease}
        _put(body, estimate=estimate, skills=skills)
        return await self.publish("task", body)

    async def claim(self, task_id: str, note: str | None = None) -> Published:
        task = await self._get(task_id, "task")
        return await self.publish("claim", _put({"task": task.id, "project": task.body["project"]}, note=note))

    async def approve(self, claim_id: str, note: str | None = None) -> Published:
        claim = await self._get(claim_id, "claim")
        return await self.publish("approval", _put({"claim": claim.id}, note=note))

    async def reopen(self, task_id: str, *, deadline: int, reason: str) -> Published:
        task = await self._get(task_id, "task")
        return await self.publish("reopen", {"task": task.id, "project": task.body["project"],
                                             "deadline": deadline, "reason": reason})

    # --- proposals and contracts ---------------------------------------------

    async def propose(self, target_id: str, *, price: dict, message: str, deliver_by: int | None = None,
                      private: bool = False) -> Published:
        await self._ensure([target_id])
        target = await self.node.store.read(reads.visible, target_id)
        if target is None:
            raise WorkError(f"no project, task or offer {target_id} here or at this node's hubs{self._no_hubs()}",
                            "not_found", 404)
        category = await self.node.store.read(routing.lineage.inherited_category, target)
        body = _put({"target": target.id, "category": category, "price": price, "message": message},
                    deliver_by=deliver_by)
        return await self.publish("proposal", body, private=private)

    async def contract(self, *, scope: list[str], parties: list[dict], terms: str, price: dict,
                       milestones: list[dict], deadline: int, dispute_resolver: str,
                       auto_accept: int | None = None, supersedes: str | None = None,
                       hub_fee: dict | None = None, private: bool = False) -> Published:
        await self._ensure(list(scope) + ([supersedes] if supersedes else []))
        body = {"parties": parties, "scope": list(scope), "terms": terms, "price": price,
                "milestones": milestones, "deadline": deadline, "dispute_resolver": dispute_resolver}
        _put(body, auto_accept=auto_accept, supersedes=supersedes, hub_fee=hub_fee)
        return await self.publish("contract", body, private=private)

    async def sign(self, contract_id: str) -> Published:
        """Sign a contract; the contract goes public with the sign (a private draft included),
        since every later object of it is judged against it (spec section 13, private negotiation)."""
        contract = await self._get(contract_id, "contract")
        published = await self.publish("sign", {"contract": contract.id})
        await self.node.store.write(_make_public, contract.id, self.node.now())
        self.node.changes.notify()
        return published

    # --- delivery, acceptance, payment ---------------------------------------

    async def deliver(self, contract_id: str, milestone: str, artifact: bytes | str | Path, *, location: str,
                      media_type: str | None = None, manifest: str | None = None) -> Published:
        contract = await self._get(contract_id, "contract")
        data = artifact if isinstance(artifact, bytes) else _read(Path(artifact))
        body = {"contract": contract.id, "milestone": milestone,
                "artifact": _put({"sha256": hashlib.sha256(data).hexdigest(), "location": location,
                                  "size": len(data)}, media_type=media_type)}
        return await self.publish("delivery", _put(body, manifest=manifest))

    async def accept(self, delivery_id: str) -> Published:
        delivery = await self._get(delivery_id, "delivery")
        return await self.publish("acceptance", {"delivery": delivery.id, "decision": "accept"})

    async def reject(self, delivery_id: str, reason: str) -> Published:
        delivery = await self._get(delivery_id, "delivery")
        return await self.publish("acceptance", {"delivery": delivery.id, "decision": "reject", "reason": reason})

    async def pay(self, contract_id: str, milestone: str, reference: str | None = None) -> Published:
        contract = await self._get(contract_id, "contract")
        due = next((m for m in contract.body["milestones"] if m["key"] == milestone), None)
        if due is None:
            keys = ", ".join(m["key"] for m in contract.body["milestones"])
            raise WorkError(f"contract {contract.id} has no milestone {milestone!r} (it has {keys})", "unknown_milestone")
        body = {"contract": contract.id, "milestone": milestone, "amount": due["amount"], "kind": "sent"}
        return await self.publish("payment", _put(body, reference=reference))

    async def confirm(self, payment_id: str) -> Published:
        sent = await self._get(payment_id, "payment")
        body = {"contract": sent.body["contract"], "milestone": sent.body["milestone"],
                "amount": sent.body["amount"], "kind": "confirmed", "confirms": sent.id}
        return await self.publish("payment", body)

    # --- disputes and reviews ------------------------------------------------

    async def dispute(self, contract_id: str, reason: str, milestone: str | None = None) -> Published:
        contract = await self._get(contract_id, "contract")
        body = {"contract": contract.id, "resolver": contract.body["dispute_resolver"], "reason": reason}
        return await self.publish("dispute", _put(body, milestone=milestone))

    async def rule(self, dispute_id: str, *, outcome: str, reason: str, award: dict | None = None) -> Published:
        dispute = await self._get(dispute_id, "dispute")
        body = {"dispute": dispute.id, "contract": dispute.body["contract"], "outcome": outcome, "reason": reason}
        return await self.publish("ruling", _put(body, award=award))

    async def review(self, contract_id: str, subject: str, rating: int, text: str | None = None) -> Published:
        contract = await self._get(contract_id, "contract")
        return await self.publish("review", _put({"contract": contract.id, "subject": subject, "rating": rating},
                                                 text=text))

    # --- reads ----------------------------------------------------------------

    async def project_view(self, project_id: str) -> dict[str, Any]:
        return await self.node.store.read(reads.project_view, project_id, self.node.now())

    async def contract_view(self, contract_id: str) -> dict[str, Any]:
        return await self.node.store.read(reads.contract_view, contract_id, self.node.now())

    async def reputation(self, did: str, category: str | None = None, at: int | None = None) -> dict[str, Any]:
        """`did`'s reputation computed here. With hubs to ask, first fetch what it depends on and this
        node lacks (the contracts of `did` and of its counterparties, with the objects they count), so
        the figures are the hub's, computed and verified here. `at`: the time to compute it for (default now)."""
        if not is_did(did):
            raise WorkError(f"{did!r} is not a participant's did (did:key:z6Mk...)")
        if self.fetcher is not None:
            await self._gather_contracts(did)
        return await self.node.store.read(reads.reputation, did, self.node.now() if at is None else at, category)

    async def contracts_of(self, did: str) -> list[str]:
        return await self.node.store.read(reads.contracts_of, did)

    async def _gather_contracts(self, did: str) -> None:
        mine = await self.fetcher.contracts_of(did)
        await self._ensure(mine)
        others = [d for d in await self.node.store.read(reads.counterparties, mine) if d != did]
        contract_ids = list(mine)
        for other in others:
            contract_ids += await self.fetcher.contracts_of(other)
        contract_ids = list(dict.fromkeys(contract_ids))
        await self._ensure(contract_ids)
        await self._ensure(await self.fetcher.contract_objects(contract_ids))

    async def needs_me(self) -> list[dict[str, Any]]:
        """What waits for this node's owner: contracts to sign, deliveries to judge, payments to confirm, ..."""
        return await self.node.store.read(reads.needs, self.node.did, self.node.now())

    async def deliveries(self, object_ids: list[str] | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Per published object: delivered to N of M, and why each other destination has not taken it."""
        found = await self.node.store.read(reads.deliveries, object_ids, limit)
        unrouted = [item["id"] for item in found if not item["destinations"]] if object_ids is not None else []
        if unrouted:
            raise WorkError(f"this node routed no object {unrouted[0]}: only what it published has a delivery log",
                            "not_found", 404)
        return found


def _store_private(db, inner: SignedObject, message: SignedObject, now: int) -> list[IngestResult]:
    """The inner object stays here unrouted; only the sealed message is queued."""
    [result] = store_verified(db, [inner], now)
    if result.status == "rejected":
        return [result, result]
    [sent] = store_verified(db, [message], now, (GOSSIP,))
    return [result, sent]


def _make_public(db, contract_id: str, now: int) -> None:
    outbox.enqueue(db, contract_id, [GOSSIP], now)


def _refused(result: IngestResult) -> None:
    if result.status == "rejected":
        raise WorkError(result.detail or "refused", result.code, 400)


def _put(body: dict, **optional: Any) -> dict:
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise WorkError(f"cannot read {path}: {error.strerror}") from None


def _parsed(wire: dict) -> SignedObject:
    return SignedObject(wire.get("id", ""), wire.get("type", ""), wire.get("author", ""), wire.get("created_at", 0),
                        wire.get("body") if isinstance(wire.get("body"), dict) else {}, wire.get("sig", ""), b"")
