#!/usr/bin/env bash
# End to end: resilient ECMP over three probed next hops. 1,000 UDP flows are
# spread over three routers; one router is cut off and comes back, another
# changes its MAC, while the stream runs and every datagram is counted.
#
#   PFX-a100 (198.19.100.1)                         PFX-b100 (198.19.100.2)
#      | c100                                            | eth0
#   PFX-a: vxswitch, VTEP 198.18.0.1                 PFX-b: kernel vxlan 100 + bridge,
#      | ul .1                                           | ul .2  VTEP 198.18.1.2
#   PFX-la: bridge  --- r1a .251 [PFX-r1] r1b .251 --- PFX-lb: bridge
#   198.18.0.0/24   --- r2a .252 [PFX-r2] r2b .252 ---  198.18.1.0/24
#                   --- r3a .253 [PFX-r3] r3b .253 ---
#
# Host A's config names three next hops by address only (no MAC, weight 1):
# the switch resolves them by ARP and probes them every 100 ms (down after 3
# misses). Host B reaches 198.18.0.0/24 through R1 (only pings need it).
# Router MACs: rNa 02:00:00:00:0e:0N, rNb 02:00:00:00:0f:0N.
#
# The stream: 1,000 flows (inner UDP source ports 20000..20999) at 10
# datagrams a second each, from a100 to b100, each datagram numbered per
# flow; tshark on each router's la leg shows which router carries which
# flow. Then R2's la leg goes down (its flows must lose at most the
# detection time, the others nothing), comes back (its own buckets and
# flows return, nobody loses anything), and R3's MAC changes (followed from
# the probe replies with R3 never down).
# shellcheck source-path=SCRIPTDIR/../lib disable=SC1091 # followed with -x
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/assert.sh"

P=vxe
RUN=$(mktemp -d /tmp/vxswitch-e2e.XXXXXX)
trap 'vx_cleanup; rm -rf "$RUN"' EXIT
vx_need_root
: "${VXSWITCH:?}" "${VXCTL:?}"
FLOWS_PY="$VX_ROOT/scripts/lib/flows.py"

FLOWS=1000 SPORT=20000 DPORT=5000 RATE=10 # per flow, datagrams a second
INTERVAL_MS=100 MISSES=3
T_START=$(date +%s%N)

echo "== resilient ECMP over three probed next hops: spread, failover, recovery, MAC change"
for n in la lb a b r1 r2 r3; do vx_netns_add "$P-$n"; done
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
for r in 1 2 3; do
    link "$P-r$r" "r${r}a" la "02:00:00:00:0e:0$r" "198.18.0.25$r/24"
    link "$P-r$r" "r${r}b" lb "02:00:00:00:0f:0$r" "198.18.1.25$r/24"
    ip netns exec "$P-r$r" sysctl -qw net.ipv4.ip_forward=1
    # A fixed neighbour for host B: the first datagrams of a flow that moves
    # to a router never wait for its ARP.
    ip -n "$P-r$r" neigh replace 198.18.1.2 lladdr 02:00:00:00:01:02 dev "r${r}b" nud permanent
done
ip -n "$P-b" route add 198.18.0.0/24 via 198.18.1.251
vx_container "$P-a" "$P-a100" c100 198.19.100.1 02:00:00:00:a1:00
vx_container "$P-b" "$P-b100" c100 198.19.100.2 02:00:00:00:b1:00
ip -n "$P-b" link add vx100 type vxlan id 100 local 198.18.1.2 remote 198.18.0.1 dstport 4789 nolearning
bridge -n "$P-b" fdb append 02:00:00:00:a1:00 dev vx100 dst 198.18.0.1
ip -n "$P-b" link add br100 type bridge
ip -n "$P-b" link set vx100 master br100 up
ip -n "$P-b" link set c100 master br100 up
ip -n "$P-b" link set br100 up
# Static neighbours in the containers: no ARP through the overlay.
ip -n "$P-a100" neigh add 198.19.100.2 lladdr 02:00:00:00:b1:00 dev eth0 nud permanent
ip -n "$P-b100" neigh add 198.19.100.1 lladdr 02:00:00:00:a1:00 dev eth0 nud permanent

