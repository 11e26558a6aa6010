//! Completes partial TCP and UDP checksums, so containers keep their default
//! offloads.
//!
//! A veth peer with TX checksum offload on hands its frames over with
//! CHECKSUM_PARTIAL: the L4 checksum field holds only the folded pseudo-header
//! sum and the rest is left for "hardware". AF_XDP copies the bytes and
//! drops that metadata, so nothing downstream would ever finish the sum. This
//! stage recognises such a field, cheaply, by its value: it equals the folded
//! pseudo-header sum (addresses, protocol, L4 length), which a sender can
//! only have written as a partial checksum. Then it computes the full
//! checksum over the segment.
//!
//! Residual risk: a frame whose complete, correct checksum happens to equal
//! its pseudo-header sum (about 1 in 65,536 frames) is also recomputed.
//! Recomputing a correct checksum yields the same value, so such a frame is
//! not changed: the cost is the extra sum, never a wrong byte. A frame that
//! arrives with a wrong checksum that is not the pseudo-header sum is left
//! wrong, for the receiver to drop, as a switch should.
//!
//! Runs on every frame from an access port and on every decapsulated frame.
//! Covers IPv4 (not fragments) and IPv6 (TCP or UDP right after the fixed
//! header), untagged.

use crate::wire::checksum;
use crate::wire::ethernet::{ETHERTYPE_IPV4, ETHERTYPE_IPV6, HEADER_LEN};

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;

/// Whether an L4 checksum field holding `stored` is partial, for a segment
/// whose pseudo-header sum (addresses, protocol, L4 length) is `pseudo`:
/// the test [`complete_partial`] makes, shared with the MSS clamp
/// (`pipeline::mtu`), which must leave a partial field as it is.
#[inline]
pub fn is_partial(stored: u16, pseudo: u32) -> bool {
    stored == checksum::fold(pseudo)
}

/// Completes `frame`'s L4 checksum if it is partial; true if it was.
///
/// Runs on every frame the switch forwards, so the common case, IPv4
/// without options, is read from fixed offsets after one length check;
/// IPv6 and IPv4 with options go to [`complete_other`]. Measured
/// (`cargo bench -p bench --bench pipeline -- path_core`): see the README.
#[inline(always)]
pub fn complete_partial(frame: &mut [u8]) -> bool {
    const IP: usize = HEADER_LEN;
    let Some(h) = frame.first_chunk::<{ HEADER_LEN + 20 }>() else {
        return false;
    };
    if u16::from_be_bytes([h[12], h[13]]) != ETHERTYPE_IPV4 || h[IP] != 0x45 {
        return complete_other(frame);
    }
    let total = usize::from(u16::from_be_bytes([h[IP + 2], h[IP + 3]]));
    let frag = u16::from_be_bytes([h[IP + 6], h[IP + 7]]) & 0x3fff;
    if total < 20 || IP + total > frame.len() || frag != 0 {
        return false;
    }
    let proto = h[IP + 9];
    let l4_len = total - 20;
    let addrs = h[IP + 12..IP + 20].try_into().expect("8 bytes");
    let pseudo = checksum::pseudo_v4(addrs, proto, l4_len);
    finish_l4(frame, proto, IP + 20, l4_len, pseudo)
}

/// [`complete_partial`] for everything but IPv4 without options.
#[inline(never)]
fn complete_other(frame: &mut [u8]) -> bool {
    let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    let ip = HEADER_LEN;
    let (proto, l4_start, l4_len, pseudo) = match ethertype {
        ETHERTYPE_IPV4 => {
            if frame[ip] >> 4 != 4 {
                return false;
            }
            let ihl = usize::from(frame[ip] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([frame[ip + 2], frame[ip + 3]]));
            let frag = u16::from_be_bytes([frame[ip + 6], frame[ip + 7]]) & 0x3fff;
            if ihl < 20 || total < ihl || ip + total > frame.len() || frag != 0 {
                return false;
            }
            let proto = frame[ip + 9];
            let l4_len = total - ihl;
            let addrs = frame[ip + 12..ip + 20].try_into().expect("8 bytes");
            (
                proto,
                ip + ihl,
                l4_len,
                checksum::pseudo_v4(addrs, proto, l4_len),
            )
        }
        ETHERTYPE_IPV6 => {
            if frame.len() < ip + 40 || frame[ip] >> 4 != 6 {
                return false;
            }
            let l4_len = usize::from(u16::from_be_bytes([frame[ip + 4], frame[ip + 5]]));
            if ip + 40 + l4_len > frame.len() {
                return false;
            }
            let proto = frame[ip + 6];
            let pseudo = checksum::pseudo(&frame[ip + 8..ip + 40], proto, l4_len);
            (proto, ip + 40, l4_len, pseudo)
        }
        _ => return false,
    };
    finish_l4(frame, proto, l4_start, l4_len, pseudo)
}

