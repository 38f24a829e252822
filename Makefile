# make            build the release binary
# make install    DESTDIR=... PREFIX=/usr (default): lay out /usr/libexec/podsec/u7s/bin,
#                 the man pages and the shell completions
# make dist       u7s-<version>.tar (DISTDIR=., default) of the committed tree (git archive HEAD)
# make test       the whole test suite (as root for the end-to-end tests)
PREFIX ?= /usr
DESTDIR ?=
DISTDIR ?= .
CARGO ?= cargo
# Where cargo puts the build: its own CARGO_TARGET_DIR when set (rpmbuild
# reuses a build that way), ./target otherwise.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
BINARY := $(TARGET_DIR)/release/u7s
VERSION := $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' Cargo.toml | head -n 1)

.PHONY: all install dist test
all:
	$(CARGO) build --release --locked

# Optional: UNITDIR, USERUNITDIR, MODULESLOADDIR, SYSCONFDIR (see packaging/install.sh).
export UNITDIR USERUNITDIR MODULESLOADDIR SYSCONFDIR

install: all
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" packaging/install.sh "$(BINARY)"
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" packaging/install-docs.sh "$(BINARY)"

# Exactly the committed tree (Cargo.lock included): uncommitted changes are not in it.
dist:
	@git diff --quiet HEAD -- || echo "make dist: uncommitted changes are left out of the tarball" >&2
	git archive --format=tar --prefix=u7s-$(VERSION)/ -o "$(DISTDIR)/u7s-$(VERSION).tar" HEAD

test:
	bash tests/run-all.sh
