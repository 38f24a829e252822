//! Golden-style tests: render, re-parse as YAML values, check the fields.

use crate::yaml::Value;

use super::*;
use crate::yaml::parse_documents;

const VERSIONS: [(&str, u32); 3] = [("v1.26.3", 26), ("v1.30.2", 30), ("v1.31.1", 31)];
const TOKEN: &str = "abcdef.0123456789abcdef";
const HASH: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const KEY: &str = "f8902e114ef118304e561c3ecd4d0b543adc226b7a07f675f56564185ffe0c07";

fn input(role: Role, version: &str, minor: u32) -> ConfigInput {
    let joining = role != Role::InitMaster;
    ConfigInput {
        role,
        kubernetes_version: version.to_string(),
        minor,
        image_repository: "registry.local/k8s-p10".to_string(),
        advertise_address: "192.168.122.57".to_string(),
        bind_port: 6443,
        control_plane_endpoint: (!joining).then(|| "192.168.122.57:6443".to_string()),
        join_endpoint: joining.then(|| "192.168.122.10:6443".to_string()),
        token: joining.then(|| TOKEN.to_string()),
        ca_cert_hashes: if joining {
            vec![HASH.to_string()]
        } else {
            vec![]
        },
        unsafe_skip_ca_verification: false,
        certificate_key: (role == Role::ControlPlaneJoin).then(|| KEY.to_string()),
        node_name: Some("host-57".to_string()),
        pod_subnet: "10.244.0.0/16".to_string(),
        service_subnet: "10.96.0.0/12".to_string(),
        service_dns_domain: None,
        cert_sans: vec!["k8s.example.org".to_string()],
        cert_dir: None,
        feature_gates: None,
        patches_dir: None,
        skip_phases: vec![],
        token_ttl: None,
        discovery_file: None,
        discovery_timeout: None,
        tls_bootstrap_token: None,
        kubelet_extra_args: vec![],
        cluster_dns: "10.96.0.10".to_string(),
        kubelet_volume_plugin_dir: None,
    }
}

fn parse(text: &str) -> Vec<Value> {
    assert!(text.starts_with("---\n"), "{text}");
    parse_documents(text).unwrap()
}

fn kinds(docs: &[Value]) -> Vec<&str> {
    docs.iter().map(|d| d["kind"].as_str().unwrap()).collect()
}

fn doc<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {docs:?}"))
}

fn s(v: &str) -> Value {
    Value::from(v)
}

fn strings(v: &[&str]) -> Value {
    Value::Sequence(v.iter().map(|x| s(x)).collect())
}