/// The shared end of [`complete_partial`]: the TCP or UDP segment at
/// `l4_start`, `l4_len` bytes long (inside `frame`), with pseudo-header
/// sum `pseudo`, has its checksum completed if the field is partial.
#[inline(always)]
fn finish_l4(frame: &mut [u8], proto: u8, l4_start: usize, l4_len: usize, pseudo: u32) -> bool {
    let at = match proto {
        PROTO_TCP if l4_len >= 20 => l4_start + 16,
        PROTO_UDP if l4_len >= 8 => l4_start + 6,
        _ => return false,
    };
    let stored = u16::from_be_bytes([frame[at], frame[at + 1]]);
    // UDP over IPv4 may carry no checksum at all (0): nothing to complete.
    if !is_partial(stored, pseudo) || (proto == PROTO_UDP && stored == 0) {
        return false;
    }
    complete(frame, proto, l4_start, l4_len, at, pseudo);
    true
}

/// Writes the full checksum of the segment whose field at `at` is partial.
/// Out of line: the sum over the segment dwarfs a call.
#[inline(never)]
fn complete(frame: &mut [u8], proto: u8, l4_start: usize, l4_len: usize, at: usize, pseudo: u32) {
    frame[at] = 0;
    frame[at + 1] = 0;
    let mut c = checksum::finish(checksum::sum(pseudo, &frame[l4_start..l4_start + l4_len]));
    if proto == PROTO_UDP && c == 0 {
        c = 0xffff; // RFC 768: a computed zero is sent as all ones
    }
    frame[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{PacketBuilder, SlicedPacket, TransportSlice};
    use proptest::prelude::*;

    fn tcp_v4(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([198, 19, 100, 1], [198, 19, 100, 2], 64)
            .tcp(40000, 5201, 7, 64240);
        let mut f = Vec::new();
        b.write(&mut f, payload).unwrap();
        f
    }

    fn udp_v6(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv6([0xfd; 16], [0xfe; 16], 64)
            .udp(40000, 5201);
        let mut f = Vec::new();
        b.write(&mut f, payload).unwrap();
        f
    }

    /// Makes `f`'s L4 checksum partial the way Linux does for CHECKSUM_PARTIAL:
    /// the folded pseudo-header sum, not complemented.
    fn make_partial(f: &mut [u8], at: usize, pseudo_fold: u16) {
        f[at..at + 2].copy_from_slice(&pseudo_fold.to_be_bytes());
    }

    fn pseudo_v4(f: &[u8], proto: u8) -> u16 {
        let total = usize::from(u16::from_be_bytes([f[16], f[17]]));
        checksum::fold(checksum::sum(
            u32::from(proto) + (total - 20) as u32,
            &f[26..34],
        ))
    }

    #[test]
    fn partial_tcp_over_ipv4_completed_to_what_etherparse_computes() {
        let good = tcp_v4(b"hello, overlay");
        let mut f = good.clone();
        let p = pseudo_v4(&f, PROTO_TCP);
        make_partial(&mut f, 14 + 20 + 16, p);
        assert_ne!(f, good);
        assert!(complete_partial(&mut f));
        assert_eq!(f, good, "completed frame equals the fully checksummed one");
        // A complete frame is left alone.
        assert!(!complete_partial(&mut f));
        assert_eq!(f, good);
    }

    #[test]
    fn partial_tcp_over_ipv4_with_options_completed() {
        // The frame from `tcp_v4` with four bytes of IPv4 options (three
        // no-ops, end of list): the path that does not read fixed offsets.
        let plain = tcp_v4(b"options ahead");
        let mut good = plain[..34].to_vec();
        good.extend_from_slice(&[1, 1, 1, 0]);
        good.extend_from_slice(&plain[34..]);
        good[14] = 0x46;
        let total = u16::from_be_bytes([good[16], good[17]]) + 4;
        good[16..18].copy_from_slice(&total.to_be_bytes());
        good[24..26].copy_from_slice(&[0, 0]);
        let c = checksum::checksum(&good[14..38]);
        good[24..26].copy_from_slice(&c.to_be_bytes());
        let parsed = SlicedPacket::from_ethernet(&good).unwrap();
        assert!(matches!(parsed.transport, Some(TransportSlice::Tcp(_))));

        let mut f = good.clone();
        let p = checksum::fold(checksum::sum(
            u32::from(PROTO_TCP) + u32::from(total - 24),
            &f[26..34],
        ));
        make_partial(&mut f, 14 + 24 + 16, p);
        assert_ne!(f, good);
        assert!(complete_partial(&mut f));
        assert_eq!(f, good);
    }

    #[test]
    fn partial_udp_over_ipv6_completed() {
        let good = udp_v6(&[7u8; 333]);
        let mut f = good.clone();
        let l4_len = good.len() - 54;
        let p = checksum::fold(checksum::sum(
            u32::from(PROTO_UDP) + l4_len as u32,
            &good[22..54],
        ));
        make_partial(&mut f, 54 + 6, p);
        assert!(complete_partial(&mut f));
        assert_eq!(f, good);
        let s = SlicedPacket::from_ethernet(&f).unwrap();
        let Some(TransportSlice::Udp(u)) = s.transport else {
            panic!("udp")
        };
        assert_eq!(u.checksum(), u16::from_be_bytes([good[60], good[61]]));
    }

    #[test]
    fn partial_udp_over_ipv4_and_tcp_over_ipv6_completed() {
        let mut udp4 = Vec::new();
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([198, 19, 100, 1], [198, 19, 100, 2], 64)
            .udp(40000, 53)
            .write(&mut udp4, &[9u8; 77])
            .unwrap();
        let good = udp4.clone();
        let p = pseudo_v4(&udp4, PROTO_UDP);
        make_partial(&mut udp4, 14 + 20 + 6, p);
        assert!(complete_partial(&mut udp4));
        assert_eq!(udp4, good);

        let mut tcp6 = Vec::new();
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv6([0xfd; 16], [0xfe; 16], 64)
            .tcp(40000, 443, 1, 1000)
            .write(&mut tcp6, &[3u8; 1000])
            .unwrap();
        let good = tcp6.clone();
        let l4_len = tcp6.len() - 54;
        let p = checksum::fold(checksum::sum(
            u32::from(PROTO_TCP) + l4_len as u32,
            &tcp6[22..54],
        ));
        make_partial(&mut tcp6, 54 + 16, p);
        assert!(complete_partial(&mut tcp6));
        assert_eq!(tcp6, good);
        // etherparse agrees the completed checksum is the right one.
        let s = SlicedPacket::from_ethernet(&tcp6).unwrap();
        let Some(TransportSlice::Tcp(t)) = s.transport else {
            panic!("tcp")
        };
        let Some(etherparse::NetSlice::Ipv6(ip)) = s.net else {
            panic!("ipv6")
        };
        let h = ip.header();
        assert_eq!(
            t.calc_checksum_ipv6(h.source(), h.destination()).unwrap(),
            t.checksum()
        );
    }

    #[test]
    fn fragments_and_udp_without_checksum_untouched() {
        // A fragment (offset set) with a partial-looking field: left alone,
        // its L4 header is not in this frame's reach to complete.
        let mut f = tcp_v4(&[1u8; 40]);
        f[20..22].copy_from_slice(&0x0010u16.to_be_bytes());
        let p = pseudo_v4(&f, PROTO_TCP);
        make_partial(&mut f, 14 + 20 + 16, p);
        let snapshot = f.clone();
        assert!(!complete_partial(&mut f));
        assert_eq!(f, snapshot);

        // UDP over IPv4 with checksum 0 (none, RFC 768): left as it is.
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([0, 0, 0, 0], [0, 0, 0, 0], 64)
            .udp(0, 0);
        let mut u = Vec::new();
        b.write(&mut u, &[]).unwrap();
        u[40..42].copy_from_slice(&[0, 0]);
        let snapshot = u.clone();
        assert!(!complete_partial(&mut u));
        assert_eq!(u, snapshot);
    }

    proptest! {
        #[test]
        fn completing_is_idempotent_and_never_corrupts(payload in proptest::collection::vec(any::<u8>(), 0..1400), cut in 0usize..80) {
            let good = tcp_v4(&payload);
            let mut f = good.clone();
            let p = pseudo_v4(&f, PROTO_TCP);
            make_partial(&mut f, 14 + 20 + 16, p);
            complete_partial(&mut f);
            prop_assert_eq!(&f, &good);
            // Truncated frames never panic.
            let mut t = good.clone();
            t.truncate(cut.min(t.len()));
            let _ = complete_partial(&mut t);
        }
    }
}
