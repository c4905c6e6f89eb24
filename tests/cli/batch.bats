#!/usr/bin/env bats
# tests/cli/batch.bats — vpcbpf --batch FILE: good files apply; the first failure is reported as file:line.
load common

@test "--batch applies a good file: comments, blank lines, continuation, quotes" {
	local f="$LIB_STATE/good.batch"
	cat >"$f" <<-'EOT'
	# two tenants with the same addresses
	vpc add 10 name "blue"
	vpc add 20 name red

	subnet add 10.0.1.0/24 vpc 10   # trailing comment
	vxnet add 10.0.1.0/24 \
	    vpc 20
	nic add 10.0.1.11 vpc 10 mac 02:00:00:00:01:11 remote 192.168.100.2
	route add 0.0.0.0/0 vpc 10 blackhole
	EOT
	run --separate-stderr v -b "$f"
	assert_success
	ok_json vpc show
	jq -e 'map(.name) == ["blue", "red"]' <<<"$output"
	ok_json subnet show
	jq -e 'length == 2' <<<"$output"
	ok_json nic show
	jq -e 'length == 1' <<<"$output"
	ok_json route show vpc 10
	jq -e 'length == 2' <<<"$output"
}

@test "--batch - reads stdin" {
	run --separate-stderr bash -c "printf 'vpc add 5\nvpc add 6\n' | \"\$VPCBPF\" -n $(host_ns h) -d $(host_pin h) --batch -"
	assert_success
	ok_json vpc show
	jq -e 'map(.vni) == [5, 6]' <<<"$output"
}

@test "--batch reports file:line of the first failure and exits 1" {
	local f="$LIB_STATE/bad.batch"
	cat >"$f" <<-'EOT'
	vpc add 10
	# a comment

	subnet add 10.0.1.0/24 \
	   vpc 10
	subnet add 10.0.2.1/24 vpc 10
	vpc add 11
	EOT
	run --separate-stderr v -b "$f"
	assert_failure 1
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "$stderr"
	[[ "$stderr" == *"$f:6:"*'"10.0.2.1/24"'* ]] || fail "$stderr"
	run --separate-stderr v -j -b "$f.missing"
	assert_failure 1
	[[ "$stderr" == *"$f.missing"* ]]
	jq -e '.error' <<<"$output"
}

@test "--batch: an error on a continued line names the line it starts on" {
	local f="$LIB_STATE/cont.batch"
	printf 'vpc add 1\nvpc add 2 \\\n  nmae x\n' >"$f"
	run --separate-stderr v -b "$f"
	assert_failure 1
	[[ "$stderr" == *"$f:2:"*'"nmae"'* ]] || fail "$stderr"
	printf 'vpc add 3\nvpc add 4 \\\n  nmae x\n' >"$f.j"
	run --separate-stderr v -j -b "$f.j"
	assert_failure 1
	jq -e '.error | test(":2: ") and test("nmae")' <<<"$output"
}

@test "--batch with a command on the command line is refused" {
	refuses 'batch' -b /dev/null vpc show
}
