# tests/fuzz/fuzz.mk: libFuzzer harnesses (clang), included by GNUmakefile.
# `make fuzz` runs each, and the stateful fuzzer against a live daemon
# (fuzz-state), for FUZZ_SECONDS (default 300); `make fuzz-ci`,
# run by `make check`, replays the seeds and regressions, then fuzzes each
# for FUZZ_CI_SECONDS (default 20). Any crash, leak or timeout fails.

FUZZ_CC		?= clang
FUZZ_SECONDS	?= 300
FUZZ_CI_SECONDS	?= 20
FUZZ_NAMES	 = request frame config
FZ		 = build-fuzz
FUZZ_SAN	 = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS	 = -std=gnu11 -D_GNU_SOURCE -DACCT_VERSION='"$(VERSION)"' \
		   $(WARN) -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
		   -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -MMD -MP
FUZZ_LIB_OBJ	 = $(patsubst %.c,$(FZ)/%.o,$(PROTO_SRC) $(COMMON_SRC) \
		   $(ACCTD_SRC) tests/fuzz/fuzz_common.c)
FUZZ_BINS	 = $(patsubst %,$(FZ)/fuzz_%,$(FUZZ_NAMES))
# Frames up to the request limit plus a header, with room for several.
FUZZ_OPTS	 = -max_len=140000 -timeout=10 -rss_limit_mb=2048 \
		   -print_final_stats=1

.PHONY: fuzz fuzz-ci fuzz-build fuzz-state
fuzz-build: $(FUZZ_BINS)

$(FZ)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FZ)/fuzz_%: $(FZ)/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LIBS)

-include $(shell find $(FZ) -name '*.d' 2>/dev/null)

# fuzz_run NAME SECONDS: new inputs go to $(FZ)/corpus/NAME, seeds and
# regressions (tests/fuzz/corpus/NAME, tests/fuzz/regress/NAME) are read.
define fuzz_run
	@mkdir -p $(FZ)/corpus/$(1) $(FZ)/artifacts
	@echo "==> fuzz_$(1): $(2) s"
	$(FZ)/fuzz_$(1) $(FUZZ_OPTS) -max_total_time=$(2) \
	    -artifact_prefix=$(FZ)/artifacts/$(1)- \
	    $(FZ)/corpus/$(1) tests/fuzz/corpus/$(1) \
	    $(wildcard tests/fuzz/regress/$(1)) \
	    2>$(FZ)/fuzz_$(1).log || { tail -60 $(FZ)/fuzz_$(1).log; exit 1; }
	@grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units' \
	    $(FZ)/fuzz_$(1).log | tail -2
endef

fuzz: deps $(FUZZ_BINS)
	$(call fuzz_run,request,$(FUZZ_SECONDS))
	$(call fuzz_run,frame,$(FUZZ_SECONDS))
	$(call fuzz_run,config,$(FUZZ_SECONDS))
	$(MAKE) fuzz-state

fuzz-ci: deps $(FUZZ_BINS)
	$(call fuzz_run,request,$(FUZZ_CI_SECONDS))
	$(call fuzz_run,frame,$(FUZZ_CI_SECONDS))
	$(call fuzz_run,config,$(FUZZ_CI_SECONDS))

# The stateful fuzzer, tests/test_statefuzz.c: requests from three peers
# against a live, sanitized acctd, invariants checked after each step.
# make check runs it for 2000 steps; make fuzz for FUZZ_SECONDS.
fuzz-state:
	$(MAKE) SAN=1 build-asan/bin/acctd build-asan/bin/acctc \
	    build-asan/tests/test_statefuzz
	@ACCTD_BIN=$(CURDIR)/build-asan/bin/acctd \
	    ACCTC_BIN=$(CURDIR)/build-asan/bin/acctc \
	    ACCT_BUILD=$(CURDIR)/build-asan ACCT_FUZZ_SECONDS=$(FUZZ_SECONDS) \
	    ACCT_TEST_TIMEOUT=$$(($(FUZZ_SECONDS) + 300)) \
	    tests/run-tests build-asan/tests/test_statefuzz
