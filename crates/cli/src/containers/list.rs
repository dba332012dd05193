//! `berth ps`: the container listing, with docker's columns and `--format` fields
//! (`cli/command/formatter/container.go`): truncated IDs, familiar image names, the quoted
//! command, `CREATED` as "2 minutes ago", grouped port ranges, sizes on demand.

use std::collections::{BTreeMap, HashMap};

use anyhow::anyhow;
use api_types::container::{ContainerSummary, Port};
use client::Client;
use gotmpl::Template;
use serde_json::{Value, json};

use super::PsArgs;
use crate::format::query::{Filters, Query};
use crate::format::{self, ago, ellipsis, go_quote, human_size_prec, join_host_port, print, truncate_id};

const DEFAULT_PS_FORMAT: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
const RAW_PS_FORMAT: &str = "container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n";

/// docker's `NewContainerFormat`: the format actually rendered for `ps`.
fn container_format(source: &str, quiet: bool, size: bool) -> String {
    match source {
        "table" | "" => {
            if quiet {
                "{{.ID}}".into()
            } else if size {
                format!("{DEFAULT_PS_FORMAT}\t{{{{.Size}}}}")
            } else {
                DEFAULT_PS_FORMAT.into()
            }
        }
        "raw" => {
            if quiet {
                "container_id: {{.ID}}".into()
            } else if size {
                format!("{RAW_PS_FORMAT}size: {{{{.Size}}}}\\n")
            } else {
                RAW_PS_FORMAT.into()
            }
        }
        custom if quiet => {
            let _ = custom;
            "{{.ID}}".into()
        }
        custom => custom.into(),
    }
}

fn container_header() -> Value {
    json!({
        "ID": "CONTAINER ID", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND",
        "CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE",
        "Status": "STATUS", "Size": "SIZE", "Labels": "LABELS", "Mounts": "MOUNTS",
        "LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS", "Platform": "PLATFORM",
    })
}

/// Whether a template refers to field `name` (`.Size`), or marshals the whole row
/// (`{{json .}}`, which calls every field), to ask the daemon for sizes only when they are
/// shown, as docker does.
fn uses_field(format: &str, name: &str) -> bool {
    let pat = format!(".{name}");
    let named = format.match_indices(&pat).any(|(i, _)| {
        let after = format[i + pat.len()..].chars().next();
        !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    });
    let whole = format.match_indices("json").any(|(i, _)| {
        let rest = format[i + 4..].trim_start();
        rest.len() < format.len() - i - 4
            && rest
                .strip_prefix('.')
                .is_some_and(|r| matches!(r.trim_start().chars().next(), Some('}' | ')' | '|') | None))
    });
    named || whole
}

/// Field holding the labels asked for with `.Label "name"`.
const LABEL_VALUES: &str = "LabelValues";

/// docker's `ps` rows have a method with an argument, `.Label "name"`, which JSON data cannot
/// offer: rewrites each call into `index .LabelValues "name"` and returns the names, so every
/// row can carry them (an absent label is `""`, as in docker).
fn rewrite_label_calls(format: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(format.len());
    let mut names = Vec::new();
    let mut rest = format;
    while let Some(i) = rest.find(".Label") {
        let after = &rest[i + ".Label".len()..];
        let prev = rest[..i].chars().next_back();
        let is_call =
            after.starts_with([' ', '\t']) && !prev.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.');
        let literal = after.trim_start();
        let name = match literal.chars().next() {
            Some(q @ ('"' | '`')) if is_call => literal[1..].find(q).map(|end| literal[1..=end].to_owned()),
            _ => None,
        };
        match name {
            Some(n) => {
                let dollar = prev == Some('$');
                out.push_str(&rest[..if dollar { i - 1 } else { i }]);
                out.push_str(if dollar { "index $." } else { "index ." });
                out.push_str(LABEL_VALUES);
                names.push(n.replace("\\\"", "\"").replace("\\\\", "\\"));
            }
            None => out.push_str(&rest[..i + ".Label".len()]),
        }
        rest = after;
    }
    out.push_str(rest);
    (out, names)
}

