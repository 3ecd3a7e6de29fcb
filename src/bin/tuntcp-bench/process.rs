//! What the server process costs, read from /proc: CPU time and resident
//! memory. Reading another process's figures needs no cooperation from it,
//! so the kernel's echo server and ours are measured the same way.

use std::io;

/// CPU seconds (user + system, all threads) the process has used so far.
pub fn cpu_seconds(pid: u32) -> io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces; the fields after it are
    // plain numbers. utime and stime are fields 14 and 15 (proc(5)).
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| io::Error::other("unexpected /proc/PID/stat"))?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| -> io::Result<f64> {
        fields
            .get(index)
            .and_then(|f| f.parse::<f64>().ok())
            .ok_or_else(|| io::Error::other("unexpected /proc/PID/stat"))
    };
    // Field 3 (state) is index 0 here, so field N is index N - 3.
    let total = ticks(14 - 3)? + ticks(15 - 3)?;
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok(total / per_second)
}

/// Resident set size in KiB (VmRSS).
pub fn rss_kib(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::other("no VmRSS in /proc/PID/status"))
}

/// Raises this process's open-file limit so it can hold tens of thousands
/// of connections: to `fs.nr_open` where allowed (root), else to the hard
/// limit. Returns the limit now in force.
pub fn raise_fd_limit() -> io::Result<libc::rlim_t> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|text| text.trim().parse::<libc::rlim_t>().ok());
    // SAFETY: each call takes a pointer to a live rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(io::Error::last_os_error());
        }
        if let Some(most) = nr_open.filter(|&most| most > limit.rlim_max) {
            let raised = libc::rlimit {
                rlim_cur: most,
                rlim_max: most,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return Ok(most);
            }
        }
        limit.rlim_cur = limit.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(limit.rlim_cur)
}

/// Sets the kernel's congestion control of `listener` (TCP_CONGESTION,
/// tcp(7)); accepted connections inherit it. Root may pick any algorithm
/// the kernel has, including those a network namespace's
/// `tcp_allowed_congestion_control` leaves out.
pub fn set_congestion_control(listener: &std::net::TcpListener, name: &str) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: setsockopt(2) on a socket we own, with a pointer and length
    // of a live byte slice.
    let rc = unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            name.as_ptr().cast(),
            name.len() as libc::socklen_t,
        )
    };
    if rc != 0 {
        let err = io::Error::last_os_error();
        return Err(io::Error::new(
            err.kind(),
            format!("congestion control {name}: {err}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_figures() {
        let me = std::process::id();
        assert!(rss_kib(me).unwrap() > 0);
        assert!(cpu_seconds(me).unwrap() >= 0.0);
    }
}