/// An extraArgs value (either form) as ordered (name, value) pairs, checking
/// that its form is the one of `api`.
fn extra_args(v: &Value, api: KubeadmApi) -> Vec<(String, String)> {
    match api {
        KubeadmApi::V1Beta3 => v
            .as_mapping()
            .unwrap_or_else(|| panic!("v1beta3 extraArgs must be a map: {v:?}"))
            .iter()
            .map(|(k, v)| {
                let v = v.as_str().expect("string values");
                (k.as_str().unwrap().to_string(), v.to_string())
            })
            .collect(),
        KubeadmApi::V1Beta4 => v
            .as_sequence()
            .unwrap_or_else(|| panic!("v1beta4 extraArgs must be a list: {v:?}"))
            .iter()
            .map(|e| {
                assert_eq!(e.as_mapping().unwrap().len(), 2, "{e:?}");
                let name = e["name"].as_str().unwrap().to_string();
                (
                    name,
                    e["value"].as_str().expect("string values").to_string(),
                )
            })
            .collect(),
    }
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn the_default_input_is_refused() {
    assert!(render(&ConfigInput::default()).is_err());
    let mut i = input(Role::InitMaster, "v1.30.2", 30);
    i.pod_subnet = " ".to_string();
    assert!(render(&i).unwrap_err().to_string().contains("pod network"));
}

#[test]
fn api_version_by_minor() {
    assert!(KubeadmApi::for_minor(25).is_err());
    assert_eq!(KubeadmApi::for_minor(26).unwrap(), KubeadmApi::V1Beta3);
    assert_eq!(KubeadmApi::for_minor(30).unwrap(), KubeadmApi::V1Beta3);
    assert_eq!(KubeadmApi::for_minor(31).unwrap(), KubeadmApi::V1Beta4);
    assert_eq!(KubeadmApi::for_minor(32).unwrap(), KubeadmApi::V1Beta4);
    assert!(KubeadmApi::V1Beta3.accepted_by(31));
    assert!(!KubeadmApi::V1Beta4.accepted_by(30));
    assert!(!KubeadmApi::V1Beta3.accepted_by(35));
}

#[test]
fn init_for_each_version() {
    for (version, minor) in VERSIONS {
        let api = KubeadmApi::for_minor(minor).unwrap();
        let text = render(&input(Role::InitMaster, version, minor)).unwrap();
        let docs = parse(&text);
        assert_eq!(
            kinds(&docs),
            [KIND_INIT, KIND_CLUSTER, KIND_KUBELET, KIND_KUBE_PROXY],
            "{version}"
        );

        let init = doc(&docs, KIND_INIT);
        assert_eq!(init["apiVersion"], s(api.as_str()), "{version}");
        assert_eq!(
            init["localAPIEndpoint"]["advertiseAddress"],
            s("192.168.122.57")
        );
        assert_eq!(init["localAPIEndpoint"]["bindPort"], Value::from(6443));
        assert_eq!(init["nodeRegistration"]["criSocket"], s(CRI_SOCKET));
        assert_eq!(init["nodeRegistration"]["name"], s("host-57"));
        assert!(init.get("bootstrapTokens").is_none(), "no token given");
        assert!(init.get("skipPhases").is_none());
        assert!(init.get("patches").is_none());
        assert!(init["nodeRegistration"].get("kubeletExtraArgs").is_none());

        let cc = doc(&docs, KIND_CLUSTER);
        assert_eq!(cc["apiVersion"], s(api.as_str()));
        assert_eq!(cc["kubernetesVersion"], s(version));
        assert_eq!(cc["imageRepository"], s("registry.local/k8s-p10"));
        assert_eq!(cc["controlPlaneEndpoint"], s("192.168.122.57:6443"));
        let etcd = &cc["etcd"]["local"];
        assert_eq!(etcd["imageRepository"], s("registry.local/k8s-p10"));
        assert_eq!(etcd["dataDir"], s("/var/lib/podsec/u7s/etcd"));
        assert_eq!(
            etcd["serverCertSANs"],
            strings(&["192.168.122.57", "127.0.0.1"])
        );
        assert_eq!(
            etcd["peerCertSANs"],
            strings(&["192.168.122.57", "127.0.0.1"])
        );
        assert_eq!(
            extra_args(&etcd["extraArgs"], api),
            pairs(&[("listen-peer-urls", "https://0.0.0.0:2380")])
        );
        assert_eq!(
            extra_args(&cc["apiServer"]["extraArgs"], api),
            pairs(&[("etcd-servers", "https://127.0.0.1:2379")]),
            "the cluster-wide apiServer.extraArgs pin no node's advertise address"
        );
        assert_eq!(
            cc["apiServer"]["certSANs"],
            strings(&["k8s.example.org", "127.0.0.1"])
        );
        assert_eq!(
            extra_args(&cc["controllerManager"]["extraArgs"], api),
            pairs(&[
                ("allocate-node-cidrs", "true"),
                ("cluster-cidr", "10.244.0.0/16"),
                ("service-cluster-ip-range", "10.96.0.0/12"),
            ])
        );
        assert_eq!(cc["networking"]["podSubnet"], s("10.244.0.0/16"));
        assert_eq!(cc["networking"]["serviceSubnet"], s("10.96.0.0/12"));
        assert!(cc["networking"].get("dnsDomain").is_none());
        assert!(cc.get("scheduler").is_none());
        assert!(cc.get("certificatesDir").is_none());

        let kubelet = doc(&docs, KIND_KUBELET);
        assert_eq!(kubelet["apiVersion"], s("kubelet.config.k8s.io/v1beta1"));
        assert_eq!(kubelet["cgroupDriver"], s("cgroupfs"));
        assert_eq!(kubelet["failSwapOn"], Value::from(false));
        assert_eq!(
            kubelet["featureGates"]["KubeletInUserNamespace"],
            Value::from(true)
        );
        assert_eq!(kubelet["evictionHard"]["nodefs.available"], s("3%"));
        assert_eq!(kubelet["localStorageCapacityIsolation"], Value::from(false));
        assert_eq!(kubelet["cgroupsPerQOS"], Value::from(true));
        assert_eq!(kubelet["enforceNodeAllocatable"], Value::Sequence(vec![]));
        assert_eq!(kubelet["clusterDNS"], strings(&["10.96.0.10"]));
        assert!(kubelet.get("volumePluginDir").is_none());

        let proxy = doc(&docs, KIND_KUBE_PROXY);
        assert_eq!(proxy["apiVersion"], s("kubeproxy.config.k8s.io/v1alpha1"));
        assert_eq!(proxy["mode"], s("iptables"));
        assert_eq!(proxy["clusterCIDR"], s("10.244.0.0/16"));
        assert_eq!(proxy["conntrack"]["maxPerCore"], Value::from(0));
        assert_eq!(proxy["conntrack"]["tcpEstablishedTimeout"], s("0s"));
        assert_eq!(proxy["conntrack"]["tcpCloseWaitTimeout"], s("0s"));
    }
}

#[test]
fn init_with_every_option() {
    for (version, minor) in VERSIONS {
        let api = KubeadmApi::for_minor(minor).unwrap();
        let mut i = input(Role::InitMaster, version, minor);
        i.token = Some(TOKEN.to_string());
        i.token_ttl = Some("2h0m0s".to_string());
        i.certificate_key = Some(KEY.to_string());
        i.service_dns_domain = Some("corp.local".to_string());
        i.cert_dir = Some("/etc/kubernetes/pki2".to_string());
        i.feature_gates = Some(BTreeMap::from([("EtcdLearnerMode".to_string(), true)]));
        i.patches_dir = Some("/etc/u7s/patches".to_string());
        i.skip_phases = vec!["addon/kube-proxy".to_string()];
        i.kubelet_extra_args = vec![("node-ip".to_string(), "192.168.122.57".to_string())];
        i.kubelet_volume_plugin_dir =
            Some("/var/lib/u7s-admin/.local/share/usernetes/kubelet-plugins-exec".to_string());
        i.cert_sans = vec!["127.0.0.1".to_string(), "10.0.0.1".to_string()];
        let docs = parse(&render(&i).unwrap());

        let init = doc(&docs, KIND_INIT);
        let tokens = init["bootstrapTokens"].as_sequence().unwrap();
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0]["token"], s(TOKEN));
        assert_eq!(tokens[0]["ttl"], s("2h0m0s"));
        assert_eq!(init["certificateKey"], s(KEY));
        assert_eq!(init["skipPhases"], strings(&["addon/kube-proxy"]));
        assert_eq!(init["patches"]["directory"], s("/etc/u7s/patches"));
        assert_eq!(
            extra_args(&init["nodeRegistration"]["kubeletExtraArgs"], api),
            pairs(&[("node-ip", "192.168.122.57")])
        );

        let cc = doc(&docs, KIND_CLUSTER);
        assert_eq!(cc["networking"]["dnsDomain"], s("corp.local"));
        assert_eq!(cc["certificatesDir"], s("/etc/kubernetes/pki2"));
        assert_eq!(cc["featureGates"]["EtcdLearnerMode"], Value::from(true));
        // 127.0.0.1 is not repeated.
        assert_eq!(
            cc["apiServer"]["certSANs"],
            strings(&["127.0.0.1", "10.0.0.1"])
        );

        let kubelet = doc(&docs, KIND_KUBELET);
        assert_eq!(kubelet["clusterDomain"], s("corp.local"));
        assert_eq!(
            kubelet["volumePluginDir"],
            s("/var/lib/u7s-admin/.local/share/usernetes/kubelet-plugins-exec")
        );
    }
}

