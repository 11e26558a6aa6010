//! Time sources for the bench tools: CLOCK_MONOTONIC in nanoseconds (the
//! timestamp a frame carries from generator to sink: both ends are one
//! process, so one clock), the TSC (cycle counts in `xdpfwd`), and the
//! process's CPU time from getrusage (so a harness can see when the
//! generator's core is saturated).

/// CLOCK_MONOTONIC now, in nanoseconds. A vDSO call (~20 ns), no syscall.
#[inline]
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The time-stamp counter, or 0 where there is none (not x86_64).
#[inline]
pub fn rdtsc() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC has no preconditions on x86_64.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        0
    }
}

/// TSC ticks per second, measured against CLOCK_MONOTONIC over `ms`.
pub fn tsc_hz(ms: u64) -> f64 {
    let (t0, c0) = (now_ns(), rdtsc());
    std::thread::sleep(std::time::Duration::from_millis(ms));
    let (t1, c1) = (now_ns(), rdtsc());
    (c1 - c0) as f64 * 1e9 / (t1 - t0).max(1) as f64
}

/// User and system CPU time this process has used, in seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuTime {
    pub user_s: f64,
    pub sys_s: f64,
}

impl CpuTime {
    /// getrusage(RUSAGE_SELF): every thread of the process, kernel time in
    /// our system calls (sendto kicks, and on veth the softirq work they run
    /// inline) included.
    pub fn now() -> CpuTime {
        // SAFETY: an all-zero rusage is a valid value to overwrite.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `ru` is a valid, writable rusage; RUSAGE_SELF always exists.
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
        let secs = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 * 1e-6;
        CpuTime {
            user_s: secs(ru.ru_utime),
            sys_s: secs(ru.ru_stime),
        }
    }

    /// The time used since `earlier`.
    pub fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user_s: self.user_s - earlier.user_s,
            sys_s: self.sys_s - earlier.sys_s,
        }
    }
}
