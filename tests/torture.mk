# tests/torture.mk: `make torture`, the long runs of the crash and fault
# loops, never part of `make check` (which runs them short): acctd
# killed 500 times during a mixed write load (test_durability), and
# every write, pwrite, fsync, fdatasync and allocation of a fixed script
# failed in turn (test_faults). Included by GNUmakefile. SAN=1 runs them
# on the sanitized build; TORTURE_KILLS changes the number of kills.

TORTURE_KILLS	?= 500
TORTURE_TESTS	 = $(B)/tests/test_durability $(B)/tests/test_faults

.PHONY: torture torture-run
torture: deps
	$(MAKE) torture-run

# A loop takes minutes: run-tests' limit per binary is raised to an hour.
torture-run: $(B)/bin/acctd $(B)/bin/acctc $(TORTURE_TESTS) $(FAULT_SHIM)
	@ACCTD_BIN=$(abspath $(B)/bin/acctd) ACCTC_BIN=$(abspath $(B)/bin/acctc) \
	    ACCT_BUILD=$(abspath $(B)) ACCT_FAULT_SHIM=$(abspath $(FAULT_SHIM)) \
	    ACCT_KILLS=$(TORTURE_KILLS) ACCT_FAULTS=full \
	    ACCT_TEST_TIMEOUT=3600 tests/run-tests $(TORTURE_TESTS)