#[test]
fn a_ttl_without_a_token_lets_kubeadm_generate_the_token() {
    let mut i = input(Role::InitMaster, "v1.30.2", 30);
    i.token_ttl = Some("0s".to_string());
    let docs = parse(&render(&i).unwrap());
    let t = &doc(&docs, KIND_INIT)["bootstrapTokens"][0];
    assert_eq!(t["ttl"], s("0s"));
    assert!(t.get("token").is_none());
}

#[test]
fn worker_join_for_each_version() {
    for (version, minor) in VERSIONS {
        let api = KubeadmApi::for_minor(minor).unwrap();
        let docs = parse(&render(&input(Role::Worker, version, minor)).unwrap());
        assert_eq!(kinds(&docs), [KIND_JOIN], "{version}");
        let join = &docs[0];
        assert_eq!(join["apiVersion"], s(api.as_str()));
        let bt = &join["discovery"]["bootstrapToken"];
        assert_eq!(bt["apiServerEndpoint"], s("192.168.122.10:6443"));
        assert_eq!(bt["token"], s(TOKEN));
        assert_eq!(bt["caCertHashes"], strings(&[HASH]));
        assert!(bt.get("unsafeSkipCAVerification").is_none());
        assert!(join["discovery"].get("file").is_none());
        assert_eq!(join["nodeRegistration"]["criSocket"], s(CRI_SOCKET));
        assert_eq!(join["nodeRegistration"]["name"], s("host-57"));
        assert!(
            join.get("controlPlane").is_none(),
            "a worker has no controlPlane"
        );
        assert!(join.get("timeouts").is_none());
    }
}

