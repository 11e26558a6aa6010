//! The running state: an immutable snapshot of everything the workers read
//! besides the FDB: VNIs and their bridge domains, ports, remote VTEPs with
//! their prebuilt outer headers, next hops with the ECMP table over them, MTU.
//!
//! The control thread builds a new [`State`] for every change and publishes it
//! through [`Shared::state`] (arc-swap, read-copy-update). A worker loads it
//! once per batch, so a change never pauses forwarding and a batch never sees
//! half of one.

use std::net::Ipv4Addr;

use crate::config::{Config, FdbDest, MssClamp, NextHop};
use crate::ecmp::{Hop, Resilient};
use crate::fdb::Dest;
use crate::idmap::IdMap;
use crate::wire::{checksum, ethernet, ipv4, tcp, udp, vxlan, Mac};

/// Bytes that VXLAN over IPv4 puts in front of the inner frame:
/// Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8.
pub const ENCAP_LEN: usize =
    ethernet::HEADER_LEN + ipv4::HEADER_LEN + udp::HEADER_LEN + vxlan::HEADER_LEN;

/// Port index of the uplink in every backend and in FDB destinations.
pub const UPLINK: u16 = 0;

/// A bridge domain: one configured VNI.
#[derive(Debug, Clone)]
pub struct Bd {
    pub vni: u32,
    pub learning: bool,
    /// Access ports in this VNI (port indexes).
    pub ports: Vec<u16>,
    /// Remote VTEPs flooded to (VTEP indexes): head-end replication.
    pub flood: Vec<u16>,
    /// ARP suppression table: (IPv4 address in host order, `u32::from(ip)`,
    /// and the MAC that owns it), sorted by address for [`Bd::arp_lookup`].
    /// ARP requests from access ports for these addresses are answered by
    /// the switch (`pipeline::access`) instead of being flooded. Empty until
    /// the config fills it.
    pub arp: Vec<(u32, Mac)>,
    /// The MSS that TCP SYNs over IPv4 crossing the underlay are clamped
    /// to (IPv6: 20 less); `None`: no clamping. Resolved from the VNI's
    /// `mss_clamp` and the overlay MTU by [`mss_of`].
    pub mss: Option<u16>,
}

impl Bd {
    /// The MAC that owns `ip` in this BD's ARP suppression table.
    #[inline]
    pub fn arp_lookup(&self, ip: Ipv4Addr) -> Option<Mac> {
        let a = u32::from(ip);
        self.arp
            .binary_search_by_key(&a, |e| e.0)
            .ok()
            .map(|i| self.arp[i].1)
    }
}

impl Bd {
    /// A slot with no VNI in it (VNIs start at 1).
    fn vacant() -> Bd {
        Bd {
            vni: 0,
            learning: false,
            ports: Vec::new(),
            flood: Vec::new(),
            arp: Vec::new(),
            mss: None,
        }
    }
    /// Whether this slot holds no VNI (deleted, or never used).
    pub fn is_vacant(&self) -> bool {
        self.vni == 0
    }
}

/// An access port or the uplink.
#[derive(Debug, Clone)]
pub struct Port {
    /// Empty for a vacant slot.
    pub name: String,
    /// The port's BD; `None` for the uplink and vacant slots.
    pub bd: Option<u16>,
}

impl Port {
    fn vacant() -> Port {
        Port {
            name: String::new(),
            bd: None,
        }
    }
    /// Whether this slot holds no port (detached, or never used).
    pub fn is_vacant(&self) -> bool {
        self.name.is_empty()
    }
}

/// A remote VTEP and its prebuilt outer header.
#[derive(Debug, Clone)]
pub struct Vtep {
    pub ip: Ipv4Addr,
    /// The MAC its frames go to: its own or its gateway's. `None` with
    /// [`Via::NextHops`] means one of the configured next hops per flow; with
    /// [`Via::Unresolved`], frames to it are dropped (`encap.unresolved`).
    pub mac: Option<Mac>,
    /// Where `mac` came from.
    pub via: Via,
    /// Ethernet + IPv4 + UDP + VXLAN with lengths, source port and VNI zero
    /// and the IPv4 checksum computed over that; patched per packet.
    pub template: [u8; ENCAP_LEN],
}

impl Vtep {
    fn vacant() -> Vtep {
        Vtep {
            ip: Ipv4Addr::UNSPECIFIED,
            mac: None,
            via: Via::Unresolved,
            template: [0; ENCAP_LEN],
        }
    }
    /// Whether this slot holds no remote VTEP.
    pub fn is_vacant(&self) -> bool {
        self.ip.is_unspecified()
    }
}

/// Where a remote VTEP's underlay MAC comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A `[[underlay.neighbor]]` entry in the config.
    Configured,
    /// `underlay.next_hops`, one per flow.
    NextHops,
    /// The kernel's route and neighbour tables (src/underlay.rs): through
    /// `gateway`, or directly when `None`.
    Kernel { gateway: Option<Ipv4Addr> },
    /// The switch's own ARP on the uplink: through `gateway`, or directly
    /// when `None`.
    Arp { gateway: Option<Ipv4Addr> },
    /// To be resolved; not yet known.
    Unresolved,
}

