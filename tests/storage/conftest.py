"""Storage test fixtures: a store on disk (the in-memory `store` is in tests/conftest.py)."""

import pytest

from storage.store import Store


@pytest.fixture
def file_store(tmp_path):
    s = Store(tmp_path / "node.db")
    yield s
    s.close()
