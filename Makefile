# vistack: `make run` starts the cloud, `make test` runs every test. Both set up what they need.
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= .vistack
BIND ?= 127.0.0.1:5000
PYTEST_ARGS ?=

.PHONY: setup run test lint bench tempest test-services clean

setup:
	@bash tools/bootstrap.sh

run: setup
	$(BIN)/vistack up --data-dir $(DATA_DIR) --bind $(BIND)

test-services:
	@bash tools/test-services.sh

test: setup test-services
	$(BIN)/pytest -q -p no:cacheprovider -n 2 $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check vistack tests bench tools
	$(BIN)/ruff format --check vistack tests bench tools
	$(BIN)/mypy vistack tests bench tools

bench: setup
	$(BIN)/python bench/identity.py

tempest: setup
	$(BIN)/python tools/tempest/run_tempest.py

clean:
	rm -rf $(VENV) .tempest-venv .tempest-work .mypy_cache .ruff_cache build *.egg-info
