"""The node's identity key on disk: `DATA_DIR/identity.json`.

Encrypted form (version 1)::

    {"version": 1, "did": "did:key:z6Mk...",
     "kdf": {"name": "argon2id", "opslimit": 3, "memlimit": 268435456},
     "salt": HEX(16), "nonce": HEX(24), "ciphertext": HEX(48)}

`ciphertext` is XSalsa20-Poly1305 (libsodium secretbox) of the 32-byte Ed25519
seed under a key derived from the passphrase by Argon2id. Argon2id rather
than scrypt: it is RFC 9106's recommendation, memory-hard against GPUs and
side-channel resistant, and pynacl already ships it. The default is
libsodium's MODERATE setting (3 passes, 256 MiB, ~0.6 s here): the key is
unlocked once per start, so a slow derivation costs users nothing and costs
an attacker with a stolen file a lot. The parameters are stored in the file,
so they can be raised later without breaking old files.

Unencrypted form (for scripts, tests and `kinode hub` without a passphrase)::

    {"version": 1, "did": "did:key:z6Mk...", "seed": HEX(32)}

Either way the file is created with mode 0600 and written atomically.

Key rotation (`kinode rotate`) writes the successor to `identity.next.json`
(same form and passphrase), publishes the key_rotation signed by the old key,
then moves the old file to `retired/<did>.json` (still encrypted, if it
was) and the successor into `identity.json`. A rotation interrupted between
those steps is finished by running `kinode rotate` again: it finds the
successor waiting and reuses it.
"""

import json
import os
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nacl.exceptions
import nacl.pwhash.argon2id as argon2id
import nacl.secret

from kinode.errors import (
    EmptyPassphrase, IdentityExists, KeystoreCorrupt, NoIdentity, PassphraseRequired,
    WrongPassphrase,
)
from protocol.identity import Identity

