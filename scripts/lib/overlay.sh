#!/usr/bin/env bash
# The two-host overlay of the demo and the end-to-end tests.
#
#   PFX-a100 (198.19.100.1)   PFX-a200 (198.19.200.1)      containers on host A
#        eth0 | c100             eth0 | c200
#   +---------+-------------------------+---------+
#   | PFX-a   vxswitch (configs/host-a.toml)      |        host A
#   +--------------------+------------------------+
#                        | ul 198.18.0.1  02:00:00:00:01:01
#                        |                                  underlay veth
#                        | ul 198.18.0.2  02:00:00:00:01:02
#   +--------------------+------------------------+
#   | PFX-b   vxswitch (configs/host-b.toml)      |        host B
#   +---------+-------------------------+---------+
#        c100 | eth0             c200 | eth0
#   PFX-b100 (198.19.100.2)   PFX-b200 (198.19.200.2)      containers on host B
#
# Container MACs: 02:00:00:00:<host a|b><vni 1|2>:00, e.g. a100 = 02:00:00:00:a1:00.

# overlay_topology PFX: makes every namespace and link above.
overlay_topology() {
    local p=$1
    vx_netns_add "$p-a"
    vx_netns_add "$p-b"
    vx_underlay_pair "$p-a" "$p-b"
    vx_container "$p-a" "$p-a100" c100 198.19.100.1 02:00:00:00:a1:00
    vx_container "$p-a" "$p-a200" c200 198.19.200.1 02:00:00:00:a2:00
    vx_container "$p-b" "$p-b100" c100 198.19.100.2 02:00:00:00:b1:00
    vx_container "$p-b" "$p-b200" c200 198.19.200.2 02:00:00:00:b2:00
}

# tcp_transfer SRC_NS DST_NS DST_IP MB: moves MB megabytes of random data
# over TCP and fails unless every byte arrives intact. Prints the time taken.
tcp_transfer() {
    local src=$1 dst=$2 ip=$3 mb=$4 port=${5:-5001}
    local tmp; tmp=$(mktemp -d)
    head -c "$((mb * 1000000))" /dev/urandom >"$tmp/sent"
    ip netns exec "$dst" timeout 60 nc -l -N "$port" >"$tmp/received" &
    local listener=$!
    for _ in $(seq 50); do
        ip netns exec "$dst" ss -Hltn "sport = :$port" | grep -q . && break
        sleep 0.1
    done
    local t0; t0=$(date +%s%N)
    ip netns exec "$src" timeout 60 nc -N "$ip" "$port" <"$tmp/sent"
    wait "$listener" || true
    local t1; t1=$(date +%s%N)
    if cmp -s "$tmp/sent" "$tmp/received"; then
        echo "TCP $mb MB $src -> $dst ($ip): intact in $(((t1 - t0) / 1000000)) ms"
        rm -rf "$tmp"
    else
        echo "TCP $mb MB $src -> $dst: received $(stat -c %s "$tmp/received") of $((mb * 1000000)) bytes, or corrupted" >&2
        rm -rf "$tmp"
        return 1
    fi
}
