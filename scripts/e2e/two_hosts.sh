#!/usr/bin/env bash
# End to end: two hosts running vxswitch, ping and TCP across VNI 100 and
# VNI 200, no frame crossing VNIs, frames conserved, no CPU when idle.
# Topology: lib/overlay.sh.
#
# usage: two_hosts.sh [xdp|packet|xdp2|xdp-txoff|xdp-generic|jumbo]
#   xdp2: AF_XDP with two workers per switch (--cores 0-1) on veths with two
#   queues each, so both workers and the shared FDB carry traffic.
#   xdp-txoff: containers with TX checksum offload off (full checksums sent).
#   xdp-generic: AF_XDP with --xdp-mode generic (SKB mode) on every port.
#   In it and in the default `auto` (with one worker: generic on veths) the
#   containers' 64 KiB TCP super-frames (GSO) reach the switch as chains of
#   UMEM frames, which it segments (pipeline/gso.rs).
#   jumbo: AF_XDP with an MTU 3000 underlay (overlay 2950).
# Every mode ends by checking that the idle switches use no CPU.
# Otherwise containers keep their default offloads, and the switch must
# complete their partial checksums (asserted by the csum counters).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/overlay.sh"
source "$(dirname "$0")/../lib/assert.sh"

MODE=${1:-xdp}
P=vx2$MODE
BACKEND=$MODE
CORES_A=0 CORES_B=1
if [ "$MODE" = xdp2 ]; then
    BACKEND=xdp VX_QUEUES=2 CORES_A=0-1 CORES_B=0-1
fi
if [ "$MODE" = xdp-txoff ]; then
    BACKEND=xdp VX_TX_OFF=1
fi
XDP_MODE=auto
# Frames each host encapsulates and decapsulates at least, for 30 MB of TCP.
MIN_FRAMES=7000
if [ "$MODE" = jumbo ]; then
    MIN_FRAMES=3000
    # A jumbo underlay: MTU 3000, overlay 2950 (the frame size allows up to
    # 3800; native XDP on a veth up to about 3500).
    BACKEND=xdp
fi
if [ "$MODE" = xdp-generic ]; then
    # Generic XDP does not make the veth peer segment GSO frames: the
    # containers keep their offloads and send 64 KiB super-frames.
    BACKEND=xdp XDP_MODE=generic
fi
RUN=$(mktemp -d /tmp/vxswitch-e2e.XXXXXX)
trap 'vx_cleanup; rm -rf "$RUN"' EXIT
vx_need_root
: "${VXSWITCH:?}" "${VXCTL:?}"

echo "== two hosts, $MODE"
overlay_topology "$P"
if [ "$MODE" = jumbo ]; then
    for h in a b; do
        ip -n "$P-$h" link set ul mtu 3000
        for v in 100 200; do
            ip -n "$P-$h" link set "c$v" mtu 2950
            ip -n "$P-$h$v" link set eth0 mtu 2950
        done
    done
fi
CFG_A=$VX_ROOT/configs/host-a.toml CFG_B=$VX_ROOT/configs/host-b.toml
if [ "$MODE" = jumbo ]; then
    # No `mtu` in the config: the switch takes the uplink's.
    sed '/^mtu = /d' "$CFG_A" >"$RUN/a.toml"
    sed '/^mtu = /d' "$CFG_B" >"$RUN/b.toml"
    CFG_A=$RUN/a.toml CFG_B=$RUN/b.toml
fi
vx_start_switch "$P-a" "$RUN/a.log" --uplink ul --cores "$CORES_A" --backend "$BACKEND" --xdp-mode "$XDP_MODE" --config "$CFG_A" --socket "$RUN/a.sock"
vx_start_switch "$P-b" "$RUN/b.log" --uplink ul --cores "$CORES_B" --backend "$BACKEND" --xdp-mode "$XDP_MODE" --config "$CFG_B" --socket "$RUN/b.sock"
free_before=$(frames_free "$RUN/a.sock")
if [ "$MODE" = jumbo ]; then
    "$VXCTL" -s "$RUN/a.sock" stats | head -1 | grep -q "mtu 3000 (overlay 2950)" && pass "uplink MTU 3000, overlay 2950" \
        || fail "MTUs: $("$VXCTL" -s "$RUN/a.sock" stats | head -1)"
    assert_cmd "2,950-byte overlay packets both ways (ping -M do -s 2922)" \
        ip netns exec "$P-a100" ping -M do -s 2922 -c 3 -i 0.2 -W 2 198.19.100.2
    assert_cmd "and back" ip netns exec "$P-b100" ping -M do -s 2922 -c 3 -i 0.2 -W 2 198.19.100.1
    # One byte more does not fit: the switch answers with frag-needed, MTU 2950.
    ip -n "$P-a100" link set eth0 mtu 3000
    out=$(ip netns exec "$P-a100" ping -M do -s 2923 -c 1 -W 2 198.19.100.2 2>&1 || true)
    ip -n "$P-a100" link set eth0 mtu 2950
    echo "$out" | grep -q "mtu = 2950\|mtu=2950" && pass "2,951 bytes: frag needed, mtu 2950" || fail "2,951 bytes: $out"
