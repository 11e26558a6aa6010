//! vxswitch's own XDP programs (bpf/vxswitch.bpf.c, compiled by build.rs),
//! loaded through libbpf: one object per interface, attached once, with the
//! sockets of every worker inserted into its XSKMAP at their queue index.
//!
//! The uplink gets `xdp_uplink`, which redirects only VXLAN to our VTEP
//! address and port and passes everything else to the kernel, so the host
//! keeps its NIC (SSH, ARP, routing). Access ports get `xdp_access`, which
//! redirects everything. Attaching replaces whatever program is there, so a
//! switch restarted after SIGKILL takes over its predecessor's stale program
//! instead of failing; dropping an [`XdpProgram`] detaches it.
//!
//! Thread safety: built and dropped by the main thread; workers only call
//! [`XdpProgram::insert`] (a map update through a file descriptor) and the
//! control thread [`XdpProgram::verdicts`] (a map lookup): both are system
//! calls on fds, safe from any thread.

use std::ffi::{c_void, CString};
use std::net::Ipv4Addr;

use super::xdp::{XdpError, XdpMode};

static OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vxswitch.bpf.o"));

/// What the uplink program did with frames, by reason; same order as
/// `enum verdict` in bpf/vxswitch.bpf.c.
pub const VERDICTS: [&str; 7] = [
    "xdp.redirected",
    "xdp.pass_no_socket",
    "xdp.pass_not_ipv4",
    "xdp.pass_not_udp",
    "xdp.pass_not_ours",
    "xdp.pass_fragment",
    "xdp.pass_malformed",
];

/// Which program an interface gets.
#[derive(Debug, Clone, Copy)]
pub enum Role {
    /// Everything to the switch.
    Access,
    /// Everything to the kernel: only for the side effect that a veth with an
    /// XDP program makes its peer send MTU-sized frames, not GSO super-frames
    /// (used on access ports with `--backend packet`).
    Pass,
    /// Only VXLAN to this address and UDP port (and ARP, when `arp`: the
    /// switch answers for a VTEP address the kernel does not own); the rest
    /// to the kernel.
    Uplink {
        vtep: Ipv4Addr,
        port: u16,
        arp: bool,
    },
}

/// A loaded and attached program with its maps.
pub struct XdpProgram {
    obj: *mut libbpf_sys::bpf_object,
    ifname: String,
    ifindex: i32,
    flags: u32,
    /// How the kernel attached it (asked after attaching, as `Auto` leaves
    /// the choice to the kernel).
    attached: Attached,
    xsks_fd: i32,
    verdicts_fd: i32,
}

/// The mode an attached program runs in, as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attached {
    /// In the driver (XDP_ATTACHED_DRV).
    Native,
    /// On the skb path (XDP_ATTACHED_SKB): with a multi-buffer socket,
    /// frames larger than a UMEM frame arrive as chains.
    Generic,
    /// Anything else the kernel may report (offloaded, or the query failed).
    Other,
}

impl Attached {
    pub fn name(self) -> &'static str {
        match self {
            Attached::Native => "native",
            Attached::Generic => "generic",
            Attached::Other => "other",
        }
    }
}

// SAFETY: the object pointer is only used by `drop` (main thread); the other
// methods use map file descriptors, which the kernel serialises.
unsafe impl Send for XdpProgram {}
// SAFETY: as above: shared use is limited to fd-based map operations.
unsafe impl Sync for XdpProgram {}

fn err(ifname: &str, what: &str, code: i32) -> XdpError {
    XdpError::Program {
        port: ifname.to_string(),
        err: format!("{what}: {}", std::io::Error::from_raw_os_error(code.abs())),
    }
}

