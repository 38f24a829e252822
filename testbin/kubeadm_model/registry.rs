//! The image registry, and the two tools u7s asks about it, modeled: the
//! same binary called `skopeo` or `crictl` (argv[0]) answers as
//! `skopeo list-tags docker://REPO` and `crictl --runtime-endpoint EP pull
//! IMAGE` do (containers/skopeo cmd/skopeo/list_tags.go; cri-tools'
//! `crictl pull`), and kubeadm's own pulls fail for an image it lacks.
//!
//! The registry is the file the `registry=` setting names: one line per
//! repository, `REPOSITORY TAG...`; a repository written `*/NAME` is NAME
//! under any registry and path (a mirror of a release's images). Without
//! that setting there is no registry: skopeo and crictl fail, and kubeadm's
//! pulls are not checked.
//!
//! Not modeled: authentication, TLS and registries.conf (`insecure`,
//! mirrors), `latest` by default, digests, any other skopeo or crictl
//! command or flag (refused, exit 1, a `kubeadm-model:` line).

use std::path::Path;

use crate::settings::Model;

/// The tags the registry holds for `repo`, or `None` if it has no such
/// repository (or there is no registry).
pub fn tags(model: &Model, repo: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(model.registry.as_ref()?).ok()?;
    let name = repo.rsplit('/').next().unwrap_or(repo);
    let mut found: Option<Vec<String>> = None;
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let mut words = line.split_whitespace();
        let Some(pattern) = words.next() else {
            continue;
        };
        let matches = match pattern.strip_prefix("*/") {
            Some(last) => last == name,
            None => pattern == repo,
        };
        if matches {
            found
                .get_or_insert_with(Vec::new)
                .extend(words.map(str::to_owned));
        }
    }
    found
}

/// `REPO:TAG` split at the tag's colon (a port's comes before the last `/`).
fn split(image: &str) -> (&str, &str) {
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[slash..].rfind(':') {
        Some(i) => (&image[..slash + i], &image[slash + i + 1..]),
        None => (image, "latest"),
    }
}

/// Why CRI-O could not pull `image` from the registry, as its error says.
pub fn pull_problem(model: &Model, image: &str) -> Option<String> {
    model.registry.as_ref()?;
    let (repo, tag) = split(image);
    match tags(model, repo) {
        Some(tags) if tags.iter().any(|t| t == tag) => None,
        Some(_) => Some(format!(
            "rpc error: code = Unknown desc = reading manifest {tag} in {repo}: manifest unknown: manifest unknown"
        )),
        None => Some(format!(
            "rpc error: code = Unknown desc = reading manifest {tag} in {repo}: name unknown: repository name not known to registry"
        )),
    }
}

/// logrus's fatal line in its text format on a pipe, as skopeo and crictl
/// print it.
pub fn fatal_line(message: &str) -> String {
    format!("time=\"2026-01-01T00:00:00Z\" level=fatal msg={message:?}")
}

fn fatal(message: &str) -> i32 {
    eprintln!("{}", fatal_line(message));
    1
}

/// The CRI client's error for a runtime that is not there: `api` is
/// "runtime" or "image", `endpoint` a `unix://` socket.
pub fn unreachable(api: &str, endpoint: &str) -> String {
    let path = endpoint.trim_start_matches("unix://");
    format!(
        "validate service connection: validate CRI v1 {api} API for endpoint {endpoint:?}: rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial unix {path}: connect: no such file or directory\""
    )
}

/// `skopeo list-tags docker://REPO`.
pub fn skopeo(model: &Model, args: &[String]) -> i32 {
    let rest = match args {
        [cmd, rest @ ..] if cmd == "list-tags" => rest,
        _ => {
            eprintln!("kubeadm-model: not modeled: skopeo {}", args.join(" "));
            return 1;
        }
    };
    let [reference] = rest else {
        return fatal("Exactly one non-option argument expected");
    };
    let Some(repo) = reference.strip_prefix("docker://") else {
        return if reference.contains(':') {
            eprintln!("kubeadm-model: not modeled: skopeo list-tags {reference}");
            1
        } else {
            fatal(&format!(
                "Invalid {reference:?}: does not specify a transport"
            ))
        };
    };
    let name = repo.rsplit('/').next().unwrap_or(repo);
    if name.contains(':') || repo.contains('@') {
        return fatal("No tag or digest allowed in reference");
    }
    match tags(model, repo) {
        Some(tags) => {
            let shown: Vec<String> = tags.iter().map(|t| format!("        {t:?}")).collect();
            println!(
                "{{\n    \"Repository\": {repo:?},\n    \"Tags\": [\n{}\n    ]\n}}",
                shown.join(",\n")
            );
            0
        }
        None => fatal(
            "Error listing repository tags: fetching tags list: name unknown: repository name not known to registry",
        ),
    }
}

/// `crictl --runtime-endpoint unix:///PATH pull IMAGE`: the socket must be
/// there (under the root prefix) and the registry must have the image.
pub fn crictl(model: &Model, args: &[String]) -> i32 {
    let (endpoint, rest) = match args {
        [flag, endpoint, rest @ ..] if flag == "--runtime-endpoint" || flag == "-r" => {
            (endpoint.as_str(), rest)
        }
        _ => {
            eprintln!(
                "kubeadm-model: not modeled: crictl without --runtime-endpoint first: {}",
                args.join(" ")
            );
            return 1;
        }
    };
    let image = match rest {
        [pull, image] if pull == "pull" => image,
        _ => {
            eprintln!("kubeadm-model: not modeled: crictl {}", args.join(" "));
            return 1;
        }
    };
    let Some(path) = endpoint.strip_prefix("unix://") else {
        return fatal(&format!(
            "validate service connection: endpoint {endpoint:?}: protocol not supported"
        ));
    };
    if !model.host(path).exists() || !Path::new(path).is_absolute() {
        return fatal(&unreachable("image", endpoint));
    }
    if model.registry.is_none() {
        eprintln!("kubeadm-model: crictl pull needs a registry (registry= in kubeadm-model.conf)");
        return 1;
    }
    match pull_problem(model, image) {
        None => {
            println!("Image is up to date for {image}");
            0
        }
        Some(problem) => fatal(&format!("pulling image: {problem}")),
    }
}
