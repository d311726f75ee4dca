//! The child processes tests and benchmarks run: one with its standard input given, and what
//! a running one's `/proc/<pid>/status` says (Linux).

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

/// Runs `cmd` to its end with `stdin` as its standard input, capturing stdout and stderr.
pub fn run_with_stdin(mut cmd: Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

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