impl Via {
    /// Whether the switch resolves it (ARP, the kernel's tables) rather
    /// than the config naming its MAC.
    pub fn is_resolved_here(self) -> bool {
        matches!(self, Via::Kernel { .. } | Via::Arp { .. } | Via::Unresolved)
    }
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Via::Configured => write!(f, "configured neighbor"),
            Via::NextHops => write!(f, "next hops"),
            Via::Kernel { gateway: Some(g) } => write!(f, "kernel, via {g}"),
            Via::Kernel { gateway: None } => write!(f, "kernel, direct"),
            Via::Arp { gateway: Some(g) } => write!(f, "arp, via {g}"),
            Via::Arp { gateway: None } => write!(f, "arp, direct"),
            Via::Unresolved => write!(f, "unresolved"),
        }
    }
}

/// What a next hop is known by across live changes: its address when it has
/// one, so a MAC that ARP learns or changes keeps its slot (and its ECMP
/// buckets); else its MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HopKey {
    /// A hop with an `ip` (probed by ARP).
    Ip(Ipv4Addr),
    /// A hop known only by its MAC (never probed).
    Mac(Mac),
}

impl HopKey {
    /// The key of a configured hop; `None` for one with neither `ip` nor
    /// `mac`, which a validated config does not hold.
    pub fn of(hop: &NextHop) -> Option<HopKey> {
        match (hop.ip, hop.mac) {
            (Some(ip), _) => Some(HopKey::Ip(ip)),
            (None, Some(mac)) => Some(HopKey::Mac(mac)),
            (None, None) => None,
        }
    }
}

/// An underlay next hop in its slot of [`State::next_hops`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHopState {
    pub key: HopKey,
    /// The MAC its frames go to; `None` while unknown (an `ip` hop whose
    /// config gives no `mac` and that ARP has not resolved).
    pub mac: Option<Mac>,
    /// Its share of the ECMP buckets when every hop is up (1..=1000).
    pub weight: u32,
    /// Whether the ECMP table sends to it now; never true without `mac`.
    pub up: bool,
}

/// What the uplink is, as read from the host at start.
#[derive(Debug, Clone)]
pub struct UplinkInfo {
    pub name: String,
    pub mac: Mac,
    pub ipv4: Option<Ipv4Addr>,
    pub mtu: u16,
}

/// The immutable running state.
#[derive(Debug, Clone)]
pub struct State {
    pub vtep_ip: Ipv4Addr,
    pub udp_port: u16,
    pub uplink_mac: Mac,
    pub uplink_mtu: u16,
    pub ttl: u8,
    pub src_port_min: u16,
    /// Number of source ports in the range (max - min + 1).
    pub src_port_span: u32,
    /// Whether the switch answers ARP for its VTEP address on the uplink
    /// (true when the backend takes the uplink from the kernel).
    pub answer_vtep_arp: bool,
    pub fdb_age_secs: u32,
    pub bds: Vec<Bd>,
    /// VNI -> BD.
    vni_index: IdMap,
    /// Index 0 is the uplink ([`UPLINK`]); access ports follow, each in the
    /// slot it got when it was attached (see [`State::rebuild`]); vacant
    /// slots have an empty name. `bds` and `vteps` likewise.
    pub ports: Vec<Port>,
    pub vteps: Vec<Vtep>,
    /// Remote VTEP address -> VTEP index.
    vtep_index: IdMap,
    /// Underlay next hops by slot (`None` for a vacant slot); the ECMP
    /// table's hop indexes point here, and only at hops that are up, so
    /// every bucket in use names a hop with a MAC.
    pub next_hops: Vec<Option<NextHopState>>,
    /// Flow hash -> next hop (a resilient bucket table, see [`crate::ecmp`]).
    pub ecmp: Resilient,
    /// The config this state was built from, with the resolved VTEP address
    /// and MTU filled in.
    pub config: Config,
}

/// A config the host cannot run.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// No vtep in the config and the uplink has no IPv4 address.
    #[error("uplink {0} has no IPv4 address: set underlay.vtep in the config or add an address")]
    NoVtepAddress(String),
    /// More ports than the counters can track.
    #[error("{0} access ports configured; at most {1} are supported")]
    TooManyPorts(usize, usize),
    /// More remote VTEPs than the counters can track.
    #[error("{0} remote VTEPs configured; at most {1} are supported")]
    TooManyVteps(usize, usize),
    /// More next hops than the counters can track.
    #[error("{0} next hops configured; at most {1} are supported")]
    TooManyHops(usize, usize),
    /// The uplink MTU does not fit a UMEM frame.
    #[error("uplink {0} has MTU {1}; at most 3800 is supported (4 KiB frames): set underlay.mtu")]
    MtuTooLarge(String, u16),
}

/// Slot assignment that survives live changes: a key keeps its slot for as
/// long as it exists; a new key takes the lowest slot that was vacant in the
/// previous state (never one vacated by this very change, whose FDB entries
/// the control thread has not flushed yet).
struct Slots<K> {
    /// Key of each slot in the new state.
    keys: Vec<Option<K>>,
}

