# Every target does its own set-up: a project-local virtualenv in .venv,
# created and filled on first use (and again whenever pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# `make install` links the venv's kinode into BINDIR (a link, not a copy: the
# editable install keeps running this clone, so `git pull` updates it).
BINDIR ?= $(HOME)/.local/bin

.PHONY: run test bench bench-node vectors clean chromium screenshots bench-ui install uninstall docs

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "kinode needs Python 3.11 or newer" >&2; exit 1; }
	@echo "kinode: setting up $(VENV) (first run, or pyproject.toml changed; about half a minute)"
	@echo "kinode: [1/3] creating a virtualenv with $$($(PYTHON) --version)"
	@$(PYTHON) -m venv $(VENV)
	@echo "kinode: [2/3] updating pip"
	@$(BIN)/pip install --quiet --upgrade pip
	@echo "kinode: [3/3] installing kinode and its dependencies into $(VENV) (pip lists each one)"
	@{ $(BIN)/pip install --progress-bar off -e '.[test]' 2>&1; echo $$? > $(VENV)/.pip-status; } | \
	  while IFS= read -r line; do case "$$line" in Collecting*|Successfully*|ERROR*) echo "kinode:   $$line";; esac; done; \
	  exit $$(cat $(VENV)/.pip-status)
	@touch $(STAMP)
	@echo "kinode: $(VENV) is ready"

# The browser tests drive Debian's chromium (Playwright's own browser download cannot work
# here). Installed only when missing, and only as root (CI runs .ci/run as root on a fresh machine).
CHROMIUM := /usr/bin/chromium
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	  else echo "the browser tests need $(CHROMIUM): run 'sudo apt-get install -y chromium'" >&2; exit 1; fi; \
	fi

test: $(STAMP) chromium
	$(BIN)/python -m pytest -q

# Regenerates docs/screenshots/ from the browser tests' pages (README shows them).
screenshots: $(STAMP) chromium
	KINODE_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/browser

bench-ui: $(STAMP)
	$(BIN)/python bench/ui_bench.py

bench: $(STAMP)
	$(BIN)/python bench/protocol_bench.py
	$(BIN)/python bench/storage_ingest_bench.py
	$(BIN)/python bench/search_bench.py
	$(BIN)/python bench/sync_bench.py
	$(BIN)/python bench/lifecycle_bench.py
	$(BIN)/python bench/lifecycle_ingest_bench.py
	$(BIN)/python bench/receipts_bench.py

bench-node: $(STAMP)
	$(BIN)/python bench/http_ingest_bench.py
	$(BIN)/python bench/propagation_bench.py
	$(BIN)/python bench/nostr_compare_bench.py
	$(BIN)/python bench/forged_flood_bench.py
	$(BIN)/python bench/stream_fanout_bench.py
	$(BIN)/python bench/held_bodies_bench.py
	$(BIN)/python bench/fetch_bench.py
	$(BIN)/python bench/search_freshness_bench.py

vectors: $(STAMP)
	$(BIN)/python specs/generate_vectors.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info

# `make run DEMO_ARGS=--fresh` replaces the demo data; `kinode demo --help` lists the rest.
run: $(STAMP)
	$(BIN)/kinode demo $(DEMO_ARGS)

install: $(STAMP)
	mkdir -p $(BINDIR)
	ln -sfn $(CURDIR)/$(BIN)/kinode $(BINDIR)/kinode
	@echo "kinode is $(BINDIR)/kinode"
	@case ":$$PATH:" in *":$(BINDIR):"*) echo "run it as: kinode --help" ;; \
	  *) echo "$(BINDIR) is not on your PATH: run it as $(BINDIR)/kinode, or add to your shell profile: export PATH=\"$(BINDIR):\$$PATH\"" ;; esac

uninstall:
	rm -f $(BINDIR)/kinode

docs: $(STAMP)
	$(BIN)/python docs/generate_cli.py
