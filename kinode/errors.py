"""The kinode layer's errors.

One root, one-line subclasses. Each carries a machine-readable `code` and an
HTTP `status` hint: only this layer maps codes to statuses (protocol errors
stay HTTP-free)::

    KinodeError (code, status)
    ├── BadUrl                 bad_url             400
    ├── ForbiddenAddress       forbidden_address   403
    ├── ChallengeFailed        challenge_failed    400
    ├── DiscoveryFailed        discovery_failed    500
    └── KeystoreError          keystore_error      500
        ├── NoIdentity         no_identity         500
        ├── IdentityExists     identity_exists     409
        ├── PassphraseRequired passphrase_required 500
        ├── EmptyPassphrase    empty_passphrase    400
        ├── PassphraseMismatch passphrase_mismatch 400
        ├── WrongPassphrase    wrong_passphrase    403
        └── KeystoreCorrupt    keystore_corrupt    500

`str(error)` is the human sentence; `error.detail` holds the same text.
"""


class KinodeError(Exception):
    """Something the running node refuses or cannot do; `code` says what."""

    code = "kinode_error"
    status = 500

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class BadUrl(KinodeError):
    code, status = "bad_url", 400


class ForbiddenAddress(KinodeError):
    code, status = "forbidden_address", 403


class ChallengeFailed(KinodeError):
    code, status = "challenge_failed", 400


class DiscoveryFailed(KinodeError):
    code, status = "discovery_failed", 500


class KeystoreError(KinodeError):
    code, status = "keystore_error", 500


class NoIdentity(KeystoreError):
    code, status = "no_identity", 500


class IdentityExists(KeystoreError):
    code, status = "identity_exists", 409


class PassphraseRequired(KeystoreError):
    code, status = "passphrase_required", 500


class EmptyPassphrase(KeystoreError):
    code, status = "empty_passphrase", 400


class PassphraseMismatch(KeystoreError):
    code, status = "passphrase_mismatch", 400


class WrongPassphrase(KeystoreError):
    code, status = "wrong_passphrase", 403


class KeystoreCorrupt(KeystoreError):
    code, status = "keystore_corrupt", 500


class PortInUse(KinodeError):
    code, status = "port_in_use", 500
