#!/usr/bin/env bash
# End to end: incast. Eight containers on host A send TCP at once to one
# container on host B, 1,000 flows in all (8 iperf3 clients x 125 streams),
# through the switches with default offloads. Every transfer completes, and
# no frame is lost inside either switch: its own drop counters for rings and
# frames stay at zero and every UMEM frame is accounted for afterwards. Where
# frames were lost outside the switch (the kernel's AF_XDP rings, counted as
# xsk.*; TCP retransmits them), the counters say so, and the test prints them.
#
#   PFX-a101 .. PFX-a108 (198.19.100.11-.18)        eight senders, attached
#      | c101 .. c108                               live with `vxctl port add`
#   PFX-a  vxswitch --cores 0                       host A (configs/host-a.toml)
#      | ul 198.18.0.1
#      | ul 198.18.0.2
#   PFX-b  vxswitch --cores 1                       host B (configs/host-b.toml)
#      | c100
#   PFX-b100 (198.19.100.2)                         one receiver: 8 iperf3 servers
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/overlay.sh"
source "$(dirname "$0")/../lib/assert.sh"

P=vxi
SENDERS=8
STREAMS=125
SECS=${VX_INCAST_SECS:-5}
RUN=$(mktemp -d /tmp/vxswitch-e2e.XXXXXX)
trap 'vx_cleanup; rm -rf "$RUN"' EXIT
vx_need_root
: "${VXSWITCH:?}" "${VXCTL:?}"
command -v iperf3 >/dev/null || vx_die "iperf3 is missing (scripts/test.sh installs it)"

echo "== incast: $SENDERS senders x $STREAMS TCP streams -> one container"
overlay_topology "$P"
vx_start_switch "$P-a" "$RUN/a.log" --uplink ul --cores 0 --config "$VX_ROOT/configs/host-a.toml" --socket "$RUN/a.sock"
vx_start_switch "$P-b" "$RUN/b.log" --uplink ul --cores 1 --config "$VX_ROOT/configs/host-b.toml" --socket "$RUN/b.sock"
for i in $(seq "$SENDERS"); do
    vx_container "$P-a" "$P-a10$i" "c10$i" "198.19.100.1$i" "02:00:00:00:a1:1$i"
    "$VXCTL" -s "$RUN/a.sock" port add "c10$i" --vni 100 >/dev/null || fail "port add c10$i"
done
for i in $(seq "$SENDERS"); do
    ip netns exec "$P-b100" iperf3 -s -1 -p "520$i" >/dev/null 2>&1 &
    VX_PIDS+=($!)
done
for i in $(seq "$SENDERS"); do
    for _ in $(seq 50); do
        ip netns exec "$P-b100" ss -Hltn "sport = :520$i" | grep -q . && break
        sleep 0.1
    done
done
assert_cmd "each sender reaches the receiver" bash -c "for i in \$(seq $SENDERS); do ip netns exec $P-a10\$i ping -c 1 -W 2 198.19.100.2 >/dev/null || exit 1; done"

snap() { "$VXCTL" -s "$1" --json stats >"$2"; }
snap "$RUN/a.sock" "$RUN/a.before"
snap "$RUN/b.sock" "$RUN/b.before"
pids=()
for i in $(seq "$SENDERS"); do
    ip netns exec "$P-a10$i" iperf3 -c 198.19.100.2 -p "520$i" -P "$STREAMS" -t "$SECS" --json >"$RUN/c$i.json" 2>&1 &
    pids+=($!)
done
ok=0
for p in "${pids[@]}"; do wait "$p" && ok=$((ok + 1)); done
assert_eq "$ok" "$SENDERS" "iperf3 clients that completed"
sleep 1
snap "$RUN/a.sock" "$RUN/a.after"
snap "$RUN/b.sock" "$RUN/b.after"

python3 - "$RUN" "$SENDERS" <<'EOF' || fail "incast accounting"
import json, sys
run, senders = sys.argv[1], int(sys.argv[2])
gbit = retr = streams = 0
for i in range(1, senders + 1):
    j = json.load(open(f"{run}/c{i}.json"))
    end = j["end"]
    gbit += end["sum_received"]["bits_per_second"] / 1e9
    retr += end["sum_sent"].get("retransmits", 0)
    streams += len(end["streams"])
print(f"  {streams} TCP streams, {gbit:.2f} Gbit/s received in all, {retr} retransmits")
assert streams == senders * 125, streams
inside = ["tx.ring_full", "tx.no_frame", "tx.no_port", "rx.truncated", "rx.unknown_port",
          "fwd.same_port", "flood.no_destination", "mtu.too_big", "encap.unresolved"]
bad = []
for h in "ab":
    b = json.load(open(f"{run}/{h}.before"))
    a = json.load(open(f"{run}/{h}.after"))
    d = {k: a["counters"][k] - b["counters"].get(k, 0) for k in a["counters"]}
    outside = {k: v for k, v in d.items() if k.startswith("xsk.") and v}
    print(f"  host {h}: encap {d['encap.packets']}, decap {d['decap.packets']}; "
          f"lost outside the switch (kernel AF_XDP rings): {outside or 'none'}")
    for k in inside:
        if d.get(k, 0):
            bad.append(f"host {h} {k} = {d[k]}")
    for w in a["workers"]:
        if w["frames_free"] + w["frames_in_fill"] + w["frames_in_tx"] != w["frames_total"]:
            bad.append(f"host {h} core {w['core']} frames not accounted: {w}")
assert not bad, "lost inside the switch: " + "; ".join(bad)
EOF
pass "no frame lost inside either switch; every UMEM frame accounted for"
test_done "incast"
