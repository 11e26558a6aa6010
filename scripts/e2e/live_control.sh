#!/usr/bin/env bash
# End to end: live control of two running switches with vxctl. VNIs, ports,
# tunnels, static FDB and ARP entries come and go while traffic flows, with
# no frame lost or reordered and no frame leaked; errors change nothing;
# hostile clients on the control socket get an error and stall nobody; ARP
# suppression answers locally; learning can be turned off; `config save`
# survives a restart; the socket admits root only.
#
#   PFX-a100 .100.1  PFX-a200 .200.1  PFX-a300 .30.1  PFX-a400 .40.1    containers
#      | c100           | c200           | c300          | c400         (c300, c400:
#   +--+----------------+----------------+---------------+--+            added live)
#   | PFX-a  vxswitch --cores 0, socket a.sock               |           host A
#   |        started from a copy of configs/host-a.toml      |
#   +---------------------------+----------------------------+
#                               | ul 198.18.0.1
#                               |                                        underlay veth
#                               | ul 198.18.0.2
#   +---------------------------+----------------------------+
#   | PFX-b  vxswitch --cores 1, socket b.sock               |           host B
#   |        started from a copy of configs/host-b.toml      |
#   +--+----------------+----------------+-------------------+
#      | c100           | c200           | c300
#   PFX-b100 .100.2  PFX-b200 .200.2  PFX-b300 .30.2
#
# Overlay addresses are 198.19.<net>.<1 on A, 2 on B>/24 (net 100, 200, 30,
# 40); container MACs 02:00:00:00:<a|b><1|2|3|4>:00. a100 and b100 know each
# other's MAC (permanent neighbour entries), so no ARP of their kernels moves
# the counters of the ARP suppression checks.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/overlay.sh"
source "$(dirname "$0")/../lib/assert.sh"

# usage: live_control.sh [xdp|xdp2|xdp-generic|packet]: AF_XDP with one
# worker per switch (default), AF_XDP with two workers per switch (ports
# opened on both workers' queues), AF_XDP in generic (SKB) mode (multi-buffer
# sockets: ports opened and closed with chains and backlogs in play), or
# AF_PACKET.
MODE=${1:-xdp}
P=vxl$MODE
BACKEND=$MODE CORES_A=0 CORES_B=1 XDP_MODE=auto
if [ "$MODE" = xdp2 ]; then
    BACKEND=xdp VX_QUEUES=2 CORES_A=0-1 CORES_B=0-1
fi
if [ "$MODE" = xdp-generic ]; then
    BACKEND=xdp XDP_MODE=generic P=vxlgen
