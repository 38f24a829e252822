//! Host facts (read under the root prefix) and the settings derived from them.
//!
//! - `root`: the root prefix every host path is read under (`U7S_ROOT`);
//! - `host`: /etc and /proc parsers and the [`HostFacts`] they give;
//! - `registry`: image registry and platform (`U7S_REGISTRY`, `U7S_PLATFORM`);
//! - `version`: the Kubernetes version and what depends on it;
//! - `network`: IPv4 CIDRs, the service-network addresses, overlap refusals;
//! - `derive`: everything above combined with the kubeadm command line;
//! - `envfile`: the `U7S_*` env file: model, render, parse, atomic write.

pub mod host;
pub mod network;
pub mod root;

pub use host::{HostAddr, HostFacts};
pub use network::{Cidr, CniPlugin};
pub use root::HostRoot;
pub mod registry;
pub mod version;

pub use registry::{EnvInputs, Registry};
pub use version::KubeVersion;
pub mod derive;

pub use derive::{Endpoint, Role, Settings, SettingsInput};
pub mod envfile;

pub use envfile::EnvFile;
