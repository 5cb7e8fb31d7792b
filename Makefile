# nginx WebRTC module: build, run, test.
#
#   make          build the dynamic module against Debian's nginx
#   make run      install what is missing, build, run nginx with conf/
#   make test     install test dependencies, build, run the whole suite
#   make fuzz     build the libFuzzer targets (clang)
#   make static   build nginx from full source with the module linked in
#   make asan     the same with AddressSanitizer and UBSan (build/asan/)
#   make deb      a Debian package for the system's nginx (build/deb/)
#   make test-asan   the end-to-end tests against that nginx
#   make soak     hostile UDP to every worker port while a stream plays,
#                 60 s at 100,000 datagrams/s (SOAK_SECONDS, SOAK_RATE):
#                 t/46-hostile-udp.t at full settings (make test: 5 s)

SHELL        := /bin/bash

NGX_DEV_SRC  ?= /usr/share/nginx/src
NGINX        ?= /usr/sbin/nginx
BUILD        := $(CURDIR)/build
NGX_TREE     := $(BUILD)/nginx-src
NGX_OBJS     := $(BUILD)/objs
MODULE_SO    := $(BUILD)/modules/ngx_http_webrtc_module.so

SRCS         := $(wildcard $(CURDIR)/src/*.c) $(wildcard $(CURDIR)/src/*.h)
PARSER_SRCS  := src/ngx_webrtc_sdp.c src/ngx_webrtc_sdp_answer.c \
                src/ngx_webrtc_rtp.c src/ngx_webrtc_rtcp.c src/ngx_webrtc_codec.c \
                src/ngx_webrtc_codec_av1.c src/ngx_webrtc_codec_bits.c \
                src/ngx_webrtc_stun.c src/ngx_webrtc_dcep.c \
                src/ngx_webrtc_tcp_frame.c src/ngx_webrtc_sdp_offer.c \
                src/ngx_webrtc_http_parse.c \
                src/ngx_webrtc_layer.c
UNIT_SRCS    := $(PARSER_SRCS) src/ngx_webrtc_gcm.c \
                src/ngx_webrtc_depack.c src/ngx_webrtc_fmp4.c
RING_SRCS    := src/ngx_webrtc_ring.c
NGX_INCS     := -I$(NGX_TREE)/src/core -I$(NGX_TREE)/src/event \
                -I$(NGX_TREE)/src/event/modules -I$(NGX_TREE)/src/os/unix \
                -I$(NGX_OBJS)

CC           ?= cc
UNIT_CFLAGS  := -std=gnu99 -g -O1 -Wall -Wextra -Wno-unused-parameter -Werror \
                -Isrc -fsanitize=address,undefined -fno-omit-frame-pointer
UNIT_TESTS   := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(wildcard t/unit/*_test.c))
# tools the Perl tests run: t/05-fmp4.t muxes with fmp4_mux
UNIT_TOOLS   := $(BUILD)/unit/fmp4_mux

FUZZ_CC      ?= clang
FUZZ_CFLAGS  := -g -O1 -Isrc \
                -fsanitize=fuzzer,address,undefined
FUZZ_TARGETS := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 20

PROVE        ?= prove
PROVE_FLAGS  ?= -r

.PHONY: all module run deps test-deps test unit fuzz fuzz-smoke static \
        test-static asan test-asan clean deb

all: module

module: $(MODULE_SO)

# Configure a private copy of Debian's nginx tree with the same flags as
# the packaged binary (--with-compat), then build only the modules.
$(NGX_OBJS)/Makefile: config $(NGX_DEV_SRC)/conf_flags
	@test -d $(NGX_DEV_SRC) || { echo "nginx-dev is not installed: run 'make deps'"; exit 1; }
	rm -rf $(NGX_TREE) $(NGX_OBJS)
	mkdir -p $(BUILD)
	cp -a $(NGX_DEV_SRC) $(NGX_TREE)
	cd $(NGX_TREE) && . ./conf_flags && ./configure \
	    --with-cc-opt="$$(dpkg-buildflags --get CFLAGS) -fPIC $$(dpkg-buildflags --get CPPFLAGS)" \
	    --with-ld-opt="$$(dpkg-buildflags --get LDFLAGS) -fPIC" \
	    "$${NGX_CONF_FLAGS[@]}" \
	    --add-dynamic-module=$(CURDIR) --builddir=$(NGX_OBJS) > $(BUILD)/configure.log \
	    || { tail -30 $(BUILD)/configure.log; exit 1; }

$(MODULE_SO): $(NGX_OBJS)/Makefile $(SRCS)
	cd $(NGX_TREE) && $(MAKE) -f $(NGX_OBJS)/Makefile modules
	mkdir -p $(BUILD)/modules
	@# a new file, not overwritten in place: running nginx has it mapped
	cp $(NGX_OBJS)/ngx_http_webrtc_module.so $(MODULE_SO).tmp
	mv -f $(MODULE_SO).tmp $(MODULE_SO)

deps:
	tools/install-deps.sh build

test-deps:
	tools/install-deps.sh test

run: deps
	$(MAKE) module
	tools/run.sh

unit: $(UNIT_TESTS) $(UNIT_TOOLS)

$(BUILD)/unit/%: t/unit/%.c $(UNIT_SRCS) $(wildcard src/ngx_webrtc_*.h t/unit/*.h)
	@mkdir -p $(BUILD)/unit
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(UNIT_SRCS) -lnice -lsrtp2 -lcrypto

# ring.c needs nginx's headers: those of the tree configured for the module
$(BUILD)/unit/ring_test: t/unit/ring_test.c $(RING_SRCS) $(NGX_OBJS)/Makefile \
                         $(wildcard src/ngx_webrtc*.h t/unit/*.h)
	@mkdir -p $(BUILD)/unit
	$(CC) $(UNIT_CFLAGS) $(NGX_INCS) -o $@ $< $(RING_SRCS)

fuzz: test-deps
	$(MAKE) $(FUZZ_TARGETS)

$(BUILD)/fuzz/%: fuzz/%.c $(UNIT_SRCS) $(wildcard src/ngx_webrtc_*.h)
	@mkdir -p $(BUILD)/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(UNIT_SRCS) -lnice -lcrypto

# ring.c, as in its unit test, against the configured nginx tree
$(BUILD)/fuzz/fuzz_mring: fuzz/fuzz_mring.c fuzz/slab_malloc.c $(RING_SRCS) \
                          $(NGX_OBJS)/Makefile $(wildcard src/ngx_webrtc*.h)
	@mkdir -p $(BUILD)/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(NGX_INCS) -o $@ $< fuzz/slab_malloc.c \
	    $(RING_SRCS)

# a short run of every target from the seeds in fuzz/corpus/<target>/
fuzz-smoke: fuzz
	tools/fuzz-smoke.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

test: test-deps
	$(MAKE) module unit bench-tools
	tools/netns.sh $(PROVE) $(PROVE_FLAGS) t/

# libnginx-mod-http-webrtc_<version>_<arch>.deb, as Debian packages its
# nginx modules (tools/deb.sh, tools/deb/)
deb: deps
	$(MAKE) module
	tools/deb.sh $(MODULE_SO) $(BUILD)/deb

# nginx from Debian's full source with the module linked statically
static:
	tools/static-build.sh

test-static: static
	@if [ -x $(BUILD)/static/nginx ]; then \
	    WEBRTC_NGINX=$(BUILD)/static/nginx WEBRTC_STATIC=1 tools/netns.sh \
	        $(PROVE) t/10-http.t; \
	else \
	    echo "SKIPPED: no static nginx (source download failed)"; \
	fi

# nginx with the module under AddressSanitizer and UBSan, and the
# end-to-end tests against it. The harness adds log_path (one report file
# per process in the test's sanitizer/ directory) and fails a test file
# on any report. ASan stops a process at its first error; UBSan goes on.
# LeakSanitizer runs when a master or worker exits: nginx frees its cycle
# pool then, and what is still reachable is not reported.
# t/00-harness.t (plain nginx, dynamic module) and t/01-unit.t (already
# under ASan) are not run.
ASAN_TESTS   ?= $(filter-out t/00-% t/01-%,$(wildcard t/*.t))
ASAN_ENV     := ASAN_OPTIONS=detect_leaks=1 \
                UBSAN_OPTIONS=halt_on_error=0:print_stacktrace=1 \
                ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer

asan:
	tools/static-build.sh asan

test-asan: test-deps
	$(MAKE) asan bench-tools
	@if [ -x $(BUILD)/asan/nginx ]; then \
	    $(ASAN_ENV) WEBRTC_NGINX=$(BUILD)/asan/nginx WEBRTC_STATIC=1 \
	        tools/netns.sh $(PROVE) $(ASAN_TESTS); \
	else \
	    echo "SKIPPED: no ASan nginx (source download failed)"; \
	fi

clean:
	rm -rf $(BUILD)

# Benchmark (bench/): the WHEP load client and the floor microbenchmark,
# the measurement (`make bench`, results in bench/results/) and its short
# CI form (`make bench-smoke`).

BENCH_CFLAGS := -std=gnu99 -O2 -g -Wall -Wextra -Wno-unused-parameter
BENCH_BINS   := $(BUILD)/bench/whep-load $(BUILD)/bench/floor \
                $(BUILD)/bench/udp-flood $(BUILD)/bench/hls-wait

.PHONY: bench bench-tools bench-smoke soak

bench-tools: $(BENCH_BINS)

$(BUILD)/bench/whep-load: bench/whep-load.c
	@mkdir -p $(BUILD)/bench
	$(CC) $(BENCH_CFLAGS) -o $@ $< $$(pkg-config --cflags --libs nice libsrtp2 openssl)

$(BUILD)/bench/udp-flood: bench/udp-flood.c
	@mkdir -p $(BUILD)/bench
	$(CC) $(BENCH_CFLAGS) -o $@ $<

$(BUILD)/bench/hls-wait: bench/hls-wait.c
	@mkdir -p $(BUILD)/bench
	$(CC) $(BENCH_CFLAGS) -o $@ $<

$(BUILD)/bench/floor: bench/floor.c src/ngx_webrtc_gcm.c src/ngx_webrtc_gcm.h
	@mkdir -p $(BUILD)/bench
	$(CC) $(BENCH_CFLAGS) -Isrc -o $@ $< src/ngx_webrtc_gcm.c \
	    $$(pkg-config --cflags --libs libsrtp2 libcrypto)

# the publisher is t/clients/ndc_publish.js: node-datachannel from npm
bench: test-deps
	$(MAKE) module bench-tools
	bench/run.sh

bench-smoke: test-deps
	$(MAKE) module bench-tools
	tools/netns.sh $(PROVE) -v t/70-bench-smoke.t

# hostile UDP (bench/udp-flood) while a stream plays; the summary line
# gives the achieved rate, the kernel's drops, memory and CPU
SOAK_SECONDS ?= 60
SOAK_RATE    ?= 100000

soak: test-deps
	$(MAKE) module bench-tools
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_RATE=$(SOAK_RATE) \
	    tools/netns.sh $(PROVE) -v t/46-hostile-udp.t
