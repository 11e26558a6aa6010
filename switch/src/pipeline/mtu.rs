//! MTU: frames too big for the underlay are never lost silently
//! (DESIGN.md "MTU"). Two tools, both on inner frames:
//!
//! - **MSS clamping** ([`clamp_mss`]). A TCP SYN or SYN-ACK that crosses the
//!   underlay (from an access port toward remote VTEPs, or decapsulated from
//!   the uplink) and carries an MSS option larger than its BD's clamp
//!   ([`Bd::mss`](crate::state::Bd::mss): overlay MTU - 40 by default; 20
//!   less for IPv6) has that option lowered, so neither end ever sends a
//!   segment the overlay cannot carry. Both directions are clamped, so this
//!   works whichever side opens the connection, and whether or not the
//!   switch at the far end clamps too. Frames between two local ports never
//!   cross the underlay and are left alone. A SYN without an MSS option
//!   keeps none (nothing is inserted): its peer then assumes 536 (IPv4) or
//!   1220 (IPv6) (RFC 9293 s3.7.1, RFC 8200 s8.3), which fits any overlay
//!   MTU of at least 576 / 1280.
//!
//!   The TCP checksum is updated incrementally (RFC 1624), at any byte
//!   alignment of the option ([`checksum::update16_at`]). A segment whose
//!   option list is malformed (an option running past the header, a length
//!   below 2, an MSS option of a length other than 4, two MSS options) is
//!   left as it is, and nothing past the TCP header is ever read. IPv4
//!   fragments and IPv6 packets with extension headers before TCP are left
//!   alone too.
//!
//!   Partial checksums (`pipeline::csum`): a sender with TX checksum
//!   offload leaves only the pseudo-header sum in the field, and
//!   `complete_partial` recognises it by that value and completes it.
//!   Patching such a field incrementally would both break the recognition
//!   and leave a wrong sum (the "hardware" sums the new bytes anyway), so a
//!   field that holds the pseudo-header sum is left unchanged: completion,
//!   which runs after the clamp in `worker::forward`, then sums the new
//!   MSS. A complete checksum that happens to equal the pseudo-header sum
//!   (1 in 65,536) is recomputed by the completion just the same, so it
//!   ends correct too. Ordering constraint: clamp first, then complete.
//!
//! - **ICMP too big** ([`reply_for`], [`write_reply`], [`too_big`]). An IPv4
//!   packet with DF, or any IPv6 packet, from an access port that would
//!   exceed the uplink MTU after encapsulation is rewritten, in its own
//!   frame buffer, into an ICMP "fragmentation needed" (type 3 code 4,
//!   next-hop MTU = overlay MTU; RFC 792, RFC 1191) or an ICMPv6 "packet too
//!   big" (type 2, MTU = overlay MTU; RFC 4443 s3.2), which goes back out
//!   of the port it came in on. The reply is built as Linux's bridged vxlan
//!   device builds it (`iptunnel_pmtud_build_icmp{,v6}` in
//!   `net/ipv4/ip_tunnel_core.c`), since that is what containers on a Linux
//!   overlay already see: Ethernet source and destination swapped; IP
//!   source = the original destination address (the switch has no address
//!   in the overlay, and the sender matches the error to its socket by the
//!   quoted packet, not by who sent it); TTL / hop limit copied from the
//!   original; IPv4 TOS 0, ID 0, DF; the original packet quoted from its IP
//!   header on, as much as fits in 576 bytes (IPv4, RFC 1812 s4.3.2.3) or
//!   1280 (IPv6, RFC 4443 s2.4 c). The reply is always shorter than the
//!   frame it replaces.
//!
//!   No reply for: an IPv4 packet without DF (the sender allowed
//!   fragmentation: `pipeline::frag` cuts it into fragments that fit), or
//!   that is a fragment (Linux answers exactly DF: one with DF is dropped);
//!   a packet that is not itself larger than the overlay MTU (a short one
//!   in a padded frame); an error to a source that may not get one or from a
//!   destination that cannot send one (IPv4: destination broadcast or
//!   multicast, source 0/8, loopback, broadcast or multicast; IPv6: source
//!   unspecified, loopback or multicast, destination multicast, where Linux
//!   would send from the multicast address); a frame to a group MAC (the
//!   reply's Ethernet source would be a group address); an ICMP or ICMPv6
//!   error (RFC 1122 s3.2.2, RFC 4443 s2.4 e); an overlay MTU below 576
//!   (IPv4) or 1280 (IPv6), as Linux; and past the rate limit,
//!   [`ICMP_PER_SEC`] replies per second per worker (a token bucket,
//!   [`Counters::icmp_limit`]), as routers limit ICMP errors (RFC 1812
//!   s4.3.2.8, RFC 4443 s2.4 f). A frame that gets no reply and is not
//!   fragmented is dropped as `mtu.too_big`.
//!
//! Pure functions over the frame, the running [`State`] and the worker's
//! [`Counters`] (which also hold the rate-limit bucket, the worker's own).
//! Nothing about the inner headers has been checked before: every view is
//! made with `new_checked` here.

use core::ops::Range;

