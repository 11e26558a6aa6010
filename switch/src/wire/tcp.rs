//! TCP header view (RFC 9293 s3.1) and its options (s3.2), as far as the MSS
//! clamp (`pipeline::mtu`) needs them: ports, flags, checksum, and a walk
//! over the options that never reads past the header.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! |                        Sequence Number                        |
//! |                    Acknowledgment Number                      |
//! |  Data |       |C|E|U|A|P|R|S|F|                               |
//! | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//! |                       |R|E|G|K|H|T|N|N|                       |
//! |           Checksum            |         Urgent Pointer        |
//! |                    Options (Data Offset * 4 - 20 bytes)       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Options (s3.2): kind 0 (end of list) and kind 1 (no-op) are one byte;
//! every other kind is `kind, length, value`, the length counting all of it
//! (so at least 2). MSS is kind 2, length 4, a 16-bit value.

use super::{be16, set_be16, Malformed};

/// Length of a header without options.
pub const HEADER_LEN: usize = 20;
/// Longest header: data offset 15.
pub const MAX_HEADER_LEN: usize = 60;
pub const FLAG_FIN: u8 = 0x01;
pub const FLAG_SYN: u8 = 0x02;
pub const FLAG_RST: u8 = 0x04;
pub const FLAG_ACK: u8 = 0x10;
/// Option kinds (RFC 9293 s3.2).
pub const OPT_END: u8 = 0;
pub const OPT_NOP: u8 = 1;
pub const OPT_MSS: u8 = 2;
/// Length of the MSS option: kind, length, 16-bit value.
pub const OPT_MSS_LEN: usize = 4;

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const DATA_OFFSET: usize = 12;
    pub const FLAGS: usize = 13;
    pub const CHECKSUM: usize = 16;
    pub const OPTIONS: usize = 20;
}

/// A view of a TCP segment (or at least its header).
#[derive(Debug)]
pub struct TcpPacket<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Checks that the buffer holds the fixed header, that the data offset is
    /// at least 5 words, and that the whole header (options included) fits.
    #[inline]
    pub fn new_checked(buf: T) -> Result<Self, Malformed> {
        let b = buf.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Malformed::Truncated);
        }
        let hl = usize::from(b[field::DATA_OFFSET] >> 4) * 4;
        if hl < HEADER_LEN {
            return Err(Malformed::BadHeader);
        }
        if hl > b.len() {
            return Err(Malformed::Truncated);
        }
        Ok(Self { buf })
    }

    #[inline]
    pub fn src_port(&self) -> u16 {
        be16(self.buf.as_ref(), field::SRC_PORT)
    }
    #[inline]
    pub fn dst_port(&self) -> u16 {
        be16(self.buf.as_ref(), field::DST_PORT)
    }
    /// Header length in bytes, options included.
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buf.as_ref()[field::DATA_OFFSET] >> 4) * 4
    }
    /// The eight flag bits (CWR .. FIN).
    #[inline]
    pub fn flags(&self) -> u8 {
        self.buf.as_ref()[field::FLAGS]
    }
    #[inline]
    pub fn syn(&self) -> bool {
        self.flags() & FLAG_SYN != 0
    }
    #[inline]
    pub fn ack(&self) -> bool {
        self.flags() & FLAG_ACK != 0
    }
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(self.buf.as_ref(), field::CHECKSUM)
    }
    /// The options: header bytes after the fixed 20.
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.buf.as_ref()[field::OPTIONS..self.header_len()]
    }
    /// The options one by one (no-ops and the end-of-list skipped).
    #[inline]
    pub fn options_iter(&self) -> TcpOptions<'_> {
        TcpOptions {
            opts: self.options(),
            at: 0,
        }
    }

    /// Offset of the MSS option's 16-bit value from the start of the
    /// header, when the option list is well formed and holds exactly one
    /// MSS option of the right length. `Err` for a malformed list (an option
    /// running past the header, a length below 2, an MSS option that is not
    /// 4 bytes long, or a second MSS option): callers leave such a segment
    /// alone.
    #[inline]
    pub fn mss_offset(&self) -> Result<Option<usize>, Malformed> {
        let mut found = None;
        for o in self.options_iter() {
            let o = o?;
            if o.kind == OPT_MSS {
                if o.len != OPT_MSS_LEN || found.is_some() {
                    return Err(Malformed::BadHeader);
                }
                found = Some(field::OPTIONS + o.at + 2);
            }
        }
        Ok(found)
    }

    /// The MSS option's value (see [`TcpPacket::mss_offset`]).
    #[inline]
    pub fn mss(&self) -> Result<Option<u16>, Malformed> {
        Ok(self.mss_offset()?.map(|at| be16(self.buf.as_ref(), at)))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    #[inline]
    pub fn set_checksum(&mut self, c: u16) {
        set_be16(self.buf.as_mut(), field::CHECKSUM, c);
    }
    /// Writes the MSS option's value; the checksum is the caller's to fix.
    /// Returns where the value sits (as [`TcpPacket::mss_offset`]), or
    /// `None` when there is no MSS option to write (nothing written).
    #[inline]
    pub fn set_mss(&mut self, mss: u16) -> Result<Option<usize>, Malformed> {
        let at = self.mss_offset()?;
        if let Some(at) = at {
            set_be16(self.buf.as_mut(), at, mss);
        }
        Ok(at)
    }
}

