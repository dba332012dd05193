//! Container commands that are one request (or one per name) and a printout: `ps`, `inspect`,
//! `top`, `stop`, `restart`, `kill`, `rm`, `rename`, `pause`, `unpause`, `diff`, `export`,
//! `container prune`, and `cp` (in [`cp`]).
//!
//! Output, flags and exit codes follow docker CLI v28 (`cli/command/container`): commands over
//! several names print each name as given on success and every daemon error on stderr at the
//! end, exiting 1 if any failed; listings go through docker's formatter (see
//! [`crate::format`]).

mod cp;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;

use anyhow::{Context, anyhow};
use api_types::container::{
    ChangeKind, ContainerPruneResponse, ContainerSummary, ContainerTopResponse, FilesystemChange, Port,
};
use client::{Client, ClientError};
use gotmpl::{TabConfig, TabWriter, Template};
use hyper::Method;
use serde_json::{Value, json};

pub use self::cp::cp;
use crate::format::inspect;
use crate::format::output::{self, AtomicFile};
use crate::format::query::{Filter, Filters, Query, path_segment};
use crate::format::{self, ago, ellipsis, go_quote, human_size, human_size_prec, print, truncate_id};

const FORMAT_HELP: &str = "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";
const INSPECT_FORMAT_HELP: &str = "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";

/// `berth ps` / `berth container ls`.
#[derive(Debug, clap::Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<Filter>,
    /// Format output using a custom template
    #[arg(long, value_name = "string", long_help = FORMAT_HELP)]
    pub format: Option<String>,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last", value_name = "int", default_value_t = -1, allow_negative_numbers = true)]
    pub last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short = 'l', long)]
    pub latest: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only display container IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Display total file sizes
    #[arg(short = 's', long)]
    pub size: bool,
}

/// `berth inspect` (any object type) and `berth container inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long, value_name = "string", long_help = INSPECT_FORMAT_HELP)]
    pub format: Option<String>,
    /// Display total file sizes if the type is container
    #[arg(short = 's', long)]
    pub size: bool,
    /// Only inspect objects of the given type
    #[arg(long = "type", value_name = "string")]
    pub kind: Option<String>,
    /// Objects to inspect
    #[arg(value_name = "NAME|ID", required = true)]
    pub names: Vec<String>,
}

/// `berth top CONTAINER [ps OPTIONS]`.
#[derive(Debug, clap::Args)]
pub struct TopArgs {
    /// The container
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// Options for `ps`, run inside the container's process list
    #[arg(value_name = "ps OPTIONS", trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

/// `berth stop` and `berth restart`.
#[derive(Debug, clap::Args)]
pub struct StopArgs {
    /// Signal to send to the container
    #[arg(short = 's', long, value_name = "string")]
    pub signal: Option<String>,
    /// Seconds to wait before killing the container
    #[arg(short = 't', long = "timeout", visible_alias = "time", value_name = "int", allow_negative_numbers = true)]
    pub timeout: Option<i64>,
    /// Containers
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// `berth kill`.
#[derive(Debug, clap::Args)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short = 's', long, value_name = "string")]
    pub signal: Option<String>,
    /// Containers
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// `berth rm`.
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Remove the specified link
    #[arg(short = 'l', long)]
    pub link: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Containers
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// `berth rename CONTAINER NEW_NAME`.
#[derive(Debug, clap::Args)]
pub struct RenameArgs {
    /// The container
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// Its new name
    #[arg(value_name = "NEW_NAME")]
    pub new_name: String,
}

/// `berth pause` and `berth unpause`.
#[derive(Debug, clap::Args)]
pub struct NamesArgs {
    /// Containers
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// `berth diff CONTAINER`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The container
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// `berth export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long, value_name = "string")]
    pub output: Option<PathBuf>,
    /// The container
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// `berth cp`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Use '-' as the source to read a tar archive from stdin\nand extract it to a directory destination in a container.\nUse '-' as the destination to stream a tar archive of a\ncontainer source to stdout.")]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information)
    #[arg(short = 'a', long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long)]
    pub follow_link: bool,
    /// Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// CONTAINER:SRC_PATH, SRC_PATH or - (a tar archive on stdin)
    #[arg(value_name = "SRC_PATH")]
    pub src: String,
    /// CONTAINER:DEST_PATH, DEST_PATH or - (a tar archive on stdout)
    #[arg(value_name = "DEST_PATH")]
    pub dest: String,
}

/// `berth container prune`.
#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<Filter>,
}

/// `/containers/{name}` plus `rest`, the name escaped for the path.
fn container_path(name: &str, rest: &str) -> String {
    format!("/containers/{}{rest}", path_segment(name))
}

// ---- ps ----

const DEFAULT_PS_FORMAT: &str = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
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
            && rest.strip_prefix('.').is_some_and(|r| matches!(r.trim_start().chars().next(), Some('}' | ')' | '|') | None))
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
        let is_call = after.starts_with(|c: char| c == ' ' || c == '\t')
            && !prev.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.');
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

/// Go's `net.JoinHostPort`.
fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
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
    let (fmt, labels) = rewrite_label_calls(&container_format(&format, a.quiet, size));
    let mut header = container_header();
    let mut rows: Vec<Value> = list.iter().map(|s| container_row(s, !a.no_trunc, now)).collect();
    if !labels.is_empty() {
        header[LABEL_VALUES] = labels.iter().map(|n| (n.clone(), Value::from(label_header(n)))).collect();
        for (row, s) in rows.iter_mut().zip(&list) {
            row[LABEL_VALUES] =
                labels.iter().map(|n| (n.clone(), Value::from(s.labels.get(n).cloned().unwrap_or_default()))).collect();
        }
    }
    print(&format::render_list(&fmt, &header, &rows)?);
    Ok(0)
}

