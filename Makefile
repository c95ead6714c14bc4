# Two commands for a newcomer: `make run` and `make test`. Both install first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test test-slow test-browser screenshots lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project with its dev extras

run: install  ## start web, worker, beat (and the private Redis and WeChat sandbox when needed)
	$(BIN)/veteranbot run

test: install lint  ## ruff, then the test suite (quick: the slow suites are left to test-slow; browser tests run when Chromium is installed)
	$(BIN)/pytest -m "not slow"

test-slow: install  ## the slow suites: faults, gunicorn, killed runs, veteranbot run (.ci/run runs them)
	$(BIN)/pytest -m slow

test-browser: install  ## only the console's browser tests (headless Debian chromium; make test runs them too)
	$(BIN)/pytest -m browser

screenshots: install  ## retake the console's phone screenshots in docs/console/ (the README's)
	CONSOLE_SCREENSHOTS=docs/console $(BIN)/pytest -m browser -q

lint: install  ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install  ## rewrite files the way ruff wants them
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install  ## the benchmarks (webhook vs WeRoBot, site vs Pelican, greetings vs a serial loop)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/webhook.py
	$(BIN)/python bench/site.py
	$(BIN)/python bench/greetings.py
	$(BIN)/python bench/console.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
