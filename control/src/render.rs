//! vxctl's human-readable tables. `--json` prints the reply data instead,
//! which is the stable interface for scripts; these are for people, and the
//! golden tests (control/golden/) pin both.

use std::fmt::Write as _;

use crate::{ArpInfo, FdbEntry, NexthopInfo, PortInfo, Stats, TunnelInfo, VniInfo};

/// `a,b,c`, or `-` when empty.
fn list(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.join(",")
    }
}

pub fn vnis(v: &[VniInfo]) -> String {
    let mut s = format!(
        "{:<9} {:<9} {:<11} {:>10} {:>5}  {:<24} {}\n",
        "VNI", "LEARNING", "MSS_CLAMP", "STATIC_FDB", "ARP", "PORTS", "FLOOD"
    );
    for i in v {
        let mss = match i.mss {
            Some(m) if i.mss_clamp == "auto" => format!("auto:{m}"),
            Some(m) => m.to_string(),
            None => "off".into(),
        };
        let _ = writeln!(
            s,
            "{:<9} {:<9} {:<11} {:>10} {:>5}  {:<24} {}",
            i.vni,
            if i.learning { "on" } else { "off" },
            mss,
            i.static_fdb,
            i.arp,
            list(&i.ports),
            list(&i.flood)
        );
    }
    s
}

pub fn ports(v: &[PortInfo]) -> String {
    let mut s = format!(
        "{:<16} {:>8} {:>12} {:>12}\n",
        "PORT", "VNI", "RX_PACKETS", "TX_PACKETS"
    );
    for p in v {
        let vni = p.vni.map_or("uplink".to_string(), |v| v.to_string());
        let _ = writeln!(
            s,
            "{:<16} {:>8} {:>12} {:>12}",
            p.name, vni, p.rx_packets, p.tx_packets
        );
    }
    s
}

pub fn tunnels(v: &[TunnelInfo]) -> String {
    let mut s = format!(
        "{:<9} {:<16} {:<18} {:<26} {:>12} {:>12}\n",
        "VNI", "REMOTE", "MAC", "VIA", "TX_PACKETS", "RX_PACKETS"
    );
    for t in v {
        let _ = writeln!(
            s,
            "{:<9} {:<16} {:<18} {:<26} {:>12} {:>12}",
            t.vni, t.remote, t.mac, t.via, t.tx_packets, t.rx_packets
        );
    }
    s
}

pub fn fdb(v: &[FdbEntry]) -> String {
    let mut s = format!(
        "{:<9} {:<18} {:<22} {:<8} {:>8}\n",
        "VNI", "MAC", "WHERE", "TYPE", "AGE_S"
    );
    for e in v {
        let kind = if e.is_static { "static" } else { "learned" };
        let _ = writeln!(
            s,
            "{:<9} {:<18} {:<22} {:<8} {:>8}",
            e.vni, e.mac, e.dest, kind, e.age_secs
        );
    }
    s
}

pub fn arp(v: &[ArpInfo]) -> String {
    let mut s = format!("{:<9} {:<16} {}\n", "VNI", "IP", "MAC");
    for a in v {
        let _ = writeln!(s, "{:<9} {:<16} {}", a.vni, a.ip, a.mac);
    }
    s
}

pub fn nexthops(v: &[NexthopInfo]) -> String {
    let mut s = format!(
        "{:<16} {:<18} {:>6} {:<10} {:>7} {:>12} {:>14}\n",
        "IP", "MAC", "WEIGHT", "STATE", "BUCKETS", "TX_PACKETS", "TX_BYTES"
    );
    for n in v {
        let _ = writeln!(
            s,
            "{:<16} {:<18} {:>6} {:<10} {:>7} {:>12} {:>14}",
            n.ip, n.mac, n.weight, n.state, n.buckets, n.tx_packets, n.tx_bytes
        );
    }
    s
}

