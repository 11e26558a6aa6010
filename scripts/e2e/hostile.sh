#!/usr/bin/env bash
# End to end: hostile and foreign packets on the underlay are dropped, each
# counted under its own named reason, while overlay traffic goes on untouched.
# usage: hostile.sh [xdp|packet]
# Topology: lib/overlay.sh; host B runs no switch, so a raw socket on its ul
# plays the attacker, and a kernel vxlan device in host B carries VNI 100.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/overlay.sh"
source "$(dirname "$0")/../lib/assert.sh"

BACKEND=${1:-xdp}
P=vxh$BACKEND
RUN=$(mktemp -d /tmp/vxswitch-e2e.XXXXXX)
trap 'vx_cleanup; rm -rf "$RUN"' EXIT
vx_need_root
: "${VXSWITCH:?}" "${VXCTL:?}"
N=10

echo "== hostile packets on the underlay, backend $BACKEND"
overlay_topology "$P"
B=$P-b
ip -n "$B" link add vx100 type vxlan id 100 local 198.18.0.2 dstport 4789 dev ul
bridge -n "$B" fdb append 00:00:00:00:00:00 dev vx100 dst 198.18.0.1
ip -n "$B" link add br100 type bridge
ip -n "$B" link set vx100 master br100 up
ip -n "$B" link set c100 master br100 up
ip -n "$B" link set br100 up
vx_start_switch "$P-a" "$RUN/a.log" --uplink ul --cores 0 --backend "$BACKEND" --config "$VX_ROOT/configs/host-a.toml" --socket "$RUN/a.sock"
A=$RUN/a.sock
assert_cmd "overlay up before the attack" ip netns exec "$P-a100" ping -c 2 -i 0.2 -W 2 198.19.100.2

"$VXCTL" -s "$A" --json stats >"$RUN/before.json"
ip netns exec "$P-a100" ping -c 40 -i 0.05 -W 2 198.19.100.2 >"$RUN/ping.txt" 2>&1 &
pinger=$!
ip netns exec "$B" python3 "$VX_ROOT/scripts/lib/hostile.py" ul "$N" >"$RUN/kinds.txt"
wait "$pinger" && pass "40 pings during the attack, none lost" || fail "pings lost during the attack: $(tail -2 "$RUN/ping.txt")"
sleep 0.5
"$VXCTL" -s "$A" --json stats >"$RUN/after.json"

# Expected delta per counter: N times the number of kinds that raise it.
# Four kinds are not VXLAN to us: with AF_XDP the uplink program hands them to
# the kernel and counts them under its xdp.pass_* verdicts; with AF_PACKET the
# socket filter keeps them from the switch, whose counters must not move.
while read -r want counter; do
    d=$(python3 -c "import json; a=json.load(open('$RUN/after.json'))['counters']; b=json.load(open('$RUN/before.json'))['counters']; print(a['$counter']-b['$counter'])")
    assert_eq "$d" "$want" "$counter after the hostile frames"
done < <(awk -F'\t' -v n="$N" -v b="$BACKEND" '
    $2 == "-"   { want[$1] += n; next }
    b == "xdp"  { want[$2] += n; want[$1] += 0; next }
                { want[$1] += 0 }
    END { for (c in want) print want[c], c }' "$RUN/kinds.txt" | sort -k2)
# Nothing hostile reached the container.
assert_eq "$("$VXCTL" -s "$A" fdb show | grep -c 0b:ad:01 || true)" 0 "FDB entries learned from hostile frames"
assert_cmd "still forwarding after the attack" ip netns exec "$P-a100" ping -c 2 -i 0.2 -W 2 198.19.100.2
test_done "hostile[$BACKEND]"
