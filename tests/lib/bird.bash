# tests/lib/bird.bash — real BIRD 2 daemons for tests: one per namespace, temp config and socket, stopped by pid.
#
# API (load ../lib/vpcbpf first; everything lives under $LIB_STATE and goes with lib_cleanup + bird_stop_all):
#   bird_start NAME NETNS CONFIG_TEXT   writes $LIB_STATE/bird-NAME/bird.conf, runs `bird -f` in NETNS,
#                                       records its pid; fails when BIRD refuses the config or dies
#   birdc_on NAME ARGS...               birdc on NAME's socket (e.g. birdc_on b show route)
#   bird_wait_established NAME PROTO [SECONDS]
#                                       waits until BGP protocol PROTO of NAME is Established (default 30 s)
#   bird_wait_route NAME PREFIX [SECONDS]   waits until NAME's BIRD has a route for PREFIX
#   bird_wait_no_route NAME PREFIX [SECONDS] waits until it has none
#   bird_stop_all                       kills every BIRD this run started, by pid (call it from teardown)
#   bird_bgp_timers                     BGP options that make a session come up within a second or two

bird_dir() { echo "$LIB_STATE/bird-$1"; }

bird_bgp_timers() {
	printf '\tconnect delay time 1;\n\tconnect retry time 1;\n\terror wait time 1, 5;\n'
	printf '\thold time 6;\n\tkeepalive time 2;\n'
}

bird_start() {
	local name=$1 netns=$2 conf=$3 dir
	command -v bird >/dev/null || { echo "bird is not installed (make deps installs bird2)" >&2; return 1; }
	dir=$(bird_dir "$name")
	mkdir -p "$dir" || return 1
	printf '%s\n' "$conf" >"$dir/bird.conf"
	ip netns exec "$netns" bird -p -c "$dir/bird.conf" || { echo "bird refuses the config of $name" >&2; return 1; }
	ip netns exec "$netns" bird -f -c "$dir/bird.conf" -s "$dir/sock" </dev/null >"$dir/log" 2>&1 &
	echo $! >"$dir/pid"
	echo "$name" >>"$LIB_STATE/birds"
	local i
	for i in $(seq 100); do
		[ -S "$dir/sock" ] && birdc -s "$dir/sock" show status >/dev/null 2>&1 && return 0
		kill -0 "$(cat "$dir/pid")" 2>/dev/null || { cat "$dir/log" >&2; return 1; }
		sleep 0.1
	done
	echo "bird $name did not open its socket" >&2
	return 1
}

birdc_on() {
	local name=$1
	shift
	birdc -s "$(bird_dir "$name")/sock" "$@"
}

bird_wait_established() {
	local name=$1 proto=$2 secs=${3:-30} i
	for i in $(seq $((secs * 5))); do
		birdc_on "$name" show protocols "$proto" 2>/dev/null | grep -q Established && return 0
		sleep 0.2
	done
	birdc_on "$name" show protocols all "$proto" >&2
	return 1
}

bird_wait_route() {
	local name=$1 prefix=$2 secs=${3:-20} i
	for i in $(seq $((secs * 5))); do
		birdc_on "$name" show route "$prefix" 2>/dev/null | grep -q "^$prefix" && return 0
		sleep 0.2
	done
	return 1
}

bird_wait_no_route() {
	local name=$1 prefix=$2 secs=${3:-20} i
	for i in $(seq $((secs * 5))); do
		birdc_on "$name" show route "$prefix" 2>/dev/null | grep -q "^$prefix" || return 0
		sleep 0.2
	done
	return 1
}

bird_stop_all() {
	[ -n "${LIB_STATE:-}" ] && [ -f "$LIB_STATE/birds" ] || return 0
	local name pid
	while read -r name; do
		pid=$(cat "$(bird_dir "$name")/pid" 2>/dev/null) || continue
		kill "$pid" 2>/dev/null || continue
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done <"$LIB_STATE/birds"
	rm -f "$LIB_STATE/birds"
}