impl XdpProgram {
    /// Loads the program for `role`, sizes its socket map for `queues`, and
    /// attaches it to `ifname` in `mode`, replacing any program there.
    pub fn attach(
        ifname: &str,
        role: Role,
        queues: u32,
        mode: XdpMode,
    ) -> Result<XdpProgram, XdpError> {
        let c_if = CString::new(ifname).map_err(|_| err(ifname, "interface name", libc::EINVAL))?;
        // SAFETY: c_if is a valid NUL-terminated string.
        let ifindex = unsafe { libc::if_nametoindex(c_if.as_ptr()) } as i32;
        if ifindex == 0 {
            return Err(err(ifname, "looking up the interface", libc::ENODEV));
        }
        // SAFETY: OBJECT is a valid ELF image that lives for the program's
        // whole life; libbpf copies what it needs. Null opts means defaults.
        let obj = unsafe {
            libbpf_sys::bpf_object__open_mem(
                OBJECT.as_ptr() as *const c_void,
                OBJECT.len() as _,
                std::ptr::null(),
            )
        };
        if obj.is_null() {
            return Err(err(ifname, "opening the BPF object", libc::EINVAL));
        }
        let mut p = XdpProgram {
            obj,
            ifname: ifname.to_string(),
            ifindex,
            flags: mode.attach_flags(),
            attached: Attached::Other,
            xsks_fd: -1,
            verdicts_fd: -1,
        };
        let xsks = p.map("xsks")?;
        // SAFETY: `xsks` is a map of the open, not yet loaded object.
        let r = unsafe { libbpf_sys::bpf_map__set_max_entries(xsks, queues.max(1)) };
        if r != 0 {
            return Err(err(ifname, "sizing the socket map", r));
        }
        // SAFETY: obj is open and not loaded.
        let r = unsafe { libbpf_sys::bpf_object__load(obj) };
        if r != 0 {
            return Err(err(
                ifname,
                "loading the XDP program (root, or CAP_BPF and CAP_NET_ADMIN, is needed)",
                r,
            ));
        }
        // SAFETY: maps of a loaded object have fds.
        p.xsks_fd = unsafe { libbpf_sys::bpf_map__fd(xsks) };
        // SAFETY: as above.
        p.verdicts_fd = unsafe { libbpf_sys::bpf_map__fd(p.map("verdicts")?) };
        let name = match role {
            // Generic mode: super-frames reach the program (see xdp_access_frags).
            Role::Access if matches!(mode, XdpMode::Generic) => "xdp_access_frags",
            Role::Access => "xdp_access",
            Role::Pass => "xdp_pass",
            Role::Uplink { vtep, port, arp } => {
                // SAFETY: as above.
                let cfg_fd = unsafe { libbpf_sys::bpf_map__fd(p.map("cfg")?) };
                // struct config { __u32 vtep_be; __u16 port_be; __u8 arp; __u8 pad; }
                let mut val = [0u8; 8];
                val[..4].copy_from_slice(&vtep.octets());
                val[4..6].copy_from_slice(&port.to_be_bytes());
                val[6] = u8::from(arp);
                let key = 0u32;
                // SAFETY: key and value point at live buffers of the map's sizes (4 and 8).
                let r = unsafe {
                    libbpf_sys::bpf_map_update_elem(
                        cfg_fd,
                        &key as *const u32 as *const c_void,
                        val.as_ptr() as *const c_void,
                        0,
                    )
                };
                if r != 0 {
                    return Err(err(ifname, "configuring the uplink program", r));
                }
                "xdp_uplink"
            }
        };
        let c_name = CString::new(name).expect("no NUL in a constant");
        // SAFETY: obj is loaded; the name is a valid C string.
        let prog = unsafe { libbpf_sys::bpf_object__find_program_by_name(obj, c_name.as_ptr()) };
        if prog.is_null() {
            return Err(err(
                ifname,
                "finding the XDP program in the object",
                libc::ENOENT,
            ));
        }
        // SAFETY: prog belongs to the loaded object.
        let prog_fd = unsafe { libbpf_sys::bpf_program__fd(prog) };
        // No XDP_FLAGS_UPDATE_IF_NOEXIST: a stale program (ours, from a
        // switch that was killed) is replaced rather than refused.
        // SAFETY: plain netlink call with a valid ifindex and program fd.
        let r = unsafe { libbpf_sys::bpf_xdp_attach(ifindex, prog_fd, p.flags, std::ptr::null()) };
        if r != 0 {
            p.flags = u32::MAX; // nothing to detach
            return Err(err(
                ifname,
                &format!("attaching the XDP program ({mode:?} mode)"),
                r,
            ));
        }
        // Where the kernel does not say, the mode asked for (Auto: unknown).
        p.attached = match (query_mode(ifindex), mode) {
            (Attached::Other, XdpMode::Generic) => Attached::Generic,
            (Attached::Other, XdpMode::Native | XdpMode::Zerocopy) => Attached::Native,
            (a, _) => a,
        };
        Ok(p)
    }

