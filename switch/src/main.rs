//! vxswitch: one process per uplink NIC. Parses the command line and the
//! config, checks the host, builds the first running state, opens the ports
//! on pinned workers, then serves the control socket until SIGINT/SIGTERM.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, ValueEnum};
use vxswitch::config::Config;
use vxswitch::control::{self, Control, ControlGroup, SocketFile, WorkerInfo};
use vxswitch::port::packet::{PacketBackend, UplinkFilter};
use vxswitch::port::xdp::{XdpBackend, XdpMode};
use vxswitch::port::xdp_prog::{Role, XdpProgram};
use vxswitch::port::Backend;
use vxswitch::state::State;
use vxswitch::underlay::Resolver;
use vxswitch::worker::{self, Command, Idle};
use vxswitch::{fdb::Fdb, host, Shared};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendKind {
    /// AF_XDP sockets (xsk-rs): the fast path.
    Xdp,
    /// AF_PACKET sockets (pnet): for hosts without AF_XDP; one worker.
    Packet,
}

/// Userspace VXLAN overlay switch on AF_XDP.
#[derive(Parser, Debug)]
#[command(name = "vxswitch", version)]
struct Cli {
    /// The NIC facing the underlay.
    #[arg(long, required_unless_present = "check_config")]
    uplink: Option<String>,
    /// Cores to run one pinned worker on each: `0`, `2,3`, `2-5`.
    #[arg(long, required_unless_present = "check_config")]
    cores: Option<String>,
    /// Start-up configuration (TOML; see configs/README.md).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Control socket [default: /run/vxswitch/<uplink>.sock].
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Port backend.
    #[arg(long, value_enum, default_value_t = BackendKind::Xdp)]
    backend: BackendKind,
    /// How AF_XDP attaches: auto, generic (SKB, copy), native (driver), zerocopy.
    #[arg(long, value_enum, default_value_t = XdpMode::Auto)]
    xdp_mode: XdpMode,
    /// Spin when idle without yielding or napping (lowest latency, a full
    /// core per worker); by default a worker polls, yielding its core, for
    /// 1 ms after its last frame, then sleeps until the next one.
    #[arg(long)]
    busy_poll: bool,
    /// Validate a config file and exit; touches no interface.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["uplink", "cores", "config"])]
    check_config: Option<PathBuf>,
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("vxswitch: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    if let Some(path) = &cli.check_config {
        Config::load(path).map_err(|e| anyhow!("{e}"))?;
        println!("{}: ok", path.display());
        return Ok(());
    }
    let uplink = cli.uplink.clone().expect("clap requires --uplink");
    let cores = host::parse_cores(cli.cores.as_deref().expect("clap requires --cores"))?;
    let config = match &cli.config {
        Some(p) => Config::load(p).map_err(|e| anyhow!("{e}"))?,
        None => Config::default(),
    };
    let info = host::uplink_info(&uplink)?;
    let mut port_names = vec![uplink.clone()];
    for p in &config.ports {
        host::require_interface(&p.name)
            .with_context(|| format!("access port {} in the config", p.name))?;
        port_names.push(p.name.clone());
    }
    if cli.backend == BackendKind::Packet && cores.len() > 1 {
        bail!("--backend packet runs one worker: list one core in --cores");
    }
    if cli.backend == BackendKind::Xdp {
        for p in &port_names {
            let q = host::queue_count(p);
            if q < cores.len() {
                return Err(host::HostError::TooFewQueues {
                    port: p.clone(),
                    queues: q,
                    workers: cores.len(),
                }
                .into());
            }
        }
    }
    // The kernel keeps the uplink and answers ARP for its own addresses; the
    // switch answers only for a VTEP address the kernel does not have.
    let kernel_addrs = host::ipv4_addrs(&uplink);
    let vtep_is_kernels = config
        .underlay
        .vtep
        .is_none_or(|v| kernel_addrs.contains(&v));
    if !vtep_is_kernels {
        eprintln!(
            "vxswitch: vtep {} is not an address of {uplink}: the switch answers ARP for it itself",
            config.underlay.vtep.expect("checked above")
        );
    }
    let group = config
        .control
        .group
        .as_deref()
        .map(ControlGroup::lookup)
        .transpose()
        .map_err(|e| anyhow!("{e}"))?;
    let state = State::build(&config, &info, !vtep_is_kernels)?;
    let fdb = Fdb::new(config.fdb.capacity as usize);
    state.install_static(&fdb).map_err(|_| {
        anyhow!(
            "the static FDB entries do not fit fdb.capacity {}",
            config.fdb.capacity
        )
    })?;
    let shared = Arc::new(Shared::new(state, fdb));
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handlers")?;
    }
    let socket_path = cli
        .socket
        .clone()
        .unwrap_or_else(|| vxctl::default_socket(&uplink));
    let listener = control::bind(&socket_path, group.as_ref())
        .with_context(|| format!("binding the control socket {}", socket_path.display()))?;
    let _socket_file = SocketFile(socket_path.clone());

    // A bound UDP socket on the VTEP port keeps the kernel from answering our
    // VXLAN traffic with ICMP port unreachable while AF_PACKET only taps it.
    let _udp_guard = if cli.backend == BackendKind::Packet {
        let st = shared.state.load();
        Some(
            std::net::UdpSocket::bind((st.vtep_ip, st.udp_port)).with_context(|| {
                format!(
                    "binding UDP {}:{} (is the kernel's vxlan device or another switch using it?)",
                    st.vtep_ip, st.udp_port
                )
            })?,
        )
    } else {
        None
    };

    vxswitch::port::xdp::quiet_libraries();
    // One XDP program per interface, attached before any socket exists and
    // detached (dropped) after every worker has closed its sockets.
    let mut progs: Vec<Arc<XdpProgram>> = Vec::new();
    if cli.backend == BackendKind::Xdp {
        let st = shared.state.load();
        for (i, name) in port_names.iter().enumerate() {
            let role = if i == 0 {
                Role::Uplink {
                    vtep: st.vtep_ip,
                    port: st.udp_port,
                    arp: st.answer_vtep_arp,
                }
            } else {
                Role::Access
            };
            let queues = host::queue_count(name) as u32;
            let mode = cli.xdp_mode.for_port(name, cores.len());
            progs.push(Arc::new(XdpProgram::attach(name, role, queues, mode)?));
        }
    }
    // AF_PACKET: a pass-everything XDP program on each port (uplink too: a
    // peer's vxlan device sends GSO frames as well) makes the kernel segment
    // GSO frames before the socket sees them. Best effort: a host without XDP
    // still runs, with GSO super-frames dropped as rx.oversize.
    let mut pass_progs: Vec<(String, XdpProgram)> = Vec::new();
    if cli.backend == BackendKind::Packet {
        for name in &port_names {
            match XdpProgram::attach(name, Role::Pass, 1, XdpMode::Auto) {
                Ok(p) => pass_progs.push((name.clone(), p)),
                Err(e) => eprintln!(
                    "vxswitch: {e}: GSO frames from {name} will be dropped (rx.oversize); turn off TSO/GSO on its peer"
                ),
            }
        }
    }
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
    let mut handles = Vec::new();
    let mut infos = Vec::new();
    let mut commands = Vec::new();
    for (queue, &core) in cores.iter().enumerate() {
        let info = Arc::new(WorkerInfo::new(core));
        infos.push(info.clone());
        let (cmd_tx, cmd_rx) = mpsc::channel::<Command>();
        commands.push(cmd_tx);
        let (shared, stop, ready, names) = (
            shared.clone(),
            stop.clone(),
            ready_tx.clone(),
            port_names.clone(),
        );
        let progs = progs.clone();
        let filter = {
            let st = shared.state.load();
            UplinkFilter {
                vtep: st.vtep_ip,
                port: st.udp_port,
                arp: st.answer_vtep_arp,
            }
        };
        let (backend, mode, idle) = (
            cli.backend,
            cli.xdp_mode,
            if cli.busy_poll {
                Idle::Busy
            } else {
                Idle::Adaptive
            },
        );
        let h = std::thread::Builder::new()
            .name(format!("vxswitch-w{queue}"))
            .spawn(move || {
                if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
                    let _ =
                        ready.send(Err(format!("pinning worker {queue} to core {core} failed")));
                    return;
                }
                match backend {
                    BackendKind::Xdp => {
                        match XdpBackend::open(&names, &progs, queue as u32, mode) {
                            Ok(mut b) => {
                                set_fds(&info, b.socket_fds());
                                let _ = ready.send(Ok(()));
                                let fds = |b: &XdpBackend| b.socket_fds();
                                drive(&mut b, &shared, &info, &stop, idle, &cmd_rx, fds);
                            }
                            Err(e) => {
                                let _ = ready.send(Err(e.to_string()));
                            }
                        }
                    }
                    BackendKind::Packet => match PacketBackend::open(&names, filter) {
                        Ok(mut b) => {
                            let _ = ready.send(Ok(()));
                            let fds = |_: &PacketBackend| Vec::new();
                            drive(&mut b, &shared, &info, &stop, idle, &cmd_rx, fds);
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e));
                        }
                    },
                }
            })
            .context("spawning a worker thread")?;
        handles.push(h);
    }
    drop(ready_tx);
    let mut failure = None;
    for _ in 0..cores.len() {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                failure.get_or_insert(e);
            }
            Err(_) => {
                failure.get_or_insert("a worker exited during start-up".into());
            }
        }
    }
    if let Some(e) = failure {
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            let _ = h.join();
        }
        bail!("{e}");
    }
    {
        let st = shared.state.load();
        eprintln!(
            "vxswitch: running on {} ({} backend, vtep {}:{}, mtu {} / overlay {}), {} worker(s) on cores {:?}, control socket {}",
            uplink,
            match cli.backend {
                // How the kernel attached each port's program.
                BackendKind::Xdp => format!(
                    "xdp [{}]",
                    progs
                        .iter()
                        .map(|p| format!("{} {}", p.ifname(), p.attached().name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                BackendKind::Packet => "packet".to_string(),
            },
            st.vtep_ip,
            st.udp_port,
            st.uplink_mtu,
            st.overlay_mtu(),
            cores.len(),
            cores,
            socket_path.display()
        );
    }
    let backend = match cli.backend {
        BackendKind::Xdp => control::BackendKind::Xdp(cli.xdp_mode),
        BackendKind::Packet => control::BackendKind::Packet,
    };
    // Workers are pinned; the control thread (this one) keeps off their cores.
    if host::avoid_cores(&cores).is_none() {
        eprintln!(
            "vxswitch: --cores takes every core: the control thread shares them with the workers"
        );
    }
    let mut ctl = Control::new(
        shared.clone(),
        infos,
        commands,
        backend,
        info,
        !vtep_is_kernels,
        cli.config.clone(),
        group,
    );
    ctl.uplink_prog = progs.first().cloned();
    for (name, p) in port_names.iter().zip(&progs).skip(1) {
        ctl.port_progs.insert(name.clone(), p.clone());
    }
    drop(progs);
    // Access ports' pass programs go with their port on `port del`.
    let mut uplink_pass = None;
    for (name, p) in pass_progs {
        if name == uplink {
            uplink_pass = Some(p);
        } else {
            ctl.port_progs.insert(name, Arc::new(p));
        }
    }
    // Remote VTEPs with no configured MAC are resolved from the kernel (now
    // or after a live change), over netlink.
    let c_uplink = std::ffi::CString::new(uplink.as_str()).context("uplink name")?;
    // SAFETY: c_uplink is a valid NUL-terminated string.
    let ifindex = unsafe { libc::if_nametoindex(c_uplink.as_ptr()) };
    // ARP on the uplink: next-hop probes, and the switch's own resolution
    // of remote VTEPs and their gateways.
    {
        let st = shared.state.load();
        match vxswitch::probe::ArpSocket::open(&uplink, st.uplink_mac, st.vtep_ip) {
            Ok(a) => ctl.arp = Some(a),
            Err(e) => eprintln!(
                "vxswitch: no ARP socket on {uplink} ({e}): next hops are not probed; remote VTEPs are resolved by the kernel"
            ),
        }
    }
    match Resolver::new(&uplink, ifindex) {
        Ok(r) => ctl.resolver = Some(r),
        Err(e) => eprintln!(
            "vxswitch: netlink unavailable ({e}): remote VTEPs need a neighbor entry or next hops"
        ),
    }
    let served = ctl.serve(listener, &stop);
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
    drop(ctl);
    drop(uplink_pass);
    served.context("serving the control socket")?;
    eprintln!("vxswitch: stopped");
    Ok(())
}

/// Runs a worker; after a port change, `fds` gives its AF_XDP sockets again
/// (for their drop statistics).
fn drive<B: Backend>(
    b: &mut B,
    shared: &Shared,
    info: &WorkerInfo,
    stop: &AtomicBool,
    idle: Idle,
    cmds: &mpsc::Receiver<Command>,
    fds: impl Fn(&B) -> Vec<i32>,
) {
    worker::run(b, shared, &info.counters, stop, idle, cmds, |b, changed| {
        if changed {
            set_fds(info, fds(b));
        }
        info.publish(b.frames());
    });
}

fn set_fds(info: &WorkerInfo, fds: Vec<i32>) {
    if let Ok(mut v) = info.xsk_fds.lock() {
        *v = fds;
    }
}
