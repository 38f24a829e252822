//! Entry point of the u7s multi-call binary: everything is decided by the applet
//! dispatcher from argv[0] (see `applets`).

fn main() {
    let code = u7s::applets::main(std::env::args_os().collect());
    std::process::exit(code);
}
