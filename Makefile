# Two commands for a newcomer: `make demo` and `make test` (`make test-fast` skips the slow tests). Both set up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-fast lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt src/cadenza/studio/static/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	$(BIN)/pip install -q --no-deps -c constraints.txt tinysoundfont
	@# the studio: its browser libraries from npm (served locally), and the browser its test drives
	command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null) || true
	scripts/studio_vendor.sh || echo "warning: npm failed, so the studio has no notation or API docs page; run scripts/studio_vendor.sh"
	command -v chromedriver >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) \
		|| echo "warning: could not install chromium and chromium-driver; the studio's browser test will be skipped"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/cadenza generate --model chorales --bars 16 --key "D major" --tempo 72 --seed 7 --out out/chorale --force
	@echo "Listen to out/chorale.wav, look at out/chorale.png, open out/chorale.musicxml in MuseScore."

test: lint $(STAMP)
	$(BIN)/python -m pytest

# ruff (lint and format) and mypy: part of `make test`, and of CI through it.
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

# Everything but the tests marked slow (real training runs, several CLI subprocesses): the edit-test loop.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

clean:
	rm -rf $(VENV) out .pytest_cache
