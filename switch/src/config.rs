//! Switch configuration: the TOML schema, its parser and validator, and a writer.
//!
//! `vxswitch` reads one TOML file at start-up ([`Config::load`]) naming the
//! underlay (local VTEP address, VXLAN UDP port, MTU, TTL, source-port range,
//! next-hop routers with their probing and on-link neighbours), the FDB limits, who may use
//! `vxctl`, the VNIs with their head-end replication lists, static FDB entries
//! and ARP suppression entries, and the access ports bound to each VNI.
//! The schema is documented key by key in `configs/README.md`.
//!
//! Parsing walks the spanned document (`toml::de::DeTable`) by hand rather
//! than through serde derive, so that every problem (syntax, unknown key,
//! wrong type, out-of-range value, cross-field inconsistency) is reported as
//! one line `FILE:LINE: FIELD.PATH: problem`, and all of them are collected
//! before [`Config::parse`] returns. [`Config::to_toml`] writes a config back
//! in the same schema, so a parsed config can be printed or saved, and
//! [`Config::check`] validates a config built or edited in code by writing it
//! out and reading it back, so one validator serves both.

use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::net::Ipv4Addr;
use std::ops::Range;
use std::path::Path;

use toml::de::{DeArray, DeTable, DeValue};
use toml::Spanned;

pub use vxctl::MacAddr;

const DEFAULT_UDP_PORT: u16 = 4789;
const DEFAULT_TTL: u8 = 64;
/// RFC 7348 section 5 recommends the IANA dynamic range for the outer source port.
const DEFAULT_SRC_PORT_MIN: u16 = 49152;
const DEFAULT_SRC_PORT_MAX: u16 = 65535;
const DEFAULT_FDB_CAPACITY: u32 = 65536;
const DEFAULT_FDB_AGE_SECS: u32 = 300;
const DEFAULT_PROBE_INTERVAL_MS: u32 = 100;
const DEFAULT_PROBE_MISSES: u32 = 3;
const DEFAULT_NEXT_HOP_WEIGHT: u32 = 1;

const MIN_MTU: i128 = 576;
const MAX_MTU: i128 = 3800;
const MAX_VNI: i128 = vxctl::VNI_MAX as i128;
const MAX_FDB_CAPACITY: i128 = 1 << 24;
const MAX_FDB_AGE_SECS: i128 = 86_400 * 30;
const MIN_SRC_PORT: i128 = 1024;
const MIN_PROBE_INTERVAL_MS: i128 = 10;
const MAX_PROBE_INTERVAL_MS: i128 = 10_000;
const MAX_PROBE_MISSES: i128 = 100;
const MAX_NEXT_HOP_WEIGHT: i128 = vxctl::WEIGHT_MAX as i128;
/// `IFNAMSIZ - 1`: the longest Linux interface name in bytes.
const MAX_IFNAME_LEN: usize = 15;
/// The longest group name shadow-utils' `groupadd` accepts by default.
const MAX_GROUP_LEN: usize = 32;

/// The file name [`Config::check`] gives in its problem lines.
const RUNNING_CONFIG: &str = "<running config>";

const TOP_KEYS: &[&str] = &["underlay", "fdb", "control", "vni", "port"];
const UNDERLAY_KEYS: &[&str] = &[
    "vtep",
    "udp_port",
    "mtu",
    "ttl",
    "src_port_range",
    "probe_interval_ms",
    "probe_misses",
    "next_hops",
    "next_hop",
    "neighbor",
];
const NEXT_HOP_KEYS: &[&str] = &["ip", "mac", "weight"];
const NEIGHBOR_KEYS: &[&str] = &["ip", "mac"];
const FDB_KEYS: &[&str] = &["capacity", "age_secs"];
const CONTROL_KEYS: &[&str] = &["group"];
const VNI_KEYS: &[&str] = &["id", "flood", "learning", "mss_clamp", "fdb", "arp"];
const STATIC_FDB_KEYS: &[&str] = &["mac", "port", "remote"];
const ARP_KEYS: &[&str] = &["ip", "mac"];
const PORT_KEYS: &[&str] = &["name", "vni"];

const MTU_NOTE: &str = " (the switch's 4 KiB UMEM frames hold at most 3840 bytes of packet, \
                        which caps the uplink MTU at 3800)";
const VNI_NOTE: &str = " (a VXLAN network identifier is 24 bits)";
/// The smallest MSS clamp: the IPv4 default MSS (RFC 9293 s3.7.1).
const MIN_MSS: i128 = vxctl::MSS_MIN as i128;
/// The largest: what the largest overlay MTU fits (3800 - 50 - 40).
const MAX_MSS: i128 = MAX_MTU - 50 - 40;
// vxctl checks the same bound before sending.
const _: () = assert!(MAX_MSS == vxctl::MSS_MAX as i128);
const MSS_NOTE: &str = " (an IPv4 MSS in bytes: at least the default 536, at most the 3710 that \
                        the largest overlay MTU fits)";

/// A complete, validated switch configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The physical side: local VTEP, encapsulation parameters, next hops.
    pub underlay: Underlay,
    /// Forwarding-database limits.
    pub fdb: FdbSettings,
    /// Who may use the control socket.
    pub control: ControlSettings,
    /// Overlay segments, in file order.
    pub vnis: Vec<VniConfig>,
    /// Access ports, in file order.
    pub ports: Vec<PortConfig>,
}

/// Underlay (outer header) settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Underlay {
    /// Local VTEP address; `None`: the switch uses the uplink's IPv4 address.
    pub vtep: Option<Ipv4Addr>,
    /// VXLAN UDP destination port (default 4789).
    pub udp_port: u16,
    /// Uplink MTU; `None`: the switch reads the uplink's MTU.
    pub mtu: Option<u16>,
    /// Outer IPv4 TTL (default 64).
    pub ttl: u8,
    /// Lowest outer UDP source port (default 49152).
    pub src_port_min: u16,
    /// Highest outer UDP source port (default 65535).
    pub src_port_max: u16,
    /// Underlay routers for remote VTEPs without a neighbor entry, flows
    /// spread over the live ones by weight: the legacy `next_hops` list
    /// first, then the `[[underlay.next_hop]]` tables, in file order. No two
    /// share an `ip` or a `mac`.
    pub next_hops: Vec<NextHop>,
    /// How often each next hop with an `ip` is probed by ARP, in
    /// milliseconds (default 100).
    pub probe_interval_ms: u32,
    /// Unanswered probes in a row after which such a hop is down (default 3).
    pub probe_misses: u32,
    /// Remote VTEPs on the uplink subnet with their MAC.
    pub neighbors: Vec<Neighbor>,
}

/// An underlay router (or peer) that remote VTEPs without a neighbor entry
/// are reached through. At least one of `ip` and `mac` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHop {
    /// Its address on the uplink subnet (unicast, not `underlay.vtep`);
    /// `Some`: the switch probes it by ARP, learns its MAC and marks it down
    /// when it stops answering. `None`: never probed, always up.
    pub ip: Option<Ipv4Addr>,
    /// Its MAC (unicast, non-zero); with `ip`, only the start value until an
    /// ARP reply says otherwise. `None` requires `ip`.
    pub mac: Option<MacAddr>,
    /// Relative share of flows, 1..=1000 (default 1).
    pub weight: u32,
}

impl NextHop {
    /// A hop known only by its MAC, weight 1: what a legacy `next_hops`
    /// entry and `vxctl nexthop add --mac` give.
    pub fn mac(mac: MacAddr) -> NextHop {
        NextHop {
            ip: None,
            mac: Some(mac),
            weight: DEFAULT_NEXT_HOP_WEIGHT,
        }
    }
}

/// A remote VTEP reachable directly on the uplink subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbor {
    /// The remote VTEP's underlay address.
    pub ip: Ipv4Addr,
    /// Its MAC on the uplink segment.
    pub mac: MacAddr,
}

/// Forwarding-database limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdbSettings {
    /// Maximum number of learned entries (default 65536).
    pub capacity: u32,
    /// Seconds after which an unrefreshed entry expires (default 300).
    pub age_secs: u32,
}

/// Control-socket settings (`[control]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ControlSettings {
    /// A Unix group whose members may use `vxctl` besides root; `None`: root
    /// only. Only the name is checked here; the switch looks the group up at
    /// start.
    pub group: Option<String>,
}

/// One overlay segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VniConfig {
    /// The 24-bit VXLAN network identifier.
    pub id: u32,
    /// Remote VTEPs that receive head-end replicated BUM traffic.
    pub flood: Vec<Ipv4Addr>,
    /// Whether the switch learns MAC locations in this VNI (default true).
    pub learning: bool,
    /// TCP MSS clamping of SYNs that cross the underlay (default auto).
    pub mss_clamp: MssClamp,
    /// Static FDB entries (`[[vni.fdb]]`), in file order; MACs are unique.
    pub fdb: Vec<StaticFdb>,
    /// ARP suppression entries (`[[vni.arp]]`), in file order; IPs are unique.
    pub arp: Vec<ArpEntry>,
}

/// How the switch clamps the MSS option of TCP SYNs in a VNI (`mss_clamp`),
/// so that TCP never sends segments too big for the overlay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MssClamp {
    /// To what fits the overlay MTU: overlay MTU - 40 for IPv4 (20 IPv4 +
    /// 20 TCP), - 60 for IPv6 (40 + 20).
    #[default]
    Auto,
    /// Not at all.
    Off,
    /// IPv4 SYNs to this MSS, IPv6 SYNs to 20 less (the same largest
    /// packet); never above what `Auto` gives, which is all the overlay fits.
    Mss(u16),
}

impl std::str::FromStr for MssClamp {
    type Err = String;
    /// `auto`, `off` or an MSS in `536..=3710`, as `vxctl vni set
    /// --mss-clamp` gives it.
    fn from_str(s: &str) -> Result<MssClamp, String> {
        match s {
            "auto" => Ok(MssClamp::Auto),
            "off" => Ok(MssClamp::Off),
            _ => match s.parse::<u16>() {
                Ok(n) if (MIN_MSS..=MAX_MSS).contains(&i128::from(n)) => Ok(MssClamp::Mss(n)),
                _ => Err(format!(
                    "{s:?} is not auto, off or an MSS ({MIN_MSS}-{MAX_MSS})"
                )),
            },
        }
    }
}

impl fmt::Display for MssClamp {
    /// As `to_toml` writes it: `"auto"`, `"off"` (quoted) or a number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MssClamp::Auto => write!(f, "\"auto\""),
            MssClamp::Off => write!(f, "\"off\""),
            MssClamp::Mss(n) => write!(f, "{n}"),
        }
    }
}

/// A configured MAC location in one VNI; never aged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticFdb {
    /// The overlay MAC (unicast, non-zero).
    pub mac: MacAddr,
    /// Where frames to `mac` go.
    pub dest: FdbDest,
}

/// Where a static FDB entry sends its MAC's frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FdbDest {
    /// A local access port, by name; the port belongs to the entry's VNI.
    Port(String),
    /// A remote VTEP, by underlay address (not the local VTEP).
    Remote(Ipv4Addr),
}

/// An overlay IPv4-to-MAC binding the switch answers ARP requests with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpEntry {
    /// The overlay host's IPv4 address (unicast).
    pub ip: Ipv4Addr,
    /// Its MAC (unicast, non-zero).
    pub mac: MacAddr,
}

/// An access port: a local interface attached to one VNI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// Interface name (at most 15 bytes).
    pub name: String,
    /// The VNI the port belongs to; names a configured [`VniConfig`].
    pub vni: u32,
}

/// Every problem found in a configuration, one `FILE:LINE: PATH: problem` line each.
#[derive(Debug, thiserror::Error)]
#[error("{}", problems.join("\n"))]
pub struct ConfigError {
    /// The problems, in line order.
    pub problems: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            underlay: Underlay {
                vtep: None,
                udp_port: DEFAULT_UDP_PORT,
                mtu: None,
                ttl: DEFAULT_TTL,
                src_port_min: DEFAULT_SRC_PORT_MIN,
                src_port_max: DEFAULT_SRC_PORT_MAX,
                next_hops: Vec::new(),
                probe_interval_ms: DEFAULT_PROBE_INTERVAL_MS,
                probe_misses: DEFAULT_PROBE_MISSES,
                neighbors: Vec::new(),
            },
            fdb: FdbSettings {
                capacity: DEFAULT_FDB_CAPACITY,
                age_secs: DEFAULT_FDB_AGE_SECS,
            },
            control: ControlSettings::default(),
            vnis: Vec::new(),
            ports: Vec::new(),
        }
    }
}