pub fn stats(st: &Stats) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "uplink {}  backend {}  vtep {}:{}  mtu {} (overlay {})",
        st.uplink, st.backend, st.vtep, st.udp_port, st.uplink_mtu, st.overlay_mtu
    );
    let _ = writeln!(s, "fdb {}/{} entries\n", st.fdb_entries, st.fdb_capacity);
    let _ = writeln!(
        s,
        "{:<16} {:>8} {:>12} {:>14} {:>12} {:>14} {:>10}",
        "PORT", "VNI", "RX_PACKETS", "RX_BYTES", "TX_PACKETS", "TX_BYTES", "CSUM_FIXED"
    );
    for p in &st.ports {
        let vni = p.vni.map_or("uplink".to_string(), |v| v.to_string());
        let _ = writeln!(
            s,
            "{:<16} {:>8} {:>12} {:>14} {:>12} {:>14} {:>10}",
            p.name, vni, p.rx_packets, p.rx_bytes, p.tx_packets, p.tx_bytes, p.csum_completed
        );
    }
    let _ = writeln!(
        s,
        "\n{:<9} {:>6} {:>13} {:>12} {:>12} {:>12}",
        "VNI", "PORTS", "REMOTE_VTEPS", "RX_PACKETS", "TX_PACKETS", "FDB_ENTRIES"
    );
    for v in &st.vnis {
        let _ = writeln!(
            s,
            "{:<9} {:>6} {:>13} {:>12} {:>12} {:>12}",
            v.vni, v.ports, v.remote_vteps, v.rx_packets, v.tx_packets, v.fdb_entries
        );
    }
    let _ = writeln!(
        s,
        "\n{:<16} {:<18} {:<26} {:>12} {:>14} {:>12}",
        "REMOTE_VTEP", "MAC", "VIA", "TX_PACKETS", "TX_BYTES", "RX_PACKETS"
    );
    for v in &st.vteps {
        let _ = writeln!(
            s,
            "{:<16} {:<18} {:<26} {:>12} {:>14} {:>12}",
            v.ip, v.mac, v.via, v.tx_packets, v.tx_bytes, v.rx_packets
        );
    }
    let _ = writeln!(
        s,
        "\n{:<8} {:>12} {:>12} {:>10} {:>8} {:>8} {:>8} {:>8}",
        "CORE", "RX_PACKETS", "TX_PACKETS", "CYCLES/PKT", "FRAMES", "FREE", "IN_FILL", "IN_TX"
    );
    for w in &st.workers {
        let _ = writeln!(
            s,
            "{:<8} {:>12} {:>12} {:>10} {:>8} {:>8} {:>8} {:>8}",
            w.core,
            w.rx_packets,
            w.tx_packets,
            w.busy_cycles.checked_div(w.busy_packets).unwrap_or(0),
            w.frames_total,
            w.frames_free,
            w.frames_in_fill,
            w.frames_in_tx
        );
    }
    let _ = writeln!(s, "\nCOUNTER                   VALUE");
    for (k, v) in &st.counters {
        let _ = writeln!(s, "{k:<25} {v}");
    }
    s
}

#[cfg(test)]
mod tests {
    //! Golden outputs: each listing rendered from fixed data, as text and as
    //! the JSON `--json` prints, compared with control/golden/NAME.{txt,json}.
    //! After an intended change: `UPDATE_GOLDEN=1 cargo test -p vxctl` and
    //! review the diff.
    use super::*;
    use crate::{PortStats, VniStats, VtepStats, WorkerStats};

