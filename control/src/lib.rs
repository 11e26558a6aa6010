//! The vxswitch control protocol: JSON lines over a Unix socket.
//!
//! A client writes one [`Request`] per line; the switch answers each with one
//! [`Reply`] line. Every command is declared once, in the [`commands!`] table
//! below: it makes the [`Request`] enum (what the switch dispatches on, with an
//! exhaustive match) and [`COMMANDS`] (words, arguments and help, from which
//! vxctl builds its parser and help, see [`cli`], and which the README's
//! command table is checked against). Nothing else lists the commands.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub mod cli;
pub mod render;

/// Longest request line the switch reads; longer ones get an error and the
/// connection is closed.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Directory of the default control sockets.
pub const SOCKET_DIR: &str = "/run/vxswitch";

/// The default control socket of the switch on `uplink`.
pub fn default_socket(uplink: &str) -> PathBuf {
    PathBuf::from(SOCKET_DIR).join(format!("{uplink}.sock"))
}

/// An Ethernet MAC address, most significant octet first.
pub type MacAddr = [u8; 6];

/// Limits that vxctl checks before sending, and the switch checks again in
/// its requests and its config file: one definition for all of them.
pub const VNI_MAX: u32 = 0xff_ffff;
/// Largest ECMP weight of a next hop.
pub const WEIGHT_MAX: u32 = 1000;
/// Smallest MSS a VNI may clamp to (the TCP default).
pub const MSS_MIN: u16 = 536;
/// Largest: what the largest overlay MTU (3800 - 50) fits, less 40.
pub const MSS_MAX: u16 = 3710;

/// Formats a MAC as six lowercase colon-separated hex octets, e.g. `02:00:00:00:01:0a`.
pub fn format_mac(mac: &MacAddr) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    )
}

/// Parses `aa:bb:cc:dd:ee:ff` or `aa-bb-cc-dd-ee-ff` (any case, one separator
/// kind, exactly two hex digits per octet).
pub fn parse_mac(s: &str) -> Option<MacAddr> {
    let sep = if s.contains(':') { ':' } else { '-' };
    let mut mac = [0u8; 6];
    let mut parts = s.split(sep);
    for octet in &mut mac {
        let part = parts.next()?;
        if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        *octet = u8::from_str_radix(part, 16).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(mac)
}

/// A unicast MAC address on the wire: a string such as `02:00:00:00:01:0a`.
/// Deserialising checks it, so the switch never sees a malformed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mac(pub MacAddr);

impl std::fmt::Display for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_mac(&self.0))
    }
}

impl std::str::FromStr for Mac {
    type Err = String;
    fn from_str(s: &str) -> Result<Mac, String> {
        let mac = parse_mac(s).ok_or_else(|| {
            format!(
                "{s:?} is not a MAC address (expected six hex octets such as 02:00:00:00:00:fe)"
            )
        })?;
        if mac == [0; 6] {
            return Err(format!("{s} is the all-zero MAC address"));
        }
        if mac[0] & 1 != 0 {
            return Err(format!(
                "{s} is a multicast MAC address (low bit of the first octet is set)"
            ));
        }
        Ok(Mac(mac))
    }
}