impl Config {
    /// Reads and parses the file at `path`; problems name the file as `path.display()`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
            problems: vec![format!("{}: cannot read: {err}", path.display())],
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Parses and validates `text`; `file` is the name used in problem lines.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let (doc, errors) = DeTable::parse_recoverable(text);
        let mut checker = Checker {
            file,
            text,
            problems: Vec::new(),
        };
        if !errors.is_empty() {
            // The recovered document may be missing whole tables; checking it
            // would only add misleading problems, so report the syntax alone.
            for err in &errors {
                checker.syntax(err.span(), err.message());
            }
            return checker.finish(Config::default());
        }
        let config = checker.document(doc.get_ref());
        checker.finish(config)
    }

    /// Validates a config built or edited in code rather than parsed: writes
    /// it with [`Config::to_toml`] and parses that back, so it gets exactly the
    /// checks a file gets. Problems name the file `<running config>`; their
    /// line numbers refer to `self.to_toml()`, and their paths (`vni[1].fdb[0]`)
    /// index the vectors in `self`, which `to_toml` writes in order.
    pub fn check(&self) -> Result<(), ConfigError> {
        let text = self.to_toml();
        let back = Config::parse(&text, RUNNING_CONFIG)?;
        if back == *self {
            Ok(())
        } else {
            // parse(to_toml(c)) == c for every valid c, so this is a bug here
            // rather than in the caller's config; refuse it all the same.
            Err(ConfigError {
                problems: vec![format!(
                    "{RUNNING_CONFIG}: does not read back as written (a bug in Config::to_toml)"
                )],
            })
        }
    }

    /// Serialises the config in the schema [`Config::parse`] reads.
    ///
    /// Every key is written explicitly (defaults included) except `vtep`,
    /// `mtu`, `control.group` and a next hop's `ip` or `mac` when they are
    /// `None`; next hops are written as `[[underlay.next_hop]]` tables, never
    /// as the legacy `next_hops` list. So
    /// `parse(&c.to_toml(), _) == Ok(c)` for any valid `c`.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        self.write_toml(&mut out)
            .expect("writing to a String cannot fail");
        out
    }

    fn write_toml(&self, out: &mut String) -> fmt::Result {
        let u = &self.underlay;
        writeln!(out, "[underlay]")?;
        if let Some(vtep) = u.vtep {
            writeln!(out, "vtep = \"{vtep}\"")?;
        }
        writeln!(out, "udp_port = {}", u.udp_port)?;
        if let Some(mtu) = u.mtu {
            writeln!(out, "mtu = {mtu}")?;
        }
        writeln!(out, "ttl = {}", u.ttl)?;
        writeln!(
            out,
            "src_port_range = [{}, {}]",
            u.src_port_min, u.src_port_max
        )?;
        writeln!(out, "probe_interval_ms = {}", u.probe_interval_ms)?;
        writeln!(out, "probe_misses = {}", u.probe_misses)?;
        // Always the table form: it holds every hop the legacy list can.
        for hop in &u.next_hops {
            writeln!(out, "\n[[underlay.next_hop]]")?;
            if let Some(ip) = hop.ip {
                writeln!(out, "ip = \"{ip}\"")?;
            }
            if let Some(mac) = &hop.mac {
                writeln!(out, "mac = \"{}\"", format_mac(mac))?;
            }
            writeln!(out, "weight = {}", hop.weight)?;
        }
        for n in &u.neighbors {
            writeln!(out, "\n[[underlay.neighbor]]")?;
            writeln!(out, "ip = \"{}\"", n.ip)?;
            writeln!(out, "mac = \"{}\"", format_mac(&n.mac))?;
        }
        writeln!(out, "\n[fdb]")?;
        writeln!(out, "capacity = {}", self.fdb.capacity)?;
        writeln!(out, "age_secs = {}", self.fdb.age_secs)?;
        if let Some(group) = &self.control.group {
            writeln!(out, "\n[control]")?;
            // Quoted by toml: a group set in code is checked only after this.
            writeln!(out, "group = {}", toml::Value::String(group.clone()))?;
        }
        for vni in &self.vnis {
            let flood: Vec<String> = vni.flood.iter().map(|ip| format!("\"{ip}\"")).collect();
            writeln!(out, "\n[[vni]]")?;
            writeln!(out, "id = {}", vni.id)?;
            writeln!(out, "flood = [{}]", flood.join(", "))?;
            writeln!(out, "learning = {}", vni.learning)?;
            writeln!(out, "mss_clamp = {}", vni.mss_clamp)?;
            // [[vni.fdb]] and [[vni.arp]] belong to the [[vni]] just above.
            for entry in &vni.fdb {
                writeln!(out, "\n[[vni.fdb]]")?;
                writeln!(out, "mac = \"{}\"", format_mac(&entry.mac))?;
                match &entry.dest {
                    FdbDest::Port(name) => {
                        writeln!(out, "port = {}", toml::Value::String(name.clone()))?;
                    }
                    FdbDest::Remote(ip) => writeln!(out, "remote = \"{ip}\"")?,
                }
            }
            for entry in &vni.arp {
                writeln!(out, "\n[[vni.arp]]")?;
                writeln!(out, "ip = \"{}\"", entry.ip)?;
                writeln!(out, "mac = \"{}\"", format_mac(&entry.mac))?;
            }
        }
        for port in &self.ports {
            writeln!(out, "\n[[port]]")?;
            writeln!(out, "name = {}", toml::Value::String(port.name.clone()))?;
            writeln!(out, "vni = {}", port.vni)?;
        }
        Ok(())
    }
}

pub use vxctl::{format_mac, parse_mac};

/// Why `ip` cannot be a unicast underlay address, if it cannot.
fn not_unicast(ip: Ipv4Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        Some("is the unspecified address")
    } else if ip.is_broadcast() {
        Some("is the broadcast address")
    } else if ip.is_multicast() {
        Some("is a multicast address")
    } else if ip.is_loopback() {
        Some("is a loopback address")
    } else {
        None
    }
}

/// "a string", "an integer", ... for type-mismatch messages.
fn describe(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// The TOML header of the table array at `path`: `vni[0].fdb` -> `vni.fdb`.
fn table_header(path: &str) -> String {
    let mut header = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => in_index = true,
            ']' => in_index = false,
            c if !in_index => header.push(c),
            _ => {}
        }
    }
    header
}

/// The next hops' addresses and MACs read so far, each with the line that
/// defined it, for the duplicate checks across both forms.
#[derive(Default)]
struct HopsSeen {
    ips: HashMap<Ipv4Addr, usize>,
    macs: HashMap<MacAddr, usize>,
}

/// A static FDB entry's `port`, checked once every `[[port]]` has been read
/// (ports come after the VNIs in the document walk).
struct PortRef {
    /// The `port` value's span, so the problem names its line.
    span: Range<usize>,
    /// `vni[i].fdb[j].port`.
    path: String,
    /// The port name given.
    name: String,
    /// The entry's VNI, when its id is valid.
    vni: Option<u32>,
}

fn join_path(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Walks the parsed document, building the config and collecting problems.
struct Checker<'a> {
    file: &'a str,
    text: &'a str,
    /// (line, message); sorted by line (stably) when finished.
    problems: Vec<(usize, String)>,
}

type Value<'i> = Spanned<DeValue<'i>>;

