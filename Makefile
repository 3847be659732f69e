# Every target does its own set-up: a project-local virtualenv in .venv,
# created and filled on first use (and again whenever pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench bench-node vectors clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "kinode needs Python 3.11 or newer" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/protocol_bench.py
	$(BIN)/python bench/storage_ingest_bench.py
	$(BIN)/python bench/search_bench.py
	$(BIN)/python bench/sync_bench.py

bench-node: $(STAMP)
	$(BIN)/python bench/http_ingest_bench.py
	$(BIN)/python bench/propagation_bench.py
	$(BIN)/python bench/nostr_compare_bench.py
	$(BIN)/python bench/forged_flood_bench.py
	$(BIN)/python bench/stream_fanout_bench.py
	$(BIN)/python bench/held_bodies_bench.py

vectors: $(STAMP)
	$(BIN)/python specs/generate_vectors.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info

run: $(STAMP)
	$(BIN)/kinode demo
