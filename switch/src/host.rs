//! What the switch reads from the host at start: interfaces (MAC, IPv4
//! address, MTU, queue count) and the CPU cores it may pin to.

use std::collections::BTreeSet;
use std::fs;

use crate::state::UplinkInfo;

/// A start-up problem with the host, named for the operator.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// No such network interface (in this network namespace).
    #[error("interface {0} does not exist (see `ip link`)")]
    NoInterface(String),
    /// `--cores` did not parse.
    #[error("--cores {0:?}: {1}")]
    BadCoreList(String, String),
    /// `--cores` names a core this process may not run on.
    #[error("--cores: core {core} is not available: this process may run on cores {available}")]
    NoSuchCore { core: usize, available: String },
    /// An interface has fewer queues than workers.
    #[error("{port} has {queues} queue(s) but --cores lists {workers} workers: each worker needs its own queue on every port (create veths with numrxqueues/numtxqueues, or list fewer cores)")]
    TooFewQueues {
        port: String,
        queues: usize,
        workers: usize,
    },
}

/// Reads an interface's MAC, first IPv4 address and MTU.
pub fn uplink_info(name: &str) -> Result<UplinkInfo, HostError> {
    let iface = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == name)
        .ok_or_else(|| HostError::NoInterface(name.to_string()))?;
    let ipv4 = iface.ips.iter().find_map(|n| match n.ip() {
        std::net::IpAddr::V4(a) => Some(a),
        _ => None,
    });
    let mac = iface.mac.map(|m| m.octets()).unwrap_or([0; 6]);
    let mtu = fs::read_to_string(format!("/sys/class/net/{name}/mtu"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1500);
    Ok(UplinkInfo {
        name: name.to_string(),
        mac,
        ipv4,
        mtu,
    })
}

/// Every IPv4 address of an interface (none if it does not exist).
pub fn ipv4_addrs(name: &str) -> Vec<std::net::Ipv4Addr> {
    pnet_datalink::interfaces()
        .into_iter()
        .filter(|i| i.name == name)
        .flat_map(|i| i.ips)
        .filter_map(|n| match n.ip() {
            std::net::IpAddr::V4(a) => Some(a),
            _ => None,
        })
        .collect()
}

/// Fails unless `name` is an interface in this namespace.
pub fn require_interface(name: &str) -> Result<(), HostError> {
    if fs::metadata(format!("/sys/class/net/{name}")).is_ok() {
        Ok(())
    } else {
        Err(HostError::NoInterface(name.to_string()))
    }
}

/// The number of queues usable by AF_XDP (the smaller of RX and TX).
pub fn queue_count(name: &str) -> usize {
    let count = |prefix: &str| {
        fs::read_dir(format!("/sys/class/net/{name}/queues"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                    .count()
            })
            .unwrap_or(1)
    };
    count("rx-").min(count("tx-")).max(1)
}

/// The interface's driver as `ethtool -i` names it ("veth", "ixgbe"), or
/// `None` where the interface has none or the ioctl fails.
pub fn driver(name: &str) -> Option<String> {
    /// `struct ethtool_drvinfo` (linux/ethtool.h).
    #[repr(C)]
    struct DrvInfo {
        cmd: u32,
        driver: [u8; 32],
        rest: [u8; 32 * 4 + 12 + 4 * 5],
    }
    /// `struct ifreq` with `ifr_data` (linux/if.h): 40 bytes.
    #[repr(C)]
    struct IfReq {
        name: [u8; libc::IFNAMSIZ],
        data: *mut DrvInfo,
        pad: [u8; 16],
    }
    const ETHTOOL_GDRVINFO: u32 = 3;
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ {
        return None;
    }
    let mut info = DrvInfo {
        cmd: ETHTOOL_GDRVINFO,
        driver: [0; 32],
        rest: [0; 32 * 4 + 12 + 4 * 5],
    };
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        data: &mut info,
        pad: [0; 16],
    };
    req.name[..bytes.len()].copy_from_slice(bytes);
    // SAFETY: a plain datagram socket, closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `req` is an ifreq whose data points at a live ethtool_drvinfo
    // with its command set; both outlive the call.
    let r = unsafe { libc::ioctl(fd, libc::SIOCETHTOOL, &mut req as *mut IfReq) };
    // SAFETY: fd is ours and open.
    unsafe { libc::close(fd) };
    if r != 0 {
        return None;
    }
    let end = info.driver.iter().position(|&b| b == 0).unwrap_or(32);
    (end > 0).then(|| String::from_utf8_lossy(&info.driver[..end]).into_owned())
}