impl Checker<'_> {
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn report(&mut self, span: &Range<usize>, path: &str, msg: impl fmt::Display) {
        let line = self.line(span.start);
        self.problems
            .push((line, format!("{}:{line}: {path}: {msg}", self.file)));
    }

    fn syntax(&mut self, span: Option<Range<usize>>, msg: &str) {
        let msg = msg.trim().replace('\n', "; ");
        match span {
            Some(span) => {
                let line = self.line(span.start);
                self.problems.push((
                    line,
                    format!("{}:{line}: toml syntax error: {msg}", self.file),
                ));
            }
            None => self
                .problems
                .push((0, format!("{}: toml syntax error: {msg}", self.file))),
        }
    }

    fn finish(mut self, config: Config) -> Result<Config, ConfigError> {
        if self.problems.is_empty() {
            return Ok(config);
        }
        self.problems.sort_by_key(|(line, _)| *line);
        Err(ConfigError {
            problems: self.problems.into_iter().map(|(_, msg)| msg).collect(),
        })
    }

    fn check_keys(&mut self, table: &DeTable<'_>, prefix: &str, allowed: &[&str]) {
        for (key, _) in table.iter() {
            let name: &str = key.get_ref();
            if !allowed.contains(&name) {
                self.report(
                    &key.span(),
                    &join_path(prefix, name),
                    format_args!("unknown field (expected one of {})", allowed.join(", ")),
                );
            }
        }
    }

    fn table<'v, 'i>(&mut self, v: &'v Value<'i>, path: &str) -> Option<&'v DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            other => {
                let msg = format!("expected a table, found {}", describe(other));
                self.report(&v.span(), path, msg);
                None
            }
        }
    }

    fn array<'v, 'i>(&mut self, v: &'v Value<'i>, path: &str) -> Option<&'v DeArray<'i>> {
        match v.get_ref() {
            DeValue::Array(a) => Some(a),
            other => {
                let msg = format!("expected an array, found {}", describe(other));
                self.report(&v.span(), path, msg);
                None
            }
        }
    }

    /// An array of tables (`[[path]]`); the items are checked by the caller.
    fn table_array<'v, 'i>(&mut self, v: &'v Value<'i>, path: &str) -> Option<&'v DeArray<'i>> {
        match v.get_ref() {
            DeValue::Array(a) => Some(a),
            other => {
                let msg = format!(
                    "expected an array of tables ([[{}]]), found {}",
                    table_header(path),
                    describe(other)
                );
                self.report(&v.span(), path, msg);
                None
            }
        }
    }

    fn string<'v>(&mut self, v: &'v Value<'_>, path: &str) -> Option<&'v str> {
        match v.get_ref() {
            DeValue::String(s) => Some(s),
            other => {
                let msg = format!("expected a string, found {}", describe(other));
                self.report(&v.span(), path, msg);
                None
            }
        }
    }

    fn boolean(&mut self, v: &Value<'_>, path: &str) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                let msg = format!("expected a boolean, found {}", describe(other));
                self.report(&v.span(), path, msg);
                None
            }
        }
    }

    /// An integer in `lo..=hi` converted to `T` (the range must fit `T`).
    fn int<T: TryFrom<i128>>(
        &mut self,
        v: &Value<'_>,
        path: &str,
        lo: i128,
        hi: i128,
        note: &str,
    ) -> Option<T> {
        let DeValue::Integer(i) = v.get_ref() else {
            let msg = format!("expected an integer, found {}", describe(v.get_ref()));
            self.report(&v.span(), path, msg);
            return None;
        };
        let n = i128::from_str_radix(i.as_str(), i.radix())
            .ok()
            .filter(|n| (lo..=hi).contains(n))
            .and_then(|n| T::try_from(n).ok());
        if n.is_none() {
            let msg = format!("{i} is out of range {lo}..={hi}{note}");
            self.report(&v.span(), path, msg);
        }
        n
    }

    /// A unicast IPv4 address given as a string; `role` completes "... must be unicast".
    fn ipv4(&mut self, v: &Value<'_>, path: &str, role: &str) -> Option<Ipv4Addr> {
        let s = self.string(v, path)?;
        let Ok(ip) = s.parse::<Ipv4Addr>() else {
            self.report(
                &v.span(),
                path,
                format_args!("{s:?} is not an IPv4 address"),
            );
            return None;
        };
        if let Some(why) = not_unicast(ip) {
            let msg = format!("{ip} {why} ({role} must be a unicast address)");
            self.report(&v.span(), path, msg);
            return None;
        }
        Some(ip)
    }

    /// A unicast, non-zero MAC address given as a string.
    fn mac(&mut self, v: &Value<'_>, path: &str, role: &str) -> Option<MacAddr> {
        let s = self.string(v, path)?;
        let Some(mac) = parse_mac(s) else {
            let msg = format!(
                "{s:?} is not a MAC address (expected six hex octets such as 02:00:00:00:00:fe)"
            );
            self.report(&v.span(), path, msg);
            return None;
        };
        let problem = if mac == [0; 6] {
            "is the all-zero MAC address"
        } else if mac[0] & 1 != 0 {
            "is a multicast MAC address (low bit of the first octet is set)"
        } else {
            return Some(mac);
        };
        let msg = format!("{} {problem}; {role} needs a unicast MAC", format_mac(&mac));
        self.report(&v.span(), path, msg);
        None
    }

    /// A required key; reports it missing at the table's span.
    fn required<'v, 'i>(
        &mut self,
        table: &'v DeTable<'i>,
        span: &Range<usize>,
        path: &str,
        key: &str,
    ) -> Option<&'v Value<'i>> {
        let v = table.get(key);
        if v.is_none() {
            self.report(span, path, format_args!("missing field {key}"));
        }
        v
    }

    fn document(&mut self, doc: &DeTable<'_>) -> Config {
        let mut config = Config::default();
        self.check_keys(doc, "", TOP_KEYS);
        if let Some(t) = doc.get("underlay").and_then(|v| self.table(v, "underlay")) {
            self.underlay(t, &mut config.underlay);
        }
        if let Some(t) = doc.get("fdb").and_then(|v| self.table(v, "fdb")) {
            self.fdb(t, &mut config.fdb);
        }
        if let Some(t) = doc.get("control").and_then(|v| self.table(v, "control")) {
            self.control(t, &mut config.control);
        }
        let mut vni_ids = HashSet::new();
        let mut port_refs = Vec::new();
        if let Some(items) = doc.get("vni").and_then(|v| self.table_array(v, "vni")) {
            let mut first_line: HashMap<u32, usize> = HashMap::new();
            for (i, item) in items.iter().enumerate() {
                let path = format!("vni[{i}]");
                let vtep = config.underlay.vtep;
                let (vni, id) = self.vni(item, &path, vtep, &mut first_line, &mut port_refs);
                vni_ids.extend(id);
                config.vnis.extend(vni);
            }
        }
        // Each port name defined, with its VNI when that is valid too.
        let mut port_vnis: HashMap<String, Option<u32>> = HashMap::new();
        if let Some(items) = doc.get("port").and_then(|v| self.table_array(v, "port")) {
            let mut first_line: HashMap<String, usize> = HashMap::new();
            for (i, item) in items.iter().enumerate() {
                let path = format!("port[{i}]");
                let port = self.port(item, &path, &vni_ids, &mut first_line, &mut port_vnis);
                config.ports.extend(port);
            }
        }
        for r in port_refs {
            self.port_ref(&r, &port_vnis);
        }
        config
    }

    fn control(&mut self, t: &DeTable<'_>, control: &mut ControlSettings) {
        self.check_keys(t, "control", CONTROL_KEYS);
        if let Some(v) = t.get("group") {
            if let Some(s) = self.string(v, "control.group") {
                match group_problem(s) {
                    Some(problem) => self.report(&v.span(), "control.group", problem),
                    None => control.group = Some(s.to_string()),
                }
            }
        }
    }

    fn underlay(&mut self, t: &DeTable<'_>, u: &mut Underlay) {
        self.check_keys(t, "underlay", UNDERLAY_KEYS);
        if let Some(v) = t.get("vtep") {
            u.vtep = self.ipv4(v, "underlay.vtep", "the local VTEP");
        }
        if let Some(v) = t.get("udp_port") {
            if let Some(n) = self.int(v, "underlay.udp_port", 1, 65535, "") {
                u.udp_port = n;
            }
        }
        if let Some(v) = t.get("mtu") {
            u.mtu = self.int(v, "underlay.mtu", MIN_MTU, MAX_MTU, MTU_NOTE);
        }
        if let Some(v) = t.get("ttl") {
            if let Some(n) = self.int(v, "underlay.ttl", 1, 255, "") {
                u.ttl = n;
            }
        }
        if let Some(v) = t.get("src_port_range") {
            self.src_port_range(v, u);
        }
        if let Some(v) = t.get("probe_interval_ms") {
            let (lo, hi) = (MIN_PROBE_INTERVAL_MS, MAX_PROBE_INTERVAL_MS);
            if let Some(n) = self.int(v, "underlay.probe_interval_ms", lo, hi, "") {
                u.probe_interval_ms = n;
            }
        }
        if let Some(v) = t.get("probe_misses") {
            if let Some(n) = self.int(v, "underlay.probe_misses", 1, MAX_PROBE_MISSES, "") {
                u.probe_misses = n;
            }
        }
        // Both forms share the duplicate checks: the legacy list first, then
        // the tables, which is also the order they take in `next_hops`.
        let mut seen = HopsSeen::default();
        if let Some(a) = t
            .get("next_hops")
            .and_then(|v| self.array(v, "underlay.next_hops"))
        {
            for (i, item) in a.iter().enumerate() {
                let path = format!("underlay.next_hops[{i}]");
                let Some(mac) = self.mac(item, &path, "a next hop") else {
                    continue;
                };
                if self.hop_mac_is_new(mac, item, &path, &mut seen) {
                    u.next_hops.push(NextHop::mac(mac));
                }
            }
        }
        if let Some(a) = t
            .get("next_hop")
            .and_then(|v| self.table_array(v, "underlay.next_hop"))
        {
            for (i, item) in a.iter().enumerate() {
                let path = format!("underlay.next_hop[{i}]");
                if let Some(hop) = self.next_hop(item, &path, u.vtep, &mut seen) {
                    u.next_hops.push(hop);
                }
            }
        }
        if let Some(a) = t
            .get("neighbor")
            .and_then(|v| self.table_array(v, "underlay.neighbor"))
        {
            let mut first_line: HashMap<Ipv4Addr, usize> = HashMap::new();
            for (i, item) in a.iter().enumerate() {
                let path = format!("underlay.neighbor[{i}]");
                if let Some(n) = self.neighbor(item, &path, u.vtep, &mut first_line) {
                    u.neighbors.push(n);
                }
            }
        }
    }

    fn src_port_range(&mut self, v: &Value<'_>, u: &mut Underlay) {
        let path = "underlay.src_port_range";
        let Some(a) = self.array(v, path) else {
            return;
        };
        if a.len() != 2 {
            let msg = format!("expected two numbers [min, max], found {} values", a.len());
            self.report(&v.span(), path, msg);
            return;
        }
        let note = " (ports below 1024 are reserved)";
        let lo: Option<u16> = self.int(&a[0], &format!("{path}[0]"), MIN_SRC_PORT, 65535, note);
        let hi: Option<u16> = self.int(&a[1], &format!("{path}[1]"), MIN_SRC_PORT, 65535, note);
        if let (Some(lo), Some(hi)) = (lo, hi) {
            if lo > hi {
                self.report(
                    &v.span(),
                    path,
                    format_args!("min {lo} is greater than max {hi}"),
                );
            } else {
                u.src_port_min = lo;
                u.src_port_max = hi;
            }
        }
    }

    /// Records `mac` as a next hop's at `v`'s line; false (and reported) when
    /// an earlier next hop has it.
    fn hop_mac_is_new(
        &mut self,
        mac: MacAddr,
        v: &Value<'_>,
        path: &str,
        seen: &mut HopsSeen,
    ) -> bool {
        if let Some(first) = seen.macs.get(&mac) {
            let msg = format!(
                "duplicate next hop {} (first defined at line {first})",
                format_mac(&mac)
            );
            self.report(&v.span(), path, msg);
            false
        } else {
            seen.macs.insert(mac, self.line(v.span().start));
            true
        }
    }

    /// Checks one `[[underlay.next_hop]]`.
    fn next_hop(
        &mut self,
        item: &Value<'_>,
        path: &str,
        vtep: Option<Ipv4Addr>,
        seen: &mut HopsSeen,
    ) -> Option<NextHop> {
        let t = self.table(item, path)?;
        self.check_keys(t, path, NEXT_HOP_KEYS);
        let mut valid = true;
        let mut ip = None;
        if let Some(v) = t.get("ip") {
            let ip_path = format!("{path}.ip");
            ip = self.ipv4(v, &ip_path, "a next hop");
            if let Some(addr) = ip {
                if vtep == Some(addr) {
                    let msg = format!("{addr} is this switch's own address (underlay.vtep)");
                    self.report(&v.span(), &ip_path, msg);
                    ip = None;
                } else if let Some(first) = seen.ips.get(&addr) {
                    let msg = format!("duplicate next hop {addr} (first defined at line {first})");
                    self.report(&v.span(), &ip_path, msg);
                    ip = None;
                } else {
                    seen.ips.insert(addr, self.line(v.span().start));
                }
            }
            valid &= ip.is_some();
        }
        let mut mac = None;
        if let Some(v) = t.get("mac") {
            let mac_path = format!("{path}.mac");
            mac = self
                .mac(v, &mac_path, "a next hop")
                .filter(|&m| self.hop_mac_is_new(m, v, &mac_path, seen));
            valid &= mac.is_some();
        }
        if t.get("ip").is_none() && t.get("mac").is_none() {
            self.report(&item.span(), path, "needs ip or mac");
            valid = false;
        }
        let mut weight = DEFAULT_NEXT_HOP_WEIGHT;
        if let Some(v) = t.get("weight") {
            let w_path = format!("{path}.weight");
            match self.int(v, &w_path, 1, MAX_NEXT_HOP_WEIGHT, "") {
                Some(w) => weight = w,
                None => valid = false,
            }
        }
        valid.then_some(NextHop { ip, mac, weight })
    }

    fn neighbor(
        &mut self,
        item: &Value<'_>,
        path: &str,
        vtep: Option<Ipv4Addr>,
        first_line: &mut HashMap<Ipv4Addr, usize>,
    ) -> Option<Neighbor> {
        let t = self.table(item, path)?;
        self.check_keys(t, path, NEIGHBOR_KEYS);
        let ip_path = format!("{path}.ip");
        let mut ip = None;
        if let Some(v) = self.required(t, &item.span(), path, "ip") {
            ip = self.ipv4(v, &ip_path, "a neighbor");
            if let Some(addr) = ip {
                let line = self.line(v.span().start);
                if vtep == Some(addr) {
                    let msg = format!("{addr} is this switch's own address (underlay.vtep)");
                    self.report(&v.span(), &ip_path, msg);
                    ip = None;
                } else if let Some(first) = first_line.get(&addr) {
                    let msg = format!("duplicate neighbor {addr} (first defined at line {first})");
                    self.report(&v.span(), &ip_path, msg);
                    ip = None;
                } else {
                    first_line.insert(addr, line);
                }
            }
        }
        let mac = self
            .required(t, &item.span(), path, "mac")
            .and_then(|v| self.mac(v, &format!("{path}.mac"), "a neighbor"));
        Some(Neighbor { ip: ip?, mac: mac? })
    }

    fn fdb(&mut self, t: &DeTable<'_>, fdb: &mut FdbSettings) {
        self.check_keys(t, "fdb", FDB_KEYS);
        if let Some(v) = t.get("capacity") {
            if let Some(n) = self.int(v, "fdb.capacity", 1, MAX_FDB_CAPACITY, "") {
                fdb.capacity = n;
            }
        }
        if let Some(v) = t.get("age_secs") {
            let note = " (at most 30 days)";
            if let Some(n) = self.int(v, "fdb.age_secs", 1, MAX_FDB_AGE_SECS, note) {
                fdb.age_secs = n;
            }
        }
    }

    /// Checks one `[[vni]]`; returns the entry when fully valid, and its id
    /// whenever the id itself is valid (ports may then refer to it).
    fn vni(
        &mut self,
        item: &Value<'_>,
        path: &str,
        vtep: Option<Ipv4Addr>,
        first_line: &mut HashMap<u32, usize>,
        port_refs: &mut Vec<PortRef>,
    ) -> (Option<VniConfig>, Option<u32>) {
        let Some(t) = self.table(item, path) else {
            return (None, None);
        };
        self.check_keys(t, path, VNI_KEYS);
        let mut valid = true;
        let mut id = None;
        if let Some(v) = self.required(t, &item.span(), path, "id") {
            id = self.int::<u32>(v, &format!("{path}.id"), 1, MAX_VNI, VNI_NOTE);
            if let Some(n) = id {
                if let Some(first) = first_line.get(&n) {
                    let msg = format!("duplicate vni id {n} (first defined at line {first})");
                    self.report(&v.span(), &format!("{path}.id"), msg);
                    valid = false;
                } else {
                    first_line.insert(n, self.line(v.span().start));
                }
            }
        }
        let mut flood = Vec::new();
        if let Some(a) = t
            .get("flood")
            .and_then(|v| self.array(v, &format!("{path}.flood")))
        {
            let mut seen: HashMap<Ipv4Addr, usize> = HashMap::new();
            for (i, entry) in a.iter().enumerate() {
                let entry_path = format!("{path}.flood[{i}]");
                let Some(ip) = self.ipv4(entry, &entry_path, "a remote VTEP") else {
                    valid = false;
                    continue;
                };
                let problem = if vtep == Some(ip) {
                    format!("{ip} is this switch's own address (underlay.vtep)")
                } else if let Some(j) = seen.get(&ip) {
                    format!("duplicate flood entry {ip} (also {path}.flood[{j}])")
                } else {
                    seen.insert(ip, i);
                    flood.push(ip);
                    continue;
                };
                seen.entry(ip).or_insert(i);
                self.report(&entry.span(), &entry_path, problem);
                valid = false;
            }
        }
        let mut learning = true;
        if let Some(v) = t.get("learning") {
            match self.boolean(v, &format!("{path}.learning")) {
                Some(b) => learning = b,
                None => valid = false,
            }
        }
        let mut mss_clamp = MssClamp::Auto;
        if let Some(v) = t.get("mss_clamp") {
            match self.mss_clamp(v, &format!("{path}.mss_clamp")) {
                Some(m) => mss_clamp = m,
                None => valid = false,
            }
        }
        let mut fdb = Vec::new();
        if let Some(a) = t
            .get("fdb")
            .and_then(|v| self.table_array(v, &format!("{path}.fdb")))
        {
            let mut first_line: HashMap<MacAddr, usize> = HashMap::new();
            for (i, entry) in a.iter().enumerate() {
                let entry_path = format!("{path}.fdb[{i}]");
                let e = self.static_fdb(entry, &entry_path, id, vtep, &mut first_line, port_refs);
                match e {
                    Some(e) => fdb.push(e),
                    None => valid = false,
                }
            }
        }
        let mut arp = Vec::new();
        if let Some(a) = t
            .get("arp")
            .and_then(|v| self.table_array(v, &format!("{path}.arp")))
        {
            let mut first_line: HashMap<Ipv4Addr, usize> = HashMap::new();
            for (i, entry) in a.iter().enumerate() {
                let entry_path = format!("{path}.arp[{i}]");
                match self.arp(entry, &entry_path, &mut first_line) {
                    Some(e) => arp.push(e),
                    None => valid = false,
                }
            }
        }
        let vni = match id {
            Some(id) if valid => Some(VniConfig {
                id,
                flood,
                learning,
                mss_clamp,
                fdb,
                arp,
            }),
            _ => None,
        };
        (vni, id)
    }

    /// A `mss_clamp`: `"auto"`, `"off"` or an MSS in bytes.
    fn mss_clamp(&mut self, v: &Value<'_>, path: &str) -> Option<MssClamp> {
        let problem = match v.get_ref() {
            DeValue::Integer(_) => {
                return self
                    .int(v, path, MIN_MSS, MAX_MSS, MSS_NOTE)
                    .map(MssClamp::Mss)
            }
            DeValue::String(s) => match s.as_ref() {
                "auto" => return Some(MssClamp::Auto),
                "off" => return Some(MssClamp::Off),
                s => format!("{s:?} is not \"auto\", \"off\" or an MSS in bytes"),
            },
            other => format!(
                "expected \"auto\", \"off\" or an integer, found {}",
                describe(other)
            ),
        };
        self.report(&v.span(), path, problem);
        None
    }

    /// Checks one `[[vni.fdb]]` of the VNI `vni` (its id, when valid); a
    /// `port` is only recorded in `port_refs` here, and checked by
    /// [`Checker::port_ref`] once the ports are known.
    fn static_fdb(
        &mut self,
        item: &Value<'_>,
        path: &str,
        vni: Option<u32>,
        vtep: Option<Ipv4Addr>,
        first_line: &mut HashMap<MacAddr, usize>,
        port_refs: &mut Vec<PortRef>,
    ) -> Option<StaticFdb> {
        let t = self.table(item, path)?;
        self.check_keys(t, path, STATIC_FDB_KEYS);
        let mac_path = format!("{path}.mac");
        let mut mac = None;
        if let Some(v) = self.required(t, &item.span(), path, "mac") {
            mac = self.mac(v, &mac_path, "a static FDB entry");
            if let Some(m) = mac {
                if let Some(first) = first_line.get(&m) {
                    let msg = format!(
                        "duplicate FDB entry {} (first defined at line {first})",
                        format_mac(&m)
                    );
                    self.report(&v.span(), &mac_path, msg);
                    mac = None;
                } else {
                    first_line.insert(m, self.line(v.span().start));
                }
            }
        }
        let dest = match (t.get("port"), t.get("remote")) {
            (None, None) => {
                self.report(&item.span(), path, "needs port or remote");
                None
            }
            (Some(_), Some(_)) => {
                self.report(&item.span(), path, "give port or remote, not both");
                None
            }
            (Some(v), None) => {
                let port_path = format!("{path}.port");
                self.string(v, &port_path).map(|name| {
                    port_refs.push(PortRef {
                        span: v.span(),
                        path: port_path,
                        name: name.to_string(),
                        vni,
                    });
                    FdbDest::Port(name.to_string())
                })
            }
            (None, Some(v)) => {
                let remote_path = format!("{path}.remote");
                match self.ipv4(v, &remote_path, "a remote VTEP") {
                    Some(ip) if vtep == Some(ip) => {
                        let msg = format!("{ip} is this switch's own address (underlay.vtep)");
                        self.report(&v.span(), &remote_path, msg);
                        None
                    }
                    ip => ip.map(FdbDest::Remote),
                }
            }
        };
        Some(StaticFdb {
            mac: mac?,
            dest: dest?,
        })
    }

    /// Checks a static FDB entry's `port` against the ports read
    /// (`port_vnis`: name -> its VNI when valid). A port whose own `vni` is
    /// invalid has been reported already, so it is not reported again here.
    fn port_ref(&mut self, r: &PortRef, port_vnis: &HashMap<String, Option<u32>>) {
        let name = &r.name;
        match (port_vnis.get(name), r.vni) {
            (None, _) => {
                let msg = format!("port {name:?} is not a [[port]] in this file");
                self.report(&r.span, &r.path, msg);
            }
            (Some(Some(port_vni)), Some(vni)) if *port_vni != vni => {
                let msg = format!("port {name:?} is in vni {port_vni}, not {vni}");
                self.report(&r.span, &r.path, msg);
            }
            _ => {}
        }
    }

    /// Checks one `[[vni.arp]]`.
    fn arp(
        &mut self,
        item: &Value<'_>,
        path: &str,
        first_line: &mut HashMap<Ipv4Addr, usize>,
    ) -> Option<ArpEntry> {
        let t = self.table(item, path)?;
        self.check_keys(t, path, ARP_KEYS);
        let ip_path = format!("{path}.ip");
        let mut ip = None;
        if let Some(v) = self.required(t, &item.span(), path, "ip") {
            ip = self.ipv4(v, &ip_path, "an overlay host");
            if let Some(addr) = ip {
                if let Some(first) = first_line.get(&addr) {
                    let msg = format!("duplicate ARP entry {addr} (first defined at line {first})");
                    self.report(&v.span(), &ip_path, msg);
                    ip = None;
                } else {
                    first_line.insert(addr, self.line(v.span().start));
                }
            }
        }
        let mac = self
            .required(t, &item.span(), path, "mac")
            .and_then(|v| self.mac(v, &format!("{path}.mac"), "an ARP entry"));
        Some(ArpEntry { ip: ip?, mac: mac? })
    }

    fn port(
        &mut self,
        item: &Value<'_>,
        path: &str,
        vni_ids: &HashSet<u32>,
        first_line: &mut HashMap<String, usize>,
        port_vnis: &mut HashMap<String, Option<u32>>,
    ) -> Option<PortConfig> {
        let t = self.table(item, path)?;
        self.check_keys(t, path, PORT_KEYS);
        let name_path = format!("{path}.name");
        let mut name = None;
        if let Some(v) = self.required(t, &item.span(), path, "name") {
            if let Some(s) = self.string(v, &name_path) {
                if let Some(problem) = ifname_problem(s) {
                    self.report(&v.span(), &name_path, problem);
                } else if let Some(first) = first_line.get(s) {
                    let msg = format!("duplicate port name {s:?} (first defined at line {first})");
                    self.report(&v.span(), &name_path, msg);
                } else {
                    first_line.insert(s.to_string(), self.line(v.span().start));
                    name = Some(s.to_string());
                }
            }
        }
        let vni_path = format!("{path}.vni");
        let mut vni = None;
        if let Some(v) = self.required(t, &item.span(), path, "vni") {
            if let Some(n) = self.int::<u32>(v, &vni_path, 1, MAX_VNI, VNI_NOTE) {
                if vni_ids.contains(&n) {
                    vni = Some(n);
                } else {
                    let msg = format!("vni {n} is not configured (no [[vni]] with id = {n})");
                    self.report(&v.span(), &vni_path, msg);
                }
            }
        }
        if let Some(name) = &name {
            port_vnis.insert(name.clone(), vni);
        }
        Some(PortConfig {
            name: name?,
            vni: vni?,
        })
    }
}

