# Atrium: `make demo` runs the whole system, `make test` runs every test. Both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint typecheck schema fuzz fuzz-api bench bench-quick bench-profile bench-fleet bench-faults bench-qr clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Atrium needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## Run the hub, the embedded broker, the API on 127.0.0.1:8000 and the simulated sample building.
demo: $(STAMP)
	$(BIN)/atrium demo $(DEMO_ARGS)

## Lint, type-check and run the whole test suite (slow and fault-injection tests included), on
## PYTEST_WORKERS processes (default 2: most tests wait on brokers and databases, not the CPU).
PYTEST_WORKERS ?= 2
test: $(STAMP) lint typecheck
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --durations=15

## Only the quick tests.
test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow and not faults"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## Fuzz a running hub with 100,000 generated MQTT payloads (CI runs 3,000 in make test); FUZZ_SEED repeats a run.
fuzz: $(STAMP)
	FUZZ_MESSAGES=$${FUZZ_MESSAGES:-100000} $(BIN)/pytest -q -p no:logging tests/hub/test_fuzz_ingest.py -k generated

## schemathesis against the API's OpenAPI document: boundary values and 50 generated requests per route (CI: 3).
fuzz-api: $(STAMP)
	SCHEMATHESIS_FULL=1 SCHEMATHESIS_EXAMPLES=$${SCHEMATHESIS_EXAMPLES:-50} $(BIN)/pytest -q -p no:logging tests/hub/api/test_openapi_fuzz.py

## Write the device contract's JSON Schema for firmware authors to ./schema.
schema: $(STAMP)
	$(BIN)/atrium devices schema --out schema

## The benchmark suite (ingest, fault to ticket, booking to display, panel API, QR): one table, bench/results/.
## BENCH_ARGS="--only ingest --databases sqlite" narrows it; needs mosquitto, PostgreSQL on 127.0.0.1:5432 if any.
bench: $(STAMP)
	$(BIN)/python bench/suite.py $(BENCH_ARGS)

## Every benchmark with short windows and small fleets, in 1-2 minutes.
bench-quick: $(STAMP)
	$(BIN)/python bench/suite.py --quick $(BENCH_ARGS)

## Where the hub spends its time under 5,000 devices (py-spy); writes bench/results/hub_profile.*.
bench-profile: $(STAMP)
	$(BIN)/python bench/profile_hub.py $(BENCH_ARGS)

## How many simulated devices one firmware-sim process carries (500, 2,000, 5,000); needs mosquitto.
bench-fleet: $(STAMP)
	$(BIN)/python bench/fleet_scale.py

## Nothing lost under faults at full size: 10,000 messages from 500 devices while the broker restarts 20 times,
## is SIGKILLed 20 times, the hub is SIGKILLed, the database is away 30 s, devices are offline 10 min; writes
## bench/results/faults.json. FAULTS_ARGS="--quick" runs the CI sizes; needs mosquitto (and PostgreSQL for its row).
bench-faults: $(STAMP)
	$(BIN)/python bench/faults.py $(FAULTS_ARGS)

## The kiosk's QR decoder beside zxing-cpp and OpenCV alone, on generated 720p frames.
bench-qr: $(STAMP)
	$(BIN)/python bench/qr_decode.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