impl Serialize for Mac {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Mac {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Mac, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Toggle {
    On,
    Off,
}

impl Toggle {
    pub fn is_on(self) -> bool {
        self == Toggle::On
    }
}

/// What kind of value an argument takes (for the parser and its checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// A VNI: 1..=16777215.
    Vni,
    /// An interface name.
    Name,
    /// An IPv4 address.
    Ipv4,
    /// A unicast MAC address.
    Mac,
    /// `on` or `off`.
    Toggle,
    /// An ECMP weight: 1..=1000.
    Weight,
    /// `auto`, `off` or an MSS.
    MssClamp,
    /// A file path.
    Path,
}

/// One argument of a command.
#[derive(Debug, Clone, Copy)]
pub struct ArgSpec {
    /// The request field it fills.
    pub key: &'static str,
    /// `--flag`, or `None` for a positional argument.
    pub flag: Option<&'static str>,
    /// Placeholder in usage lines: `ID`, `IP`.
    pub value: &'static str,
    pub kind: ArgKind,
    pub required: bool,
    /// Takes several values (`--flood-remote IP...`).
    pub multiple: bool,
    pub help: &'static str,
}

const fn arg(
    key: &'static str,
    flag: Option<&'static str>,
    value: &'static str,
    kind: ArgKind,
    required: bool,
    multiple: bool,
    help: &'static str,
) -> ArgSpec {
    ArgSpec {
        key,
        flag,
        value,
        kind,
        required,
        multiple,
        help,
    }
}

/// A required positional argument.
const fn pos(key: &'static str, value: &'static str, kind: ArgKind, help: &'static str) -> ArgSpec {
    arg(key, None, value, kind, true, false, help)
}

/// A required `--flag VALUE`.
const fn req(
    key: &'static str,
    flag: &'static str,
    value: &'static str,
    kind: ArgKind,
    help: &'static str,
) -> ArgSpec {
    arg(key, Some(flag), value, kind, true, false, help)
}

/// An optional `--flag VALUE`.
const fn opt(
    key: &'static str,
    flag: &'static str,
    value: &'static str,
    kind: ArgKind,
    help: &'static str,
) -> ArgSpec {
    arg(key, Some(flag), value, kind, false, false, help)
}

/// An optional `--flag VALUE...`.
const fn many(
    key: &'static str,
    flag: &'static str,
    value: &'static str,
    kind: ArgKind,
    help: &'static str,
) -> ArgSpec {
    arg(key, Some(flag), value, kind, false, true, help)
}

/// One command: the words that name it, its arguments, its help line.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// `["vni", "add"]`.
    pub words: &'static [&'static str],
    /// The request's `cmd` on the wire.
    pub cmd: &'static str,
    pub args: &'static [ArgSpec],
    pub help: &'static str,
    /// Whether it changes the running switch (and so what `config save` writes).
    pub changes: bool,
}

impl CommandSpec {
    /// `vni add ID [--flood-remote IP...]`
    pub fn usage(&self) -> String {
        let mut s = self.words.join(" ");
        for a in self.args {
            let one = match a.flag {
                None => a.value.to_string(),
                Some(f) if a.multiple => format!("{f} {}...", a.value),
                Some(f) => format!("{f} {}", a.value),
            };
            s.push(' ');
            if a.required {
                s.push_str(&one);
            } else {
                s.push_str(&format!("[{one}]"));
            }
        }
        s
    }
}

