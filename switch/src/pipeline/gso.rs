//! Software segmentation of TCP super-frames, for ports that hand the
//! switch frames larger than a UMEM frame.
//!
//! With a native XDP program on a veth the kernel turns GSO off on its peer,
//! so containers send MTU-sized frames. In generic (SKB) mode it does not:
//! a container with default offloads sends 64 KiB TCP super-frames (GSO),
//! which an AF_XDP socket bound with `XDP_USE_SG` receives as a chain of
//! UMEM frames. The switch cuts such a chain into TCP segments that fit the
//! overlay, as the kernel's GSO would have: the same headers, the IPv4
//! identification counting up, the sequence number advanced by the payload
//! before each segment, FIN and PSH only on the last and CWR only on the
//! first, lengths and the IPv4 header checksum rewritten. AF_XDP carries no
//! GSO metadata (no `gso_size`), so segments are as large as the overlay
//! allows: any cut is valid TCP. Residual risk: a receiver whose MTU is
//! below the overlay's (it advertised a smaller MSS than the sender's
//! segments here) would have its veth drop them; containers of one overlay
//! share its MTU, and the MSS clamp (`mss_clamp`, on by default) holds
//! every SYN to the overlay's.
//!
//! Each segment's TCP checksum field is left holding its pseudo-header sum,
//! the partial form a sender with checksum offload writes, so the
//! pipeline's own completion (`pipeline::csum`) finishes it with the other
//! frames' (and counts it).
//!
//! On the uplink in generic mode a peer on the same host (a veth) using the
//! kernel's vxlan device sends VXLAN super-frames (GSO over a UDP tunnel):
//! [`plan_vxlan`] cuts those as the kernel's tunnel GSO would, the outer
//! IPv4 and UDP headers copied into every segment with their lengths, the
//! outer identification counting up, the outer IPv4 checksum rewritten and
//! the outer UDP checksum zero (as the kernel's vxlan device sends it over
//! IPv4); the inner TCP segment's checksum is left partial, for the decap
//! path's completion.
//!
//! Anything else too large for a frame (UDP GSO, whose datagram boundaries
//! the chain does not carry; IPv4 fragments; IPv6 with extension headers;
//! VLAN tags) is refused: the caller drops it as `rx.oversize`.

use crate::wire::checksum;
use crate::wire::ethernet::{ETHERTYPE_IPV4, ETHERTYPE_IPV6, HEADER_LEN};
use crate::wire::ipv4::{self, PROTO_TCP, PROTO_UDP};

/// TCP flags (byte 13 of the header).
const FIN: u8 = 0x01;
const PSH: u8 = 0x08;
const CWR: u8 = 0x80;
/// Segments at most, so a cut never runs away: 64 KiB in 68-byte segments.
pub const MAX_SEGMENTS: usize = 1024;

/// How a super-frame is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// VXLAN super-frames: the outer IPv4 header's length. The inner frame
    /// starts at `inner`.
    outer_ip: Option<usize>,
    /// Where the (inner) Ethernet header starts: 0, or after the outer
    /// Ethernet, IPv4, UDP and VXLAN headers.
    inner: usize,
    v6: bool,
    /// IP header length.
    ip_len: usize,
    /// Every header, outer ones included: the bytes every segment starts
    /// with.
    hdr: usize,
    /// TCP payload bytes in the super-frame.
    payload: usize,
    /// Payload bytes per segment (the last may have fewer).
    mss: usize,
}

/// The cut of the TCP super-frame of `total` bytes whose first part (the
/// first UMEM frame of its chain, holding all its headers) is `head`, into
/// segments whose IP packets are at most `max_ip` bytes. `None` when it is
/// not TCP in untagged IPv4 (not a fragment) or IPv6 (no extension
/// headers), its lengths disagree, or no payload fits `max_ip`.
pub fn plan(head: &[u8], total: usize, max_ip: usize) -> Option<Plan> {
    plan_at(head, total, max_ip, 0, None)
}