FILENAME = "identity.json"
NEXT_FILENAME = "identity.next.json"
RETIRED_DIR = "retired"
VERSION = 1
# A file asking for more than this is refused rather than obeyed: a crafted
# identity.json must not be able to make the node allocate unbounded memory.
MAX_MEMLIMIT = 4 * 1024**3


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost: passes over memory (`opslimit`) and memory in bytes (`memlimit`)."""

    opslimit: int = argon2id.OPSLIMIT_MODERATE
    memlimit: int = argon2id.MEMLIMIT_MODERATE


DEFAULT_KDF = KdfParams()


def identity_path(data_dir: str | os.PathLike) -> Path:
    """Where the identity of the node using `data_dir` is kept."""
    return Path(data_dir) / FILENAME


def create_identity(
    data_dir: str | os.PathLike,
    passphrase: str | None,
    *,
    kdf: KdfParams = DEFAULT_KDF,
    identity: Identity | None = None,
) -> Identity:
    """Generate (or take) an identity and store it in `data_dir`.

    `passphrase=None` stores the seed unencrypted. Creates `data_dir` (0700)
    if needed. Raises `IdentityExists` rather than replace a key, and
    `EmptyPassphrase` for "" (use None to mean "no encryption").
    """
    ensure_absent(data_dir)  # before the costly key derivation
    identity = identity or Identity.generate()
    if passphrase is None:
        document = {"version": VERSION, "did": identity.did, "seed": identity.seed.hex()}
    else:
        document = _encrypt(identity, passphrase, kdf)
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    _write_new(identity_path(data_dir), json.dumps(document, indent=2).encode() + b"\n")
    return identity


def ensure_absent(data_dir: str | os.PathLike) -> None:
    """Raise `IdentityExists` if `data_dir` already holds an identity."""
    path = identity_path(data_dir)
    if path.exists():
        raise IdentityExists(f"{path} already exists; refusing to replace an identity key")


def load_identity(data_dir: str | os.PathLike, passphrase: str | None) -> Identity:
    """The identity stored in `data_dir`, decrypted with `passphrase` if it is encrypted.

    Raises `NoIdentity`, `PassphraseRequired`, `WrongPassphrase` or
    `KeystoreCorrupt`, each with a sentence saying what to do. A passphrase
    given for an unencrypted file is ignored.
    """
    path = identity_path(data_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NoIdentity(f"no identity in {data_dir}: run `kinode init --data-dir {data_dir}` first") from None
    try:
        document = json.loads(raw)
        if document["version"] != VERSION:
            raise KeystoreCorrupt(f"{path} has version {document['version']!r}; this kinode reads version {VERSION}")
        if "seed" in document:
            identity = Identity(bytes.fromhex(document["seed"]))
        else:
            identity = _decrypt(document, passphrase, path)
        did = document["did"]
    except (ValueError, KeyError, TypeError) as exc:
        raise KeystoreCorrupt(f"{path} is not a readable kinode identity file ({exc})") from None
    if identity.did != did:
        raise KeystoreCorrupt(f"{path} names {did} but its key belongs to {identity.did}")
    return identity


def ensure_identity(
    data_dir: str | os.PathLike,
    passphrase: str | None,
    *,
    warn: Callable[[str], None],
    kdf: KdfParams = DEFAULT_KDF,
) -> Identity:
    """Load the identity in `data_dir`, creating it first if there is none.

    For commands that imply `init` (e.g. `kinode hub`): a new identity is
    encrypted with `passphrase` if one is given, otherwise stored unencrypted
    (mode 0600) and `warn` is called with a sentence saying so.
    """
    if identity_path(data_dir).exists():
        return load_identity(data_dir, passphrase)
    try:
        identity = create_identity(data_dir, passphrase, kdf=kdf)
    except IdentityExists:  # another process created it between the check and the write
        return load_identity(data_dir, passphrase)
    if passphrase is None:
        warn(
            f"created identity {identity.did} in {identity_path(data_dir)} UNENCRYPTED (mode 0600); "
            "set KINODE_PASSPHRASE before the first start to encrypt it"
        )
    return identity


def _derive_key(passphrase: str, salt: bytes, kdf: KdfParams) -> bytes:
    # NFC so the same passphrase typed through different input methods
    # (composed vs decomposed accents) unlocks the same key.
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    return argon2id.kdf(nacl.secret.SecretBox.KEY_SIZE, secret, salt, opslimit=kdf.opslimit, memlimit=kdf.memlimit)


def _encrypt(identity: Identity, passphrase: str, kdf: KdfParams) -> dict:
    if passphrase == "":
        raise EmptyPassphrase("the passphrase is empty; choose one, or store the key unencrypted on purpose")
    salt = secrets.token_bytes(argon2id.SALTBYTES)
    nonce = secrets.token_bytes(nacl.secret.SecretBox.NONCE_SIZE)
    box = nacl.secret.SecretBox(_derive_key(passphrase, salt, kdf))
    return {
        "version": VERSION,
        "did": identity.did,
        "kdf": {"name": "argon2id", "opslimit": kdf.opslimit, "memlimit": kdf.memlimit},
        "salt": salt.hex(),
        "nonce": nonce.hex(),
        "ciphertext": box.encrypt(identity.seed, nonce).ciphertext.hex(),
    }


def _decrypt(document: dict, passphrase: str | None, path: Path) -> Identity:
    params = document["kdf"]
    if params["name"] != "argon2id":
        raise KeystoreCorrupt(f"{path} uses key derivation {params['name']!r}; this kinode knows only argon2id")
    kdf = KdfParams(opslimit=int(params["opslimit"]), memlimit=int(params["memlimit"]))
    if not (argon2id.OPSLIMIT_MIN <= kdf.opslimit <= argon2id.OPSLIMIT_MAX
            and argon2id.MEMLIMIT_MIN <= kdf.memlimit <= MAX_MEMLIMIT):
        raise KeystoreCorrupt(f"{path} asks for key-derivation costs out of range ({params})")
    if passphrase is None:
        raise PassphraseRequired(f"the identity in {path} is encrypted: give its passphrase (KINODE_PASSPHRASE or the prompt)")
    key = _derive_key(passphrase, bytes.fromhex(document["salt"]), kdf)
    try:
        seed = nacl.secret.SecretBox(key).decrypt(bytes.fromhex(document["ciphertext"]), bytes.fromhex(document["nonce"]))
    except nacl.exceptions.CryptoError:
        raise WrongPassphrase(f"wrong passphrase for the identity in {path}") from None
    return Identity(seed)


def _write_new(path: Path, content: bytes) -> None:
    """Write `content` to a new file `path` atomically, mode 0600 from the start.

    The bytes go to a temporary file in the same directory (so the final
    rename cannot cross file systems), are fsynced, then linked into place.
    os.link, unlike os.replace, fails if `path` exists, so two racing `init`s
    cannot silently replace a key one of them already printed. Where hard
    links are unsupported we fall back to check-then-os.replace.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise IdentityExists(f"{path} already exists; refusing to replace an identity key") from None
        except OSError:
            ensure_absent(path.parent)
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # Makes the new directory entry durable, not only the file's bytes.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def identity_did(data_dir: str | os.PathLike) -> str | None:
    """The did named in `data_dir`'s identity file, without unlocking the key (None if absent)."""
    try:
        return json.loads(identity_path(data_dir).read_bytes()).get("did")
    except (OSError, ValueError, AttributeError):
        return None