cat >"$RUN/a.toml" <<CFG
[underlay]
vtep = "198.18.0.1"
probe_interval_ms = $INTERVAL_MS
probe_misses = $MISSES
[[underlay.next_hop]]
ip = "198.18.0.251"
weight = 1
[[underlay.next_hop]]
ip = "198.18.0.252"
weight = 1
[[underlay.next_hop]]
ip = "198.18.0.253"
weight = 1
[[vni]]
id = 100
flood = ["198.18.1.2"]
[[port]]
name = "c100"
vni = 100
CFG
A=$RUN/a.sock
vx_start_switch "$P-a" "$RUN/a.log" --uplink ul --cores 0 --config "$RUN/a.toml" --socket "$A"
t_run=$(date +%s%N)

# hops: "ip state mac weight buckets tx_packets" per next hop.
hops() { python3 "$FLOWS_PY" hops "$VXCTL" "$A"; }
hop() { # IP FIELD (state mac weight buckets tx)
    hops | awk -v ip="$1" -v f="$2" 'BEGIN { c["state"] = 2; c["mac"] = 3; c["weight"] = 4; c["buckets"] = 5; c["tx"] = 6 }
        $1 == ip { print $(c[f]) }'
}
H1=198.18.0.251 H2=198.18.0.252 H3=198.18.0.253
# watch_hop IP SINCE_NS FIELD=VALUE [ARGS...]: polls the hop until FIELD is VALUE
# (see flows.py); its "key value" lines go to $RUN/watch.
watch_hop() {
    local ip=$1 since=$2 until=$3; shift 3
    python3 "$FLOWS_PY" watch "$VXCTL" "$A" "$ip" --since "$since" --until "$until" "$@" >"$RUN/watch" || true
}
w() { awk -v k="$1" '$1 == k { print $2 }' "$RUN/watch"; }
ns_now() { date +%s%N; }
ms_since() { echo $((($(ns_now) - $1) / 1000000)); }

echo "-- 1. resolution"
for _ in $(seq 40); do
    [ "$(hops | awk '$2 == "up"' | wc -l)" = 3 ] && break
    sleep 0.05
done
resolved_ms=$(ms_since "$t_run")
hops | sed 's/^/  /'
for r in 1 2 3; do
    assert_eq "$(hop "198.18.0.25$r" state)" up "R$r (198.18.0.25$r) is up"
    assert_eq "$(hop "198.18.0.25$r" mac)" "02:00:00:00:0e:0$r" "R$r resolved by ARP to its la leg's MAC"
done
if [ "$resolved_ms" -le 2000 ]; then pass "all three up within 2 s of the switch starting ($resolved_ms ms)"; else fail "next hops took $resolved_ms ms to resolve"; fi
b1=$(hop $H1 buckets) b2=$(hop $H2 buckets) b3=$(hop $H3 buckets)
assert_eq "$((b1 + b2 + b3))" 256 "buckets over the three hops ($b1/$b2/$b3)"
for b in $b1 $b2 $b3; do
    if ! { [ "$b" -ge 85 ] && [ "$b" -le 86 ]; }; then fail "buckets $b1/$b2/$b3: each should be 256/3 (85 or 86)"; fi
done
pass "buckets split by weight: $b1/$b2/$b3"
assert_cmd "overlay ping a100 -> b100" ip netns exec "$P-a100" ping -c 3 -i 0.2 -W 2 198.19.100.2

echo "-- 2. spread: $FLOWS flows x $RATE/s"
ip netns exec "$P-b100" taskset -c 1 python3 "$FLOWS_PY" recv 198.19.100.2 "$DPORT" --out "$RUN/received.json" >"$RUN/recv.out" 2>&1 &
receiver=$!
VX_PIDS+=("$receiver")
for _ in $(seq 50); do grep -q ready "$RUN/recv.out" && break; sleep 0.1; done
grep -q ready "$RUN/recv.out" || fail "the receiver did not start: $(cat "$RUN/recv.out")"
ip netns exec "$P-a100" taskset -c 1 python3 "$FLOWS_PY" send 198.19.100.2 "$DPORT" \
    --flows "$FLOWS" --sport "$SPORT" --rate-per-flow "$RATE" --out "$RUN/sent.json" >"$RUN/send.out" 2>&1 &
