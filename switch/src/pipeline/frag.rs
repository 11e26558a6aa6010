//! IPv4 fragmentation of inner packets too big for the overlay (RFC 791
//! s2.3, s3.2 "Fragmentation"), as a router on the path would do it.
//!
//! Runs in the encap direction only (`worker::to_vtep`), on an inner frame
//! from an access port that encapsulation found too big for the uplink. The
//! VXLAN packet itself is never fragmented (RFC 7348 s4.3: its outer header
//! keeps DF): the inner IPv4 packet is cut into fragments whose IP packets
//! each fit the overlay MTU ([`State::overlay_mtu`]), and each fragment is
//! encapsulated on its own, toward the same VTEP with the flow hash of the
//! original, so all take one underlay path and one outer source port and do
//! not reorder against each other.
//!
//! Only an IPv4 packet without DF is fragmented (with DF, `pipeline::mtu`
//! sends an ICMP frag-needed instead; IPv6 routers never fragment, RFC 8200
//! s5). The packet may itself be a fragment: the pieces' offsets are added
//! to its offset and the last piece keeps its MF. Each fragment gets:
//!
//! - the Ethernet header, copied;
//! - the IP header, copied, with options: the first fragment keeps all of
//!   them; the others only those with the copied flag (RFC 791 s3.1), the
//!   rest overwritten with NOPs as Linux does (`ip_options_fragment`), so
//!   every fragment's header is as long as the original's;
//! - a payload of a multiple of 8 bytes (the largest that fits, except the
//!   last), MF on all but the last, the offset in 8-byte units;
//! - total length and header checksum recomputed; identification, TOS and
//!   TTL kept (the switch is not a hop: it does not decrement TTL).
//!
//! Refused (the frame stays `mtu.too_big`): DF set; not IPv4 straight after
//! the Ethernet header; a packet that is not itself larger than the overlay
//! MTU (a short packet in a long frame); an option list that does not parse
//! (an option running past the header, a length below 2); more than
//! [`MAX_FRAGMENTS`] fragments (not reached: frames hold at most 3,840
//! bytes and the overlay MTU is at least 526); an offset past the 13-bit
//! field. The L4 checksum covers the whole datagram, so a partial one
//! (`pipeline::csum`) must be completed before fragmenting, as
//! `worker::forward` does for every frame it passes on.
//!
//! [`plan`] reads the frame once and says how to cut it; [`Plan::write`]
//! writes fragment k (k >= 1) into a fresh frame from the untouched
//! original, and [`Plan::first`] then turns the original into fragment 0 in
//! place (it only shrinks: no byte of payload moves). Pure functions over
//! frame bytes: the worker owns the frames.

use crate::state::State;
use crate::wire::ethernet::{self, ETHERTYPE_IPV4};
use crate::wire::ipv4::{self, Ipv4Packet};
use crate::wire::{be16, set_be16};

/// Most fragments one packet is cut into: a stack array of frames in the
/// worker, never a heap allocation. Frames hold at most 3,840 bytes and the
/// uplink MTU is at least 576 (overlay 526: 504 bytes of payload per
/// fragment), so 8 always suffice.
pub const MAX_FRAGMENTS: usize = 8;

const IP: usize = ethernet::HEADER_LEN;
/// Offsets within the IPv4 header (`wire::ipv4` keeps its own private).
const TOTAL_LEN: usize = 2;
const FLAGS_FRAG: usize = 6;
const FLAG_DF: u16 = ipv4::FLAG_DF;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;
/// RFC 791 s3.1: option type bit 0 (the high bit) says "copied into all
/// fragments".
const OPT_COPIED: u8 = 0x80;
const OPT_EOL: u8 = 0;
const OPT_NOP: u8 = 1;

/// How one frame is cut: everything [`Plan::write`] and [`Plan::first`]
/// need, read from the original once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// IPv4 header length, options included.
    ihl: usize,
    /// Payload bytes of the original packet.
    payload_len: usize,
    /// Payload bytes in every fragment but the last: a multiple of 8.
    per: usize,
    /// Fragments.
    count: usize,
    /// The original's flags-and-offset word: its offset is added to, its
    /// MF kept on the last piece, its reserved bit kept on all.
    flags_frag: u16,
}