fi
RUN=$(mktemp -d /tmp/vxswitch-e2e.XXXXXX)
trap 'vx_cleanup; rm -rf "$RUN"' EXIT
vx_need_root
: "${VXSWITCH:?}" "${VXCTL:?}"
UDPSEQ=$VX_ROOT/scripts/lib/udpseq.py
A=$RUN/a.sock
B=$RUN/b.sock
T0=$(date +%s)

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# ctl SOCK ARGS...: vxctl that must succeed (its output on stdout).
ctl() {
    local s=$1 out; shift
    out=$("$VXCTL" -s "$s" "$@" 2>&1) || fail "vxctl $*: $out"
    printf '%s\n' "$out"
}
# config_to FILE: host A's running configuration, byte for byte.
config_to() { "$VXCTL" -s "$A" config show >"$1" || fail "vxctl config show"; }
# jq_py EXPR: evaluates a Python expression over the JSON on stdin (as d).
jq_py() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }
counters() { "$VXCTL" -s "$1" --json stats >"$2"; }
# delta BEFORE AFTER COUNTER: how much COUNTER moved between two stats files.
delta() {
    python3 -c "import json; print(json.load(open('$2'))['counters']['$3'] - json.load(open('$1'))['counters']['$3'])"
}
# stream_start NAME PORT: a 1000 datagram/s sequence-numbered UDP stream
# a100 -> b100 (VNI 100), running until stream_stop.
stream_start() {
    ip netns exec "$P-b100" python3 "$UDPSEQ" recv 198.19.100.2 "$2" --idle 1 --wait 10 >"$RUN/$1.recv" &
    STREAM_RECV=$!
    VX_PIDS+=("$STREAM_RECV")
    sleep 0.3
    ip netns exec "$P-a100" python3 "$UDPSEQ" send 198.19.100.2 "$2" --rate 1000 --seconds 100 >"$RUN/$1.send" &
    STREAM_SEND=$!
    VX_PIDS+=("$STREAM_SEND")
    sleep 0.5
}
# stream_stop NAME: stops the stream and asserts nothing was lost or reordered.
stream_stop() {
    sleep 0.5
    kill -TERM "$STREAM_SEND"
    wait "$STREAM_SEND" || fail "the stream's sender failed"
    wait "$STREAM_RECV" || fail "the stream's receiver failed"
    local sent received reordered dups
    sent=$(jq_py "d['sent']" <"$RUN/$1.send")
    received=$(jq_py "d['received']" <"$RUN/$1.recv")
    reordered=$(jq_py "d['reordered']" <"$RUN/$1.recv")
    dups=$(jq_py "d['duplicates']" <"$RUN/$1.recv")
    echo "  stream $1: sent $sent in $(jq_py "d['seconds']" <"$RUN/$1.send") s, received $received, reordered $reordered, duplicates $dups"
    assert_ge "$sent" 1000 "datagrams sent by the $1 stream"
    assert_eq "$((sent - received))" 0 "datagrams lost in the $1 stream"
    assert_eq "$reordered" 0 "datagrams reordered in the $1 stream"
    assert_eq "$dups" 0 "datagrams duplicated in the $1 stream"
}

echo "== live control: two hosts, $MODE"
overlay_topology "$P"
ip -n "$P-a100" neigh add 198.19.100.2 lladdr 02:00:00:00:b1:00 dev eth0 nud permanent
ip -n "$P-b100" neigh add 198.19.100.1 lladdr 02:00:00:00:a1:00 dev eth0 nud permanent
cp "$VX_ROOT/configs/host-a.toml" "$RUN/host-a.toml"
cp "$VX_ROOT/configs/host-b.toml" "$RUN/host-b.toml"
vx_start_switch "$P-a" "$RUN/a.log" --uplink ul --cores "$CORES_A" --backend "$BACKEND" --xdp-mode "$XDP_MODE" --config "$RUN/host-a.toml" --socket "$A"
PID_A=${VX_PIDS[-1]}
vx_start_switch "$P-b" "$RUN/b.log" --uplink ul --cores "$CORES_B" --backend "$BACKEND" --xdp-mode "$XDP_MODE" --config "$RUN/host-b.toml" --socket "$B"
assert_cmd "baseline ping a100 -> b100" ip netns exec "$P-a100" ping -c 2 -i 0.2 -W 2 198.19.100.2

echo "== 2. VNI 300 added live on both hosts"
ctl "$A" vni add 300 --flood-remote 198.18.0.2 | sed 's/^/  | /'
ctl "$B" vni add 300 --flood-remote 198.18.0.1 | sed 's/^/  | /'
vx_container "$P-a" "$P-a300" c300 198.19.30.1 02:00:00:00:a3:00
vx_container "$P-b" "$P-b300" c300 198.19.30.2 02:00:00:00:b3:00
added=$(ctl "$A" port add c300 --vni 300)
echo "  | $added"
ctl "$B" port add c300 --vni 300 | sed 's/^/  | /'
# How the port was attached: auto puts a veth in generic mode with one
# worker, keeps it native with two (XdpMode::for_port).
case $MODE in
    xdp | xdp-generic) want="port c300 attached to vni 300 (XDP generic)" ;;
    xdp2) want="port c300 attached to vni 300 (XDP native)" ;;
    *) want="port c300 attached to vni 300" ;;
