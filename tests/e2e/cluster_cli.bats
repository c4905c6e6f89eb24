#!/usr/bin/env bats
# tests/e2e/cluster_cli.bats — vpcbpf --etcd against a real etcd with TLS and client certificates: writes, reads, limits, errors.
#
# The world (setup_file): a self-signed CA (openssl), a server certificate for 192.168.101.254 and a
# client certificate; etcd in the netns of "sw" with --client-cert-auth; one host hA on that
# switch running an agent over TLS.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

# The CLI in cluster mode with the client certificate, from the switch's netns.
E() { ip netns exec "$T-sw" "$VPCBPF" --etcd "$ETCD_URL" --etcd-ca "$PKI/ca.pem" --etcd-cert "$PKI/client.pem" \
	--etcd-key "$PKI/client.key" "$@"; }

setup_file() {
	lib_init
	export PKI="$LIB_STATE/pki"
	mkdir -p "$PKI"
	(
		cd "$PKI" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=vpcbpf test CA" -keyout ca.key -out ca.pem
		openssl req -newkey rsa:2048 -nodes -subj "/CN=etcd" -keyout server.key -out server.csr
		# clientAuth too: etcd's JSON gateway connects to etcd's own gRPC port with the server certificate
		printf 'subjectAltName=IP:192.168.101.254\nextendedKeyUsage=serverAuth,clientAuth\n' >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.pem
		openssl req -newkey rsa:2048 -nodes -subj "/CN=vpcbpf" -keyout client.key -out client.csr
		printf 'extendedKeyUsage=clientAuth\n' >client.ext
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile client.ext -out client.pem
		# another CA, that signed nothing etcd trusts
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" -keyout other.key -out other.pem
	) >"$LIB_STATE/openssl.log" 2>&1
	switch_create sw 192.168.101 hA
	ETCD_SCHEME=https ETCD_ARGS="--cert-file $PKI/server.pem --key-file $PKI/server.key --trusted-ca-file $PKI/ca.pem --client-cert-auth" \
		etcd_start sw
	lib_register pin hA
	"$VPCBPF" -n "$T-hA" -d "$BPFFS/$T-hA" --etcd-ca "$PKI/ca.pem" --etcd-cert "$PKI/client.pem" --etcd-key "$PKI/client.key" \
		agent --etcd "$ETCD_URL" host hA dev ul0 xdp generic lease 3 >>"$LIB_STATE/agent-hA.log" 2>&1 3>&- &
	proc_register $!
}

teardown_file() {
	lib_cleanup
}

@test "TLS with a client certificate: writes, shows and save go through, and the agent applies them" {
	run E -j vpc add 100 name blue
	assert_success
	local rev
	rev=$(jq .revision <<<"$output")
	E subnet add 10.0.1.0/24 vpc 100
	run E -j vpc show
	assert_equal "$(jq -r '.[0].name' <<<"$output")" blue
	run E save
	assert_output --partial '"cidr": "10.0.1.0/24"'
	for _ in $(seq 100); do
		[ "$(E -j host show | jq '.[] | select(.host == "hA") | .revision')" -gt "$rev" ] 2>/dev/null && break
		sleep 0.1
	done
	run vpcbpf_on hA -j subnet show
	assert_output --partial 10.0.1.0/24
}

@test "TLS: without a client certificate, or trusting another CA, etcd is refused with one clear line" {
	run ip netns exec "$T-sw" "$VPCBPF" --etcd "$ETCD_URL" --etcd-ca "$PKI/ca.pem" vpc show
	assert_failure
	assert_output --regexp "^vpcbpf: etcd https://192.168.101.254:[0-9]+: "
	run ip netns exec "$T-sw" "$VPCBPF" --etcd "$ETCD_URL" --etcd-ca "$PKI/other.pem" --etcd-cert "$PKI/client.pem" \
		--etcd-key "$PKI/client.key" vpc show
	assert_failure
	assert_output --partial "certificate verify failed"
	run ip netns exec "$T-sw" "$VPCBPF" --etcd "$ETCD_URL" --etcd-ca /nonexistent vpc show
	assert_failure
	assert_output --partial "TLS:"
}

