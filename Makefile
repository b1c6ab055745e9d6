# vistack: `make run` starts the cloud, `make test` runs every test. Both set up what they need.
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= .vistack
BIND ?= 127.0.0.1:5000
PYTEST_ARGS ?=

.PHONY: setup run test lint bench tempest test-services vcsim clean

setup:
	@bash tools/bootstrap.sh

# The embedded vCenter: govmomi's simulator behind our launcher, built from Debian packages
# once into ~/.cache/vistack/vcsim (installs golang-go and the govmomi sources if missing).
vcsim:
	@bash tools/vcsim/build.sh >/dev/null

run: setup vcsim
	$(BIN)/vistack up --data-dir $(DATA_DIR) --bind $(BIND)

test-services:
	@bash tools/test-services.sh

# Three workers on two cores: the suite waits on vcsim, databases and subprocesses about 40 %
# of its time with two, so a third keeps both cores busy.
test: setup test-services vcsim
	$(BIN)/pytest -q -p no:cacheprovider -n 3 $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check vistack tests bench tools
	$(BIN)/ruff format --check vistack tests bench tools
	$(BIN)/mypy vistack tests bench tools

bench: setup vcsim
	$(BIN)/python bench/identity.py
	$(BIN)/python bench/vsphere.py
	$(BIN)/python bench/image.py
	$(BIN)/python bench/network.py
	$(BIN)/python bench/compute.py
	$(BIN)/python bench/volume.py

tempest: setup
	$(BIN)/python tools/tempest/run_tempest.py

clean:
	rm -rf $(VENV) .tempest-venv .tempest-work .mypy_cache .ruff_cache build *.egg-info
