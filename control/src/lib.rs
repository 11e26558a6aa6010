//! The vxswitch control protocol: JSON lines over a Unix socket.
//!
//! A client writes one [`Request`] per line; the switch answers each with one
//! [`Reply`] line. Every command is declared once, in [`Request`]: the
//! switch's dispatch matches on it and vxctl builds it, so the two cannot
//! disagree on names or arguments.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Longest request line the switch reads; longer ones get an error and the
/// connection is closed.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Directory of the default control sockets.
pub const SOCKET_DIR: &str = "/run/vxswitch";

/// The default control socket of the switch on `uplink`.
pub fn default_socket(uplink: &str) -> PathBuf {
    PathBuf::from(SOCKET_DIR).join(format!("{uplink}.sock"))
}

/// A request: one command and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Counters: per port, per VTEP, per worker, every drop reason.
    Stats {},
    /// The forwarding database, optionally of one VNI.
    FdbShow {
        #[serde(default)]
        vni: Option<u32>,
    },
    /// The switch's version.
    Version {},
}

/// A reply: `ok` with data, or an error line for the operator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reply {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub data: serde_json::Value,
}

impl Reply {
    pub fn ok(data: impl Serialize) -> Reply {
        Reply {
            ok: true,
            error: None,
            data: serde_json::to_value(data).expect("reply data serialises"),
        }
    }
    pub fn err(msg: impl Into<String>) -> Reply {
        Reply {
            ok: false,
            error: Some(msg.into()),
            data: serde_json::Value::Null,
        }
    }
}

/// Traffic through one port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortStats {
    pub name: String,
    /// The port's VNI; `None` for the uplink.
    pub vni: Option<u32>,
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Partial TCP/UDP checksums the switch completed on frames from this
    /// port (sent with checksum offload on).
    #[serde(default)]
    pub csum_completed: u64,
}

/// Traffic to and from one remote VTEP.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VtepStats {
    pub ip: String,
    /// The underlay MAC its frames go to ("-" when none yet, or per-flow next hops).
    pub mac: String,
    /// Where that MAC comes from: configured neighbor, next hops, kernel
    /// (via a gateway or direct), unresolved.
    pub via: String,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub rx_packets: u64,
}

/// Where one worker's frames are. `free + in_fill + in_tx == total` between
/// batches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerStats {
    pub core: usize,
    /// Frames this worker received and sent, over all ports.
    pub rx_packets: u64,
    pub tx_packets: u64,
    /// TSC cycles spent in poll iterations that moved frames, and the frames
    /// received in them: their ratio is the processing cost per packet.
    pub busy_cycles: u64,
    pub busy_packets: u64,
    pub frames_total: u64,
    pub frames_free: u64,
    pub frames_in_fill: u64,
    pub frames_in_tx: u64,
}

/// The reply to [`Request::Stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub uplink: String,
    pub backend: String,
    pub vtep: String,
    pub udp_port: u16,
    pub uplink_mtu: u16,
    pub overlay_mtu: u16,
    pub fdb_entries: u64,
    pub fdb_capacity: u64,
    /// Every drop reason and event by its stable name, zeros included.
    pub counters: BTreeMap<String, u64>,
    pub ports: Vec<PortStats>,
    pub vteps: Vec<VtepStats>,
    pub workers: Vec<WorkerStats>,
}

/// One FDB entry, as [`Request::FdbShow`] lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdbEntry {
    pub vni: u32,
    pub mac: String,
    /// `port NAME` or `vtep IP`.
    pub dest: String,
    #[serde(rename = "static")]
    pub is_static: bool,
    pub age_secs: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_on_the_wire() {
        assert_eq!(
            serde_json::to_string(&Request::Stats {}).unwrap(),
            r#"{"cmd":"stats"}"#
        );
        let r: Request = serde_json::from_str(r#"{"cmd":"fdb_show","vni":100}"#).unwrap();
        assert_eq!(r, Request::FdbShow { vni: Some(100) });
        let r: Request = serde_json::from_str(r#"{"cmd":"fdb_show"}"#).unwrap();
        assert_eq!(r, Request::FdbShow { vni: None });
        let e = serde_json::from_str::<Request>(r#"{"cmd":"reboot"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown variant `reboot`"), "{e}");
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"stats","x":1}"#).is_err());
    }

    #[test]
    fn default_socket_path() {
        assert_eq!(
            default_socket("eth0"),
            PathBuf::from("/run/vxswitch/eth0.sock")
        );
    }
}
