//! vxctl: talks to a running vxswitch over its control socket. The commands
//! and their arguments come from `vxctl::COMMANDS` (see `vxctl::cli`).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Arg, ArgAction, ArgMatches, Command};
use serde::de::DeserializeOwned;
use vxctl::{cli, default_socket, render, Done, Reply, Request, VersionInfo};

fn command() -> Command {
    Command::new("vxctl")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Control a running vxswitch over its Unix socket")
        .after_help(cli::help_text())
        .arg(
            Arg::new("socket")
                .short('s')
                .long("socket")
                .value_name("SOCKET")
                .value_parser(clap::value_parser!(PathBuf))
                .conflicts_with("uplink")
                .help("Control socket of the switch"),
        )
        .arg(
            Arg::new("uplink")
                .long("uplink")
                .value_name("IF")
                .help("Uplink of the switch: selects /run/vxswitch/<IF>.sock"),
        )
        .arg(
            Arg::new("json")
                .long("json")
                .action(ArgAction::SetTrue)
                .global(true)
                .help("Print the reply as JSON (the stable interface for scripts)"),
        )
        .subcommands(cli::commands())
        .subcommand(
            Command::new("help")
                .about("Every command with its arguments")
                .arg(
                    Arg::new("markdown")
                        .long("markdown")
                        .action(ArgAction::SetTrue)
                        .help("As the README's Markdown table"),
                ),
        )
        .disable_help_subcommand(true)
        .subcommand_required(true)
        .arg_required_else_help(true)
}

fn socket_path(m: &ArgMatches) -> Result<PathBuf> {
    if let Some(s) = m.get_one::<PathBuf>("socket") {
        return Ok(s.clone());
    }
    if let Some(u) = m.get_one::<String>("uplink") {
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

fn call(path: &Path, req: &Request) -> Result<serde_json::Value> {
    let mut s = UnixStream::connect(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
            anyhow::anyhow!(
                "no switch listening on {}: is vxswitch running?",
                path.display()
            )
        }
        std::io::ErrorKind::PermissionDenied => anyhow::anyhow!(
            "permission denied on {}: run as root or as a member of the switch's control group",
            path.display()
        ),
        _ => anyhow::anyhow!("connecting to {}: {e}", path.display()),
    })?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut line = serde_json::to_string(req)?;
    line.push('\n');
    // A switch that refuses the peer answers and closes at once: a write
    // that fails then is no reason to miss its answer.
    if let Err(e) = s.write_all(line.as_bytes()) {
        if !matches!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
        ) {
            return Err(e).with_context(|| format!("writing to {}", path.display()));
        }
    }
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

fn decode<T: DeserializeOwned>(data: serde_json::Value) -> Result<T> {
    serde_json::from_value(data).context("the switch's reply has an unexpected shape")
}

fn run() -> Result<()> {
    let m = command().get_matches();
    if let Some(("help", h)) = m.subcommand() {
        if h.get_flag("markdown") {
            print!("{}", cli::markdown_table());
        } else {
            print!("{}", cli::help_text());
        }
        return Ok(());
    }
    let (spec, leaf) = cli::find(&m).context("unknown command: run `vxctl help`")?;
    let req = cli::request(spec, leaf).map_err(|e| anyhow::anyhow!("{e}"))?;
    let path = socket_path(&m)?;
    let data = call(&path, &req)?;
    if m.get_flag("json") {
        println!("{}", serde_json::to_string_pretty(&data)?);
        return Ok(());
    }
    let text = match req {
        Request::Stats {} => render::stats(&decode(data)?),
        Request::FdbShow { .. } => render::fdb(&decode::<Vec<_>>(data)?),
        Request::VniList {} => render::vnis(&decode::<Vec<_>>(data)?),
        Request::PortList {} => render::ports(&decode::<Vec<_>>(data)?),
        Request::TunnelList { .. } => render::tunnels(&decode::<Vec<_>>(data)?),
        Request::ArpList { .. } => render::arp(&decode::<Vec<_>>(data)?),
        Request::NexthopList {} => render::nexthops(&decode::<Vec<_>>(data)?),
        Request::ConfigShow {} => decode::<String>(data)?,
        Request::Version {} => format!(
            "vxctl {}\nvxswitch {}\n",
            env!("CARGO_PKG_VERSION"),
            decode::<VersionInfo>(data)?.version
        ),
        Request::VniAdd { .. }
        | Request::VniDel { .. }
        | Request::VniSet { .. }
        | Request::PortAdd { .. }
        | Request::PortDel { .. }
        | Request::TunnelAdd { .. }
        | Request::TunnelDel { .. }
        | Request::FdbAdd { .. }
        | Request::FdbDel { .. }
        | Request::FdbFlush { .. }
        | Request::ArpAdd { .. }
        | Request::ArpDel { .. }
        | Request::NexthopAdd { .. }
        | Request::NexthopDel { .. }
        | Request::ConfigSave { .. } => decode::<Done>(data)?.message + "\n",
    };
    print!("{text}");
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vxctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}
