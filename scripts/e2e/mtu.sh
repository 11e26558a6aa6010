#!/usr/bin/env bash
# End to end: containers whose MTU is the underlay's (1500), not the
# overlay's (1450), as many real ones are. Both hosts run vxswitch (AF_XDP).
#
#   PFX-a100 (198.19.100.1)  PFX-a200              PFX-b100 (198.19.100.2)  PFX-b200
#        eth0 MTU 1500 | c100   | c200                  eth0 MTU 1500 | c100   | c200
#   +------------------+--------+----+             +------------------+--------+----+
#   | PFX-a   vxswitch (host-a.toml) |             | PFX-b   vxswitch (host-b.toml) |
#   +---------------+----------------+             +---------------+----------------+
#                   | ul 198.18.0.1 MTU 1500                       | ul 198.18.0.2 MTU 1500
#                   +--- ul-a [PFX-w: bridge br0] ul-b --------------+
#                          ^ tshark: host A's underlay wire
#
# The capture sits on the wire, in PFX-w: frames that AF_XDP sends on ul,
# or redirects from it, never reach packet taps on ul itself.
#
#   1. ping -M do -s 1472 (1500 bytes of IPv4, DF) gets ICMP frag-needed
#      with mtu 1450 from switch A; -s 1422 (1450 bytes) goes through.
#   2. 10 MB of TCP arrive intact: the SYN and the SYN-ACK cross the
#      underlay with MSS 1410.
#   3. 4,000-byte UDP datagrams without DF (the container's kernel
#      fragments them at 1500) arrive whole: switch A cuts each 1500-byte
#      fragment again to fit the overlay.
#   4. The underlay capture has nothing malformed and no outer fragment:
#      the VXLAN packets themselves are never fragmented (RFC 7348 s4.3).
#
# Run in the order 3, 2, 1: after 1, a100's kernel knows the path MTU 1450
# and would fragment UDP at 1450 itself and advertise no MSS to clamp.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/overlay.sh"
source "$(dirname "$0")/../lib/assert.sh"

P=vxm
DATAGRAMS=5
SIZE=4000
RUN=$(mktemp -d /tmp/vxswitch-e2e.XXXXXX)
trap 'vx_cleanup; rm -rf "$RUN"' EXIT
vx_need_root
: "${VXSWITCH:?}" "${VXCTL:?}"

echo "== containers at MTU 1500 over a 1500-byte underlay (overlay 1450)"
for n in a b w; do vx_netns_add "$P-$n"; done
ip -n "$P-w" link add br0 type bridge
ip -n "$P-w" link set br0 up
for h in a b; do
    ip link add ul netns "$P-$h" type veth peer name "ul-$h" netns "$P-w"
    ip -n "$P-w" link set dev "ul-$h" master br0 up
done
ip -n "$P-a" link set ul address 02:00:00:00:01:01 up
ip -n "$P-b" link set ul address 02:00:00:00:01:02 up
ip -n "$P-a" addr add 198.18.0.1/24 dev ul
ip -n "$P-b" addr add 198.18.0.2/24 dev ul
vx_container "$P-a" "$P-a100" c100 198.19.100.1 02:00:00:00:a1:00
vx_container "$P-a" "$P-a200" c200 198.19.200.1 02:00:00:00:a2:00
vx_container "$P-b" "$P-b100" c100 198.19.100.2 02:00:00:00:b1:00
vx_container "$P-b" "$P-b200" c200 198.19.200.2 02:00:00:00:b2:00
# "Misconfigured": the underlay's MTU, not the overlay's.
for c in a100 a200 b100 b200; do ip -n "$P-$c" link set eth0 mtu 1500; done

