#!/usr/bin/env bash
# Performance, reproducible with one command (as root):
#   scripts/bench.sh            the end-to-end harness (bench/harness/harness.py):
#                               vxswitch, the kernel's vxlan + bridge, Open vSwitch's
#                               userspace datapath (AF_XDP ports) and a raw AF_XDP
#                               forwarder side by side; under 5 minutes
#   scripts/bench.sh --quick    the same at 64 B / 1 flow, under a minute (CI runs it)
#   scripts/bench.sh --tcp      TCP (iperf3) and request/response (sockperf) through
#                               the overlay: vxswitch, kernel (offloads on and off),
#                               OVS, the raw AF_XDP forwarder (bench/harness/tcp.py);
#                               add --quick for a 1-minute run
#   scripts/bench.sh --criterion  the criterion benches (cargo bench -p bench)
# Extra arguments go to the harness (--json FILE, --only vxswitch,kernel, ...).
source "$(dirname "$0")/lib/common.sh"

vx_need_root
vx_install_packages openvswitch-switch openvswitch-common iperf3 sockperf
cd "$VX_ROOT"
if [ "${1:-}" = "--criterion" ]; then
    shift
    exec cargo bench -p bench "$@"
fi
vx_log "building (release): vxswitch, vxctl, vxgen, xdpfwd"
cargo build --release --quiet -p vxswitch -p vxctl -p vxgen
# The harness pins the device under test to core 0 and the generator to core 1.
[ "$(nproc)" -ge 2 ] || vx_die "the harness needs two cores (generator and device under test)"
if [ "${1:-}" = "--tcp" ]; then
    shift
    exec python3 "$VX_ROOT/bench/harness/tcp.py" --bin "$VX_ROOT/target/release" "$@"
fi
exec python3 "$VX_ROOT/bench/harness/harness.py" --bin "$VX_ROOT/target/release" "$@"