/// Declares every command once: the [`Request`] variant (its fields are the
/// request's JSON keys), its wire name, its words, whether it changes the
/// switch, its help, and its arguments (one [`ArgSpec`] per field, same order).
macro_rules! commands {
    ($(
        $var:ident $cmd:literal [$($word:literal)+] $changes:literal $help:literal {
            $( $(#[$fm:meta])* $field:ident : $ty:ty = $arg:expr ),* $(,)?
        }
    )*) => {
        /// A request: one command and its arguments.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "cmd", deny_unknown_fields)]
        pub enum Request {
            $(
                #[doc = $help]
                #[serde(rename = $cmd)]
                $var { $( $(#[$fm])* $field: $ty ),* },
            )*
        }

        /// Every command, in help order.
        pub const COMMANDS: &[CommandSpec] = &[
            $( CommandSpec {
                words: &[$($word),+],
                cmd: $cmd,
                args: &[$($arg),*],
                help: $help,
                changes: $changes,
            }, )*
        ];

        impl Request {
            /// The request's wire name (`vni_add`).
            pub fn cmd(&self) -> &'static str {
                match self { $( Request::$var { .. } => $cmd, )* }
            }
        }
    };
}

use ArgKind::*;

const VNI_HELP: &str = "the VNI (1-16777215)";

commands! {
    VniAdd "vni_add" ["vni" "add"] true "Create a VNI (an overlay segment), optionally with its flood list" {
        id: u32 = pos("id", "ID", Vni, VNI_HELP),
        #[serde(default)]
        flood_remote: Vec<Ipv4Addr> = many("flood_remote", "--flood-remote", "IP", Ipv4, "remote VTEPs that get its broadcast and unknown traffic"),
    }
    VniDel "vni_del" ["vni" "del"] true "Delete a VNI with its tunnels, static FDB and ARP entries (delete its ports first)" {
        id: u32 = pos("id", "ID", Vni, VNI_HELP),
    }
    VniSet "vni_set" ["vni" "set"] true "Change a VNI: learning off means static FDB and ARP entries only; TCP MSS clamping" {
        id: u32 = pos("id", "ID", Vni, VNI_HELP),
        learning: Option<Toggle> = opt("learning", "--learning", "on|off", ArgKind::Toggle, "learn source MACs in this VNI"),
        mss_clamp: Option<String> = opt("mss_clamp", "--mss-clamp", "auto|off|N", MssClamp, "clamp SYNs' MSS: to the overlay MTU, not at all, or to N (536-3710)"),
    }
    VniList "vni_list" ["vni" "list"] false "List VNIs: learning, ports, flood list, static entries" {}
    PortAdd "port_add" ["port" "add"] true "Attach an interface to a VNI (opens its sockets on every worker)" {
        name: String = pos("name", "IF", Name, "the interface"),
        vni: u32 = req("vni", "--vni", "ID", Vni, VNI_HELP),
    }
    PortDel "port_del" ["port" "del"] true "Detach an interface (its learned and static FDB entries go with it)" {
        name: String = pos("name", "IF", Name, "the interface"),
    }
    PortList "port_list" ["port" "list"] false "List access ports and the uplink with their traffic" {}
    TunnelAdd "tunnel_add" ["tunnel" "add"] true "Add a remote VTEP to a VNI's flood list" {
        vni: u32 = req("vni", "--vni", "ID", Vni, VNI_HELP),
        remote: Ipv4Addr = req("remote", "--remote", "IP", Ipv4, "the remote VTEP's underlay address"),
    }
    TunnelDel "tunnel_del" ["tunnel" "del"] true "Remove a remote VTEP from a VNI's flood list (MACs learned behind it go)" {
        vni: u32 = req("vni", "--vni", "ID", Vni, VNI_HELP),
        remote: Ipv4Addr = req("remote", "--remote", "IP", Ipv4, "the remote VTEP's underlay address"),
    }
    TunnelList "tunnel_list" ["tunnel" "list"] false "List remote VTEPs per VNI with their underlay MAC and traffic" {
        vni: Option<u32> = opt("vni", "--vni", "ID", Vni, "only this VNI"),
    }
    FdbShow "fdb_show" ["fdb" "show"] false "List FDB entries: MAC, VNI, where (port or remote VTEP), static or learned, age" {
        vni: Option<u32> = opt("vni", "--vni", "ID", Vni, "only this VNI"),
    }
    FdbAdd "fdb_add" ["fdb" "add"] true "Add a static FDB entry toward a local port or a remote VTEP" {
        vni: u32 = req("vni", "--vni", "ID", Vni, VNI_HELP),
        mac: Mac = req("mac", "--mac", "MAC", ArgKind::Mac, "the station's MAC"),
        port: Option<String> = opt("port", "--port", "IF", Name, "a local port of the VNI"),
        remote: Option<Ipv4Addr> = opt("remote", "--remote", "IP", Ipv4, "a remote VTEP"),
    }
    FdbDel "fdb_del" ["fdb" "del"] true "Delete an FDB entry, static or learned" {
        vni: u32 = req("vni", "--vni", "ID", Vni, VNI_HELP),
        mac: Mac = req("mac", "--mac", "MAC", ArgKind::Mac, "the station's MAC"),
    }
    FdbFlush "fdb_flush" ["fdb" "flush"] true "Forget learned FDB entries (static ones stay)" {
        vni: Option<u32> = opt("vni", "--vni", "ID", Vni, "only this VNI"),
    }
    ArpAdd "arp_add" ["arp" "add"] true "Answer ARP for IP with MAC on the VNI's local ports (ARP suppression)" {
        vni: u32 = req("vni", "--vni", "ID", Vni, VNI_HELP),
        ip: Ipv4Addr = req("ip", "--ip", "IP", Ipv4, "the overlay address"),
        mac: Mac = req("mac", "--mac", "MAC", ArgKind::Mac, "its MAC"),
    }
    ArpDel "arp_del" ["arp" "del"] true "Delete an ARP suppression entry" {
        vni: u32 = req("vni", "--vni", "ID", Vni, VNI_HELP),
        ip: Ipv4Addr = req("ip", "--ip", "IP", Ipv4, "the overlay address"),
    }
    ArpList "arp_list" ["arp" "list"] false "List ARP suppression entries" {
        vni: Option<u32> = opt("vni", "--vni", "ID", Vni, "only this VNI"),
    }
    NexthopAdd "nexthop_add" ["nexthop" "add"] true "Add an underlay next hop (ECMP by weight); with --ip it is probed by ARP and its MAC resolved" {
        ip: Option<Ipv4Addr> = opt("ip", "--ip", "IP", Ipv4, "the router's address"),
        mac: Option<Mac> = opt("mac", "--mac", "MAC", ArgKind::Mac, "the router's MAC"),
        weight: Option<u32> = opt("weight", "--weight", "N", Weight, "share of flows, 1-1000 (default 1)"),
    }
    NexthopDel "nexthop_del" ["nexthop" "del"] true "Delete an underlay next hop (its flows move to the others)" {
        ip: Option<Ipv4Addr> = opt("ip", "--ip", "IP", Ipv4, "the router's address"),
        mac: Option<Mac> = opt("mac", "--mac", "MAC", ArgKind::Mac, "the router's MAC"),
    }
    NexthopList "nexthop_list" ["nexthop" "list"] false "List underlay next hops: state, MAC, weight, ECMP buckets, traffic" {}
    Stats "stats" ["stats"] false "Counters: per port, per VNI, per remote VTEP, per worker, every drop reason" {}
    ConfigShow "config_show" ["config" "show"] false "Print the running configuration (TOML, the start-up schema)" {}
    ConfigSave "config_save" ["config" "save"] false "Write the running configuration to the start-up file, or to --file" {
        file: Option<PathBuf> = opt("file", "--file", "PATH", Path, "where to write it"),
    }
    Version "version" ["version"] false "The versions of vxctl and of the switch" {}
}

/// A reply: `ok` with data, or an error line for the operator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reply {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub data: serde_json::Value,
}

impl Reply {
    pub fn ok(data: impl Serialize) -> Reply {
        Reply {
            ok: true,
            error: None,
            data: serde_json::to_value(data).expect("reply data serialises"),
        }
    }
    pub fn err(msg: impl Into<String>) -> Reply {
        Reply {
            ok: false,
            error: Some(msg.into()),
            data: serde_json::Value::Null,
        }
    }
}

/// What a command that changes the switch answers: one line for the operator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub message: String,
}

/// Traffic through one port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortStats {
    pub name: String,
    /// The port's VNI; `None` for the uplink.
    pub vni: Option<u32>,
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Partial TCP/UDP checksums the switch completed on frames from this
    /// port (sent with checksum offload on).
    #[serde(default)]
    pub csum_completed: u64,
}

/// Traffic to and from one remote VTEP.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VtepStats {
    pub ip: String,
    /// The underlay MAC its frames go to ("-" when none yet, or per-flow next hops).
    pub mac: String,
    /// Where that MAC comes from: configured neighbor, next hops, kernel
    /// (via a gateway or direct), unresolved.
    pub via: String,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub rx_packets: u64,
}