sender=$!
VX_PIDS+=("$sender")
sleep 0.5

# capture TAG SECONDS ROUTER...: the inner UDP source ports of the stream
# that each router's la leg receives in that time, into $RUN/TAG-rN.flows.
capture() {
    local tag=$1 secs=$2 r pids=()
    shift 2
    for r in "$@"; do
        ip netns exec "$P-r$r" taskset -c 1 tshark -q -i "r${r}a" -f "udp dst port 4789" \
            -a "duration:$secs" -w "$RUN/$tag-r$r.pcap" >"$RUN/$tag-r$r.tshark" 2>&1 &
        pids+=("$!")
    done
    for r in "${pids[@]}"; do wait "$r" || fail "tshark failed: $(cat "$RUN/$tag"-*.tshark)"; done
    for r in "$@"; do
        tshark -r "$RUN/$tag-r$r.pcap" -d udp.port==4789,vxlan -Y "vxlan && udp.dstport == $DPORT" \
            -T fields -E occurrence=l -e udp.srcport 2>/dev/null | sort -un >"$RUN/$tag-r$r.flows"
    done
}
n_lines() { wc -l <"$1"; }
in_both() { comm -12 "$1" "$2" | wc -l; }

tx1_0=$(hop $H1 tx) tx2_0=$(hop $H2 tx) tx3_0=$(hop $H3 tx)
capture base 0.5 1 2 3
tx1=$(($(hop $H1 tx) - tx1_0)) tx2=$(($(hop $H2 tx) - tx2_0)) tx3=$(($(hop $H3 tx) - tx3_0))
f1=$(n_lines "$RUN/base-r1.flows") f2=$(n_lines "$RUN/base-r2.flows") f3=$(n_lines "$RUN/base-r3.flows")
echo "  flows seen on R1/R2/R3: $f1/$f2/$f3; frames sent to them meanwhile: $tx1/$tx2/$tx3"
sort -mu "$RUN"/base-r[123].flows >"$RUN/base-all.flows"
assert_eq "$(n_lines "$RUN/base-all.flows")" "$FLOWS" "flows seen on the routers"
assert_eq "$(awk -v lo="$SPORT" -v hi="$((SPORT + FLOWS - 1))" '$1 < lo || $1 > hi' "$RUN/base-all.flows" | wc -l)" 0 "flows seen that are not the stream's"
assert_eq "$(($(in_both "$RUN/base-r1.flows" "$RUN/base-r2.flows") + $(in_both "$RUN/base-r1.flows" "$RUN/base-r3.flows") + $(in_both "$RUN/base-r2.flows" "$RUN/base-r3.flows")))" 0 \
    "flows seen on more than one router"
# Within 10 % of a third: 300..366 of 1,000 flows, and likewise of the frames.
for f in $f1 $f2 $f3; do
    if ! { [ $((f * 30)) -ge $((FLOWS * 9)) ] && [ $((f * 30)) -le $((FLOWS * 11)) ]; }; then fail "flow split $f1/$f2/$f3: each should be within 10 % of $FLOWS/3"; fi
done
pass "flow split within 10 % of a third each ($f1/$f2/$f3)"
tx=$((tx1 + tx2 + tx3))
assert_ge "$tx" 5000 "frames sent through the next hops during the capture"
for t in $tx1 $tx2 $tx3; do
    if ! { [ $((t * 30)) -ge $((tx * 9)) ] && [ $((t * 30)) -le $((tx * 11)) ]; }; then fail "tx_packets split $tx1/$tx2/$tx3: each should be within 10 % of a third"; fi
done
pass "tx_packets split within 10 % of a third each ($tx1/$tx2/$tx3)"

