# tests/checks.mk: the checks of `make check` besides the test binaries
# (man page lint, the systemd units, brief fuzzing) and `make lint`
# (static analysis). Included by GNUmakefile.

# Tools for these checks, installed by `make deps` when missing; the
# package test needs dpkg-shlibdeps (dpkg-dev) and lintian.
DEB_PKGS += dpkg-dev lintian
# Tools for these checks, installed by `make deps` when missing.
DEB_PKGS += clang libclang-rt-14-dev clang-tidy cppcheck strace mandoc sasl2-bin \
	    systemd sqlite3
# fail2ban-regex and fail2ban-client run the shipped filter and jail.
DEB_PKGS += fail2ban
# The Prometheus parser that test_stats reads acctc stats --openmetrics with.
DEB_PKGS += python3-prometheus-client

# The highest `systemd-analyze security` exposure acctd.service may have.
UNIT_MAX_EXPOSURE = 2.0

.PHONY: check-extra check-man check-units check-mta lint lint-cppcheck lint-tidy \
	lint-dead

# Run first, so the test runner's summary stays the last line of output.
check: check-extra
check-extra: deps
	$(MAKE) check-man check-units fuzz-ci

# mandoc prints nothing for a clean page; any output fails.
check-man:
	@out=$$(mandoc -T lint -W warning man/*.[1-8] 2>&1); \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; \
	echo "man pages: mandoc -T lint clean"

# Exposure score, unit syntax (with ExecStart pointed at the built
# binary), and the sysusers and tmpfiles snippets applied to a scratch root.
check-units: acctd/acctd
	@set -e; t=$$(mktemp -d); trap 'rm -rf "$$t"' EXIT; \
	systemd-analyze security --offline=true --no-pager \
	    systemd/acctd.service >$$t/security 2>&1 || \
	    { cat $$t/security; exit 1; }; \
	score=$$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
	    $$t/security); \
	[ -n "$$score" ] || { cat $$t/security; exit 1; }; \
	if ! awk -v s="$$score" -v m=$(UNIT_MAX_EXPOSURE) \
	    'BEGIN { exit !(s <= m) }'; then \
		grep '✗' $$t/security; \
		echo "acctd.service: exposure $$score, above $(UNIT_MAX_EXPOSURE)"; \
		exit 1; \
	fi; \
	echo "acctd.service: exposure $$score (at most $(UNIT_MAX_EXPOSURE))"; \
	sed 's|/usr/sbin/acctd|$(CURDIR)/acctd/acctd|g' \
	    systemd/acctd.service >$$t/acctd.service; \
	cp systemd/acctd.socket $$t/; \
	systemd-analyze verify --man=no $$t/acctd.service $$t/acctd.socket; \
	for m in systemd/mailer-*.conf; do \
		cat $$t/acctd.service $$m >$$t/m.service; \
		out=$$(systemd-analyze verify --man=no $$t/m.service 2>&1 | \
		    grep -v 'acctd.socket' || true); \
		[ -z "$$out" ] || { echo "$$m: $$out"; exit 1; }; \
		systemd-analyze security --offline=true --no-pager \
		    $$t/m.service | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/'"$${m##*/}"': exposure \1/p'; \
	done; \
	mkdir -p $$t/root/etc; : >$$t/root/etc/group; : >$$t/root/etc/passwd; \
	systemd-sysusers --root=$$t/root - <systemd/acctd.sysusers >/dev/null 2>&1; \
	grep -q '^acctadm:' $$t/root/etc/group; \
	grep -q '^acctauth:' $$t/root/etc/group; \
	systemd-tmpfiles --root=$$t/root --create - <systemd/acctd.tmpfiles; \
	[ "$$(stat -c %a $$t/root/var/lib/acctd)" = 700 ]; \
	echo "units: verify, sysusers and tmpfiles clean"

# `make check-mta`, by hand (it downloads Debian's postfix and exim4
# with apt-get download): whether their sendmail queues a message under
# acctd.service's sandbox (emulated: systemd is not PID 1 here), and
# with the needs tests/mta/sandbox-mta names.
MTA_DIR = $(CURDIR)/build/mta
check-mta:
	@set -e; mkdir -p $(MTA_DIR); cd $(MTA_DIR); \
	ls postfix_*.deb exim4-daemon-light_*.deb >/dev/null 2>&1 || \
	    apt-get download postfix exim4-daemon-light; \
	for m in postfix exim4; do \
		rm -rf root-$$m; dpkg-deb -x $$m*_*.deb root-$$m; \
	done
	@set -e; for m in postfix exim4; do for c in plain sandbox fixed; do \
		out=$$(tests/mta/sandbox-mta $(MTA_DIR) $$m $$c | tail -n 1); \
		echo "$$out"; \
		case "$$c:$$out" in sandbox:*NOT*|plain:*": queued"*| \
		    fixed:*": queued"*) ;; *) exit 1 ;; esac; \
	done; done

# Static analysis of the daemon, the client and the shared code.
LINT_DIRS = acctd acctc proto common
LINT_SRC  = $(wildcard $(addsuffix /*.c,$(LINT_DIRS)))

lint: lint-cppcheck lint-tidy lint-dead

# A global function no other object calls is dead or should be static;
# it reads the objects of the programs and the tests, so builds them.
lint-dead: all $(TESTS)
	@tests/dead-functions build

lint-cppcheck:
	cppcheck --quiet --error-exitcode=1 --std=c11 \
	    --enable=warning,portability,performance \
	    --inline-suppr --suppressions-list=tests/cppcheck.supp \
	    -D_GNU_SOURCE -DACCT_VERSION='"$(VERSION)"' \
	    -I proto -I common -I acctd $(LINT_SRC)

lint-tidy:
	@t=$$(mktemp); \
	clang-tidy --quiet $(LINT_SRC) -- -std=gnu11 -D_GNU_SOURCE \
	    -DACCT_VERSION='"$(VERSION)"' $(PKG_CFLAGS) >$$t 2>&1; rc=$$?; \
	grep -v 'warnings* generated\.$$' $$t; rm -f $$t; \
	[ $$rc = 0 ] && echo "clang-tidy: clean"; exit $$rc
