#!/usr/bin/env bash
# End to end: remote VTEPs without a configured MAC are reached through the
# kernel's route (its gateway) at the MAC the switch's own ARP finds (the
# kernel's neighbour table as the first hint), and a route change is
# followed with no restart.
#
#   PFX-a100 (198.19.100.1)                      PFX-b100 (198.19.100.2)
#      | c100                                         | eth0
#   PFX-a: vxswitch, VTEP 198.18.0.1              PFX-b: kernel vxlan 100 + bridge,
#      | ul                                           | ul   VTEP 198.18.1.2
#   PFX-la: bridge  --- r1a .253 [PFX-r1] r1b .253 --- PFX-lb: bridge
#   198.18.0.0/24   --- r2a .254 [PFX-r2] r2b .254 ---  198.18.1.0/24
#
# Host A's config names no MAC for 198.18.1.2: the switch asks the kernel for
# the route (via R1 at first, then via R2) and ARPs for the gateway itself,
# and follows the change within a second.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/assert.sh"

P=vxn
RUN=$(mktemp -d /tmp/vxswitch-e2e.XXXXXX)
trap 'vx_cleanup; rm -rf "$RUN"' EXIT
vx_need_root
: "${VXSWITCH:?}" "${VXCTL:?}"

echo "== next hops from the kernel, route change followed"
for n in la lb a b r1 r2; do vx_netns_add "$P-$n"; done
for l in la lb; do
    ip -n "$P-$l" link add br0 type bridge
    ip -n "$P-$l" link set br0 up
done
link() { # NS IF LAN MAC ADDR/LEN
    ip link add "$2" netns "$1" type veth peer name "$1-$2" netns "$P-$3"
    ip -n "$P-$3" link set "$1-$2" master br0 up
    ip -n "$1" link set "$2" address "$4" up
    ip -n "$1" addr add "$5" dev "$2"
}
link "$P-a" ul la 02:00:00:00:01:01 198.18.0.1/24
link "$P-b" ul lb 02:00:00:00:01:02 198.18.1.2/24
for r in 1 2; do
    link "$P-r$r" "r${r}a" la "02:00:00:00:0${r}:0a" "198.18.0.25$((r + 2))/24"
    link "$P-r$r" "r${r}b" lb "02:00:00:00:0${r}:0b" "198.18.1.25$((r + 2))/24"
    ip netns exec "$P-r$r" sysctl -qw net.ipv4.ip_forward=1
done
ip -n "$P-a" route add 198.18.1.0/24 via 198.18.0.253
ip -n "$P-b" route add 198.18.0.0/24 via 198.18.1.253
vx_container "$P-a" "$P-a100" c100 198.19.100.1 02:00:00:00:a1:00
vx_container "$P-b" "$P-b100" c100 198.19.100.2 02:00:00:00:b1:00
ip -n "$P-b" link add vx100 type vxlan id 100 local 198.18.1.2 dstport 4789
bridge -n "$P-b" fdb append 00:00:00:00:00:00 dev vx100 dst 198.18.0.1
ip -n "$P-b" link add br100 type bridge
ip -n "$P-b" link set vx100 master br100 up
ip -n "$P-b" link set c100 master br100 up
ip -n "$P-b" link set br100 up

cat >"$RUN/a.toml" <<CFG
[underlay]
vtep = "198.18.0.1"
[[vni]]
id = 100
flood = ["198.18.1.2"]
[[port]]
name = "c100"
vni = 100
CFG
vx_start_switch "$P-a" "$RUN/a.log" --uplink ul --cores 0 --config "$RUN/a.toml" --socket "$RUN/a.sock"
vtep_field() { "$VXCTL" -s "$RUN/a.sock" --json stats | python3 -c "import json,sys; print(json.load(sys.stdin)['vteps'][0]['$1'])"; }
for _ in $(seq 30); do [ "$(vtep_field via)" = "arp, via 198.18.0.253" ] && break; sleep 0.1; done
assert_eq "$(vtep_field via)" "arp, via 198.18.0.253" "remote VTEP resolved through R1 by the switch's own ARP"
assert_eq "$(vtep_field mac)" "02:00:00:00:01:0a" "remote VTEP's frames go to R1's MAC"
assert_cmd "overlay ping through R1" ip netns exec "$P-a100" ping -c 3 -i 0.2 -W 2 198.19.100.2

r2_rx() { ip netns exec "$P-r2" cat /sys/class/net/r2a/statistics/rx_packets; }
ip netns exec "$P-a100" ping -c 60 -i 0.05 -W 1 198.19.100.2 >"$RUN/ping.txt" 2>&1 &
pinger=$!
sleep 1
before=$(r2_rx)
t0=$(date +%s%N)
ip -n "$P-a" route replace 198.18.1.0/24 via 198.18.0.254
# The kernel's neighbour entry (if it has one) is the first answer, the
# switch's ARP the next: either names R2.
for _ in $(seq 100); do [[ "$(vtep_field via)" =~ ^(kernel|arp),\ via\ 198.18.0.254$ ]] && break; sleep 0.02; done
t1=$(date +%s%N)
via=$(vtep_field via)
[[ "$via" =~ ^(kernel|arp),\ via\ 198.18.0.254$ ]] && pass "after the route change: through R2 ($via)" || fail "after the route change: $via"
assert_eq "$(vtep_field mac)" "02:00:00:00:02:0a" "remote VTEP's frames go to R2's MAC"
ms=$(((t1 - t0) / 1000000))
echo "  route change applied in $ms ms"
[ "$ms" -le 1000 ] && pass "followed within a second ($ms ms)" || fail "took $ms ms"
wait "$pinger" || true
sleep 0.2
after=$(r2_rx)
assert_ge "$((after - before))" 20 "frames R2 carried after the change"
lost=$(grep -oP '\d+(?=% packet loss)' "$RUN/ping.txt")
[ "$lost" -le 10 ] && pass "overlay ping loss around the change: $lost % (at most 10 %)" || fail "lost $lost % of overlay pings"
assert_eq "$(pgrep -f "$RUN/a.sock" | wc -l)" 1 "the switch kept running (no restart)"
test_done "nexthop_auto"