echo "-- 3. failover: R2's la leg goes down"
T_CUT=$(ns_now)
ip -n "$P-r2" link set r2a down
watch_hop $H2 "$T_CUT" state=down --timeout 1 --every 0.01
down_ms=$(w elapsed_ms)
echo "  R2 down in nexthop list $down_ms ms after the cut"
assert_eq "$(w state)" down "R2's state within 1 s of the cut"
hops | sed 's/^/  /'
assert_eq "$(hop $H2 buckets)" 0 "R2's buckets while down"
assert_eq "$(hop $H1 buckets)" 128 "R1's buckets while R2 is down"
assert_eq "$(hop $H3 buckets)" 128 "R3's buckets while R2 is down"
assert_eq "$(hop $H1 state)/$(hop $H3 state)" up/up "R1 and R3 stay up"
if grep -q "next hop 198.18.0.252 is down" "$RUN/a.log"; then pass "the switch logged R2 down"; else fail "no 'next hop 198.18.0.252 is down' in the log: $(cat "$RUN/a.log")"; fi
# Resilience: while R2 is down its flows are on R1 and R3, no other flow moved.
capture down 0.5 1 3
assert_eq "$(comm -23 "$RUN/base-r1.flows" "$RUN/down-r1.flows" | wc -l)" 0 "R1's flows that left R1 while R2 is down"
assert_eq "$(comm -23 "$RUN/base-r3.flows" "$RUN/down-r3.flows" | wc -l)" 0 "R3's flows that left R3 while R2 is down"
assert_eq "$(in_both "$RUN/down-r1.flows" "$RUN/base-r3.flows")/$(in_both "$RUN/down-r3.flows" "$RUN/base-r1.flows")" 0/0 "flows that moved between R1 and R3"
m1=$(in_both "$RUN/down-r1.flows" "$RUN/base-r2.flows") m3=$(in_both "$RUN/down-r3.flows" "$RUN/base-r2.flows")
assert_eq "$((m1 + m3))" "$f2" "R2's flows taken over by R1 ($m1) and R3 ($m3)"

echo "-- 4. recovery: R2's la leg comes back"
T_UP=$(ns_now)
ip -n "$P-r2" link set r2a up
watch_hop $H2 "$T_UP" state=up --timeout 1 --every 0.01
up_ms=$(w elapsed_ms)
echo "  R2 up in nexthop list $up_ms ms after its leg came back"
assert_eq "$(w state)" up "R2's state within 1 s"
hops | sed 's/^/  /'
assert_eq "$(hop $H1 buckets)/$(hop $H2 buckets)/$(hop $H3 buckets)" "$b1/$b2/$b3" "buckets back as before the cut (R2 its own)"
capture back 0.5 2
if cmp -s "$RUN/base-r2.flows" "$RUN/back-r2.flows"; then
    pass "R2 carries exactly its flows again ($(n_lines "$RUN/back-r2.flows"))"
else
    fail "R2 carries $(n_lines "$RUN/back-r2.flows") flows, $(in_both "$RUN/base-r2.flows" "$RUN/back-r2.flows") of its $f2"
fi

echo "-- 5. R3 changes its MAC"
new_mac=02:00:00:00:0e:33
r3_fwd() { ip netns exec "$P-r3" cat /sys/class/net/r3b/statistics/tx_packets; }
T_MAC=$(ns_now)
ip -n "$P-r3" link set r3a address "$new_mac"
watch_hop $H3 "$T_MAC" "mac=$new_mac" --for 1 --timeout 1 --every 0.05
mac_ms=$(w elapsed_ms)
echo "  R3 at $new_mac in nexthop list $mac_ms ms after the change ($(w polls) polls, states seen: $(w states))"
assert_eq "$(w mac)" "$new_mac" "R3's MAC in nexthop list within 1 s"
assert_eq "$(w states)" up "R3's states while its MAC changed (polled every 50 ms for 1 s)"
assert_eq "$(hop $H1 buckets)/$(hop $H2 buckets)/$(hop $H3 buckets)" "$b1/$b2/$b3" "buckets unchanged by the MAC change"
fwd0=$(r3_fwd) tx3_0=$(hop $H3 tx)
sleep 0.5
fwd=$(($(r3_fwd) - fwd0)) tx3=$(($(hop $H3 tx) - tx3_0))
assert_ge "$tx3" 1000 "frames the switch sent to R3 in 0.5 s after the change"
assert_ge "$fwd" "$((tx3 * 9 / 10))" "frames R3 forwarded to host B meanwhile (of $tx3 sent to it)"

