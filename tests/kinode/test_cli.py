"""`kinode init` and `kinode whoami`, run as real processes (plus in-process prompt logic)."""

import json
import os
import pty
import stat
import sys

import pytest

from kinode.cli import entry as cli
from cli_support import KINODE, assert_clean_failure, read_to_end, read_until, run
from protocol.identity import Identity, is_did

IDENTITY = 3  # the exit code for key problems (kinode/cli/output.py)


def test_init_without_passphrase_prints_the_did_and_writes_0600(tmp_path):
    data_dir = tmp_path / "node"
    result = run("init", "--data-dir", str(data_dir), "--no-passphrase")
    assert result.returncode == 0, result.stderr
    did = result.stdout.strip()
    assert is_did(did) and result.stdout == did + "\n"
    path = data_dir / "identity.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    assert Identity(bytes.fromhex(document["seed"])).did == did == document["did"]


def test_init_encrypted_from_env_then_wrong_and_right_passphrase(tmp_path):
    created = run("init", "--data-dir", str(tmp_path), passphrase="s3cret phrase")
    assert created.returncode == 0, created.stderr
    did = created.stdout.strip()
    document = json.loads((tmp_path / "identity.json").read_text())
    assert "seed" not in document and document["did"] == did
    assert stat.S_IMODE((tmp_path / "identity.json").stat().st_mode) == 0o600

    wrong = run("whoami", "--data-dir", str(tmp_path), passphrase="not it")
    assert_clean_failure(wrong, "wrong_passphrase", IDENTITY)
    assert "wrong passphrase" in wrong.stderr

    right = run("whoami", "--data-dir", str(tmp_path), passphrase="s3cret phrase")
    assert right.returncode == 0 and right.stdout.strip() == did


def test_init_refuses_an_existing_identity(tmp_path):
    first = run("init", "--data-dir", str(tmp_path), "--no-passphrase")
    before = (tmp_path / "identity.json").read_bytes()
    again = run("init", "--data-dir", str(tmp_path), "--no-passphrase")
    assert_clean_failure(again, "identity_exists", IDENTITY)
    assert "already exists" in again.stderr
    assert (tmp_path / "identity.json").read_bytes() == before
    assert first.stdout.strip() == json.loads(before)["did"]


def test_init_without_a_terminal_or_passphrase_says_how_to_give_one(tmp_path):
    result = run("init", "--data-dir", str(tmp_path / "node"))
    assert_clean_failure(result, "passphrase_required", IDENTITY)
    assert cli.PASSPHRASE_ENV in result.stderr and "--no-passphrase" in result.stderr
    assert not (tmp_path / "node" / "identity.json").exists()


def test_whoami_without_identity(tmp_path):
    assert_clean_failure(run("whoami", "--data-dir", str(tmp_path)), "no_identity", IDENTITY)


def test_init_asks_twice_at_a_real_terminal(tmp_path):
    pid, fd = pty.fork()
    if pid == 0:  # the child: a new session whose controlling terminal is the pty
        env = {k: v for k, v in os.environ.items() if k != cli.PASSPHRASE_ENV}
        os.execve(sys.executable, [*KINODE, "init", "--data-dir", str(tmp_path)], env)
    seen = bytearray()
    try:
        read_until(fd, b"New passphrase", seen)
        os.write(fd, b"typed at a tty\n")
        read_until(fd, b"Repeat", seen)
        os.write(fd, b"typed at a tty\n")
        read_to_end(fd, seen)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, bytes(seen)
    assert b"typed at a tty" not in seen  # not echoed
    did = json.loads((tmp_path / "identity.json").read_text())["did"]
    assert did.encode() in seen


@pytest.fixture
def prompts(monkeypatch):
    """Answers for the CLI's prompt, in order."""
    answers: list[str] = []
    monkeypatch.delenv(cli.PASSPHRASE_ENV, raising=False)
    monkeypatch.setattr(cli, "_prompt", lambda text, hint: answers.pop(0))
    return answers


def test_mismatched_passphrases_write_nothing(tmp_path, prompts, capsys):
    prompts.extend(["one", "two"])
    assert cli.main(["init", "--data-dir", str(tmp_path)]) == IDENTITY
    assert "[passphrase_mismatch]" in capsys.readouterr().err
    assert not (tmp_path / "identity.json").exists()


def test_empty_prompt_passphrase_is_refused(tmp_path, prompts, capsys):
    prompts.extend([""])
    assert cli.main(["init", "--data-dir", str(tmp_path)]) == IDENTITY
    assert "[empty_passphrase]" in capsys.readouterr().err
    assert not (tmp_path / "identity.json").exists()


def test_existing_identity_is_refused_before_any_prompt(tmp_path, prompts, capsys):
    assert cli.main(["init", "--data-dir", str(tmp_path), "--no-passphrase"]) == 0
    assert cli.main(["init", "--data-dir", str(tmp_path)]) == IDENTITY  # prompts is empty: asking would raise
    assert "[identity_exists]" in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 0
    assert "init" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["whoami"], ["publish", "-"], ["serve", "--port", "0"], ["rotate"]])
def test_a_locked_key_without_a_terminal_names_only_what_the_command_accepts(tmp_path, command):
    assert run("init", "--data-dir", str(tmp_path), passphrase="locked away").returncode == 0
    name, *rest = command
    result = run(name, "--data-dir", str(tmp_path), *rest, stdin='{"type": "profile", "body": {"name": "A"}}')
    assert_clean_failure(result, "passphrase_required", IDENTITY)
    assert cli.PASSPHRASE_ENV in result.stderr
    assert "--no-passphrase" not in result.stderr  # these commands have no such flag
    assert "listening on" not in result.stdout


def test_init_and_whoami_speak_json(tmp_path):
    created = json.loads(run("init", "--data-dir", str(tmp_path), "--no-passphrase", "--json").stdout)
    assert created["encrypted"] is False and is_did(created["did"])
    assert json.loads(run("whoami", "--data-dir", str(tmp_path), "--json").stdout) == {"did": created["did"]}


def test_an_error_in_json_mode_is_json_on_stderr(tmp_path):
    result = run("whoami", "--data-dir", str(tmp_path), "--json")
    assert result.returncode == IDENTITY and result.stdout == ""
    assert json.loads(result.stderr)["error"]["code"] == "no_identity"