/// As [`plan`], for a VXLAN frame to UDP port `port` over untagged IPv4 (not
/// a fragment) whose inner frame is such a TCP super-frame: the segments'
/// inner IP packets are at most `max_ip` bytes. `None` for anything else,
/// or when the outer lengths disagree with the frame's.
pub fn plan_vxlan(head: &[u8], total: usize, max_ip: usize, port: u16) -> Option<Plan> {
    let ethertype = u16::from_be_bytes([*head.get(12)?, *head.get(13)?]);
    if ethertype != ETHERTYPE_IPV4 {
        return None;
    }
    let (ihl, ip_total) = ipv4_whole(head.get(HEADER_LEN..)?, PROTO_UDP)?;
    let udp = HEADER_LEN + ihl;
    let u = head.get(udp..udp + 16)?;
    let udp_len = usize::from(u16::from_be_bytes([u[4], u[5]]));
    // Destination port ours, the VNI flag set, lengths those of the frame.
    if u16::from_be_bytes([u[2], u[3]]) != port
        || u[8] & 0x08 == 0
        || HEADER_LEN + ip_total != total
        || ihl + udp_len != ip_total
    {
        return None;
    }
    plan_at(head, total, max_ip, udp + 16, Some(ihl))
}

/// The header length and total length of the IPv4 header at the start of
/// `h`, if it is one (version 4, at least 20 bytes) carrying `proto` and not
/// a fragment. Its total length may run past `h` (a chain's first frame).
fn ipv4_whole(h: &[u8], proto: u8) -> Option<(usize, usize)> {
    let h = h.get(..20)?;
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let frag = u16::from_be_bytes([h[6], h[7]]) & 0x3fff;
    if h[0] >> 4 != 4 || ihl < 20 || frag != 0 || h[9] != proto {
        return None;
    }
    Some((ihl, usize::from(u16::from_be_bytes([h[2], h[3]]))))
}