    /// How the kernel attached the program.
    pub fn attached(&self) -> Attached {
        self.attached
    }

    fn map(&self, name: &str) -> Result<*mut libbpf_sys::bpf_map, XdpError> {
        let c = CString::new(name).expect("no NUL in a constant");
        // SAFETY: obj is a valid open object; the name is a valid C string.
        let m = unsafe { libbpf_sys::bpf_object__find_map_by_name(self.obj, c.as_ptr()) };
        if m.is_null() {
            return Err(err(
                &self.ifname,
                &format!("finding map {name}"),
                libc::ENOENT,
            ));
        }
        Ok(m)
    }

    /// Points queue `queue`'s frames at the AF_XDP socket `sock_fd`.
    pub fn insert(&self, queue: u32, sock_fd: i32) -> Result<(), XdpError> {
        // SAFETY: key and value point at live u32/i32 of the map's sizes.
        let r = unsafe {
            libbpf_sys::bpf_map_update_elem(
                self.xsks_fd,
                &queue as *const u32 as *const c_void,
                &sock_fd as *const i32 as *const c_void,
                0,
            )
        };
        if r != 0 {
            return Err(err(
                &self.ifname,
                &format!("inserting the socket of queue {queue} into the XSKMAP"),
                r,
            ));
        }
        Ok(())
    }

    /// Frames per verdict since the program was attached, summed over CPUs
    /// (order of [`VERDICTS`]).
    pub fn verdicts(&self) -> [u64; VERDICTS.len()] {
        // SAFETY: no preconditions.
        let cpus = unsafe { libbpf_sys::libbpf_num_possible_cpus() }.max(1) as usize;
        let mut per_cpu = vec![0u64; cpus];
        let mut out = [0u64; VERDICTS.len()];
        for (k, slot) in out.iter_mut().enumerate() {
            let key = k as u32;
            // SAFETY: a per-CPU array's value is one u64 per possible CPU: per_cpu has that many.
            let r = unsafe {
                libbpf_sys::bpf_map_lookup_elem(
                    self.verdicts_fd,
                    &key as *const u32 as *const c_void,
                    per_cpu.as_mut_ptr() as *mut c_void,
                )
            };
            if r == 0 {
                *slot = per_cpu.iter().sum();
            }
        }
        out
    }

    pub fn ifname(&self) -> &str {
        &self.ifname
    }
}

/// The mode of the XDP program attached to `ifindex`, as the kernel reports it.
fn query_mode(ifindex: i32) -> Attached {
    // SAFETY: all-zero is a valid bpf_xdp_query_opts (integers only).
    let mut opts: libbpf_sys::bpf_xdp_query_opts = unsafe { std::mem::zeroed() };
    opts.sz = std::mem::size_of::<libbpf_sys::bpf_xdp_query_opts>() as _;
    // SAFETY: opts is a live, sized options struct the call fills in.
    let r = unsafe { libbpf_sys::bpf_xdp_query(ifindex, 0, &mut opts) };
    match (r, u32::from(opts.attach_mode)) {
        (0, libbpf_sys::XDP_ATTACHED_DRV) => Attached::Native,
        (0, libbpf_sys::XDP_ATTACHED_SKB) => Attached::Generic,
        _ => Attached::Other,
    }
}

impl Drop for XdpProgram {
    fn drop(&mut self) {
        if self.flags != u32::MAX {
            // SAFETY: detaching by ifindex with the flags used to attach.
            unsafe { libbpf_sys::bpf_xdp_detach(self.ifindex, self.flags, std::ptr::null()) };
        }
        // SAFETY: obj came from bpf_object__open_mem and is closed once.
        unsafe { libbpf_sys::bpf_object__close(self.obj) };
    }
}
