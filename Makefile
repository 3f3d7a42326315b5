# Two commands on a fresh machine: `make demo` and `make test`. Everything else is a detail.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
MO := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))
FLASK := $(VENV)/bin/flask --app wsgi

.PHONY: install demo test lint bench translations extract serve clean

install: $(STAMP) $(MO)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

# compiled catalogs are build products (not committed)
translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(VENV)/bin/pybabel -q compile -d translations -l $* -i $< -o $@

translations: $(MO)

## extract: refresh the catalog template and merge it into both catalogs (then translate the new entries)
extract: $(STAMP)
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot --no-location --sort-output .
	$(VENV)/bin/pybabel -q update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

demo: install
	$(FLASK) hardship demo
	@echo "Serving the demo province on http://127.0.0.1:5000 (Ctrl-C to stop)"
	$(FLASK) run --host 127.0.0.1 --port 5000

serve: install
	$(VENV)/bin/gunicorn -w 2 -b 127.0.0.1:8000 wsgi:app

## test: every test, in $(TEST_WORKERS) pytest-xdist workers (each on a database of its own; see tests/conftest.py)
TEST_WORKERS ?= 2
test: install
	@tools/ensure-chromium.sh
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

## bench: the performance figures of SPEC 10 that exist so far (small profile; PROFILE=full for full scale),
## printed and written as JSON to $(BENCH_OUT) (default instance/bench.json); needs PostgreSQL for the ledger
bench: install
	$(PY) tools/bench.py --profile $(or $(PROFILE),small) $(if $(BENCH_OUT),--out $(BENCH_OUT))

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) instance .pytest_cache translations/*/LC_MESSAGES/*.mo
