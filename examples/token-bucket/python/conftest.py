"""Builds the `token-bucket` binary once and hands the tests a way to talk to it."""

import json
import os
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def binary() -> Path:
    """The debug build of `token-bucket`, wherever CARGO_TARGET_DIR puts it."""
    subprocess.run(["cargo", "build", "--quiet", "--bin", "token-bucket"], cwd=PROJECT, check=True)
    metadata = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=PROJECT,
        check=True,
        capture_output=True,
        text=True,
    )
    target = Path(json.loads(metadata.stdout)["target_directory"])
    path = target / "debug" / ("token-bucket.exe" if os.name == "nt" else "token-bucket")
    assert path.is_file(), f"no binary at {path}"
    return path


@pytest.fixture
def session(binary):
    """Runs one session: `session(["take 1", "wait 500"], capacity=3, rate=2)` → the answers."""

    def run(commands, capacity=3, rate=2):
        done = subprocess.run(
            [str(binary), "--capacity", str(capacity), "--rate", str(rate)],
            input="".join(f"{c}\n" for c in commands),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    return run
