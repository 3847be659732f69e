"""What every command prints: human lines by default, JSON with `--json`; errors; exit codes.

Exit codes (docs/cli.md repeats them; tests pin them):

    0    done
    1    runtime failure: a hub unreachable or refusing, a port in use, a disk error
    2    bad input or usage: unknown flag, unreadable or malformed file, an object the rules refuse
    3    identity: no key, a locked key without its passphrase, a wrong passphrase, a key already there
    4    checked and found invalid: `kinode verify` read the file and some objects fail
    130  interrupted (Ctrl-C)
    141  stdout closed by its reader (`kinode status | head`): silent

An error is one line on stderr, `kinode: SENTENCE [code]`; with `--json`
it is `{"error": {"code": ..., "detail": ...}}` on stderr instead, so
stdout only ever holds results.
"""

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from kinode.errors import KeystoreError, KinodeError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_IDENTITY = 3
EXIT_INVALID = 4
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141  # as for a process killed by SIGPIPE

EXIT_CODES = {
    EXIT_OK: "done",
    EXIT_FAILURE: "runtime failure: a hub unreachable or refusing, a port in use, a disk error",
    EXIT_USAGE: "bad input or usage: unknown flag, unreadable or malformed file, an object the rules refuse",
    EXIT_IDENTITY: "identity: no key, a locked key without its passphrase, a wrong passphrase, a key already there",
    EXIT_INVALID: "checked and found invalid: `kinode verify` read the file and some objects fail",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
    EXIT_PIPE_CLOSED: "stdout was closed by its reader (e.g. `| head`); nothing is printed",
}

# The codes the command line itself gives (beyond the protocol's, specs/protocol.md section 11,
# and kinode's keystore codes, kinode/errors.py); docs/cli.md lists them.
CLI_CODES = {
    "bad_input": "the command's input cannot work (e.g. a key_rotation given to publish)",
    "bad_url": "a --hub or --peer URL that is not plain http(s) with a host",
    "unreadable_file": "FILE is missing, unreadable or not UTF-8",
    "no_database": "--data-dir holds no node database yet",
    "no_hub": "the node has not reached a hub, so there is none to ask",
    "not_found": "no such outbox entry",
    "unknown_table": "no derived table of that name",
    "unreachable": "a hub did not answer",
    "hub_error": "a hub answered, but not with what the protocol says",
    "io_error": "the operating system refused a read or write",
    "interrupted": "stopped by Ctrl-C",
    "internal_error": "a bug in kinode; KINODE_DEBUG=1 shows the traceback",
    "port_in_use": "serve/hub cannot listen on --host:--port",
    "bad_config": "hub.toml (or --config FILE) is not a valid hub configuration, or names no category",
    # the keystore's (kinode/errors.py), all exit 3
    "no_identity": "no identity in --data-dir: run `kinode init` first",
    "identity_exists": "init refuses to replace an identity",
    "passphrase_required": "the key is encrypted and neither $KINODE_PASSPHRASE nor a terminal gives its passphrase",
    "wrong_passphrase": "the passphrase does not unlock the key",
    "empty_passphrase": "an empty passphrase was typed for a new key",
    "passphrase_mismatch": "the two passphrases typed for a new key differ",
    "keystore_corrupt": "identity.json cannot be read as a kinode identity",
}


class CliError(KinodeError):
    """A command's refusal with the code that says why (a protocol code passes through unchanged)."""

    code, status = "bad_input", 400

    def __init__(self, detail: str, code: str | None = None, exit_code: int | None = None):
        super().__init__(detail)
        if code is not None:
            self.code = code
        self.exit_code = exit_code


class BadInput(CliError):
    code, status = "bad_input", 400


class Unreachable(CliError):
    code, status = "unreachable", 503


def exit_code(error: KinodeError) -> int:
    explicit = getattr(error, "exit_code", None)
    if explicit is not None:
        return explicit
    if isinstance(error, KeystoreError):
        return EXIT_IDENTITY
    return EXIT_USAGE if 400 <= error.status < 500 else EXIT_FAILURE


def utc(timestamp: int) -> str:
    """A protocol timestamp (Unix seconds) as people read it: "2026-01-01 00:00:00 UTC"."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(timestamp)) + " UTC"


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON (for scripts)")


def emit(args: argparse.Namespace, data: Any, human: Callable[[Any], Iterable[str]] | str | None = None) -> None:
    """Print `data` as JSON with --json, else the lines `human(data)` gives (or `human` itself)."""
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, sort_keys=True))
        return
    if human is None:
        print(data)
    elif isinstance(human, str):
        print(human)
    else:
        for line in human(data):
            print(line)


def report_error(args: argparse.Namespace | None, code: str, detail: str) -> None:
    if args is not None and getattr(args, "json", False):
        print(json.dumps({"error": {"code": code, "detail": detail}}), file=sys.stderr)
    else:
        print(f"kinode: {detail} [{code}]", file=sys.stderr)


def warn(text: str) -> None:
    print(f"kinode: warning: {text}", file=sys.stderr, flush=True)


def runnable_kinode() -> str:
    """How a person here types this kinode: `kinode` if that is on PATH and is this one, else its path.

    For hints meant to work as printed (the demo's): after `make install`
    `kinode` is found; before it, `.venv/bin/kinode` from the clone is.
    """
    script = Path(sys.executable).parent / "kinode"
    found = shutil.which("kinode")
    if found and script.exists() and Path(found).resolve() == script.resolve():
        return "kinode"
    if not script.exists():
        return f"{sys.executable} -m kinode"
    try:
        relative = os.path.relpath(script)
    except ValueError:  # another drive (Windows)
        return str(script)
    return str(script) if relative.startswith("..") else relative
