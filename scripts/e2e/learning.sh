#!/usr/bin/env bash
# End to end: flood-and-learn with three hosts in VNI 100.
#
#   PFX-a100        PFX-b100        PFX-c100          containers (198.19.100.1/.2/.3)
#      | c100          | c100          | c100
#   PFX-a           PFX-b           PFX-c             hosts running vxswitch
#      | ul .1         | ul .2         | ul .3        (configs/host-{a,b,c}-3.toml)
#      +---------------+---------------+
#                  PFX-ul: bridge br0                 underlay 198.18.0.0/24
#
# The first frame to an unknown MAC is flooded to both remote VTEPs; once the
# reply is learned, frames go to the one VTEP behind which the MAC lives; the
# entry ages out after host A's fdb.age_secs (5 s) and flooding resumes.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/assert.sh"

P=vx3
RUN=$(mktemp -d /tmp/vxswitch-e2e.XXXXXX)
trap 'vx_cleanup; rm -rf "$RUN"' EXIT
vx_need_root
: "${VXSWITCH:?}" "${VXCTL:?}"

echo "== three hosts: flood, learn, age"
vx_netns_add "$P-ul"
ip -n "$P-ul" link add br0 type bridge
ip -n "$P-ul" link set br0 up
i=1
for h in a b c; do
    vx_netns_add "$P-$h"
    ip link add ul netns "$P-$h" type veth peer name "ul$h" netns "$P-ul"
    ip -n "$P-ul" link set "ul$h" master br0 up
    ip -n "$P-$h" link set ul address "02:00:00:00:01:0$i" up
    ip -n "$P-$h" addr add "198.18.0.$i/24" dev ul
    vx_container "$P-$h" "$P-${h}100" c100 "198.19.100.$i" "02:00:00:00:${h}1:00"
    i=$((i + 1))
done
# Static neighbours in the containers: no ARP, so the first frame a100 sends
# to b100 is unknown unicast, not a broadcast.
ip -n "$P-a100" neigh add 198.19.100.2 lladdr 02:00:00:00:b1:00 dev eth0 nud permanent
ip -n "$P-b100" neigh add 198.19.100.1 lladdr 02:00:00:00:a1:00 dev eth0 nud permanent

# Host C's config names no MAC for A and B: it resolves them by ARP itself
# (checked at the end).
python3 - "$VX_ROOT/configs/host-c-3.toml" "$RUN/c.toml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
open(sys.argv[2], "w").write(re.sub(r"\[\[underlay\.neighbor\]\]\nip = .*\nmac = .*\n\n", "", text))
PY
grep -q neighbor "$RUN/c.toml" && vx_die "host C's config still has neighbor entries"
core=0
for h in a b c; do
    cfg=$VX_ROOT/configs/host-$h-3.toml
    [ "$h" = c ] && cfg=$RUN/c.toml
    vx_start_switch "$P-$h" "$RUN/$h.log" --uplink ul --cores "$core" --config "$cfg" --socket "$RUN/$h.sock"
    core=$(( (core + 1) % $(nproc) ))
done
A=$RUN/a.sock

assert_cmd "first ping a100 -> b100" ip netns exec "$P-a100" ping -c 1 -W 2 198.19.100.2
assert_eq "$(vtep_tx "$A" 198.18.0.2)" 1 "frames A sent to VTEP .2 after the first ping (flooded)"
assert_eq "$(vtep_tx "$A" 198.18.0.3)" 1 "frames A sent to VTEP .3 after the first ping (flooded)"
assert_eq "$(vx_counter "$A" flood.packets)" 1 "host A flooded"
"$VXCTL" -s "$A" fdb show | grep -q "02:00:00:00:b1:00  vtep 198.18.0.2" && pass "A learned b100 behind VTEP .2" || fail "A did not learn b100 behind .2: $("$VXCTL" -s "$A" fdb show)"

assert_cmd "10 more pings" ip netns exec "$P-a100" ping -c 10 -i 0.1 -W 2 198.19.100.2
assert_eq "$(vtep_tx "$A" 198.18.0.2)" 11 "frames A sent to VTEP .2 (unicast once learned)"
assert_eq "$(vtep_tx "$A" 198.18.0.3)" 1 "frames A sent to VTEP .3 (none since learning)"
assert_eq "$(vx_counter "$A" flood.packets)" 1 "host A flooded (still once)"
# Host C saw the one flooded frame and learned a100 behind A.
"$VXCTL" -s "$RUN/c.sock" fdb show | grep -q "02:00:00:00:a1:00  vtep 198.18.0.1" && pass "C learned a100 from the flood" || fail "C did not learn a100"

echo "  waiting for host A's entries to age out (fdb.age_secs = 5)"
sleep 7
if "$VXCTL" -s "$A" fdb show | grep -q "02:00:00:00:b1:00"; then fail "b100's entry did not age out"; else pass "b100's entry aged out"; fi
assert_cmd "ping after aging" ip netns exec "$P-a100" ping -c 1 -W 2 198.19.100.2
assert_eq "$(vtep_tx "$A" 198.18.0.3)" 2 "frames A sent to VTEP .3 (flooded again after aging)"
assert_eq "$(vx_counter "$A" flood.packets)" 2 "host A flooded"
echo "  host C, with no neighbor entries, reached A and B at the MACs its own ARP found"
for pair in "198.18.0.1 02:00:00:00:01:01" "198.18.0.2 02:00:00:00:01:02"; do
    set -- $pair
    got=""
    for _ in $(seq 30); do
        got=$("$VXCTL" -s "$RUN/c.sock" tunnel list | awk -v ip="$1" '$2 == ip { print $3, $4, $5 }')
        [ "$got" = "$2 arp, direct" ] && break
        sleep 0.1
    done
    assert_eq "$got" "$2 arp, direct" "host C's tunnel to $1"
done
assert_cmd "c100 reaches a100 through C's own ARP" ip netns exec "$P-c100" ping -c 2 -i 0.2 -W 2 198.19.100.1
test_done "learning"
