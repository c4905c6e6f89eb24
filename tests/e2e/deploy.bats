#!/usr/bin/env bats
# tests/e2e/deploy.bats — make install into a DESTDIR, the agent's systemd unit, the Kubernetes manifest's consistency.
#
# The manifest cannot run here (no Kubernetes): what is checked is that it parses and that its objects
# fit together (docs/deploy.md). The image itself is run under podman by tests/e2e/image.bats.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
MANIFEST=$ROOT/deploy/kubernetes/vpcbpf.yaml

setup() {
	lib_init
}

teardown() {
	lib_cleanup
}

install_into() { # DESTDIR [VAR=VALUE...]
	local dest=$1
	shift
	make -s -C "$ROOT" install DESTDIR="$dest" "$@" >/dev/null 2>"$LIB_STATE/make.err" ||
		fail "make install failed: $(tail -5 "$LIB_STATE/make.err")"
}

mode() { stat -c %a "$1"; }

@test "make install puts the binaries, the agent's unit and its settings under DESTDIR and PREFIX" {
	local d
	d=$(lib_tmpdir root)
	install_into "$d" PREFIX=/usr
	[ "$(mode "$d/usr/bin/vpcbpf")" = 755 ]
	cmp "$d/usr/bin/vpcbpf" "$ROOT/build/vpcbpf"
	"$d/usr/bin/vpcbpf" --version | grep -q '^vpcbpf '
	[ "$(mode "$d/usr/lib/cni/vpcbpf")" = 755 ] # the CNI plugin, as the plugin type "vpcbpf"
	cmp "$d/usr/lib/cni/vpcbpf" "$ROOT/build/vpcbpf-cni"
	[ "$(mode "$d/usr/lib/systemd/system/vpcbpf-agent.service")" = 644 ]
	[ "$(mode "$d/etc/vpcbpf/agent.env")" = 600 ]
	cmp "$d/etc/vpcbpf/agent.env" "$ROOT/deploy/systemd/agent.env"
	# the unit names the installed binary and settings, not the build's defaults
	grep -qx 'ExecStart=/usr/bin/vpcbpf agent --etcd ${VPCBPF_ETCD} host ${VPCBPF_HOST} dev ${VPCBPF_DEV} metrics ${VPCBPF_METRICS} $VPCBPF_AGENT_ARGS' \
		"$d/usr/lib/systemd/system/vpcbpf-agent.service"
	grep -qx 'EnvironmentFile=/etc/vpcbpf/agent.env' "$d/usr/lib/systemd/system/vpcbpf-agent.service"
}

@test "make install PREFIX=/usr/local is the default, and SYSCONFDIR and BINDIR move what they name" {
	local d
	d=$(lib_tmpdir root)
	install_into "$d"
	[ -x "$d/usr/local/bin/vpcbpf" ]
	[ -f "$d/usr/local/lib/systemd/system/vpcbpf-agent.service" ]
	grep -q '^ExecStart=/usr/local/bin/vpcbpf agent ' "$d/usr/local/lib/systemd/system/vpcbpf-agent.service"
	d=$(lib_tmpdir root2)
	install_into "$d" BINDIR=/opt/vpcbpf/bin SYSCONFDIR=/srv/etc
	[ -x "$d/opt/vpcbpf/bin/vpcbpf" ]
	[ -f "$d/srv/etc/vpcbpf/agent.env" ]
	grep -qx 'EnvironmentFile=/srv/etc/vpcbpf/agent.env' "$d/usr/local/lib/systemd/system/vpcbpf-agent.service"
	grep -q '^ExecStart=/opt/vpcbpf/bin/vpcbpf agent ' "$d/usr/local/lib/systemd/system/vpcbpf-agent.service"
}

@test "make install keeps a host's own agent.env and replaces the binaries" {
	local d
	d=$(lib_tmpdir root)
	install_into "$d" PREFIX=/usr
	echo "VPCBPF_HOST=this-host" >"$d/etc/vpcbpf/agent.env"
	echo stale >"$d/usr/bin/vpcbpf"
	install_into "$d" PREFIX=/usr
	[ "$(cat "$d/etc/vpcbpf/agent.env")" = "VPCBPF_HOST=this-host" ]
	cmp "$d/usr/bin/vpcbpf" "$ROOT/build/vpcbpf"
}