/// One option found by [`TcpOptions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpOption {
    pub kind: u8,
    /// Offset of its kind byte within the options.
    pub at: usize,
    /// Its whole length (kind and length bytes included).
    pub len: usize,
}

/// Walks a TCP option list. Yields every option but no-ops, stops at
/// end-of-list or at the end of the header, and yields one `Err` (then
/// stops) at an option that has no length byte, a length below 2, or a
/// length that runs past the header.
#[derive(Debug, Clone)]
pub struct TcpOptions<'a> {
    opts: &'a [u8],
    at: usize,
}

impl Iterator for TcpOptions<'_> {
    type Item = Result<TcpOption, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let at = self.at;
            let kind = *self.opts.get(at)?;
            match kind {
                OPT_END => {
                    // The rest is padding (RFC 9293 s3.2).
                    self.at = self.opts.len();
                    return None;
                }
                OPT_NOP => self.at += 1,
                _ => {
                    let len = self.opts.get(at + 1).map(|&l| usize::from(l));
                    return match len {
                        Some(len) if len >= 2 && at + len <= self.opts.len() => {
                            self.at += len;
                            Some(Ok(TcpOption { kind, at, len }))
                        }
                        _ => {
                            self.at = self.opts.len();
                            Some(Err(Malformed::BadHeader))
                        }
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[rustfmt::skip]
    const SYN: [u8; 40] = [
        0x9c, 0x40,                         // src port 40000
        0x00, 0x50,                         // dst port 80
        0x00, 0x00, 0x00, 0x07,             // sequence number
        0x00, 0x00, 0x00, 0x00,             // acknowledgment number
        0xa0,                               // data offset 10 (40 bytes)
        0x02,                               // SYN
        0xfa, 0xf0,                         // window 64240
        0x12, 0x34,                         // checksum (not checked here)
        0x00, 0x00,                         // urgent pointer
        0x02, 0x04, 0x05, 0xb4,             // MSS 1460
        0x04, 0x02,                         // SACK permitted
        0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 0, // timestamps
        0x01,                               // NOP
        0x03, 0x03, 0x07,                   // window scale 7
    ];

    #[test]
    fn deconstruct() {
        let t = TcpPacket::new_checked(&SYN[..]).unwrap();
        assert_eq!((t.src_port(), t.dst_port()), (40000, 80));
        assert_eq!(t.header_len(), 40);
        assert!(t.syn() && !t.ack());
        assert_eq!(t.checksum(), 0x1234);
        assert_eq!(t.mss(), Ok(Some(1460)));
        assert_eq!(t.mss_offset(), Ok(Some(22)));
        let kinds: Vec<(u8, usize, usize)> = t
            .options_iter()
            .map(|o| o.map(|o| (o.kind, o.at, o.len)).unwrap())
            .collect();
        assert_eq!(kinds, vec![(2, 0, 4), (4, 4, 2), (8, 6, 10), (3, 17, 3)]);
    }

    #[test]
    fn construct() {
        let mut b = SYN;
        b[16..18].copy_from_slice(&[0, 0]);
        b[22..24].copy_from_slice(&[0, 0]);
        let mut t = TcpPacket::new_checked(&mut b[..]).unwrap();
        assert_eq!(t.set_mss(1460), Ok(Some(22)));
        t.set_checksum(0x1234);
        assert_eq!(b, SYN);
    }

    #[test]
    fn truncated() {
        for n in 0..SYN.len() {
            assert_eq!(
                TcpPacket::new_checked(&SYN[..n]).unwrap_err(),
                Malformed::Truncated,
                "{n}"
            );
        }
        let mut b = SYN;
        b[12] = 0x40; // data offset 4
        assert_eq!(
            TcpPacket::new_checked(&b[..]).unwrap_err(),
            Malformed::BadHeader
        );
    }

    #[test]
    fn matches_etherparse() {
        let (h, _) = etherparse::TcpHeader::from_slice(&SYN).unwrap();
        let t = TcpPacket::new_checked(&SYN[..]).unwrap();
        assert_eq!((h.source_port, h.destination_port), (40000, 80));
        assert_eq!(h.header_len(), t.header_len());
        assert_eq!(h.syn, t.syn());
        assert_eq!(h.checksum, t.checksum());
        let mss: Vec<u16> = h
            .options_iterator()
            .filter_map(|o| match o {
                Ok(etherparse::TcpOptionElement::MaximumSegmentSize(m)) => Some(m),
                _ => None,
            })
            .collect();
        assert_eq!(mss, vec![t.mss().unwrap().unwrap()]);
    }

    /// A header with `opts` (padded to a multiple of 4 with zeros).
    fn with_options(opts: &[u8]) -> Vec<u8> {
        let mut b = SYN[..20].to_vec();
        b.extend_from_slice(opts);
        b.resize(b.len().div_ceil(4) * 4, 0);
        b[12] = ((b.len() / 4) as u8) << 4;
        b
    }

    #[test]
    fn option_lists() {
        let mss = |opts: &[u8]| {
            let b = with_options(opts);
            TcpPacket::new_checked(&b[..]).unwrap().mss()
        };
        let bad = Err(Malformed::BadHeader);
        // Well formed.
        assert_eq!(mss(&[]), Ok(None));
        assert_eq!(mss(&[1, 1, 1, 1]), Ok(None));
        assert_eq!(mss(&[1, 2, 4, 5, 0xb4]), Ok(Some(1460)), "odd offset");
        assert_eq!(mss(&[4, 2, 2, 4, 1, 0]), Ok(Some(0x100)));
        // After end-of-list nothing counts, not even a broken option.
        assert_eq!(mss(&[0, 2, 4, 5, 0xb4]), Ok(None));
        assert_eq!(mss(&[2, 4, 5, 0xb4, 0, 9, 9, 9]), Ok(Some(1460)));
        // Malformed.
        assert_eq!(mss(&[2, 3, 5, 0xb4]), bad, "MSS of length 3");
        assert_eq!(mss(&[2, 6, 5, 0xb4, 0, 0]), bad, "MSS of length 6");
        assert_eq!(mss(&[2, 4, 5, 0xb4, 2, 4, 5, 0xb4]), bad, "two MSS");
        assert_eq!(mss(&[8, 1, 0, 0]), bad, "length below 2");
        assert_eq!(mss(&[8, 0, 2, 4, 5, 0xb4, 0, 0]), bad, "length 0");
        assert_eq!(mss(&[1, 1, 1, 8]), bad, "no length byte");
        assert_eq!(mss(&[2, 4, 5, 0xb4, 8, 10, 0, 0]), bad, "past the header");
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(t) = TcpPacket::new_checked(&b[..]) {
                let _ = (t.mss(), t.options_iter().count(), t.flags());
                for o in t.options_iter().flatten() {
                    prop_assert!(o.at + o.len <= t.options().len());
                }
            }
        }

        #[test]
        fn random_options_never_panic_or_escape(opts in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut b = with_options(&opts);
            let end = b.len();
            b.extend_from_slice(&[2, 4, 0xff, 0xff]); // an MSS option beyond the header
            let mut t = TcpPacket::new_checked(&mut b[..]).unwrap();
            if let Ok(Some(at)) = t.mss_offset() {
                prop_assert!(at + 2 <= end, "MSS found outside the header");
            }
            let _ = t.set_mss(536);
            prop_assert_eq!(&b[end..], &[2, 4, 0xff, 0xff]);
        }
    }
}
