//! `extraArgs`: one internal representation (an ordered list of flag name and
//! value), rendered per kubeadm API version.
//!
//! - `kubeadm.k8s.io/v1beta3`: a map `{flag-name: value}`;
//! - `kubeadm.k8s.io/v1beta4`: a list `[{name: flag-name, value: value}]`.
//!
//! Flag names are written without leading dashes, as kubeadm expects.

use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use super::KubeadmApi;

/// Command-line arguments for a control-plane component or the kubelet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraArgs {
    api: KubeadmApi,
    args: Vec<(String, String)>,
}

impl ExtraArgs {
    pub fn new(api: KubeadmApi) -> Self {
        ExtraArgs {
            api,
            args: Vec::new(),
        }
    }

    /// Set `name` to `value`. A name given twice keeps one entry, the last value:
    /// the map form of v1beta3 cannot hold duplicates, and the two renderings
    /// must mean the same thing.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let name = name.into();
        let value = value.into();
        match self.args.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = value,
            None => self.args.push((name, value)),
        }
        self
    }

    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set(name, value);
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.args.is_empty()
    }

    pub fn len(&self) -> usize {
        self.args.len()
    }

    pub fn api(&self) -> KubeadmApi {
        self.api
    }
}

/// One `{name, value}` entry of the v1beta4 list form.
struct Arg<'a> {
    name: &'a str,
    value: &'a str,
}

impl Serialize for Arg<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Arg", 2)?;
        s.serialize_field("name", self.name)?;
        s.serialize_field("value", self.value)?;
        s.end()
    }
}

impl Serialize for ExtraArgs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.api {
            KubeadmApi::V1Beta3 => {
                let mut map = serializer.serialize_map(Some(self.args.len()))?;
                for (name, value) in &self.args {
                    map.serialize_entry(name, value)?;
                }
                map.end()
            }
            KubeadmApi::V1Beta4 => {
                let mut seq = serializer.serialize_seq(Some(self.args.len()))?;
                for (name, value) in &self.args {
                    seq.serialize_element(&Arg { name, value })?;
                }
                seq.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::Value;

    fn sample(api: KubeadmApi) -> ExtraArgs {
        ExtraArgs::new(api)
            .with("allocate-node-cidrs", "true")
            .with("cluster-cidr", "10.244.0.0/16")
            .with("cluster-cidr", "10.245.0.0/16")
    }

    #[test]
    fn v1beta3_renders_a_map_and_keeps_the_last_value() {
        let v = crate::yaml::to_value(sample(KubeadmApi::V1Beta3)).unwrap();
        let m = v.as_mapping().expect("map form");
        assert_eq!(m.len(), 2);
        // A string "true", not a YAML bool: kubeadm's map is map[string]string.
        assert_eq!(m["allocate-node-cidrs"], Value::from("true"));
        assert_eq!(m["cluster-cidr"], Value::from("10.245.0.0/16"));
    }

    #[test]
    fn v1beta4_renders_a_name_value_list_in_order() {
        let v = crate::yaml::to_value(sample(KubeadmApi::V1Beta4)).unwrap();
        let s = v.as_sequence().expect("list form");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0]["name"], Value::from("allocate-node-cidrs"));
        assert_eq!(s[0]["value"], Value::from("true"));
        assert_eq!(s[1]["name"], Value::from("cluster-cidr"));
        assert_eq!(s[1]["value"], Value::from("10.245.0.0/16"));
    }

    #[test]
    fn a_string_true_stays_a_string_in_the_rendered_text() {
        let text = crate::yaml::to_string(&sample(KubeadmApi::V1Beta3)).unwrap();
        let back: Value = crate::yaml::from_str(&text).unwrap();
        assert!(back["allocate-node-cidrs"].is_string(), "{text}");
    }
}
