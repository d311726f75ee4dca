//! What the benchmarks read of a running process (Linux): its `/proc/<pid>/status` fields.

/// A field of `/proc/<pid>/status` in kB (`VmHWM`, `VmRSS`); `None` once the process is gone
/// or when the field is missing.
pub fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// [`status_kb`] in MB.
pub fn status_mb(pid: u32, field: &str) -> Option<f64> {
    status_kb(pid, field).map(|kb| kb as f64 / 1024.0)
}