/// Why `name` is not a usable Linux interface name, if it is not.
fn ifname_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("port name is empty".to_string())
    } else if name.len() > MAX_IFNAME_LEN {
        Some(format!(
            "{name:?} is {} bytes long; interface names are at most {MAX_IFNAME_LEN} bytes (IFNAMSIZ - 1)",
            name.len()
        ))
    } else if name == "." || name == ".." {
        Some(format!("{name:?} is not a valid interface name"))
    } else {
        name.chars()
            .find(|&c| c == '/' || c == ':' || c.is_whitespace())
            .map(|c| {
                format!(
                    "{name:?} contains {c:?}; interface names cannot contain '/', ':' or whitespace"
                )
            })
    }
}

/// Why `name` is not a usable Unix group name, if it is not: POSIX's
/// portable user and group names (`[A-Za-z0-9_.-]`, no leading `-`) within
/// shadow-utils' default length limit.
fn group_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("group name is empty".to_string())
    } else if name.len() > MAX_GROUP_LEN {
        Some(format!(
            "{name:?} is {} bytes long; group names are at most {MAX_GROUP_LEN} bytes",
            name.len()
        ))
    } else if let Some(c) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        Some(format!(
            "{name:?} contains {c:?}; group names may contain only ASCII letters, digits, '_', '.' and '-'"
        ))
    } else if name.starts_with('-') {
        Some(format!(
            "{name:?} starts with '-'; group names cannot start with '-'"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"# full example
[underlay]
vtep = "198.18.0.1"
udp_port = 4790
mtu = 1500
ttl = 32
src_port_range = [50000, 60000]
probe_interval_ms = 250
probe_misses = 5
next_hops = ["02:00:00:00:00:FE", "02-00-00-00-00-fd"]

[[underlay.next_hop]]
ip = "198.18.0.254"
weight = 3

[[underlay.next_hop]]
ip = "198.18.0.253"
mac = "02:00:00:00:00:fc"

[[underlay.neighbor]]
ip = "198.18.0.2"
mac = "02:00:00:00:01:02"

[[underlay.neighbor]]
ip = "198.18.0.3"
mac = "02:00:00:00:01:03"

[fdb]
capacity = 1024
age_secs = 60

[control]
group = "vx-admin_2.x"

[[vni]]
id = 100
flood = ["198.18.0.2", "198.18.0.3", "203.0.113.9"]
learning = true
mss_clamp = 1400

[[vni.fdb]]
mac = "02:00:00:00:aa:01"
port = "c100"

[[vni.fdb]]
mac = "02-00-00-00-AA-02"
remote = "198.18.0.2"

[[vni.arp]]
ip = "10.100.0.1"
mac = "02:00:00:00:aa:01"

[[vni.arp]]
ip = "10.100.0.2"
mac = "02:00:00:00:aa:02"

[[vni]]
id = 0xff_ffff
learning = false
mss_clamp = "off"

[[port]]
name = "c100"
vni = 100

[[port]]
name = "c200"
vni = 16777215
"#;

    fn problems(text: &str) -> Vec<String> {
        match Config::parse(text, "t.toml") {
            Ok(c) => panic!("expected problems, parsed {c:#?}"),
            Err(e) => e.problems,
        }
    }

    /// Exactly one problem, equal to `expected`.
    fn only(text: &str, expected: &str) {
        assert_eq!(problems(text), vec![expected.to_string()], "input:\n{text}");
    }

    fn ok(text: &str) -> Config {
        Config::parse(text, "t.toml").unwrap_or_else(|e| panic!("unexpected problems:\n{e}"))
    }

    const IP1: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    const IP2: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
    const IP3: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 3);

    #[test]
    fn full_example_every_field() {
        let c = ok(FULL);
        assert_eq!(
            c.underlay,
            Underlay {
                vtep: Some(IP1),
                udp_port: 4790,
                mtu: Some(1500),
                ttl: 32,
                src_port_min: 50000,
                src_port_max: 60000,
                next_hops: vec![
                    NextHop::mac([2, 0, 0, 0, 0, 0xfe]),
                    NextHop::mac([2, 0, 0, 0, 0, 0xfd]),
                    NextHop {
                        ip: Some(Ipv4Addr::new(198, 18, 0, 254)),
                        mac: None,
                        weight: 3
                    },
                    NextHop {
                        ip: Some(Ipv4Addr::new(198, 18, 0, 253)),
                        mac: Some([2, 0, 0, 0, 0, 0xfc]),
                        weight: 1
                    },
                ],
                probe_interval_ms: 250,
                probe_misses: 5,
                neighbors: vec![
                    Neighbor {
                        ip: IP2,
                        mac: [2, 0, 0, 0, 1, 2]
                    },
                    Neighbor {
                        ip: IP3,
                        mac: [2, 0, 0, 0, 1, 3]
                    },
                ],
            }
        );
        assert_eq!(
            c.fdb,
            FdbSettings {
                capacity: 1024,
                age_secs: 60
            }
        );
        assert_eq!(
            c.vnis,
            vec![
                VniConfig {
                    id: 100,
                    flood: vec![IP2, IP3, Ipv4Addr::new(203, 0, 113, 9)],
                    learning: true,
                    mss_clamp: MssClamp::Mss(1400),
                    fdb: vec![
                        StaticFdb {
                            mac: [2, 0, 0, 0, 0xaa, 1],
                            dest: FdbDest::Port("c100".into())
                        },
                        StaticFdb {
                            mac: [2, 0, 0, 0, 0xaa, 2],
                            dest: FdbDest::Remote(IP2)
                        },
                    ],
                    arp: vec![
                        ArpEntry {
                            ip: Ipv4Addr::new(10, 100, 0, 1),
                            mac: [2, 0, 0, 0, 0xaa, 1]
                        },
                        ArpEntry {
                            ip: Ipv4Addr::new(10, 100, 0, 2),
                            mac: [2, 0, 0, 0, 0xaa, 2]
                        },
                    ],
                },
                VniConfig {
                    id: 16_777_215,
                    flood: vec![],
                    learning: false,
                    mss_clamp: MssClamp::Off,
                    fdb: vec![],
                    arp: vec![],
                },
            ]
        );
        assert_eq!(c.control.group.as_deref(), Some("vx-admin_2.x"));
        assert_eq!(
            c.ports,
            vec![
                PortConfig {
                    name: "c100".into(),
                    vni: 100
                },
                PortConfig {
                    name: "c200".into(),
                    vni: 16_777_215
                },
            ]
        );
    }

    #[test]
    fn empty_file_gives_defaults() {
        for text in ["", "# nothing\n", "[underlay]\n[fdb]\n"] {
            let c = ok(text);
            assert_eq!(c, Config::default());
        }
        let c = Config::default();
        assert_eq!(c.underlay.vtep, None);
        assert_eq!(c.underlay.udp_port, 4789);
        assert_eq!(c.underlay.mtu, None);
        assert_eq!(c.underlay.ttl, 64);
        assert_eq!(
            (c.underlay.src_port_min, c.underlay.src_port_max),
            (49152, 65535)
        );
        assert!(c.underlay.next_hops.is_empty() && c.underlay.neighbors.is_empty());
        assert_eq!(
            (c.underlay.probe_interval_ms, c.underlay.probe_misses),
            (100, 3)
        );
        assert_eq!(
            c.fdb,
            FdbSettings {
                capacity: 65536,
                age_secs: 300
            }
        );
        assert!(c.vnis.is_empty() && c.ports.is_empty());
        assert_eq!(c.control, ControlSettings { group: None });
    }

    #[test]
    fn vni_without_optional_keys_gets_defaults() {
        let c = ok("[[vni]]\nid = 7\n");
        assert_eq!(
            c.vnis,
            vec![VniConfig {
                id: 7,
                flood: vec![],
                learning: true,
                mss_clamp: MssClamp::Auto,
                fdb: vec![],
                arp: vec![],
            }]
        );
    }

    #[test]
    fn mac_format_and_parse() {
        assert_eq!(format_mac(&[2, 0, 0, 0, 1, 10]), "02:00:00:00:01:0a");
        assert_eq!(parse_mac("02:00:00:00:01:0A"), Some([2, 0, 0, 0, 1, 10]));
        assert_eq!(
            parse_mac("aa-BB-cc-dd-ee-ff"),
            Some([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff])
        );
        for bad in [
            "",
            "02:00:00:00:01",
            "02:00:00:00:01:02:03",
            "02:00:00:00:01:2",
            "02:00:00:00:01:002",
            "02:00-00:00:01:02",
            "0g:00:00:00:01:02",
            "+2:00:00:00:01:02",
            "020000000102",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad:?}");
        }
        let mac = [0xde, 0xad, 0xbe, 0xef, 0, 1];
        assert_eq!(parse_mac(&format_mac(&mac)), Some(mac));
    }

    #[test]
    fn syntax_error_names_line() {
        let p = problems("[underlay]\nttl = 64\nmtu = = 3\n");
        assert!(!p.is_empty());
        assert!(p[0].starts_with("t.toml:3: toml syntax error: "), "{p:?}");
        let p = problems("[fdb]\ncapacity = 1\ncapacity = 2\n");
        assert!(p[0].starts_with("t.toml:3: toml syntax error: "), "{p:?}");
    }

    #[test]
    fn unknown_keys() {
        only(
            "# lab\n[underlay]\nmtuu = 1500\n",
            "t.toml:3: underlay.mtuu: unknown field (expected one of vtep, udp_port, mtu, ttl, src_port_range, probe_interval_ms, probe_misses, next_hops, next_hop, neighbor)",
        );
        only(
            "\nbogus = 1\n",
            "t.toml:2: bogus: unknown field (expected one of underlay, fdb, control, vni, port)",
        );
        only(
            "[fdb]\ncap = 1\n",
            "t.toml:2: fdb.cap: unknown field (expected one of capacity, age_secs)",
        );
        only(
            "[[vni]]\nid = 1\nflod = []\n",
            "t.toml:3: vni[0].flod: unknown field (expected one of id, flood, learning, mss_clamp, fdb, arp)",
        );
        only(
            "[control]\ngroup = \"vx\"\nmode = 0o660\n",
            "t.toml:3: control.mode: unknown field (expected one of group)",
        );
        only(
            "[[vni]]\nid = 1\n[[vni.fdb]]\nmac = \"02:00:00:00:00:01\"\nremote = \"10.0.0.2\"\nage = 1\n",
            "t.toml:6: vni[0].fdb[0].age: unknown field (expected one of mac, port, remote)",
        );
        only(
            "[[vni]]\nid = 1\n[[vni.arp]]\nip = \"10.1.0.1\"\nmac = \"02:00:00:00:00:01\"\nvlan = 1\n",
            "t.toml:6: vni[0].arp[0].vlan: unknown field (expected one of ip, mac)",
        );
        only(
            "[[vni]]\nid = 1\n[[port]]\nname = \"a\"\nvni = 1\nmac = 1\n",
            "t.toml:6: port[0].mac: unknown field (expected one of name, vni)",
        );
        only(
            "[underlay]\nnext_hops = [\"02:00:00:00:00:01\"]\n[[underlay.neighbor]]\nip = \"10.0.0.1\"\nmac = \"02:00:00:00:00:02\"\nport = 1\n",
            "t.toml:6: underlay.neighbor[0].port: unknown field (expected one of ip, mac)",
        );
    }

    #[test]
    fn wrong_types() {
        only(
            "[underlay]\nudp_port = \"4789\"\n",
            "t.toml:2: underlay.udp_port: expected an integer, found a string",
        );
        only(
            "[underlay]\nmtu = 1500.0\n",
            "t.toml:2: underlay.mtu: expected an integer, found a float",
        );
        only(
            "[underlay]\nvtep = 1\n",
            "t.toml:2: underlay.vtep: expected a string, found an integer",
        );
        only(
            "underlay = 3\n",
            "t.toml:1: underlay: expected a table, found an integer",
        );
        only(
            "[vni]\nid = 1\n",
            "t.toml:1: vni: expected an array of tables ([[vni]]), found a table",
        );
        only(
            "vni = [1]\n",
            "t.toml:1: vni[0]: expected a table, found an integer",
        );
        only(
            "[[vni]]\nid = 1\nflood = \"198.18.0.2\"\n",
            "t.toml:3: vni[0].flood: expected an array, found a string",
        );
        only(
            "[[vni]]\nid = 1\nlearning = \"yes\"\n",
            "t.toml:3: vni[0].learning: expected a boolean, found a string",
        );
        only(
            "[[vni]]\nid = 1\n[[port]]\nname = 5\nvni = 1\n",
            "t.toml:4: port[0].name: expected a string, found an integer",
        );
        only(
            "[underlay]\nnext_hops = [1]\n",
            "t.toml:2: underlay.next_hops[0]: expected a string, found an integer",
        );
        only(
            "control = \"wheel\"\n",
            "t.toml:1: control: expected a table, found a string",
        );
        only(
            "[control]\ngroup = 10\n",
            "t.toml:2: control.group: expected a string, found an integer",
        );
        only(
            "[[vni]]\nid = 1\n[vni.fdb]\nmac = \"02:00:00:00:00:01\"\n",
            "t.toml:3: vni[0].fdb: expected an array of tables ([[vni.fdb]]), found a table",
        );
        only(
            "[[vni]]\nid = 1\narp = \"10.1.0.1\"\n",
            "t.toml:3: vni[0].arp: expected an array of tables ([[vni.arp]]), found a string",
        );
        only(
            "[[vni]]\nid = 1\n[[vni.fdb]]\nmac = \"02:00:00:00:00:01\"\nport = 3\n",
            "t.toml:5: vni[0].fdb[0].port: expected a string, found an integer",
        );
    }

    #[test]
    fn missing_required_fields() {
        only(
            "\n[[vni]]\nlearning = true\n",
            "t.toml:2: vni[0]: missing field id",
        );
        let p = problems("[[port]]\n");
        assert_eq!(
            p,
            vec![
                "t.toml:1: port[0]: missing field name",
                "t.toml:1: port[0]: missing field vni"
            ]
        );
        only(
            "[underlay]\nnext_hops = [\"02:00:00:00:00:01\"]\n[[underlay.neighbor]]\nip = \"10.0.0.1\"\n",
            "t.toml:3: underlay.neighbor[0]: missing field mac",
        );
    }

    #[test]
    fn vni_id_range_and_duplicates() {
        only(
            "[[vni]]\nid = 0\n",
            "t.toml:2: vni[0].id: 0 is out of range 1..=16777215 (a VXLAN network identifier is 24 bits)",
        );
        only(
            "[[vni]]\nid = 16777216\n",
            "t.toml:2: vni[0].id: 16777216 is out of range 1..=16777215 (a VXLAN network identifier is 24 bits)",
        );
        only(
            "[[vni]]\nid = -5\n",
            "t.toml:2: vni[0].id: -5 is out of range 1..=16777215 (a VXLAN network identifier is 24 bits)",
        );
        only(
            "[[vni]]\nid = 100\n\n[[vni]]\nid = 200\n\n[[vni]]\n\nid = 100\n",
            "t.toml:9: vni[2].id: duplicate vni id 100 (first defined at line 2)",
        );
    }

    #[test]
    fn mss_clamp_rules() {
        let vni = |v: &str| format!("[[vni]]\nid = 1\nmss_clamp = {v}\n");
        for (v, want) in [
            ("\"auto\"", MssClamp::Auto),
            ("\"off\"", MssClamp::Off),
            ("536", MssClamp::Mss(536)),
            ("1400", MssClamp::Mss(1400)),
            ("3710", MssClamp::Mss(3710)),
        ] {
            let c = ok(&vni(v));
            assert_eq!(c.vnis[0].mss_clamp, want, "{v}");
            assert!(c.to_toml().contains(&format!("\nmss_clamp = {v}\n")));
            assert_eq!(ok(&c.to_toml()), c, "{v} round trip");
        }
        assert_eq!(ok("[[vni]]\nid = 1\n").vnis[0].mss_clamp, MssClamp::Auto);
        let range = "is out of range 536..=3710 (an IPv4 MSS in bytes: at least the default 536, \
                     at most the 3710 that the largest overlay MTU fits)";
        only(
            &vni("535"),
            &format!("t.toml:3: vni[0].mss_clamp: 535 {range}"),
        );
        only(
            &vni("3711"),
            &format!("t.toml:3: vni[0].mss_clamp: 3711 {range}"),
        );
        only(
            &vni("\"Auto\""),
            r#"t.toml:3: vni[0].mss_clamp: "Auto" is not "auto", "off" or an MSS in bytes"#,
        );
        only(
            &vni("\"1400\""),
            r#"t.toml:3: vni[0].mss_clamp: "1400" is not "auto", "off" or an MSS in bytes"#,
        );
        only(
            &vni("true"),
            r#"t.toml:3: vni[0].mss_clamp: expected "auto", "off" or an integer, found a boolean"#,
        );
        // A port of that VNI is not reported as well.
        only(
            &format!("{}[[port]]\nname = \"c1\"\nvni = 1\n", vni("1")),
            &format!("t.toml:3: vni[0].mss_clamp: 1 {range}"),
        );
    }

    #[test]
    fn flood_entries() {
        let head = "[underlay]\nvtep = \"198.18.0.1\"\nnext_hops = [\"02:00:00:00:00:fe\"]\n[[vni]]\nid = 1\n";
        // Line 6 holds the flood list.
        let cases = [
            (
                r#"["198.18.0.2", "10.0.0.300"]"#,
                r#"t.toml:6: vni[0].flood[1]: "10.0.0.300" is not an IPv4 address"#,
            ),
            (
                r#"["0.0.0.0"]"#,
                "t.toml:6: vni[0].flood[0]: 0.0.0.0 is the unspecified address (a remote VTEP must be a unicast address)",
            ),
            (
                r#"["255.255.255.255"]"#,
                "t.toml:6: vni[0].flood[0]: 255.255.255.255 is the broadcast address (a remote VTEP must be a unicast address)",
            ),
            (
                r#"["239.1.1.1"]"#,
                "t.toml:6: vni[0].flood[0]: 239.1.1.1 is a multicast address (a remote VTEP must be a unicast address)",
            ),
            (
                r#"["127.0.0.2"]"#,
                "t.toml:6: vni[0].flood[0]: 127.0.0.2 is a loopback address (a remote VTEP must be a unicast address)",
            ),
            (
                r#"["198.18.0.2", "198.18.0.3", "198.18.0.2"]"#,
                "t.toml:6: vni[0].flood[2]: duplicate flood entry 198.18.0.2 (also vni[0].flood[0])",
            ),
            (
                r#"["198.18.0.1"]"#,
                "t.toml:6: vni[0].flood[0]: 198.18.0.1 is this switch's own address (underlay.vtep)",
            ),
            (
                r#"[3]"#,
                "t.toml:6: vni[0].flood[0]: expected a string, found an integer",
            ),
        ];
        for (flood, expected) in cases {
            only(&format!("{head}flood = {flood}\n"), expected);
        }
    }

    #[test]
    fn flood_vteps_without_neighbor_entries_are_resolved_at_run_time() {
        // No [[underlay.neighbor]] entry and no next hop: the switch resolves
        // 198.18.0.3 from the kernel's routing and neighbour tables.
        let text = r#"[underlay]
vtep = "198.18.0.1"
[[underlay.neighbor]]
ip = "198.18.0.2"
mac = "02:00:00:00:01:02"
[[vni]]
id = 100
flood = ["198.18.0.2",
         "198.18.0.3"]
"#;
        let c = ok(text);
        assert_eq!(c.vnis[0].flood, vec![IP2, IP3]);
        assert!(c.underlay.next_hops.is_empty());
    }

    #[test]
    fn port_rules() {
        let head = "[[vni]]\nid = 100\n[[port]]\n";
        let bad_names = [
            (r#""""#, "port name is empty"),
            (
                r#""abcdefghijklmnop""#,
                r#""abcdefghijklmnop" is 16 bytes long; interface names are at most 15 bytes (IFNAMSIZ - 1)"#,
            ),
            (
                r#""a/b""#,
                r#""a/b" contains '/'; interface names cannot contain '/', ':' or whitespace"#,
            ),
            (
                r#""a b""#,
                r#""a b" contains ' '; interface names cannot contain '/', ':' or whitespace"#,
            ),
            (
                r#""a\tb""#,
                r#""a\tb" contains '\t'; interface names cannot contain '/', ':' or whitespace"#,
            ),
        ];
        for (name, msg) in bad_names {
            only(
                &format!("{head}name = {name}\nvni = 100\n"),
                &format!("t.toml:4: port[0].name: {msg}"),
            );
        }
        // 15 bytes is fine.
        let c = ok(&format!("{head}name = \"abcdefghijklmno\"\nvni = 100\n"));
        assert_eq!(c.ports[0].name, "abcdefghijklmno");
        only(
            &format!("{head}name = \"c100\"\nvni = 100\n\n[[port]]\nname = \"c100\"\nvni = 100\n"),
            r#"t.toml:8: port[1].name: duplicate port name "c100" (first defined at line 4)"#,
        );
        only(
            &format!("{head}name = \"c100\"\nvni = 300\n"),
            "t.toml:5: port[0].vni: vni 300 is not configured (no [[vni]] with id = 300)",
        );
        only(
            &format!("{head}name = \"c100\"\nvni = 99999999999\n"),
            "t.toml:5: port[0].vni: 99999999999 is out of range 1..=16777215 (a VXLAN network identifier is 24 bits)",
        );
    }

    #[test]
    fn control_group_rules() {
        let c = ok("[control]\ngroup = \"vxctl\"\n");
        assert_eq!(c.control.group.as_deref(), Some("vxctl"));
        // No [control], or an empty one: root only.
        assert_eq!(ok("[control]\n").control.group, None);
        // 32 bytes is fine.
        let long = "g".repeat(32);
        assert_eq!(
            ok(&format!("[control]\ngroup = \"{long}\"\n"))
                .control
                .group,
            Some(long)
        );
        let cases = [
            (r#""""#, "group name is empty".to_string()),
            (
                r#""ggggggggggggggggggggggggggggggggg""#,
                format!(
                    "\"{}\" is 33 bytes long; group names are at most 32 bytes",
                    "g".repeat(33)
                ),
            ),
            (
                r#""-wheel""#,
                r#""-wheel" starts with '-'; group names cannot start with '-'"#.to_string(),
            ),
            (
                r#""vx admin""#,
                r#""vx admin" contains ' '; group names may contain only ASCII letters, digits, '_', '.' and '-'"#.to_string(),
            ),
            (
                r#""vx:admin""#,
                r#""vx:admin" contains ':'; group names may contain only ASCII letters, digits, '_', '.' and '-'"#.to_string(),
            ),
            (
                r#""grüppe""#,
                r#""grüppe" contains 'ü'; group names may contain only ASCII letters, digits, '_', '.' and '-'"#.to_string(),
            ),
        ];
        for (group, msg) in cases {
            only(
                &format!("\n[control]\ngroup = {group}\n"),
                &format!("t.toml:3: control.group: {msg}"),
            );
        }
    }

    #[test]
    fn static_fdb_rules() {
        // Ports come first in the file (they are still checked after the
        // VNIs); the [[vni.fdb]] under test is at line 13, in vni[1] = 100.
        let head = "[underlay]\nvtep = \"198.18.0.1\"\n[[port]]\nname = \"c100\"\nvni = 100\n[[port]]\nname = \"c200\"\nvni = 200\n[[vni]]\nid = 200\n";
        let fdb = |body: &str| format!("{head}[[vni]]\nid = 100\n[[vni.fdb]]\n{body}");
        let mac = "mac = \"02:00:00:00:00:01\"\n";
        let c = ok(&fdb(&format!(
            "{mac}port = \"c100\"\n[[vni.fdb]]\nmac = \"02:00:00:00:00:02\"\nremote = \"198.18.0.2\"\n[[vni.fdb]]\nmac = \"02:00:00:00:00:03\"\nport = \"c100\"\n"
        )));
        assert_eq!(c.vnis[0].fdb, vec![]);
        assert_eq!(
            c.vnis[1].fdb,
            vec![
                StaticFdb {
                    mac: [2, 0, 0, 0, 0, 1],
                    dest: FdbDest::Port("c100".into())
                },
                StaticFdb {
                    mac: [2, 0, 0, 0, 0, 2],
                    dest: FdbDest::Remote(IP2)
                },
                StaticFdb {
                    mac: [2, 0, 0, 0, 0, 3],
                    dest: FdbDest::Port("c100".into())
                },
            ]
        );
        // The same MAC may be static in two VNIs.
        let c = ok(&format!(
            "{head}[[vni.fdb]]\n{mac}port = \"c200\"\n[[vni]]\nid = 100\n[[vni.fdb]]\n{mac}port = \"c100\"\n"
        ));
        assert_eq!(c.vnis[0].fdb[0].mac, c.vnis[1].fdb[0].mac);
        let cases = [
            (
                "port = \"c100\"\n".to_string(),
                "t.toml:13: vni[1].fdb[0]: missing field mac",
            ),
            (
                "mac = \"01:00:5e:00:00:01\"\nport = \"c100\"\n".to_string(),
                "t.toml:14: vni[1].fdb[0].mac: 01:00:5e:00:00:01 is a multicast MAC address (low bit of the first octet is set); a static FDB entry needs a unicast MAC",
            ),
            (
                "mac = \"00:00:00:00:00:00\"\nport = \"c100\"\n".to_string(),
                "t.toml:14: vni[1].fdb[0].mac: 00:00:00:00:00:00 is the all-zero MAC address; a static FDB entry needs a unicast MAC",
            ),
            (mac.to_string(), "t.toml:13: vni[1].fdb[0]: needs port or remote"),
            (
                format!("{mac}port = \"c100\"\nremote = \"198.18.0.2\"\n"),
                "t.toml:13: vni[1].fdb[0]: give port or remote, not both",
            ),
            (
                format!("{mac}port = \"c300\"\n"),
                r#"t.toml:15: vni[1].fdb[0].port: port "c300" is not a [[port]] in this file"#,
            ),
            (
                format!("{mac}port = \"c200\"\n"),
                r#"t.toml:15: vni[1].fdb[0].port: port "c200" is in vni 200, not 100"#,
            ),
            (
                format!("{mac}remote = \"198.18.0.1\"\n"),
                "t.toml:15: vni[1].fdb[0].remote: 198.18.0.1 is this switch's own address (underlay.vtep)",
            ),
            (
                format!("{mac}remote = \"239.0.0.1\"\n"),
                "t.toml:15: vni[1].fdb[0].remote: 239.0.0.1 is a multicast address (a remote VTEP must be a unicast address)",
            ),
            (
                format!("{mac}remote = \"198.18.0.256\"\n"),
                r#"t.toml:15: vni[1].fdb[0].remote: "198.18.0.256" is not an IPv4 address"#,
            ),
            (
                format!("{mac}remote = \"198.18.0.2\"\n\n[[vni.fdb]]\nmac = \"02-00-00-00-00-01\"\nport = \"c100\"\n"),
                "t.toml:18: vni[1].fdb[1].mac: duplicate FDB entry 02:00:00:00:00:01 (first defined at line 14)",
            ),
        ];
        for (body, expected) in cases {
            only(&fdb(&body), expected);
        }
        // Two bad port references, in two VNIs, each on its own line; they
        // are checked after the ports but still reported in line order.
        let p = problems(&format!(
            "{head}[[vni.fdb]]\n{mac}port = \"c100\"\n[[vni]]\nid = 100\n[[vni.fdb]]\n{mac}port = \"nope\"\n"
        ));
        assert_eq!(
            p,
            vec![
                r#"t.toml:13: vni[0].fdb[0].port: port "c100" is in vni 100, not 200"#,
                r#"t.toml:18: vni[1].fdb[0].port: port "nope" is not a [[port]] in this file"#,
            ]
        );
    }

    #[test]
    fn static_fdb_port_with_its_own_problem_does_not_cascade() {
        // c100's vni is wrong: that is the one problem, not also the entry.
        only(
            "[[vni]]\nid = 100\n[[vni.fdb]]\nmac = \"02:00:00:00:00:01\"\nport = \"c100\"\n[[port]]\nname = \"c100\"\nvni = 300\n",
            "t.toml:8: port[0].vni: vni 300 is not configured (no [[vni]] with id = 300)",
        );
        // The VNI's id is bad: the entry's port cannot be compared with it.
        only(
            "[[vni]]\nid = 0\n[[vni.fdb]]\nmac = \"02:00:00:00:00:01\"\nport = \"c100\"\n[[vni]]\nid = 100\n[[port]]\nname = \"c100\"\nvni = 100\n",
            r#"t.toml:2: vni[0].id: 0 is out of range 1..=16777215 (a VXLAN network identifier is 24 bits)"#,
        );
    }

    #[test]
    fn arp_rules() {
        // The [[vni.arp]] under test starts at line 3.
        let arp = |body: &str| format!("[[vni]]\nid = 100\n[[vni.arp]]\n{body}");
        let mac = "mac = \"02:00:00:00:00:01\"\n";
        let c = ok(&arp(&format!(
            "ip = \"10.1.0.1\"\n{mac}[[vni.arp]]\nip = \"10.1.0.2\"\n{mac}"
        )));
        assert_eq!(
            c.vnis[0].arp,
            vec![
                ArpEntry {
                    ip: Ipv4Addr::new(10, 1, 0, 1),
                    mac: [2, 0, 0, 0, 0, 1]
                },
                ArpEntry {
                    ip: Ipv4Addr::new(10, 1, 0, 2),
                    mac: [2, 0, 0, 0, 0, 1]
                },
            ]
        );
        // The same IP may be bound in two VNIs (separate overlays).
        let c = ok(&format!(
            "{}[[vni]]\nid = 200\n[[vni.arp]]\nip = \"10.1.0.1\"\n{mac}",
            arp(&format!("ip = \"10.1.0.1\"\n{mac}"))
        ));
        assert_eq!(c.vnis[0].arp, c.vnis[1].arp);
        let ip = |ip: &str| arp(&format!("ip = \"{ip}\"\n{mac}"));
        let cases = [
            (arp(mac), "t.toml:3: vni[0].arp[0]: missing field ip".to_string()),
            (
                arp("ip = \"10.1.0.1\"\n"),
                "t.toml:3: vni[0].arp[0]: missing field mac".to_string(),
            ),
            (
                ip("10.1.0"),
                r#"t.toml:4: vni[0].arp[0].ip: "10.1.0" is not an IPv4 address"#.to_string(),
            ),
            (
                arp(&format!("ip = 167837953\n{mac}")),
                "t.toml:4: vni[0].arp[0].ip: expected a string, found an integer".to_string(),
            ),
            (
                arp("ip = \"10.1.0.1\"\nmac = \"ff:ff:ff:ff:ff:ff\"\n"),
                "t.toml:5: vni[0].arp[0].mac: ff:ff:ff:ff:ff:ff is a multicast MAC address (low bit of the first octet is set); an ARP entry needs a unicast MAC".to_string(),
            ),
            (
                arp(&format!(
                    "ip = \"10.1.0.1\"\n{mac}\n[[vni.arp]]\nip = \"10.1.0.1\"\nmac = \"02:00:00:00:00:02\"\n"
                )),
                "t.toml:8: vni[0].arp[1].ip: duplicate ARP entry 10.1.0.1 (first defined at line 4)"
                    .to_string(),
            ),
        ];
        for (text, expected) in cases {
            only(&text, &expected);
        }
        for (addr, why) in [
            ("0.0.0.0", "is the unspecified address"),
            ("255.255.255.255", "is the broadcast address"),
            ("224.0.0.251", "is a multicast address"),
            ("127.0.0.1", "is a loopback address"),
        ] {
            only(
                &ip(addr),
                &format!(
                    "t.toml:4: vni[0].arp[0].ip: {addr} {why} (an overlay host must be a unicast address)"
                ),
            );
        }
    }

    /// A valid config built in code: two VNIs, a port in each, static entries.
    fn built_config() -> Config {
        let mut c = Config::default();
        c.underlay.vtep = Some(IP1);
        c.control.group = Some("vxctl".into());
        for (id, port) in [(100, "c100"), (200, "c200")] {
            c.vnis.push(VniConfig {
                id,
                flood: vec![IP2],
                learning: false,
                mss_clamp: MssClamp::Auto,
                fdb: vec![
                    StaticFdb {
                        mac: [2, 0, 0, 0, id as u8, 1],
                        dest: FdbDest::Port(port.into()),
                    },
                    StaticFdb {
                        mac: [2, 0, 0, 0, id as u8, 2],
                        dest: FdbDest::Remote(IP2),
                    },
                ],
                arp: vec![ArpEntry {
                    ip: Ipv4Addr::new(10, 0, id as u8, 2),
                    mac: [2, 0, 0, 0, id as u8, 2],
                }],
            });
            c.ports.push(PortConfig {
                name: port.into(),
                vni: id,
            });
        }
        c
    }

    /// The 1-based line of `to_toml()` holding `needle` (the `nth` time, from 0).
    fn toml_line(c: &Config, needle: &str, nth: usize) -> usize {
        let text = c.to_toml();
        let (i, _) = text
            .lines()
            .enumerate()
            .filter(|(_, l)| *l == needle)
            .nth(nth)
            .unwrap_or_else(|| panic!("{needle:?} not in\n{text}"));
        i + 1
    }

    #[test]
    fn check_accepts_valid_configs_built_in_code() {
        built_config().check().unwrap();
        Config::default().check().unwrap();
        ok(FULL).check().unwrap();
    }

    #[test]
    fn check_reports_configs_made_invalid_in_code() {
        // A port in a VNI that does not exist.
        let mut c = built_config();
        c.ports[1].vni = 300;
        let line = toml_line(&c, "vni = 300", 0);
        assert_eq!(
            c.check().unwrap_err().problems,
            vec![format!(
                "<running config>:{line}: port[1].vni: vni 300 is not configured (no [[vni]] with id = 300)"
            )]
        );
        // A static FDB entry naming a port in another VNI.
        let mut c = built_config();
        c.vnis[1].fdb[0].dest = FdbDest::Port("c100".into());
        let line = toml_line(&c, "port = \"c100\"", 1);
        assert_eq!(
            c.check().unwrap_err().problems,
            vec![format!(
                r#"<running config>:{line}: vni[1].fdb[0].port: port "c100" is in vni 100, not 200"#
            )]
        );
        // Several at once, each named by its place in the vectors; a group
        // name that needs TOML quoting is reported, not a syntax error.
        let mut c = built_config();
        c.control.group = Some("a\"b".into());
        let again = c.vnis[0].arp[0].clone();
        c.vnis[0].arp.push(again);
        c.vnis[0].fdb[1].dest = FdbDest::Remote(IP1);
        let p = c.check().unwrap_err().problems;
        let group = toml_line(&c, r#"group = 'a"b'"#, 0);
        let remote = toml_line(&c, "remote = \"198.18.0.1\"", 0);
        let arp = toml_line(&c, "ip = \"10.0.100.2\"", 1);
        assert_eq!(
            p,
            vec![
                format!(
                    r#"<running config>:{group}: control.group: "a\"b" contains '"'; group names may contain only ASCII letters, digits, '_', '.' and '-'"#
                ),
                format!(
                    "<running config>:{remote}: vni[0].fdb[1].remote: 198.18.0.1 is this switch's own address (underlay.vtep)"
                ),
                format!(
                    "<running config>:{arp}: vni[0].arp[1].ip: duplicate ARP entry 10.0.100.2 (first defined at line {})",
                    toml_line(&c, "ip = \"10.0.100.2\"", 0)
                ),
            ]
        );
    }

    #[test]
    fn underlay_scalar_ranges() {
        only(
            "[underlay]\nudp_port = 0\n",
            "t.toml:2: underlay.udp_port: 0 is out of range 1..=65535",
        );
        only(
            "[underlay]\nudp_port = 65536\n",
            "t.toml:2: underlay.udp_port: 65536 is out of range 1..=65535",
        );
        only(
            "[underlay]\nttl = 0\n",
            "t.toml:2: underlay.ttl: 0 is out of range 1..=255",
        );
        only(
            "[underlay]\nttl = 256\n",
            "t.toml:2: underlay.ttl: 256 is out of range 1..=255",
        );
        let mtu_note = "(the switch's 4 KiB UMEM frames hold at most 3840 bytes of packet, which caps the uplink MTU at 3800)";
        only(
            "[underlay]\nmtu = 575\n",
            &format!("t.toml:2: underlay.mtu: 575 is out of range 576..=3800 {mtu_note}"),
        );
        only(
            "[underlay]\nmtu = 9000\n",
            &format!("t.toml:2: underlay.mtu: 9000 is out of range 576..=3800 {mtu_note}"),
        );
        assert_eq!(ok("[underlay]\nmtu = 576\n").underlay.mtu, Some(576));
        assert_eq!(ok("[underlay]\nmtu = 3800\n").underlay.mtu, Some(3800));
        only(
            "[underlay]\nvtep = \"224.0.0.1\"\n",
            "t.toml:2: underlay.vtep: 224.0.0.1 is a multicast address (the local VTEP must be a unicast address)",
        );
        only(
            "[underlay]\nvtep = \"198.18.0\"\n",
            "t.toml:2: underlay.vtep: \"198.18.0\" is not an IPv4 address",
        );
    }

    #[test]
    fn src_port_range_rules() {
        let note = "(ports below 1024 are reserved)";
        only(
            "[underlay]\nsrc_port_range = [1000, 2000]\n",
            &format!(
                "t.toml:2: underlay.src_port_range[0]: 1000 is out of range 1024..=65535 {note}"
            ),
        );
        only(
            "[underlay]\nsrc_port_range = [1024, 70000]\n",
            &format!(
                "t.toml:2: underlay.src_port_range[1]: 70000 is out of range 1024..=65535 {note}"
            ),
        );
        only(
            "[underlay]\nsrc_port_range = [60000, 50000]\n",
            "t.toml:2: underlay.src_port_range: min 60000 is greater than max 50000",
        );
        only(
            "[underlay]\nsrc_port_range = [50000]\n",
            "t.toml:2: underlay.src_port_range: expected two numbers [min, max], found 1 values",
        );
        only(
            "[underlay]\nsrc_port_range = 50000\n",
            "t.toml:2: underlay.src_port_range: expected an array, found an integer",
        );
        only(
            "[underlay]\nsrc_port_range = [\"a\", 2000]\n",
            "t.toml:2: underlay.src_port_range[0]: expected an integer, found a string",
        );
        let c = ok("[underlay]\nsrc_port_range = [1024, 1024]\n");
        assert_eq!(
            (c.underlay.src_port_min, c.underlay.src_port_max),
            (1024, 1024)
        );
    }

    #[test]
    fn mac_rules() {
        only(
            "[underlay]\nnext_hops = [\"02:00:00:00:00:fe\",\n  \"zz:00:00:00:00:fe\"]\n",
            r#"t.toml:3: underlay.next_hops[1]: "zz:00:00:00:00:fe" is not a MAC address (expected six hex octets such as 02:00:00:00:00:fe)"#,
        );
        only(
            "[underlay]\nnext_hops = [\"01:00:5e:00:00:01\"]\n",
            "t.toml:2: underlay.next_hops[0]: 01:00:5e:00:00:01 is a multicast MAC address (low bit of the first octet is set); a next hop needs a unicast MAC",
        );
        only(
            "[underlay]\nnext_hops = [\"00-00-00-00-00-00\"]\n",
            "t.toml:2: underlay.next_hops[0]: 00:00:00:00:00:00 is the all-zero MAC address; a next hop needs a unicast MAC",
        );
        only(
            "[underlay]\nnext_hops = [\"02:00:00:00:00:01\", \"02:00:00:00:00:01\"]\n",
            "t.toml:2: underlay.next_hops[1]: duplicate next hop 02:00:00:00:00:01 (first defined at line 2)",
        );
        only(
            "[[underlay.neighbor]]\nip = \"10.0.0.2\"\nmac = \"ff:ff:ff:ff:ff:ff\"\n",
            "t.toml:3: underlay.neighbor[0].mac: ff:ff:ff:ff:ff:ff is a multicast MAC address (low bit of the first octet is set); a neighbor needs a unicast MAC",
        );
    }

    #[test]
    fn next_hop_tables() {
        let c = ok("[underlay]\nnext_hops = [\"02:00:00:00:00:01\"]\n\
            [[underlay.next_hop]]\nip = \"10.0.0.254\"\n\
            [[underlay.next_hop]]\nmac = \"02:00:00:00:00:02\"\nweight = 1000\n\
            [[underlay.next_hop]]\nip = \"10.0.0.253\"\nmac = \"02:00:00:00:00:03\"\nweight = 7\n");
        assert_eq!(
            c.underlay.next_hops,
            vec![
                NextHop::mac([2, 0, 0, 0, 0, 1]),
                NextHop {
                    ip: Some(Ipv4Addr::new(10, 0, 0, 254)),
                    mac: None,
                    weight: 1
                },
                NextHop {
                    ip: None,
                    mac: Some([2, 0, 0, 0, 0, 2]),
                    weight: 1000
                },
                NextHop {
                    ip: Some(Ipv4Addr::new(10, 0, 0, 253)),
                    mac: Some([2, 0, 0, 0, 0, 3]),
                    weight: 7
                },
            ]
        );
        // The legacy list is written back as tables, and reads back the same.
        let text = c.to_toml();
        assert!(!text.contains("next_hops"), "{text}");
        assert_eq!(ok(&text), c);
    }

    #[test]
    fn next_hop_rules() {
        // The [[underlay.next_hop]] under test starts at line 3.
        let head = "[underlay]\nvtep = \"10.0.0.1\"\n[[underlay.next_hop]]\n";
        let hop = |body: &str| format!("{head}{body}");
        let cases = [
            (hop("weight = 2\n"), "t.toml:3: underlay.next_hop[0]: needs ip or mac"),
            (hop(""), "t.toml:3: underlay.next_hop[0]: needs ip or mac"),
            (
                hop("ip = \"10.0.0.2\"\nweight = 0\n"),
                "t.toml:5: underlay.next_hop[0].weight: 0 is out of range 1..=1000",
            ),
            (
                hop("ip = \"10.0.0.2\"\nweight = 1001\n"),
                "t.toml:5: underlay.next_hop[0].weight: 1001 is out of range 1..=1000",
            ),
            (
                hop("ip = \"10.0.0.2\"\nweight = \"2\"\n"),
                "t.toml:5: underlay.next_hop[0].weight: expected an integer, found a string",
            ),
            (
                hop("ip = \"10.0.0.1\"\n"),
                "t.toml:4: underlay.next_hop[0].ip: 10.0.0.1 is this switch's own address (underlay.vtep)",
            ),
            (
                hop("ip = \"224.0.0.1\"\n"),
                "t.toml:4: underlay.next_hop[0].ip: 224.0.0.1 is a multicast address (a next hop must be a unicast address)",
            ),
            (
                hop("ip = \"10.0.0.2\"\n[[underlay.next_hop]]\nmac = \"02:00:00:00:00:05\"\n\
                    [[underlay.next_hop]]\nip = \"10.0.0.2\"\nmac = \"02:00:00:00:00:06\"\n"),
                "t.toml:8: underlay.next_hop[2].ip: duplicate next hop 10.0.0.2 (first defined at line 4)",
            ),
            (
                hop("ip = \"10.0.0.2\"\nmac = \"ff:ff:ff:ff:ff:ff\"\n"),
                "t.toml:5: underlay.next_hop[0].mac: ff:ff:ff:ff:ff:ff is a multicast MAC address (low bit of the first octet is set); a next hop needs a unicast MAC",
            ),
            (
                hop("mac = \"02:00:00:00:00:05\"\nip = 5\n"),
                "t.toml:5: underlay.next_hop[0].ip: expected a string, found an integer",
            ),
            (
                hop("ip = \"10.0.0.2\"\nport = 1\n"),
                "t.toml:5: underlay.next_hop[0].port: unknown field (expected one of ip, mac, weight)",
            ),
        ];
        for (text, expected) in cases {
            only(&text, expected);
        }
        only(
            "[underlay]\nnext_hop = \"10.0.0.2\"\n",
            "t.toml:2: underlay.next_hop: expected an array of tables ([[underlay.next_hop]]), found a string",
        );
        // A MAC in the legacy list and again in a table: the table's line is
        // reported, naming the list's.
        only(
            "[underlay]\nnext_hops = [\"02:00:00:00:00:01\",\n  \"02:00:00:00:00:02\"]\n\n\
             [[underlay.next_hop]]\nip = \"10.0.0.2\"\nmac = \"02-00-00-00-00-02\"\n",
            "t.toml:7: underlay.next_hop[0].mac: duplicate next hop 02:00:00:00:00:02 (first defined at line 3)",
        );
        // Two tables with one MAC.
        only(
            "[[underlay.next_hop]]\nmac = \"02:00:00:00:00:01\"\n\
             [[underlay.next_hop]]\nmac = \"02:00:00:00:00:01\"\nweight = 2\n",
            "t.toml:4: underlay.next_hop[1].mac: duplicate next hop 02:00:00:00:00:01 (first defined at line 2)",
        );
        // Each bad hop is one problem, and the good ones around it stay.
        let p = problems(&hop(
            "weight = 3\n[[underlay.next_hop]]\nip = \"10.0.0.2\"\n[[underlay.next_hop]]\nmac = \"02:00:00:00:00:01\"\nweight = 0\n",
        ));
        assert_eq!(
            p,
            vec![
                "t.toml:3: underlay.next_hop[0]: needs ip or mac",
                "t.toml:9: underlay.next_hop[2].weight: 0 is out of range 1..=1000",
            ]
        );
    }

    #[test]
    fn probe_ranges() {
        let cases = [
            (
                "probe_interval_ms = 9",
                "underlay.probe_interval_ms: 9 is out of range 10..=10000",
            ),
            (
                "probe_interval_ms = 10001",
                "underlay.probe_interval_ms: 10001 is out of range 10..=10000",
            ),
            (
                "probe_interval_ms = \"100\"",
                "underlay.probe_interval_ms: expected an integer, found a string",
            ),
            (
                "probe_misses = 0",
                "underlay.probe_misses: 0 is out of range 1..=100",
            ),
            (
                "probe_misses = 101",
                "underlay.probe_misses: 101 is out of range 1..=100",
            ),
        ];
        for (line, msg) in cases {
            only(
                &format!("[underlay]\n{line}\n"),
                &format!("t.toml:2: {msg}"),
            );
        }
        let c = ok("[underlay]\nprobe_interval_ms = 10\nprobe_misses = 100\n");
        assert_eq!(
            (c.underlay.probe_interval_ms, c.underlay.probe_misses),
            (10, 100)
        );
        let c = ok("[underlay]\nprobe_interval_ms = 10000\nprobe_misses = 1\n");
        assert_eq!(
            (c.underlay.probe_interval_ms, c.underlay.probe_misses),
            (10_000, 1)
        );
    }

    #[test]
    fn check_reports_a_next_hop_without_ip_or_mac() {
        let mut c = built_config();
        c.underlay
            .next_hops
            .push(NextHop::mac([2, 0, 0, 0, 0, 0xfe]));
        c.underlay.next_hops.push(NextHop {
            ip: None,
            mac: None,
            weight: 2,
        });
        let line = toml_line(&c, "[[underlay.next_hop]]", 1);
        assert_eq!(
            c.check().unwrap_err().problems,
            vec![format!(
                "<running config>:{line}: underlay.next_hop[1]: needs ip or mac"
            )]
        );
    }

    #[test]
    fn neighbor_ip_rules() {
        let n = |ip: &str| {
            format!("[[underlay.neighbor]]\nip = \"{ip}\"\nmac = \"02:00:00:00:00:02\"\n")
        };
        only(
            &n("10.0.0.256"),
            r#"t.toml:2: underlay.neighbor[0].ip: "10.0.0.256" is not an IPv4 address"#,
        );
        only(
            &n("255.255.255.255"),
            "t.toml:2: underlay.neighbor[0].ip: 255.255.255.255 is the broadcast address (a neighbor must be a unicast address)",
        );
        only(
            &n("127.0.0.1"),
            "t.toml:2: underlay.neighbor[0].ip: 127.0.0.1 is a loopback address (a neighbor must be a unicast address)",
        );
        only(
            &format!("{}\n{}", n("10.0.0.2"), n("10.0.0.2")),
            "t.toml:6: underlay.neighbor[1].ip: duplicate neighbor 10.0.0.2 (first defined at line 2)",
        );
        only(
            &format!("[underlay]\nvtep = \"10.0.0.2\"\n{}", n("10.0.0.2")),
            "t.toml:4: underlay.neighbor[0].ip: 10.0.0.2 is this switch's own address (underlay.vtep)",
        );
    }

    #[test]
    fn fdb_ranges() {
        only(
            "[fdb]\ncapacity = 0\n",
            "t.toml:2: fdb.capacity: 0 is out of range 1..=16777216",
        );
        only(
            "[fdb]\ncapacity = 16777217\n",
            "t.toml:2: fdb.capacity: 16777217 is out of range 1..=16777216",
        );
        only(
            "[fdb]\nage_secs = 0\n",
            "t.toml:2: fdb.age_secs: 0 is out of range 1..=2592000 (at most 30 days)",
        );
        only(
            "[fdb]\nage_secs = 2592001\n",
            "t.toml:2: fdb.age_secs: 2592001 is out of range 1..=2592000 (at most 30 days)",
        );
        let c = ok("[fdb]\ncapacity = 16777216\nage_secs = 2592000\n");
        assert_eq!(
            c.fdb,
            FdbSettings {
                capacity: 16_777_216,
                age_secs: 2_592_000
            }
        );
    }

    #[test]
    fn huge_integers_do_not_panic() {
        for v in [
            "9223372036854775807",
            "-9223372036854775808",
            "99999999999999999999999999999999999999999999",
            "0xffffffffffffffff",
        ] {
            let p = problems(&format!("[underlay]\nttl = {v}\n"));
            assert_eq!(p.len(), 1, "{p:?}");
            assert!(p[0].starts_with("t.toml:2: underlay.ttl: "), "{p:?}");
            assert!(p[0].ends_with(" is out of range 1..=255"), "{p:?}");
        }
    }

    #[test]
    fn several_problems_at_once() {
        let text = r#"[underlay]
vtep = "198.18.0.1"
udp_port = 0
mtu = 9000
colour = "blue"

[fdb]
capacity = 0

[[vni]]
id = 100
flood = ["198.18.0.300"]

[[vni]]
id = 100

[[port]]
name = "this-name-is-too-long"
vni = 7
"#;
        let p = problems(text);
        assert_eq!(p.len(), 8, "{p:#?}");
        let lines: Vec<&str> = p
            .iter()
            .map(|s| s.split(": ").next().unwrap_or(""))
            .collect();
        assert_eq!(
            lines,
            [
                "t.toml:3",
                "t.toml:4",
                "t.toml:5",
                "t.toml:8",
                "t.toml:12",
                "t.toml:15",
                "t.toml:18",
                "t.toml:19"
            ]
        );
        assert!(p[6].contains("port[0].name: \"this-name-is-too-long\" is 21 bytes long"));
        assert!(p[5].contains("vni[1].id: duplicate vni id 100 (first defined at line 11)"));
        // Display joins them one per line.
        let e = Config::parse(text, "t.toml").unwrap_err();
        assert_eq!(e.to_string(), p.join("\n"));
    }

    #[test]
    fn load_reads_files_and_reports_io_errors() {
        let dir = std::env::temp_dir().join(format!("vxswitch-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.toml");
        std::fs::write(&good, FULL).unwrap();
        assert_eq!(Config::load(&good).unwrap(), ok(FULL));
        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "[fdb]\n\ncapacity = 0\n").unwrap();
        let e = Config::load(&bad).unwrap_err();
        assert_eq!(
            e.problems,
            vec![format!(
                "{}:3: fdb.capacity: 0 is out of range 1..=16777216",
                bad.display()
            )]
        );
        let missing = dir.join("missing.toml");
        let e = Config::load(&missing).unwrap_err();
        assert_eq!(e.problems.len(), 1);
        assert!(
            e.problems[0].starts_with(&format!("{}: cannot read: ", missing.display())),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn round_trip_full_and_default() {
        for c in [ok(FULL), Config::default()] {
            let text = c.to_toml();
            assert_eq!(ok(&text), c, "{text}");
        }
    }

    #[test]
    fn to_toml_writes_static_entries_under_their_vni() {
        let mut c = Config::default();
        c.control.group = Some("vxctl".into());
        c.vnis.push(VniConfig {
            id: 100,
            flood: vec![],
            learning: false,
            mss_clamp: MssClamp::Auto,
            fdb: vec![StaticFdb {
                mac: [2, 0, 0, 0, 0, 1],
                dest: FdbDest::Port("c100".into()),
            }],
            arp: vec![ArpEntry {
                ip: Ipv4Addr::new(10, 0, 0, 1),
                mac: [2, 0, 0, 0, 0, 1],
            }],
        });
        c.vnis.push(VniConfig {
            id: 200,
            flood: vec![],
            learning: true,
            mss_clamp: MssClamp::Auto,
            fdb: vec![StaticFdb {
                mac: [2, 0, 0, 0, 0, 2],
                dest: FdbDest::Remote(IP2),
            }],
            arp: vec![],
        });
        c.ports.push(PortConfig {
            name: "c100".into(),
            vni: 100,
        });
        let text = c.to_toml();
        let tail = &text[text.find("[fdb]").unwrap()..];
        assert_eq!(
            tail,
            r#"[fdb]
capacity = 65536
age_secs = 300

[control]
group = "vxctl"

[[vni]]
id = 100
flood = []
learning = false
mss_clamp = "auto"

[[vni.fdb]]
mac = "02:00:00:00:00:01"
port = "c100"

[[vni.arp]]
ip = "10.0.0.1"
mac = "02:00:00:00:00:01"

[[vni]]
id = 200
flood = []
learning = true
mss_clamp = "auto"

[[vni.fdb]]
mac = "02:00:00:00:00:02"
remote = "198.18.0.2"

[[port]]
name = "c100"
vni = 100
"#
        );
        assert_eq!(ok(&text), c);
    }

    /// Tiny deterministic generator (xorshift64*) for the property-style loop.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        /// Uniform-ish in `lo..=hi`.
        fn range(&mut self, lo: u64, hi: u64) -> u64 {
            lo + self.next() % (hi - lo + 1)
        }
        fn coin(&mut self) -> bool {
            self.next() & 1 == 1
        }
    }

    fn random_config(rng: &mut Rng) -> Config {
        let mut c = Config::default();
        let u = &mut c.underlay;
        if rng.coin() {
            u.vtep = Some(Ipv4Addr::new(198, 18, 0, rng.range(1, 254) as u8));
        }
        u.udp_port = rng.range(1, 65535) as u16;
        if rng.coin() {
            u.mtu = Some(rng.range(576, 3800) as u16);
        }
        u.ttl = rng.range(1, 255) as u8;
        u.src_port_min = rng.range(1024, 65535) as u16;
        u.src_port_max = rng.range(u64::from(u.src_port_min), 65535) as u16;
        u.probe_interval_ms = rng.range(10, 10_000) as u32;
        u.probe_misses = rng.range(1, 100) as u32;
        for i in 0..rng.range(0, 4) {
            let b = rng.next().to_be_bytes();
            // The last octets are the index, so addresses and MACs are
            // unique; 192.0.2.0/24 is never the VTEP (198.18.0.0/24).
            let ip = Ipv4Addr::new(192, 0, 2, i as u8 + 1);
            let mac = [(b[0] & 0xfe) | 0x02, b[1], b[2], b[3], b[4], i as u8];
            let (ip, mac) = match rng.range(0, 2) {
                0 => (Some(ip), None),
                1 => (None, Some(mac)),
                _ => (Some(ip), Some(mac)),
            };
            let weight = if rng.coin() {
                1
            } else {
                rng.range(1, 1000) as u32
            };
            u.next_hops.push(NextHop { ip, mac, weight });
        }
        for i in 0..rng.range(0, 3) {
            let b = rng.next().to_be_bytes();
            u.neighbors.push(Neighbor {
                ip: Ipv4Addr::new(10, 0, 0, i as u8 + 1),
                mac: [(b[0] & 0xfe) | 0x02, b[1], b[2], b[3], b[4], b[5]],
            });
        }
        c.fdb.capacity = rng.range(1, 1 << 24) as u32;
        c.fdb.age_secs = rng.range(1, 86_400 * 30) as u32;
        for i in 0..rng.range(0, 4) {
            let mut flood: Vec<Ipv4Addr> = c
                .underlay
                .neighbors
                .iter()
                .filter(|_| rng.coin())
                .map(|n| n.ip)
                .collect();
            if !c.underlay.next_hops.is_empty() && rng.coin() {
                flood.push(Ipv4Addr::new(203, 0, 113, rng.range(1, 254) as u8));
            }
            c.vnis.push(VniConfig {
                id: (i * 4_000_000 + rng.range(1, 3_999_999)) as u32,
                flood,
                learning: rng.coin(),
                mss_clamp: match rng.range(0, 2) {
                    0 => MssClamp::Auto,
                    1 => MssClamp::Off,
                    _ => MssClamp::Mss(rng.range(536, 3710) as u16),
                },
                fdb: Vec::new(),
                arp: Vec::new(),
            });
        }
        if !c.vnis.is_empty() {
            let odd = ["\"q\"", "back\\slash", "ü-port", "x'y"];
            for i in 0..rng.range(0, 4) {
                let name = if rng.coin() {
                    format!("p{i}{}", odd[rng.range(0, 3) as usize])
                } else {
                    format!("c{i}")
                };
                let vni = c.vnis[rng.range(0, c.vnis.len() as u64 - 1) as usize].id;
                c.ports.push(PortConfig { name, vni });
            }
        }
        if rng.coin() {
            let names = ["vxctl", "wheel", "net-admin_2", "a.b", "_x"];
            c.control.group = Some(names[rng.range(0, 4) as usize].to_string());
        }
        for vni in &mut c.vnis {
            let ports: Vec<&PortConfig> = c.ports.iter().filter(|p| p.vni == vni.id).collect();
            for i in 0..rng.range(0, 3) {
                let b = rng.next().to_be_bytes();
                // The last octet is the index, so MACs are unique in the VNI.
                let mac = [(b[0] & 0xfe) | 0x02, b[1], b[2], b[3], b[4], i as u8];
                let dest = if !ports.is_empty() && rng.coin() {
                    let port = ports[rng.range(0, ports.len() as u64 - 1) as usize];
                    FdbDest::Port(port.name.clone())
                } else {
                    FdbDest::Remote(Ipv4Addr::new(203, 0, 113, rng.range(1, 254) as u8))
                };
                vni.fdb.push(StaticFdb { mac, dest });
            }
            for i in 0..rng.range(0, 3) {
                let b = rng.next().to_be_bytes();
                vni.arp.push(ArpEntry {
                    ip: Ipv4Addr::new(10, b[0], b[1], i as u8 + 1),
                    mac: [(b[2] & 0xfe) | 0x02, b[3], b[4], b[5], b[6], b[7]],
                });
            }
        }
        c
    }

    #[test]
    fn round_trip_random_configs() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..500 {
            let c = random_config(&mut rng);
            let text = c.to_toml();
            let back = Config::parse(&text, "gen.toml")
                .unwrap_or_else(|e| panic!("generated config rejected:\n{e}\n---\n{text}"));
            assert_eq!(back, c, "{text}");
            c.check()
                .unwrap_or_else(|e| panic!("check rejected a valid config:\n{e}\n---\n{text}"));
        }
    }

    #[test]
    fn bad_neighbor_mac_does_not_cascade() {
        only(
            "[[underlay.neighbor]]\nip = \"10.0.0.2\"\nmac = \"02:00\"\n[[vni]]\nid = 1\nflood = [\"10.0.0.2\"]\n",
            r#"t.toml:3: underlay.neighbor[0].mac: "02:00" is not a MAC address (expected six hex octets such as 02:00:00:00:00:fe)"#,
        );
    }

    #[test]
    fn readme_example_is_valid() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/README.md"));
        let start = readme
            .find("## Annotated example")
            .expect("example section");
        let body = &readme[start..];
        let body = &body[body.find("```toml").expect("toml fence") + "```toml".len()..];
        let example = &body[..body.find("```").expect("closing fence")];
        let c = ok(example);
        assert_eq!(c.vnis.len(), 2);
        assert_eq!(c.ports.len(), 2);
        assert_eq!(
            c.underlay.next_hops,
            vec![
                NextHop::mac([2, 0, 0, 0, 0, 0xfe]),
                NextHop {
                    ip: Some(Ipv4Addr::new(198, 18, 0, 254)),
                    mac: None,
                    weight: 2
                },
                NextHop {
                    ip: Some(Ipv4Addr::new(198, 18, 0, 253)),
                    mac: Some([2, 0, 0, 0, 0, 0xfd]),
                    weight: 1
                },
            ]
        );
        assert_eq!(
            (c.underlay.probe_interval_ms, c.underlay.probe_misses),
            (100, 3)
        );
        assert_eq!(c.control.group.as_deref(), Some("vxctl"));
        assert!(!c.vnis[1].learning);
        assert_eq!(
            (c.vnis[0].mss_clamp, c.vnis[1].mss_clamp),
            (MssClamp::Auto, MssClamp::Mss(1360))
        );
        assert_eq!(
            c.vnis[1].fdb,
            vec![
                StaticFdb {
                    mac: [2, 0, 0, 0, 0xc8, 1],
                    dest: FdbDest::Port("c200".into())
                },
                StaticFdb {
                    mac: [2, 0, 0, 0, 0xc8, 2],
                    dest: FdbDest::Remote(IP2)
                },
            ]
        );
        assert_eq!(
            c.vnis[1].arp,
            vec![ArpEntry {
                ip: Ipv4Addr::new(10, 200, 0, 2),
                mac: [2, 0, 0, 0, 0xc8, 2]
            }]
        );
    }

    #[test]
    fn repo_configs_are_valid() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs");
        let mut checked = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{dir}: {e}")) {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let c = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(Config::parse(&c.to_toml(), "rt").unwrap(), c);
                checked.push(path.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
        checked.sort();
        for name in [
            "host-a.toml",
            "host-b.toml",
            "host-a-3.toml",
            "host-b-3.toml",
            "host-c-3.toml",
        ] {
            assert!(
                checked.iter().any(|c| c == name),
                "{name} missing from {checked:?}"
            );
        }
        let a = Config::load(Path::new(&format!("{dir}/host-a.toml"))).unwrap();
        assert_eq!(a.underlay.vtep, Some(IP1));
        assert_eq!(a.underlay.mtu, Some(1500));
        assert_eq!(
            a.underlay.neighbors,
            vec![Neighbor {
                ip: IP2,
                mac: [2, 0, 0, 0, 1, 2]
            }]
        );
        let ids: Vec<(u32, Vec<Ipv4Addr>)> =
            a.vnis.iter().map(|v| (v.id, v.flood.clone())).collect();
        assert_eq!(ids, vec![(100, vec![IP2]), (200, vec![IP2])]);
        let ports: Vec<(&str, u32)> = a.ports.iter().map(|p| (p.name.as_str(), p.vni)).collect();
        assert_eq!(ports, vec![("c100", 100), ("c200", 200)]);
        let a3 = Config::load(Path::new(&format!("{dir}/host-a-3.toml"))).unwrap();
        assert_eq!(a3.fdb.age_secs, 5);
        assert_eq!(a3.vnis[0].flood, vec![IP2, IP3]);
    }
}