/// Parses a core list such as `0`, `2,3` or `2-5,7` and checks every core is
/// one this process may run on. Order is kept; duplicates are refused.
pub fn parse_cores(spec: &str) -> Result<Vec<usize>, HostError> {
    let bad = |why: &str| HostError::BadCoreList(spec.to_string(), why.to_string());
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for part in spec.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return Err(bad("empty entry"));
        }
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let lo: usize = lo
            .parse()
            .map_err(|_| bad(&format!("{lo:?} is not a core number")))?;
        let hi: usize = hi
            .parse()
            .map_err(|_| bad(&format!("{hi:?} is not a core number")))?;
        if hi < lo {
            return Err(bad(&format!("range {part} runs backwards")));
        }
        for c in lo..=hi {
            if !seen.insert(c) {
                return Err(bad(&format!("core {c} is listed twice")));
            }
            out.push(c);
        }
    }
    let available: BTreeSet<usize> = core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.id)
        .collect();
    if let Some(&core) = out.iter().find(|c| !available.contains(c)) {
        return Err(HostError::NoSuchCore {
            core,
            available: format_cores(&available),
        });
    }
    Ok(out)
}

/// Keeps the calling thread (and the threads it starts later) off the
/// workers' cores: the control thread's FDB aging, netlink and ARP work
/// would otherwise preempt a worker now and then, a latency tail of
/// hundreds of microseconds. Returns the cores it may use, or `None` when
/// the workers take every core (then it stays where it is).
pub fn avoid_cores(workers: &[usize]) -> Option<Vec<usize>> {
    let others: Vec<usize> = core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.id)
        .filter(|c| !workers.contains(c))
        .collect();
    if others.is_empty() {
        return None;
    }
    // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET write within it, and
    // sched_setaffinity(0, ..) applies to the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        for &c in &others {
            libc::CPU_SET(c, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return None;
        }
    }
    Some(others)
}

fn format_cores(set: &BTreeSet<usize>) -> String {
    let v: Vec<usize> = set.iter().copied().collect();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            v[i].to_string()
        } else {
            format!("{}-{}", v[i], v[j])
        });
        i = j + 1;
    }
    if parts.is_empty() {
        "(none)".into()
    } else {
        parts.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_lists() {
        assert_eq!(parse_cores("0").unwrap(), vec![0]);
        assert!(matches!(
            parse_cores("0,0"),
            Err(HostError::BadCoreList(..))
        ));
        assert!(matches!(
            parse_cores("1-0"),
            Err(HostError::BadCoreList(..))
        ));
        assert!(matches!(parse_cores("x"), Err(HostError::BadCoreList(..))));
        assert!(matches!(parse_cores(""), Err(HostError::BadCoreList(..))));
        let e = parse_cores("0,4096").unwrap_err().to_string();
        assert!(e.contains("core 4096 is not available"), "{e}");
        let n = core_affinity::get_core_ids().unwrap().len();
        if n >= 2 {
            assert_eq!(parse_cores("0-1").unwrap(), vec![0, 1]);
        }
    }

    #[test]
    fn core_ranges_format() {
        let s: BTreeSet<usize> = [0, 1, 2, 5, 7, 8].into_iter().collect();
        assert_eq!(format_cores(&s), "0-2,5,7-8");
    }

    #[test]
    fn missing_interface_named() {
        let e = uplink_info("nosuchif0").unwrap_err().to_string();
        assert_eq!(e, "interface nosuchif0 does not exist (see `ip link`)");
        let lo = uplink_info("lo").unwrap();
        assert_eq!(lo.ipv4, Some(std::net::Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn no_driver_for_what_is_not_an_interface() {
        assert_eq!(driver("nosuchif0"), None);
        assert_eq!(driver(""), None);
        assert_eq!(driver("a-name-longer-than-ifnamsiz"), None);
    }
}
