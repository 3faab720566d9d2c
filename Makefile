# mailgov - outbound mail governor for shared web hosting
#
# Build with the same PREFIX you install with: the rules directory is
# compiled in (mailgov.conf's rules_dir overrides it).
#
# Plain make, pkg-config, one module per src/PART/NAME.c (see PARTS below).

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
BINDIR	?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/mailgov
SHAREDIR ?= $(PREFIX)/share/mailgov
DOCDIR	?= $(PREFIX)/share/doc/mailgov
SYSCONFDIR ?= /etc
MANDIR	?= $(PREFIX)/share/man
# systemd reads units, sysusers.d and tmpfiles.d under /usr/local/lib as
# well as /usr/lib; the Debian package sets UNITDIR to /lib/systemd/system.
UNITDIR	?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
DESTDIR	?=

CC	?= cc
PKGS	= libnetfilter_queue libmnl sqlite3 libcap-ng hiredis
CFLAGS	?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	   -Wstrict-prototypes -Wmissing-prototypes -fno-common \
	   -D_FORTIFY_SOURCE=2 -fstack-protector-strong $(INCS) \
	   -DSHAREDIR='"$(SHAREDIR)"' -DSYSCONFDIR='"$(SYSCONFDIR)"' \
	   $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS	+= $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread

BUILD	?= build
# One folder per part, lowest first (docs/architecture.md): a module uses
# its own folder and the ones before it, never one after.  include/
# mirrors src/.  Each program is its folder's main.c; the ctl folder
# belongs to mailgovctl alone, the others make the library.
PARTS	= lib ledger kernel cluster queue mailgovd sendmail ctl
INCS	= $(addprefix -Iinclude/,$(PARTS))
HDRS	= $(foreach p,$(PARTS),$(wildcard include/$(p)/*.h))
MAINS	= src/mailgovd/main.c src/ctl/main.c src/sendmail/main.c
CTL_SRCS = $(filter-out $(MAINS),$(wildcard src/ctl/*.c))
LIB_SRCS = $(filter-out $(MAINS) $(CTL_SRCS),\
	   $(foreach p,$(PARTS),$(wildcard src/$(p)/*.c)))
LIB_OBJS = $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
CTL_OBJS = $(CTL_SRCS:src/%.c=$(BUILD)/obj/%.o)
LIB	= $(BUILD)/libmailgov.a

PROGS	= $(BUILD)/mailgovd $(BUILD)/mailgovctl $(BUILD)/mailgov-sendmail
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNITS	= $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps check check-package unit demo bench install uninstall clean asan fuzz

all: $(PROGS)

$(BUILD)/obj/%.o: src/%.c $(HDRS) | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD):
	mkdir -p $(BUILD)/tests

$(LIB): $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/mailgovd: $(BUILD)/obj/mailgovd/main.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/mailgovctl: $(BUILD)/obj/ctl/main.o $(CTL_OBJS) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/mailgov-sendmail: $(BUILD)/obj/sendmail/main.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/t.h $(LIB) | $(BUILD)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

unit: $(UNITS)

# Installs every Debian package that building, testing and the demo need.
deps:
	sh tests/deps.sh

check: deps
	$(MAKE) all unit
	sh tests/run.sh

# The Debian package on a clean system: dpkg-buildpackage, lintian, then
# dpkg -i into a fresh Debian 12 root made by mmdebstrap from the
# archive.  About 2 minutes and network access: not part of make check.
check-package:
	sh tests/deps.sh package
	sh tests/run.sh tests/package/test_package.sh

demo: deps
	$(MAKE) all
	sh examples/demo.sh

# Ratios taken side by side in one run: the policy server against postfwd
# and a trivial server, the kernel path against no rules, and scale.
bench: deps
	$(MAKE) all
	sh bench/run.sh
	sh bench/kernel.sh
	sh bench/scale.sh

# Sanitizer build: the unit and CLI tests against ASan+UBSan binaries.  A
# sanitizer report stops the program with status 86 (not 1, which a test
# may expect), so every test sees it as a failure.
asan:
	$(MAKE) BUILD=build-asan CC=clang \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
	    LDFLAGS="-fsanitize=address,undefined" all unit
	MAILGOV_BUILD=build-asan ASAN_OPTIONS=exitcode=86 \
	    UBSAN_OPTIONS=halt_on_error=1:exitcode=86:print_stacktrace=1 \
	    sh tests/run.sh unit cli

# libFuzzer targets under tests/fuzz, built with clang.
FUZZ_SRCS = $(wildcard tests/fuzz/fuzz_*.c)
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang \
	    CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" all
	for f in $(FUZZ_SRCS); do \
	    n=$$(basename $$f .c); \
	    clang -O1 -g -fsanitize=fuzzer,address,undefined $(INCS) \
	        $$(pkg-config --cflags $(PKGS)) -o build-fuzz/$$n $$f \
	        build-fuzz/libmailgov.a $$(pkg-config --libs $(PKGS)) -lpthread \
	        || exit 1; \
	done

MANPAGES = man/mailgov-sendmail.1 man/mailgov.conf.5 man/mailgov.7 \
	   man/mailgovctl.8 man/mailgovd.8
UNITS_IN = $(wildcard systemd/*.in)

# The units name the programs where this install puts them.  Nothing is
# enabled or started here: that is the admin's (or the package's) step.
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(SHAREDIR)/rules $(DESTDIR)$(SYSCONFDIR)/mailgov \
	    $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BUILD)/mailgovd $(DESTDIR)$(SBINDIR)/mailgovd
	install -m 0755 $(BUILD)/mailgovctl $(DESTDIR)$(SBINDIR)/mailgovctl
	install -m 0755 $(BUILD)/mailgov-sendmail $(DESTDIR)$(BINDIR)/mailgov-sendmail
	install -m 0644 rules/* $(DESTDIR)$(SHAREDIR)/rules/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	for m in $(MANPAGES); do \
	    install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/ || exit 1; \
	done
	for u in $(UNITS_IN); do \
	    sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
	        $$u > $(DESTDIR)$(UNITDIR)/$$(basename $$u .in) || exit 1; \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$u .in); \
	done
	install -m 0644 systemd/mailgov.sysusers $(DESTDIR)$(SYSUSERSDIR)/mailgov.conf
	install -m 0644 systemd/mailgov.tmpfiles $(DESTDIR)$(TMPFILESDIR)/mailgov.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/mailgov/mailgov.conf || \
	    sed 's|/usr/local/share/mailgov|$(SHAREDIR)|' examples/mailgov.conf \
	        > $(DESTDIR)$(SYSCONFDIR)/mailgov/mailgov.conf

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/mailgovd $(DESTDIR)$(SBINDIR)/mailgovctl \
	    $(DESTDIR)$(BINDIR)/mailgov-sendmail
	rm -rf $(DESTDIR)$(SHAREDIR) $(DESTDIR)$(DOCDIR)
	for m in $(MANPAGES); do \
	    rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$$(basename $$m); \
	done
	for u in $(UNITS_IN); do \
	    rm -f $(DESTDIR)$(UNITDIR)/$$(basename $$u .in); \
	done
	rm -f $(DESTDIR)$(SYSUSERSDIR)/mailgov.conf \
	    $(DESTDIR)$(TMPFILESDIR)/mailgov.conf

clean:
	rm -rf build build-asan build-fuzz