/// Whether [`plan`] would cut `frame` for `st`'s overlay MTU.
#[inline]
pub fn may_fragment(st: &State, frame: &[u8]) -> bool {
    plan(frame, st.overlay_mtu()).is_some()
}

/// How to cut the inner frame `frame` so that each fragment's IP packet is
/// at most `mtu` bytes, or `None` when it may not or need not be (see the
/// module docs).
pub fn plan(frame: &[u8], mtu: u16) -> Option<Plan> {
    if frame.len() < IP || be16(frame, 12) != ETHERTYPE_IPV4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(&frame[IP..]).ok()?;
    let total = usize::from(ip.total_len());
    let mtu = usize::from(mtu);
    if ip.dont_frag() || total <= mtu {
        return None;
    }
    let ihl = ip.header_len();
    let per = mtu.checked_sub(ihl)? & !7;
    if per == 0 || !options_parse(&frame[IP + ipv4::HEADER_LEN..IP + ihl]) {
        return None;
    }
    let payload_len = total - ihl;
    let count = payload_len.div_ceil(per);
    let flags_frag = be16(frame, IP + FLAGS_FRAG);
    let last_offset = usize::from(flags_frag & OFFSET_MASK) + (count - 1) * per / 8;
    if count > MAX_FRAGMENTS || last_offset > usize::from(OFFSET_MASK) {
        return None;
    }
    Some(Plan {
        ihl,
        payload_len,
        per,
        count,
        flags_frag,
    })
}

impl Plan {
    /// How many fragments: at least 2.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Payload bytes in every fragment but the last.
    pub fn per_fragment(&self) -> usize {
        self.per
    }

    /// Writes fragment `k` (1 <= k < count) of the original frame `src`
    /// into `dst` (a whole frame buffer, at least as long as `src`: the
    /// backends' frames are all one size); returns its frame length.
    pub fn write(&self, k: usize, src: &[u8], dst: &mut [u8]) -> usize {
        debug_assert!(k >= 1 && k < self.count);
        let hdr = IP + self.ihl;
        let start = hdr + k * self.per;
        let len = self.per.min(self.payload_len - k * self.per);
        dst[..hdr].copy_from_slice(&src[..hdr]);
        dst[hdr..hdr + len].copy_from_slice(&src[start..start + len]);
        nop_uncopied(&mut dst[IP + ipv4::HEADER_LEN..hdr]);
        self.finish(&mut dst[IP..hdr], k, len);
        hdr + len
    }

    /// Turns the original frame in `buf` into fragment 0, in place; returns
    /// its frame length. Call after every [`Plan::write`]: they read the
    /// original's header, which this rewrites.
    pub fn first(&self, buf: &mut [u8]) -> usize {
        let hdr = IP + self.ihl;
        self.finish(&mut buf[IP..hdr], 0, self.per);
        hdr + self.per
    }

    /// Sets the length, flags, offset and checksum of fragment `k`'s IP
    /// header `h`, which carries `len` bytes of payload.
    fn finish(&self, h: &mut [u8], k: usize, len: usize) {
        let last = k + 1 == self.count;
        let more = if last {
            self.flags_frag & FLAG_MF
        } else {
            FLAG_MF
        };
        // `plan` checked that the last offset fits the field.
        let offset = (self.flags_frag & OFFSET_MASK) + (k * self.per / 8) as u16;
        let keep = self.flags_frag & !(FLAG_DF | FLAG_MF | OFFSET_MASK);
        set_be16(h, TOTAL_LEN, (self.ihl + len) as u16);
        set_be16(h, FLAGS_FRAG, keep | more | offset);
        ipv4::fill_checksum(h);
    }
}

/// Whether the option bytes `opts` (after the fixed header, up to IHL)
/// parse: every option but EOL and NOP has a length of at least 2 that
/// stays within them. After EOL, the rest is padding.
fn options_parse(opts: &[u8]) -> bool {
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            OPT_EOL => return true,
            OPT_NOP => i += 1,
            _ => match opts.get(i + 1) {
                Some(&l) if l >= 2 && i + usize::from(l) <= opts.len() => i += usize::from(l),
                _ => return false,
            },
        }
    }
    true
}

