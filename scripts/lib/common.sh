#!/usr/bin/env bash
# Shared helpers for demo.sh, test.sh and the end-to-end tests: package
# installation, building, and network namespaces that are always removed.
#
# Addresses come from the benchmarking range (RFC 2544): underlay 198.18.0.0/24,
# overlay 198.19.<vni>.0/24. They exist only inside the namespaces made here.

set -euo pipefail

VX_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VX_PKGS=(build-essential pkg-config clang llvm m4 libelf-dev libpcap-dev zlib1g-dev
         iproute2 ethtool iputils-ping tshark tcpdump netcat-openbsd python3 procps psmisc)

vx_log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
vx_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

vx_need_root() { [ "$(id -u)" -eq 0 ] || vx_die "run as root: network namespaces and AF_XDP need it"; }

# Installs the system packages that are missing (apt-get update first).
vx_install_packages() {
    local missing=()
    for p in "${VX_PKGS[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        vx_log "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    if ! command -v cargo >/dev/null; then
        [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
    fi
    command -v cargo >/dev/null || vx_die "cargo not found: install a Rust toolchain (rustup) first"
}

# Builds the release binaries; sets VXSWITCH and VXCTL.
vx_build() {
    vx_log "building (cargo build --release)"
    (cd "$VX_ROOT" && cargo build --release --quiet --bins)
    VXSWITCH="$VX_ROOT/target/release/vxswitch"
    VXCTL="$VX_ROOT/target/release/vxctl"
}

# --- namespaces ------------------------------------------------------------

VX_NETNS=()
VX_PIDS=()
# Queues per veth: one per switch worker (set before making the topology).
VX_QUEUES=${VX_QUEUES:-1}

vx_cleanup() {
    local pid ns
    for pid in "${VX_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${VX_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    VX_PIDS=()
    for ns in "${VX_NETNS[@]}"; do
        ip netns del "$ns" 2>/dev/null || true
    done
    VX_NETNS=()
}

vx_netns_add() {
    ip netns del "$1" 2>/dev/null || true
    ip netns add "$1"
    VX_NETNS+=("$1")
    ip -n "$1" link set lo up
    # No IPv6: keeps router solicitations and DAD out of counter assertions.
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# vx_container HOSTNS NAME PORT IP MAC: a container namespace NAME whose eth0
# (IP/24, MAC, overlay MTU 1450) is the peer of access port PORT in HOSTNS.
# The container keeps its default offloads (the switch completes partial
# checksums); VX_TX_OFF=1 turns TX checksum offload off, as operators of other
# AF_XDP switches must.
vx_container() {
    local host=$1 name=$2 port=$3 ip=$4 mac=$5
    vx_netns_add "$name"
    ip link add "$port" netns "$host" numtxqueues "$VX_QUEUES" numrxqueues "$VX_QUEUES" \
        type veth peer name eth0 netns "$name" numtxqueues "$VX_QUEUES" numrxqueues "$VX_QUEUES"
    ip -n "$name" link set eth0 address "$mac" mtu 1450 up
    ip -n "$name" addr add "$ip/24" dev eth0
    if [ "${VX_TX_OFF:-0}" = 1 ]; then
        ip netns exec "$name" ethtool -K eth0 tx off >/dev/null
    fi
    ip -n "$host" link set "$port" up
}

# vx_underlay_pair NSA NSB: hosts joined by one veth named ul on each side,
# 198.18.0.1 (02:00:00:00:01:01) and 198.18.0.2 (02:00:00:00:01:02).
vx_underlay_pair() {
    local a=$1 b=$2
    ip link add ul netns "$a" numtxqueues "$VX_QUEUES" numrxqueues "$VX_QUEUES" \
        type veth peer name ul netns "$b" numtxqueues "$VX_QUEUES" numrxqueues "$VX_QUEUES"
    ip -n "$a" link set ul address 02:00:00:00:01:01 up
    ip -n "$b" link set ul address 02:00:00:00:01:02 up
    ip -n "$a" addr add 198.18.0.1/24 dev ul
    ip -n "$b" addr add 198.18.0.2/24 dev ul
}

# vx_start_switch NS LOG ARGS...: starts vxswitch in NS, waits for its socket.
# The socket path must be among ARGS as --socket PATH.
vx_start_switch() {
    local ns=$1 log=$2; shift 2
    local sock="" prev=""
    for a in "$@"; do [ "$prev" = "--socket" ] && sock=$a; prev=$a; done
    ip netns exec "$ns" "$VXSWITCH" "$@" >"$log" 2>&1 &
    local pid=$!
    VX_PIDS+=("$pid")
    for _ in $(seq 100); do
        if [ -S "$sock" ] && grep -q "running on" "$log"; then return 0; fi
        if ! kill -0 "$pid" 2>/dev/null; then cat "$log" >&2; vx_die "vxswitch in $ns exited at start"; fi
        sleep 0.1
    done
    cat "$log" >&2
    vx_die "vxswitch in $ns did not start within 10 s"
}

# vx_counter SOCK NAME: one counter from vxctl stats.
vx_counter() {
    "$VXCTL" -s "$1" stats | awk -v n="$2" '$1 == n { print $2; found=1 } END { if (!found) exit 1 }'
}