#[test]
fn control_plane_join_for_each_version() {
    for (version, minor) in VERSIONS {
        let docs = parse(&render(&input(Role::ControlPlaneJoin, version, minor)).unwrap());
        assert_eq!(kinds(&docs), [KIND_JOIN], "{version}");
        let join = &docs[0];
        let cp = &join["controlPlane"];
        assert_eq!(
            cp["localAPIEndpoint"]["advertiseAddress"],
            s("192.168.122.57")
        );
        assert_eq!(cp["localAPIEndpoint"]["bindPort"], Value::from(6443));
        assert_eq!(cp["certificateKey"], s(KEY));
        assert_eq!(join["discovery"]["bootstrapToken"]["token"], s(TOKEN));
        assert_eq!(join["nodeRegistration"]["criSocket"], s(CRI_SOCKET));
    }
}

#[test]
fn discovery_timeout_moves_to_timeouts_in_v1beta4() {
    for (version, minor) in VERSIONS {
        let mut i = input(Role::Worker, version, minor);
        i.discovery_timeout = Some("7m0s".to_string());
        let docs = parse(&render(&i).unwrap());
        let join = &docs[0];
        if minor < 31 {
            assert_eq!(join["discovery"]["timeout"], s("7m0s"), "{version}");
            assert!(join.get("timeouts").is_none());
        } else {
            assert_eq!(join["timeouts"]["discovery"], s("7m0s"), "{version}");
            assert!(join["discovery"].get("timeout").is_none());
        }
    }
}

#[test]
fn join_with_unsafe_skip_file_and_tls_token() {
    let mut i = input(Role::Worker, "v1.31.1", 31);
    i.ca_cert_hashes.clear();
    i.unsafe_skip_ca_verification = true;
    i.tls_bootstrap_token = Some("123456.abcdefabcdefabcd".to_string());
    let docs = parse(&render(&i).unwrap());
    let d = &docs[0]["discovery"];
    assert_eq!(
        d["bootstrapToken"]["unsafeSkipCAVerification"],
        Value::from(true)
    );
    assert!(d["bootstrapToken"].get("caCertHashes").is_none());
    assert_eq!(d["tlsBootstrapToken"], s("123456.abcdefabcdefabcd"));

    let mut i = input(Role::Worker, "v1.30.2", 30);
    i.join_endpoint = None;
    i.token = None;
    i.ca_cert_hashes.clear();
    i.discovery_file = Some("/etc/kubernetes/discovery.conf".to_string());
    let docs = parse(&render(&i).unwrap());
    let d = &docs[0]["discovery"];
    assert_eq!(
        d["file"]["kubeConfigPath"],
        s("/etc/kubernetes/discovery.conf")
    );
    assert!(d.get("bootstrapToken").is_none());
}

