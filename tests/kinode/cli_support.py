"""Running `python -m kinode` as a user would, without a terminal (as in CI and scripts)."""

import json
import os
import re
import select
import subprocess
import sys

KINODE = [sys.executable, "-m", "kinode"]
PASSPHRASE_ENV = "KINODE_PASSPHRASE"


def run(*args: str, passphrase: str | None = None, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != PASSPHRASE_ENV}
    if passphrase is not None:
        env[PASSPHRASE_ENV] = passphrase
    # A new session has no controlling terminal: the CLI cannot prompt, as in CI.
    return subprocess.run(
        [*KINODE, *args], env=env, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True, text=True, timeout=timeout, start_new_session=True,
    )


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result
    assert "Traceback" not in result.stderr
    return result.stdout


def assert_clean_failure(result: subprocess.CompletedProcess, code: str, exit_code: int = 2) -> None:
    """One line on stderr naming exactly one code, this one; nothing on stdout; the documented exit code."""
    assert result.returncode == exit_code, result
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert re.findall(r"\[([a-z_]+)\]", lines[0]) == [code], lines[0]


def as_json(result: subprocess.CompletedProcess):
    return json.loads(ok(result))


def read_until(fd: int, marker: bytes, seen: bytearray) -> None:
    """Read the pty until `marker` has appeared (waits on readiness, not on time)."""
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], 30)
        assert ready, f"no {marker!r} from the CLI; got {bytes(seen)!r}"
        seen.extend(os.read(fd, 1024))


def read_to_end(fd: int, seen: bytearray) -> None:
    """Read the pty until the child closes it (Linux reports that as EIO)."""
    while True:
        ready, _, _ = select.select([fd], [], [], 30)
        assert ready, f"the CLI did not finish; got {bytes(seen)!r}"
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            return
        if not chunk:
            return
        seen.extend(chunk)
