#!/usr/bin/env bash
# End to end: the uplink stays the host's NIC. With vxswitch running on both
# hosts' uplinks (topology: lib/overlay.sh), host B reaches host A's own
# address (ARP, ping, 10 MB of TCP to a server in host A's kernel) while
# overlay traffic flows in both VNIs; no ICMP port unreachable leaves host A;
# the uplink program's counters move; and (AF_XDP) a switch killed with -9
# restarts at once over its stale program while host A stays reachable.
#
# usage: host_reachable.sh [xdp|packet]
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/overlay.sh"
source "$(dirname "$0")/../lib/assert.sh"

BACKEND=${1:-xdp}
P=vxr$BACKEND
RUN=$(mktemp -d /tmp/vxswitch-e2e.XXXXXX)
trap 'vx_cleanup; rm -rf "$RUN"' EXIT
vx_need_root
: "${VXSWITCH:?}" "${VXCTL:?}"

echo "== host A stays reachable on its uplink, backend $BACKEND"
overlay_topology "$P"
A_ARGS=(--uplink ul --cores 0 --backend "$BACKEND" --config "$VX_ROOT/configs/host-a.toml" --socket "$RUN/a.sock")
vx_start_switch "$P-a" "$RUN/a.log" "${A_ARGS[@]}"
A_PID=${VX_PIDS[-1]}
vx_start_switch "$P-b" "$RUN/b.log" --uplink ul --cores $((1 % $(nproc))) --backend "$BACKEND" --config "$VX_ROOT/configs/host-b.toml" --socket "$RUN/b.sock"
ip netns exec "$P-b" tcpdump -i ul -nn -w "$RUN/b-ul.pcap" -U icmp >/dev/null 2>&1 &
VX_PIDS+=($!)
sleep 1
"$VXCTL" -s "$RUN/a.sock" --json stats >"$RUN/before.json"

# Overlay traffic in both VNIs the whole time.
ip netns exec "$P-a100" ping -c 60 -i 0.1 -W 2 198.19.100.2 >"$RUN/ov100.txt" 2>&1 &
ov100=$!
ip netns exec "$P-a200" ping -c 60 -i 0.1 -W 2 198.19.200.2 >"$RUN/ov200.txt" 2>&1 &
ov200=$!

ip -n "$P-b" neigh flush dev ul
assert_cmd "host B pings host A's underlay address" ip netns exec "$P-b" ping -c 3 -i 0.2 -W 2 198.18.0.1
ip -n "$P-b" neigh show 198.18.0.1 | grep -q "lladdr 02:00:00:00:01:01" && pass "host B resolved host A's MAC by ARP" || fail "no ARP entry for 198.18.0.1 on host B"
tcp_transfer "$P-b" "$P-a" 198.18.0.1 10 6000 && pass "10 MB TCP from host B to a server in host A's kernel" || fail "TCP to host A's kernel"
wait "$ov100" && pass "VNI 100 pings meanwhile, none lost" || fail "VNI 100 lost pings: $(tail -2 "$RUN/ov100.txt")"
wait "$ov200" && pass "VNI 200 pings meanwhile, none lost" || fail "VNI 200 lost pings: $(tail -2 "$RUN/ov200.txt")"
sleep 0.5
unreach=$(tshark -r "$RUN/b-ul.pcap" -Y "icmp.type == 3 && icmp.code == 3" 2>/dev/null | wc -l)
assert_eq "$unreach" 0 "ICMP port unreachable from host A on the underlay"

if [ "$BACKEND" = xdp ]; then
    "$VXCTL" -s "$RUN/a.sock" --json stats >"$RUN/after.json"
    delta() { python3 -c "import json; a=json.load(open('$RUN/after.json'))['counters']; b=json.load(open('$RUN/before.json'))['counters']; print(a['$1']-b['$1'])"; }
    assert_ge "$(delta xdp.redirected)" 120 "uplink program redirected VXLAN to the switch"
    # Frames, as the program sees them: with the uplink a veth in generic
    # mode (auto, one worker), host B's kernel keeps GSO and 10 MB of TCP
    # arrive as super-frames of up to 64 KiB, at least 150 of them.
    assert_ge "$(delta xdp.pass_not_udp)" 150 "uplink program passed TCP and ICMP to the kernel"
    assert_ge "$(delta xdp.pass_not_ipv4)" 1 "uplink program passed ARP to the kernel"

    echo "  kill -9 host A's switch, start it again at once"
    ip netns exec "$P-b" ping -c 30 -i 0.1 -W 1 198.18.0.1 >"$RUN/down.txt" 2>&1 &
    downping=$!
    sleep 0.5
    kill -9 "$A_PID"
    wait "$A_PID" 2>/dev/null || true
    vx_start_switch "$P-a" "$RUN/a2.log" "${A_ARGS[@]}"
    pass "restarted over the stale XDP program"
    wait "$downping" && pass "host A answered every ping while its switch was killed and restarted" || fail "host A unreachable around the restart: $(tail -2 "$RUN/down.txt")"
    assert_cmd "overlay works after the restart" ip netns exec "$P-a100" ping -c 3 -i 0.2 -W 2 198.19.100.2
fi
test_done "host_reachable[$BACKEND]"
