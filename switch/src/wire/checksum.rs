//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).

/// Adds `data` to a running one's-complement sum; the result is folded to
/// 16 bits, so sums of any length chain without overflow. Words are summed
/// as 32-bit halves into 64-bit accumulators (RFC 1071 s2(B): the sum is
/// independent of the word size).
#[inline]
pub fn sum(acc: u32, data: &[u8]) -> u32 {
    // 32-byte blocks into four independent accumulators, so the adds of one
    // block do not wait on the previous block's (each lane gains under 2^33
    // per block: no overflow below 2^31 blocks). The words are read in the
    // machine's order and the folded result byte-swapped once on a
    // little-endian machine: a one's-complement sum of byte-swapped words is
    // the byte-swapped sum (RFC 1071 s2(B)), and it saves a swap per word.
    let mut lanes = [0u64; 4];
    let mut blocks = data.chunks_exact(32);
    for b in &mut blocks {
        for (lane, w) in lanes.iter_mut().zip(b.chunks_exact(8)) {
            let w = u64::from_ne_bytes(w.try_into().expect("8-byte word"));
            *lane += (w >> 32) + (w & 0xffff_ffff);
        }
    }
    let native = fold_wide(lanes[0] + lanes[1] + lanes[2] + lanes[3]);
    let mut wide = u64::from(acc) + u64::from(u16::from_be(native));
    let mut chunks = blocks.remainder().chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_be_bytes(c.try_into().expect("8-byte chunk"));
        wide += (w >> 32) + (w & 0xffff_ffff);
    }
    let mut pairs = chunks.remainder().chunks_exact(2);
    for c in &mut pairs {
        wide += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = pairs.remainder() {
        wide += u64::from(*last) << 8;
    }
    u32::from(fold_wide(wide))
}

/// Folds a 64-bit sum of 32-bit words to 16 bits.
#[inline]
fn fold_wide(mut wide: u64) -> u16 {
    wide = (wide & 0xffff_ffff) + (wide >> 32);
    wide = (wide & 0xffff_ffff) + (wide >> 32);
    fold(wide as u32)
}

/// Folds a running sum to 16 bits without complementing it.
#[inline]
pub fn fold(acc: u32) -> u16 {
    // Two steps are always enough, so no loop: the first leaves at most
    // 0xffff + 0xffff = 0x1fffe, the second at most 0xfffe + 1.
    let acc = (acc & 0xffff) + (acc >> 16);
    ((acc & 0xffff) + (acc >> 16)) as u16
}

/// Folds a running sum to 16 bits and complements it: the value to store.
#[inline]
pub fn finish(acc: u32) -> u16 {
    !fold(acc)
}

/// The IPv4 pseudo-header sum of a TCP or UDP segment (RFC 793 s3.1, RFC
/// 768): source and destination address (`addrs`, as they sit in the IPv4
/// header, bytes 12..20), protocol and segment length, folded to 16 bits.
/// Equal to `sum(proto + l4_len, addrs)`, from two 32-bit loads.
#[inline(always)]
pub fn pseudo_v4(addrs: &[u8; 8], proto: u8, l4_len: usize) -> u32 {
    let [a0, a1, a2, a3, b0, b1, b2, b3] = *addrs;
    let w = u64::from(u32::from_be_bytes([a0, a1, a2, a3]))
        + u64::from(u32::from_be_bytes([b0, b1, b2, b3]))
        + u64::from(proto)
        + l4_len as u64;
    u32::from(fold_wide(w))
}

/// The pseudo-header sum of a TCP or UDP segment of `l4_len` bytes, for
/// IPv4 or IPv6 alike: `addrs` are the source and destination addresses as
/// they sit in the IP header (8 or 32 bytes), summed with the protocol and
/// the length (RFC 9293 s3.1, RFC 8200 s8.1). Not folded.
#[inline]
pub fn pseudo(addrs: &[u8], proto: u8, l4_len: usize) -> u32 {
    sum(u32::from(proto) + l4_len as u32, addrs)
}

/// The checksum of `data` alone.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    finish(sum(0, data))
}

