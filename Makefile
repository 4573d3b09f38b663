# SPDX-License-Identifier: GPL-2.0
# lockwatch: BPF objects (CO-RE) -> bpftool skeletons -> the lockwatch binary;
# test programs and benchmarks. The kernel module builds through Kbuild
# (make -C <kernel build dir> M=$PWD), so this file stays userspace only.

OUTPUT ?= .output
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc
VERSION := 0.1.0

PKGS := libbpf libelf libdw zlib capstone libsystemd libgvc
CFLAGS ?= -g -O2
# hardened as Debian builds packages (dpkg-buildflags): it runs as root
# reading untrusted memory
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -Wl,-z,relro -Wl,-z,now
CFLAGS += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	  -std=gnu11 -D_GNU_SOURCE -DLW_VERSION='"$(VERSION)"' \
	  -I$(OUTPUT) -Ibpf -Iuser $(shell pkg-config --cflags $(PKGS))
# libstdc++ for its demangler: C++ programs' functions and locks by name
LDLIBS += $(shell pkg-config --libs $(PKGS)) -lpthread -lstdc++
# usdt.bpf.h includes <linux/errno.h>, whose asm/ headers live in the multiarch dir
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -I$(OUTPUT) -Ibpf \
	      -idirafter /usr/include/$(shell gcc -dumpmachine)