use super::csum::is_partial;
use crate::state::State;
use crate::stats::{Counters, Drop, Event};
use crate::wire::ethernet::{self, EthernetFrame, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use crate::wire::icmp::{self, IcmpPacket};
use crate::wire::ipv4::{self, Ipv4Packet, Ipv4Repr};
use crate::wire::ipv6::{self, Ipv6Packet, Ipv6Repr};
use crate::wire::tcp::TcpPacket;
use crate::wire::{checksum, is_multicast};

/// ICMP too-big replies one worker sends per second at most.
pub const ICMP_PER_SEC: u32 = 100;
/// How much smaller an IPv6 MSS is than an IPv4 one for the same packet
/// size: the IPv6 header is 20 bytes longer.
pub const IPV6_MSS_LESS: u16 = (ipv6::HEADER_LEN - ipv4::HEADER_LEN) as u16;
/// Largest ICMPv4 error (RFC 1812 s4.3.2.3), and the smallest overlay MTU
/// that gets one (Linux's `iptunnel_pmtud_check_icmp`).
const V4_REPLY_MAX: usize = 576;
/// Largest ICMPv6 error: the IPv6 minimum MTU (RFC 4443 s2.4 c).
const V6_REPLY_MAX: usize = ipv6::MIN_MTU as usize;

const IP: usize = ethernet::HEADER_LEN;

// ---------------------------------------------------------------------------
// MSS clamping.

/// Lowers the MSS option of a TCP SYN (or SYN-ACK) in `frame` to `mss`
/// (IPv4) or `mss - 20` (IPv6) when it is larger; true if it did. Every
/// other frame is left alone: the common case costs a few byte compares.
#[inline]
pub fn clamp_mss(frame: &mut [u8], mss: u16) -> bool {
    if surely_not_syn(frame) {
        return false;
    }
    match find_syn(frame, mss) {
        Some(syn) => clamp_syn(frame, syn),
        None => false,
    }
}

/// True for the frames nearly all traffic is made of, which cannot be a
/// TCP SYN, told by fixed bytes before any parsing: IPv4 without options
/// that is not TCP, or whose TCP flags byte has no SYN; IPv6 whose next
/// header is not TCP, or is TCP with no SYN. A false answer proves
/// nothing: `find_syn` then parses the frame. (If those bytes are not what
/// they seem, a cut-short or fragmented packet, `find_syn` would not clamp
/// it either.)
#[inline]
fn surely_not_syn(frame: &[u8]) -> bool {
    const TCP_SYN: u8 = 0x02;
    const V4_FLAGS: usize = IP + ipv4::HEADER_LEN + 13;
    const V6_FLAGS: usize = IP + ipv6::HEADER_LEN + 13;
    if frame.len() <= V4_FLAGS {
        return false;
    }
    match [frame[12], frame[13]] {
        [0x08, 0x00] if frame[IP] == 0x45 => {
            frame[IP + 9] != ipv4::PROTO_TCP || frame[V4_FLAGS] & TCP_SYN == 0
        }
        [0x86, 0xdd] => {
            frame[IP + 6] != ipv6::NEXT_TCP
                || (frame.len() > V6_FLAGS && frame[V6_FLAGS] & TCP_SYN == 0)
        }
        _ => false,
    }
}

/// A TCP SYN found in a frame.
struct Syn {
    /// The TCP segment's bytes in the frame.
    tcp: Range<usize>,
    /// Its pseudo-header sum (RFC 9293 s3.1), not folded.
    pseudo: u32,
    /// The MSS to clamp to.
    limit: u16,
}

#[inline]
fn find_syn(frame: &[u8], mss: u16) -> Option<Syn> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    match eth.ethertype() {
        ETHERTYPE_IPV4 => {
            let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
            if ip.protocol() != ipv4::PROTO_TCP || ip.is_fragment() {
                return None;
            }
            let tcp = IP + ip.header_len()..IP + usize::from(ip.total_len());
            syn_at(frame, tcp, ip.addrs(), mss)
        }
        ETHERTYPE_IPV6 => {
            let ip = Ipv6Packet::new_checked(eth.payload()).ok()?;
            if ip.next_header() != ipv6::NEXT_TCP {
                return None;
            }
            let tcp = IP + ipv6::HEADER_LEN..IP + ip.total_len();
            syn_at(frame, tcp, ip.addrs(), mss.saturating_sub(IPV6_MSS_LESS))
        }
        _ => None,
    }
}

/// The SYN in `frame[tcp]`, if it is one; `addrs` are the IP source and
/// destination addresses for the pseudo-header.
#[inline]
fn syn_at(frame: &[u8], tcp: Range<usize>, addrs: &[u8], limit: u16) -> Option<Syn> {
    if !TcpPacket::new_checked(&frame[tcp.clone()]).ok()?.syn() {
        return None;
    }
    let len = (tcp.end - tcp.start) as u32;
    let pseudo = checksum::pseudo(addrs, ipv4::PROTO_TCP, len as usize);
    Some(Syn { tcp, pseudo, limit })
}

fn clamp_syn(frame: &mut [u8], syn: Syn) -> bool {
    let Ok(mut tcp) = TcpPacket::new_checked(&mut frame[syn.tcp]) else {
        return false;
    };
    let old = match tcp.mss() {
        Ok(Some(old)) if old > syn.limit => old,
        // No MSS option, small enough already, or a malformed option list.
        _ => return false,
    };
    let Ok(Some(at)) = tcp.set_mss(syn.limit) else {
        return false; // not reached: mss() just walked the same options
    };
    let c = tcp.checksum();
    // A partial checksum stays as it is; `complete_partial` sums the new
    // value (see the module docs).
    if !is_partial(c, syn.pseudo) {
        tcp.set_checksum(checksum::update16_at(c, at, old, syn.limit));
    }
    true
}

// ---------------------------------------------------------------------------
// ICMP too big.

/// A frame that [`reply_for`] found may be answered, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooBig {
    /// ICMP fragmentation needed, next-hop MTU `mtu`.
    V4 { mtu: u16 },
    /// ICMPv6 packet too big, MTU `mtu`.
    V6 { mtu: u16 },
}

/// Whether `frame`, from an access port and too big for the overlay, may
/// be answered with an ICMP too-big (see the module docs for when not).
/// Does not take from the rate limit.
pub fn reply_for(st: &State, frame: &[u8]) -> Option<TooBig> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if is_multicast(&eth.dst()) {
        return None;
    }
    let mtu = st.overlay_mtu();
    match eth.ethertype() {
        ETHERTYPE_IPV4 => {
            let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
            // Exactly DF: Linux answers only `frag_off == htons(IP_DF)`.
            if usize::from(mtu) < V4_REPLY_MAX
                || ip.total_len() <= mtu
                || !ip.dont_frag()
                || ip.is_fragment()
            {
                return None;
            }
            let (src, dst) = (ip.src(), ip.dst());
            if dst.is_broadcast()
                || dst.is_multicast()
                || src.octets()[0] == 0
                || src.is_loopback()
                || src.is_broadcast()
                || src.is_multicast()
            {
                return None;
            }
            if ip.protocol() == ipv4::PROTO_ICMP
                && ip.payload().first().copied().is_none_or(icmp::is_v4_error)
            {
                return None;
            }
            Some(TooBig::V4 { mtu })
        }
        ETHERTYPE_IPV6 => {
            let ip = Ipv6Packet::new_checked(eth.payload()).ok()?;
            if mtu < ipv6::MIN_MTU || ip.total_len() <= usize::from(mtu) {
                return None;
            }
            let (src, dst) = (ip.src(), ip.dst());
            if src.is_unspecified() || src.is_loopback() || src.is_multicast() || dst.is_multicast()
            {
                return None;
            }
            if ip.next_header() == ipv6::NEXT_ICMPV6
                && ip.payload().first().copied().is_none_or(icmp::is_v6_error)
            {
                return None;
            }
            Some(TooBig::V6 { mtu })
        }
        _ => None,
    }
}