/// docker's `SubHeaderContext.Label`: the last `.`-separated part, `-` and `_` as spaces.
fn label_header(name: &str) -> String {
    name.rsplit('.').next().unwrap_or(name).replace(['-', '_'], " ")
}

/// Prepares a list `format` for its rows' `.Label "name"` calls (see [`rewrite_label_calls`]):
/// adds each asked label's column title to `header` and its value to every row (`labels[i]`
/// are the labels of `rows[i]`), and returns the format to render.
pub(crate) fn with_label_values(
    format: &str,
    header: &mut Value,
    rows: &mut [Value],
    labels: &[&BTreeMap<String, String>],
) -> String {
    let (fmt, names) = rewrite_label_calls(format);
    if !names.is_empty() {
        header[LABEL_VALUES] = names.iter().map(|n| (n.clone(), Value::from(label_header(n)))).collect();
        for (row, labels) in rows.iter_mut().zip(labels) {
            row[LABEL_VALUES] =
                names.iter().map(|n| (n.clone(), Value::from(labels.get(n).cloned().unwrap_or_default()))).collect();
        }
    }
    fmt
}

/// Whether an image reference names a tag (`busybox:1`, not `busybox` or `busybox@sha256:..`).
fn has_tag(image: &str) -> bool {
    let name = image.split('@').next().unwrap_or(image);
    name.rsplit('/').next().is_some_and(|last| last.contains(':'))
}

/// The IMAGE column: the short image ID when the container was created from an ID, else the
/// familiar reference without its digest.
fn image_column(image: &str, image_id: &str, trunc: bool) -> String {
    if image.is_empty() {
        return "<no image>".into();
    }
    if trunc {
        let short = truncate_id(image_id);
        if short == truncate_id(image) {
            return short.to_owned();
        }
        if let Ok(r) = oci::Reference::parse(image) {
            return match r.tag() {
                Some(t) if has_tag(image) => format!("{}:{t}", r.familiar_repository()),
                _ => r.familiar_repository(),
            };
        }
    }
    image.to_owned()
}

fn form_group(key: &str, start: u16, last: u16) -> String {
    let (ip, kind) = match key.split_once('/') {
        Some((ip, kind)) => (ip, kind),
        None => ("", key),
    };
    let mut group = start.to_string();
    if start != last {
        group = format!("{group}-{last}");
    }
    if !ip.is_empty() {
        group = format!("{}->{group}", join_host_port(ip, &group));
    }
    format!("{group}/{kind}")
}

