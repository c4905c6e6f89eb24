#!/usr/bin/env bash
# tests/bench/cluster.sh — cluster mode at scale: N agents against one etcd; convergence of nic adds, 100k routes in bulk, RSS, restart.
#
# Usage: cluster.sh OUT.json   (env: VPCBPF, BENCH_AGENTS (20), BENCH_NIC_ADDS (100), BENCH_BULK_ROUTES (100000))
# Hosts h1..hN are network namespaces on one underlay switch (tests/lib/vpcbpf.bash), etcd (Debian's
# etcd-server, default limits) in the switch's namespace; everything is removed on exit.
#   convergence: one `nic add` at a time (round robin over the hosts, on a veth of its
#                host), from etcd's answer to the commit (the writer's -v line) to the last host
#                logging it applied (wall clocks of one machine);
#                p50/p99 over BENCH_NIC_ADDS edits
#   bulk:        BENCH_BULK_ROUTES routes of one VPC in one --batch: time to commit, time until every
#                host reports the revision applied, etcd's database size before and after, route
#                chunks written (bytes)
#   memory:      agents' RSS (VmRSS) idle (after the NICs) and after the bulk
#   restart:     one agent stopped (SIGTERM) and started again: time until it has listed and synced
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export VPCBPF=${VPCBPF:-$ROOT/build/vpcbpf}
OUT=${1:-$ROOT/build/bench/cluster.json}
N=${BENCH_AGENTS:-20}
ADDS=${BENCH_NIC_ADDS:-100}
BULK=${BENCH_BULK_ROUTES:-100000}
# shellcheck source=../lib/vpcbpf.bash
. "$ROOT/tests/lib/vpcbpf.bash"
lib_init
trap lib_cleanup EXIT
trap 'exit 1' INT TERM

E() { ip netns exec "$T-sw" "$VPCBPF" --etcd "$ETCD_URL" "$@"; }
ms_now() { date +%s%3N; }
hosts=()
for i in $(seq 1 "$N"); do hosts+=("h$i"); done

# p50 p99 max of numbers on stdin, as JSON
pct() { sort -g | awk '{v[NR]=$1} END {if (!NR) {print "null"; exit}
	p50 = v[int((NR - 1) * 0.50) + 1]; p99 = v[int((NR - 1) * 0.99) + 1];
	printf "{\"p50\": %.1f, \"p99\": %.1f, \"max\": %.1f, \"n\": %d}", p50, p99, v[NR], NR}'; }