/// [`reply_for`], then a token from the worker's rate limit.
#[inline]
pub fn may_reply(st: &State, frame: &[u8], now_secs: u32, ctr: &Counters) -> Option<TooBig> {
    reply_for(st, frame).filter(|_| ctr.icmp_limit.take(now_secs))
}

/// Rewrites the frame in `buf[..*len]`, which [`reply_for`] passed as `r`,
/// into its ICMP reply and sets `*len` to the reply's length; counts
/// `mtu.icmp_sent`. False (nothing written) only if the frame is not one
/// `reply_for` passes: then it would not parse, or its reply would be
/// longer than itself.
pub fn write_reply(r: TooBig, buf: &mut [u8], len: &mut usize, ctr: &Counters) -> bool {
    let Some(frame) = buf.get(..*len) else {
        return false;
    };
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return false;
    };
    let (src_mac, dst_mac) = (eth.src(), eth.dst());
    let n = match r {
        TooBig::V4 { mtu } => {
            let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
                return false;
            };
            let repr = Ipv4Repr {
                src: ip.dst(),
                dst: ip.src(),
                protocol: ipv4::PROTO_ICMP,
                ttl: ip.ttl(),
                tos: 0,
                dont_frag: true,
                total_len: 0,
            };
            let quote =
                usize::from(ip.total_len()).min(V4_REPLY_MAX - ipv4::HEADER_LEN - icmp::HEADER_LEN);
            if IP + ipv4::HEADER_LEN + icmp::HEADER_LEN + quote > *len {
                return false;
            }
            write_v4(buf, repr, quote, mtu)
        }
        TooBig::V6 { mtu } => {
            let Ok(ip) = Ipv6Packet::new_checked(eth.payload()) else {
                return false;
            };
            let repr = Ipv6Repr {
                src: ip.dst(),
                dst: ip.src(),
                next_header: ipv6::NEXT_ICMPV6,
                hop_limit: ip.hop_limit(),
                payload_len: 0,
            };
            let quote = ip
                .total_len()
                .min(V6_REPLY_MAX - ipv6::HEADER_LEN - icmp::HEADER_LEN);
            if IP + ipv6::HEADER_LEN + icmp::HEADER_LEN + quote > *len {
                return false;
            }
            write_v6(buf, repr, quote, mtu)
        }
    };
    let mut eth =
        EthernetFrame::new_checked(&mut buf[..n]).expect("the reply has an Ethernet header");
    eth.set_dst(&src_mac);
    eth.set_src(&dst_mac);
    *len = n;
    ctr.event(Event::IcmpTooBig, 1);
    true
}

/// Writes IPv4 + ICMP fragmentation needed in front of the first `quote`
/// bytes of the original IP packet (moved back to make room); returns the
/// frame's new length, which the caller has checked fits.
fn write_v4(buf: &mut [u8], mut repr: Ipv4Repr, quote: usize, mtu: u16) -> usize {
    let icmp_at = IP + ipv4::HEADER_LEN;
    let quote_at = icmp_at + icmp::HEADER_LEN;
    let n = quote_at + quote;
    buf.copy_within(IP..IP + quote, quote_at);
    repr.total_len = (n - IP) as u16;
    Ipv4Packet::new_unchecked(&mut buf[IP..icmp_at]).emit(&repr);
    let mut icmp = IcmpPacket::new_unchecked(&mut buf[icmp_at..n]);
    icmp.set_msg_type(icmp::V4_DEST_UNREACHABLE);
    icmp.set_code(icmp::V4_CODE_FRAG_NEEDED);
    icmp.set_checksum(0);
    // RFC 1191 s4: 16 unused bits, then the next-hop MTU.
    icmp.set_rest_of_header(u32::from(mtu));
    let c = checksum::checksum(&buf[icmp_at..n]);
    IcmpPacket::new_unchecked(&mut buf[icmp_at..n]).set_checksum(c);
    n
}

/// Writes IPv6 + ICMPv6 packet too big in front of the first `quote` bytes
/// of the original IPv6 packet; returns the frame's new length.
fn write_v6(buf: &mut [u8], mut repr: Ipv6Repr, quote: usize, mtu: u16) -> usize {
    let icmp_at = IP + ipv6::HEADER_LEN;
    let quote_at = icmp_at + icmp::HEADER_LEN;
    let n = quote_at + quote;
    buf.copy_within(IP..IP + quote, quote_at);
    let icmp_len = n - icmp_at;
    repr.payload_len = icmp_len as u16;
    Ipv6Packet::new_unchecked(&mut buf[IP..icmp_at]).emit(&repr);
    let mut icmp = IcmpPacket::new_unchecked(&mut buf[icmp_at..n]);
    icmp.set_msg_type(icmp::V6_PACKET_TOO_BIG);
    icmp.set_code(0);
    icmp.set_checksum(0);
    icmp.set_rest_of_header(u32::from(mtu));
    // RFC 4443 s2.3: the checksum covers the IPv6 pseudo-header too.
    let pseudo = checksum::sum(
        u32::from(ipv6::NEXT_ICMPV6) + icmp_len as u32,
        Ipv6Packet::new_unchecked(&buf[IP..icmp_at]).addrs(),
    );
    let c = checksum::finish(checksum::sum(pseudo, &buf[icmp_at..n]));
    IcmpPacket::new_unchecked(&mut buf[icmp_at..n]).set_checksum(c);
    n
}