#[test]
fn join_without_discovery_is_refused() {
    let mut i = input(Role::Worker, "v1.30.2", 30);
    i.ca_cert_hashes.clear();
    let err = render(&i).unwrap_err().to_string();
    assert!(err.contains("--discovery-token-ca-cert-hash"), "{err}");
    let mut i = input(Role::ControlPlaneJoin, "v1.30.2", 30);
    i.token = None;
    assert!(render(&i).unwrap_err().to_string().contains("--token"));
    let mut i = input(Role::Worker, "v1.30.2", 30);
    i.join_endpoint = None;
    assert!(render(&i).unwrap_err().to_string().contains("HOST:PORT"));
}

#[test]
fn versions_are_checked() {
    for (version, minor) in [
        ("1.30.2", 30),
        ("v1.30.2", 31),
        ("v1.25.0", 25),
        ("v1.3", 30),
        ("v1.300.1", 30),
        ("v1.30.2\nx: y", 30),
    ] {
        assert!(
            render(&input(Role::InitMaster, version, minor)).is_err(),
            "{version:?}"
        );
    }
    assert!(render(&input(Role::InitMaster, "v1.31.0-rc.1", 31)).is_ok());
    assert!(render(&input(Role::InitMaster, "v1.31", 31)).is_ok());
}

#[test]
fn hostile_values_stay_values() {
    let mut i = input(Role::InitMaster, "v1.31.1", 31);
    i.node_name = Some("x\nkind: Evil\n---\napiVersion: v1".to_string());
    i.cert_sans = vec!["a: b".to_string(), "- c".to_string()];
    let docs = parse(&render(&i).unwrap());
    assert_eq!(docs.len(), 4);
    assert_eq!(
        doc(&docs, KIND_INIT)["nodeRegistration"]["name"],
        s("x\nkind: Evil\n---\napiVersion: v1")
    );
    assert_eq!(
        doc(&docs, KIND_CLUSTER)["apiServer"]["certSANs"],
        strings(&["a: b", "- c", "127.0.0.1"])
    );
}

// ---------------------------------------------------------------- overlay

const SOURCE: &str = "/root/kubeadm.yaml";

fn admin_init(api: &str) -> String {
    let extra = if api.ends_with("v1beta4") {
        "    extraArgs:\n      - name: quota-backend-bytes\n        value: \"8589934592\"\n"
    } else {
        "    extraArgs:\n      quota-backend-bytes: \"8589934592\"\n"
    };
    format!(
        "# the admin's own file
apiVersion: {api}
kind: InitConfiguration
nodeRegistration:
  criSocket: unix:///run/containerd/containerd.sock
  taints: []
---
apiVersion: {api}
kind: ClusterConfiguration
clusterName: lab
imageRepository: mirror.example.org/k8s
networking:
  podSubnet: 10.244.0.0/16
etcd:
  local:
    dataDir: /var/lib/etcd
{extra}---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
maxPods: 50
featureGates:
  GracefulNodeShutdown: true
evictionHard:
  memory.available: 200Mi
"
    )
}

fn find<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    doc(docs, kind)
}