/// Overwrites with NOPs the options of `opts` that are not to be copied
/// into later fragments. `opts` parsed ([`options_parse`]).
fn nop_uncopied(opts: &mut [u8]) {
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            OPT_EOL => return,
            OPT_NOP => i += 1,
            t => {
                let l = usize::from(opts[i + 1]);
                if t & OPT_COPIED == 0 {
                    opts[i..i + l].fill(OPT_NOP);
                }
                i += l;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::checksum;
    use etherparse::{Ipv4Header, Ipv4Options, PacketBuilder, SlicedPacket};
    use proptest::prelude::*;

    const MAC_A: [u8; 6] = [2, 0, 0, 0, 0x10, 0x0a];
    const MAC_X: [u8; 6] = [2, 0, 0, 0, 0x20, 0x01];
    const FRAME: usize = 3840;

    /// A UDP datagram in an IPv4 packet of `ip_len` bytes, without DF,
    /// identification 0x4242, with `options` (a multiple of 4 bytes).
    fn udp_v4(ip_len: usize, options: &[u8]) -> Vec<u8> {
        let mut h = Ipv4Header::new(
            0,
            61,
            etherparse::IpNumber::UDP,
            [198, 19, 100, 10],
            [198, 19, 100, 201],
        )
        .expect("a valid header");
        h.options = Ipv4Options::try_from(options).expect("options fit");
        h.dont_fragment = false;
        h.identification = 0x4242;
        let payload: Vec<u8> = (0..ip_len - h.header_len() - 8)
            .map(|i| (i * 7 + i / 251) as u8)
            .collect();
        let mut f = Vec::new();
        PacketBuilder::ethernet2(MAC_A, MAC_X)
            .ip(etherparse::IpHeaders::Ipv4(h, Default::default()))
            .udp(5000, 6000)
            .write(&mut f, &payload)
            .expect("writing to a Vec");
        assert_eq!(f.len(), 14 + ip_len);
        f
    }

    /// Cuts `f` as the worker does: the later fragments into fresh frames
    /// first, then the original into the first. Returns the fragments.
    fn cut(f: &[u8], mtu: u16) -> Option<Vec<Vec<u8>>> {
        let p = plan(f, mtu)?;
        let mut buf = vec![0xeeu8; FRAME];
        buf[..f.len()].copy_from_slice(f);
        let mut later = Vec::new();
        for k in 1..p.count() {
            let mut dst = vec![0xddu8; FRAME];
            let n = p.write(k, &buf[..f.len()], &mut dst);
            dst.truncate(n);
            later.push(dst);
        }
        let n = p.first(&mut buf);
        buf.truncate(n);
        let mut all = vec![buf];
        all.extend(later);
        Some(all)
    }

    /// A fragment's IPv4 header as etherparse reads it, after checking the
    /// Ethernet header and the checksum; and its payload.
    fn parts(frag: &[u8], orig: &[u8]) -> (Ipv4Header, Vec<u8>) {
        assert_eq!(&frag[..14], &orig[..14], "Ethernet header copied");
        let s = SlicedPacket::from_ethernet(frag).expect("etherparse parses a fragment");
        let Some(etherparse::NetSlice::Ipv4(ip)) = &s.net else {
            panic!("not IPv4")
        };
        let h = ip.header().to_header();
        assert_eq!(h.header_checksum, h.calc_header_checksum(), "checksum");
        assert_eq!(usize::from(h.total_len), frag.len() - 14, "total length");
        (h, ip.payload().payload.to_vec())
    }

    /// Reassembles by hand (etherparse has none): checks that the pieces
    /// tile the original's payload from its offset on, and returns it.
    fn reassemble(frags: &[Vec<u8>], orig: &[u8]) -> Vec<u8> {
        let (oh, _) = Ipv4Header::from_slice(&orig[14..]).expect("original parses");
        let base = usize::from(oh.fragment_offset.value()) * 8;
        let mut data = Vec::new();
        for (i, f) in frags.iter().enumerate() {
            let (h, payload) = parts(f, orig);
            let last = i + 1 == frags.len();
            assert_eq!(h.identification, oh.identification, "same identification");
            assert_eq!((h.source, h.destination), (oh.source, oh.destination));
            assert_eq!(h.protocol, oh.protocol);
            assert_eq!(h.time_to_live, oh.time_to_live, "TTL kept");
            assert!(!h.dont_fragment);
            assert_eq!(
                h.more_fragments,
                if last { oh.more_fragments } else { true },
                "MF of fragment {i}"
            );
            if !last {
                assert_eq!(payload.len() % 8, 0, "a multiple of 8 bytes");
            }
            assert_eq!(
                usize::from(h.fragment_offset.value()) * 8,
                base + data.len(),
                "offset of fragment {i}"
            );
            data.extend_from_slice(&payload);
        }
        data
    }

    fn original_payload(orig: &[u8]) -> Vec<u8> {
        let ihl = usize::from(orig[14] & 0xf) * 4;
        orig[14 + ihl..].to_vec()
    }

    #[test]
    fn a_1500_byte_packet_in_two_for_1450() {
        let f = udp_v4(1500, &[]);
        let frags = cut(&f, 1450).expect("cut");
        assert_eq!(frags.len(), 2);
        // 1450 - 20 = 1430, down to a multiple of 8: 1424.
        assert_eq!(frags[0].len(), 14 + 20 + 1424);
        assert_eq!(frags[1].len(), 14 + 20 + (1480 - 1424));
        for g in &frags {
            assert!(g.len() - 14 <= 1450);
        }
        assert_eq!(reassemble(&frags, &f), original_payload(&f));
        // The first carries the UDP header, which etherparse reads whole.
        let (h, _) = parts(&frags[0], &f);
        assert_eq!((h.fragment_offset.value(), h.more_fragments), (0, true));
        let (h, _) = parts(&frags[1], &f);
        assert_eq!((h.fragment_offset.value(), h.more_fragments), (178, false));
    }

    #[test]
    fn every_piece_fits_at_every_size() {
        for mtu in [526u16, 576, 1000, 1280, 1450, 3750] {
            for ip_len in [mtu as usize + 1, mtu as usize + 8, 2000, 3000, 3826] {
                if ip_len <= mtu as usize {
                    continue;
                }
                let f = udp_v4(ip_len, &[]);
                let frags = cut(&f, mtu).expect("cut");
                assert!(frags.len() >= 2 && frags.len() <= MAX_FRAGMENTS);
                for g in &frags {
                    assert!(g.len() - 14 <= usize::from(mtu), "{mtu} {ip_len}");
                }
                assert_eq!(reassemble(&frags, &f), original_payload(&f));
            }
        }
    }

    #[test]
    fn a_fragment_of_a_fragment_keeps_mf_on_the_last_piece() {
        // A middle fragment: offset 185 (1480 bytes), MF set.
        let mut f = udp_v4(1500, &[]);
        set_be16(&mut f, 14 + 6, FLAG_MF | 185);
        let c = {
            set_be16(&mut f, 14 + 10, 0);
            checksum::checksum(&f[14..34])
        };
        set_be16(&mut f, 14 + 10, c);
        let frags = cut(&f, 1450).expect("cut");
        assert_eq!(frags.len(), 2);
        assert_eq!(reassemble(&frags, &f), original_payload(&f));
        let (h, _) = parts(&frags[1], &f);
        assert!(h.more_fragments, "more follow the original");
        assert_eq!(h.fragment_offset.value(), 185 + 178);
        // A last fragment (MF clear, offset set): the last piece has none.
        set_be16(&mut f, 14 + 6, 185);
        set_be16(&mut f, 14 + 10, 0);
        let c = checksum::checksum(&f[14..34]);
        set_be16(&mut f, 14 + 10, c);
        let frags = cut(&f, 1450).expect("cut");
        let (h, _) = parts(&frags[0], &f);
        assert!(h.more_fragments && h.fragment_offset.value() == 185);
        let (h, _) = parts(&frags[1], &f);
        assert!(!h.more_fragments);
        assert_eq!(reassemble(&frags, &f), original_payload(&f));
    }

    #[test]
    fn options_copied_or_turned_into_nops() {
        // Security (130, copied: 11 bytes), record route (7, not copied:
        // 7 bytes with room for one address), NOP, EOL: 20 bytes.
        #[rustfmt::skip]
        let opts = [
            130, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, // security, copied
            7, 7, 4, 0, 0, 0, 0,                // record route, not copied
            1,                                  // NOP
            0,                                  // EOL
        ];
        let f = udp_v4(1500, &opts);
        let frags = cut(&f, 1450).expect("cut");
        let ihl = 40;
        // 1450 - 40 = 1410, down to 1408.
        assert_eq!(frags[0].len(), 14 + ihl + 1408);
        assert_eq!(&frags[0][34..54], &opts, "the first keeps them all");
        let mut later = opts;
        later[11..18].fill(OPT_NOP);
        for g in &frags[1..] {
            assert_eq!(&g[34..54], &later, "security kept, record route NOPs");
            assert_eq!(usize::from(g[14] & 0xf) * 4, ihl, "same header length");
        }
        assert_eq!(reassemble(&frags, &f), original_payload(&f));
    }

    #[test]
    fn refused_where_it_may_not_or_need_not() {
        let f = udp_v4(1500, &[]);
        let with = |at: usize, b: &[u8]| {
            let mut v = f.clone();
            v[at..at + b.len()].copy_from_slice(b);
            v
        };
        let cases: Vec<(&str, Vec<u8>, u16)> = vec![
            ("DF", with(20, &[0x40, 0]), 1450),
            ("fits", f.clone(), 1500),
            (
                "padding, not a big packet",
                {
                    let mut v = udp_v4(1400, &[]);
                    v.extend_from_slice(&[0; 100]);
                    v
                },
                1450,
            ),
            ("IPv6", with(12, &[0x86, 0xdd]), 1450),
            ("ARP", with(12, &[8, 6]), 1450),
            ("truncated", f[..1000].to_vec(), 900),
            ("not version 4", with(14, &[0x65]), 1450),
            ("offset past the field", with(20, &[0x1f, 0xff]), 1450),
            ("too many pieces", udp_v4(3826, &[]), 400),
            ("mtu below the header", f.clone(), 20),
            (
                "an option past the header",
                udp_v4(1500, &[1, 1, 7, 9, 0, 0, 0, 0]),
                1450,
            ),
            (
                "an option of length 1",
                udp_v4(1500, &[1, 1, 7, 1, 0, 0, 0, 0]),
                1450,
            ),
            (
                "an option without its length",
                udp_v4(1500, &[1, 1, 1, 7]),
                1450,
            ),
        ];
        for (name, f, mtu) in cases {
            assert_eq!(plan(&f, mtu), None, "{name}");
        }
        // A fragment that is not the first is cut too (no DF).
        assert!(plan(&with(20, &[0, 10]), 1450).is_some());
    }

    proptest! {
        #[test]
        fn pieces_reassemble_to_the_original(
            ip_len in 600usize..3826, mtu in 526u16..3000,
            offset in 0u16..2000, more: bool,
            nops in 0usize..4,
        ) {
            prop_assume!(ip_len > usize::from(mtu));
            let mut f = udp_v4(ip_len, &vec![OPT_NOP; nops * 4]);
            set_be16(&mut f, 14 + 6, if more { FLAG_MF } else { 0 } | offset);
            set_be16(&mut f, 14 + 10, 0);
            let ihl = 20 + nops * 4;
            let c = checksum::checksum(&f[14..14 + ihl]);
            set_be16(&mut f, 14 + 10, c);
            let frags = cut(&f, mtu).expect("cut");
            for g in &frags {
                prop_assert!(g.len() - 14 <= usize::from(mtu));
            }
            prop_assert_eq!(reassemble(&frags, &f), original_payload(&f));
        }

        #[test]
        fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200), mtu in 0u16..200) {
            let mut b = b;
            if b.len() >= 14 {
                b[12..14].copy_from_slice(&[8, 0]);
            }
            if let Some(p) = plan(&b, mtu) {
                let mut dst = vec![0u8; b.len()];
                for k in 1..p.count() {
                    let _ = p.write(k, &b, &mut dst);
                }
                let _ = p.first(&mut b);
            }
        }
    }
}
