//! The inner flow hash: one value per L2/L3/L4 flow, used for the outer UDP
//! source port (RFC 7348 s5 entropy) and to pick among next hops, so a flow
//! always takes one underlay path.

use crate::wire::{ethernet, ipv4};

#[inline]
fn mix(h: u64, v: u64) -> u64 {
    (h ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29)
}

/// Hashes the inner frame's MACs and, for IPv4, its addresses, protocol and
/// (unless it is a fragment) TCP/UDP ports. Never panics on short frames.
#[inline]
pub fn flow_hash(frame: &[u8]) -> u32 {
    if frame.len() < ethernet::HEADER_LEN {
        return 0;
    }
    let macs = u64::from_le_bytes(frame[0..8].try_into().expect("8 bytes"))
        ^ u64::from(u32::from_le_bytes(
            frame[8..12].try_into().expect("4 bytes"),
        ));
    let mut h = mix(0x51_7c_c1_b7_27_22_0a_95, macs);
    let et = u16::from_be_bytes([frame[12], frame[13]]);
    let ip = &frame[ethernet::HEADER_LEN..];
    if et == ethernet::ETHERTYPE_IPV4 && ip.len() >= ipv4::HEADER_LEN && ip[0] >> 4 == 4 {
        let addrs = u64::from_le_bytes(ip[12..20].try_into().expect("8 bytes"));
        let proto = ip[9];
        h = mix(h, addrs ^ (u64::from(proto) << 56));
        let ihl = usize::from(ip[0] & 0xf) * 4;
        let frag = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0;
        if !frag && (proto == ipv4::PROTO_TCP || proto == ipv4::PROTO_UDP) && ip.len() >= ihl + 4 {
            let ports = u32::from_le_bytes(ip[ihl..ihl + 4].try_into().expect("4 bytes"));
            h = mix(h, u64::from(ports));
        }
    }
    (h ^ (h >> 32)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tcp(src_port: u16) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 20];
        f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
        f[12..14].copy_from_slice(&[8, 0]);
        f[14] = 0x45;
        f[14 + 9] = 6;
        f[14 + 12..14 + 20].copy_from_slice(&[198, 19, 100, 1, 198, 19, 100, 2]);
        f[34..36].copy_from_slice(&src_port.to_be_bytes());
        f[36..38].copy_from_slice(&80u16.to_be_bytes());
        f
    }

    #[test]
    fn ports_spread_flows() {
        let hashes: std::collections::HashSet<u32> =
            (0..1000).map(|p| flow_hash(&tcp(40000 + p))).collect();
        assert!(hashes.len() > 990);
        // Payload bytes do not change the hash of a flow.
        let mut a = tcp(1);
        let b = a.clone();
        a.push(7);
        assert_eq!(flow_hash(&a), flow_hash(&b));
    }

    proptest! {
        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = flow_hash(&b);
        }
    }
}
