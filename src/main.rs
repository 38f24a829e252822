//! Entry point of the u7s multi-call binary: everything is decided by the applet
//! dispatcher from argv[0] (see `applets`).

use std::ffi::{CStr, OsString};
use std::os::unix::ffi::OsStringExt;

use nix::libc::{c_char, c_int};

fn main() {
    let args = u7s::argv::original().unwrap_or_else(|| std::env::args_os().collect());
    let code = u7s::applets::main(args);
    std::process::exit(code);
}

/// Before `main`, glibc calls the functions in `.init_array` with argc,
/// argv and envp: keep the arguments, then overwrite the secret values
/// (`--token T`, ...) in place, in the memory the kernel shows as
/// /proc/<pid>/cmdline (see `u7s::argv`).
extern "C" fn hide_secrets(argc: c_int, argv: *mut *mut c_char, _envp: *mut *mut c_char) {
    if argv.is_null() || argc <= 0 {
        return;
    }
    let mut args = Vec::with_capacity(argc as usize);
    for i in 0..argc as usize {
        // SAFETY: glibc passes argc valid pointers to NUL-terminated strings.
        let p = unsafe { *argv.add(i) };
        if p.is_null() {
            return;
        }
        args.push(unsafe { CStr::from_ptr(p) }.to_bytes().to_vec());
    }
    let spans = {
        let views: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        u7s::argv::secret_spans(&views)
    };
    u7s::argv::keep_original(args.into_iter().map(OsString::from_vec).collect());
    for (i, range) in spans {
        // SAFETY: the span lies within argument i, whose bytes are ours to
        // change (the process's own argument area).
        let p = unsafe { *argv.add(i) }.cast::<u8>();
        for k in range {
            unsafe { *p.add(k) = b'*' };
        }
    }
}

#[used]
#[link_section = ".init_array"]
static HIDE_SECRETS: extern "C" fn(c_int, *mut *mut c_char, *mut *mut c_char) = hide_secrets;
