# tests/bench/bench.mk: `make bench` builds the normal, optimised
# acctd and the bench driver, then prints acctd's figures beside their
# floors. Included by GNUmakefile; never part of `make check`.

BENCH_SRC = $(wildcard tests/bench/*.c)
BENCH_OBJ = $(patsubst %.c,build/%.o,$(BENCH_SRC))
BENCH_LIB = $(patsubst %.c,build/%.o,$(PROTO_SRC) $(COMMON_SRC))
BENCH_BIN = build/bench/acctd-bench

.PHONY: bench
bench: deps-build
	$(MAKE) SAN=0 B=build build/bin/acctd $(BENCH_BIN)
	$(BENCH_BIN) $(CURDIR)/build/bin/acctd

$(BENCH_BIN): $(BENCH_OBJ) $(BENCH_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) \
	    $(shell pkg-config --libs libsodium libargon2 2>/dev/null)