/// Where one worker's frames are. `free + in_fill + in_tx == total` between
/// batches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerStats {
    pub core: usize,
    /// Frames this worker received and sent, over all ports.
    pub rx_packets: u64,
    pub tx_packets: u64,
    /// TSC cycles spent in poll iterations that moved frames, and the frames
    /// received in them: their ratio is the processing cost per packet.
    pub busy_cycles: u64,
    pub busy_packets: u64,
    pub frames_total: u64,
    pub frames_free: u64,
    pub frames_in_fill: u64,
    pub frames_in_tx: u64,
}

/// Traffic in one VNI: what its ports received and sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VniStats {
    pub vni: u32,
    pub ports: usize,
    pub remote_vteps: usize,
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub fdb_entries: u64,
}

/// The reply to `stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub uplink: String,
    pub backend: String,
    pub vtep: String,
    pub udp_port: u16,
    pub uplink_mtu: u16,
    pub overlay_mtu: u16,
    pub fdb_entries: u64,
    pub fdb_capacity: u64,
    /// Every drop reason and event by its stable name, zeros included.
    pub counters: BTreeMap<String, u64>,
    pub ports: Vec<PortStats>,
    #[serde(default)]
    pub vnis: Vec<VniStats>,
    pub vteps: Vec<VtepStats>,
    pub workers: Vec<WorkerStats>,
}

/// One FDB entry, as `fdb show` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdbEntry {
    pub vni: u32,
    pub mac: String,
    /// `port NAME` or `vtep IP`.
    pub dest: String,
    #[serde(rename = "static")]
    pub is_static: bool,
    pub age_secs: u32,
}