    fn golden(name: &str, text: &str, json: &impl serde::Serialize) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("golden");
        let json = serde_json::to_string_pretty(json).unwrap() + "\n";
        for (ext, got) in [("txt", text), ("json", json.as_str())] {
            let path = dir.join(format!("{name}.{ext}"));
            if std::env::var_os("UPDATE_GOLDEN").is_some() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, got).unwrap();
                continue;
            }
            let want = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(got, want, "{} differs", path.display());
        }
    }

    #[test]
    fn vni_list() {
        let v = vec![
            VniInfo {
                vni: 100,
                learning: true,
                mss_clamp: "auto".into(),
                mss: Some(1410),
                ports: vec!["c100".into(), "c101".into()],
                flood: vec!["198.18.0.2".into(), "198.18.0.3".into()],
                static_fdb: 1,
                arp: 2,
            },
            VniInfo {
                vni: 200,
                learning: false,
                mss_clamp: "off".into(),
                mss: None,
                ports: vec![],
                flood: vec![],
                static_fdb: 0,
                arp: 0,
            },
        ];
        golden("vni_list", &vnis(&v), &v);
    }

    #[test]
    fn port_list() {
        let v = vec![
            PortInfo {
                name: "eth0".into(),
                vni: None,
                rx_packets: 10,
                tx_packets: 12,
            },
            PortInfo {
                name: "c100".into(),
                vni: Some(100),
                rx_packets: 7,
                tx_packets: 5,
            },
        ];
        golden("port_list", &ports(&v), &v);
    }

    #[test]
    fn tunnel_list() {
        let v = vec![
            TunnelInfo {
                vni: 100,
                remote: "198.18.0.2".into(),
                mac: "02:00:00:00:02:01".into(),
                via: "kernel, direct".into(),
                tx_packets: 3,
                rx_packets: 4,
            },
            TunnelInfo {
                vni: 100,
                remote: "203.0.113.7".into(),
                mac: "-".into(),
                via: "unresolved".into(),
                tx_packets: 0,
                rx_packets: 0,
            },
        ];
        golden("tunnel_list", &tunnels(&v), &v);
    }

    #[test]
    fn fdb_show() {
        let v = vec![
            FdbEntry {
                vni: 100,
                mac: "02:00:00:00:00:a1".into(),
                dest: "port c100".into(),
                is_static: false,
                age_secs: 3,
            },
            FdbEntry {
                vni: 100,
                mac: "02:00:00:00:00:b1".into(),
                dest: "vtep 198.18.0.2".into(),
                is_static: true,
                age_secs: 0,
            },
        ];
        golden("fdb_show", &fdb(&v), &v);
    }

    #[test]
    fn arp_list() {
        let v = vec![ArpInfo {
            vni: 100,
            ip: "198.19.1.2".into(),
            mac: "02:00:00:00:00:b1".into(),
        }];
        golden("arp_list", &arp(&v), &v);
    }

    #[test]
    fn nexthop_list() {
        let v = vec![
            NexthopInfo {
                ip: "198.18.0.254".into(),
                mac: "02:00:00:00:00:fe".into(),
                weight: 2,
                state: "up".into(),
                buckets: 171,
                tx_packets: 1000,
                tx_bytes: 150000,
            },
            NexthopInfo {
                ip: "198.18.0.253".into(),
                mac: "-".into(),
                weight: 1,
                state: "down".into(),
                buckets: 0,
                tx_packets: 0,
                tx_bytes: 0,
            },
        ];
        golden("nexthop_list", &nexthops(&v), &v);
    }

    #[test]
    fn stats_table() {
        let st = Stats {
            uplink: "eth0".into(),
            backend: "xdp".into(),
            vtep: "198.18.0.1".into(),
            udp_port: 4789,
            uplink_mtu: 1500,
            overlay_mtu: 1450,
            fdb_entries: 2,
            fdb_capacity: 65536,
            counters: [
                ("decap.unknown_vni".to_string(), 1),
                ("encap.packets".to_string(), 9),
            ]
            .into_iter()
            .collect(),
            ports: vec![PortStats {
                name: "c100".into(),
                vni: Some(100),
                rx_packets: 9,
                rx_bytes: 900,
                tx_packets: 8,
                tx_bytes: 800,
                csum_completed: 1,
            }],
            vnis: vec![VniStats {
                vni: 100,
                ports: 1,
                remote_vteps: 1,
                rx_packets: 9,
                tx_packets: 8,
                fdb_entries: 2,
            }],
            vteps: vec![VtepStats {
                ip: "198.18.0.2".into(),
                mac: "02:00:00:00:02:01".into(),
                via: "configured neighbor".into(),
                tx_packets: 9,
                tx_bytes: 1350,
                rx_packets: 8,
            }],
            workers: vec![WorkerStats {
                core: 1,
                rx_packets: 17,
                tx_packets: 17,
                busy_cycles: 17000,
                busy_packets: 17,
                frames_total: 10240,
                frames_free: 2000,
                frames_in_fill: 8240,
                frames_in_tx: 0,
            }],
        };
        golden("stats", &stats(&st), &st);
    }
}