esac
assert_eq "$added" "$want" "port add's reply"
assert_cmd "ping a300 -> b300" ip netns exec "$P-a300" ping -c 2 -i 0.2 -W 2 198.19.30.2
assert_cmd "ping b300 -> a300" ip netns exec "$P-b300" ping -c 2 -i 0.2 -W 2 198.19.30.1
for h in a b; do
    s=$RUN/$h.sock
    other=198.18.0.2; [ "$h" = b ] && other=198.18.0.1
    if ctl "$s" vni list | grep -Eq "^300 +on +auto:1410 +0 +0 +c300 +$other\$"; then
        pass "host $h: vni list shows 300 with c300, flooding to $other"
    else
        fail "host $h vni list: $(ctl "$s" vni list)"
    fi
    assert_eq "$(ctl "$s" --json vni list | jq_py "[(v['ports'], v['flood'], v['learning']) for v in d if v['vni'] == 300]")" \
        "[(['c300'], ['$other'], True)]" "host $h: vni list --json for 300"
    if ctl "$s" port list | grep -Eq '^c300 +300 '; then
        pass "host $h: port list shows c300 in 300"
    else
        fail "host $h port list: $(ctl "$s" port list)"
    fi
    assert_eq "$(ctl "$s" --json port list | jq_py "[p['vni'] for p in d if p['name'] == 'c300']")" "[300]" "host $h: port list --json for c300"
    if ctl "$s" tunnel list --vni 300 | grep -Eq "^300 +$other "; then
        pass "host $h: tunnel list --vni 300 shows $other"
    else
        fail "host $h tunnel list: $(ctl "$s" tunnel list --vni 300)"
    fi
    assert_eq "$(ctl "$s" --json tunnel list --vni 300 | jq_py "[(t['vni'], t['remote']) for t in d]")" "[(300, '$other')]" "host $h: tunnel list --vni 300 --json"
done

ctl "$A" vni set 300 --mss-clamp 1200 | sed 's/^/  | /'
assert_eq "$(ctl "$A" --json vni list | jq_py "[(v['mss_clamp'], v['mss']) for v in d if v['vni'] == 300]")" \
    "[('1200', 1200)]" "vni set 300 --mss-clamp 1200 applied"
ctl "$A" vni set 300 --mss-clamp auto >/dev/null
assert_eq "$(ctl "$A" --json vni list | jq_py "[v['mss'] for v in d if v['vni'] == 300]")" "[1410]" "and back to auto (1410)"

echo "== 3. errors: exit 1, one line, nothing changed"
config_to "$RUN/config.before"
# expect_err MESSAGE ARGS...: vxctl ARGS on host A fails with exactly MESSAGE.
expect_err() {
    local want=$1 rc=0 out; shift
    out=$("$VXCTL" -s "$A" "$@" 2>"$RUN/stderr") || rc=$?
    if [ "$rc" = 1 ] && [ -z "$out" ] && [ "$(cat "$RUN/stderr")" = "vxctl: $want" ]; then
        pass "vxctl $* -> $want"
    else
        fail "vxctl $*: exit $rc, stdout '$out', stderr '$(cat "$RUN/stderr")'; expected exit 1 and 'vxctl: $want'"
    fi
}
expect_err "vni 300 exists already" vni add 300 --flood-remote 198.18.0.9
expect_err "vni 999 does not exist" vni del 999
expect_err "vni 999 does not exist" tunnel add --vni 999 --remote 198.18.0.9
expect_err "vni 300 still has port(s) c300: delete them first" vni del 300
expect_err "port c300 is already in vni 300" port add c300 --vni 100
expect_err "port nosuch0 does not exist" port del nosuch0
expect_err "interface nosuch0 does not exist (see \`ip link\`)" port add nosuch0 --vni 100
expect_err "vni 300 has no tunnel to 198.18.0.9" tunnel del --vni 300 --remote 198.18.0.9
expect_err "give --port IF or --remote IP" fdb add --vni 100 --mac 02:00:00:00:44:44
expect_err "port c300 is in vni 300, not 100" fdb add --vni 100 --mac 02:00:00:00:44:44 --port c300
config_to "$RUN/config.after"
if cmp -s "$RUN/config.before" "$RUN/config.after"; then
    pass "config show unchanged by the errors"
else
    fail "config show changed: $(diff "$RUN/config.before" "$RUN/config.after")"
fi