impl<K: PartialEq + Clone> Slots<K> {
    /// `prev`: each previous slot's key (`None` when vacant); `first`: the
    /// lowest slot keys may take (1 for ports: 0 is the uplink).
    fn assign(prev: &[Option<K>], wanted: &[K], first: usize) -> Slots<K> {
        let mut keys: Vec<Option<K>> = vec![None; prev.len()];
        // Slots held by keys that go away stay vacant for this change.
        let mut reserved = vec![false; prev.len()];
        for (i, k) in prev.iter().enumerate() {
            match k {
                Some(k) if wanted.contains(k) => keys[i] = Some(k.clone()),
                Some(_) => reserved[i] = true,
                None => {}
            }
        }
        let mut next = first;
        for k in wanted {
            if keys.iter().any(|x| x.as_ref() == Some(k)) {
                continue;
            }
            while next < keys.len() && (keys[next].is_some() || reserved[next]) {
                next += 1;
            }
            if next == keys.len() {
                keys.push(None);
                reserved.push(false);
            }
            keys[next] = Some(k.clone());
        }
        Slots { keys }
    }

    fn slot(&self, k: &K) -> Option<usize> {
        self.keys.iter().position(|x| x.as_ref() == Some(k))
    }
}

impl State {
    /// Builds the first running state from a validated config and the uplink.
    pub fn build(
        config: &Config,
        uplink: &UplinkInfo,
        answer_vtep_arp: bool,
    ) -> Result<State, StateError> {
        State::rebuild(config, uplink, answer_vtep_arp, None)
    }

