# Makefile — builds the static vpcbpf tool with its embedded BPF datapath, and runs everything else.
.DELETE_ON_ERROR:
.PHONY: FORCE all deps build-deps check demo demo-down bench vmtest clean unit-tests fuzz fuzz-tests

BUILD   := build
CLANG   ?= clang
BPFTOOL ?= bpftool
CC      ?= gcc
ARCH    := x86

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS  ?= -O2 -g
CFLAGS  += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-format-truncation -std=gnu11 \
           -I$(BUILD) -I. -D_GNU_SOURCE
LDLIBS  := -Wl,-Bstatic -lxdp -lbpf -lyajl_s -lelf -lz -lzstd -Wl,-Bdynamic
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD) -I. -Wall -Wno-unused-function

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_HDRS  := $(wildcard bpf/*.h) maps/vpcbpf.h
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
LIB_SRCS  := $(wildcard maps/*.c)
CLI_SRCS  := $(wildcard cli/*.c)
LIB_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
CLI_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRCS))
HDRS      := $(wildcard maps/*.h cli/*.h)

all: $(BUILD)/vpcbpf

# Debian packages the build, the tests and the demo need; installed only when missing.
DEB_PKGS := clang llvm libbpf-dev libxdp-dev bpftool libelf-dev zlib1g-dev libzstd-dev \
            libyajl-dev libcmocka-dev bats bats-assert bats-support jq iproute2 iputils-ping \
            iperf3 tshark netcat-openbsd gcc make libclang-rt-14-dev gnuplot-nox sockperf bc
DEB_PKGS += graphviz   # dot draws `vpcbpf topology` (make demo writes build/demo/topology.svg)
DEB_PKGS += bird2 isc-dhcp-client busybox-static   # real BGP (BIRD 2) and real DHCP clients (dhclient, udhcpc) in tests and demo
DEB_PKGS += python3   # tests/e2e/dhcp.bats sends malformed DHCP frames from a VM (AF_PACKET)
# cluster mode (docs/cluster.md): libevent's evhttp + OpenSSL (static) speak to etcd; tests run a real etcd with openssl certs
DEB_PKGS += libevent-dev libssl-dev openssl etcd-server etcd-client
CLUSTER_LIBS := -levent_openssl -levent -lssl -lcrypto -lpthread
LDLIBS += -Wl,-Bstatic $(CLUSTER_LIBS) -Wl,-Bdynamic
DEB_PKGS += libevent-dev curl prometheus   # metrics: evhttp serves /metrics (CLUSTER_LIBS); tests: curl, a real Prometheus + promtool
DEB_PKGS += socat iputils-tracepath   # tests/e2e/nat.bats: the "internet" server (reports its peer), tracepath through NAT
DEB_PKGS += nftables   # make bench: the kernel's own masquerade, the baseline of the SNAT throughput (tests/bench/nat.sh)
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# -V names the commit and the libraries linked in; build/version.h is rewritten only when one of them changes.
DEB_PKGS += pkg-config   # the versions of libbpf and libxdp that vpcbpf -V reports
DEB_PKGS += iputils-arping   # tests/cli/monitor.bats: an ARP reply from a VM, which the datapath drops
DEB_PKGS += man-db groff-base   # tests/cli/man.bats renders the man pages with man --warnings
$(BUILD)/version.h: FORCE
	$(Q)mkdir -p $(BUILD)
	$(Q){ printf '#define VPCBPF_COMMIT "%s"\n' "$$(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)"; \
	  printf '#define VPCBPF_LIBBPF_VERSION "%s"\n' "$$(pkg-config --modversion libbpf 2>/dev/null || echo unknown)"; \
	  printf '#define VPCBPF_LIBXDP_VERSION "%s"\n' "$$(pkg-config --modversion libxdp 2>/dev/null || echo unknown)"; \
	} > $@.tmp; if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(BUILD)/obj/cli/version.o $(BUILD)/fuzz/cli/version.o: $(BUILD)/version.h
FORCE:

# `make` on a machine without the build's packages names them and the command that installs them
# (instead of stopping at "bpftool: not found"). Only the build's own packages: tests add more (make deps).
BUILD_PKGS := gcc make clang llvm bpftool libbpf-dev libxdp-dev libelf-dev zlib1g-dev libzstd-dev libyajl-dev \
              pkg-config
build-deps:
	$(Q)command -v dpkg-query >/dev/null || exit 0; \
	missing=$$(for p in $(BUILD_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "vpcbpf: cannot build: missing Debian package(s):" $$missing >&2; \
		echo "vpcbpf: install them with: make deps   (as root; or: apt-get install" $$missing")" >&2; \
		exit 2; \
	fi

$(BUILD)/vmlinux.h: | build-deps
	$(call msg,BTF,$@)
	$(Q)mkdir -p $(BUILD)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $@.tmp.o
	$(Q)rm -f $@.tmp.o

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(BUILD)/obj/%.o: %.c $(HDRS) $(SKELS) | build-deps
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/vpcbpf: $(CLI_OBJS) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) -static $(CFLAGS) $^ -o $@ -lxdp -lbpf -lyajl_s -lelf -lz -lzstd $(CLUSTER_LIBS)

# ---- the CNI plugin (cni/, docs/cni.md): a second static binary from the same cli/ and maps/ objects ----
CNI_SRCS := $(wildcard cni/*.c)
CNI_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(CNI_SRCS))
HDRS     += $(wildcard cni/*.h)
DEB_PKGS += libnl-route-3-dev   # vpcbpf-cni: veth, addresses and routes over rtnetlink (static libnl)
DEB_PKGS += podman runc containernetworking-plugins busybox-static   # CNI tests: the real runtime, host-local IPAM, the image
all: $(BUILD)/vpcbpf-cni
$(CNI_OBJS): CFLAGS += -I/usr/include/libnl3
# cli/main.c's options, store and object table without its main()
$(BUILD)/obj/cni/vpcbpf_main.o: cli/main.c $(HDRS) $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Dmain=vpcbpf_main -c $< -o $@
# Installed as the CNI plugin "vpcbpf": $(PREFIX)/lib/cni is on podman's default cni_plugin_dirs;
# Kubernetes runtimes look in /opt/cni/bin (make install-cni CNI_BIN_DIR=/opt/cni/bin).
PREFIX      ?= /usr/local
CNI_BIN_DIR ?= $(PREFIX)/lib/cni
.PHONY: install install-cni
install: install-cni
install-cni: $(BUILD)/vpcbpf-cni
	install -D -m 0755 $(BUILD)/vpcbpf-cni $(DESTDIR)$(CNI_BIN_DIR)/vpcbpf
$(BUILD)/vpcbpf-cni: $(CNI_OBJS) $(BUILD)/obj/cni/vpcbpf_main.o $(filter-out $(BUILD)/obj/cli/main.o,$(CLI_OBJS)) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) -static $(CFLAGS) $^ -o $@ -lnl-route-3 -lnl-3 -lxdp -lbpf -lyajl_s -lelf -lz -lzstd $(CLUSTER_LIBS) -lpthread -lm

# ---- man pages and bash completion: written from the tables of build/vpcbpf, so they follow the grammar ----
# man: build/man/vpcbpf.8 and one vpcbpf-OBJECT.8 a command family (vpcbpf --man [OBJECT] prints the roff).
PREFIX      ?= /usr/local
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
.PHONY: man install-man install-completion
man: $(BUILD)/vpcbpf
	$(call msg,MAN,$(BUILD)/man)
	$(Q)rm -rf $(BUILD)/man && mkdir -p $(BUILD)/man
	$(Q)$(BUILD)/vpcbpf --man > $(BUILD)/man/vpcbpf.8
	$(Q)for o in $$($(BUILD)/vpcbpf --complete -- help ''); do \
		$(BUILD)/vpcbpf --man $$o > $(BUILD)/man/vpcbpf-$$o.8 || exit 1; done
install: install-man install-completion
install-man: man
	install -d $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(BUILD)/man/*.8 $(DESTDIR)$(MANDIR)/man8/
install-completion: cli/completion.bash
	install -D -m 0644 cli/completion.bash $(DESTDIR)$(BASHCOMPDIR)/vpcbpf

# ---- tests ----
UNIT_SRCS := $(wildcard tests/unit/*.c)
$(BUILD)/unit_tests: $(UNIT_SRCS) $(LIB_OBJS) $(BUILD)/obj/cli/json.o $(SKELS) $(HDRS) $(wildcard tests/unit/*.h)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(UNIT_SRCS) $(LIB_OBJS) $(BUILD)/obj/cli/json.o -o $@ -lcmocka -lxdp -lbpf -lyajl_s -lelf -lz -lzstd

unit-tests: $(BUILD)/unit_tests

# ---- fuzzing (tests/fuzz): a short deterministic run in check, a long one in `make fuzz` ----
FUZZ_SECONDS ?= 60
PKT_FUZZ_SRCS := $(wildcard tests/fuzz/pkt_*.c) tests/unit/env.c tests/unit/pktbuild.c tests/unit/topo.c
$(BUILD)/pkt_fuzz: $(PKT_FUZZ_SRCS) $(LIB_OBJS) $(SKELS) $(HDRS) $(wildcard tests/fuzz/*.h tests/unit/*.h)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(PKT_FUZZ_SRCS) $(LIB_OBJS) -o $@ -lxdp -lbpf -lelf -lz -lzstd

# The CLI under libFuzzer (clang, ASan, UBSan): cli_fuzz for `make fuzz`, cli_replay replays the corpus in check.
FUZZ_CC     ?= clang
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               -std=gnu11 -I$(BUILD) -I. -D_GNU_SOURCE
CLI_FUZZ_OBJS := $(patsubst %.c,$(BUILD)/fuzz/%.o,$(CLI_SRCS) $(LIB_SRCS))
$(BUILD)/fuzz/%.o: %.c $(HDRS) $(SKELS)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(if $(filter cli/main.c,$<),-Dmain=vpcbpf_main) -c $< -o $@
$(BUILD)/cli_fuzz: $(BUILD)/fuzz/tests/fuzz/cli_fuzz.o $(CLI_FUZZ_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ -o $@ $(LDLIBS)
$(BUILD)/cli_replay: $(BUILD)/fuzz/tests/fuzz/cli_replay.o $(BUILD)/fuzz/tests/fuzz/cli_fuzz.o $(CLI_FUZZ_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $^ -o $@ $(LDLIBS)

fuzz-tests: $(BUILD)/pkt_fuzz $(BUILD)/cli_replay

# The CNI plugin's stdin (netconf, prevResult, the error JSON) under libFuzzer: cni_fuzz for `make fuzz`, cni_replay
# replays tests/fuzz/corpus/cni in tests/e2e/cni.bats.
CNI_FUZZ_OBJS := $(patsubst %.c,$(BUILD)/fuzz/%.o,cni/netconf.c cni/error.c cni/ipam.c cli/json.c)
$(BUILD)/cni_fuzz: $(BUILD)/fuzz/tests/fuzz/cni_fuzz.o $(CNI_FUZZ_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ -o $@ -Wl,-Bstatic -lyajl_s -Wl,-Bdynamic
$(BUILD)/cni_replay: $(BUILD)/fuzz/tests/fuzz/cli_replay.o $(BUILD)/fuzz/tests/fuzz/cni_fuzz.o $(CNI_FUZZ_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $^ -o $@ -Wl,-Bstatic -lyajl_s -Wl,-Bdynamic
fuzz-tests: $(BUILD)/cni_replay

fuzz: deps
	$(Q)$(MAKE) --no-print-directory fuzz-tests
	$(Q)$(MAKE) --no-print-directory $(BUILD)/cli_fuzz
	$(Q)$(BUILD)/pkt_fuzz --seed $${FUZZ_SEED:-$$(date +%s)} --seconds $(FUZZ_SECONDS) --save $(BUILD)/fuzz-failures
	$(Q)mkdir -p $(BUILD)/fuzz-corpus $(BUILD)/fuzz-failures
	$(Q)$(BUILD)/cli_fuzz -max_total_time=$(FUZZ_SECONDS) -close_fd_mask=3 -artifact_prefix=$(BUILD)/fuzz-failures/ \
		$(BUILD)/fuzz-corpus tests/fuzz/corpus/cli
	$(Q)$(MAKE) --no-print-directory $(BUILD)/cni_fuzz
	$(Q)mkdir -p $(BUILD)/fuzz-corpus-cni
	$(Q)$(BUILD)/cni_fuzz -max_total_time=$(FUZZ_SECONDS) -close_fd_mask=3 -max_len=4096 -dict=tests/fuzz/cni.dict \
		-artifact_prefix=$(BUILD)/fuzz-failures/ $(BUILD)/fuzz-corpus-cni tests/fuzz/corpus/cni

check: deps
	$(Q)$(MAKE) --no-print-directory all unit-tests fuzz-tests
	$(Q)tests/run

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

demo-down:
	$(Q)scripts/demo.sh down

# ---- benchmarks (make bench; not part of make check) ----
$(BUILD)/bench/%.bpf.o: tests/bench/%.bpf.c $(BPF_HDRS) $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $@.tmp.o
	$(Q)rm -f $@.tmp.o

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

BENCH_SRCS := tests/bench/route_bench.c tests/bench/route_mix.c tests/unit/env.c
$(BUILD)/bench/route_bench: $(BENCH_SRCS) $(wildcard tests/bench/*.h) $(LIB_OBJS) $(SKELS) $(HDRS) \
			    $(BUILD)/bench/lookup.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(BENCH_SRCS) $(LIB_OBJS) -o $@ -lxdp -lbpf -lelf -lz -lzstd

SG_BENCH_SRCS := tests/bench/sg_bench.c tests/unit/env.c tests/unit/pktbuild.c tests/unit/topo.c
$(BUILD)/bench/sg_bench: $(SG_BENCH_SRCS) $(LIB_OBJS) $(SKELS) $(HDRS) $(wildcard tests/unit/*.h)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(SG_BENCH_SRCS) $(LIB_OBJS) -o $@ -lxdp -lbpf -lelf -lz -lzstd

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(BUILD)/bench/route_bench $(BUILD)/bench/sg_bench $(BUILD)/bench/empty.bpf.o \
		$(BUILD)/bench/bound.bpf.o
	$(Q)tests/bench/run

# vmtest: the harness's own checks on one kernel, then the suite on every kernel of vmtest/kernels.
# VMTEST_CMD, VMTEST_KERNELS, VMTEST_TIMEOUT, VMTEST_ACCEL and VMTEST_SELFCHECK=0 tune it (vmtest/README.md).
VMTEST_PKGS := qemu-system-x86 busybox-static xz-utils zstd
vmtest: deps
	$(Q)$(MAKE) --no-print-directory deps DEB_PKGS="$(VMTEST_PKGS)"
	$(Q)$(MAKE) --no-print-directory all unit-tests $(BPF_OBJS) $(BUILD)/vmtest/progstat
	$(Q)if [ "$(VMTEST_SELFCHECK)" != 0 ]; then vmtest/check; fi
	$(Q)vmtest/run

$(BUILD)/vmtest/progstat: vmtest/progstat.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -static $(CFLAGS) $< -o $@ -lbpf -lelf -lz -lzstd

clean:
	rm -rf $(BUILD)

# ---- install and the node image (docs/deploy.md) ----
# make install [PREFIX=/usr/local] [DESTDIR=...]: the binaries, the agent's systemd unit and its settings
# (kept when they exist: they are the host's). Other parts add their files as prerequisites of install.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
.PHONY: install install-bin install-systemd image
install: install-bin install-systemd
install-bin: $(BUILD)/vpcbpf
	install -D -m 0755 $(BUILD)/vpcbpf $(DESTDIR)$(BINDIR)/vpcbpf
install-systemd: deploy/systemd/vpcbpf-agent.service deploy/systemd/agent.env
	install -d $(DESTDIR)$(UNITDIR)
	sed -e 's|/usr/local/bin/|$(BINDIR)/|g' -e 's|/etc/vpcbpf/|$(SYSCONFDIR)/vpcbpf/|g' \
		deploy/systemd/vpcbpf-agent.service > $(DESTDIR)$(UNITDIR)/vpcbpf-agent.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/vpcbpf-agent.service
	test -e $(DESTDIR)$(SYSCONFDIR)/vpcbpf/agent.env || \
		install -D -m 0600 deploy/systemd/agent.env $(DESTDIR)$(SYSCONFDIR)/vpcbpf/agent.env

# make image [PODMAN="podman --root ..."] [IMAGE=vpcbpf:latest]: FROM scratch + the static binaries, built
# offline (nothing is pulled); build/vpcbpf-image.tar is the same image as an OCI archive to carry to nodes.
DEB_PKGS += podman runc busybox-static yq systemd   # make image + its test (a real runtime; busybox: the DaemonSet's cp); yq, systemd-analyze: tests/e2e/deploy.bats
PODMAN ?= podman
IMAGE  ?= vpcbpf:$(VPCBPF_IMAGE_VERSION)
VPCBPF_IMAGE_VERSION := $(shell sed -n 's/^\#define VPCBPF_VERSION "\(.*\)"/\1/p' maps/vpcbpf.h)
image: deps
	$(Q)$(MAKE) --no-print-directory all
	$(call msg,IMAGE,$(IMAGE))
	$(Q)rm -rf $(BUILD)/image && mkdir -p $(BUILD)/image/rootfs/usr/bin $(BUILD)/image/rootfs/bin
	$(Q)cp $(BUILD)/vpcbpf $(BUILD)/image/rootfs/usr/bin/vpcbpf
	$(Q)install -D -m 0755 $(BUILD)/vpcbpf-cni $(BUILD)/image/rootfs/opt/cni/bin/vpcbpf
	$(Q)cp /bin/busybox $(BUILD)/image/rootfs/bin/busybox
	$(Q)cp deploy/Containerfile $(BUILD)/image/Containerfile
	$(Q)$(PODMAN) build --quiet --pull=never --network none -t $(IMAGE) -f $(BUILD)/image/Containerfile $(BUILD)/image >/dev/null
	$(Q)rm -f $(BUILD)/vpcbpf-image.tar
	$(Q)$(PODMAN) save --quiet --format oci-archive -o $(BUILD)/vpcbpf-image.tar $(IMAGE)
	@echo "image $(IMAGE) (and $(BUILD)/vpcbpf-image.tar)"