echo "== 4. 100 add/del cycles of VNI 400 on host A under a VNI 100 stream"
vx_container "$P-a" "$P-a400" c400 198.19.40.1 02:00:00:00:a4:00
counters "$A" "$RUN/frames.before"
stream_start churn 7100
t=$(date +%s%N)
for i in $(seq 100); do
    for cmd in "vni add 400 --flood-remote 198.18.0.2" "port add c400 --vni 400" \
               "tunnel add --vni 400 --remote 198.18.0.9" \
               "fdb add --vni 400 --mac 02:00:00:00:44:44 --remote 198.18.0.9" \
               "arp add --vni 400 --ip 198.19.40.9 --mac 02:00:00:00:44:44" \
               "port del c400" "tunnel del --vni 400 --remote 198.18.0.9" "vni del 400"; do
        # shellcheck disable=SC2086 # the words of the command
        out=$("$VXCTL" -s "$A" $cmd 2>&1) || fail "cycle $i: vxctl $cmd: $out"
    done
done
cycle_ms=$(ms_since "$t")
pass "800 commands of 100 cycles succeeded"
echo "  100 cycles took $cycle_ms ms ($((cycle_ms * 10)) us a cycle of 8 commands)"
stream_stop churn
config_to "$RUN/config.after"
if cmp -s "$RUN/config.before" "$RUN/config.after"; then
    pass "config show after the cycles as before them (VNI 400 gone)"
else
    fail "config show changed by the cycles: $(diff "$RUN/config.before" "$RUN/config.after")"
fi
sleep 0.5
counters "$A" "$RUN/frames.after"
python3 - "$RUN/frames.before" "$RUN/frames.after" <<'EOF' || fail "frames not accounted on host A"
import json, sys
before, after = (json.load(open(f))["workers"] for f in sys.argv[1:])
for b, a in zip(before, after):
    free_b, free_a = b["frames_free"] + b["frames_in_fill"], a["frames_free"] + a["frames_in_fill"]
    print(f"  | core {a['core']}: total {b['frames_total']} -> {a['frames_total']}, "
          f"free {b['frames_free']} -> {a['frames_free']}, in_fill {b['frames_in_fill']} -> {a['frames_in_fill']}, "
          f"in_tx {b['frames_in_tx']} -> {a['frames_in_tx']}")
    assert a["frames_free"] + a["frames_in_fill"] + a["frames_in_tx"] == a["frames_total"], a
    assert a["frames_total"] == b["frames_total"], (b, a)
    assert free_b - free_a <= 256, f"{free_b - free_a} frames fewer free or in fill rings: a leak"
EOF
pass "host A frames all accounted after the cycles (free + in_fill + in_tx == total, none leaked)"

echo "== 5. hostile control clients while a stream runs"
config_to "$RUN/config.before"
stream_start hostile 7101
python3 - "$A" "$VXCTL" >"$RUN/hostile.txt" <<'EOF' || true
import json, socket, subprocess, sys, threading, time
path, vxctl = sys.argv[1], sys.argv[2]

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(5)
    return s

def read_reply(s):
    buf = b""
    while not buf.endswith(b"\n"):
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        buf += chunk
    return buf

def ask(data):
    s = conn()
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the switch may close a long request's connection before all of it is sent
    line = read_reply(s)
    s.settimeout(0.2)  # after its reply, the switch closes the connection, or keeps it open
    try:
        closed = s.recv(1) == b""
    except socket.timeout:
        closed = False
    except ConnectionResetError:
        closed = True
    s.close()
    return line, closed

def show(name, line, closed):
    try:
        r = json.loads(line)
    except ValueError:
        r = {"ok": None, "error": "unreadable reply %r" % line[:200]}
    print("\t".join([name, str(r.get("ok")).lower(), (r.get("error") or "").replace("\t", " "), "closed" if closed else "open"]))

silent = conn()  # connected, never writes
drip = {}
def dripper():
    s = conn()
    t = time.monotonic()
    for b in b'{"cmd":"version"}\n':
        s.sendall(bytes([b]))
        time.sleep(0.05)
    drip["line"] = read_reply(s)
    drip["secs"] = time.monotonic() - t
    s.close()