ip netns exec "$P-w" tshark -i ul-a -w "$RUN/underlay.pcapng" -q >/dev/null 2>&1 &
VX_PIDS+=($!)
vx_start_switch "$P-a" "$RUN/a.log" --uplink ul --cores 0 --backend xdp --config "$VX_ROOT/configs/host-a.toml" --socket "$RUN/a.sock"
vx_start_switch "$P-b" "$RUN/b.log" --uplink ul --cores 1 --backend xdp --config "$VX_ROOT/configs/host-b.toml" --socket "$RUN/b.sock"
free_before=$(frames_free "$RUN/a.sock")
sleep 1
assert_cmd "ping a100 -> b100 (small)" ip netns exec "$P-a100" ping -c 3 -i 0.2 -W 2 198.19.100.2

# --- 3. UDP without DF, larger than either MTU --------------------------------
counter() { vx_counter "$RUN/$1.sock" "$2"; }
frag0=$(counter a mtu.fragmented) pieces0=$(counter a mtu.fragments)
ip netns exec "$P-b100" python3 - 198.19.100.2 7100 "$DATAGRAMS" "$SIZE" >"$RUN/udp.json" <<'PY' &
import json, socket, sys
ip, port, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def pattern(seq):
    return bytes([seq]) + bytes((seq * 31 + i * 7 + i // 256) % 256 for i in range(1, size))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((ip, port))
s.settimeout(5)
got, intact, lengths = 0, 0, []
try:
    while got < n:
        d, _ = s.recvfrom(65535)
        got += 1
        lengths.append(len(d))
        intact += int(len(d) == size and d == pattern(d[0]))
except socket.timeout:
    pass
print(json.dumps({"received": got, "intact": intact, "lengths": lengths}))
PY
rcv=$!
for _ in $(seq 50); do
    ip netns exec "$P-b100" ss -Hlun "sport = :7100" | grep -q . && break
    sleep 0.1
done
ip netns exec "$P-a100" python3 - 198.19.100.2 7100 "$DATAGRAMS" "$SIZE" <<'PY'
import socket, sys, time
ip, port, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def pattern(seq):
    return bytes([seq]) + bytes((seq * 31 + i * 7 + i // 256) % 256 for i in range(1, size))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# IP_MTU_DISCOVER = IP_PMTUDISC_DONT: no DF; the kernel fragments at the
# interface MTU (1500).
s.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_MTU_DISCOVER", 10), getattr(socket, "IP_PMTUDISC_DONT", 0))
for seq in range(n):
    s.sendto(pattern(seq), (ip, port))
    time.sleep(0.1)
PY
wait "$rcv" || true
udp_field() { python3 -c "import json; print(json.load(open('$RUN/udp.json'))['$1'])"; }
echo "  udp: $(cat "$RUN/udp.json")"
assert_eq "$(udp_field received)" "$DATAGRAMS" "$SIZE-byte datagrams without DF received by b100"
assert_eq "$(udp_field intact)" "$DATAGRAMS" "datagrams whole, every byte as sent"
fragmented=$(($(counter a mtu.fragmented) - frag0))
pieces=$(($(counter a mtu.fragments) - pieces0))
echo "  host A: mtu.fragmented +$fragmented, mtu.fragments +$pieces"
assert_ge "$fragmented" "$DATAGRAMS" "host A mtu.fragmented moved (the 1500-byte fragments cut again)"
assert_ge "$pieces" $((2 * fragmented)) "host A mtu.fragments (two or more each)"

# --- 2. TCP with the MSS clamped ----------------------------------------------
clamped0=$(($(counter a mtu.mss_clamped) + $(counter b mtu.mss_clamped)))
if tcp_transfer "$P-a100" "$P-b100" 198.19.100.2 10; then pass "TCP 10 MB a100 -> b100 intact"; else fail "TCP a100 -> b100"; fi
clamped=$(($(counter a mtu.mss_clamped) + $(counter b mtu.mss_clamped) - clamped0))
assert_ge "$clamped" 2 "mtu.mss_clamped over both hosts (SYN by A, SYN-ACK by B)"

# --- 1. Path MTU discovery ----------------------------------------------------
icmp0=$(counter a mtu.icmp_sent)
if out=$(ip netns exec "$P-a100" ping -M 'do' -s 1472 -c 1 -W 2 198.19.100.2 2>&1); then
    fail "ping -M do -s 1472 went through: $out"
fi
line=$(grep -iE "frag|too long" <<<"$out" | head -1 || true)
echo "  ping -M do -s 1472: $line"
if grep -qE "mtu ?= ?1450" <<<"$line"; then pass "ping -M do -s 1472 told mtu 1450"; else fail "no mtu 1450 in: $out"; fi
assert_ge "$(($(counter a mtu.icmp_sent) - icmp0))" 1 "host A mtu.icmp_sent moved"
# The kernel now knows the path MTU: the same ping fails before it leaves.
out=$(ip netns exec "$P-a100" ping -M 'do' -s 1472 -c 1 -W 2 198.19.100.2 2>&1 || true)
echo "  again: $(grep -iE "frag|too long" <<<"$out" | head -1 || true)"
assert_cmd "ping -M do -s 1422 (1450 bytes of IPv4) a100 -> b100" \
    ip netns exec "$P-a100" ping -M 'do' -s 1422 -c 3 -i 0.2 -W 2 198.19.100.2

# --- 4. The underlay capture --------------------------------------------------
sleep 1
kill -INT "${VX_PIDS[0]}"
wait "${VX_PIDS[0]}" 2>/dev/null || true
cap=$RUN/underlay.pcapng
shark() { tshark -r "$cap" -d udp.port==4789,vxlan "$@" 2>/dev/null; }
echo "  capture: $(shark | wc -l) frames on host A's underlay wire"
syn='tcp.port == 5001 && tcp.flags.syn == 1'
shark -Y "$syn" -T fields -e ip.src -e tcp.flags.ack -e tcp.options.mss_val | sed 's/^/  | /'
assert_ge "$(shark -Y "$syn && tcp.flags.ack == 0 && tcp.options.mss_val == 1410" | wc -l)" 1 "SYN inside VXLAN with MSS 1410"
assert_ge "$(shark -Y "$syn && tcp.flags.ack == 1 && tcp.options.mss_val == 1410" | wc -l)" 1 "SYN-ACK inside VXLAN with MSS 1410"
assert_eq "$(shark -Y "$syn && tcp.options.mss_val != 1410" | wc -l)" 0 "SYNs with another MSS"
assert_eq "$(shark -Y _ws.malformed | wc -l)" 0 "malformed frames in the underlay capture"
assert_eq "$(shark -Y 'frame.len > 1514' | wc -l)" 0 "frames over 1514 bytes (1500 of IPv4) on the wire"
# Every occurrence of each IPv4 field, comma-separated: the first is the
# outer header, a second one the inner (inside VXLAN).
shark -Y ip -T fields -e ip.flags.mf -e ip.frag_offset >"$RUN/frag"
is_set() { [ "$1" = 1 ] || [ "$1" = True ]; }
outer=0 inner=0
while IFS=$'\t' read -r mf off; do
    if is_set "${mf%%,*}" || [ "${off%%,*}" != 0 ]; then outer=$((outer + 1)); fi
    if [[ $mf == *,* ]] && { is_set "${mf#*,}" || [ "${off#*,}" != 0 ]; }; then inner=$((inner + 1)); fi
done <"$RUN/frag"
echo "  IPv4 frames: $(wc -l <"$RUN/frag"); inner fragments inside VXLAN: $inner"
assert_eq "$outer" 0 "outer IPv4 fragments (MF or an offset) on the underlay"
assert_ge "$inner" $((5 * DATAGRAMS)) "inner fragments carried inside VXLAN (3 from the kernel, 2 of them cut in two)"

sleep 0.5
assert_cmd "frames conserved on host A" frames_conserved "$RUN/a.sock"
assert_eq "$(frames_free "$RUN/a.sock")" "$free_before" "host A free frames unchanged after traffic"
test_done "mtu"