    /// Builds the running state for `config`, keeping every VNI's BD index,
    /// every port's index and every remote VTEP's index (and what the kernel
    /// resolved for it) from `prev`: FDB entries and counters refer to them.
    pub fn rebuild(
        config: &Config,
        uplink: &UplinkInfo,
        answer_vtep_arp: bool,
        prev: Option<&State>,
    ) -> Result<State, StateError> {
        let u = &config.underlay;
        let vtep_ip = match u.vtep.or(uplink.ipv4) {
            Some(ip) => ip,
            None => return Err(StateError::NoVtepAddress(uplink.name.clone())),
        };
        let uplink_mtu = u.mtu.unwrap_or(uplink.mtu);
        if uplink_mtu > 3800 {
            return Err(StateError::MtuTooLarge(uplink.name.clone(), uplink_mtu));
        }
        if config.ports.len() + 1 > crate::stats::MAX_PORTS {
            return Err(StateError::TooManyPorts(
                config.ports.len(),
                crate::stats::MAX_PORTS - 1,
            ));
        }
        // BDs by VNI.
        let prev_vnis: Vec<Option<u32>> = prev.map_or_else(Vec::new, |p| {
            p.bds
                .iter()
                .map(|b| (!b.is_vacant()).then_some(b.vni))
                .collect()
        });
        let vnis: Vec<u32> = config.vnis.iter().map(|v| v.id).collect();
        let bd_slots = Slots::assign(&prev_vnis, &vnis, 0);
        // Remote VTEPs by address: every flood-list entry.
        let prev_ips: Vec<Option<Ipv4Addr>> = prev.map_or_else(Vec::new, |p| {
            p.vteps
                .iter()
                .map(|v| (!v.is_vacant()).then_some(v.ip))
                .collect()
        });
        // Remote VTEPs: every flood-list entry and every static FDB
        // entry's remote.
        let mut ips: Vec<Ipv4Addr> = Vec::new();
        for v in &config.vnis {
            let remotes = v.fdb.iter().filter_map(|e| match e.dest {
                FdbDest::Remote(ip) => Some(ip),
                FdbDest::Port(_) => None,
            });
            for ip in v.flood.iter().copied().chain(remotes) {
                if !ips.contains(&ip) {
                    ips.push(ip);
                }
            }
        }
        let vtep_slots = Slots::assign(&prev_ips, &ips, 0);
        if ips.len() > crate::stats::MAX_VTEPS || vtep_slots.keys.len() > crate::stats::MAX_VTEPS {
            return Err(StateError::TooManyVteps(ips.len(), crate::stats::MAX_VTEPS));
        }
        // Ports by name; slot 0 is the uplink.
        let mut prev_names: Vec<Option<String>> = prev.map_or_else(Vec::new, |p| {
            p.ports
                .iter()
                .map(|p| (!p.is_vacant()).then(|| p.name.clone()))
                .collect()
        });
        if prev_names.is_empty() {
            prev_names.push(None);
        }
        prev_names[0] = None;
        let names: Vec<String> = config.ports.iter().map(|p| p.name.clone()).collect();
        let port_slots = Slots::assign(&prev_names, &names, 1);
        if port_slots.keys.len() > crate::stats::MAX_PORTS {
            return Err(StateError::TooManyPorts(
                config.ports.len(),
                crate::stats::MAX_PORTS - 1,
            ));
        }

        let mut vteps: Vec<Vtep> = vtep_slots
            .keys
            .iter()
            .map(|k| match k {
                None => Vtep::vacant(),
                Some(ip) => {
                    let ip = *ip;
                    let configured = u.neighbors.iter().find(|n| n.ip == ip).map(|n| n.mac);
                    let kept = prev
                        .and_then(|p| p.vtep_of_ip(ip).map(|i| &p.vteps[usize::from(i)]))
                        .filter(|v| v.via.is_resolved_here())
                        .map(|v| (v.mac, v.via));
                    let (mac, via) = match (configured, u.next_hops.is_empty(), kept) {
                        (Some(m), _, _) => (Some(m), Via::Configured),
                        (None, false, _) => (None, Via::NextHops),
                        (None, true, Some(k)) => k,
                        (None, true, None) => (None, Via::Unresolved),
                    };
                    Vtep {
                        ip,
                        mac,
                        via,
                        template: template(uplink.mac, mac, vtep_ip, ip, u.ttl, u.udp_port),
                    }
                }
            })
            .collect();
        vteps.shrink_to_fit();
        let vtep_index = IdMap::new(ips.iter().map(|ip| {
            let slot = vtep_slots.slot(ip).expect("every address has a slot");
            (u32::from(*ip), slot as u16)
        }));

        let mut bds: Vec<Bd> = bd_slots.keys.iter().map(|_| Bd::vacant()).collect();
        for v in &config.vnis {
            let b = bd_slots.slot(&v.id).expect("every VNI has a slot");
            bds[b] = Bd {
                vni: v.id,
                learning: v.learning,
                mss: mss_of(v.mss_clamp, uplink_mtu),
                ports: Vec::new(),
                flood: v
                    .flood
                    .iter()
                    .map(|ip| vtep_slots.slot(ip).expect("every address has a slot") as u16)
                    .collect(),
                arp: {
                    let mut t: Vec<(u32, Mac)> =
                        v.arp.iter().map(|e| (u32::from(e.ip), e.mac)).collect();
                    t.sort_unstable();
                    t
                },
            };
        }
        let vni_index = IdMap::new(config.vnis.iter().map(|v| {
            (
                v.id,
                bd_slots.slot(&v.id).expect("every VNI has a slot") as u16,
            )
        }));

        let mut ports: Vec<Port> = port_slots.keys.iter().map(|_| Port::vacant()).collect();
        ports[0] = Port {
            name: uplink.name.clone(),
            bd: None,
        };
        for p in &config.ports {
            let idx = port_slots.slot(&p.name).expect("every port has a slot");
            let bd = vni_index.get(p.vni);
            if let Some(b) = bd {
                bds[usize::from(b)].ports.push(idx as u16);
            }
            ports[idx] = Port {
                name: p.name.clone(),
                bd,
            };
        }
        // Next hops keep their slots too, so ECMP moves only the flows a
        // change must move.
        let prev_hops: Vec<Option<HopKey>> = prev.map_or_else(Vec::new, |p| {
            p.next_hops
                .iter()
                .map(|h| h.as_ref().map(|h| h.key))
                .collect()
        });
        let hop_keys: Vec<HopKey> = u.next_hops.iter().filter_map(HopKey::of).collect();
        let hop_slots = Slots::assign(&prev_hops, &hop_keys, 0);
        if hop_slots.keys.len() > crate::stats::MAX_HOPS {
            return Err(StateError::TooManyHops(
                hop_keys.len(),
                crate::stats::MAX_HOPS,
            ));
        }
        let mut next_hops: Vec<Option<NextHopState>> = vec![None; hop_slots.keys.len()];
        for hop in &u.next_hops {
            let Some(key) = HopKey::of(hop) else {
                continue;
            };
            let slot = hop_slots.slot(&key).expect("every next hop has a slot");
            next_hops[slot] = Some(NextHopState {
                key,
                mac: hop.mac,
                weight: hop.weight,
                up: hop.mac.is_some(),
            });
            // An `ip` hop whose configured start MAC is unchanged keeps what
            // its probes found (its MAC, whether it answers): a change
            // elsewhere in the config is no news about the hop.
            let same_start = |p: &&State| {
                let hops = &p.config.underlay.next_hops;
                hops.iter()
                    .any(|h| HopKey::of(h) == Some(key) && h.mac == hop.mac)
            };
            let kept = prev
                .filter(|_| matches!(key, HopKey::Ip(_)))
                .filter(same_start)
                .and_then(|p| p.next_hop(key));
            if let (Some(k), Some(h)) = (kept, next_hops[slot].as_mut()) {
                h.mac = k.mac;
                h.up = k.up && k.mac.is_some();
            }
        }
        let mut ecmp = prev.map(|p| p.ecmp.clone()).unwrap_or_default();
        ecmp.update(&ecmp_hops(&next_hops));
        let mut resolved = config.clone();
        resolved.underlay.vtep = Some(vtep_ip);
        resolved.underlay.mtu = Some(uplink_mtu);
        Ok(State {
            vtep_ip,
            udp_port: u.udp_port,
            uplink_mac: uplink.mac,
            uplink_mtu,
            ttl: u.ttl,
            src_port_min: u.src_port_min,
            src_port_span: u32::from(u.src_port_max - u.src_port_min) + 1,
            answer_vtep_arp,
            fdb_age_secs: config.fdb.age_secs,
            bds,
            vni_index,
            ports,
            vteps,
            vtep_index,
            next_hops,
            ecmp,
            config: resolved,
        })
    }