th = threading.Thread(target=dripper)
th.start()
slowest = 0.0
n = 0
while th.is_alive():
    t = time.monotonic()
    subprocess.run([vxctl, "-s", path, "stats"], check=True, stdout=subprocess.DEVNULL, timeout=5)
    slowest = max(slowest, time.monotonic() - t)
    n += 1
    time.sleep(0.1)
th.join()
print("stats_calls\t%d" % n)
print("stats_slowest_ms\t%d" % (slowest * 1000))
print("drip_secs\t%.2f" % drip["secs"])
print("drip_ok\t%s" % str(json.loads(drip["line"]).get("ok")).lower())
cases = [
    ("malformed", b'{"cmd": "stats",\n'),
    ("reboot", b'{"cmd":"reboot"}\n'),
    ("id_string", b'{"cmd":"vni_add","id":"x"}\n'),
    ("id_zero", b'{"cmd":"vni_add","id":0}\n'),
    ("extra_field", b'{"cmd":"port_add","name":"c100","vni":100,"extra":1}\n'),
    ("bad_mac", b'{"cmd":"fdb_add","vni":100,"mac":"zz"}\n'),
    ("long_line", b"x" * 100000),
]
for name, data in cases:
    show(name, *ask(data))
# The silent client is still served.
silent.sendall(b'{"cmd":"version"}\n')
print("silent_ok\t%s" % str(json.loads(read_reply(silent)).get("ok")).lower())
silent.close()
EOF
[ -s "$RUN/hostile.txt" ] || fail "the hostile client script failed"
stream_stop hostile
sed 's/^/  | /' "$RUN/hostile.txt"
field() { awk -F'\t' -v k="$1" '$1 == k { print $2 }' "$RUN/hostile.txt"; }
assert_ge "$(field stats_calls)" 3 "vxctl stats calls while one client dripped a request byte by byte"
if [ "$(field stats_slowest_ms)" -lt 1000 ]; then
    pass "slowest vxctl stats beside a silent and a dripping client: $(field stats_slowest_ms) ms (< 1000)"
else
    fail "vxctl stats took $(field stats_slowest_ms) ms beside slow clients"
fi
assert_eq "$(field drip_ok)" true "the request sent one byte per 50 ms answered"
assert_eq "$(field silent_ok)" true "the silent client answered once it spoke"
while IFS=$'\t' read -r name want; do
    line=$(awk -F'\t' -v k="$name" '$1 == k' "$RUN/hostile.txt")
    IFS=$'\t' read -r _ ok err state <<<"$line"
    if [ "$ok" = false ] && [[ $err == *"$want"* ]]; then
        pass "hostile $name: ok false, '$err' (connection $state)"
    else
        fail "hostile $name: got ok '$ok', error '$err'; expected ok false and an error with '$want'"
    fi
done <<'EOF'
malformed	bad request: EOF while parsing
reboot	unknown variant `reboot`
id_string	invalid type: string "x", expected u32
id_zero	0 is not a VNI (1-16777215)
extra_field	unknown field `extra`
bad_mac	"zz" is not a MAC address
long_line	request longer than 65536 bytes
EOF
assert_eq "$(awk -F'\t' '$1 == "long_line" { print $4 }' "$RUN/hostile.txt")" closed "connection closed after the over-long line"
config_to "$RUN/config.after"
if cmp -s "$RUN/config.before" "$RUN/config.after"; then
    pass "config show unchanged by the hostile requests"
else
    fail "config show changed: $(diff "$RUN/config.before" "$RUN/config.after")"
fi

