#!/usr/bin/env bash
# End to end: who may use the control socket. Without a control group the
# socket is 0600 (root only); with `[control] group = "nogroup"` it is 0660 and
# owned by the group, and the switch admits members of that group, primary or
# supplementary, and no one else.
#
#   PFX-h: vxswitch on `ul` (a veth whose peer sits in PFX-p), no traffic
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/assert.sh"

P=vxg
RUN=$(mktemp -d /tmp/vxswitch-e2e.XXXXXX)
trap 'vx_cleanup; rm -rf "$RUN"' EXIT
vx_need_root
: "${VXSWITCH:?}" "${VXCTL:?}"
getent group nogroup >/dev/null || vx_die "this host has no group nogroup"
GID=$(getent group nogroup | cut -d: -f3)
# The socket's directory must be reachable by the unprivileged users below.
chmod 0711 "$RUN"

echo "== control socket: root only, then a control group"
vx_netns_add "$P-h"
vx_netns_add "$P-p"
ip link add ul netns "$P-h" type veth peer name ul netns "$P-p"
ip -n "$P-h" addr add 198.18.9.1/24 dev ul
ip -n "$P-h" link set ul up
ip -n "$P-p" link set ul up

as_user() { setpriv --reuid=65534 "$@" -- "$VXCTL" -s "$SOCK" version; }

SOCK=$RUN/s1/sock
vx_start_switch "$P-h" "$RUN/1.log" --uplink ul --cores 0 --socket "$SOCK"
assert_eq "$(stat -c %a "$SOCK")" 600 "socket mode without a control group"
assert_eq "$(stat -c %a "$RUN/s1")" 700 "socket directory mode"
out=$(as_user --regid="$GID" --clear-groups 2>&1) && fail "uid 65534 was let in: $out" \
    || { echo "$out" | grep -q "permission denied" && pass "uid 65534 refused: $out" || fail "uid 65534: $out"; }
kill "${VX_PIDS[-1]}"
wait "${VX_PIDS[-1]}" 2>/dev/null || true

printf '[control]\ngroup = "nogroup"\n' >"$RUN/g.toml"
SOCK=$RUN/s2/sock
vx_start_switch "$P-h" "$RUN/2.log" --uplink ul --cores 0 --config "$RUN/g.toml" --socket "$SOCK"
assert_eq "$(stat -c '%a %G' "$SOCK")" "660 nogroup" "socket mode and group with control.group"
assert_eq "$(stat -c '%a %G' "$RUN/s2")" "750 nogroup" "socket directory mode and group"
assert_cmd "a primary member of nogroup is let in" as_user --regid="$GID" --clear-groups
assert_cmd "a supplementary member of nogroup is let in" as_user --regid=1 --groups="$GID"
out=$(as_user --regid=1 --clear-groups 2>&1) && fail "a non-member was let in: $out" \
    || { echo "$out" | grep -q "permission denied" && pass "a non-member refused: $out" || fail "non-member: $out"; }
assert_cmd "root is let in" "$VXCTL" -s "$SOCK" version
test_done "control_group"
