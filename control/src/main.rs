//! vxctl: talks to a running vxswitch over its control socket.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use vxctl::{default_socket, FdbEntry, Reply, Request, Stats};

/// Control a running vxswitch.
#[derive(Parser)]
#[command(name = "vxctl", version)]
struct Cli {
    /// Control socket of the switch.
    #[arg(short = 's', long, conflicts_with = "uplink")]
    socket: Option<PathBuf>,
    /// Uplink of the switch: selects /run/vxswitch/<uplink>.sock.
    #[arg(long)]
    uplink: Option<String>,
    /// Print the reply as JSON.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Counters: per port, per remote VTEP, per worker, every drop reason.
    Stats,
    /// The forwarding database.
    Fdb {
        #[command(subcommand)]
        command: FdbCommand,
    },
    /// The version of vxctl and of the switch.
    Version,
}

#[derive(Subcommand)]
enum FdbCommand {
    /// List entries: MAC, VNI, where, static or learned, age.
    Show {
        #[arg(long)]
        vni: Option<u32>,
    },
}

fn socket_path(cli: &Cli) -> Result<PathBuf> {
    if let Some(s) = &cli.socket {
        return Ok(s.clone());
    }
    if let Some(u) = &cli.uplink {
        return Ok(default_socket(u));
    }
    let mut socks: Vec<PathBuf> = std::fs::read_dir(vxctl::SOCKET_DIR)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "sock"))
                .collect()
        })
        .unwrap_or_default();
    match socks.len() {
        1 => Ok(socks.remove(0)),
        0 => bail!(
            "no switch listening in {}: is vxswitch running? (or pass -s SOCKET)",
            vxctl::SOCKET_DIR
        ),
        _ => bail!("several switches run here: pick one with --uplink IF or -s SOCKET"),
    }
}

fn call(path: &PathBuf, req: &Request) -> Result<serde_json::Value> {
    let mut s = UnixStream::connect(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
            anyhow::anyhow!(
                "no switch listening on {}: is vxswitch running?",
                path.display()
            )
        }
        _ => anyhow::anyhow!("connecting to {}: {e}", path.display()),
    })?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut line = serde_json::to_string(req)?;
    line.push('\n');
    s.write_all(line.as_bytes())
        .with_context(|| format!("writing to {}", path.display()))?;
    let mut reply = String::new();
    BufReader::new(s)
        .read_line(&mut reply)
        .with_context(|| format!("reading the reply from {}", path.display()))?;
    if reply.is_empty() {
        bail!(
            "the switch on {} closed the connection without a reply",
            path.display()
        );
    }
    let r: Reply =
        serde_json::from_str(&reply).context("the switch sent a reply vxctl cannot read")?;
    if !r.ok {
        bail!(
            "{}",
            r.error
                .unwrap_or_else(|| "the switch refused the request".into())
        );
    }
    Ok(r.data)
}

fn print_stats(s: &Stats) {
    println!(
        "uplink {}  backend {}  vtep {}:{}  mtu {} (overlay {})",
        s.uplink, s.backend, s.vtep, s.udp_port, s.uplink_mtu, s.overlay_mtu
    );
    println!("fdb {}/{} entries", s.fdb_entries, s.fdb_capacity);
    println!();
    println!(
        "{:<16} {:>8} {:>12} {:>14} {:>12} {:>14} {:>10}",
        "PORT", "VNI", "RX_PACKETS", "RX_BYTES", "TX_PACKETS", "TX_BYTES", "CSUM_FIXED"
    );
    for p in &s.ports {
        let vni = p.vni.map_or("uplink".to_string(), |v| v.to_string());
        println!(
            "{:<16} {:>8} {:>12} {:>14} {:>12} {:>14} {:>10}",
            p.name, vni, p.rx_packets, p.rx_bytes, p.tx_packets, p.tx_bytes, p.csum_completed
        );
    }
    println!();
    println!(
        "{:<16} {:<18} {:<24} {:>12} {:>14} {:>12}",
        "REMOTE_VTEP", "MAC", "VIA", "TX_PACKETS", "TX_BYTES", "RX_PACKETS"
    );
    for v in &s.vteps {
        println!(
            "{:<16} {:<18} {:<24} {:>12} {:>14} {:>12}",
            v.ip, v.mac, v.via, v.tx_packets, v.tx_bytes, v.rx_packets
        );
    }
    println!();
    println!(
        "{:<8} {:>12} {:>12} {:>10} {:>8} {:>8} {:>8} {:>8}",
        "CORE", "RX_PACKETS", "TX_PACKETS", "CYCLES/PKT", "FRAMES", "FREE", "IN_FILL", "IN_TX"
    );
    for w in &s.workers {
        println!(
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
    println!();
    println!("COUNTER                   VALUE");
    for (k, v) in &s.counters {
        println!("{k:<25} {v}");
    }
}

fn run(cli: Cli) -> Result<()> {
    let path = socket_path(&cli)?;
    let req = match &cli.command {
        Command::Stats => Request::Stats {},
        Command::Fdb {
            command: FdbCommand::Show { vni },
        } => Request::FdbShow { vni: *vni },
        Command::Version => Request::Version {},
    };
    let data = call(&path, &req)?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&data)?);
        return Ok(());
    }
    match req {
        Request::Stats {} => print_stats(&serde_json::from_value(data).context("decoding stats")?),
        Request::FdbShow { .. } => {
            let entries: Vec<FdbEntry> =
                serde_json::from_value(data).context("decoding fdb entries")?;
            println!(
                "{:<8} {:<18} {:<22} {:<8} {:>8}",
                "VNI", "MAC", "WHERE", "TYPE", "AGE_S"
            );
            for e in entries {
                let kind = if e.is_static { "static" } else { "learned" };
                println!(
                    "{:<8} {:<18} {:<22} {:<8} {:>8}",
                    e.vni, e.mac, e.dest, kind, e.age_secs
                );
            }
        }
        Request::Version {} => {
            println!("vxctl {}", env!("CARGO_PKG_VERSION"));
            println!("vxswitch {}", data.as_str().unwrap_or("?"));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vxctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}