#[test]
fn overlay_keeps_the_admins_fields_and_sets_the_rootless_ones() {
    for (version, minor) in VERSIONS {
        let api = KubeadmApi::for_minor(minor).unwrap();
        let i = input(Role::InitMaster, version, minor);
        let (text, set) = overlay(&admin_init(api.as_str()), SOURCE, &i).unwrap();
        let docs = parse(&text);
        assert_eq!(
            kinds(&docs),
            [KIND_INIT, KIND_CLUSTER, KIND_KUBELET, KIND_KUBE_PROXY],
            "{version}"
        );

        let init = find(&docs, KIND_INIT);
        assert_eq!(init["nodeRegistration"]["criSocket"], s(CRI_SOCKET));
        assert_eq!(
            init["nodeRegistration"]["taints"],
            Value::Sequence(vec![]),
            "kept"
        );
        assert_eq!(
            init["localAPIEndpoint"]["advertiseAddress"],
            s("192.168.122.57")
        );

        let cc = find(&docs, KIND_CLUSTER);
        assert_eq!(cc["clusterName"], s("lab"), "kept");
        assert_eq!(
            cc["imageRepository"],
            s("mirror.example.org/k8s"),
            "the admin's choice"
        );
        assert_eq!(cc["kubernetesVersion"], s(version), "absent: set");
        assert_eq!(cc["etcd"]["local"]["dataDir"], s(ETCD_DATA_DIR));
        assert_eq!(
            extra_args(&cc["etcd"]["local"]["extraArgs"], api),
            pairs(&[
                ("quota-backend-bytes", "8589934592"),
                ("listen-peer-urls", "https://0.0.0.0:2380"),
            ])
        );
        assert_eq!(cc["networking"]["serviceSubnet"], s("10.96.0.0/12"));

        let kubelet = find(&docs, KIND_KUBELET);
        assert_eq!(kubelet["maxPods"], Value::from(50), "kept");
        assert_eq!(kubelet["cgroupDriver"], s("cgroupfs"), "forced");
        assert_eq!(
            kubelet["featureGates"]["GracefulNodeShutdown"],
            Value::from(true)
        );
        assert_eq!(
            kubelet["featureGates"]["KubeletInUserNamespace"],
            Value::from(true)
        );
        assert_eq!(
            kubelet["evictionHard"]["memory.available"],
            s("200Mi"),
            "kept"
        );
        assert!(kubelet["evictionHard"].get("nodefs.available").is_none());
        assert_eq!(kubelet["enforceNodeAllocatable"], Value::Sequence(vec![]));

        let proxy = find(&docs, KIND_KUBE_PROXY);
        assert_eq!(proxy["conntrack"]["maxPerCore"], Value::from(0));
        assert_eq!(proxy["mode"], s("iptables"));

        for field in [
            "InitConfiguration.nodeRegistration.criSocket",
            "InitConfiguration.localAPIEndpoint.advertiseAddress",
            "ClusterConfiguration.kubernetesVersion",
            "ClusterConfiguration.etcd.local.dataDir",
            "ClusterConfiguration.etcd.local.extraArgs.listen-peer-urls",
            "ClusterConfiguration.networking.serviceSubnet",
            "KubeletConfiguration.cgroupDriver",
            "KubeletConfiguration.featureGates.KubeletInUserNamespace",
            "KubeProxyConfiguration (added)",
            "KubeProxyConfiguration.conntrack.maxPerCore",
        ] {
            assert!(set.iter().any(|f| f == field), "{field} not in {set:?}");
        }
        for field in [
            "ClusterConfiguration.imageRepository",
            "ClusterConfiguration.networking.podSubnet",
            "KubeletConfiguration.evictionHard",
        ] {
            assert!(!set.iter().any(|f| f == field), "{field} reported: {set:?}");
        }
    }
}

#[test]
fn overlay_reports_nothing_when_the_file_already_fits() {
    let i = input(Role::InitMaster, "v1.31.1", 31);
    let (first, _) = overlay(&admin_init(KubeadmApi::V1Beta4.as_str()), SOURCE, &i).unwrap();
    let (second, set) = overlay(&first, SOURCE, &i).unwrap();
    assert!(set.is_empty(), "{set:?}");
    assert_eq!(parse(&first), parse(&second));
}

#[test]
fn overlay_of_a_rendered_config_changes_nothing() {
    for (version, minor) in VERSIONS {
        let i = input(Role::InitMaster, version, minor);
        let rendered = render(&i).unwrap();
        let (text, set) = overlay(&rendered, SOURCE, &i).unwrap();
        assert!(set.is_empty(), "{version}: {set:?}");
        assert_eq!(parse(&text), parse(&rendered));
    }
}

