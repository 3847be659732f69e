import pytest

from ui_proc import start


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """One real `kinode serve` with its web UI, shared by a module's tests (they do not change it much)."""
    ui_node = start(tmp_path_factory.mktemp("ui"), "alice")
    yield ui_node
    ui_node.stop()
