# sigsync: `make test` and `make demo` work on a fresh Debian 12 machine.

PYTHON ?= python3
VENV   := .venv
DEB_PACKAGES := postgresql-15 postgresql-15-pgtap postgresql-15-cron postgresql-15-plpgsql-check pgtap chromium chromium-driver
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
PYTEST_FLAGS ?= -q -ra --durations=5

.PHONY: deps venv test demo clean

## deps: install the Debian packages that are missing (PostgreSQL 15, pgTAP, pg_cron, plpgsql_check; Chromium and
## its driver for the dashboard's browser tests)
deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ "$$($(PYTHON) -c 'import sys; print(sys.base_prefix)')" = /usr ] && ! dpkg -s python3-venv >/dev/null 2>&1; then \
		missing="$$missing python3-venv"; fi; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

## venv: .venv with sigsync installed editable, with its test extras
venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

test: deps venv
	$(VENV)/bin/pytest $(PYTEST_FLAGS)

# the story, then the demo data stays up in the dashboard (http://127.0.0.1:8080/) until Ctrl-C
demo: deps venv
	$(VENV)/bin/sigsync demo --serve

clean:
	rm -rf $(VENV) build dist .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
