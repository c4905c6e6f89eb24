#!/usr/bin/env bats
# tests/cli/version.bats — vpcbpf -V: version, the git commit it was built from, libbpf and libxdp versions.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

@test "-V names the version, the commit and the libbpf and libxdp versions" {
	local commit='[0-9a-f]{7,}(-dirty)?'
	# built outside a git checkout (a tarball), make cannot know the commit and says so
	git -C "$BATS_TEST_DIRNAME" rev-parse HEAD >/dev/null 2>&1 || commit=unknown
	run "$VPCBPF" -V
	assert_success
	assert_output --regexp "^vpcbpf [0-9]+\.[0-9]+\.[0-9]+ \(commit $commit, libbpf [0-9]+\.[0-9]+(\.[0-9]+)?, libxdp [0-9]+\.[0-9]+(\.[0-9]+)?\)$"
	[ "${#lines[@]}" -eq 1 ]
}

@test "-V -j and -j -V print one JSON object of strings" {
	for args in "-V -j" "-j -V" "--version --json"; do
		run --separate-stderr "$VPCBPF" $args
		assert_success
		jq -e 'keys == ["commit", "libbpf", "libxdp", "version"] and ([.[]] | all(type == "string" and length > 0))' <<<"$output" ||
			fail "$args: $output"
	done
}

@test "the commit in -V is the commit of the tree it was built from" {
	git -C "$BATS_TEST_DIRNAME" rev-parse HEAD >/dev/null 2>&1 || skip "not a git checkout: no commit to compare"
	run "$VPCBPF" -j -V
	commit=$(jq -r .commit <<<"$output")
	[[ "$(git -C "$BATS_TEST_DIRNAME" rev-parse HEAD)" == "${commit%-dirty}"* ]] || fail "-V says $commit"
	# libbpf's own idea of its version agrees with the one -V names
	[[ "$(jq -r .libbpf <<<"$output")" == "$(pkg-config --modversion libbpf | cut -d. -f1,2)"* ]]
}

@test "--help lists each option once" {
	run "$VPCBPF" --help
	assert_success
	[ "$(grep -c -- '--help' <<<"$output")" -eq 1 ]
	[ "$(grep -c -- '--version' <<<"$output")" -eq 1 ]
}