@test "the installed agent unit passes systemd-analyze verify (and a broken one would not)" {
	local d
	d=$(lib_tmpdir root)
	# PREFIX is the temp dir itself (no DESTDIR): verify checks that ExecStart's binary exists
	install_into "" PREFIX="$d" SYSCONFDIR="$d/etc"
	run --separate-stderr systemd-analyze verify "$d/lib/systemd/system/vpcbpf-agent.service"
	assert_success
	[ -z "$output$stderr" ] || fail "systemd-analyze: $output $stderr"
	# the check is real: a misspelt setting is reported
	sed -i 's/^Restart=on-failure/Restart=on-falure/' "$d/lib/systemd/system/vpcbpf-agent.service"
	run --separate-stderr systemd-analyze verify "$d/lib/systemd/system/vpcbpf-agent.service"
	[[ "$output$stderr" == *"on-falure"* ]]
}

# ---- deploy/kubernetes (static checks: no Kubernetes here) ----

manifest() { yq -c "$@" "$MANIFEST"; }
daemonset() { yq -c 'select(.kind == "DaemonSet")' "$MANIFEST"; }

@test "the Kubernetes manifest parses: a Namespace, a ConfigMap and a DaemonSet, and no RBAC objects" {
	run manifest -r '.kind'
	assert_success
	assert_output "$(printf 'Namespace\nConfigMap\nDaemonSet')"
	run manifest -r 'select(.kind | test("Role|ServiceAccount")) | .kind'
	assert_output ""
	[ "$(daemonset | jq '.spec.template.spec.automountServiceAccountToken')" = false ]
}

@test "the DaemonSet runs the agent as the node sidecar: host network, privileged, the host's bpffs" {
	local ds
	ds=$(daemonset)
	jq -e '.spec.template.spec.hostNetwork == true' <<<"$ds"
	jq -e '.spec.template.spec.containers[0].securityContext.privileged == true' <<<"$ds"
	jq -e '.spec.template.spec.volumes[] | select(.name == "bpffs") | .hostPath.path == "/sys/fs/bpf"' <<<"$ds"
	jq -e '.spec.template.spec.containers[0].volumeMounts[] | select(.name == "bpffs") |
		.mountPath == "/sys/fs/bpf" and .mountPropagation == "Bidirectional"' <<<"$ds"
	# the agent's words are the command line's (DESIGN.md): agent --etcd URL host NAME dev DEV metrics PORT
	jq -e '.spec.template.spec.containers[0].args | .[0] == "agent" and .[1] == "--etcd" and .[3] == "host"
		and .[5] == "dev" and .[7] == "metrics"' <<<"$ds"
	# the readiness probe asks the metrics server's /healthz on its port
	jq -e '.spec.template.spec.containers[0] | .readinessProbe.httpGet.path == "/healthz" and
		(.readinessProbe.httpGet.port | tostring) == .args[8]' <<<"$ds"
	# the image is the one make image builds
	local version
	version=$(sed -n 's/^#define VPCBPF_VERSION "\(.*\)"/\1/p' "$ROOT/maps/vpcbpf.h")
	jq -e --arg img "localhost/vpcbpf:$version" '[.spec.template.spec.containers[], .spec.template.spec.initContainers[]] |
		all(.image == $img)' <<<"$ds"
}

@test "the init container installs the CNI plugin into /opt/cni/bin from the image, with the node's config" {
	local ds
	ds=$(daemonset)
	jq -e '.spec.template.spec.volumes[] | select(.name == "cni-bin") | .hostPath.path == "/opt/cni/bin"' <<<"$ds"
	jq -e '.spec.template.spec.initContainers[0] | .command[0] == "/bin/busybox" and
		(.command[3] | test("/opt/cni/bin/vpcbpf /host/opt/cni/bin/"))' <<<"$ds"
	# every ConfigMap key the pods use exists
	local keys
	keys=$(manifest 'select(.kind == "ConfigMap") | .data | keys')
	for k in $(jq -r '.. | .configMapKeyRef? // empty | .key' <<<"$ds"); do
		jq -e --arg k "$k" 'index($k) != null' <<<"$keys" || fail "ConfigMap has no key $k"
	done
	# the CNI config template becomes valid JSON for a node
	manifest -r 'select(.kind == "ConfigMap") | .data["cni-conflist"]' |
		sed -e 's/@NODE@/node1/; s/@RANGE_START@/10.100.1.1/; s/@RANGE_END@/10.100.1.254/' |
		jq -e '.cniVersion == "1.0.0" and .plugins[0].type == "vpcbpf" and .plugins[0].host == "node1"'
}
