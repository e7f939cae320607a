# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := datasets/omnichannel
DEMO := demo-out

.PHONY: install demo test test-fast check fmt typecheck clean bench

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/journeyminer ingest $(SAMPLE)/web.csv=web $(SAMPLE)/call_center.csv=call_center \
		$(SAMPLE)/crm.csv=crm --identities $(SAMPLE)/identities.csv \
		--customers $(SAMPLE)/customers.csv \
		--timezone Europe/Amsterdam --out $(DEMO)/log.parquet
	$(BIN)/journeyminer mine $(DEMO)/log.parquet --out $(DEMO)/discovery
	$(BIN)/journeyminer compare $(DEMO)/log.parquet --map $(SAMPLE)/map.toml \
		--segment region --out $(DEMO)/compare
	@echo "Outputs are in $(DEMO)/: compare/compare.json (the comparison), compare/overlay.svg (the journey map), discovery/discovery.json (the process)."
	@echo "Open next: the page, with $(BIN)/journeyminer keys create --tenant demo, then $(BIN)/journeyminer serve and http://127.0.0.1:8000/ (Try the sample); or $(DEMO)/compare/overlay.svg; or $(DEMO)/compare/compare.json."

test: install check
	$(BIN)/pytest

# The edit-test loop: the suite without browser, crash, packaging, fuzz and slow tests, and
# fewer hypothesis examples (HYPOTHESIS_PROFILE=dev). `make test` still runs everything.
FAST := not slow and not browser and not crash and not packaging and not fuzz
test-fast: install
	HYPOTHESIS_PROFILE=dev $(BIN)/pytest -q -m "$(FAST)"

check: install typecheck
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy cannot follow setuptools' editable finder for our package-dir mapping, so it
# checks a tree of symlinks laid out the way the package installs.
typecheck: install
	@rm -rf .typecheck && mkdir -p .typecheck/journeyminer
	@for f in journeyminer/*.py; do ln -s "$$PWD/$$f" .typecheck/$$f; done
	@for d in miner kernels api; do ln -s "$$PWD/$$d" .typecheck/journeyminer/$$d; done
	cd .typecheck && ../$(BIN)/mypy -p journeyminer --config-file ../pyproject.toml

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python benchmarks/bench_ingest.py

clean:
	rm -rf $(VENV) .typecheck .mypy_cache .pytest_cache .ruff_cache $(DEMO)