// ---- inspect ----

const ALL_TYPES: [&str; 10] = ["config", "container", "image", "network", "node", "plugin", "secret", "service", "task", "volume"];

/// The request path of `kind` named `name`.
fn inspect_path(kind: &str, name: &str, size: bool) -> String {
    let n = path_segment(name);
    match kind {
        "container" => container_path(name, if size { "/json?size=1" } else { "/json" }),
        "image" => format!("/images/{n}/json"),
        "plugin" => format!("/plugins/{n}/json"),
        "service" => format!("/services/{n}?insertDefaults=1"),
        other => format!("/{other}s/{n}"),
    }
}

/// GETs an object's raw JSON.
pub(crate) async fn get_raw(c: &Client, path: &str) -> Result<Vec<u8>, ClientError> {
    let resp = c.send(Method::GET, path, client::empty(), None).await?;
    let mut body = resp.into_body();
    let mut out = Vec::new();
    while let Some(chunk) = client::next_chunk(&mut body).await? {
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// docker's `isErrSkippable`: try the next object type.
fn skippable(e: &ClientError) -> bool {
    let msg = e.to_string();
    e.is_not_found() || msg.contains("not supported") || msg.contains("invalid reference format")
}

async fn inspect_one(c: &Client, kind: Option<&str>, size: bool, name: String) -> anyhow::Result<Vec<u8>> {
    if let Some(k) = kind {
        return Ok(get_raw(c, &inspect_path(k, &name, size)).await?);
    }
    // berth has no swarm mode, so services, tasks, nodes, secrets and configs are never tried,
    // as docker skips them on a daemon that is not a swarm manager.
    for k in ["container", "image", "network", "volume", "plugin"] {
        match get_raw(c, &inspect_path(k, &name, size)).await {
            Ok(raw) => {
                if size && k != "container" {
                    eprintln!("WARNING: --size ignored for {k}");
                }
                return Ok(raw);
            }
            Err(e) if skippable(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(anyhow!("Error: No such object: {name}"))
}

/// `berth inspect`: containers first, then images, networks, volumes, unless `--type` says.
pub async fn inspect(c: &Client, a: InspectArgs) -> anyhow::Result<i32> {
    let kind = match a.kind.as_deref() {
        None => None,
        Some("") => return Err(anyhow!("type is empty: must be one of \"{}\"", ALL_TYPES.join("\", \""))),
        Some(t) if ALL_TYPES.contains(&t) => Some(t),
        Some(t) => return Err(anyhow!("unknown type: {t:?}: must be one of \"{}\"", ALL_TYPES.join("\", \""))),
    };
    inspect::run(&a.names, a.format.as_deref(), |name| inspect_one(c, kind, a.size, name)).await
}

// ---- top, diff ----

/// `berth top`: the daemon's `ps` table, aligned as docker does (minimum column width 20).
pub async fn top(c: &Client, a: TopArgs) -> anyhow::Result<i32> {
    let mut q = Query::new();
    if !a.ps_args.is_empty() {
        q.set("ps_args", a.ps_args.join(" "));
    }
    let r: ContainerTopResponse = c.get(&q.to_path(&container_path(&a.container, "/top"))).await?;
    print(&top_table(&r));
    Ok(0)
}

fn top_table(r: &ContainerTopResponse) -> String {
    let mut tw = TabWriter::new(TabConfig { minwidth: 20, ..TabConfig::default() });
    tw.write_str(&r.titles.join("\t"));
    tw.write_str("\n");
    for p in &r.processes {
        tw.write_str(&p.join("\t"));
        tw.write_str("\n");
    }
    tw.finish()
}

/// `berth diff`: `C /etc`, `A /etc/new`, `D /tmp/old`.
pub async fn diff(c: &Client, a: DiffArgs) -> anyhow::Result<i32> {
    let changes: Option<Vec<FilesystemChange>> = c.get(&container_path(&a.container, "/changes")).await?;
    let mut out = String::new();
    for ch in changes.unwrap_or_default() {
        let kind = match ch.kind {
            ChangeKind::Modified => 'C',
            ChangeKind::Added => 'A',
            ChangeKind::Deleted => 'D',
        };
        out.push_str(&format!("{kind} {}\n", ch.path));
    }
    print(&out);
    Ok(0)
}

// ---- commands over several containers ----

/// Runs `op` for each name (concurrently unless `sequential`, at most 50 at a time, as
/// docker's `parallelOperation`), prints each name that succeeded in order, then every error.
/// `ignore` picks errors that are printed at once but do not fail the command.
async fn for_each<F, Fut>(names: &[String], sequential: bool, ignore: impl Fn(&anyhow::Error) -> bool, op: F) -> i32
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(50));
    let mut pending = Vec::new();
    let mut errs = Vec::new();
    let report = |name: &str, r: anyhow::Result<()>, errs: &mut Vec<anyhow::Error>| match r {
        Ok(()) => println!("{name}"),
        Err(e) if ignore(&e) => eprintln!("{e:#}"),
        Err(e) => errs.push(e),
    };
    for name in names {
        if sequential {
            let r = op(name.clone()).await;
            report(name, r, &mut errs);
            continue;
        }
        let fut = op(name.clone());
        let sem = sem.clone();
        pending.push((
            name,
            tokio::spawn(async move {
                let _permit = sem.acquire_owned().await;
                fut.await
            }),
        ));
    }
    for (name, task) in pending {
        let r = task.await.unwrap_or_else(|e| Err(anyhow!("operation on {name} failed: {e}")));
        report(name, r, &mut errs);
    }
    for e in &errs {
        eprintln!("{e:#}");
    }
    i32::from(!errs.is_empty())
}

/// POSTs `path_of(name)` for each name.
async fn post_each(c: &Client, names: &[String], sequential: bool, path_of: impl Fn(&str) -> String) -> i32 {
    for_each(names, sequential, |_| false, |name| {
        let c = c.clone();
        let path = path_of(&name);
        async move { c.post(&path).await.map_err(anyhow::Error::from) }
    })
    .await
}

/// `berth stop` (concurrent) and `berth restart` (one after the other, as docker does).
pub async fn stop(c: &Client, a: StopArgs, restart: bool) -> anyhow::Result<i32> {
    let mut q = Query::new();
    if let Some(t) = a.timeout {
        q.set("t", t.to_string());
    }
    q.non_empty("signal", a.signal.as_deref().unwrap_or(""));
    let action = if restart { "/restart" } else { "/stop" };
    Ok(post_each(c, &a.containers, restart, |n| q.to_path(&container_path(n, action))).await)
}

/// `berth kill`.
pub async fn kill(c: &Client, a: KillArgs) -> anyhow::Result<i32> {
    let mut q = Query::new();
    q.non_empty("signal", a.signal.as_deref().unwrap_or(""));
    Ok(post_each(c, &a.containers, false, |n| q.to_path(&container_path(n, "/kill"))).await)
}

/// `berth pause` / `berth unpause`.
pub async fn pause(c: &Client, a: NamesArgs, pause: bool) -> anyhow::Result<i32> {
    let action = if pause { "/pause" } else { "/unpause" };
    Ok(post_each(c, &a.containers, false, |n| container_path(n, action)).await)
}

/// `berth rm`: with `-f`, a container that does not exist is reported but is not an error.
pub async fn rm(c: &Client, a: RmArgs) -> anyhow::Result<i32> {
    let mut q = Query::new();
    q.flag("v", a.volumes).flag("link", a.link).flag("force", a.force);
    let force = a.force;
    let ignore = move |e: &anyhow::Error| force && e.downcast_ref::<ClientError>().is_some_and(ClientError::is_not_found);
    Ok(for_each(&a.containers, false, ignore, |name| {
        let c = c.clone();
        let id = name.trim_matches('/').to_owned();
        let path = q.to_path(&container_path(&id, ""));
        async move {
            if id.is_empty() {
                return Err(anyhow!("container name cannot be empty"));
            }
            c.delete(&path).await.map(|_| ()).map_err(anyhow::Error::from)
        }
    })
    .await)
}

/// `berth rename`.
pub async fn rename(c: &Client, a: RenameArgs) -> anyhow::Result<i32> {
    let old = a.container.trim();
    let new = a.new_name.trim();
    if old.is_empty() || new.is_empty() {
        return Err(anyhow!("Error: Neither old nor new names may be empty"));
    }
    let mut q = Query::new();
    q.set("name", new);
    if let Err(e) = c.post(&q.to_path(&container_path(old, "/rename"))).await {
        eprintln!("{e}");
        return Err(anyhow!("Error: failed to rename container named {old}"));
    }
    Ok(0)
}

// ---- export, prune ----

/// `berth export`: the container's filesystem as a tar, to `-o FILE` or a non-terminal stdout.
pub async fn export(c: &Client, a: ExportArgs) -> anyhow::Result<i32> {
    let mut file = match &a.output {
        None if output::stdout_is_terminal() => {
            return Err(anyhow!("cowardly refusing to save to a terminal. Use the -o flag or redirect"));
        }
        None => None,
        Some(p) => Some(AtomicFile::create(p).context("failed to export container")?),
    };
    let resp = c.send(Method::GET, &container_path(&a.container, "/export"), client::empty(), None).await?;
    let mut body = resp.into_body();
    match file.as_mut() {
        Some(f) => {
            output::copy_body(&mut body, f).await?;
        }
        None => {
            output::copy_body(&mut body, &mut std::io::stdout().lock()).await?;
        }
    }
    if let Some(f) = file {
        f.commit()?;
    }
    Ok(0)
}

/// `berth container prune`.
pub async fn prune(c: &Client, a: PruneArgs) -> anyhow::Result<i32> {
    if !a.force && !output::confirm("WARNING! This will remove all stopped containers.\nAre you sure you want to continue?")? {
        return Ok(0);
    }
    let mut q = Query::new();
    q.filters(&Filters::from_flags(&a.filter));
    let r: ContainerPruneResponse = c.json(Method::POST, &q.to_path("/containers/prune"), None::<&()>).await?;
    let mut out = String::new();
    let mut reclaimed = 0;
    if !r.containers_deleted.is_empty() {
        out.push_str("Deleted Containers:\n");
        for id in &r.containers_deleted {
            out.push_str(id);
            out.push('\n');
        }
        out.push('\n');
        reclaimed = r.space_reclaimed;
    }
    #[allow(clippy::cast_precision_loss)]
    let reclaimed = reclaimed as f64;
    out.push_str(&format!("Total reclaimed space: {}\n", human_size(reclaimed)));
    print(&out);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

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
            image_column("busybox:latest@sha256:4c01db0b339cdbd6f0d2c7d4b0b3bb8b4e7f3e7a5c1a9d57b7c0f1f6e44f5d4a", id, true),
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
        let out = format::render_list("{{.Labels}} {{.LocalVolumes}} {{.Mounts}} {{.State}}", &container_header(), &rows).unwrap();
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
                "Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names", "Networks", "Platform",
                "Ports", "RunningFor", "Size", "State", "Status"
            ]
        );
        assert_eq!(row["Names"], "a");
        assert_eq!(container_row(&s, false, 0.0)["Names"], "a,b/a");
    }

    #[test]
    fn label_calls() {
        let (f, names) = rewrite_label_calls("table {{.Names}}\t{{.Label \"com.docker.compose.service\"}}\t{{ $.Label `a` | upper }}{{.Labels}}");
        assert_eq!(f, "table {{.Names}}\t{{index .LabelValues \"com.docker.compose.service\"}}\t{{ index $.LabelValues `a` | upper }}{{.Labels}}");
        assert_eq!(names, ["com.docker.compose.service", "a"]);
        assert_eq!(rewrite_label_calls("{{.Labels}} {{.Label}}").1, Vec::<String>::new());
        assert_eq!(label_header("com.docker.compose_service-name"), "compose service name");

        let s = ContainerSummary { labels: BTreeMap::from([("a".into(), "1".into())]), ..Default::default() };
        let (f, names) = rewrite_label_calls("table {{.Label \"a\"}}|{{.Label \"b\"}}");
        let mut header = container_header();
        header[LABEL_VALUES] = names.iter().map(|n| (n.clone(), Value::from(label_header(n)))).collect();
        let mut row = container_row(&s, true, 0.0);
        row[LABEL_VALUES] = names.iter().map(|n| (n.clone(), Value::from(s.labels.get(n).cloned().unwrap_or_default()))).collect();
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

    #[test]
    fn top_uses_wide_columns() {
        let r = ContainerTopResponse {
            titles: vec!["UID".into(), "PID".into(), "CMD".into()],
            processes: vec![vec!["root".into(), "4242".into(), "sleep 100".into()]],
        };
        assert_eq!(
            top_table(&r),
            "UID                 PID                 CMD\nroot                4242                sleep 100\n"
        );
    }

    #[test]
    fn inspect_paths() {
        assert_eq!(inspect_path("container", "web", true), "/containers/web/json?size=1");
        assert_eq!(inspect_path("image", "busybox:latest", false), "/images/busybox:latest/json");
        assert_eq!(inspect_path("network", "br 0", false), "/networks/br%200");
        assert_eq!(inspect_path("volume", "v", false), "/volumes/v");
    }
}
