# tests/lib/cni.bash — vpcbpf-cni run as a container runtime runs it (CNI_* env, netconf on stdin), on emulated hosts.
#
# API (on top of tests/lib/vpcbpf.bash; everything lives under the run's $T and $LIB_STATE):
#
#   cni_host HOST                 netns "$T-HOST" with an underlay veth ul0 (peer in "$T-HOST-ul") and `dp up dev ul0`
#   cni_netconf NAME VNI [FIELDS] a network config: type vpcbpf, pinDir of $CNI_HOST, host-local IPAM over
#                                 10.0.0.0/24 with its dataDir in $CNI_IPAM_DIR (default $LIB_STATE/ipam); FIELDS are more JSON members
#                                 (e.g. '"sg":"web"'), or replace the ipam when they contain "ipam"
#   cni_container ID              the container's netns "$T-ID" (lo up, IPv6 off)
#   cni_call COMMAND ID NETCONF [IFNAME]
#                                 runs the plugin in $CNI_HOST's netns as the runtime would, for container ID
#                                 (netns /run/netns/$T-ID, CNI_IFNAME default eth0); stdout is the result or
#                                 the error JSON; CNI_PATH has host-local (Debian's /usr/lib/cni)
#   cni_ipam_files NAME           the addresses host-local holds for network NAME (one file per address)
#   cni_veths                     the plugin's host-side veths (vpc*) in $CNI_HOST's netns

CNI_PLUGIN=${CNI_PLUGIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/vpcbpf-cni}
CNI_IPAM_PATH=${CNI_IPAM_PATH:-/usr/lib/cni}
CNI_HOST=${CNI_HOST:-h}

cni_host() {
	local host=$1
	ns_create "$host" && ns_create "$host-ul" || return 1
	ip -n "$T-$host" link add ul0 type veth peer name ul0 netns "$T-$host-ul" || return 1
	ip -n "$T-$host" addr add 192.168.100.1/24 dev ul0
	ip -n "$T-$host" link set ul0 up
	ip -n "$T-$host-ul" link set ul0 up
	host_create "$host" dev ul0
}

cni_netconf() {
	local name=$1 vni=$2 fields=${3:-} ipam
	ipam='"ipam":{"type":"host-local","ranges":[[{"subnet":"10.0.0.0/24"}]],"dataDir":"'"${CNI_IPAM_DIR:-$LIB_STATE/ipam}"'"}'
	case "$fields" in *'"ipam"'*) ipam=$fields; fields= ;; esac
	printf '{"cniVersion":"1.0.0","name":"%s","type":"vpcbpf","vpc":%s,"pinDir":"%s",%s%s}\n' \
		"$name" "$vni" "$(host_pin "$CNI_HOST")" "$ipam" "${fields:+,$fields}"
}

cni_container() {
	ns_create "$1"
}

cni_call() {
	local cmd=$1 id=$2 conf=$3 ifname=${4:-eth0}
	CNI_COMMAND=$cmd CNI_CONTAINERID=$id CNI_NETNS=/run/netns/$T-$id CNI_IFNAME=$ifname CNI_PATH=$CNI_IPAM_PATH \
		nsenter --net="/run/netns/$T-$CNI_HOST" "$CNI_PLUGIN" <<<"$conf"
}

cni_ipam_files() {
	local d="${CNI_IPAM_DIR:-$LIB_STATE/ipam}/$1"
	[ -d "$d" ] || return 0
	find "$d" -maxdepth 1 -type f -name '[0-9]*.[0-9]*.[0-9]*.[0-9]*' -printf '%f\n' | sort
}

cni_veths() {
	ip -n "$T-$CNI_HOST" -o link show | awk -F': ' '$2 ~ /^vpc[0-9a-f]+(@|$)/ { sub(/@.*/, "", $2); print $2 }'
}
