//! The running state: an immutable snapshot of everything the workers read
//! besides the FDB: VNIs and their bridge domains, ports, remote VTEPs with
//! their prebuilt outer headers, next hops, MTU.
//!
//! The control thread builds a new [`State`] for every change and publishes it
//! through [`Shared::state`] (arc-swap, read-copy-update). A worker loads it
//! once per batch, so a change never pauses forwarding and a batch never sees
//! half of one.

use std::net::Ipv4Addr;

use crate::config::Config;
use crate::wire::{checksum, ethernet, ipv4, udp, vxlan, Mac};

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

/// An access port or the uplink.
#[derive(Debug, Clone)]
pub struct Port {
    pub name: String,
    /// The port's BD; `None` for the uplink.
    pub bd: Option<u16>,
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
    /// To be resolved from the kernel; not yet known.
    Unresolved,
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Via::Configured => write!(f, "configured neighbor"),
            Via::NextHops => write!(f, "next hops"),
            Via::Kernel { gateway: Some(g) } => write!(f, "kernel, via {g}"),
            Via::Kernel { gateway: None } => write!(f, "kernel, direct"),
            Via::Unresolved => write!(f, "unresolved"),
        }
    }
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
    /// (vni, bd), sorted by VNI for binary search.
    vni_index: Vec<(u32, u16)>,
    /// Index 0 is the uplink ([`UPLINK`]); access ports follow in config order.
    pub ports: Vec<Port>,
    pub vteps: Vec<Vtep>,
    /// (ip, vtep index), sorted by address.
    vtep_index: Vec<(u32, u16)>,
    pub next_hops: Vec<Mac>,
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
    /// The uplink MTU does not fit a UMEM frame.
    #[error("uplink {0} has MTU {1}; at most 3800 is supported (4 KiB frames): set underlay.mtu")]
    MtuTooLarge(String, u16),
}

impl State {
    /// Builds the running state from a validated config and the uplink.
    pub fn build(
        config: &Config,
        uplink: &UplinkInfo,
        answer_vtep_arp: bool,
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
        let mut vteps: Vec<Vtep> = Vec::new();
        let mut vtep_index: Vec<(u32, u16)> = Vec::new();
        let mut bds = Vec::new();
        for v in &config.vnis {
            let mut flood = Vec::new();
            for ip in &v.flood {
                let idx = match vtep_index.iter().find(|(a, _)| *a == u32::from(*ip)) {
                    Some((_, i)) => *i,
                    None => {
                        let mac = u.neighbors.iter().find(|n| n.ip == *ip).map(|n| n.mac);
                        let via = match (mac, u.next_hops.is_empty()) {
                            (Some(_), _) => Via::Configured,
                            (None, false) => Via::NextHops,
                            (None, true) => Via::Unresolved,
                        };
                        let i = vteps.len() as u16;
                        vteps.push(Vtep {
                            ip: *ip,
                            mac,
                            via,
                            template: template(uplink.mac, mac, vtep_ip, *ip, u.ttl, u.udp_port),
                        });
                        vtep_index.push((u32::from(*ip), i));
                        i
                    }
                };
                flood.push(idx);
            }
            bds.push(Bd {
                vni: v.id,
                learning: v.learning,
                ports: Vec::new(),
                flood,
                arp: Vec::new(),
            });
        }
        if vteps.len() > crate::stats::MAX_VTEPS {
            return Err(StateError::TooManyVteps(
                vteps.len(),
                crate::stats::MAX_VTEPS,
            ));
        }
        vtep_index.sort_unstable();
        let mut vni_index: Vec<(u32, u16)> = bds
            .iter()
            .enumerate()
            .map(|(i, b)| (b.vni, i as u16))
            .collect();
        vni_index.sort_unstable();
        let mut ports = vec![Port {
            name: uplink.name.clone(),
            bd: None,
        }];
        for p in &config.ports {
            let bd = vni_index
                .binary_search_by_key(&p.vni, |e| e.0)
                .map(|i| vni_index[i].1)
                .ok();
            let idx = ports.len() as u16;
            if let Some(b) = bd {
                bds[usize::from(b)].ports.push(idx);
            }
            ports.push(Port {
                name: p.name.clone(),
                bd,
            });
        }
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
            next_hops: u.next_hops.clone(),
            config: resolved,
        })
    }

    /// The BD of a VNI.
    #[inline]
    pub fn bd_of_vni(&self, vni: u32) -> Option<u16> {
        self.vni_index
            .binary_search_by_key(&vni, |e| e.0)
            .ok()
            .map(|i| self.vni_index[i].1)
    }

    /// The VTEP index of a remote address.
    #[inline]
    pub fn vtep_of_ip(&self, ip: Ipv4Addr) -> Option<u16> {
        let a = u32::from(ip);
        self.vtep_index
            .binary_search_by_key(&a, |e| e.0)
            .ok()
            .map(|i| self.vtep_index[i].1)
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

    /// The overlay MTU: what fits in the uplink MTU after encap.
    pub fn overlay_mtu(&self) -> u16 {
        self.uplink_mtu - ENCAP_LEN as u16
    }
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

    fn state() -> State {
        let cfg = Config::parse(
            "[underlay]\nvtep = \"198.18.0.1\"\n[[vni]]\nid = 100\nflood = [\"198.18.1.2\"]\n",
            "t.toml",
        )
        .expect("valid config");
        let uplink = UplinkInfo {
            name: "ul".into(),
            mac: [2, 0, 0, 0, 1, 1],
            ipv4: None,
            mtu: 1500,
        };
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
}
