# Two commands for a newcomer: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install run test bench check clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

install: $(VENV)/.installed

## The bot with its embedded defaults (SQLite, in-process Redis stand-in, web + worker), the simulator.
run: install
	$(VENV)/bin/flask --app app serve-local

## The test-suite (real PostgreSQL and Redis where the machine runs them).
test: install
	$(PY) -m pytest

## Knowledge files and routing evaluation.
check: install
	$(VENV)/bin/flask --app app knowledge check
	$(VENV)/bin/flask --app app nlu-eval ../shared/eval/dev-utterances.jsonl

## Webhook benchmarks; results go to docs/performance.md.
bench: install
	$(PY) bench/webhook_bench.py --duration 10 --out docs/performance.md
	$(PY) bench/routing_bench.py --out docs/performance.md

clean:
	rm -rf $(VENV) instance .pytest_cache