/// The frame in `buf[..*len]` came from an access port and is too big for
/// the underlay: rewrites it into its ICMP reply, to go back out of that
/// port, or says why not (`mtu.too_big`: no reply allowed, or over the
/// rate limit).
pub fn too_big(
    st: &State,
    buf: &mut [u8],
    len: &mut usize,
    now_secs: u32,
    ctr: &Counters,
) -> Result<(), Drop> {
    let r = may_reply(st, &buf[..*len], now_secs, ctr).ok_or(Drop::TooBig)?;
    if write_reply(r, buf, len, ctr) {
        Ok(())
    } else {
        Err(Drop::TooBig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::pipeline::csum::complete_partial;
    use crate::state::UplinkInfo;
    use etherparse::icmpv4::DestUnreachableHeader;
    use etherparse::{
        Icmpv4Type, Icmpv6Type, NetSlice, PacketBuilder, SlicedPacket, TcpHeader, TransportSlice,
    };
    use proptest::prelude::*;

    const MAC_A: [u8; 6] = [2, 0, 0, 0, 0x10, 0x0a];
    const MAC_X: [u8; 6] = [2, 0, 0, 0, 0x20, 0x01];
    const A4: [u8; 4] = [198, 19, 100, 10];
    const X4: [u8; 4] = [198, 19, 100, 201];
    const A6: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a];
    const X6: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0x01];

    /// A SYN as Linux sends one, except that the MSS option comes after the
    /// timestamps: Ethernet, IPv4, TCP with 24 bytes of options. The IPv4
    /// and TCP checksums are filled in by [`syn_fixture`].
    #[rustfmt::skip]
    const SYN_V4: [u8; 78] = [
        0x02, 0x00, 0x00, 0x00, 0x20, 0x01,   // Ethernet destination X
        0x02, 0x00, 0x00, 0x00, 0x10, 0x0a,   // Ethernet source A
        0x08, 0x00,                           // IPv4
        0x45, 0x00,                           // version 4, IHL 5; TOS 0
        0x00, 0x40,                           // total length 64
        0x12, 0x34, 0x40, 0x00,               // ident; DF
        0x40, 0x06,                           // TTL 64; TCP
        0x00, 0x00,                           // header checksum (filled in)
        198, 19, 100, 10,                     // source A
        198, 19, 100, 201,                    // destination X
        0x9c, 0x40, 0x00, 0x50,               // ports 40000 -> 80
        0x11, 0x22, 0x33, 0x44,               // sequence number
        0x00, 0x00, 0x00, 0x00,               // acknowledgment number
        0xb0, 0x02,                           // data offset 11 (44 bytes); SYN
        0xfa, 0xf0,                           // window 64240
        0x00, 0x00,                           // checksum (filled in)
        0x00, 0x00,                           // urgent pointer
        0x01, 0x01,                           // NOP, NOP
        0x08, 0x0a, 0x00, 0x01, 0x02, 0x03,   // timestamps: value
        0x00, 0x00, 0x00, 0x00,               //   echo reply
        0x02, 0x04, 0x05, 0xb4,               // MSS 1460
        0x01, 0x03, 0x03, 0x07,               // NOP, window scale 7
        0x04, 0x02, 0x00, 0x00,               // SACK permitted, end of list, pad
    ];
    /// Where the fixture's MSS value and TCP checksum are.
    const SYN_V4_MSS: usize = 14 + 20 + 20 + 14;
    const SYN_V4_CSUM: usize = 14 + 20 + 16;

    fn syn_fixture() -> Vec<u8> {
        let mut f = SYN_V4.to_vec();
        let c = checksum::checksum(&f[14..34]);
        f[24..26].copy_from_slice(&c.to_be_bytes());
        let pseudo = checksum::sum(6 + 44, &f[26..34]);
        let c = checksum::finish(checksum::sum(pseudo, &f[34..]));
        f[SYN_V4_CSUM..SYN_V4_CSUM + 2].copy_from_slice(&c.to_be_bytes());
        f
    }

    /// A TCP segment with `flags` over IPv4, options `opts` (raw bytes),
    /// built by etherparse.
    fn tcp_v4(opts: &[u8], syn: bool, ack: bool, payload: &[u8]) -> Vec<u8> {
        let mut b = PacketBuilder::ethernet2(MAC_A, MAC_X).ipv4(A4, X4, 64).tcp(
            40000,
            80,
            0x1122_3344,
            64240,
        );
        if syn {
            b = b.syn();
        }
        if ack {
            b = b.ack(7);
        }
        let b = b.options_raw(opts).expect("options fit");
        let mut f = Vec::new();
        b.write(&mut f, payload).expect("writing to a Vec");
        f
    }

    fn tcp_v6(opts: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2(MAC_A, MAC_X)
            .ipv6(A6, X6, 64)
            .tcp(40000, 443, 9, 64800)
            .syn()
            .options_raw(opts)
            .expect("options fit");
        let mut f = Vec::new();
        b.write(&mut f, &[]).expect("writing to a Vec");
        f
    }

    /// The TCP header of `f`, and whether its checksum verifies.
    fn tcp_of(f: &[u8]) -> (TcpHeader, bool) {
        let s = SlicedPacket::from_ethernet(f).expect("etherparse parses it");
        let Some(TransportSlice::Tcp(t)) = &s.transport else {
            panic!("not TCP: {s:?}")
        };
        let ok = match &s.net {
            Some(NetSlice::Ipv4(ip)) => {
                let h = ip.header();
                t.calc_checksum_ipv4(h.source(), h.destination()).unwrap() == t.checksum()
            }
            Some(NetSlice::Ipv6(ip)) => {
                let h = ip.header();
                t.calc_checksum_ipv6(h.source(), h.destination()).unwrap() == t.checksum()
            }
            _ => panic!("not IP"),
        };
        (t.to_header(), ok)
    }

    fn mss_of(f: &[u8]) -> Option<u16> {
        let (h, _) = tcp_of(f);
        h.options_iterator().find_map(|o| match o {
            Ok(etherparse::TcpOptionElement::MaximumSegmentSize(m)) => Some(m),
            _ => None,
        })
    }

    /// Clamps `f` to `mss`; asserts the checksum verifies after, and that
    /// nothing but the MSS value and the checksum changed.
    fn clamp(f: &[u8], mss: u16) -> (bool, Vec<u8>) {
        let mut g = f.to_vec();
        let changed = clamp_mss(&mut g, mss);
        assert!(tcp_of(&g).1, "checksum verifies after the clamp");
        let diff: Vec<usize> = (0..f.len()).filter(|&i| f[i] != g[i]).collect();
        assert!(diff.len() <= 4, "changed bytes {diff:?}");
        assert_eq!(changed, !diff.is_empty());
        (changed, g)
    }

    #[test]
    fn fixture_is_what_etherparse_reads() {
        let f = syn_fixture();
        let (h, ok) = tcp_of(&f);
        assert!(ok && h.syn && !h.ack);
        assert_eq!((h.source_port, h.destination_port), (40000, 80));
        assert_eq!(mss_of(&f), Some(1460));
        assert_eq!(&f[SYN_V4_MSS..SYN_V4_MSS + 2], &1460u16.to_be_bytes());
    }

    #[test]
    fn syn_with_options_before_mss_clamped() {
        let f = syn_fixture();
        let (changed, g) = clamp(&f, 1410);
        assert!(changed);
        assert_eq!(mss_of(&g), Some(1410));
        assert_eq!(&g[SYN_V4_MSS..SYN_V4_MSS + 2], &1410u16.to_be_bytes());
        // Every other option is as it was.
        let (before, _) = tcp_of(&f);
        let (after, _) = tcp_of(&g);
        let others = |h: &TcpHeader| -> Vec<_> {
            h.options_iterator()
                .filter(|o| !matches!(o, Ok(etherparse::TcpOptionElement::MaximumSegmentSize(_))))
                .collect()
        };
        assert_eq!(others(&before), others(&after));
    }

    #[test]
    fn syn_ack_clamped_plain_ack_and_data_untouched() {
        let mss = [2, 4, 0x23, 0x28]; // 9000
        let (changed, g) = clamp(&tcp_v4(&mss, true, true, &[]), 1410);
        assert!(changed, "SYN-ACK");
        assert_eq!(mss_of(&g), Some(1410));
        // Not a SYN: an MSS option there is not ours to touch.
        assert!(!clamp(&tcp_v4(&mss, false, true, b"data"), 1410).0);
        assert!(!clamp(&tcp_v4(&mss, false, false, &[]), 1410).0);
    }

    #[test]
    fn small_mss_and_no_mss_untouched() {
        // 1410 and 536: at or below the clamp.
        for opts in [&[2, 4, 0x05, 0x82][..], &[2, 4, 0x02, 0x18]] {
            assert!(!clamp(&tcp_v4(opts, true, false, &[]), 1410).0, "{opts:?}");
        }
        // 1411 is lowered, by one.
        let (changed, g) = clamp(&tcp_v4(&[2, 4, 0x05, 0x83], true, false, &[]), 1410);
        assert!(changed);
        assert_eq!(mss_of(&g), Some(1410));
        // No MSS option: none is inserted.
        let f = tcp_v4(&[1, 1, 4, 2], true, false, &[]);
        assert!(!clamp(&f, 1410).0);
        assert_eq!(mss_of(&f), None);
        assert!(!clamp(&tcp_v4(&[], true, false, &[]), 1410).0);
    }

    #[test]
    fn mss_at_an_odd_offset_keeps_the_checksum_right() {
        // NOP, MSS: the MSS value starts at TCP byte 23.
        let f = tcp_v4(&[1, 2, 4, 0x23, 0x28, 0, 0, 0], true, false, &[]);
        let (changed, g) = clamp(&f, 1410);
        assert!(changed);
        assert_eq!(mss_of(&g), Some(1410));
    }

    #[test]
    fn malformed_options_untouched() {
        for opts in [
            &[2, 3, 0x23, 0x28][..],               // MSS of length 3
            &[2, 4, 0x23, 0x28, 2, 4, 0x23, 0x28], // two MSS options
            &[8, 1, 2, 4, 0x23, 0x28, 0, 0],       // a length below 2 before MSS
            &[2, 4, 0x23, 0x28, 8, 10, 0, 0],      // an option past the header
            &[1, 1, 1, 2],                         // MSS without its length
        ] {
            let mut f = tcp_v4(&[0; 8][..opts.len().div_ceil(4) * 4], true, false, &[]);
            // etherparse will not build these: write them in by hand.
            f[54..54 + opts.len()].copy_from_slice(opts);
            let before = f.clone();
            assert!(!clamp_mss(&mut f, 1410), "{opts:?}");
            assert_eq!(f, before);
        }
    }

    #[test]
    fn ipv6_syn_clamped_to_20_less() {
        let f = tcp_v6(&[2, 4, 0x05, 0xa0, 1, 3, 3, 7]); // 1440
        let (changed, g) = clamp(&f, 1410);
        assert!(changed);
        assert_eq!(mss_of(&g), Some(1390), "1450 - 40 - 20");
        assert!(!clamp(&tcp_v6(&[2, 4, 0x05, 0x6e]), 1410).0, "1390 already");
    }

    #[test]
    fn other_frames_untouched() {
        let mut frames = vec![
            tcp_v4(&[2, 4, 0x23, 0x28], true, false, &[]), // then made a fragment
            vec![0u8; 60],                                 // all zero
            syn_fixture()[..60].to_vec(),                  // options cut off
        ];
        frames[0][20] = 0x20; // MF
        let mut udp = Vec::new();
        PacketBuilder::ethernet2(MAC_A, MAC_X)
            .ipv4(A4, X4, 64)
            .udp(1, 2)
            .write(&mut udp, &[2, 4, 0x23, 0x28, 0x02, 0x02, 0x02])
            .unwrap();
        frames.push(udp);
        for f in frames {
            let mut g = f.clone();
            assert!(!clamp_mss(&mut g, 536));
            assert_eq!(f, g);
        }
    }

    #[test]
    fn the_quick_no_syn_answer_passes_every_syn_on() {
        for syn in [
            syn_fixture(),
            tcp_v4(&[2, 4, 0x23, 0x28], true, false, &[]),
            tcp_v4(&[2, 4, 0x23, 0x28], true, true, &[]),
            tcp_v6(&[2, 4, 0x23, 0x28]),
        ] {
            assert!(!surely_not_syn(&syn), "a SYN must reach find_syn");
            assert!(find_syn(&syn, 536).is_some());
        }
        let ack = tcp_v4(&[], false, true, b"data");
        assert!(surely_not_syn(&ack), "a plain ACK is answered at once");
        let mut udp = Vec::new();
        PacketBuilder::ethernet2(MAC_A, MAC_X)
            .ipv4(A4, X4, 64)
            .udp(1, 2)
            .write(&mut udp, &[0x02; 40])
            .unwrap();
        assert!(surely_not_syn(&udp), "UDP whatever its bytes");
    }

    /// Linux's CHECKSUM_PARTIAL: only the pseudo-header sum in the field.
    fn make_partial(f: &mut [u8]) {
        let pseudo = checksum::fold(checksum::sum(6 + (f.len() - 34) as u32, &f[26..34]));
        f[SYN_V4_CSUM..SYN_V4_CSUM + 2].copy_from_slice(&pseudo.to_be_bytes());
    }

    #[test]
    fn partial_checksum_clamped_then_completed_is_right() {
        for f in [
            syn_fixture(),
            tcp_v4(&[1, 2, 4, 0x23, 0x28, 0, 0, 0], true, true, b"tfo"),
        ] {
            let mut g = f.clone();
            make_partial(&mut g);
            let partial = g[SYN_V4_CSUM..SYN_V4_CSUM + 2].to_vec();
            assert!(clamp_mss(&mut g, 1410));
            assert_eq!(
                &g[SYN_V4_CSUM..SYN_V4_CSUM + 2],
                &partial[..],
                "left partial"
            );
            assert!(complete_partial(&mut g), "still recognised as partial");
            let (h, ok) = tcp_of(&g);
            assert!(ok, "complete and correct");
            assert_eq!(mss_of(&g), Some(1410));
            // The same bytes as clamping the fully checksummed frame.
            let (_, full) = clamp(&f, 1410);
            assert_eq!(g, full);
            assert_eq!(
                h.checksum,
                u16::from_be_bytes([full[SYN_V4_CSUM], full[SYN_V4_CSUM + 1]])
            );
        }
    }

    #[test]
    fn a_full_checksum_equal_to_the_pseudo_header_sum_ends_right() {
        // Find a sequence number whose complete checksum equals the folded
        // pseudo-header sum: the clamp takes it for partial, and the
        // completion that follows recomputes it.
        let base = syn_fixture();
        let pseudo = checksum::fold(checksum::sum(6 + 44, &base[26..34]));
        let f = (0u32..)
            .map(|seq| {
                let mut f = base.clone();
                f[38..42].copy_from_slice(&seq.to_be_bytes());
                f[SYN_V4_CSUM..SYN_V4_CSUM + 2].copy_from_slice(&[0, 0]);
                let c =
                    checksum::finish(checksum::sum(checksum::sum(6 + 44, &f[26..34]), &f[34..]));
                f[SYN_V4_CSUM..SYN_V4_CSUM + 2].copy_from_slice(&c.to_be_bytes());
                f
            })
            .find(|f| u16::from_be_bytes([f[SYN_V4_CSUM], f[SYN_V4_CSUM + 1]]) == pseudo)
            .expect("some sequence number gives it");
        assert!(tcp_of(&f).1);
        let mut g = f.clone();
        assert!(clamp_mss(&mut g, 1410));
        complete_partial(&mut g);
        assert!(tcp_of(&g).1);
        assert_eq!(mss_of(&g), Some(1410));
    }

    proptest! {
        #[test]
        fn clamp_keeps_checksums_right(
            seq: u32, window: u16, mss in 0u16.., limit in 0u16..,
            pre in proptest::collection::vec(prop_oneof![Just(vec![1u8]), Just(vec![4u8, 2]), Just(vec![8u8, 10, 1, 2, 3, 4, 5, 6, 7, 8])], 0..3),
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            partial: bool,
        ) {
            let mut opts: Vec<u8> = pre.concat();
            opts.extend_from_slice(&[2, 4]);
            opts.extend_from_slice(&mss.to_be_bytes());
            opts.resize(opts.len().div_ceil(4) * 4, 0);
            let mut f = tcp_v4(&opts, true, false, &payload);
            f[38..42].copy_from_slice(&seq.to_be_bytes());
            f[48..50].copy_from_slice(&window.to_be_bytes());
            // Fix the checksum for the new bytes, then maybe make it partial.
            f[SYN_V4_CSUM..SYN_V4_CSUM + 2].copy_from_slice(&[0, 0]);
            let l4 = (f.len() - 34) as u32;
            let c = checksum::finish(checksum::sum(checksum::sum(6 + l4, &f[26..34]), &f[34..]));
            f[SYN_V4_CSUM..SYN_V4_CSUM + 2].copy_from_slice(&c.to_be_bytes());
            prop_assert!(tcp_of(&f).1);
            let mut g = f.clone();
            if partial {
                make_partial(&mut g);
            }
            let changed = clamp_mss(&mut g, limit);
            prop_assert_eq!(changed, mss > limit);
            complete_partial(&mut g);
            prop_assert!(tcp_of(&g).1, "checksum wrong after clamp");
            prop_assert_eq!(mss_of(&g), Some(mss.min(limit)));
        }

        #[test]
        fn the_quick_no_syn_answer_never_hides_a_syn(
            b in proptest::collection::vec(any::<u8>(), 0..140),
            et in prop_oneof![Just([8u8, 0]), Just([0x86, 0xdd])],
            v4_plain: bool, tcp: bool,
        ) {
            // Random frames shaped enough to reach every branch: IPv4
            // without options or IPv6, TCP or not, any flags and lengths.
            let mut f = b;
            if f.len() >= 24 {
                f[12..14].copy_from_slice(&et);
                if et == [8, 0] && v4_plain {
                    f[14] = 0x45;
                }
                if tcp {
                    f[if et == [8, 0] { 23 } else { 20 }] = 6;
                }
            }
            if surely_not_syn(&f) {
                prop_assert!(find_syn(&f, 0).is_none());
            }
        }

        #[test]
        fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..120), et in prop_oneof![Just([8u8, 0]), Just([0x86, 0xdd])]) {
            let mut b = b;
            if b.len() >= 14 {
                b[12..14].copy_from_slice(&et);
            }
            let _ = clamp_mss(&mut b, 536);
            let st = state(1500);
            if let Some(r) = reply_for(&st, &b) {
                let mut len = b.len();
                let _ = write_reply(r, &mut b, &mut len, &Counters::default());
            }
            for r in [TooBig::V4 { mtu: 1450 }, TooBig::V6 { mtu: 1450 }] {
                let mut c = b.clone();
                let mut len = c.len();
                let _ = write_reply(r, &mut c, &mut len, &Counters::default());
            }
        }
    }

    // -----------------------------------------------------------------------
    // ICMP too big.

    fn state(uplink_mtu: u16) -> State {
        let text =
            format!("[underlay]\nvtep = \"198.18.0.1\"\nmtu = {uplink_mtu}\n[[vni]]\nid = 100\n");
        let cfg = Config::parse(&text, "t.toml").expect("valid config");
        let uplink = UplinkInfo {
            name: "ul".into(),
            mac: [2, 0, 0, 0, 1, 1],
            ipv4: None,
            mtu: uplink_mtu,
        };
        State::build(&cfg, &uplink, false).expect("buildable state")
    }

    /// A UDP datagram in an IPv4 packet of `ip_len` bytes, DF set.
    fn udp_v4(ip_len: usize) -> Vec<u8> {
        let payload: Vec<u8> = (0..ip_len - 28).map(|i| i as u8).collect();
        let mut f = Vec::new();
        PacketBuilder::ethernet2(MAC_A, MAC_X)
            .ipv4(A4, X4, 61)
            .udp(5000, 6000)
            .write(&mut f, &payload)
            .unwrap();
        f
    }

    fn udp_v6(ip_len: usize) -> Vec<u8> {
        let payload: Vec<u8> = (0..ip_len - 48).map(|i| (i * 7) as u8).collect();
        let mut f = Vec::new();
        PacketBuilder::ethernet2(MAC_A, MAC_X)
            .ipv6(A6, X6, 59)
            .udp(5000, 6000)
            .write(&mut f, &payload)
            .unwrap();
        f
    }

    /// Runs [`too_big`] on a copy of `f` in a frame-sized buffer.
    fn reply(st: &State, f: &[u8], now: u32, ctr: &Counters) -> Result<Vec<u8>, Drop> {
        let mut buf = vec![0xeeu8; 4096];
        buf[..f.len()].copy_from_slice(f);
        let mut len = f.len();
        too_big(st, &mut buf, &mut len, now, ctr)?;
        buf.truncate(len);
        Ok(buf)
    }

    #[test]
    fn ipv4_df_too_big_gets_frag_needed() {
        let st = state(1500);
        let ctr = Counters::default();
        let f = udp_v4(1500);
        let r = reply(&st, &f, 1, &ctr).expect("a reply");
        assert_eq!(r.len(), 14 + 576, "576 bytes of IPv4 (RFC 1812)");
        let s = SlicedPacket::from_ethernet(&r).expect("etherparse parses the reply");
        let Some(etherparse::LinkSlice::Ethernet2(eth)) = &s.link else {
            panic!("Ethernet")
        };
        assert_eq!(
            (eth.source(), eth.destination()),
            (MAC_X, MAC_A),
            "MACs swapped"
        );
        let Some(NetSlice::Ipv4(ip)) = &s.net else {
            panic!("IPv4")
        };
        let h = ip.header().to_header();
        assert_eq!(
            (h.source, h.destination),
            (X4, A4),
            "from the original destination"
        );
        assert_eq!(h.protocol, etherparse::IpNumber::ICMP);
        assert_eq!(h.total_len, 576);
        assert!(h.dont_fragment && !h.more_fragments);
        assert_eq!(h.time_to_live, 61, "TTL copied, as Linux does");
        assert_eq!(h.header_checksum, h.calc_header_checksum());
        let Some(TransportSlice::Icmpv4(icmp)) = &s.transport else {
            panic!("ICMP")
        };
        assert_eq!(
            icmp.icmp_type(),
            Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::FragmentationNeeded {
                next_hop_mtu: 1450
            })
        );
        assert_eq!(
            icmp.checksum(),
            icmp.icmp_type().calc_checksum(icmp.payload())
        );
        assert_eq!(
            icmp.payload(),
            &f[14..14 + 548],
            "the original, from its IP header"
        );
        assert_eq!(ctr.events(Event::IcmpTooBig), 1);
    }

    #[test]
    fn ipv6_too_big_gets_packet_too_big() {
        let st = state(1500);
        let ctr = Counters::default();
        for ip_len in [1451, 1500, 3000] {
            let f = udp_v6(ip_len);
            let r = reply(&st, &f, 1, &ctr).expect("a reply");
            assert_eq!(r.len(), 14 + 1280, "1280 bytes of IPv6 (RFC 4443)");
            let s = SlicedPacket::from_ethernet(&r).expect("etherparse parses the reply");
            let Some(etherparse::LinkSlice::Ethernet2(eth)) = &s.link else {
                panic!("Ethernet")
            };
            assert_eq!((eth.source(), eth.destination()), (MAC_X, MAC_A));
            let Some(NetSlice::Ipv6(ip)) = &s.net else {
                panic!("IPv6")
            };
            let h = ip.header().to_header();
            assert_eq!((h.source, h.destination), (X6, A6));
            assert_eq!(h.next_header, etherparse::IpNumber::IPV6_ICMP);
            assert_eq!(h.payload_length, 1240);
            assert_eq!(h.hop_limit, 59);
            let Some(TransportSlice::Icmpv6(icmp)) = &s.transport else {
                panic!("ICMPv6")
            };
            assert_eq!(icmp.icmp_type(), Icmpv6Type::PacketTooBig { mtu: 1450 });
            assert!(icmp.is_checksum_valid(h.source, h.destination), "checksum");
            assert_eq!(
                icmp.icmp_type()
                    .calc_checksum(h.source, h.destination, icmp.payload())
                    .unwrap(),
                icmp.checksum()
            );
            assert_eq!(icmp.payload(), &f[14..14 + 1232]);
        }
        assert_eq!(ctr.events(Event::IcmpTooBig), 3);
    }

    #[test]
    fn quote_is_the_whole_packet_when_it_fits() {
        // Overlay MTU 576 (uplink 626): a 577-byte packet is quoted whole up
        // to 548 bytes, as for any other size.
        let st = state(626);
        let f = udp_v4(577);
        let r = reply(&st, &f, 1, &Counters::default()).expect("a reply");
        assert_eq!(r.len(), 14 + 576);
        assert_eq!(&r[42..], &f[14..14 + 548]);
        assert_eq!(&r[40..42], &576u16.to_be_bytes(), "next-hop MTU");
    }

    #[test]
    fn no_reply_where_none_may_go() {
        let st = state(1500);
        let ctr = Counters::default();
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut v = udp_v4(1500);
            f(&mut v);
            v
        };
        let set_ip = |v: &mut Vec<u8>, at: usize, b: &[u8]| {
            v[14 + at..14 + at + b.len()].copy_from_slice(b);
        };
        let icmp_v4 = |t: u8| {
            let mut f = Vec::new();
            PacketBuilder::ethernet2(MAC_A, MAC_X)
                .ipv4(A4, X4, 64)
                .icmpv4_raw(t, 0, [0; 4])
                .write(&mut f, &[0u8; 1472])
                .unwrap();
            f
        };
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("no DF", with(&|v| set_ip(v, 6, &[0, 0]))),
            ("a first fragment", with(&|v| set_ip(v, 6, &[0x60, 0]))),
            ("a later fragment", with(&|v| set_ip(v, 6, &[0x40, 0x10]))),
            (
                "to broadcast",
                with(&|v| set_ip(v, 16, &[255, 255, 255, 255])),
            ),
            ("to multicast", with(&|v| set_ip(v, 16, &[239, 1, 1, 1]))),
            ("from 0/8", with(&|v| set_ip(v, 12, &[0, 1, 2, 3]))),
            ("from loopback", with(&|v| set_ip(v, 12, &[127, 0, 0, 1]))),
            ("from multicast", with(&|v| set_ip(v, 12, &[224, 0, 0, 1]))),
            ("to a group MAC", with(&|v| v[0] = 0x01)),
            ("padding, not a big packet", {
                let mut v = udp_v4(1450);
                v.extend_from_slice(&[0; 50]);
                v
            }),
            ("an ICMP error", icmp_v4(3)),
            ("an ICMP time exceeded", icmp_v4(11)),
            ("ARP", with(&|v| v[12..14].copy_from_slice(&[8, 6]))),
            ("truncated IPv4", udp_v4(1500)[..30].to_vec()),
        ];
        for (name, f) in &cases {
            assert_eq!(reply_for(&st, f), None, "{name}");
            assert_eq!(reply(&st, f, 1, &ctr), Err(Drop::TooBig), "{name}");
        }
        // An ICMP echo is answered.
        assert!(reply(&st, &icmp_v4(8), 1, &ctr).is_ok());
        // Overlay MTU below 576 (IPv4) or 1280 (IPv6): no reply, as Linux.
        assert_eq!(reply_for(&state(625), &udp_v4(1500)), None);
        assert_eq!(reply_for(&state(1329), &udp_v6(1500)), None);
        assert!(reply_for(&state(1330), &udp_v6(1500)).is_some());
        // IPv6 from or to where no error may go, or an ICMPv6 error.
        let v6 = |at: usize, b: &[u8]| {
            let mut v = udp_v6(1500);
            v[14 + at..14 + at + b.len()].copy_from_slice(b);
            v
        };
        let mut ptb = Vec::new();
        PacketBuilder::ethernet2(MAC_A, MAC_X)
            .ipv6(A6, X6, 64)
            .icmpv6(Icmpv6Type::PacketTooBig { mtu: 9000 })
            .write(&mut ptb, &[0; 1452])
            .unwrap();
        for (name, f) in [
            ("from ::", v6(8, &[0; 16])),
            ("from ::1", v6(8, &std::net::Ipv6Addr::LOCALHOST.octets())),
            (
                "from multicast",
                v6(8, &[0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            ),
            (
                "to multicast",
                v6(24, &[0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            ),
            ("an ICMPv6 error", ptb),
            ("padding only", {
                let mut v = udp_v6(1450);
                v.extend_from_slice(&[0; 80]);
                v
            }),
        ] {
            assert_eq!(reply_for(&st, &f), None, "{name}");
        }
        assert_eq!(ctr.events(Event::IcmpTooBig), 1, "the echo only");
    }

    #[test]
    fn write_reply_refuses_frames_reply_for_would_not_pass() {
        let ctr = Counters::default();
        // A short packet: its reply would be longer than itself.
        let mut f = udp_v4(100);
        let mut len = f.len();
        assert!(!write_reply(
            TooBig::V4 { mtu: 1450 },
            &mut f,
            &mut len,
            &ctr
        ));
        assert_eq!(len, 114);
        // Not IPv6.
        let mut f = udp_v4(1500);
        let mut len = f.len();
        assert!(!write_reply(
            TooBig::V6 { mtu: 1450 },
            &mut f,
            &mut len,
            &ctr
        ));
        // `len` beyond the buffer.
        let mut len = 5000;
        assert!(!write_reply(
            TooBig::V4 { mtu: 1450 },
            &mut f,
            &mut len,
            &ctr
        ));
        assert_eq!(ctr.events(Event::IcmpTooBig), 0);
    }

    #[test]
    fn rate_limited_per_worker_per_second() {
        let st = state(1500);
        let ctr = Counters::default();
        let f = udp_v4(1500);
        let sent = (0..150).filter(|_| reply(&st, &f, 7, &ctr).is_ok()).count();
        assert_eq!(sent, ICMP_PER_SEC as usize);
        assert_eq!(reply(&st, &f, 7, &ctr), Err(Drop::TooBig), "over the limit");
        assert!(reply(&st, &f, 8, &ctr).is_ok(), "the next second");
        // Frames that get no reply take no token.
        let other = Counters::default();
        let mut no_df = f.clone();
        no_df[20] = 0;
        for _ in 0..500 {
            assert_eq!(reply(&st, &no_df, 1, &other), Err(Drop::TooBig));
        }
        assert!(reply(&st, &f, 1, &other).is_ok());
    }
}
