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
    /// Its own MAC when it is a neighbour on the uplink subnet; else the
    /// next hops are used.
    pub mac: Option<Mac>,
    /// Ethernet + IPv4 + UDP + VXLAN with lengths, source port and VNI zero
    /// and the IPv4 checksum computed over that; patched per packet.
    pub template: [u8; ENCAP_LEN],
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
                        let i = vteps.len() as u16;
                        vteps.push(Vtep {
                            ip: *ip,
                            mac,
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