/// docker's `DisplayablePorts`: `0.0.0.0:8080->80/tcp, [::]:8080->80/tcp, 443/tcp`, with
/// consecutive ports grouped into ranges.
fn display_ports(ports: &[Port]) -> String {
    let mut ports = ports.to_vec();
    ports.sort_by(|a, b| {
        (a.private_port, &a.ip, a.public_port, &a.r#type).cmp(&(b.private_port, &b.ip, b.public_port, &b.r#type))
    });
    let mut groups: HashMap<String, (u16, u16)> = HashMap::new();
    let mut keys = Vec::new();
    let mut result = Vec::new();
    let mut host_mappings = Vec::new();
    for p in &ports {
        let current = p.private_port;
        let mut key = p.r#type.clone();
        if !p.ip.is_empty() {
            if p.public_port != current {
                host_mappings.push(format!(
                    "{}->{}/{}",
                    join_host_port(&p.ip, &p.public_port.to_string()),
                    p.private_port,
                    p.r#type
                ));
                continue;
            }
            key = format!("{}/{}", p.ip, p.r#type);
        }
        match groups.get_mut(&key) {
            None => {
                groups.insert(key.clone(), (current, current));
                keys.push(key);
            }
            Some(g) if current == g.1.wrapping_add(1) => g.1 = current,
            Some(g) => {
                result.push(form_group(&key, g.0, g.1));
                *g = (current, current);
            }
        }
    }
    for k in keys {
        if let Some((first, last)) = groups.get(&k) {
            result.push(form_group(&k, *first, *last));
        }
    }
    result.extend(host_mappings);
    result.join(", ")
}

/// The fields docker's `ContainerContext` offers to `ps` templates, already formatted.
fn container_row(s: &ContainerSummary, trunc: bool, now: f64) -> Value {
    let id = if trunc { truncate_id(&s.id).to_owned() } else { s.id.clone() };
    let mut names: Vec<String> = s.names.iter().map(|n| n.get(1..).unwrap_or_default().to_owned()).collect();
    if trunc && let Some(n) = names.iter().find(|n| !n.contains('/')) {
        names = vec![n.clone()];
    }
    let command = if trunc { ellipsis(&s.command, 20) } else { s.command.clone() };
    let size_rw = s.size_rw.unwrap_or(0);
    let size_root = s.size_root_fs.unwrap_or(0);
    let mut size = human_size_prec(format::as_f64(size_rw), 3);
    if size_root > 0 {
        size = format!("{size} (virtual {})", human_size_prec(format::as_f64(size_root), 3));
    }
    let mut labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    labels.sort();
    let mounts: Vec<String> = s
        .mounts
        .iter()
        .map(|m| {
            let name = if m.name.is_empty() { &m.source } else { &m.name };
            if trunc { ellipsis(name, 15) } else { name.clone() }
        })
        .collect();
    let local_volumes = s.mounts.iter().filter(|m| m.driver == "local").count();
    let networks: Vec<&str> = s.network_settings.networks.keys().map(String::as_str).collect();
    let platform = s
        .image_manifest_descriptor
        .as_ref()
        .and_then(|d| d.platform.as_ref())
        .map(|p| {
            let mut s = format!("{}/{}", p.os, p.architecture);
            if !p.variant.is_empty() {
                s = format!("{s}/{}", p.variant);
            }
            Value::String(s)
        })
        .unwrap_or(Value::Null);
    json!({
        "ID": id,
        "Names": names.join(","),
        "Image": image_column(&s.image, &s.image_id, trunc),
        "Command": go_quote(&command),
        "CreatedAt": format::go_time(s.created),
        "RunningFor": ago(s.created, now),
        "Ports": display_ports(&s.ports),
        "State": s.state,
        "Status": s.status,
        "Size": size,
        "Labels": labels.join(","),
        "Mounts": mounts.join(","),
        "LocalVolumes": local_volumes.to_string(),
        "Networks": networks.join(","),
        "Platform": platform,
    })
}

/// `berth ps`.
pub async fn ps(c: &Client, a: PsArgs) -> anyhow::Result<i32> {
    let format = a.format.clone().unwrap_or_default();
    if !format.is_empty() && a.quiet {
        eprintln!("WARNING: Ignoring custom format, because both --format and --quiet are set.");
    }
    let mut q = Query::new();
    q.flag("all", a.all);
    let limit = if a.latest && a.last == -1 { 1 } else { a.last };
    if limit > 0 {
        q.set("limit", limit.to_string());
    }
    let mut size = a.size;
    if !format.is_empty() {
        Template::parse_plain(&format).map_err(|e| anyhow!("failed to parse template: {e}"))?;
        if !a.quiet && !size && uses_field(&format, "Size") {
            size = true;
        }
    }
    q.flag("size", size);
    q.filters(&Filters::from_flags(&a.filter));
    let list: Vec<ContainerSummary> = c.get(&q.to_path("/containers/json")).await?;
    let now = format::now_secs();
    let mut header = container_header();
    let mut rows: Vec<Value> = list.iter().map(|s| container_row(s, !a.no_trunc, now)).collect();
    let labels: Vec<_> = list.iter().map(|s| &s.labels).collect();
    let fmt = with_label_values(&container_format(&format, a.quiet, size), &mut header, &mut rows, &labels);
    print(&format::render_list(&fmt, &header, &rows)?);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use api_types::container::MountPoint;

    use super::*;

    fn port(ip: &str, private: u16, public: u16, kind: &str) -> Port {
        Port { ip: ip.into(), private_port: private, public_port: public, r#type: kind.into() }
    }

    #[test]
    fn ports_like_docker() {
        assert_eq!(display_ports(&[]), "");
        assert_eq!(display_ports(&[port("", 80, 0, "tcp")]), "80/tcp");
        assert_eq!(
            display_ports(&[
                port("0.0.0.0", 8080, 80, "tcp"),
                port("::", 8080, 80, "tcp"),
                port("", 443, 0, "tcp"),
                port("", 9000, 0, "udp"),
                port("", 9001, 0, "udp"),
                port("", 9002, 0, "udp"),
            ]),
            "443/tcp, 9000-9002/udp, 0.0.0.0:80->8080/tcp, [::]:80->8080/tcp"
        );
        assert_eq!(
            display_ports(&[port("0.0.0.0", 80, 80, "tcp"), port("0.0.0.0", 81, 81, "tcp")]),
            "0.0.0.0:80-81->80-81/tcp"
        );
        assert_eq!(display_ports(&[port("", 80, 0, "tcp"), port("", 82, 0, "tcp")]), "80/tcp, 82/tcp");
    }

    #[test]
    fn image_columns() {
        let id = "sha256:4c01db0b339cdbd6f0d2c7d4b0b3bb8b4e7f3e7a5c1a9d57b7c0f1f6e44f5d4a";
        assert_eq!(image_column("busybox", id, true), "busybox");
        assert_eq!(image_column("busybox:1.36", id, true), "busybox:1.36");
        assert_eq!(image_column("docker.io/library/busybox:latest", id, true), "busybox:latest");
        assert_eq!(
            image_column(
                "busybox:latest@sha256:4c01db0b339cdbd6f0d2c7d4b0b3bb8b4e7f3e7a5c1a9d57b7c0f1f6e44f5d4a",
                id,
                true
            ),
            "busybox:latest"
        );
        assert_eq!(image_column(&id[7..], id, true), "4c01db0b339c");
        assert_eq!(image_column(id, id, true), "4c01db0b339c");
        assert_eq!(image_column("docker.io/library/busybox:latest", id, false), "docker.io/library/busybox:latest");
        assert_eq!(image_column("", id, true), "<no image>");
        assert_eq!(image_column("localhost:5000/app", id, true), "localhost:5000/app");
    }

    #[test]
    fn ps_table_matches_docker() {
        let now = 1_700_000_000.0;
        let mut s = ContainerSummary {
            id: "4c01db0b339cdbd6f0d2c7d4b0b3bb8b4e7f3e7a5c1a9d57b7c0f1f6e44f5d4a".into(),
            names: vec!["/web".into()],
            image: "busybox".into(),
            image_id: "sha256:aaaa".into(),
            command: "sh -c 'sleep 1000; echo done'".into(),
            created: 1_700_000_000 - 125,
            state: "running".into(),
            status: "Up 2 minutes".into(),
            size_rw: Some(0),
            size_root_fs: Some(4_264_960),
            ..Default::default()
        };
        s.labels = BTreeMap::from([("b".into(), "2".into()), ("a".into(), "1".into())]);
        s.mounts = vec![MountPoint { name: "vol".into(), driver: "local".into(), ..Default::default() }];
        let rows = vec![container_row(&s, true, now)];
        let out = format::render_list(&container_format("", false, false), &container_header(), &rows).unwrap();
        assert_eq!(
            out,
            "CONTAINER ID   IMAGE     COMMAND                  CREATED         STATUS         PORTS     NAMES\n\
             4c01db0b339c   busybox   \"sh -c 'sleep 1000; …\"   2 minutes ago   Up 2 minutes             web\n"
        );
        let out = format::render_list(&container_format("", false, true), &container_header(), &rows).unwrap();
        assert!(out.lines().next().unwrap().ends_with("NAMES     SIZE"), "{out}");
        assert!(out.ends_with("web       0B (virtual 4.26MB)\n"), "{out}");
        let out = format::render_list(&container_format("", true, false), &container_header(), &rows).unwrap();
        assert_eq!(out, "4c01db0b339c\n");
        let rows = vec![container_row(&s, false, now)];
        let out = format::render_list(&container_format("", true, false), &container_header(), &rows).unwrap();
        assert_eq!(out, format!("{}\n", s.id));
        let out =
            format::render_list("{{.Labels}} {{.LocalVolumes}} {{.Mounts}} {{.State}}", &container_header(), &rows)
                .unwrap();
        assert_eq!(out, "a=1,b=2 1 vol running\n");
        assert_eq!(format::render_list("table", &container_header(), &[]).unwrap(), "\n");
        let empty = format::render_list(&container_format("table", false, false), &container_header(), &[]).unwrap();
        assert_eq!(empty, "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n");
    }

    #[test]
    fn ps_json_has_docker_keys() {
        let s = ContainerSummary { id: "abc".into(), names: vec!["/a".into(), "/b/a".into()], ..Default::default() };
        let row = container_row(&s, true, 0.0);
        let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "Command",
                "CreatedAt",
                "ID",
                "Image",
                "Labels",
                "LocalVolumes",
                "Mounts",
                "Names",
                "Networks",
                "Platform",
                "Ports",
                "RunningFor",
                "Size",
                "State",
                "Status"
            ]
        );
        assert_eq!(row["Names"], "a");
        assert_eq!(container_row(&s, false, 0.0)["Names"], "a,b/a");
    }

    #[test]
    fn label_calls() {
        let (f, names) = rewrite_label_calls(
            "table {{.Names}}\t{{.Label \"com.docker.compose.service\"}}\t{{ $.Label `a` | upper }}{{.Labels}}",
        );
        assert_eq!(
            f,
            "table {{.Names}}\t{{index .LabelValues \"com.docker.compose.service\"}}\t{{ index $.LabelValues `a` | upper }}{{.Labels}}"
        );
        assert_eq!(names, ["com.docker.compose.service", "a"]);
        assert_eq!(rewrite_label_calls("{{.Labels}} {{.Label}}").1, Vec::<String>::new());
        assert_eq!(label_header("com.docker.compose_service-name"), "compose service name");

        let s = ContainerSummary { labels: BTreeMap::from([("a".into(), "1".into())]), ..Default::default() };
        let (f, names) = rewrite_label_calls("table {{.Label \"a\"}}|{{.Label \"b\"}}");
        let mut header = container_header();
        header[LABEL_VALUES] = names.iter().map(|n| (n.clone(), Value::from(label_header(n)))).collect();
        let mut row = container_row(&s, true, 0.0);
        row[LABEL_VALUES] =
            names.iter().map(|n| (n.clone(), Value::from(s.labels.get(n).cloned().unwrap_or_default()))).collect();
        assert_eq!(format::render_list(&f, &header, &[row]).unwrap(), "a|b\n1|\n");
    }

    #[test]
    fn size_field_detection() {
        assert!(uses_field("{{json .}}", "Size"));
        assert!(uses_field("{{ json . }}", "Size"));
        assert!(!uses_field("{{json .Names}}", "Size"));
        assert!(!uses_field("json", "Size"));
        assert!(uses_field("table {{.ID}}\t{{.Size}}", "Size"));
        assert!(uses_field("{{ .Size }}", "Size"));
        assert!(!uses_field("{{.SizeRw}}", "Size"));
        assert!(!uses_field("{{.ID}}", "Size"));
    }
}
