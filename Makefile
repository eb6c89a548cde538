# hubsync — two commands do everything:
#   make demo   set up, build, start a private PostgreSQL 15 + the Salesforce emulator, run the brief's sync
#   make test   the whole test suite (core, emulator, in-database tests, end-to-end, conformance)

PG_CONFIG    ?= /usr/lib/postgresql/15/bin/pg_config
PGRX_PGDATA  ?= /tmp/hubsync-pgrx-pgdata
SUDO_FLAG    := $(shell [ "$$(id -u)" -eq 0 ] || echo --sudo)
export PATH  := $(HOME)/.cargo/bin:$(PATH)

.PHONY: setup install demo test test-core test-pgrx test-e2e test-conformance test-browser bench lint

setup:
	scripts/setup.sh

# Builds the extension and installs it into the server's directories (with the install scripts
# of earlier versions, for upgrades), plus the emulator binary.
install: setup
	cargo pgrx install $(SUDO_FLAG) --pg-config $(PG_CONFIG)
	scripts/install-sql.sh $(PG_CONFIG)
	cargo build -p hubsync-emulator

demo: install
	scripts/demo.sh

test: setup test-core test-pgrx test-e2e test-conformance test-browser

test-core:
	cargo test -p hubsync-core -p hubsync-emulator

test-pgrx:
	cargo pgrx test pg15 --runas postgres --pgdata $(PGRX_PGDATA)

test-e2e: install
	cargo test -p hubsync-e2e

test-conformance:
	emulator/conformance/run.sh
	emulator/conformance/zendesk.sh
	emulator/conformance/netsuite.sh

# The dashboard in Debian's chromium, driven by Selenium from a virtualenv.
test-browser: install
	scripts/dashboard-browser.sh

bench: setup
	bench/run.sh

lint:
	cargo fmt --all -- --check
	cargo clippy -p hubsync-core -p hubsync-emulator -p hubsync-e2e -p hubsync-bench --all-targets -- -D warnings
	cargo clippy -p hubsync --all-targets -- -D warnings
