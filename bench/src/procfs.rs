//! What the kernel knows about a process (`/proc/<pid>/…`): its memory and CPU time.

use crate::BenchResult;

/// Memory figures of a process, in KiB, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// Peak resident set (VmHWM) since start or since the last `reset_peak`.
    pub hwm: u64,
    pub rss: u64,
    /// Private memory (heap, stacks).
    pub anon: u64,
    /// Shared memory pages touched (for a Postgres backend: shared buffers).
    pub shmem: u64,
}

impl Memory {
    /// The larger of each figure.
    pub fn max(self, other: Memory) -> Memory {
        Memory {
            hwm: self.hwm.max(other.hwm),
            rss: self.rss.max(other.rss),
            anon: self.anon.max(other.anon),
            shmem: self.shmem.max(other.shmem),
        }
    }
}

/// Reads `/proc/<pid>/status`.
pub fn memory(pid: i32) -> BenchResult<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_default()
    };
    Ok(Memory {
        hwm: kib("VmHWM:"),
        rss: kib("VmRSS:"),
        anon: kib("RssAnon:"),
        shmem: kib("RssShmem:"),
    })
}

/// Resets the process's VmHWM to its current RSS; `false` where the kernel refuses.
pub fn reset_peak(pid: i32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// CPU time (user + system) the process has used, in seconds.
pub fn cpu_seconds(pid: i32) -> BenchResult<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or("unreadable /proc/<pid>/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after ')'.
    let ticks = |i: usize| -> f64 { fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(0.0) };
    Ok((ticks(11) + ticks(12)) / CLOCK_TICKS)
}

/// `sysconf(_SC_CLK_TCK)`, 100 on every Linux the project runs on.
const CLOCK_TICKS: f64 = 100.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id() as i32;
        let m = memory(pid).unwrap();
        assert!(m.rss > 0 && m.hwm >= m.rss);
        let spent: u64 = (0..2_000_000u64).map(|i| i ^ (i >> 3)).sum();
        assert!(spent > 0);
        assert!(cpu_seconds(pid).unwrap() >= 0.0);
    }
}
