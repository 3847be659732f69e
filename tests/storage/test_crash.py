"""Kill -9 a process while it ingests: every acknowledged object survives, the file stays sound."""

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

CHILD = Path(__file__).parent / "crash_child.py"
KILLS = 24


def test_acknowledged_objects_survive_sigkill(tmp_path):
    path = tmp_path / "crash.db"
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    acknowledged: set[str] = set()
    for run in range(KILLS):
        child = subprocess.Popen([sys.executable, str(CHILD), str(path), str(run)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert child.stdout.readline() == b"ready\n", child.stderr.read().decode()
            kill_after = rng.randint(1, 400)
            seen = 0
            while seen < kill_after:
                line = child.stdout.readline()
                assert line, f"child exited early: {child.stderr.read().decode()}"
                acknowledged.add(_ack(line))
                seen += 1
            child.send_signal(signal.SIGKILL)
            # lines already in the pipe were acknowledged before the kill: they count too
            for line in child.stdout.read().splitlines(keepends=True):
                if line.endswith(b"\n"):
                    acknowledged.add(_ack(line))
        finally:
            child.kill()
            child.wait()
            child.stdout.close()
            child.stderr.close()
        with sqlite3.connect(path) as conn:
            stored = {row[0] for row in conn.execute("SELECT id FROM objects")}
            assert acknowledged <= stored, f"run {run}: {len(acknowledged - stored)} acknowledged ids lost"
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
    assert len(acknowledged) >= KILLS


def _ack(line: bytes) -> str:
    word, object_id = line.decode().split()
    assert word == "ack"
    return object_id
