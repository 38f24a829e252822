//! `u7s generate-docs OUTDIR`: writes the man pages and shell completions
//! (see `crate::docs`). A build step, hidden from the usage listing.

use std::ffi::OsString;
use std::path::PathBuf;

pub fn main(args: Vec<OsString>) -> i32 {
    crate::log::init("generate-docs", 0);
    let argv = std::iter::once(OsString::from("generate-docs")).chain(args);
    let parsed = match crate::docs::generate_docs().try_get_matches_from(argv) {
        Ok(parsed) => parsed,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let outdir = parsed
        .get_one::<PathBuf>("outdir")
        .expect("required by clap");
    let written = crate::docs::write_all(outdir).map_err(|e| {
        crate::error::Error::fail(crate::tr!("docs-cannot-write", outdir.display(), e))
    });
    crate::error::exit(written.map(|files| {
        for file in files {
            println!("{}", outdir.join(file).display());
        }
        0
    }))
}