echo "== 6. ARP suppression on host A"
vx_counter "$A" arp.suppressed >/dev/null || fail "no counter arp.suppressed in vxctl stats"
ctl "$A" arp add --vni 100 --ip 198.19.100.77 --mac 02:00:00:00:77:77 | sed 's/^/  | /'
# arp_request TARGET_IP: one ARP request from a100's eth0; prints the first ARP
# reply for TARGET_IP within 2 s as "op sha spa tha tpa eth_dst", or "none".
arp_request() {
    ip netns exec "$P-a100" python3 - "$1" <<'EOF'
import socket, struct, sys, time
mac, ip, target = bytes.fromhex("02000000a100"), socket.inet_aton("198.19.100.1"), socket.inet_aton(sys.argv[1])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind(("eth0", 0))
arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + ip + bytes(6) + target
s.send(b"\xff" * 6 + mac + b"\x08\x06" + arp + bytes(18))
deadline = time.monotonic() + 2
fmt = lambda b: ":".join("%02x" % x for x in b)
while (left := deadline - time.monotonic()) > 0:
    s.settimeout(left)
    try:
        f = s.recv(2048)
    except socket.timeout:
        break
    if len(f) < 42 or f[12:14] != b"\x08\x06":
        continue
    op = struct.unpack("!H", f[20:22])[0]
    if op == 2 and f[28:32] == target:
        print(op, fmt(f[22:28]), socket.inet_ntoa(f[28:32]), fmt(f[32:38]), socket.inet_ntoa(f[38:42]), fmt(f[0:6]))
        sys.exit(0)
print("none")
EOF
}
counters "$A" "$RUN/arp.0"
reply=$(arp_request 198.19.100.77)
counters "$A" "$RUN/arp.1"
echo "  reply to who-has 198.19.100.77: $reply"
assert_eq "$reply" "2 02:00:00:00:77:77 198.19.100.77 02:00:00:00:a1:00 198.19.100.1 02:00:00:00:a1:00" \
    "ARP reply (op, sender MAC/IP, target MAC/IP, to)"
assert_eq "$(delta "$RUN/arp.0" "$RUN/arp.1" arp.suppressed)" 1 "arp.suppressed on A"
assert_eq "$(delta "$RUN/arp.0" "$RUN/arp.1" flood.packets)" 0 "flood.packets on A for the suppressed request"
assert_eq "$(delta "$RUN/arp.0" "$RUN/arp.1" encap.packets)" 0 "encap.packets on A for the suppressed request"
reply=$(arp_request 198.19.100.78)
counters "$A" "$RUN/arp.2"
assert_eq "$reply" none "reply to who-has 198.19.100.78 (no entry, nobody has it)"
assert_eq "$(delta "$RUN/arp.1" "$RUN/arp.2" flood.packets)" 1 "flood.packets on A for the request without an entry"
assert_eq "$(delta "$RUN/arp.1" "$RUN/arp.2" arp.suppressed)" 0 "arp.suppressed on A for the request without an entry"

echo "== 7. learning off in VNI 100 on host A"
vx_counter "$A" learn.disabled >/dev/null || fail "no counter learn.disabled in vxctl stats"
ctl "$A" vni set 100 --learning off | sed 's/^/  | /'
learned() { ctl "$A" --json fdb show --vni 100 | jq_py "len([e for e in d if not e['static']])"; }
assert_eq "$(learned)" 0 "learned entries in VNI 100 once learning is off"
assert_eq "$(ctl "$A" --json vni list | jq_py "[v['learning'] for v in d if v['vni'] == 100]")" "[False]" "vni list: learning of 100"
counters "$A" "$RUN/learn.0"
assert_cmd "ping a100 -> b100 with learning off" ip netns exec "$P-a100" ping -c 3 -i 0.2 -W 2 198.19.100.2
counters "$A" "$RUN/learn.1"
assert_eq "$(learned)" 0 "learned entries in VNI 100 after the ping"
assert_ge "$(delta "$RUN/learn.0" "$RUN/learn.1" flood.packets)" 3 "frames flooded on A (unknown unicast both ways)"
assert_ge "$(delta "$RUN/learn.0" "$RUN/learn.1" learn.disabled)" 1 "learn.disabled on A"
assert_eq "$(delta "$RUN/learn.0" "$RUN/learn.1" learn.new)" 0 "learn.new on A with learning off"
ctl "$A" fdb add --vni 100 --mac 02:00:00:00:b1:00 --remote 198.18.0.2 | sed 's/^/  | /'
ctl "$A" fdb add --vni 100 --mac 02:00:00:00:a1:00 --port c100 | sed 's/^/  | /'
ctl "$A" fdb show --vni 100 | sed 's/^/  | /'
statics() { ctl "$A" --json fdb show --vni 100 | jq_py "sorted((e['mac'], e['dest']) for e in d if e['static'])"; }
STATICS="[('02:00:00:00:a1:00', 'port c100'), ('02:00:00:00:b1:00', 'vtep 198.18.0.2')]"
assert_eq "$(statics)" "$STATICS" "static FDB entries in VNI 100"
counters "$A" "$RUN/learn.2"
assert_cmd "ping a100 -> b100 over static entries" ip netns exec "$P-a100" ping -c 3 -i 0.2 -W 2 198.19.100.2
counters "$A" "$RUN/learn.3"
assert_eq "$(delta "$RUN/learn.2" "$RUN/learn.3" flood.packets)" 0 "frames flooded on A with both MACs static"
ctl "$A" vni set 100 --learning on | sed 's/^/  | /'
assert_eq "$(ctl "$A" --json vni list | jq_py "[v['learning'] for v in d if v['vni'] == 100]")" "[True]" "vni list: learning of 100"
# Learning resumes: with a100's static entry gone, its next frame is learned.
ctl "$A" fdb del --vni 100 --mac 02:00:00:00:a1:00 | sed 's/^/  | /'
counters "$A" "$RUN/learn.4"
assert_cmd "ping a100 -> b100 with learning on" ip netns exec "$P-a100" ping -c 2 -i 0.2 -W 2 198.19.100.2
counters "$A" "$RUN/learn.5"
assert_ge "$(delta "$RUN/learn.4" "$RUN/learn.5" learn.new)" 1 "learn.new on A once learning is back on"
assert_eq "$(ctl "$A" --json fdb show --vni 100 | jq_py "[(e['dest'], e['static']) for e in d if e['mac'] == '02:00:00:00:a1:00']")" \
    "[('port c100', False)]" "a100 learned again behind c100"