/// Segment `k`'s IPv4 header `h` (of the segment `len` bytes from its
/// start on): that length, the identification counting up by `k`, the
/// checksum.
fn rewrite_ipv4(h: &mut [u8], len: usize, k: usize) {
    h[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    let id = u16::from_be_bytes([h[4], h[5]]).wrapping_add(k as u16);
    h[4..6].copy_from_slice(&id.to_be_bytes());
    ipv4::fill_checksum(h);
}

/// [`plan`] for the inner frame at `inner`.
fn plan_at(
    head: &[u8],
    total: usize,
    max_ip: usize,
    inner: usize,
    outer_ip: Option<usize>,
) -> Option<Plan> {
    let ip = inner + HEADER_LEN;
    let et = inner + 12;
    let ethertype = u16::from_be_bytes([*head.get(et)?, *head.get(et + 1)?]);
    let (v6, ip_len, ip_total) = match ethertype {
        ETHERTYPE_IPV4 => {
            let (ihl, total) = ipv4_whole(head.get(ip..)?, PROTO_TCP)?;
            (false, ihl, total)
        }
        ETHERTYPE_IPV6 => {
            let h = head.get(ip..ip + 40)?;
            if h[0] >> 4 != 6 || h[6] != PROTO_TCP {
                return None;
            }
            (true, 40, 40 + usize::from(u16::from_be_bytes([h[4], h[5]])))
        }
        _ => return None,
    };
    let tcp = ip + ip_len;
    let thl = usize::from(*head.get(tcp + 12)? >> 4) * 4;
    let hdr = tcp + thl;
    if thl < 20 || hdr > head.len() || ip_total < ip_len + thl || ip + ip_total > total {
        return None;
    }
    let payload = ip_total - ip_len - thl;
    let mss = max_ip.checked_sub(ip_len + thl).filter(|&m| m > 0)?;
    let p = Plan {
        outer_ip,
        inner,
        v6,
        ip_len,
        hdr,
        payload,
        mss,
    };
    (payload > 0 && p.count() <= MAX_SEGMENTS).then_some(p)
}

impl Plan {
    /// How many segments.
    pub fn count(&self) -> usize {
        self.payload.div_ceil(self.mss)
    }

    /// Length of segment `k`'s frame.
    pub fn len(&self, k: usize) -> usize {
        self.hdr + self.mss.min(self.payload - k * self.mss)
    }

    /// Writes segment `k` of the super-frame whose bytes are `parts`, in
    /// order (the chain's frames), into `out`, which must hold
    /// [`Plan::len`] bytes; returns that length.
    pub fn write(&self, parts: &[&[u8]], k: usize, out: &mut [u8]) -> usize {
        let len = self.len(k);
        let (off, seg) = (k * self.mss, len - self.hdr);
        let out = &mut out[..len];
        gather(parts, 0, &mut out[..self.hdr]);
        gather(parts, self.hdr + off, &mut out[self.hdr..]);
        if let Some(oihl) = self.outer_ip {
            let o = HEADER_LEN;
            rewrite_ipv4(&mut out[o..o + oihl], len - o, k);
            let udp = o + oihl;
            out[udp + 4..udp + 6].copy_from_slice(&((len - udp) as u16).to_be_bytes());
            out[udp + 6..udp + 8].fill(0);
        }
        let ip = self.inner + HEADER_LEN;
        let tcp = ip + self.ip_len;
        let l4_len = len - tcp;
        if self.v6 {
            out[ip + 4..ip + 6].copy_from_slice(&(l4_len as u16).to_be_bytes());
        } else {
            rewrite_ipv4(&mut out[ip..tcp], len - ip, k);
        }
        let seq = u32::from_be_bytes(out[tcp + 4..tcp + 8].try_into().expect("4 bytes"));
        out[tcp + 4..tcp + 8].copy_from_slice(&seq.wrapping_add(off as u32).to_be_bytes());
        if off + seg < self.payload {
            out[tcp + 13] &= !(FIN | PSH);
        }
        if k > 0 {
            out[tcp + 13] &= !CWR;
        }
        // The partial checksum: the pseudo-header sum, for pipeline::csum.
        let addrs = if self.v6 {
            ip + 8..ip + 40
        } else {
            ip + 12..ip + 20
        };
        let pseudo = checksum::pseudo(&out[addrs], PROTO_TCP, l4_len);
        out[tcp + 16..tcp + 18].copy_from_slice(&checksum::fold(pseudo).to_be_bytes());
        len
    }
}

/// Copies `out.len()` bytes of the concatenation of `parts`, from byte
/// `from` on, into `out`.
fn gather(parts: &[&[u8]], mut from: usize, out: &mut [u8]) {
    let mut at = 0;
    for p in parts {
        if at == out.len() {
            return;
        }
        if from >= p.len() {
            from -= p.len();
            continue;
        }
        let n = (p.len() - from).min(out.len() - at);
        out[at..at + n].copy_from_slice(&p[from..from + n]);
        at += n;
        from = 0;
    }
    assert_eq!(at, out.len(), "the parts hold the planned bytes");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::csum::complete_partial;
    use etherparse::{NetSlice, PacketBuilder, SlicedPacket, TransportSlice};

    const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 2];

    fn payload(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    /// A TCP super-frame as a sender with TSO writes it: valid headers, the
    /// checksum field holding the pseudo-header sum.
    fn super_frame(v6: bool, data: &[u8], flags: u8) -> Vec<u8> {
        let b = PacketBuilder::ethernet2(MAC_A, MAC_B);
        let b = if v6 {
            b.ipv6([0xfd; 16], [0xfe; 16], 64)
        } else {
            b.ipv4([198, 19, 100, 1], [198, 19, 100, 2], 64)
        };
        let mut b = b.tcp(40000, 5201, 1_000_000, 64240).ack(77);
        if flags & PSH != 0 {
            b = b.psh();
        }
        if flags & FIN != 0 {
            b = b.fin();
        }
        if flags & CWR != 0 {
            b = b.cwr();
        }
        let mut f = Vec::new();
        b.write(&mut f, data).unwrap();
        // Make its checksum partial, as TSO leaves it.
        let (ip, tcp) = (HEADER_LEN, HEADER_LEN + if v6 { 40 } else { 20 });
        let l4 = f.len() - tcp;
        let addrs = if v6 {
            ip + 8..ip + 40
        } else {
            ip + 12..ip + 20
        };
        let pseudo = checksum::pseudo(&f[addrs], PROTO_TCP, l4);
        f[tcp + 16..tcp + 18].copy_from_slice(&checksum::fold(pseudo).to_be_bytes());
        f
    }

    /// Cuts `f` as a chain of `chunk`-byte frames would arrive, completes
    /// each segment's checksum as the pipeline does, and checks every
    /// segment with etherparse; returns the segments.
    fn cut(f: &[u8], chunk: usize, max_ip: usize) -> Vec<Vec<u8>> {
        let parts: Vec<&[u8]> = f.chunks(chunk).collect();
        let p = plan(parts[0], f.len(), max_ip).expect("a TCP super-frame");
        (0..p.count())
            .map(|k| {
                let mut out = vec![0u8; 4096];
                let n = p.write(&parts, k, &mut out);
                out.truncate(n);
                assert!(n - HEADER_LEN <= max_ip, "segment {k} fits");
                assert!(
                    complete_partial(&mut out),
                    "segment {k}'s checksum is partial"
                );
                out
            })
            .collect()
    }

    fn check(segs: &[Vec<u8>], original: &[u8], data: &[u8], flags: u8) {
        let orig = SlicedPacket::from_ethernet(original).unwrap();
        let Some(TransportSlice::Tcp(ot)) = orig.transport else {
            panic!("tcp")
        };
        let mut joined = Vec::new();
        for (k, s) in segs.iter().enumerate() {
            let p = SlicedPacket::from_ethernet(s).unwrap();
            let Some(TransportSlice::Tcp(t)) = &p.transport else {
                panic!("segment {k} is TCP")
            };
            let sum = match &p.net {
                Some(NetSlice::Ipv4(ip)) => {
                    let h = ip.header().to_header();
                    assert_eq!(
                        h.header_checksum,
                        h.calc_header_checksum(),
                        "IPv4 checksum of {k}"
                    );
                    let oid = SlicedPacket::from_ethernet(original)
                        .unwrap()
                        .net
                        .and_then(|n| match n {
                            NetSlice::Ipv4(i) => Some(i.header().identification()),
                            _ => None,
                        })
                        .unwrap();
                    assert_eq!(h.identification, oid.wrapping_add(k as u16));
                    t.to_header().calc_checksum_ipv4(&h, t.payload()).unwrap()
                }
                Some(NetSlice::Ipv6(ip)) => t
                    .to_header()
                    .calc_checksum_ipv6(&ip.header().to_header(), t.payload())
                    .unwrap(),
                _ => panic!("IP"),
            };
            assert_eq!(t.checksum(), sum, "TCP checksum of segment {k}");
            assert_eq!(
                t.sequence_number(),
                ot.sequence_number().wrapping_add(joined.len() as u32),
                "sequence number of segment {k}"
            );
            let last = k + 1 == segs.len();
            assert_eq!(t.psh(), last && flags & PSH != 0, "PSH on segment {k}");
            assert_eq!(t.fin(), last && flags & FIN != 0, "FIN on segment {k}");
            assert_eq!(t.cwr(), k == 0 && flags & CWR != 0, "CWR on segment {k}");
            assert_eq!(t.acknowledgment_number(), ot.acknowledgment_number());
            assert_eq!(&s[..12], &original[..12], "MACs");
            joined.extend_from_slice(t.payload());
        }
        assert_eq!(joined, data, "the segments carry the payload, in order");
    }

    #[test]
    fn ipv4_super_frame_becomes_segments_that_fit() {
        let data = payload(64_000);
        let f = super_frame(false, &data, PSH | CWR);
        let segs = cut(&f, 3840, 1450);
        assert_eq!(segs.len(), 64_000usize.div_ceil(1410));
        check(&segs, &f, &data, PSH | CWR);
    }

    #[test]
    fn ipv6_super_frame_becomes_segments_that_fit() {
        let data = payload(30_001);
        let f = super_frame(true, &data, PSH | FIN);
        let segs = cut(&f, 3840, 1450);
        assert_eq!(segs.len(), 30_001usize.div_ceil(1390));
        check(&segs, &f, &data, PSH | FIN);
    }

    #[test]
    fn chunk_boundaries_anywhere() {
        let data = payload(9_000);
        for chunk in [100, 1_000, 1_453, 3_840] {
            let f = super_frame(false, &data, 0);
            check(&cut(&f, chunk, 1500), &f, &data, 0);
        }
    }

    /// `inner` in VXLAN (VNI 100, UDP port 4789) over IPv4, as the kernel's
    /// vxlan device hands a tunnel GSO super-frame to its underlay.
    fn vxlan(inner: &[u8]) -> Vec<u8> {
        let mut payload = vec![0x08, 0, 0, 0, 0, 0, 100, 0];
        payload.extend_from_slice(inner);
        udp([198, 18, 0, 2], [198, 18, 0, 1], 49_152, 4789, &payload)
    }

    /// A UDP datagram in IPv4 in Ethernet.
    fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        PacketBuilder::ethernet2(MAC_A, MAC_B)
            .ipv4(src, dst, 64)
            .udp(sport, dport)
            .write(&mut f, data)
            .unwrap();
        f
    }

    #[test]
    fn vxlan_super_frame_becomes_vxlan_segments() {
        for v6 in [false, true] {
            let data = payload(50_000);
            let inner = super_frame(v6, &data, PSH);
            let f = vxlan(&inner);
            let parts: Vec<&[u8]> = f.chunks(3840).collect();
            assert_eq!(plan(parts[0], f.len(), 1450), None, "not TCP to plain plan");
            let p = plan_vxlan(parts[0], f.len(), 1450, 4789).expect("a VXLAN TCP super-frame");
            let oid = SlicedPacket::from_ethernet(&f)
                .ok()
                .and_then(|s| match s.net {
                    Some(NetSlice::Ipv4(i)) => Some(i.header().identification()),
                    _ => None,
                })
                .unwrap();
            let mut inners = Vec::new();
            for k in 0..p.count() {
                let mut out = vec![0u8; 4096];
                let n = p.write(&parts, k, &mut out);
                out.truncate(n);
                let s = SlicedPacket::from_ethernet(&out).unwrap();
                let Some(NetSlice::Ipv4(ip)) = &s.net else {
                    panic!("outer IPv4")
                };
                let h = ip.header().to_header();
                assert_eq!(
                    h.header_checksum,
                    h.calc_header_checksum(),
                    "outer checksum {k}"
                );
                assert_eq!(h.identification, oid.wrapping_add(k as u16), "outer id {k}");
                assert_eq!(usize::from(h.total_len), n - HEADER_LEN, "outer length {k}");
                let Some(TransportSlice::Udp(u)) = &s.transport else {
                    panic!("outer UDP")
                };
                assert_eq!(
                    usize::from(u.length()),
                    n - HEADER_LEN - 20,
                    "UDP length {k}"
                );
                assert_eq!(u.checksum(), 0, "UDP checksum {k}");
                assert_eq!(u.destination_port(), 4789);
                // The rest of the outer and VXLAN headers is copied as it was:
                // all but the IPv4 length, id and checksum and the UDP length
                // and checksum.
                let rewritten = |i: &usize| matches!(i, 16..=19 | 24..=25 | 38..=41);
                for i in (0..50).filter(|i| !rewritten(i)) {
                    assert_eq!(out[i], f[i], "byte {i} of segment {k}'s headers");
                }
                let mut seg = out[50..].to_vec();
                assert!(n - 50 - HEADER_LEN <= 1450, "inner packet {k} fits");
                assert!(
                    complete_partial(&mut seg),
                    "inner checksum {k} left partial"
                );
                inners.push(seg);
            }
            check(&inners, &inner, &data, PSH);
        }
    }

    #[test]
    fn vxlan_refuses_what_is_not_ours() {
        let data = payload(9_000);
        let f = vxlan(&super_frame(false, &data, 0));
        assert!(plan_vxlan(&f, f.len(), 1450, 4789).is_some());
        assert_eq!(plan_vxlan(&f, f.len(), 1450, 8472), None, "another port");
        let mut no_vni = f.clone();
        no_vni[42] = 0;
        assert_eq!(
            plan_vxlan(&no_vni, f.len(), 1450, 4789),
            None,
            "VNI flag clear"
        );
        assert_eq!(
            plan_vxlan(&f, f.len() - 1, 1450, 4789),
            None,
            "outer length disagrees"
        );
        let mut frag = f.clone();
        frag[HEADER_LEN + 6] |= 0x20;
        assert_eq!(
            plan_vxlan(&frag, f.len(), 1450, 4789),
            None,
            "outer fragment"
        );
        let u = vxlan(&udp([1, 1, 1, 1], [2, 2, 2, 2], 1, 2, &data));
        assert_eq!(plan_vxlan(&u, u.len(), 1450, 4789), None, "inner UDP");
    }

    #[test]
    fn refuses_what_it_cannot_cut() {
        let data = payload(5_000);
        // UDP: the datagram boundaries are not in the chain.
        let u = udp([1, 1, 1, 1], [2, 2, 2, 2], 1, 2, &data);
        assert_eq!(plan(&u, u.len(), 1450), None, "UDP");
        // An IPv4 fragment.
        let mut frag = super_frame(false, &data, 0);
        frag[HEADER_LEN + 6] |= 0x20;
        assert_eq!(plan(&frag, frag.len(), 1450), None, "fragment");
        // IPv6 with a hop-by-hop header first.
        let mut hbh = super_frame(true, &data, 0);
        hbh[HEADER_LEN + 6] = 0;
        assert_eq!(plan(&hbh, hbh.len(), 1450), None, "extension header");
        // A length field past the frame's end.
        let f = super_frame(false, &data, 0);
        assert_eq!(plan(&f, f.len() - 1, 1450), None, "truncated");
        // An MTU too small for any payload.
        assert_eq!(plan(&f, f.len(), 40), None, "no room");
        // A VLAN tag.
        let mut tagged = f.clone();
        tagged[12..14].copy_from_slice(&0x8100u16.to_be_bytes());
        assert_eq!(plan(&tagged, tagged.len(), 1450), None, "VLAN");
    }
}
