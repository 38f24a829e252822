//! `kubectl ARGS...`: the real kubectl inside the namespaces, as u7s-admin
//! (so its ~/.kube/config is used unless KUBECONFIG is set).

use std::ffi::OsString;

use super::{real_tool, run_inside};
use crate::tools::Tool;

pub fn main(args: Vec<OsString>) -> i32 {
    crate::log::init("kubectl", crate::log::peek_verbosity(&args).unwrap_or(0));
    match real_tool(Tool::Kubectl, args) {
        Ok(inv) => run_inside(inv),
        Err(e) => e.report(),
    }
}
