"""Storage test fixtures: a fresh in-memory store per test, or one on disk."""

import pytest

from storage.store import Store


@pytest.fixture
def store():
    s = Store()
    yield s
    s.close()


@pytest.fixture
def file_store(tmp_path):
    s = Store(tmp_path / "node.db")
    yield s
    s.close()
