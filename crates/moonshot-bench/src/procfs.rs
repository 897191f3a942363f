//! The process's resident memory and CPU time, read from `/proc/self` (Linux), so that no
//! foreign function call is needed.

use std::io;
use std::time::Duration;

/// The resident set size now and its peak, in KiB as the kernel reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resident {
    /// `VmRSS`: resident now.
    pub now_kib: u64,
    /// `VmHWM`: the peak since the process started or the peak was last reset.
    pub peak_kib: u64,
}

/// This process's resident memory.
pub fn resident() -> io::Result<Resident> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    parse_status(&status).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "/proc/self/status has no VmRSS or VmHWM line",
        )
    })
}

/// Resets the peak (`VmHWM`) to the current resident size, so that a peak read later belongs
/// to what ran after the reset, not to setup. Linux 4.0 or newer.
pub fn reset_peak() -> io::Result<()> {
    std::fs::write("/proc/self/clear_refs", "5")
}

/// CPU time used so far by this process's live threads (`/proc/self/task/*/schedstat`, in
/// nanoseconds, unlike the clock ticks of `/proc/self/stat`). Threads that have exited are not
/// counted, so callers compare two readings around work done by long-lived threads.
pub fn cpu_time() -> io::Result<Duration> {
    let mut nanos = 0u64;
    for task in std::fs::read_dir("/proc/self/task")? {
        // A thread may exit between the listing and the read; it has nothing more to add.
        let Ok(schedstat) = std::fs::read_to_string(task?.path().join("schedstat")) else {
            continue;
        };
        nanos += parse_schedstat(&schedstat)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unreadable schedstat"))?;
    }
    Ok(Duration::from_nanos(nanos))
}

fn parse_schedstat(schedstat: &str) -> Option<u64> {
    schedstat.split_whitespace().next()?.parse().ok()
}

fn parse_status(status: &str) -> Option<Resident> {
    let field = |name: &str| {
        status.lines().find_map(|line| {
            let value = line.strip_prefix(name)?.strip_prefix(':')?;
            value.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
        })
    };
    Some(Resident {
        now_kib: field("VmRSS")?,
        peak_kib: field("VmHWM")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rss_and_peak_from_status() {
        let status = "Name:\tx\nVmPeak:\t  99999 kB\nVmHWM:\t    5120 kB\nVmRSS:\t    4096 kB\n";
        assert_eq!(
            parse_status(status),
            Some(Resident {
                now_kib: 4096,
                peak_kib: 5120
            })
        );
        assert_eq!(parse_status("VmRSS:\t1 kB\n"), None);
    }

    #[test]
    fn reads_cpu_nanoseconds_from_schedstat() {
        assert_eq!(parse_schedstat("123456 789 10\n"), Some(123_456));
        assert_eq!(parse_schedstat(""), None);
        let spent = cpu_time().expect("Linux has /proc/self/task");
        assert!(spent > Duration::ZERO);
    }

    #[test]
    fn this_process_has_a_resident_size() {
        let resident = resident().expect("Linux has /proc/self/status");
        assert!(resident.now_kib > 0 && resident.peak_kib >= resident.now_kib);
    }
}