ctl "$A" fdb add --vni 100 --mac 02:00:00:00:a1:00 --port c100 | sed 's/^/  | /'
assert_eq "$(statics)" "$STATICS" "static FDB entries in VNI 100 (a100 static again, over its learned entry)"

echo "== 8. config save, restart host A from the saved file"
ctl "$A" config save | sed 's/^/  | /'
config_to "$RUN/config.saved"
if cmp -s "$RUN/host-a.toml" "$RUN/config.saved"; then
    pass "the saved file is what config show prints"
else
    fail "saved file differs from config show: $(diff "$RUN/host-a.toml" "$RUN/config.saved")"
fi
if grep -q 'ip = "198.19.100.77"' "$RUN/host-a.toml"; then
    pass "the saved file holds the ARP entry"
else
    fail "no ARP entry in $(cat "$RUN/host-a.toml")"
fi
kill -TERM "$PID_A"
t=$(date +%s%N)
wait "$PID_A" || true
echo "  host A's switch stopped in $(ms_since "$t") ms"
pids=()
for p in "${VX_PIDS[@]}"; do [ "$p" = "$PID_A" ] || pids+=("$p"); done
VX_PIDS=("${pids[@]}")
if [ -e "$A" ]; then
    fail "socket $A left behind by the stopped switch"
else
    pass "socket removed when the switch stopped"
fi
vx_start_switch "$P-a" "$RUN/a2.log" --uplink ul --cores "$CORES_A" --backend "$BACKEND" --xdp-mode "$XDP_MODE" --config "$RUN/host-a.toml" --socket "$A"
PID_A=${VX_PIDS[-1]}
config_to "$RUN/config.restarted"
if cmp -s "$RUN/config.saved" "$RUN/config.restarted"; then
    pass "config show after the restart identical to before"
else
    fail "config show after the restart differs: $(diff "$RUN/config.saved" "$RUN/config.restarted")"
fi
assert_eq "$(statics)" "$STATICS" "static FDB entries back after the restart"
assert_eq "$(ctl "$A" --json arp list | jq_py "[(e['vni'], e['ip'], e['mac']) for e in d]")" \
    "[(100, '198.19.100.77', '02:00:00:00:77:77')]" "ARP entries back after the restart"
assert_eq "$(ctl "$A" --json port list | jq_py "sorted(p['name'] for p in d if p['vni'] is not None)")" \
    "['c100', 'c200', 'c300']" "access ports after the restart"