/// RFC 1624 eqn. 3: the checksum after a 16-bit field changes from `old` to `new`.
#[inline]
pub fn update16(csum: u16, old: u16, new: u16) -> u16 {
    let acc = u32::from(!csum) + u32::from(!old) + u32::from(new);
    finish(acc)
}

/// [`update16`] for a 16-bit field that starts `at` bytes into the
/// checksummed data, at any alignment. A field at an odd offset straddles
/// two 16-bit words: its high byte is the low byte of one, its low byte the
/// high byte of the next, so it adds to the sum byte-swapped, and a
/// one's-complement sum of swapped words is the swapped sum (RFC 1071
/// s2(B)). A TCP option can sit at an odd offset (after one no-op).
#[inline]
pub fn update16_at(csum: u16, at: usize, old: u16, new: u16) -> u16 {
    if at & 1 == 0 {
        update16(csum, old, new)
    } else {
        update16(csum, old.swap_bytes(), new.swap_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `fold` computed before it lost its loop: fold until it fits.
    fn looped(mut a: u32) -> u16 {
        while a >> 16 != 0 {
            a = (a & 0xffff) + (a >> 16);
        }
        a as u16
    }

    #[test]
    fn fold_takes_any_u32() {
        for a in [
            0,
            1,
            0xffff,
            0x1_0000,
            0x1_fffe,
            0xffff_0001,
            0xffff_ffff,
            0x8000_8000,
        ] {
            assert_eq!(fold(a), looped(a), "{a:#x}");
            assert_eq!(finish(a), !looped(a), "{a:#x}");
        }
    }

    proptest::proptest! {
        #[test]
        fn pseudo_v4_is_the_generic_sum(addrs in proptest::prelude::any::<[u8; 8]>(), proto in 0u8.., len in 0usize..65536) {
            proptest::prop_assert_eq!(pseudo_v4(&addrs, proto, len), sum(u32::from(proto) + len as u32, &addrs));
        }

        #[test]
        fn fold_is_the_loop(a in 0u32..) {
            proptest::prop_assert_eq!(fold(a), looped(a));
        }
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 s3: the sum of these words is 0xddf2; the checksum its complement.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn wide_sum_matches_the_definition() {
        // The RFC 1071 definition, 16 bits at a time, against sum() at every
        // length and alignment of a pseudo-random buffer.
        let data: Vec<u8> = (0..1600u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for len in (0..200).chain([1000, 1430, 1591]) {
            for start in 0..8 {
                let d = &data[start..start + len];
                let mut naive = 0u32;
                for c in d.chunks(2) {
                    naive += u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0));
                }
                assert_eq!(finish(sum(0, d)), finish(naive), "len {len} start {start}");
            }
        }
        assert_eq!(finish(sum(0xffff, &data)), finish(sum(0, &data) + 0xffff));
    }

    #[test]
    fn incremental_matches_full() {
        let mut hdr = [
            0x45, 0x00, 0x00, 0x54, 0x00, 0x00, 0x40, 0x00, 0x40, 0x01, 0x00, 0x00, 198, 18, 0, 1,
            198, 18, 0, 2,
        ];
        let c = checksum(&hdr);
        hdr[2..4].copy_from_slice(&0x05dcu16.to_be_bytes());
        assert_eq!(update16(c, 0x0054, 0x05dc), checksum(&hdr));
    }

    #[test]
    fn incremental_at_any_alignment_matches_full() {
        let mut data: Vec<u8> = (0..64u32).map(|i| (i * 37 + 11) as u8).collect();
        for at in 0..data.len() - 1 {
            for new in [0u16, 1, 0x00ff, 0x0100, 0x05b4, 0xfffe, 0xffff] {
                let c = checksum(&data);
                let old = u16::from_be_bytes([data[at], data[at + 1]]);
                data[at..at + 2].copy_from_slice(&new.to_be_bytes());
                assert_eq!(
                    update16_at(c, at, old, new),
                    checksum(&data),
                    "at {at} {old:#x} -> {new:#x}"
                );
            }
        }
    }
}