/// One VNI, as `vni list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VniInfo {
    pub vni: u32,
    pub learning: bool,
    /// `auto`, `off` or the configured MSS.
    pub mss_clamp: String,
    /// The MSS IPv4 SYNs crossing the underlay are clamped to (none: off).
    pub mss: Option<u16>,
    pub ports: Vec<String>,
    pub flood: Vec<String>,
    pub static_fdb: usize,
    pub arp: usize,
}

/// One port, as `port list` shows it (the uplink first, with no VNI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortInfo {
    pub name: String,
    pub vni: Option<u32>,
    pub rx_packets: u64,
    pub tx_packets: u64,
}

/// One remote VTEP of one VNI, as `tunnel list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunnelInfo {
    pub vni: u32,
    pub remote: String,
    /// Its underlay MAC, or "-" (not yet resolved, or per-flow next hops).
    pub mac: String,
    pub via: String,
    pub tx_packets: u64,
    pub rx_packets: u64,
}

/// One ARP suppression entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArpInfo {
    pub vni: u32,
    pub ip: String,
    pub mac: String,
}

/// One underlay next hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NexthopInfo {
    /// Its address ("-" for a hop given by MAC only, never probed).
    pub ip: String,
    /// The MAC frames go to ("-" while unresolved).
    pub mac: String,
    pub weight: u32,
    /// `up`, `down` or `resolving` (probed hops); `static` (MAC only, always up).
    pub state: String,
    /// ECMP buckets it sends for now (of 256).
    pub buckets: usize,
    pub tx_packets: u64,
    pub tx_bytes: u64,
}

/// The reply to `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_on_the_wire() {
        assert_eq!(
            serde_json::to_string(&Request::Stats {}).unwrap(),
            r#"{"cmd":"stats"}"#
        );
        let r: Request = serde_json::from_str(r#"{"cmd":"fdb_show","vni":100}"#).unwrap();
        assert_eq!(r, Request::FdbShow { vni: Some(100) });
        let r: Request = serde_json::from_str(r#"{"cmd":"fdb_show"}"#).unwrap();
        assert_eq!(r, Request::FdbShow { vni: None });
        let r: Request = serde_json::from_str(r#"{"cmd":"vni_add","id":7}"#).unwrap();
        assert_eq!(
            r,
            Request::VniAdd {
                id: 7,
                flood_remote: vec![]
            }
        );
        let e = serde_json::from_str::<Request>(r#"{"cmd":"reboot"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown variant `reboot`"), "{e}");
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"stats","x":1}"#).is_err());
        let e = serde_json::from_str::<Request>(r#"{"cmd":"vni_add"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field `id`"), "{e}");
        let e =
            serde_json::from_str::<Request>(r#"{"cmd":"nexthop_add","mac":"01:00:5e:00:00:01"}"#)
                .unwrap_err()
                .to_string();
        assert!(e.contains("multicast MAC"), "{e}");
    }

    #[test]
    fn macs_parse_strictly() {
        assert_eq!(parse_mac("02:00:00:00:01:0A"), Some([2, 0, 0, 0, 1, 10]));
        assert_eq!(parse_mac("02-00-00-00-01-0a"), Some([2, 0, 0, 0, 1, 10]));
        for bad in [
            "02:00:00:00:01",
            "02:00:00:00:01:0a:00",
            "2:0:0:0:1:a",
            "zz:00:00:00:00:00",
            "",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
        assert!("00:00:00:00:00:00".parse::<Mac>().is_err());
        assert_eq!(format_mac(&[2, 0, 0, 0, 1, 10]), "02:00:00:00:01:0a");
    }

    #[test]
    fn every_command_is_declared_once() {
        let mut words: Vec<String> = COMMANDS.iter().map(|c| c.words.join(" ")).collect();
        let mut cmds: Vec<&str> = COMMANDS.iter().map(|c| c.cmd).collect();
        let n = COMMANDS.len();
        words.sort();
        words.dedup();
        cmds.sort();
        cmds.dedup();
        assert_eq!((words.len(), cmds.len()), (n, n));
        for c in COMMANDS {
            assert_eq!(c.cmd, c.words.join("_"), "wire name follows the words");
        }
    }

    #[test]
    fn default_socket_path() {
        assert_eq!(
            default_socket("eth0"),
            PathBuf::from("/run/vxswitch/eth0.sock")
        );
    }
}