agent_start() {
	"$VPCBPF" -v -n "$T-$1" -d "$BPFFS/$T-$1" agent --etcd "$ETCD_URL" host "$1" dev ul0 xdp generic lease 10 \
		>/dev/null 2>>"$LIB_STATE/agent-$1.log" &
	echo $! >"$LIB_STATE/agent-$1.pid"
	proc_register $!
}
# the lowest applied revision over all hosts (status/NAME), 0 while one has not reported
min_applied() { E -j host show | jq --argjson n "$N" 'if length < $n then 0 else ([.[] | select(.state == "up") | (.revision // 0)] | if length < $n then 0 else min end) end'; }
wait_all() { # REV TIMEOUT_S
	local deadline=$(($(date +%s) + $2))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		[ "$(min_applied)" -ge "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
rss_kb() { local t=0 h; for h in "${hosts[@]}"; do t=$((t + $(awk '/^VmRSS/ {print $2}' "/proc/$(cat "$LIB_STATE/agent-$h.pid")/status"))); done; echo $((t / N)); }
etcd_db() { ip netns exec "$T-sw" env ETCDCTL_API=3 etcdctl --endpoints "$ETCD_URL" endpoint status -w json | jq '.[0].Status.dbSize'; }
# when HOST logged applying REV (ms since the epoch; the log has UTC HH:MM:SS.mmm of today)
log_ms() { # HOST REV
	local t
	t=$(grep -m1 "agent $1: revision $2: nic" "$LIB_STATE/agent-$1.log" | cut -d' ' -f1)
	[ -n "$t" ] || { echo -1; return; }
	echo $(( $(date -u -d "$(date -u +%F) $t" +%s%3N) ))
}

echo "cluster bench: $N hosts, etcd, agents" >&2
switch_create sw 192.168.120 "${hosts[@]}" || exit 1
etcd_start sw || exit 1
for h in "${hosts[@]}"; do
	lib_register pin "$h"
	for d in 1 2 3 4 5 6; do ip -n "$T-$h" link add "d$d" type veth peer name "e$d" && ip -n "$T-$h" link set "d$d" up; done
	agent_start "$h"
done
E vpc add 100 >/dev/null && E subnet add 10.1.0.0/16 vpc 100 >/dev/null || exit 1
rev=$(E -j vpc add 200 | jq .revision)
wait_all "$rev" 120 || { echo "cluster bench: agents did not sync" >&2; exit 1; }

echo "cluster bench: $ADDS nic adds" >&2
: >"$LIB_STATE/conv"
for i in $(seq 1 "$ADDS"); do
	h=${hosts[$(( (i - 1) % N ))]}
	d=$(( (i - 1) / N % 6 + 1 ))
	r=$(E -v -j nic add "10.1.$((i / 250)).$((i % 250 + 2))" vpc 100 mac "$(printf '02:00:00:01:%02x:%02x' $((i / 256)) $((i % 256)))" \
		host "$h" dev "d$d" 2>"$LIB_STATE/add.err" | jq .revision)
	# from the moment etcd acknowledged the commit (the writer's -v line)
	t0=$(grep -o 'committed at [0-9]*' "$LIB_STATE/add.err" | tr -dc 0-9)
	wait_all "$r" 30 || echo "cluster bench: revision $r not applied everywhere in 30 s" >&2
	echo "$r $t0" >>"$LIB_STATE/conv"
done
rss_idle=$(rss_kb)
while read -r r t0; do
	last=0
	for h in "${hosts[@]}"; do t=$(log_ms "$h" "$r"); [ "$t" -gt "$last" ] && last=$t; done
	echo $((last - t0))
done <"$LIB_STATE/conv" >"$LIB_STATE/conv.ms"
conv=$(pct <"$LIB_STATE/conv.ms")

echo "cluster bench: $BULK routes in one batch" >&2
for i in $(seq 0 $((BULK - 1))); do echo "route add 10.$((100 + i / 65536)).$((i / 256 % 256)).$((i % 256))/32 vpc 200 blackhole"; done \
	>"$LIB_STATE/bulk.batch"
db0=$(etcd_db)
t0=$(ms_now)
E -v -j --batch "$LIB_STATE/bulk.batch" >"$LIB_STATE/bulk.out" 2>"$LIB_STATE/bulk.err" || { cat "$LIB_STATE/bulk.err" >&2; exit 1; }
t1=$(ms_now)
r=$(jq .revision "$LIB_STATE/bulk.out")
wait_all "$r" 600 || echo "cluster bench: the bulk did not reach every host in 600 s" >&2
t2=$(ms_now)
db1=$(etcd_db)
written=$(grep -o '([0-9]* bytes)' "$LIB_STATE/bulk.err" | tr -dc 0-9)
echo "cluster bench: the bulk reached every host; restart next" >&2
chunks=$(grep -o '[0-9]* route chunk' "$LIB_STATE/bulk.err" | cut -d' ' -f1)
rss_bulk=$(rss_kb)
# each host's own time to apply the bulk (derive from etcd + one commit), from its -v log line
for h in "${hosts[@]}"; do grep -o "revision $r applied in [0-9.]* ms" "$LIB_STATE/agent-$h.log" | awk '{print $5}'; done \
	>"$LIB_STATE/bulk.sync"
bulk_sync=$(pct <"$LIB_STATE/bulk.sync")

echo "cluster bench: agent restart with $BULK routes" >&2
h=${hosts[0]}
kill "$(cat "$LIB_STATE/agent-$h.pid")"
while kill -0 "$(cat "$LIB_STATE/agent-$h.pid")" 2>/dev/null; do sleep 0.05; done
n0=$(grep -c "synced at revision" "$LIB_STATE/agent-$h.log")
t3=$(ms_now)
agent_start "$h"
for _ in $(seq 6000); do
	[ "$(grep -c "synced at revision" "$LIB_STATE/agent-$h.log")" -gt "$n0" ] && break
	sleep 0.05
done
t4=$(ms_now)

jq -n --argjson agents "$N" --argjson conv "$conv" --argjson bulk "$BULK" \
	--argjson commit_ms $((t1 - t0)) --argjson all_ms $((t2 - t0)) --argjson db0 "$db0" --argjson db1 "$db1" \
	--argjson written "${written:-0}" --argjson chunks "${chunks:-0}" \
	--argjson bulk_sync "$bulk_sync" --argjson rss_idle "$rss_idle" --argjson rss_bulk "$rss_bulk" --argjson restart_ms $((t4 - t3)) \
	'{agents: $agents, convergence_ms: $conv, bulk: {routes: $bulk, commit_ms: $commit_ms, all_hosts_applied_ms: $all_ms,
	  etcd_db_bytes_before: $db0, etcd_db_bytes_after: $db1, chunk_bytes_written: $written, chunks_written: $chunks,
	  per_host_sync_ms: $bulk_sync},
	  agent_rss_kib: {idle: $rss_idle, after_bulk: $rss_bulk}, restart_to_synced_ms: $restart_ms}' | tee "$OUT"