# user/ holds one folder per part; headers are included by their path from
# user/ ("core/graph.h"), so the folder a name comes from is always visible.
USER_SRCS := $(shell find user -name '*.c' | sort)
USER_HDRS := $(shell find user -name '*.h')
# `make check SANITIZE=1`: lockwatch and the unit tests built under ASan and
# UBSan into a folder of their own (the test programs stay as they are: their
# stacks are what the tests assert). A report ends the program with status
# 86, which no test expects; ASan's also go to $(SAN_LOGS), and check fails if
# it holds one (UBSan's go to stderr, which the tests show).
comma := ,
SAN_FLAGS := $(if $(filter 1,$(SANITIZE)),-fsanitize=address$(comma)undefined \
	     -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
SAN_LOGS := $(OUTPUT)/san-logs
UOUT := $(OUTPUT)/$(if $(SAN_FLAGS),san/)user
USER_OBJS := $(patsubst user/%.c,$(UOUT)/%.o,$(USER_SRCS))
TEST_C_PROGS := $(patsubst tests/%.c,$(OUTPUT)/tests/%,$(filter-out tests/lib%.c,$(wildcard tests/*.c)))
TEST_CXX_PROGS := $(patsubst tests/%.cc,$(OUTPUT)/tests/%,$(wildcard tests/*.cc))
TEST_PROGS := $(TEST_C_PROGS) $(TEST_CXX_PROGS) $(OUTPUT)/tests/orders-static
TEST_LIBS := $(patsubst tests/%.c,$(OUTPUT)/tests/%.so,$(wildcard tests/lib*.c))
UNIT_PROGS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/unit/%,$(wildcard tests/unit/*.c))
BENCH_PROGS := $(patsubst bench/%.c,$(OUTPUT)/bench/%,$(wildcard bench/*.c))
FUZZ_PROGS := $(patsubst fuzz/%.c,$(OUTPUT)/fuzz/%,$(wildcard fuzz/*.c))

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
# the skeleton and BPF object are products, not scratch: keep them
.SECONDARY:
.PHONY: FORCE all deps demo check bench soak fuzz format format-check clean module vmtest lint install deb

# The kernel module is built for Debian's 6.1 kernel (tested in a VM: this
# machine's kernel loads no modules); KDIR may name another build tree. Its
# PREEMPT_RT flavour (-rt-amd64) is tests/vmrt.t's.
KDIR ?= $(lastword $(wildcard /usr/src/linux-headers-6.1.*[0-9]-amd64))

all: lockwatch $(TEST_PROGS) $(TEST_LIBS) $(UNIT_PROGS) $(BENCH_PROGS)

deps:
	$(Q)./scripts/install-deps.sh

# vmlinux.h is generated from the running kernel's BTF, not checked in: CO-RE
# relocates every field access at load time, so the header only has to name
# the types, and lockwatch needs a BTF kernel to run anyway.
$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,BTF,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c bpf/lockwatch.h $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

BPF_SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(wildcard bpf/*.bpf.c))

$(UOUT)/%.o: user/%.c $(USER_HDRS) bpf/lockwatch.h $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $(HARDEN) -c $< -o $@

# which flavour the binaries were last linked as: switching relinks them
$(OUTPUT)/flavour: FORCE | $(OUTPUT)
	$(Q)echo '$(SAN_FLAGS)' | cmp -s - $@ || echo '$(SAN_FLAGS)' > $@

lockwatch: $(USER_OBJS) $(OUTPUT)/flavour
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $(HARDEN) $(USER_OBJS) $(LDLIBS) -o $@

# Test programs and benchmarks keep frame pointers and debug info: the tests
# assert file:line in the stacks lockwatch prints.
$(filter-out $(OUTPUT)/tests/pylayout,$(TEST_C_PROGS)): $(OUTPUT)/tests/%: tests/%.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O1 -fno-omit-frame-pointer -Wall -D_GNU_SOURCE $< -o $@ -lpthread

# C++ programs (std::mutex, std::shared_mutex) and a statically linked one,
# whose pthread functions are its own: --lock-order probes them there.
$(TEST_CXX_PROGS): $(OUTPUT)/tests/%: tests/%.cc | $(OUTPUT)/tests
	$(call msg,CXX,$@)
	$(Q)$(CXX) -g -O1 -fno-omit-frame-pointer -Wall $< -o $@ -lpthread

$(OUTPUT)/tests/orders-static: tests/orders.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O1 -fno-omit-frame-pointer -Wall -D_GNU_SOURCE -static $< -o $@ -lpthread

# Shared libraries the test programs load (tests/pyhang.py's ctypes one).
$(TEST_LIBS): $(OUTPUT)/tests/%.so: tests/%.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O1 -fno-omit-frame-pointer -fPIC -shared -Wall -D_GNU_SOURCE $< -o $@ -lpthread

# The CPython layout check compiles against python3.11-dev's internal headers,
# with lockwatch's own table.
PYLAYOUT := user/source/python/pylayout
$(OUTPUT)/tests/pylayout: tests/pylayout.c $(PYLAYOUT).c $(PYLAYOUT).h | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O1 -Wall -Iuser $(shell pkg-config --cflags python-3.11) \
		tests/pylayout.c $(PYLAYOUT).c -o $@

# Unit tests (tests/unit/, no root but syms_cache's ns_last_pid): each links
# the parts of user/ it tests.
UNIT_graph := core/graph core/order sys/hash sys/syms sys/modfile sys/debugcache sys/maps sys/proc
UNIT_order := core/order sys/hash sys/syms sys/modfile sys/debugcache sys/maps sys/proc
UNIT_detect := core/graph core/order core/detect core/seen core/confirm sys/clock sys/hash sys/syms sys/modfile sys/debugcache \
	       sys/maps sys/proc
UNIT_futex := source/futex/attach source/futex/holder source/futex/memkey sys/proc sys/maps
UNIT_escape := sys/escape
UNIT_syms_cache := sys/syms_cache sys/syms sys/modfile sys/debugcache sys/maps sys/proc
UNIT_pycode := source/python/pycode
UNIT_debugcache := sys/debugcache
UNIT_pydebug := source/python/pylayout
.SECONDEXPANSION:
$(UNIT_PROGS): $(OUTPUT)/tests/unit/%: tests/unit/%.c tests/unit/tap.h $(OUTPUT)/flavour \
	       $$(addprefix $(UOUT)/,$$(addsuffix .o,$$(UNIT_$$*)))
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $< $(filter %.o,$^) $(LDLIBS) -o $@

# Fuzzers (fuzz/, libFuzzer from clang, under ASan and UBSan): each links the
# sources of user/ it fuzzes, built with it. tests/fuzz.t runs each briefly
# from its corpus (fuzz/corpus/NAME); `make fuzz FUZZ_SECS=600` for longer.
FUZZ_escape := sys/escape
FUZZ_maps := sys/maps
FUZZ_pycode := source/python/pycode
FUZZ_pydebug := source/python/pylayout
FUZZ_kmod_publish :=
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
	       -fno-sanitize-recover=undefined -std=gnu11 -D_GNU_SOURCE -Wall -Iuser
$(FUZZ_PROGS): $(OUTPUT)/fuzz/%: fuzz/%.c fuzz/kernel.h kmod/parse.h \
	       $$(addprefix user/,$$(addsuffix .c,$$(FUZZ_$$*))) $(USER_HDRS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $< $(addprefix user/,$(addsuffix .c,$(FUZZ_$*))) -o $@

FUZZ_SECS ?= 600
fuzz: $(FUZZ_PROGS)
	LW_FUZZ_SECS=$(FUZZ_SECS) prove -v tests/fuzz.t

$(OUTPUT)/bench/%: bench/%.c | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O2 -Wall -D_GNU_SOURCE $< -o $@ -lpthread

$(OUTPUT) $(OUTPUT)/tests $(OUTPUT)/bench:
	$(Q)mkdir -p $@

demo: deps all
	@echo "== lockwatch watching a program that deadlocks (tests/deadlock.c abba) =="
	./lockwatch --exit-on-deadlock --duration 30 -- $(OUTPUT)/tests/deadlock abba; \
	st=$$?; echo "== lockwatch exited with status $$st (1: a deadlock was reported) =="; \
	test $$st -eq 1
	@echo; echo "== the same trap in asyncio: a locked method calls a locked method (tests/pyhang.py store) =="
	./lockwatch --exit-on-deadlock --duration 30 -- /usr/bin/python3.11 tests/pyhang.py store; \
	st=$$?; echo "== lockwatch exited with status $$st (1: a deadlock was reported) =="; \
	test $$st -eq 1
	@echo; echo "== Python and C in one cycle: a threading.Lock and a C library's mutex (tests/pyhang.py native) =="
	./lockwatch --exit-on-deadlock --duration 30 -- /usr/bin/python3.11 tests/pyhang.py native; \
	st=$$?; echo "== lockwatch exited with status $$st (1: a deadlock was reported) =="; \
	test $$st -eq 1
	@echo; echo "== before it hangs: two threads take two mutexes in opposite orders, one after the other (tests/orders.c abba, --lock-order) =="
	LW_ORDERS_LINGER=1 ./lockwatch --lock-order --duration 30 -- $(OUTPUT)/tests/orders abba; \
	st=$$?; echo "== lockwatch exited with status $$st (1: an inversion counts as a deadlock) =="; \
	test $$st -eq 1

module:
	$(if $(KDIR),,$(error no kernel build tree: install linux-headers-6.1.*-amd64 or set KDIR))
	$(Q)$(MAKE) -C $(KDIR) M=$(CURDIR) modules $(if $(V),,>/dev/null)

# Boots Debian's 6.1 kernel under qemu with lockwatch, the test programs and
# the module (tests/vm.t runs the same within make check).
vmtest: all module
	./scripts/vmtest.sh

lint:
	./scripts/lint.sh

# The unit tests first (no root, seconds), then the end-to-end ones. The
# CPython table decoders are checked under every CPython 3.11-3.13 present.
LW_PYTHONS ?= /usr/bin/python3.11 $(wildcard /root/.pyenv/versions/3.1[123].*/bin/python3.1[123])
SAN_ENV := ASAN_OPTIONS=log_path=$(CURDIR)/$(SAN_LOGS)/asan:detect_leaks=1:exitcode=86 \
	   LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	   UBSAN_OPTIONS=print_stacktrace=1:exitcode=86
check: deps all $(FUZZ_PROGS) format-check module
	$(if $(SAN_FLAGS),rm -rf $(SAN_LOGS); mkdir -p $(SAN_LOGS))
	LW_PYTHONS="$(LW_PYTHONS)" $(if $(SAN_FLAGS),$(SAN_ENV)) prove $(PROVE_FLAGS) $(UNIT_PROGS) tests/
	$(if $(SAN_FLAGS),@! ls -A $(SAN_LOGS) | grep -q . || \
		{ head -n 40 $(SAN_LOGS)/*; echo "sanitizer reports in $(SAN_LOGS)"; exit 1; })

bench: deps all
	./bench/run.sh

# tests/soak.t for longer than make check's minute
SOAK_SECS ?= 600
soak: deps all
	LW_SOAK_SECS=$(SOAK_SECS) prove -v tests/soak.t

FORMAT_SRCS := $(wildcard bpf/*.[ch] tests/*.c tests/unit/*.[ch] bench/*.c fuzz/*.[ch]) $(USER_SRCS) $(USER_HDRS)
format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	$(call msg,FORMAT,check)
	$(Q)clang-format --dry-run -Werror $(FORMAT_SRCS)

# Where `make install` puts things (DESTDIR in front of each, for packages).
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
CATALOGDIR ?= $(PREFIX)/lib/systemd/catalog
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
install: all
	install -D -m 0755 lockwatch $(DESTDIR)$(SBINDIR)/lockwatch
	install -D -m 0644 user/lockwatch.8 $(DESTDIR)$(MANDIR)/man8/lockwatch.8
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|g' user/lockwatch.service >$(DESTDIR)$(UNITDIR)/lockwatch.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/lockwatch.service
	install -D -m 0644 user/lockwatch.catalog $(DESTDIR)$(CATALOGDIR)/lockwatch.catalog
	install -D -m 0644 user/lockwatch.bash-completion $(DESTDIR)$(BASHCOMPDIR)/lockwatch
	$(if $(DESTDIR),,-journalctl --update-catalog 2>/dev/null)

# lockwatch and lockwatch-dkms .debs into .output/deb (scripts/deb.sh)
deb: all
	./scripts/deb.sh

clean:
	rm -rf $(OUTPUT) lockwatch
	$(if $(KDIR),-$(MAKE) -C $(KDIR) M=$(CURDIR) clean >/dev/null)