    /// Puts the config's static FDB entries into `fdb` (again: an entry
    /// there already is overwritten with the same).
    pub fn install_static(&self, fdb: &crate::fdb::Fdb) -> Result<(), crate::fdb::FdbFull> {
        for (bd, mac, dest) in self.static_fdb() {
            fdb.insert_static(bd, &mac, dest)?;
        }
        Ok(())
    }

    /// The static FDB entries of the config, as (BD, MAC, destination).
    pub fn static_fdb(&self) -> Vec<(u16, Mac, Dest)> {
        let mut out = Vec::new();
        for v in &self.config.vnis {
            let Some(bd) = self.bd_of_vni(v.id) else {
                continue;
            };
            for e in &v.fdb {
                let dest = match &e.dest {
                    FdbDest::Port(name) => self.port_of_name(name).map(Dest::Port),
                    FdbDest::Remote(ip) => self.vtep_of_ip(*ip).map(Dest::Vtep),
                };
                if let Some(d) = dest {
                    out.push((bd, e.mac, d));
                }
            }
        }
        out
    }

    /// The index of the port named `name`.
    pub fn port_of_name(&self, name: &str) -> Option<u16> {
        self.ports
            .iter()
            .position(|p| !p.is_vacant() && p.name == name)
            .map(|i| i as u16)
    }

    /// The BD of a VNI.
    #[inline]
    pub fn bd_of_vni(&self, vni: u32) -> Option<u16> {
        self.vni_index.get(vni)
    }

    /// The VTEP index of a remote address.
    #[inline]
    pub fn vtep_of_ip(&self, ip: Ipv4Addr) -> Option<u16> {
        self.vtep_index.get(u32::from(ip))
    }

    /// A copy of this state in which remote VTEP `idx` is reached at `mac`,
    /// as learned `via` the kernel; its outer-header template follows.
    pub fn with_vtep_mac(&self, idx: usize, mac: Option<Mac>, via: Via) -> State {
        let mut st = self.clone();
        let v = &mut st.vteps[idx];
        v.mac = mac;
        v.via = via;
        v.template[..6].copy_from_slice(&mac.unwrap_or([0; 6]));
        st
    }

    /// The next hop known by `key`, if one is configured.
    pub fn next_hop(&self, key: HopKey) -> Option<&NextHopState> {
        self.next_hops.iter().flatten().find(|h| h.key == key)
    }

    /// The MAC of the next hop that the flow with inner hash `hash` takes;
    /// `None` when no hop is up.
    #[inline]
    pub fn next_hop_mac(&self, hash: u32) -> Option<Mac> {
        let slot = usize::from(self.ecmp.pick(hash)?);
        self.next_hops.get(slot)?.as_ref()?.mac
    }

    /// A copy of this state in which the next hop in `slot` has `mac` and is
    /// `up` (or down), with the ECMP table updated: a hop going down lends
    /// its buckets to the live hops, one coming back takes its own back.
    /// A hop without a MAC is down whatever `up` says.
    pub fn with_next_hop(&self, slot: usize, mac: Option<Mac>, up: bool) -> State {
        let mut st = self.clone();
        if let Some(h) = st.next_hops.get_mut(slot).and_then(Option::as_mut) {
            h.mac = mac;
            h.up = up && mac.is_some();
        }
        st.ecmp.update(&ecmp_hops(&st.next_hops));
        st
    }

    /// The overlay MTU: what fits in the uplink MTU after encap.
    pub fn overlay_mtu(&self) -> u16 {
        overlay_mtu(self.uplink_mtu)
    }
}

fn overlay_mtu(uplink_mtu: u16) -> u16 {
    uplink_mtu.saturating_sub(ENCAP_LEN as u16)
}

/// The IPv4 MSS a VNI's SYNs are clamped to over an uplink of `uplink_mtu`
/// (see [`Bd::mss`]): `Auto` is the overlay MTU less the IPv4 and TCP
/// headers; a number is taken as it is unless it exceeds that, since a
/// larger segment could not cross the underlay anyway.
pub fn mss_of(clamp: MssClamp, uplink_mtu: u16) -> Option<u16> {
    let fits = overlay_mtu(uplink_mtu).saturating_sub((ipv4::HEADER_LEN + tcp::HEADER_LEN) as u16);
    match clamp {
        MssClamp::Auto => Some(fits),
        MssClamp::Off => None,
        MssClamp::Mss(n) => Some(n.min(fits)),
    }
}

/// The ECMP table's view of the next-hop slots: a vacant slot has weight 0,
/// and a hop without a MAC is down.
fn ecmp_hops(next_hops: &[Option<NextHopState>]) -> Vec<Hop> {
    next_hops
        .iter()
        .map(|h| match h {
            None => Hop {
                weight: 0,
                up: false,
            },
            Some(h) => Hop {
                weight: h.weight,
                up: h.up && h.mac.is_some(),
            },
        })
        .collect()
}