echo "-- the stream, datagram by datagram"
kill -TERM "$sender"
wait "$sender" || fail "the sender failed: $(cat "$RUN/send.out")"
sleep 0.5
kill -TERM "$receiver"
wait "$receiver" || fail "the receiver failed: $(cat "$RUN/recv.out")"
python3 "$FLOWS_PY" report --sent "$RUN/sent.json" --received "$RUN/received.json" \
    --map r1="$RUN/base-r1.flows" --map r2="$RUN/base-r2.flows" --map r3="$RUN/base-r3.flows" \
    --event cut="$T_CUT" --event up="$T_UP" --event mac="$T_MAC" >"$RUN/report"
r() { awk -v k="$1" '$1 == k { print $2 }' "$RUN/report"; }
echo "  sent $(r sent) datagrams in $(r seconds) s, received $(r received)"
for ph in pre cut up mac; do
    echo "  phase $ph: lost R1 $(r "${ph}_r1_lost") R2 $(r "${ph}_r2_lost") R3 $(r "${ph}_r3_lost")"
done
assert_eq "$(r pre_r1_lost)/$(r pre_r2_lost)/$(r pre_r3_lost)" 0/0/0 "datagrams lost before the cut (R1/R2/R3 flows)"
assert_eq "$(r cut_r1_lost)/$(r cut_r3_lost)" 0/0 "datagrams lost by R1's and R3's flows while R2 failed"
cut_max=$(r cut_r2_max_ms) cut_mean=$(r cut_r2_mean_ms)
echo "  R2's flows: $(r cut_r2_lost) datagrams lost by $(r cut_r2_lost_flows) of $f2 flows; loss window max $cut_max ms, mean $cut_mean ms (lost datagrams sent $(r cut_r2_span_ms) ms after the cut)"
bound=$((INTERVAL_MS * MISSES + INTERVAL_MS + INTERVAL_MS))
if [ "$cut_max" -le "$bound" ]; then pass "R2's flows lost at most $cut_max ms (<= $bound ms: $MISSES x $INTERVAL_MS ms detection + slack)"; else fail "R2's flows lost up to $cut_max ms (mean $cut_mean), more than $bound ms"; fi
assert_eq "$(r up_r1_lost)/$(r up_r3_lost)" 0/0 "datagrams lost by R1's and R3's flows while R2 came back"
echo "  R2's flows on the way back: $(r up_r2_lost) datagrams lost (max $(r up_r2_max_ms) ms)"
assert_eq "$(r mac_r1_lost)/$(r mac_r2_lost)" 0/0 "datagrams lost by R1's and R2's flows while R3's MAC changed"
mac_max=$(r mac_r3_max_ms)
echo "  R3's flows: $(r mac_r3_lost) datagrams lost by $(r mac_r3_lost_flows) of $f3 flows; loss window max $mac_max ms, mean $(r mac_r3_mean_ms) ms (sent $(r mac_r3_span_ms) ms after the change)"
if [ "$mac_max" -lt $((INTERVAL_MS * MISSES)) ]; then pass "R3's flows lost at most $mac_max ms (less than a failover, $((INTERVAL_MS * MISSES)) ms)"; else fail "R3's flows lost up to $mac_max ms over a MAC change"; fi
assert_eq "$(r late_r3)" "$f3" "R3's flows received again after the change"
assert_eq "$(r late_r1)/$(r late_r2)" "$f1/$f2" "R1's and R2's flows received to the end"
echo "  runtime $(ms_since "$T_START") ms"
test_done "ecmp_failover"
