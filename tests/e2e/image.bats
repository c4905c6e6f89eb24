#!/usr/bin/env bats
# tests/e2e/image.bats — make image builds the FROM scratch node image offline; podman runs vpcbpf from it on the host.
#
# podman gets storage of its own (--root/--runroot/--tmpdir in this run's temp dir, vfs driver), so
# these tests never meet another podman user's images or containers. runc and cgroupfs: crun refuses
# this machine's hybrid cgroup layout. The container runs as the node sidecar runs: --network host
# --privileged -v /sys/fs/bpf:/sys/fs/bpf, with a pin dir of this run under /sys/fs/bpf.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

podman_opts() {
	local s=$LIB_STATE/podman
	echo "--root $s/root --runroot $s/runroot --tmpdir $s/tmp --storage-driver vfs --events-backend file" \
		"--runtime runc --cgroup-manager cgroupfs"
}
pm() { # podman with this run's storage
	# shellcheck disable=SC2046
	podman $(podman_opts) "$@"
}
# the sidecar's run options
SIDECAR=(--network host --privileged -v /sys/fs/bpf:/sys/fs/bpf --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

setup_file() {
	lib_init
	mkdir -p "$LIB_STATE/podman"
	lib_register dir "$BPFFS/$T-img"
	VERSION=$(sed -n 's/^#define VPCBPF_VERSION "\(.*\)"/\1/p' "$ROOT/maps/vpcbpf.h")
	echo "$VERSION" >"$LIB_STATE/version"
	make -s -C "$ROOT" image PODMAN="podman $(podman_opts)" >"$LIB_STATE/image.log" 2>&1 || {
		cat "$LIB_STATE/image.log" >&2
		return 1
	}
}

teardown_file() {
	pm rm -af -t 0 >/dev/null 2>&1
	pm rmi -af >/dev/null 2>&1
	lib_cleanup
}

image() { echo "localhost/vpcbpf:$(cat "$LIB_STATE/version")"; }

@test "make image builds a FROM scratch image of the static binaries, offline, and an OCI archive of it" {
	run pm image inspect "$(image)" --format '{{len .RootFS.Layers}} {{.Config.Entrypoint}}'
	assert_success
	assert_output "1 [/usr/bin/vpcbpf]"
	# the files of the image: ours, nothing else (no libc, no shell but busybox)
	pm create --name "$T-files" "$(image)" >/dev/null
	pm export "$T-files" | tar -t | grep -v '/$' | sort >"$LIB_STATE/files"
	pm rm "$T-files" >/dev/null
	run grep -vxE 'bin/busybox|opt/cni/bin/vpcbpf|usr/bin/vpcbpf|etc/(hosts|resolv.conf|hostname)|run/.*' \
		"$LIB_STATE/files"
	assert_output ""
	grep -qx usr/bin/vpcbpf "$LIB_STATE/files"
	grep -qx opt/cni/bin/vpcbpf "$LIB_STATE/files"
	# the archive is the same image
	tar -tf "$ROOT/build/vpcbpf-image.tar" | grep -qx index.json
	run pm run --rm "${SIDECAR[@]}" "$(image)" --version
	assert_success
	assert_output --partial "vpcbpf $(cat "$LIB_STATE/version")"
}

@test "the image loads the datapath on the host and serves its metrics there (host network, host bpffs)" {
	local pin=$BPFFS/$T-img port
	run pm run --rm "${SIDECAR[@]}" "$(image)" -d "$pin" dp up
	assert_success
	# the pins outlive the container: the host's own vpcbpf sees the datapath up
	run "$VPCBPF" -d "$pin" -j dp show
	assert_success
	jq -e '.state == "up"' <<<"$output"
	"$VPCBPF" -d "$pin" vpc add 100
	port=$(free_port)
	proc_start sidecar podman $(podman_opts) run --rm --name "$T-metrics" "${SIDECAR[@]}" "$(image)" \
		-d "$pin" metrics "127.0.0.1:$port"
	wait_until 30 curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$port/healthz" ||
		fail "no /healthz from the container: $(cat "$(proc_log sidecar)")"
	curl -sf --max-time 5 "http://127.0.0.1:$port/metrics" >"$LIB_STATE/scrape"
	promtool check metrics <"$LIB_STATE/scrape"
	grep -qx 'vpcbpf_datapath_up 1' "$LIB_STATE/scrape"
	grep -qx 'vpcbpf_vpcs 1' "$LIB_STATE/scrape"
	# podman passes SIGTERM on to vpcbpf, which ends cleanly
	proc_stop sidecar 20 || fail "the container exited $? on SIGTERM: $(cat "$(proc_log sidecar)")"
	run pm ps -aq --filter "name=$T-metrics"
	assert_output ""
	run pm run --rm "${SIDECAR[@]}" "$(image)" -d "$pin" dp down
	assert_success
	run "$VPCBPF" -d "$pin" dp show
	assert_failure
}

@test "the image runs the agent against a real etcd: registers, applies the cluster's NICs, serves metrics, stops on SIGTERM" {
	# The emulated host hA (a netns) is the host: the container joins its network namespace, which is
	# what --network host gives on a real host. etcd runs on hB, across the underlay.
	underlay_create hA hB
	lib_register pin hA
	etcd_start hB
	vm_create hA a1 10.0.1.10/24 10.0.1.1 02:00:00:00:01:10
	E() { ip netns exec "$T-hB" "$VPCBPF" --etcd "$ETCD_URL" "$@"; }
	E vpc add 100
	E subnet add 10.0.1.0/24 vpc 100
	E nic add 10.0.1.10 vpc 100 mac 02:00:00:00:01:10 host hA dev a1
	E nic add 10.0.1.11 vpc 100 mac 02:00:00:00:01:11 host hB dev b1
	local port
	port=$(free_port)
	proc_start agent podman $(podman_opts) run --rm --name "$T-agent" --network "ns:/var/run/netns/$T-hA" \
		--privileged -v /sys/fs/bpf:/sys/fs/bpf --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		"$(image)" -d "$BPFFS/$T-hA" agent --etcd "$ETCD_URL" host hA dev ul0 xdp generic lease 3 \
		metrics "127.0.0.1:$port"
	# the host registered, and its own NIC is local on a1 (read by the host's vpcbpf, not the container's)
	wait_until 30 eval 'E -j host show | jq -e ".[] | select(.host == \"hA\" and .state == \"up\")" >/dev/null' ||
		fail "hA never registered: $(cat "$(proc_log agent)")"
	wait_until 30 eval '[ "$(vpcbpf_on hA -j nic show vpc 100 | jq -r ".[] | select(.ip == \"10.0.1.10\") | .dev")" = a1 ]' ||
		fail "the NIC never reached hA: $(cat "$(proc_log agent)")"
	# the datapath the container loaded forwards: the VM reaches its gateway
	in_vm a1 ping -c 2 -i 0.2 -W 2 10.0.1.1
	# its metrics, on the host's network: synced, the datapath's and the agent's families
	local url=http://127.0.0.1:$port
	wait_until 30 eval '[ "$(ip netns exec "$T-hA" curl -s -o /dev/null -w "%{http_code}" "$url/healthz")" = 200 ]' ||
		fail "/healthz never said synced: $(cat "$(proc_log agent)")"
	ip netns exec "$T-hA" curl -sf --max-time 5 "$url/metrics" >"$LIB_STATE/agent.scrape"
	promtool check metrics <"$LIB_STATE/agent.scrape"
	grep -qx 'vpcbpf_datapath_up 1' "$LIB_STATE/agent.scrape"
	grep -qx 'vpcbpf_agent_synced 1' "$LIB_STATE/agent.scrape"
	grep -qx 'vpcbpf_agent_etcd_connected 1' "$LIB_STATE/agent.scrape"
	[ "$(awk '$1 == "vpcbpf_agent_applied_revision" { print $2 }' "$LIB_STATE/agent.scrape")" -gt 0 ]
	grep -q '^vpcbpf_nic_tx_packets_total{vpc="100",nic="10.0.1.10"} [1-9]' "$LIB_STATE/agent.scrape"
	# SIGTERM to podman reaches the agent: a clean stop that gives its lease back
	proc_stop agent 20 || fail "the agent's container exited $?: $(cat "$(proc_log agent)")"
	grep -q "lease revoked" "$(proc_log agent)"
	run pm ps -aq --filter "name=$T-agent"
	assert_output ""
	# and the datapath keeps forwarding without it
	in_vm a1 ping -c 1 -W 2 10.0.1.1
}
