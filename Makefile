# make            build the release binary
# make install    DESTDIR=... PREFIX=/usr (default): lay out /usr/libexec/podsec/u7s/bin
# make test       the whole test suite (as root for the end-to-end tests)
PREFIX ?= /usr
DESTDIR ?=

.PHONY: all install test
all:
	cargo build --release --locked

install: all
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" packaging/install.sh target/release/u7s

test:
	bash tests/run-all.sh