@test "cluster mode: a bad URL, or an etcd that does not answer, is one clear error and exit 1" {
	run "$VPCBPF" --etcd ftp://x vpc show
	assert_failure
	assert_output "vpcbpf: etcd URL \"ftp://x\" must start with http:// or https://"
	run ip netns exec "$T-sw" "$VPCBPF" --etcd http://192.168.101.254:1 vpc add 5
	assert_failure
	assert_output --partial "vpcbpf: etcd http://192.168.101.254:1: "
	run ip netns exec "$T-sw" "$VPCBPF" -j --etcd http://192.168.101.254:1 vpc add 5
	assert_failure
	assert_output --partial '{"error":"etcd http://192.168.101.254:1: '
}

@test "a transaction of more objects than etcd takes is refused whole; routes of any number fit" {
	E vpc add 300
	E subnet add 10.3.0.0/16 vpc 300
	local before
	before=$(E -j save)
	for i in $(seq 1 200); do
		printf 'nic add 10.3.%d.%d vpc 300 mac 02:00:00:03:%02x:%02x host hA dev n%d\n' $((i / 200)) $((i % 200 + 2)) $((i / 256)) $((i % 256)) "$i"
	done >"$LIB_STATE/nics.batch"
	run E --batch "$LIB_STATE/nics.batch"
	assert_failure
	assert_output --partial "at most 128 operations"
	assert_equal "$(E -j save)" "$before"
	# 5,000 routes in one batch: chunks and one manifest, well within etcd's limits
	for i in $(seq 0 4999); do echo "route add 10.30.$((i / 250)).$((i % 250))/32 vpc 300 blackhole"; done >"$LIB_STATE/routes.batch"
	E --batch "$LIB_STATE/routes.batch"
	assert_equal "$(E -j route show vpc 300 | jq length)" 5000
	# one route more rewrites one chunk, not all of them
	run E -v route add 10.31.0.0/16 vpc 300 blackhole
	assert_success
	assert_output --regexp "1 route chunk\(s\) written|2 route chunk\(s\) written"
	E route flush vpc 300
	E subnet del 10.3.0.0/16 vpc 300
	E vpc del 300
}

@test "cluster mode keeps host-only commands local and refuses what etcd cannot answer" {
	run E route get 10.0.1.5 vpc 100
	assert_failure
	assert_output --partial "run it on that host"
	run E nic add 10.0.1.20 vpc 100 mac 02:00:00:00:01:20 host "a/b" dev x
	assert_failure
	assert_output --partial 'invalid host name'
	run E nic add 10.0.1.20 vpc 100 mac 02:00:00:00:01:20 host hA remote 1.2.3.4
	assert_failure
	# without --etcd, a NIC with a host is refused: it only means something in cluster mode
	run vpcbpf_on hA nic add 10.0.1.20 vpc 100 mac 02:00:00:00:01:20 host hA dev ul0
	assert_failure
	assert_output --partial "host"
}

@test "cluster mode carries a subnet's DHCP options, a NIC's dhcp off and a VPC's table to the agent; bad ones are refused" {
	E vpc add 300 table 4300
	E subnet add 10.3.0.0/24 vpc 300 dns 10.3.0.53,10.3.0.54 domain c.example routes 0.0.0.0/0
	E nic add 10.3.0.5 vpc 300 mac 02:00:00:03:00:05 remote 192.168.101.9 dhcp off
	run E -j subnet set 10.3.0.0/24 vpc 300 dns none
	assert_success
	local rev
	rev=$(jq .revision <<<"$output")
	run E subnet set 10.3.0.0/24 vpc 300 routes 10.3.0.128/25
	assert_failure
	assert_output --partial "inside subnet 10.3.0.0/24"
	run E vpc set 300 table 255
	assert_failure
	run E -j save
	[ "$(jq -c '.subnets[] | select(.vpc == 300) | [.dns, .domain, .routes]' <<<"$output")" = '[null,"c.example","0.0.0.0/0"]' ] ||
		fail "$output"
	for _ in $(seq 100); do
		[ "$(E -j host show | jq '.[] | select(.host == "hA") | .revision')" -ge "$rev" ] 2>/dev/null && break
		sleep 0.1
	done
	run vpcbpf_on hA -j subnet show vpc 300
	[ "$(jq -c '.[0] | [.dns, .domain, .routes]' <<<"$output")" = '[null,"c.example","0.0.0.0/0"]' ] || fail "$output"
	run vpcbpf_on hA -j nic show vpc 300
	[ "$(jq '.[0].dhcp' <<<"$output")" = false ] || fail "$output"
	run vpcbpf_on hA -j vpc show 300
	[ "$(jq '.[0].table' <<<"$output")" = 4300 ] || fail "$output"
}
