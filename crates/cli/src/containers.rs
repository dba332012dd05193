//! Container commands that are one request (or one per name) and a printout: `ps`, `inspect`,
//! `top`, `stop`, `restart`, `kill`, `rm`, `rename`, `pause`, `unpause`, `diff`, `export`,
//! `container prune`, and `cp` (in [`cp`]).
//!
//! Output, flags and exit codes follow docker CLI v28 (`cli/command/container`): commands over
//! several names print each name as given on success and every daemon error on stderr at the
//! end, exiting 1 if any failed; `ps` (module `list`) goes through docker's formatter (see
//! [`crate::format`]).

mod cp;
mod list;

use std::future::Future;
use std::path::PathBuf;

use anyhow::{Context, anyhow};
use api_types::container::{ChangeKind, ContainerPruneResponse, ContainerTopResponse, FilesystemChange};
use client::{Client, ClientError};
use gotmpl::{TabConfig, TabWriter};
use hyper::Method;

pub use self::cp::cp;
pub use self::list::ps;
pub(crate) use self::list::with_label_values;
use crate::format::inspect;
use crate::format::output::{self, AtomicFile};
use crate::format::query::{Filter, Filters, Query, path_segment};
use crate::format::{human_size, print};
use crate::term;

pub(crate) const FORMAT_HELP: &str = "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";
pub(crate) const INSPECT_FORMAT_HELP: &str = "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";

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
#[command(
    after_help = "Use '-' as the source to read a tar archive from stdin\nand extract it to a directory destination in a container.\nUse '-' as the destination to stream a tar archive of a\ncontainer source to stdout."
)]
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
    /// Filter values (`until=<timestamp>`, `label=<key>[=<value>]`)
    #[arg(long = "filter", value_name = "filter", help = "Provide filter values (e.g. \"until=<timestamp>\")")]
    pub filter: Vec<Filter>,
}

/// `/containers/{name}` plus `rest`, the name escaped for the path.
pub(crate) fn container_path(name: &str, rest: &str) -> String {
    format!("/containers/{}{rest}", path_segment(name))
}

// ---- inspect ----

const ALL_TYPES: [&str; 10] =
    ["config", "container", "image", "network", "node", "plugin", "secret", "service", "task", "volume"];

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
    Ok(client::read_all(&mut resp.into_body()).await?.into())
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
        Some("") => {
            return Err(anyhow!("type is empty: must be one of \"{}\"", ALL_TYPES.join("\", \"")));
        }
        Some(t) if ALL_TYPES.contains(&t) => Some(t),
        Some(t) => {
            return Err(anyhow!("unknown type: {t:?}: must be one of \"{}\"", ALL_TYPES.join("\", \"")));
        }
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
pub(crate) async fn for_each<F, Fut>(
    names: &[String],
    sequential: bool,
    ignore: impl Fn(&anyhow::Error) -> bool,
    op: F,
) -> i32
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
    for_each(
        names,
        sequential,
        |_| false,
        |name| {
            let c = c.clone();
            let path = path_of(&name);
            async move { c.post(&path).await.map_err(anyhow::Error::from) }
        },
    )
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
    let ignore =
        move |e: &anyhow::Error| force && e.downcast_ref::<ClientError>().is_some_and(ClientError::is_not_found);
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
    let file = match &a.output {
        None if term::stdout_is_tty() => {
            return Err(anyhow!("cowardly refusing to save to a terminal. Use the -o flag or redirect"));
        }
        None => None,
        Some(p) => Some(AtomicFile::create(p).context("failed to export container")?),
    };
    let resp = c.send(Method::GET, &container_path(&a.container, "/export"), client::empty(), None).await?;
    output::body_to_output(&mut resp.into_body(), file).await
}

/// `berth container prune`.
pub async fn prune(c: &Client, a: PruneArgs) -> anyhow::Result<i32> {
    if !a.force
        && !output::confirm("WARNING! This will remove all stopped containers.\nAre you sure you want to continue?")?
    {
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
    use super::*;

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