fi

# Capture on the VNI-200 containers while VNI 100 carries traffic.
for c in a200 b200; do
    ip netns exec "$P-$c" tcpdump -i eth0 -nn -e -w "$RUN/$c.pcap" -U >/dev/null 2>&1 &
    VX_PIDS+=($!)
done
sleep 1

assert_cmd "ping VNI 100 a -> b" ip netns exec "$P-a100" ping -c 5 -i 0.2 -W 2 198.19.100.2
assert_cmd "ping VNI 100 b -> a" ip netns exec "$P-b100" ping -c 5 -i 0.2 -W 2 198.19.100.1
tcp_transfer "$P-a100" "$P-b100" 198.19.100.2 10 && pass "TCP 10 MB VNI 100 a -> b" || fail "TCP VNI 100 a -> b"
tcp_transfer "$P-b100" "$P-a100" 198.19.100.1 10 && pass "TCP 10 MB VNI 100 b -> a" || fail "TCP VNI 100 b -> a"
sleep 1
for c in a200 b200; do
    n=$(tshark -r "$RUN/$c.pcap" -Y "eth.addr == 02:00:00:00:a1:00 || eth.addr == 02:00:00:00:b1:00 || ip.addr == 198.19.100.0/24" 2>/dev/null | wc -l)
    assert_eq "$n" 0 "frames of VNI 100 seen by container $c"
done
# Addresses of VNI 100 are unreachable from VNI 200.
if ip netns exec "$P-a200" ping -c 2 -i 0.2 -W 1 198.19.100.2 >/dev/null 2>&1; then fail "VNI 200 reached VNI 100"; else pass "VNI 200 cannot reach VNI 100"; fi

assert_cmd "ping VNI 200 a -> b" ip netns exec "$P-a200" ping -c 5 -i 0.2 -W 2 198.19.200.2
tcp_transfer "$P-a200" "$P-b200" 198.19.200.2 10 && pass "TCP 10 MB VNI 200 a -> b" || fail "TCP VNI 200 a -> b"

for h in a b; do
    enc=$(vx_counter "$RUN/$h.sock" encap.packets)
    dec=$(vx_counter "$RUN/$h.sock" decap.packets)
    assert_ge "$enc" "$MIN_FRAMES" "host $h encapsulated"
    assert_ge "$dec" "$MIN_FRAMES" "host $h decapsulated"
    assert_eq "$(vx_counter "$RUN/$h.sock" decap.unknown_vni)" 0 "host $h decap.unknown_vni"
    fixed=$(vx_counter "$RUN/$h.sock" csum.completed)
    if [ "$MODE" = xdp-txoff ]; then
        # Only a frame whose full checksum equals its pseudo-header sum (about
        # 1 in 65,536) is recomputed, to the same value (pipeline/csum.rs).
        [ "$fixed" -le 5 ] && pass "host $h partial checksums completed with offload off: $fixed (<= 5)" \
            || fail "host $h completed $fixed checksums with offload off"
    else
        assert_ge "$fixed" "$((MIN_FRAMES * 5 / 7))" "host $h partial checksums completed (containers keep offloads)"
    fi
done
if [ "$MODE" = xdp2 ]; then
    # auto with two workers keeps the veths native: in generic mode a veth's
    # input all arrives on queue 0, so one worker would get it all.
    mode_line=$(grep -o "xdp \[[^]]*\]" "$RUN/a.log")
    assert_eq "$mode_line" "xdp [ul native, c100 native, c200 native]" "auto with two workers"
elif [ "$BACKEND" = xdp ] && [ -z "${VX_TX_OFF:-}" ]; then
    if [ "$XDP_MODE" = generic ]; then
        ip -n "$P-a" link show ul | grep -q "xdpgeneric" && pass "uplink program attached in generic (SKB) mode" \
            || fail "uplink program not in generic mode: $(ip -n "$P-a" link show ul)"
    else
        # auto, one worker: every veth in generic mode (their peers keep GSO).
        mode_line=$(grep -o "xdp \[[^]]*\]" "$RUN/a.log")
        assert_eq "$mode_line" "xdp [ul generic, c100 generic, c200 generic]" "auto on a one-worker switch's veths"
        ip -n "$P-a" link show c100 | grep -q "xdpgeneric" && pass "c100's program in generic (SKB) mode" \
            || fail "c100 not in generic mode: $(ip -n "$P-a" link show c100)"
    fi
    # Writes of 3,000 bytes: super-frames of three segments, which fit one
    # UMEM frame but not the overlay. All must arrive, promptly.
    ip netns exec "$P-b100" timeout 20 python3 -c '
