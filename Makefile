# Atrium: `make demo` runs the whole system, `make test` runs every test. Both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint typecheck schema bench-fleet bench-qr clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Atrium needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## Run the hub, the embedded broker, the API on 127.0.0.1:8000 and the simulated sample building.
demo: $(STAMP)
	$(BIN)/atrium demo $(DEMO_ARGS)

## Lint, type-check and run the whole test suite (slow and fault-injection tests included).
test: $(STAMP) lint typecheck
	$(BIN)/pytest -q

## Only the quick tests.
test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow and not faults"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## Write the device contract's JSON Schema for firmware authors to ./schema.
schema: $(STAMP)
	$(BIN)/atrium devices schema --out schema

## How many simulated devices one firmware-sim process carries (500, 2,000, 5,000); needs mosquitto.
bench-fleet: $(STAMP)
	$(BIN)/python bench/fleet_scale.py

## The kiosk's QR decoder beside zxing-cpp and OpenCV alone, on generated 720p frames.
bench-qr: $(STAMP)
	$(BIN)/python bench/qr_decode.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