#[test]
fn overlay_refuses_an_api_version_that_does_not_fit() {
    let i = input(Role::InitMaster, "v1.30.2", 30);
    let err = overlay(&admin_init("kubeadm.k8s.io/v1beta4"), SOURCE, &i)
        .unwrap_err()
        .to_string();
    assert!(err.contains(SOURCE), "{err}");
    assert!(
        err.contains("kubeadm.k8s.io/v1beta3"),
        "names the fix: {err}"
    );
    assert!(!err.contains('\n'), "one line: {err}");

    let old = admin_init("kubeadm.k8s.io/v1beta2");
    let err = overlay(&old, SOURCE, &i).unwrap_err().to_string();
    assert!(
        err.contains(SOURCE) && err.contains("kubeadm config migrate"),
        "{err}"
    );
    assert!(!err.contains('\n'), "one line: {err}");

    // Past the announced support of v1beta3: refused, with the migration as the fix.
    let i35 = input(Role::InitMaster, "v1.35.0", 35);
    let err = overlay(&admin_init("kubeadm.k8s.io/v1beta3"), SOURCE, &i35)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("kubeadm.k8s.io/v1beta4") && err.contains("kubeadm config migrate"),
        "{err}"
    );

    // v1beta3 is still read by kubeadm 1.31 (deprecated): accepted.
    let i = input(Role::InitMaster, "v1.31.1", 31);
    assert!(overlay(&admin_init("kubeadm.k8s.io/v1beta3"), SOURCE, &i).is_ok());
}

#[test]
fn overlay_refuses_mixed_versions_and_bad_documents() {
    let i = input(Role::InitMaster, "v1.31.1", 31);
    let mixed = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n";
    let err = overlay(mixed, SOURCE, &i).unwrap_err().to_string();
    assert!(err.contains("mixes"), "{err}");
    let err = overlay("kind: InitConfiguration\n", SOURCE, &i)
        .unwrap_err()
        .to_string();
    assert!(err.contains(SOURCE) && err.contains("apiVersion"), "{err}");
    let err = overlay("a: [b\n", SOURCE, &i).unwrap_err().to_string();
    assert!(err.contains(SOURCE) && !err.contains('\n'), "{err}");
    let bad_kubelet = "apiVersion: kubelet.config.k8s.io/v1alpha1\nkind: KubeletConfiguration\n";
    assert!(overlay(bad_kubelet, SOURCE, &i).is_err());
    let bad_shape =
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration: 5\n";
    let err = overlay(bad_shape, SOURCE, &i).unwrap_err().to_string();
    assert!(err.contains("nodeRegistration"), "{err}");
}

#[test]
fn overlay_refuses_a_network_the_node_was_not_prepared_for() {
    let i = input(Role::InitMaster, "v1.30.2", 30);
    let file = admin_init("kubeadm.k8s.io/v1beta3").replace("10.244.0.0/16", "10.50.0.0/16");
    let err = overlay(&file, SOURCE, &i).unwrap_err().to_string();
    assert!(
        err.contains("podSubnet") && err.contains("10.50.0.0/16"),
        "{err}"
    );
    // admin_facts lets the caller prepare for the file's values instead.
    let facts = admin_facts(&file, SOURCE).unwrap();
    assert_eq!(facts.pod_subnet.as_deref(), Some("10.50.0.0/16"));
    assert_eq!(
        facts.image_repository.as_deref(),
        Some("mirror.example.org/k8s")
    );
    assert_eq!(facts.api, Some(KubeadmApi::V1Beta3));
    let mut i = i;
    i.pod_subnet = "10.50.0.0/16".to_string();
    assert!(overlay(&file, SOURCE, &i).is_ok());
}

#[test]
fn overlay_of_a_minimal_init_file_adds_the_missing_documents() {
    let i = input(Role::InitMaster, "v1.31.1", 31);
    let (text, set) = overlay(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n",
        SOURCE,
        &i,
    )
    .unwrap();
    let docs = parse(&text);
    assert_eq!(docs.len(), 4);
    assert_eq!(
        find(&docs, KIND_INIT)["apiVersion"],
        s("kubeadm.k8s.io/v1beta4")
    );
    assert_eq!(
        find(&docs, KIND_INIT)["nodeRegistration"]["criSocket"],
        s(CRI_SOCKET)
    );
    assert_eq!(
        find(&docs, KIND_CLUSTER)["imageRepository"],
        s("registry.local/k8s-p10")
    );
    assert_eq!(find(&docs, KIND_KUBELET)["failSwapOn"], Value::from(false));
    assert_eq!(
        find(&docs, KIND_KUBELET)["evictionHard"]["nodefs.available"],
        s("3%")
    );
    assert!(
        set.contains(&"InitConfiguration (added)".to_string()),
        "{set:?}"
    );
    assert!(
        set.contains(&"ClusterConfiguration.imageRepository".to_string()),
        "{set:?}"
    );
}