import socket
l = socket.create_server(("198.19.100.2", 7100)); c, _ = l.accept(); n = 0
while n < 150000:
    b = c.recv(65536)
    if not b: break
    n += len(b)
print(n)' >"$RUN/small.out" &
    srv=$!
    sleep 0.5
    ip netns exec "$P-a100" timeout 20 python3 -c '
import socket, time
s = socket.create_connection(("198.19.100.2", 7100))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for _ in range(50):
    s.sendall(bytes(3000)); time.sleep(0.01)
s.close()'
    wait "$srv"
    assert_eq "$(cat "$RUN/small.out")" 150000 "bytes of 50 writes of 3,000 received"
    # The TCP transfers' super-frames were cut, none dropped as too big.
    for h in a b; do
        cut=$(vx_counter "$RUN/$h.sock" gso.segmented)
        segs=$(vx_counter "$RUN/$h.sock" gso.segments)
        echo "  host $h: $cut super-frames cut into $segs segments"
        assert_ge "$cut" 1 "host $h super-frames segmented"
        assert_ge "$segs" "$((cut * 2))" "host $h segments (at least two per super-frame)"
        assert_eq "$(vx_counter "$RUN/$h.sock" rx.oversize)" 0 "host $h rx.oversize"
        assert_eq "$(vx_counter "$RUN/$h.sock" tx.no_frame)" 0 "host $h tx.no_frame"
        # Small super-frames (two or three segments) fit one UMEM frame but
        # not the overlay: cut as well, so no too-big reply goes back (jumbo:
        # but the one its 2,951-byte ping asked for, above).
        icmp=0
        [ "$MODE" = jumbo ] && [ "$h" = a ] && icmp=1
        assert_eq "$(vx_counter "$RUN/$h.sock" mtu.icmp_sent)" "$icmp" "host $h mtu.icmp_sent"
    done
    # A UDP super-frame (UDP_SEGMENT: its datagram boundaries do not reach
    # the switch) cannot be cut: dropped and counted, and the switch goes on.
    ip netns exec "$P-a100" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_UDP, 103, 1400)  # UDP_SEGMENT
s.sendto(bytes(14000), ("198.19.100.2", 9))'
    sleep 0.5
    assert_eq "$(vx_counter "$RUN/a.sock" rx.oversize)" 1 "host a rx.oversize after one UDP super-frame"
    assert_cmd "and traffic still flows" ip netns exec "$P-a100" ping -c 2 -i 0.2 -W 2 198.19.100.2
fi
sleep 0.5
assert_cmd "frames conserved on host A" frames_conserved "$RUN/a.sock"
assert_cmd "frames conserved on host B" frames_conserved "$RUN/b.sock"
assert_eq "$(frames_free "$RUN/a.sock")" "$free_before" "host A free frames unchanged after traffic"
"$VXCTL" -s "$RUN/a.sock" stats | sed 's/^/  | /' | head -16
if [ "$MODE" = xdp2 ]; then
    # Four more flows so both queues see traffic (the veth picks a queue per flow).
    for port in 5011 5012 5013 5014; do
        tcp_transfer "$P-a100" "$P-b100" 198.19.100.2 2 "$port" >/dev/null || fail "TCP on port $port"
    done
    # A sequence-numbered UDP stream over 16 flows: whichever worker a flow
    # lands on, its datagrams arrive in order.
    ip netns exec "$P-b100" python3 "$VX_ROOT/scripts/lib/udpseq.py" recv 198.19.100.2 7000 20000 3 >"$RUN/seq.json" &
    rcv=$!
    sleep 0.5
    ip netns exec "$P-a100" python3 "$VX_ROOT/scripts/lib/udpseq.py" send 198.19.100.2 7000 20000 --flows 16
    wait "$rcv"
    seq_field() { python3 -c "import json; print(json.load(open('$RUN/seq.json'))['$1'])"; }
    echo "  udp sequence stream: $(cat "$RUN/seq.json")"
    assert_eq "$(seq_field reordered)" 0 "datagrams reordered within a flow"
    assert_eq "$(seq_field duplicates)" 0 "datagrams duplicated"
    assert_ge "$(seq_field received)" 19000 "datagrams received of 20000"
    busy=$("$VXCTL" -s "$RUN/a.sock" --json stats | python3 -c "import json,sys; print(sum(1 for w in json.load(sys.stdin)['workers'] if w['rx_packets'] > 100))")
    assert_eq "$busy" 2 "workers of host A that carried traffic"
fi
# An idle switch costs no CPU: after its last frame a worker polls (yielding
# its core) for 1 ms, then sleeps in poll(2) until the next frame.
sleep 0.5
idle=$(switch_cpu_pct 2)
[ "$idle" -le 10 ] && pass "both switches idle: ${idle} % of a core over 2 s (<= 10)" \
    || fail "idle switches used ${idle} % of a core over 2 s"
test_done "two_hosts[$MODE]"
