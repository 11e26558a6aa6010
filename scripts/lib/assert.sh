#!/usr/bin/env bash
# Assertions for the end-to-end tests. Each prints what it checked; a failure
# prints what differed and exits non-zero (the caller's trap cleans up).

VX_CHECKS=0

pass() { VX_CHECKS=$((VX_CHECKS + 1)); echo "  ok: $*"; }
fail() { echo "  FAIL: $*" >&2; exit 1; }

assert_eq() { # ACTUAL EXPECTED WHAT
    [ "$1" = "$2" ] && pass "$3 ($1)" || fail "$3: got $1, expected $2"
}
assert_ge() { # ACTUAL MIN WHAT
    [ "$1" -ge "$2" ] && pass "$3 ($1 >= $2)" || fail "$3: got $1, expected at least $2"
}
assert_cmd() { # WHAT CMD...
    local what=$1; shift
    if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what: '$*' failed"; fi
}

# vtep_tx SOCK IP: packets the switch sent to remote VTEP IP.
vtep_tx() { "$VXCTL" -s "$1" --json stats | python3 -c "import json,sys; print(next(v['tx_packets'] for v in json.load(sys.stdin)['vteps'] if v['ip']=='$2'))"; }

# frames_conserved SOCK: every worker's frames are all free or in fill rings.
frames_conserved() {
    "$VXCTL" -s "$1" --json stats | python3 -c "
import json, sys
for w in json.load(sys.stdin)['workers']:
    assert w['frames_in_tx'] == 0, w
    assert w['frames_free'] + w['frames_in_fill'] == w['frames_total'], w
"
}
# frames_free SOCK: total free frames over workers (free list + fill rings).
frames_free() {
    "$VXCTL" -s "$1" --json stats | python3 -c "import json,sys; print(sum(w['frames_free']+w['frames_in_fill'] for w in json.load(sys.stdin)['workers']))"
}

# test_done NAME: the closing line the CI log is read for.
test_done() { echo "$1: $VX_CHECKS passed, 0 failed"; }

# switch_cpu_pct SECS: CPU time the running vxswitch processes (of VX_PIDS)
# used over SECS seconds, in percent of one core (all their threads).
switch_cpu_pct() {
    local secs=$1 pids=() p a b
    for p in "${VX_PIDS[@]}"; do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = vxswitch ] && pids+=("$p")
    done
    # Nothing to measure must not read as idle.
    [ "${#pids[@]}" -gt 0 ] || fail "no running vxswitch to measure"
    ticks() { local t=0 q; for q in "${pids[@]}"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$q/stat"))); done; echo "$t"; }
    a=$(ticks); sleep "$secs"; b=$(ticks)
    echo $(( (b - a) * 100 / (secs * $(getconf CLK_TCK)) ))
}