/// Prebuilds the outer header toward `remote`. The destination MAC is the
/// neighbour's, or zero to be filled from the next hops per packet.
fn template(
    src_mac: Mac,
    dst_mac: Option<Mac>,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    port: u16,
) -> [u8; ENCAP_LEN] {
    let mut t = [0u8; ENCAP_LEN];
    {
        let mut e = ethernet::EthernetFrame::new_checked(&mut t[..])
            .expect("template is longer than an Ethernet header");
        e.set_dst(&dst_mac.unwrap_or([0; 6]));
        e.set_src(&src_mac);
        e.set_ethertype(ethernet::ETHERTYPE_IPV4);
    }
    let ip = ethernet::HEADER_LEN;
    ipv4::Ipv4Packet::new_unchecked(&mut t[ip..]).emit(&ipv4::Ipv4Repr {
        src,
        dst,
        protocol: ipv4::PROTO_UDP,
        ttl,
        tos: 0,
        dont_frag: true,
        total_len: 0,
    });
    let mut u = udp::UdpPacket::new_unchecked(&mut t[ip + ipv4::HEADER_LEN..]);
    u.set_dst_port(port);
    u.set_checksum(0);
    vxlan::VxlanPacket::new_unchecked(&mut t[ip + ipv4::HEADER_LEN + udp::HEADER_LEN..]).emit(0);
    debug_assert_eq!(checksum::checksum(&t[ip..ip + ipv4::HEADER_LEN]), 0);
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::encap::encap;
    use crate::stats::Drop;

    /// The uplink every test's state is built for: "ul", MTU 1500.
    fn test_uplink() -> UplinkInfo {
        UplinkInfo {
            name: "ul".into(),
            mac: [2, 0, 0, 0, 1, 1],
            ipv4: None,
            mtu: 1500,
        }
    }

    fn state() -> State {
        let cfg = Config::parse(
            "[underlay]\nvtep = \"198.18.0.1\"\n[[vni]]\nid = 100\nflood = [\"198.18.1.2\"]\n",
            "t.toml",
        )
        .expect("valid config");
        let uplink = test_uplink();
        State::build(&cfg, &uplink, false).expect("buildable state")
    }

    #[test]
    fn vtep_address_and_mtu_default_to_the_uplinks() {
        let cfg = Config::parse("[[vni]]\nid = 100\n", "t.toml").expect("valid config");
        let mut uplink = UplinkInfo {
            name: "eth1".into(),
            mac: [2, 0, 0, 0, 1, 1],
            ipv4: Some(Ipv4Addr::new(198, 18, 0, 7)),
            mtu: 1500,
        };
        let st = State::build(&cfg, &uplink, false).expect("buildable state");
        assert_eq!(st.vtep_ip, Ipv4Addr::new(198, 18, 0, 7));
        assert_eq!((st.uplink_mtu, st.overlay_mtu()), (1500, 1450));
        assert_eq!(st.bds[0].mss, Some(1410), "mss_clamp auto: 1450 - 40");
        // The resolved values are what `config save` will write.
        assert_eq!(st.config.underlay.vtep, Some(Ipv4Addr::new(198, 18, 0, 7)));
        uplink.ipv4 = None;
        let e = State::build(&cfg, &uplink, false).unwrap_err().to_string();
        assert_eq!(
            e,
            "uplink eth1 has no IPv4 address: set underlay.vtep in the config or add an address"
        );
    }

    #[test]
    fn mss_clamp_resolved_per_vni() {
        let text = "[underlay]\nvtep = \"198.18.0.1\"\nmtu = 1500\n\
            [[vni]]\nid = 1\n[[vni]]\nid = 2\nmss_clamp = \"off\"\n\
            [[vni]]\nid = 3\nmss_clamp = 1300\n[[vni]]\nid = 4\nmss_clamp = 2000\n";
        let cfg = Config::parse(text, "t.toml").expect("valid config");
        let uplink = UplinkInfo {
            name: "ul".into(),
            mac: [2, 0, 0, 0, 1, 1],
            ipv4: None,
            mtu: 9000,
        };
        let st = State::build(&cfg, &uplink, false).expect("buildable");
        let mss: Vec<Option<u16>> = (1..=4)
            .map(|v| st.bds[usize::from(st.bd_of_vni(v).unwrap())].mss)
            .collect();
        // 2000 is more than a 1450-byte overlay MTU fits: lowered to 1410.
        assert_eq!(mss, vec![Some(1410), None, Some(1300), Some(1410)]);
        assert_eq!(mss_of(MssClamp::Auto, 3800), Some(3710));
        assert_eq!(mss_of(MssClamp::Mss(3710), 3800), Some(3710));
        assert_eq!(mss_of(MssClamp::Auto, 576), Some(486));
        assert_eq!(mss_of(MssClamp::Auto, 60), Some(0), "no underflow");
    }

    #[test]
    fn unresolved_vtep_drops_until_the_kernel_answers() {
        let st = state();
        assert_eq!(st.vteps[0].via, Via::Unresolved);
        let mut buf = vec![0u8; 512];
        buf[..14].copy_from_slice(&[2, 0, 0, 0, 0xb1, 0, 2, 0, 0, 0, 0xa1, 0, 8, 0]);
        assert_eq!(
            encap(&mut buf, 60, &st, &st.vteps[0], 100, 7),
            Err(Drop::Unresolved)
        );

        let gw = Ipv4Addr::new(198, 18, 0, 254);
        let mac = [2, 0, 0, 0, 2, 0xa];
        let next = st.with_vtep_mac(0, Some(mac), Via::Kernel { gateway: Some(gw) });
        assert_eq!(next.vteps[0].via.to_string(), "kernel, via 198.18.0.254");
        let n =
            encap(&mut buf, 60, &next, &next.vteps[0], 100, 7).expect("resolved VTEP encapsulates");
        assert_eq!(n, 60 + ENCAP_LEN);
        assert_eq!(&buf[..6], &mac, "outer destination is the gateway's MAC");
        assert_eq!(
            &buf[6..12],
            &[2, 0, 0, 0, 1, 1],
            "outer source is the uplink's MAC"
        );
        // The old snapshot is untouched: workers still holding it keep going.
        assert_eq!(st.vteps[0].mac, None);
    }

    /// Live changes keep every VNI, port and VTEP in its slot (FDB entries
    /// and counters refer to them); a removed one leaves its slot vacant
    /// for this change, and a later addition reuses the lowest vacant slot.
    #[test]
    fn slots_survive_live_changes() {
        let text = "[underlay]\nvtep = \"198.18.0.1\"\n\
            [[vni]]\nid = 100\nflood = [\"198.18.1.2\", \"198.18.1.3\"]\n\
            [[vni]]\nid = 200\nflood = [\"198.18.1.3\"]\n\
            [[port]]\nname = \"a\"\nvni = 100\n[[port]]\nname = \"b\"\nvni = 200\n";
        let cfg = Config::parse(text, "t.toml").expect("valid config");
        let uplink = test_uplink();
        let s0 = State::build(&cfg, &uplink, false).expect("buildable");
        assert_eq!(
            (s0.port_of_name("a"), s0.port_of_name("b")),
            (Some(1), Some(2))
        );
        let (bd200, v3) = (
            s0.bd_of_vni(200),
            s0.vtep_of_ip("198.18.1.3".parse().unwrap()),
        );

        // Remove VNI 100 with its port and the VTEP only it used.
        let mut c1 = cfg.clone();
        c1.vnis.retain(|v| v.id != 100);
        c1.ports.retain(|p| p.name != "a");
        c1.check().expect("still valid");
        let s1 = State::rebuild(&c1, &uplink, false, Some(&s0)).expect("buildable");
        assert_eq!(s1.port_of_name("b"), Some(2), "b keeps its slot");
        assert!(s1.ports[1].is_vacant());
        assert_eq!(s1.bd_of_vni(200), bd200);
        assert_eq!(s1.bd_of_vni(100), None);
        assert_eq!(s1.vtep_of_ip("198.18.1.3".parse().unwrap()), v3);
        assert_eq!(s1.vtep_of_ip("198.18.1.2".parse().unwrap()), None);
        assert_eq!(s1.bds[usize::from(bd200.unwrap())].ports, vec![2]);

        // Add a VNI and a port: they take the lowest vacant slots.
        let mut c2 = c1.clone();
        c2.vnis.push(crate::config::VniConfig {
            id: 300,
            flood: vec!["198.18.1.9".parse().unwrap()],
            learning: true,
            mss_clamp: crate::config::MssClamp::Auto,
            fdb: vec![],
            arp: vec![],
        });
        c2.ports.push(crate::config::PortConfig {
            name: "c".into(),
            vni: 300,
        });
        let s2 = State::rebuild(&c2, &uplink, false, Some(&s1)).expect("buildable");
        assert_eq!(s2.port_of_name("c"), Some(1));
        assert_eq!(s2.bd_of_vni(300), s0.bd_of_vni(100));
        assert_eq!(s2.port_of_name("b"), Some(2));
        let v9 = s2
            .vtep_of_ip("198.18.1.9".parse().unwrap())
            .expect("new VTEP");
        assert_eq!(
            s2.bds[usize::from(s2.bd_of_vni(300).unwrap())].flood,
            vec![v9]
        );
    }

    fn hop_uplink() -> UplinkInfo {
        UplinkInfo {
            name: "ul".into(),
            mac: [2, 0, 0, 0, 1, 1],
            ipv4: None,
            mtu: 1500,
        }
    }

    /// A VTEP off the uplink subnet (no neighbor entry) and `hops` as
    /// `[[underlay.next_hop]]` bodies.
    fn hop_config(hops: &[&str]) -> Config {
        let mut text = String::from(
            "[underlay]\nvtep = \"198.18.0.1\"\n[[vni]]\nid = 100\nflood = [\"203.0.113.7\"]\n",
        );
        for h in hops {
            text.push_str(&format!("[[underlay.next_hop]]\n{h}"));
        }
        Config::parse(&text, "t.toml").expect("valid config")
    }

    fn flows() -> impl Iterator<Item = u32> {
        (0..1000u32).map(|i| i.wrapping_mul(0x9e37_79b9).rotate_left(7))
    }

    #[test]
    fn a_next_hop_without_a_mac_is_down_and_never_picked() {
        let cfg = hop_config(&[
            "ip = \"198.18.0.254\"\n",
            "ip = \"198.18.0.253\"\nmac = \"02:00:00:00:00:fd\"\nweight = 3\n",
        ]);
        let st = State::build(&cfg, &hop_uplink(), false).expect("buildable");
        assert_eq!(st.vteps[0].via, Via::NextHops);
        assert_eq!(
            st.next_hops,
            vec![
                Some(NextHopState {
                    key: HopKey::Ip(Ipv4Addr::new(198, 18, 0, 254)),
                    mac: None,
                    weight: 1,
                    up: false
                }),
                Some(NextHopState {
                    key: HopKey::Ip(Ipv4Addr::new(198, 18, 0, 253)),
                    mac: Some([2, 0, 0, 0, 0, 0xfd]),
                    weight: 3,
                    up: true
                }),
            ]
        );
        assert_eq!(st.ecmp.buckets_of(1), crate::ecmp::BUCKETS);
        for f in flows() {
            assert_eq!(st.next_hop_mac(f), Some([2, 0, 0, 0, 0, 0xfd]));
        }
        // With no hop that has a MAC, frames through the hops are dropped.
        let only = hop_config(&["ip = \"198.18.0.254\"\n"]);
        let st = State::build(&only, &hop_uplink(), false).expect("buildable");
        assert_eq!(st.next_hop_mac(7), None);
        let mut buf = vec![0u8; 512];
        assert_eq!(
            encap(&mut buf, 60, &st, &st.vteps[0], 100, 7),
            Err(Drop::Unresolved)
        );
        // Once its MAC is known it takes every flow, and encap uses it.
        let mac = [2, 0, 0, 0, 0, 0xfe];
        let st = st.with_next_hop(0, Some(mac), true);
        let n = encap(&mut buf, 60, &st, &st.vteps[0], 100, 7).expect("a hop is up");
        assert_eq!((n, &buf[..6]), (60 + ENCAP_LEN, &mac[..]));
    }

    /// An `ip` hop is keyed by its address: a new MAC (from ARP, or a new
    /// start value in the config) keeps its slot and so its buckets.
    #[test]
    fn next_hop_slots_follow_the_address_not_the_mac() {
        let a = "ip = \"198.18.0.254\"\nmac = \"02:00:00:00:00:fe\"\n";
        let b = "mac = \"02:00:00:00:00:fd\"\n";
        let s0 = State::build(&hop_config(&[a, b]), &hop_uplink(), false).expect("buildable");
        let before: Vec<Option<Mac>> = flows().map(|f| s0.next_hop_mac(f)).collect();
        let a2 = "ip = \"198.18.0.254\"\nmac = \"02:00:00:00:00:ee\"\n";
        let s1 = State::rebuild(&hop_config(&[b, a2]), &hop_uplink(), false, Some(&s0))
            .expect("buildable");
        assert_eq!(
            s1.next_hops[0].as_ref().map(|h| h.mac),
            Some(Some([2, 0, 0, 0, 0, 0xee]))
        );
        assert_eq!(s1.ecmp, s0.ecmp, "no bucket moved");
        for (f, b) in flows().zip(before) {
            let want = if b == Some([2, 0, 0, 0, 0, 0xfe]) {
                Some([2, 0, 0, 0, 0, 0xee])
            } else {
                b
            };
            assert_eq!(s1.next_hop_mac(f), want);
        }
        // What probing found survives a rebuild for another change, while
        // the hop's configured start MAC stays the same.
        let s2 = s1.with_next_hop(0, Some([2, 0, 0, 0, 0, 0xdd]), false);
        assert_eq!(s2.ecmp.buckets_of(0), 0);
        let mut cfg = hop_config(&[b, a2]);
        cfg.vnis[0].learning = false;
        let s3 = State::rebuild(&cfg, &hop_uplink(), false, Some(&s2)).expect("buildable");
        assert_eq!(s3.next_hops, s2.next_hops);
        assert_eq!(s3.ecmp, s2.ecmp);
        // It comes back: its own buckets return.
        let s4 = s3.with_next_hop(0, Some([2, 0, 0, 0, 0, 0xdd]), true);
        assert_eq!(s4.ecmp, s0.ecmp);
    }

    /// A slot vacated by a change is not handed out in that same change:
    /// the FDB entries that point at it are flushed only after it.
    #[test]
    fn a_slot_is_not_reused_in_the_change_that_frees_it() {
        let text = "[underlay]\nvtep = \"198.18.0.1\"\n[[vni]]\nid = 100\n\
            [[port]]\nname = \"a\"\nvni = 100\n";
        let cfg = Config::parse(text, "t.toml").expect("valid config");
        let uplink = test_uplink();
        let s0 = State::build(&cfg, &uplink, false).expect("buildable");
        let mut c1 = cfg.clone();
        c1.ports[0].name = "z".into();
        c1.vnis[0].id = 101;
        let s1 = State::rebuild(&c1, &uplink, false, Some(&s0)).expect("buildable");
        assert_eq!(s1.port_of_name("z"), Some(2));
        assert!(s1.ports[1].is_vacant());
        assert_eq!(s1.bd_of_vni(101), Some(1));
        assert!(s1.bds[0].is_vacant());
    }
}