def is_encrypted(data_dir: str | os.PathLike) -> bool:
    """Whether the identity file in `data_dir` needs a passphrase (False if there is none)."""
    try:
        return "seed" not in json.loads(identity_path(data_dir).read_bytes())
    except (OSError, ValueError, TypeError):
        return False


def next_path(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / NEXT_FILENAME


def prepare_successor(data_dir: str | os.PathLike, passphrase: str | None, *, kdf: KdfParams = DEFAULT_KDF) -> Identity:
    """The key that will succeed the current one: the waiting one if a rotation was interrupted, else a new one.

    Stored in `identity.next.json` under `passphrase` (None: unencrypted)
    before anything is signed, so the successor is never lost.
    """
    path = next_path(data_dir)
    if path.exists():
        return _load_file(path, passphrase, data_dir)
    identity = Identity.generate()
    if passphrase is None:
        document = {"version": VERSION, "did": identity.did, "seed": identity.seed.hex()}
    else:
        document = _encrypt(identity, passphrase, kdf)
    _write_new(path, json.dumps(document, indent=2).encode() + b"\n")
    return identity


def switch_to_successor(data_dir: str | os.PathLike) -> Path:
    """Retire the current key to `retired/` and make the waiting successor the node's identity.

    Returns where the retired key now is. The old file is linked into
    `retired/` before the successor replaces it, so at every instant one of
    them holds it.
    """
    current, waiting = identity_path(data_dir), next_path(data_dir)
    did = json.loads(current.read_bytes())["did"]
    retired = Path(data_dir) / RETIRED_DIR
    retired.mkdir(mode=0o700, exist_ok=True)
    target = retired / f"{did.removeprefix('did:key:')}.json"
    if not target.exists():
        os.link(current, target)
        _fsync_dir(retired)
    os.replace(waiting, current)
    _fsync_dir(Path(data_dir))
    return target


def retired_dids(data_dir: str | os.PathLike) -> list[str]:
    """The dids of keys this node has rotated out, oldest file first."""
    folder = Path(data_dir) / RETIRED_DIR
    files = sorted(folder.glob("*.json"), key=lambda f: f.stat().st_mtime) if folder.is_dir() else []
    return [json.loads(f.read_bytes())["did"] for f in files]


def _load_file(path: Path, passphrase: str | None, data_dir) -> Identity:
    try:
        document = json.loads(path.read_bytes())
        identity = Identity(bytes.fromhex(document["seed"])) if "seed" in document else _decrypt(document, passphrase, path)
        did = document["did"]
    except (ValueError, KeyError, TypeError) as exc:
        raise KeystoreCorrupt(f"{path} is not a readable kinode identity file ({exc})") from None
    if identity.did != did:
        raise KeystoreCorrupt(f"{path} names {did} but its key belongs to {identity.did}")
    return identity


def key_documents(data_dir: str | os.PathLike) -> tuple[dict, list[dict]]:
    """The identity file's document and the retired keys' documents, as stored (for `kinode export --keys`)."""
    current = json.loads(identity_path(data_dir).read_bytes())
    folder = Path(data_dir) / RETIRED_DIR
    retired = [json.loads(f.read_bytes()) for f in sorted(folder.glob("*.json"))] if folder.is_dir() else []
    return current, retired


def encrypted_document(identity: Identity, passphrase: str, *, kdf: KdfParams = DEFAULT_KDF) -> dict:
    """An encrypted identity document for `identity` (to carry an unencrypted key out of the machine safely)."""
    return _encrypt(identity, passphrase, kdf)


def install_documents(data_dir: str | os.PathLike, current: dict, retired: list[dict]) -> None:
    """Write identity documents brought from another machine: the current one as `identity.json`
    (refused if another identity is there), the retired ones under `retired/`."""
    for document in (current, *retired):
        if not (isinstance(document, dict) and document.get("version") == VERSION and isinstance(document.get("did"), str)
                and ("seed" in document or "ciphertext" in document)):
            raise KeystoreCorrupt("the key documents in the file are not kinode identity files")
    path = identity_path(data_dir)
    if path.exists():
        if json.loads(path.read_bytes()).get("did") != current["did"]:
            raise IdentityExists(f"{path} holds another identity; import the keys into an empty data directory")
    else:
        os.makedirs(data_dir, mode=0o700, exist_ok=True)
        _write_new(path, json.dumps(current, indent=2).encode() + b"\n")
    if retired:
        folder = Path(data_dir) / RETIRED_DIR
        folder.mkdir(mode=0o700, exist_ok=True)
        for document in retired:
            target = folder / f"{document['did'].removeprefix('did:key:')}.json"
            if not target.exists():
                _write_new(target, json.dumps(document, indent=2).encode() + b"\n")
