# Two commands do all the set-up on a fresh machine:
#   make demo   - create .venv, install audiolrp, run the main job
#   make test   - create .venv, install audiolrp[dev], run ruff, mypy and the whole test suite
#   make test-fast - the same without the tests marked slow (no speech corpus download)
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install corpus demo test test-fast test-cards lint bench replication clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps lxt==2.1  # the 'attn' extra, without its deps
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/audiolrp demo

# Real recorded speech for the shipped models' card tests (~90 s, apt-get download; cached in
# ~/.cache/audiolrp). Without it those tests skip locally; CI (CI=1) makes them fail instead.
corpus: install
	-$(BIN)/audiolrp corpus debian > /dev/null

test: install corpus
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -q

# Everything but the tests marked slow (each over 10 s: end to end, card re-simulation, browser).
test-fast: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -q -m "not slow"

# Every shipped card re-evaluated in full, extra test sets included (21 sets, ~1 min each).
test-cards: install corpus
	AUDIOLRP_FULL_CARDS=1 $(BIN)/python -m pytest -q tests/test_shipped_models.py

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m mypy

bench: install
	$(BIN)/python benchmarks/run_all.py

# The paper replication on every shipped model at the default sizes (~30 min on 2 shared cores),
# then docs/replication.md's tables from its results.json: rerun whenever models ship.
replication: install
	nice -n 19 $(BIN)/audiolrp analyze replicate --out docs/replication
	$(BIN)/python -m audiolrp.app.replication docs/replication/results.json docs/replication.md

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
