#!/usr/bin/env bash
# Runs every test of vxswitch, as root on a fresh Debian machine:
#   1. installs the system packages it needs (apt-get),
#   2. cargo fmt --check, cargo clippy -D warnings, cargo test (unit, pipeline, CLI),
#   3. the end-to-end tests: real AF_XDP (and AF_PACKET) switches in network
#      namespaces that each test creates and removes, even on failure.
#
# usage: scripts/test.sh [--no-e2e]
source "$(dirname "$0")/lib/common.sh"

vx_need_root
# iperf3: the incast test (and the TCP harness, which also wants sockperf and OVS).
vx_install_packages iperf3
cd "$VX_ROOT"

vx_log "cargo fmt --check"
cargo fmt --all -- --check
vx_log "cargo clippy --all-targets -- -D warnings"
cargo clippy --quiet --all-targets -- -D warnings
vx_log "cargo test"
cargo test --workspace

[ "${1:-}" = "--no-e2e" ] && exit 0

vx_build
export VXSWITCH VXCTL
netns_before=$(ip netns list | awk '{print $1}' | sort)
E2E=(
    "e2e/two_hosts.sh xdp"
    "e2e/two_hosts.sh packet"
    "e2e/two_hosts.sh xdp2"
    "e2e/two_hosts.sh xdp-txoff"
    "e2e/two_hosts.sh xdp-generic"
    "e2e/two_hosts.sh jumbo"
    "e2e/learning.sh"
    "e2e/kernel_interop.sh xdp"
    "e2e/kernel_interop.sh packet"
    "e2e/hostile.sh xdp"
    "e2e/hostile.sh packet"
    "e2e/host_reachable.sh xdp"
    "e2e/host_reachable.sh packet"
    "e2e/nexthop_auto.sh"
    "e2e/mtu.sh"
    "e2e/live_control.sh xdp"
    "e2e/live_control.sh xdp2"
    "e2e/live_control.sh xdp-generic"
    "e2e/live_control.sh packet"
    "e2e/control_group.sh"
    "e2e/ecmp_failover.sh"
    "e2e/incast.sh"
)
passed=0 failed=0 failures=()
for t in "${E2E[@]}"; do
    vx_log "end to end: $t"
    # shellcheck disable=SC2086
    if bash "$VX_ROOT/scripts/"$t; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$t")
    fi
done
# The performance harness, quick mode: proves it runs and produces numbers
# for every device under test. Speeds are never asserted.
vx_log "performance harness (scripts/bench.sh --quick)"
bench_json=$(mktemp /tmp/vxswitch-bench.XXXXXX.json)
if bash "$VX_ROOT/scripts/bench.sh" --quick --json "$bench_json" && python3 - "$bench_json" <<'PY'
import json, sys
rows = [r for r in json.load(open(sys.argv[1]))["rows"] if r.get("kind") == "max_rate"]
duts = {r["dut"] for r in rows if r["gen"]["received"] > 0}
missing = {"vxswitch", "kernel", "ovs", "raw_afxdp"} - duts
assert not missing, f"no numbers for {missing}"
# The devices that count their own cycles per packet report them.
cyc = {r["dut"] for r in rows if r.get("cycles_per_packet")}
missing = {"vxswitch", "ovs", "raw_afxdp"} - cyc
assert not missing, f"no cycles per packet for {missing}"
print(f"bench: numbers for {sorted(duts)}, cycles per packet for {sorted(cyc)}")
PY
then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    failures+=("bench.sh --quick")
fi
rm -f "$bench_json"

vx_log "TCP and request/response harness (scripts/bench.sh --tcp --quick)"
tcp_json=$(mktemp /tmp/vxswitch-tcp.XXXXXX.json)
if bash "$VX_ROOT/scripts/bench.sh" --tcp --quick --json "$tcp_json" && python3 - "$tcp_json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
for kind, key in (("tcp", "gbps"), ("rr", "p99")):
    got = {r["dut"] for r in rows if r.get("kind") == kind and r.get(key)}
    missing = {"vxswitch", "vxswitch_native", "kernel", "kernel_txoff", "ovs_txoff", "raw_afxdp_txoff"} - got
    assert not missing, f"no {kind} numbers for {missing}"
print("tcp bench: numbers for every device")
PY
then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    failures+=("bench.sh --tcp --quick")
fi
rm -f "$tcp_json"

# Namespaces that appeared during the run and are still there: a test did not
# clean up after itself (ones that existed before are someone else's).
leftover=$(comm -13 <(echo "$netns_before") <(ip netns list | awk '{print $1}' | sort) | tr '\n' ' ')
if [ -n "$leftover" ]; then
    echo "namespaces left behind: $leftover" >&2
    failed=$((failed + 1))
    failures+=("cleanup")
fi
[ ${#failures[@]} -eq 0 ] || echo "failed: ${failures[*]}" >&2
echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
