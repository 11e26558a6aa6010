#!/usr/bin/env bash
# The vxswitch demo: a real two-host overlay in network namespaces.
#
# Installs what it needs (apt-get), builds, creates two hosts joined by an
# underlay veth with two containers behind each (one in VNI 100, one in VNI
# 200), starts one vxswitch per host, shows a ping and a TCP transfer crossing
# the overlay in each VNI, adds a third VNI and its containers to the running
# switches with vxctl, prints the counters, then removes everything.
# Exits non-zero if any step fails. The topology is drawn in lib/overlay.sh.
#
# usage: scripts/demo.sh [--backend xdp|packet]
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/overlay.sh"

BACKEND=xdp
[ "${1:-}" = "--backend" ] && BACKEND=${2:?--backend takes xdp or packet}
P=vxdemo
RUN=$(mktemp -d /tmp/vxswitch-demo.XXXXXX)
trap 'vx_cleanup; rm -rf "$RUN"' EXIT

vx_need_root
vx_install_packages
vx_build

vx_log "creating hosts A and B, their underlay link and four containers (namespaces $P-*)"
overlay_topology "$P"

vx_log "starting vxswitch on host A and host B ($BACKEND backend)"
cores=$(nproc)
vx_start_switch "$P-a" "$RUN/a.log" --uplink ul --cores 0 --backend "$BACKEND" \
    --config "$VX_ROOT/configs/host-a.toml" --socket "$RUN/a.sock"
vx_start_switch "$P-b" "$RUN/b.log" --uplink ul --cores $((1 % cores)) --backend "$BACKEND" \
    --config "$VX_ROOT/configs/host-b.toml" --socket "$RUN/b.sock"
sed 's/^/    /' "$RUN/a.log" "$RUN/b.log"

for vni in 100 200; do
    vx_log "VNI $vni: ping from container a$vni (198.19.$vni.1) to b$vni (198.19.$vni.2) across the overlay"
    ip netns exec "$P-a$vni" ping -c 3 -i 0.3 -W 2 "198.19.$vni.2"
    vx_log "VNI $vni: TCP, 20 MB from a$vni to b$vni"
    tcp_transfer "$P-a$vni" "$P-b$vni" "198.19.$vni.2" 20
done

vx_log "VNI isolation: container a200 cannot reach b100 (198.19.100.2)"
if ip netns exec "$P-a200" ping -c 2 -i 0.2 -W 1 198.19.100.2 >/dev/null 2>&1; then
    vx_die "a200 reached VNI 100"
fi
echo "no reply, as it should be"

vx_log "live: VNI 300 and a container on each host, added to the running switches with vxctl"
for h in a b; do
    other=198.18.0.2; [ "$h" = b ] && other=198.18.0.1
    ip=198.19.30.1; [ "$h" = b ] && ip=198.19.30.2
    vx_container "$P-$h" "$P-${h}300" c300 "$ip" "02:00:00:00:${h}3:00"
    "$VXCTL" -s "$RUN/$h.sock" vni add 300 --flood-remote "$other"
    "$VXCTL" -s "$RUN/$h.sock" port add c300 --vni 300
done
ip netns exec "$P-a300" ping -c 3 -i 0.3 -W 2 198.19.30.2
"$VXCTL" -s "$RUN/a.sock" vni list
vx_log "host A: vxctl stats"
"$VXCTL" -s "$RUN/a.sock" stats
vx_log "host A: vxctl fdb show"
"$VXCTL" -s "$RUN/a.sock" fdb show
vx_log "demo done: cleaning up"