assert_cmd "ping a300 -> b300 after the restart" ip netns exec "$P-a300" ping -c 2 -i 0.2 -W 2 198.19.30.2
assert_cmd "ping a100 -> b100 after the restart" ip netns exec "$P-a100" ping -c 2 -i 0.2 -W 2 198.19.100.2

echo "== 8b. a port whose interface is deleted (its container gone) is detached by itself"
vx_container "$P-a" "$P-a600" c600 198.19.100.60 02:00:00:00:a6:00
ctl "$A" port add c600 --vni 100 >/dev/null
assert_cmd "ping from the new container" ip netns exec "$P-a600" ping -c 1 -W 2 198.19.100.2
# Two containers on one host, default offloads: the switch completes the
# checksums their kernels left to offload on the local path too.
tcp_transfer "$P-a600" "$P-a100" 198.19.100.1 2 5600 && pass "TCP 2 MB between two local containers (a600 -> a100)" \
    || fail "TCP between two local containers"
ip netns del "$P-a600"
# Broadcasts in VNI 100 keep flooding to c600 while it is gone.
ip netns exec "$P-a100" ping -c 5 -i 0.1 -W 1 198.19.100.99 >/dev/null 2>&1 || true
gone=0
for _ in $(seq 30); do
    ctl "$A" port list | grep -q '^c600 ' || { gone=1; break; }
    sleep 0.1
done
assert_eq "$gone" 1 "c600 detached after its interface went away"
grep -q "port c600: its interface is gone; detached" "$RUN/a2.log" && pass "the switch said so in its log" \
    || fail "no log line: $(tail -3 "$RUN/a2.log")"
assert_cmd "VNI 100 still flows" ip netns exec "$P-a100" ping -c 3 -i 0.2 -W 2 198.19.100.2
sleep 0.3
ctl "$A" --json stats >"$RUN/frames.gone"
python3 - "$RUN/frames.gone" <<'PY' && pass "host A frames all accounted after the port vanished" || fail "frames not accounted after the port vanished"
import json, sys
for w in json.load(open(sys.argv[1]))["workers"]:
    assert w["frames_free"] + w["frames_in_fill"] + w["frames_in_tx"] == w["frames_total"], w
PY

echo "== 9. the control socket admits root only"
assert_eq "$(stat -c %a "$A")" 600 "mode of the control socket"
# nobody_ctl: vxctl stats as uid/gid 65534 with no groups; prints its stderr.
nobody_ctl() {
    if setpriv --reuid=65534 --regid=65534 --clear-groups "$VXCTL" -s "$A" stats >/dev/null 2>"$RUN/stderr"; then
        fail "uid 65534 ran vxctl stats"
    fi
    cat "$RUN/stderr"
}
# The test's own run directory is 0700: nobody cannot reach the socket at all.
err=$(nobody_ctl)
if [[ $err == *"permission denied"* ]]; then
    pass "uid 65534, run directory 0700: '$err'"
else
    fail "uid 65534: $err"
fi
# With the directory open, the socket's own mode (0600) keeps nobody out.
chmod 711 "$RUN"
err=$(nobody_ctl)
if [[ $err == *"permission denied on $A"* ]]; then
    pass "uid 65534, socket 0600: '$err'"
else
    fail "uid 65534 with the socket 0600: $err"
fi
ctl "$A" stats >/dev/null && pass "root still controls the switch"
# And were the socket opened up, the switch itself checks the peer's uid: the
# refusal must reach vxctl every time (10 tries), not a bare "Broken pipe"
# when the switch closes the connection before vxctl has written its request.
chmod 666 "$A"
refused=0
for _ in $(seq 10); do
    err=$(nobody_ctl)
    if [[ $err == *"permission denied: uid 65534 may not control this switch"* ]]; then
        refused=$((refused + 1))
    else
        echo "  uid 65534 with the socket 0666 got: $err"
    fi
done
chmod 600 "$A"
chmod 700 "$RUN"
assert_eq "$refused" 10 "uid 65534, socket 0666: tries refused by the switch with its message"
echo "  runtime $(($(date +%s) - T0)) s"
test_done "live_control[$MODE]"
