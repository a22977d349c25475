# Two entry points: `make run` (parity run of the default suite, reports in reports/) and
# `make test` (the test suite). Each creates .venv from scratch when it is missing.
PYTHON ?= python3
VENV ?= .venv
# `make run` installs what the default run uses; `make test` adds the test tools and the extra
# runners the tests check (ONNX Runtime, Paddle: the test extra).
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[frameworks]'
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(VENV)/bin/pip install --quiet -e '.[frameworks,test]'
	touch $(TEST_STAMP)

.PHONY: run test test-fast lint browser
run: $(STAMP)
	$(VENV)/bin/parity run

# tests/test_html_browser.py renders the HTML report in headless Chromium (Debian package).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# pytest exits 5 when it collects no test; that is not a failure of the project.  Two pytest-xdist
# workers: most tests wait on framework worker processes, so two keep both cores busy.
test: $(TEST_STAMP) browser lint
	$(VENV)/bin/pytest -n 2; rc=$$?; if [ $$rc -eq 5 ]; then rc=0; fi; exit $$rc

# ruff (pyflakes, pycodestyle, bugbear) and mypy (strict, the whole package): pyproject.toml configures both.
lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check parity tests
	$(VENV)/bin/mypy

test-fast: $(TEST_STAMP)
	$(VENV)/bin/pytest -n 2 -m "not slow"
