# make            build the release binary
# make install    DESTDIR=... PREFIX=/usr (default): lay out /usr/libexec/podsec/u7s/bin,
#                 the man pages and the shell completions
# make dist       into DISTDIR (default .): u7s-<version>.tar of the committed tree
#                 (git archive HEAD) and u7s-<version>-vendor.tar, the crates of its
#                 Cargo.lock (cargo vendor) with the .cargo/config.toml that points
#                 cargo at them: the spec's Source and Source1, for an offline build
# make gear-vendor  the same crates into .gear/vendor, staged for a commit on the
#                 packaging branch that gear builds from (see .gear/rules)
# make test       the whole test suite (as root for the end-to-end tests)
PREFIX ?= /usr
DESTDIR ?=
DISTDIR ?= .
CARGO ?= cargo
# Extra cargo flags for the build: the spec passes --offline.
CARGOFLAGS ?=
# Where cargo puts the build: its own CARGO_TARGET_DIR when set (rpmbuild
# reuses a build that way), ./target otherwise.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
BINARY := $(TARGET_DIR)/release/u7s
VERSION := $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' Cargo.toml | head -n 1)

.PHONY: all install dist gear-vendor test
all:
	$(CARGO) build --release --locked $(CARGOFLAGS)

# Optional: UNITDIR, USERUNITDIR, MODULESLOADDIR, SYSCONFDIR (see packaging/install.sh).
export UNITDIR USERUNITDIR MODULESLOADDIR SYSCONFDIR

install: all
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" packaging/install.sh "$(BINARY)"
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" packaging/install-docs.sh "$(BINARY)"

# Exactly the committed tree (Cargo.lock included): uncommitted changes are not in it.
# The vendor tarball is made from that tree too (its Cargo.lock, its vendor.sh),
# with fixed owners, order and times, so the same commit gives the same bytes.
DISTPATH := $(abspath $(DISTDIR))
dist:
	@git diff --quiet HEAD -- || echo "make dist: uncommitted changes are left out of the tarballs" >&2
	git archive --format=tar --prefix=u7s-$(VERSION)/ -o "$(DISTPATH)/u7s-$(VERSION).tar" HEAD
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	mkdir "$$tmp/src" && git archive HEAD | tar -x -C "$$tmp/src" && \
	CARGO="$(CARGO)" sh "$$tmp/src/packaging/vendor.sh" "$$tmp/out" "$$tmp/src" && \
	tar -C "$$tmp/out" --sort=name --owner=0 --group=0 --numeric-owner \
		--mtime=@$$(git log -1 --format=%ct HEAD) \
		-cf "$(DISTPATH)/u7s-$(VERSION)-vendor.tar" .cargo vendor

# gear builds from a commit, so the crates must be in one: on the packaging
# branch (never on main, which stays free of 150 MB of other people's code).
gear-vendor:
	@[ "$$(git symbolic-ref --short -q HEAD)" != main ] || \
		{ echo "make gear-vendor: commit the crates on a packaging branch, not on main (see README)" >&2; exit 1; }
	CARGO="$(CARGO)" sh packaging/vendor.sh .gear/vendor
	git add -f -A .gear/vendor
	@echo "make gear-vendor: .gear/vendor staged; commit it, then gear-hsh builds the package" >&2

test:
	bash tests/run-all.sh
