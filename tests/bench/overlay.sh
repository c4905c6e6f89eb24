#!/usr/bin/env bash
# tests/bench/overlay.sh — TCP throughput between two emulated hosts: vpcbpf (XDP native, generic, off) and the kernel's vxlan + bridge, in one run.
#
# Usage: tests/bench/overlay.sh [SECONDS]   (default 5; iperf3 -t SECONDS per path, one stream)
# Every path has the same shape: VM (MTU 1450) - host - veth underlay (MTU 1500) - host - VM.
set -u
cd "$(dirname "$0")/../.."
secs=${1:-5}
. tests/lib/vpcbpf.bash
trap lib_cleanup EXIT
lib_init

gbps() { jq -r '.end.sum_received.bits_per_second / 1e9 | . * 100 | round / 100'; }

iperf() { # server-vm client-vm server-ip port
	in_vm "$1" iperf3 -s -1 -D -p "$4" >/dev/null
	sleep 0.3
	in_vm "$2" timeout $((secs + 15)) iperf3 -c "$3" -p "$4" -t "$secs" -J | gbps
}

# vpcbpf: hA and hB, a1 on hA, a2 on hB, VPC 100
underlay_create hA hB 192.168.110
host_create hA dev ul0 xdp off
host_create hB dev ul0 xdp off
for h in hA hB; do
	vpcbpf_on $h vpc add 100
	vpcbpf_on $h subnet add 10.0.1.0/24 vpc 100
done
vm_create hA a1 10.0.1.10/24 10.0.1.1 02:01:00:00:01:0a 1450
vm_create hB a2 10.0.1.11/24 10.0.1.1 02:01:00:00:01:0b 1450
vpcbpf_on hA nic add 10.0.1.10 vpc 100 mac 02:01:00:00:01:0a dev a1
vpcbpf_on hA nic add 10.0.1.11 vpc 100 mac 02:01:00:00:01:0b remote "$(underlay_ip hB)"
vpcbpf_on hB nic add 10.0.1.11 vpc 100 mac 02:01:00:00:01:0b dev a2
vpcbpf_on hB nic add 10.0.1.10 vpc 100 mac 02:01:00:00:01:0a remote "$(underlay_ip hA)"

# kernel: kA and kB, each a bridge with a vxlan port (static FDB) and the VM's veth
underlay_create kA kB 192.168.111
for h in kA kB; do
	other=kB; [ $h = kB ] && other=kA
	ns=$(host_ns $h)
	ip -n "$ns" link add vx0 type vxlan id 100 dstport 4789 local "$(underlay_ip $h)" dev ul0 nolearning
	ip -n "$ns" link add br0 type bridge
	ip -n "$ns" link set vx0 master br0 mtu 1450 up
	ip -n "$ns" link set br0 up
	bridge -n "$ns" fdb append 00:00:00:00:00:00 dev vx0 dst "$(underlay_ip $other)"
done
ns_create k1
ns_create k2
for pair in "kA k1 10.0.1.10" "kB k2 10.0.1.11"; do
	set -- $pair
	ip -n "$(host_ns $1)" link add "$2" type veth peer name eth0 netns "$(vm_ns $2)"
	ip -n "$(host_ns $1)" link set "$2" master br0 mtu 1450 up
	ip -n "$(vm_ns $2)" link set eth0 mtu 1450 up
	ip -n "$(vm_ns $2)" addr add "$3/24" dev eth0
done

in_vm a1 ping -c 2 -W 1 10.0.1.11 >/dev/null || { echo "vpcbpf path does not ping" >&2; exit 1; }
in_vm k1 ping -c 2 -W 1 10.0.1.11 >/dev/null || { echo "kernel path does not ping" >&2; exit 1; }

printf '%-34s %s\n' "path (iperf3 -t $secs, 1 stream)" "Gbit/s"
for mode in native generic off; do
	vpcbpf_on hA dp up xdp $mode >/dev/null && vpcbpf_on hB dp up xdp $mode >/dev/null
	printf '%-34s %s\n' "vpcbpf, xdp $mode" "$(iperf a2 a1 10.0.1.11 5201)"
done
printf '%-34s %s\n' "kernel vxlan + bridge" "$(iperf k2 k1 10.0.1.11 5202)"
