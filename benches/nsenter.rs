//! `nsenter_u7s true` against util-linux `nsenter -U --preserve-credentials -m
//! -n -C -p -i -u -t PID true`, in one run on the same real rootlesskit
//! namespaces (as root, like the end-to-end tests). Prints the median ratio,
//! the stripped binary size and the peak RSS of `nsenter_u7s true`.
//!
//!     cargo bench --bench nsenter            # BENCH_RUNS=N changes the 300 runs
//!
//! The two commands alternate, so drift of the machine hits both alike.

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::libc;
use support::*;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Runs `cmd` to completion; returns wall time, the child's peak RSS in KiB
/// and the CPU time (user + system) of the child and its children.
/// The child is reaped by wait4 (for its rusage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn measure(cmd: &mut Command) -> (Duration, i64, Duration) {
    let start = Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: plain wait4 on our own child with valid out-pointers.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    assert_eq!(pid, child.id() as i32);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{cmd:?} failed"
    );
    let cpu = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (
        elapsed,
        usage.ru_maxrss,
        cpu(usage.ru_utime) + cpu(usage.ru_stime),
    )
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("nsenter benchmark: run it with `cargo bench --bench nsenter`");
        return;
    }
    if !require_host() {
        return;
    }
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let rk = rootlesskit();
    let pid = rk.child_pid().to_string();
    let ours = || {
        let mut c = rk.cmd(Who::Root, "nsenter_u7s");
        c.arg("true");
        c
    };
    let theirs = || {
        let mut c = Command::new("/usr/bin/nsenter");
        c.args([
            "-U",
            "--preserve-credentials",
            "-m",
            "-n",
            "-C",
            "-p",
            "-i",
            "-u",
            "-t",
            &pid,
            "true",
        ]);
        c
    };
    // Warm the page cache and the dynamic loader for both.
    for _ in 0..10 {
        measure(&mut ours());
        measure(&mut theirs());
    }
    let (mut t_ours, mut t_theirs, mut rss) = (Vec::new(), Vec::new(), 0);
    let (mut cpu_ours, mut cpu_theirs) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..runs {
        let (t, r, cpu) = measure(&mut ours());
        t_ours.push(t);
        rss = rss.max(r);
        cpu_ours += cpu;
        let (t, _, cpu) = measure(&mut theirs());
        t_theirs.push(t);
        cpu_theirs += cpu;
    }
    let (m_ours, m_theirs) = (median(t_ours), median(t_theirs));
    let stripped = rk.tree.root.join("u7s.stripped");
    std::fs::copy(rk.tree.applet("u7s"), &stripped).unwrap();
    let strip = Command::new("strip").arg(&stripped).status();
    let size = std::fs::metadata(&stripped).unwrap().len();
    println!("runs:                     {runs} each, alternating");
    println!(
        "nsenter_u7s true median:  {:.3} ms",
        m_ours.as_secs_f64() * 1e3
    );
    println!(
        "util-linux nsenter median: {:.3} ms",
        m_theirs.as_secs_f64() * 1e3
    );
    println!(
        "ratio u7s/util-linux:     {:.3} (target <= 1.10)",
        m_ours.as_secs_f64() / m_theirs.as_secs_f64()
    );
    // Wall time on a loaded machine also counts waiting for a core; the CPU
    // time says whether the difference is work of our own.
    println!(
        "CPU time per run (user+sys): {:.3} ms vs {:.3} ms, ratio {:.3}",
        cpu_ours.as_secs_f64() * 1e3 / runs as f64,
        cpu_theirs.as_secs_f64() * 1e3 / runs as f64,
        cpu_ours.as_secs_f64() / cpu_theirs.as_secs_f64()
    );
    println!(
        "load average at the end:  {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!(
        "stripped binary size:     {:.2} MiB{} (target <= 5 MiB)",
        size as f64 / (1 << 20) as f64,
        if strip.map(|s| s.success()).unwrap_or(false) {
            ""
        } else {
            " (strip failed: unstripped)"
        }
    );
    println!(
        "peak RSS nsenter_u7s:     {:.2} MiB (target <= 4 MiB)",
        rss as f64 / 1024.0
    );
}
