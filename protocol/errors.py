"""The protocol layer's errors.

One root, one-line subclasses, each carrying the machine-readable rejection
code that `specs/protocol.md` defines::

    ProtocolError (code)
    ├── Malformed              malformed
    ├── DuplicateKey           duplicate_key
    ├── NotCanonicalNumber     not_canonical_number
    ├── UnsupportedVersion     unsupported_version
    ├── BadDid                 bad_did
    ├── BadId                  bad_id
    ├── BadSignature           bad_signature
    ├── UnknownType            unknown_type
    ├── InvalidBody            invalid_body
    ├── TooLarge               too_large
    ├── ClockSkew              clock_skew
    ├── NotAuthorized          not_authorized
    ├── Retracted              retracted
    ├── KeyRotated             key_rotated
    ├── DecryptionFailed       decryption_failed
    ├── BadRequestSignature    bad_request_signature
    ├── StaleSignature         stale_signature
    ├── ReplayedSignature      replayed_signature
    ├── BadContentDigest       bad_content_digest
    ├── InvalidSyncMessage     invalid_sync_message
    ├── WrongReference         wrong_reference
    ├── AwaitingContext        awaiting_context (the "pending" status's code, not a refusal)
    ├── DeadlineConflict       deadline_conflict
    ├── OverBudget             over_budget
    ├── CurrencyMismatch       currency_mismatch
    ├── NotOverdue             not_overdue
    └── BadReceipt             bad_receipt

Nothing here knows about HTTP: `kinode/` maps codes to statuses.
"""


class ProtocolError(ValueError):
    """An object or input that the protocol rejects; `code` says why."""

    code = "malformed"

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class Malformed(ProtocolError):
    code = "malformed"


class DuplicateKey(ProtocolError):
    code = "duplicate_key"


class NotCanonicalNumber(ProtocolError):
    code = "not_canonical_number"


class UnsupportedVersion(ProtocolError):
    code = "unsupported_version"


class BadDid(ProtocolError):
    code = "bad_did"


class BadId(ProtocolError):
    code = "bad_id"


class BadSignature(ProtocolError):
    code = "bad_signature"


class UnknownType(ProtocolError):
    code = "unknown_type"


class InvalidBody(ProtocolError):
    code = "invalid_body"


class TooLarge(ProtocolError):
    code = "too_large"


class ClockSkew(ProtocolError):
    code = "clock_skew"


class NotAuthorized(ProtocolError):
    code = "not_authorized"


class Retracted(ProtocolError):
    code = "retracted"


class KeyRotated(ProtocolError):
    code = "key_rotated"


class DecryptionFailed(ProtocolError):
    code = "decryption_failed"


class BadRequestSignature(ProtocolError):
    code = "bad_request_signature"


class StaleSignature(ProtocolError):
    code = "stale_signature"


class ReplayedSignature(ProtocolError):
    code = "replayed_signature"


class BadContentDigest(ProtocolError):
    code = "bad_content_digest"


class InvalidSyncMessage(ProtocolError):
    code = "invalid_sync_message"


class CategoryNotServed(ProtocolError):
    code = "category_not_served"


class NotAddressed(ProtocolError):
    code = "not_addressed"


class WrongReference(ProtocolError):
    """A reference names an object of the wrong type, project, root or category."""
    code = "wrong_reference"


class AwaitingContext(ProtocolError):
    """Not a refusal: the objects a lifecycle object refers to are not all held yet (status "pending")."""
    code = "awaiting_context"


class DeadlineConflict(ProtocolError):
    """A deadline later than one it must not pass (the project's, or a dependant's before its dependency's)."""
    code = "deadline_conflict"


class OverBudget(ProtocolError):
    """A task budget above its project's budget."""
    code = "over_budget"


class CurrencyMismatch(ProtocolError):
    """An amount in another currency than the one it must match (a task's budget and its project's)."""
    code = "currency_mismatch"


class NotOverdue(ProtocolError):
    """A reopen signed before the task's deadline passed: only an overdue task can be reopened."""
    code = "not_overdue"


class UnknownMilestone(ProtocolError):
    """A delivery, payment or dispute names a milestone key the contract does not have."""
    code = "unknown_milestone"


class AmountMismatch(ProtocolError):
    """A payment's amount is not the milestone's, or a ruling awards more than the dispute covers."""
    code = "amount_mismatch"


class BadReceipt(ProtocolError):
    """An inclusion receipt (or a complaint built on one) that does not verify (section 14.5)."""
    code = "bad_receipt"


ALL_ERRORS = tuple(ProtocolError.__subclasses__())
ALL_CODES = frozenset(cls.code for cls in ALL_ERRORS)
