#!/usr/bin/env bash
# netns-smoke.sh: end-to-end smoke test of vxgen and xdpfwd in two network
# namespaces it creates and always removes (trap). Run as root after
# `cargo build --release -p vxgen`. Only 198.18.0.0/15 addresses appear in
# the frames, and they never leave the namespaces.
#
#   vxg-tg (core 1)                          vxg-dut (core 0)
#   ┌──────────────────────┐                 ┌──────────────────────┐
#   │ vxgen  TX ── a0 ═════╪═══ veth ════════╪═ c0 ──┐              │
#   │                      │                 │       xdpfwd         │
#   │ vxgen  RX ── u0 ═════╪═══ veth ════════╪═ ul ──┘              │
#   └──────────────────────┘                 └──────────────────────┘
#
# 1. raw frames through xdpfwd: max rate and fixed rate, 64 B and 1400 B,
#    1 and 1000 flows; prints vxgen's JSON and xdpfwd's line.
# 2. frame sanity: with no forwarder, tcpdump on c0 captures vxgen's decap
#    (VXLAN) and encap (inner) frames; tshark must decode VXLAN with the
#    right VNI, valid IPv4 checksums and nothing malformed.
#
# Usage: bench/gen/netns-smoke.sh [DURATION_SECS]   (default 5)

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/target/release}
DUR=${1:-5}
TG=vxg-tg
DUT=vxg-dut
TMP=$(mktemp -d /tmp/vxg-smoke.XXXXXX)
PIDS=()

cleanup() {
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && wait "$p" 2>/dev/null || true
	done
	ip netns del $TG 2>/dev/null || true
	ip netns del $DUT 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "netns-smoke: run as root" >&2; exit 1; }
for b in vxgen xdpfwd; do
	[ -x "$BIN/$b" ] || { echo "netns-smoke: $BIN/$b missing: cargo build --release -p vxgen" >&2; exit 1; }
done

ip netns add $TG
ip netns add $DUT
ip link add a0 netns $TG type veth peer name c0 netns $DUT
ip link add u0 netns $TG type veth peer name ul netns $DUT
for ns_if in $TG:a0 $TG:u0 $DUT:c0 $DUT:ul; do
	ns=${ns_if%%:*} dev=${ns_if##*:}
	ip -n "$ns" link set "$dev" up
done
ip -n $TG link set lo up
ip -n $DUT link set lo up

# Starts xdpfwd in the DUT namespace on core 0; its PID goes to FWD.
start_fwd() {
	ip netns exec $DUT "$BIN/xdpfwd" --a c0 --b ul --core 0 "$@" >"$TMP/fwd.out" 2>&1 &
	FWD=$!
	PIDS+=("$FWD")
	sleep 1
	kill -0 "$FWD" || { cat "$TMP/fwd.out" >&2; echo "netns-smoke: xdpfwd died" >&2; exit 1; }
}

stop_fwd() {
	kill -INT "$FWD"
	wait "$FWD" || { cat "$TMP/fwd.out" >&2; echo "netns-smoke: xdpfwd failed" >&2; exit 1; }
	cat "$TMP/fwd.out"
}

gen() {
	echo "+ vxgen --tx-if a0 --rx-if u0 --core 1 $*"
	ip netns exec $TG "$BIN/vxgen" --tx-if a0 --rx-if u0 --core 1 "$@"
}

echo "== 1. raw frames through xdpfwd (c0 <-> ul), ${DUR}s windows"
start_fwd
gen --mode raw --size 64 --flows 1 --rate 0 --duration "$DUR" --warmup 1 --json
gen --mode raw --size 64 --flows 1 --rate 100000 --duration "$DUR" --warmup 1 --json
gen --mode raw --size 64 --flows 1000 --rate 0 --duration "$DUR" --warmup 1 --json
gen --mode raw --size 1400 --flows 1 --rate 0 --duration "$DUR" --warmup 1 --json
gen --mode raw --size 1400 --flows 1000 --rate 100000 --duration "$DUR" --warmup 1 --json
gen --mode decap --size 64 --flows 1000 --rate 0 --duration "$DUR" --warmup 1
gen --mode decap --size 64 --flows 1000 --rate 100000 --duration "$DUR" --warmup 1
stop_fwd

echo "== 2. frame sanity: capture vxgen's frames on c0 (no forwarder) and decode with tshark"
check_capture() { # MODE EXTRA_VXGEN_ARGS...
	local mode=$1
	shift
	local pcap="$TMP/$mode.pcap"
	ip netns exec $DUT tcpdump -i c0 -nn -U -c 50 -w "$pcap" udp 2>"$TMP/tcpdump.err" &
	local td=$!
	PIDS+=("$td")
	sleep 1
	gen --mode "$mode" --rate 1000 --duration 1 --warmup 0 --drain-ms 50 --flows 4 "$@" >/dev/null
	sleep 0.5
	kill -INT "$td" 2>/dev/null || true
	wait "$td" 2>/dev/null || true
	tshark -r "$pcap" -o ip.check_checksum:TRUE -T fields -E separator=' ' \
		-e frame.len -e ip.src -e ip.dst -e ip.checksum.status -e udp.srcport -e udp.dstport \
		-e vxlan.flags -e vxlan.vni -e _ws.malformed 2>/dev/null | sort | uniq -c | head -20
	local n malformed badsum
	n=$(tshark -r "$pcap" 2>/dev/null | wc -l)
	malformed=$(tshark -r "$pcap" -Y '_ws.malformed || _ws.expert.severity >= "error"' 2>/dev/null | wc -l)
	badsum=$(tshark -r "$pcap" -o ip.check_checksum:TRUE -Y 'ip.checksum.status != 1' 2>/dev/null | wc -l)
	local flows
	flows=$(tshark -r "$pcap" -T fields -e udp.srcport 2>/dev/null | sort -u | wc -l)
	echo "$mode: $n frames captured, $malformed malformed/errors, $badsum with a bad IPv4 checksum, $flows flows"
	[ "$n" -gt 0 ] && [ "$malformed" = 0 ] && [ "$badsum" = 0 ] && [ "$flows" = 4 ] ||
		{ echo "netns-smoke: $mode frames failed the check" >&2; exit 1; }
}
check_capture decap --size 64 --vni 4242
vni=$(tshark -r "$TMP/decap.pcap" -T fields -e vxlan.vni 2>/dev/null | sort -u)
[ "$vni" = 4242 ] || { echo "netns-smoke: VNI decoded as '$vni', expected 4242" >&2; exit 1; }
check_capture encap --size 64
echo "netns-smoke: ok"
