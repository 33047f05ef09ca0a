# The two commands of the README: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The demo needs the package only; the tests add their toolchain (mypy, ruff, jsonnet...).
DEMO_STAMP := $(VENV)/.demo-stamp
STAMP      := $(VENV)/.installed-stamp

.PHONY: demo test lint unit bench soak test-tools clean mixin

demo: $(DEMO_STAMP)
	$(BIN)/trunk-capacity-exporter --demo --web.listen-address=localhost:10042

test: $(STAMP) test-tools lint unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest

# Regenerate the rule files, the PrometheusRule and the dashboards from deploy/mixin.
mixin: $(STAMP)
	$(BIN)/python scripts/generate_mixin.py

bench: $(STAMP)
	$(BIN)/python -m tests.bench.run

soak: $(STAMP)
	SOAK_SECONDS=60 $(BIN)/pytest -q tests/test_soak.py

# A virtual environment in the checkout. Debian's python3 needs python3-venv for this;
# install it when we are root and it is missing.
$(BIN)/python:
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv; \
	  else echo "python3-venv is missing: run 'sudo apt-get install python3-venv'" >&2; exit 1; fi; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# promtool and prometheus (Debian's `prometheus` package), amtool (`prometheus-alertmanager`),
# systemd-analyze, chromium (the status page's browser test), and podman, buildah and
# mmdebstrap (tests/test_image.py builds and runs the image) are used by the suite; install
# them when missing and permitted. Tests that still lack them say so when skipped.
test-tools:
	@missing=""; \
	command -v promtool >/dev/null && command -v prometheus >/dev/null || missing="$$missing prometheus"; \
	command -v amtool >/dev/null || missing="$$missing prometheus-alertmanager"; \
	command -v podman >/dev/null || missing="$$missing podman"; \
	command -v buildah >/dev/null || missing="$$missing buildah"; \
	command -v mmdebstrap >/dev/null || missing="$$missing mmdebstrap"; \
	command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "not root: tests needing$$missing will be skipped with a reason" >&2; fi; \
	fi

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