#[test]
fn overlay_leaves_an_external_etcd_alone() {
    let i = input(Role::InitMaster, "v1.30.2", 30);
    let file = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\netcd:\n  external:\n    endpoints: [https://10.0.0.9:2379]\n";
    let (text, set) = overlay(file, SOURCE, &i).unwrap();
    let cc = find(&parse(&text), KIND_CLUSTER).clone();
    assert!(cc["etcd"].get("local").is_none());
    assert!(!set.iter().any(|f| f.contains("etcd")), "{set:?}");
}

const ADMIN_JOIN: &str = "apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: 192.168.122.10:6443
    token: abcdef.0123456789abcdef
    caCertHashes: [sha256:00]
nodeRegistration:
  name: worker-7
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
";

#[test]
fn overlay_for_join_touches_only_the_join_configuration() {
    let i = input(Role::Worker, "v1.31.1", 31);
    let (text, set) = overlay(ADMIN_JOIN, SOURCE, &i).unwrap();
    let docs = parse(&text);
    assert_eq!(kinds(&docs), [KIND_JOIN, KIND_KUBELET]);
    let join = &docs[0];
    assert_eq!(join["nodeRegistration"]["criSocket"], s(CRI_SOCKET));
    assert_eq!(join["nodeRegistration"]["name"], s("worker-7"), "kept");
    assert_eq!(
        join["discovery"]["bootstrapToken"]["caCertHashes"],
        strings(&["sha256:00"])
    );
    assert_eq!(
        docs[1]["cgroupDriver"],
        s("systemd"),
        "kubeadm join ignores it"
    );
    assert_eq!(set, ["JoinConfiguration.nodeRegistration.criSocket"]);

    let facts = admin_facts(ADMIN_JOIN, SOURCE).unwrap();
    assert!(!facts.control_plane_join);
    assert_eq!(facts.join_endpoint.as_deref(), Some("192.168.122.10:6443"));
    assert!(facts.ignore_preflight.is_empty());
    // The checks the file ignores, which kubeadm joins to the flag's.
    let file = ADMIN_JOIN.replace(
        "  name: worker-7\n",
        "  name: worker-7\n  ignorePreflightErrors: [ImagePull, Swap]\n",
    );
    let facts = admin_facts(&file, SOURCE).unwrap();
    assert_eq!(facts.ignore_preflight, ["ImagePull", "Swap"]);
}

#[test]
fn overlay_for_a_control_plane_join() {
    let file = format!("{ADMIN_JOIN}---\n").replace(
        "nodeRegistration:\n",
        "controlPlane:\n  certificateKey: abc\nnodeRegistration:\n",
    );
    let facts = admin_facts(&file, SOURCE).unwrap();
    assert!(facts.control_plane_join);
    let worker = input(Role::Worker, "v1.31.1", 31);
    let err = overlay(&file, SOURCE, &worker).unwrap_err().to_string();
    assert!(err.contains("controlPlane"), "{err}");

    let i = input(Role::ControlPlaneJoin, "v1.31.1", 31);
    let (text, set) = overlay(&file, SOURCE, &i).unwrap();
    let join = parse(&text)[0].clone();
    let cp = &join["controlPlane"];
    assert_eq!(cp["certificateKey"], s("abc"), "kept");
    assert_eq!(
        cp["localAPIEndpoint"]["advertiseAddress"],
        s("192.168.122.57")
    );
    assert_eq!(cp["localAPIEndpoint"]["bindPort"], Value::from(6443));
    assert!(set.contains(&"JoinConfiguration.controlPlane.localAPIEndpoint.bindPort".to_string()));
}

#[test]
fn overlay_for_join_needs_a_join_configuration() {
    let i = input(Role::Worker, "v1.30.2", 30);
    let err = overlay(&admin_init("kubeadm.k8s.io/v1beta3"), SOURCE, &i)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(SOURCE) && err.contains("JoinConfiguration"),
        "{err}"
    );
}
