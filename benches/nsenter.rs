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

/// Runs `cmd` to completion; returns wall time and the child's peak RSS in KiB.
/// The child is reaped by wait4 (for its rusage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn measure(cmd: &mut Command) -> (Duration, i64) {
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
    (elapsed, usage.ru_maxrss)
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
    for _ in 0..runs {
        let (t, r) = measure(&mut ours());
        t_ours.push(t);
        rss = rss.max(r);
        t_theirs.push(measure(&mut theirs()).0);
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
