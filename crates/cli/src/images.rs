//! Image commands: `images`, `load`, `save`, `import`, `tag`, `rmi`, `history`,
//! `image inspect` and `image prune`, with docker CLI v28's flags, output and exit codes
//! (`cli/command/image`).
//!
//! Archives are streamed both ways: `load` and `import` send the file (or stdin) as the request
//! body as it is read, `save` writes the response to stdout or to `-o FILE` through a temporary
//! file that is renamed into place only when the whole archive arrived. The JSON-lines replies
//! of `load` and `import` are shown as docker's `jsonmessage` does (module `progress`).

mod progress;

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use api_types::image::{HistoryResponseItem, ImageDeleteResponseItem, ImagePruneResponse, ImageSummary};
use client::Client;
use hyper::Method;
use serde_json::{Value, json};

use self::progress::{display_stream, is_json};
use crate::containers::get_raw;
use crate::format::inspect;
use crate::format::output::{self, AtomicFile, os_error};
use crate::format::query::{Filter, Filters, Query, path_segment};
use crate::format::{self, ago, as_f64, ellipsis, human_size, human_size_prec, print, truncate_id};
use crate::term;

const FORMAT_HELP: &str = "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";
const INSPECT_FORMAT_HELP: &str = "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";

/// `berth images [REPOSITORY[:TAG]]` / `berth image ls`.
#[derive(Debug, clap::Args)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<Filter>,
    /// Format output using a custom template
    #[arg(long, value_name = "string", long_help = FORMAT_HELP)]
    pub format: Option<String>,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Only images matching this reference (a glob, e.g. busybox:*)
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub repository: Option<String>,
}

/// `berth load`.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short = 'i', long, value_name = "string")]
    pub input: Option<PathBuf>,
    /// Suppress the load output
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// `berth save`.
#[derive(Debug, clap::Args)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long, value_name = "string")]
    pub output: Option<PathBuf>,
    /// Images
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

/// `berth import file|- [REPOSITORY[:TAG]]`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long = "change", value_name = "list")]
    pub change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short = 'm', long, value_name = "string")]
    pub message: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string")]
    pub platform: Option<String>,
    /// A tar archive (optionally compressed), a URL, or - for stdin
    #[arg(value_name = "file|URL|-")]
    pub source: String,
    /// Name for the new image
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
}

/// `berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]`.
#[derive(Debug, clap::Args)]
pub struct TagArgs {
    /// The existing image
    #[arg(value_name = "SOURCE_IMAGE[:TAG]")]
    pub source: String,
    /// The new reference
    #[arg(value_name = "TARGET_IMAGE[:TAG]")]
    pub target: String,
}

/// `berth rmi`.
#[derive(Debug, clap::Args)]
pub struct RmiArgs {
    /// Force removal of the image
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Do not delete untagged parents
    #[arg(long)]
    pub no_prune: bool,
    /// Images
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

/// `berth history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Format output using a custom template
    #[arg(long, value_name = "string", long_help = FORMAT_HELP)]
    pub format: Option<String>,
    /// Print sizes and dates in human readable format (`-H` is the global `--host` here)
    #[arg(
        long,
        default_value_t = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_name = "bool"
    )]
    pub human: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// The image
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

/// `berth image inspect`.
#[derive(Debug, clap::Args)]
pub struct ImageInspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long, value_name = "string", long_help = INSPECT_FORMAT_HELP)]
    pub format: Option<String>,
    /// Images
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

/// The "Deleted Images:" section of `image prune` and `system prune` (empty when none went).
pub(crate) fn deleted_images_text(r: &ImagePruneResponse) -> String {
    let mut out = String::new();
    if !r.images_deleted.is_empty() {
        out.push_str("Deleted Images:\n");
        for it in &r.images_deleted {
            match (&it.untagged, &it.deleted) {
                (Some(u), _) if !u.is_empty() => out.push_str(&format!("untagged: {u}\n")),
                (_, d) => out.push_str(&format!("deleted: {}\n", d.as_deref().unwrap_or(""))),
            }
        }
        out.push('\n');
    }
    out
}

/// `berth image prune`.
#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Filter values (`until=<timestamp>`, `label=<key>[=<value>]`)
    #[arg(long = "filter", value_name = "filter", help = "Provide filter values (e.g. \"until=<timestamp>\")")]
    pub filter: Vec<Filter>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

fn image_path(name: &str, rest: &str) -> String {
    format!("/images/{}{rest}", path_segment(name))
}

// ---- images ----

const DEFAULT_IMAGES_FORMAT: &str =
    "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}";
const DIGEST_IMAGES_FORMAT: &str = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}";

/// docker's `NewImageFormat`.
fn image_format(source: &str, quiet: bool, digest: bool) -> String {
    match source {
        "table" if quiet => "{{.ID}}".into(),
        "table" if digest => DIGEST_IMAGES_FORMAT.into(),
        "table" => DEFAULT_IMAGES_FORMAT.into(),
        "raw" if quiet => "image_id: {{.ID}}".into(),
        "raw" if digest => "repository: {{ .Repository }}\ntag: {{.Tag}}\ndigest: {{.Digest}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n".into(),
        "raw" => "repository: {{ .Repository }}\ntag: {{.Tag}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n".into(),
        custom if custom.starts_with("table") && digest && !custom.contains("{{.Digest}}") => format!("{custom}\t{{{{.Digest}}}}"),
        custom => custom.into(),
    }
}

fn image_header() -> Value {
    json!({
        "ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
        "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
        "Containers": "CONTAINERS", "VirtualSize": "SIZE", "SharedSize": "SHARED SIZE",
        "UniqueSize": "UNIQUE SIZE",
    })
}

fn image_row(img: &ImageSummary, trunc: bool, now: f64, repo: &str, tag: &str, digest: &str) -> Value {
    let na_or = |n: i64, f: &dyn Fn(i64) -> String| if n == -1 { "N/A".to_owned() } else { f(n) };
    json!({
        "ID": if trunc { truncate_id(&img.id).to_owned() } else { img.id.clone() },
        "Repository": repo,
        "Tag": tag,
        "Digest": digest,
        "CreatedSince": ago(img.created, now),
        "CreatedAt": format::go_time(img.created),
        "Size": human_size_prec(as_f64(img.size), 3),
        "Containers": na_or(img.containers, &|n| n.to_string()),
        "VirtualSize": human_size(as_f64(img.size)),
        "SharedSize": na_or(img.shared_size, &|n| human_size(as_f64(n))),
        "UniqueSize": if img.size == -1 || img.shared_size == -1 {
            "N/A".to_owned()
        } else {
            human_size(as_f64(img.size - img.shared_size))
        },
    })
}

/// docker's `imageFormat`: one row per repository and tag (and digest, when shown); one
/// `<none>` row for a dangling image.
fn image_rows(img: &ImageSummary, trunc: bool, show_digests: bool, need_digest: bool, now: f64) -> Vec<Value> {
    let dangling = (img.repo_tags.is_empty() && img.repo_digests.is_empty())
        || (img.repo_tags == ["<none>:<none>"] && img.repo_digests == ["<none>@<none>"]);
    if dangling {
        return vec![image_row(img, trunc, now, "<none>", "<none>", "<none>")];
    }
    let mut tags: Vec<(String, Vec<String>)> = Vec::new();
    let mut digests: Vec<(String, Vec<String>)> = Vec::new();
    fn push(list: &mut Vec<(String, Vec<String>)>, repo: String, v: String) {
        match list.iter_mut().find(|(r, _)| *r == repo) {
            Some((_, vs)) => vs.push(v),
            None => list.push((repo, vec![v])),
        }
    }
    for r in &img.repo_tags {
        if let Ok(p) = oci::Reference::parse(r)
            && p.digest().is_none()
            && let Some(t) = p.tag()
        {
            push(&mut tags, p.familiar_repository(), t.to_owned());
        }
    }
    for r in &img.repo_digests {
        if let Ok(p) = oci::Reference::parse(r)
            && let Some(d) = p.digest()
        {
            push(&mut digests, p.familiar_repository(), d.to_string());
        }
    }
    let mut rows = Vec::new();
    for (repo, repo_tags) in &tags {
        let ds = match digests.iter().position(|(r, _)| r == repo) {
            Some(i) => digests.remove(i).1,
            None => Vec::new(),
        };
        let ds = if need_digest { ds } else { Vec::new() };
        for tag in repo_tags {
            if ds.is_empty() {
                rows.push(image_row(img, trunc, now, repo, tag, "<none>"));
            }
            for d in &ds {
                rows.push(image_row(img, trunc, now, repo, tag, d));
            }
        }
    }
    for (repo, ds) in &digests {
        if show_digests {
            for d in ds {
                rows.push(image_row(img, trunc, now, repo, "<none>", d));
            }
        } else {
            rows.push(image_row(img, trunc, now, repo, "<none>", ""));
        }
    }
    rows
}

/// `berth images`.
pub async fn images(c: &Client, a: ImagesArgs) -> anyhow::Result<i32> {
    let mut f = Filters::from_flags(&a.filter);
    if let Some(r) = &a.repository {
        f.add("reference", r);
    }
    let mut q = Query::new();
    q.flag("all", a.all).filters(&f);
    let list: Vec<ImageSummary> = c.get(&q.to_path("/images/json")).await?;
    let source = a.format.as_deref().filter(|f| !f.is_empty()).unwrap_or("table");
    let fmt = image_format(source, a.quiet, a.digests);
    let need_digest = a.digests || fmt.contains("{{.Digest}}");
    let now = format::now_secs();
    let rows: Vec<Value> = list.iter().flat_map(|i| image_rows(i, !a.no_trunc, a.digests, need_digest, now)).collect();
    print(&format::render_list(&fmt, &image_header(), &rows)?);
    if let Some(name) = &a.repository
        && list.is_empty()
        && ["build", "history", "import", "inspect", "list", "load", "ls", "prune", "pull", "push", "rm", "save", "tag"]
            .contains(&name.as_str())
    {
        eprintln!("\nNo images found matching {name:?}: did you mean \"berth image {name}\"?");
    }
    Ok(0)
}

// ---- load, save, import ----

/// `berth load`: streams `-i FILE` or stdin to the daemon.
pub async fn load(c: &Client, a: LoadArgs) -> anyhow::Result<i32> {
    let body = match &a.input {
        None => {
            if term::stdin_is_tty() {
                bail!("requested load from stdin, but stdin is empty");
            }
            client::reader_body(output::stdin_file().context("reading stdin")?)
        }
        Some(p) => client::reader_body(tokio::fs::File::open(p).await.map_err(|e| os_error("open", p, &e))?),
    };
    let terminal = term::stdout_is_tty();
    let mut q = Query::new();
    q.set("quiet", if a.quiet || !terminal { "1" } else { "0" });
    let resp = c.send(Method::POST, &q.to_path("/images/load"), body, Some("application/x-tar")).await?;
    let json = is_json(&resp);
    let mut body = resp.into_body();
    if json {
        display_stream(&mut body, terminal).await?;
    } else {
        output::copy_body(&mut body, &mut std::io::stdout().lock()).await?;
    }
    Ok(0)
}

/// `berth save`: the images as one tar, to `-o FILE` or a non-terminal stdout.
pub async fn save(c: &Client, a: SaveArgs) -> anyhow::Result<i32> {
    let file = match &a.output {
        None if term::stdout_is_tty() => {
            bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
        }
        None => None,
        Some(p) => Some(AtomicFile::create(p).context("failed to save image")?),
    };
    let mut q = Query::new();
    for name in &a.images {
        q.set("names", name.as_str());
    }
    let resp = c.send(Method::GET, &q.to_path("/images/get"), client::empty(), None).await?;
    output::body_to_output(&mut resp.into_body(), file).await
}

/// `berth import`: a root filesystem tarball (file or stdin) becomes a one-layer image.
pub async fn import(c: &Client, a: ImportArgs) -> anyhow::Result<i32> {
    let mut q = Query::new();
    let body = if a.source == "-" {
        q.set("fromSrc", "-");
        client::reader_body(output::stdin_file().context("reading stdin")?)
    } else if a.source.starts_with("http://") || a.source.starts_with("https://") {
        q.set("fromSrc", a.source.as_str());
        client::empty()
    } else {
        let f = tokio::fs::File::open(&a.source).await.map_err(|e| os_error("open", a.source.as_ref(), &e))?;
        q.set("fromSrc", "-");
        client::reader_body(f)
    };
    if let Some(r) = a.reference.as_deref().filter(|r| !r.is_empty()) {
        oci::Reference::parse(r).map_err(|e| anyhow!("{e}"))?;
        q.set("repo", r);
    }
    q.non_empty("message", a.message.as_deref().unwrap_or(""));
    q.non_empty("platform", &a.platform.as_deref().unwrap_or("").to_lowercase());
    for ch in &a.change {
        q.set("changes", ch.as_str());
    }
    let resp = c.send(Method::POST, &q.to_path("/images/create"), body, None).await?;
    display_stream(&mut resp.into_body(), term::stdout_is_tty()).await?;
    Ok(0)
}

// ---- tag, rmi ----

/// `berth tag`: the target is normalised (`busybox` is `docker.io/library/busybox:latest`).
pub async fn tag(c: &Client, a: TagArgs) -> anyhow::Result<i32> {
    // The source may also be a bare image ID (64 hex digits).
    if oci::Digest::from_hex(&a.source).is_err()
        && let Err(e) = oci::Reference::parse(&a.source)
    {
        bail!("Error parsing reference: {:?} is not a valid repository/tag: {e}", a.source);
    }
    let r = oci::Reference::parse(&a.target)
        .map_err(|e| anyhow!("Error parsing reference: {:?} is not a valid repository/tag: {e}", a.target))?;
    if r.digest().is_some() {
        bail!("refusing to create a tag with a digest reference");
    }
    let mut q = Query::new();
    q.set("repo", r.repository()).set("tag", r.tag().unwrap_or("latest"));
    c.post(&q.to_path(&image_path(&a.source, "/tag"))).await?;
    Ok(0)
}

/// `berth rmi`: prints `Untagged: ...` / `Deleted: ...`; with `-f`, images that do not exist
/// are reported on stderr without failing.
pub async fn rmi(c: &Client, a: RmiArgs) -> anyhow::Result<i32> {
    let mut q = Query::new();
    q.flag("force", a.force).flag("noprune", a.no_prune);
    let mut errs = Vec::new();
    let mut fatal = false;
    for name in &a.images {
        let r: Result<Vec<ImageDeleteResponseItem>, _> =
            c.json(Method::DELETE, &q.to_path(&image_path(name, "")), None::<&()>).await;
        match r {
            Ok(items) => {
                let mut out = String::new();
                for it in items {
                    match (it.deleted, it.untagged) {
                        (Some(d), _) if !d.is_empty() => out.push_str(&format!("Deleted: {d}\n")),
                        (_, u) => out.push_str(&format!("Untagged: {}\n", u.unwrap_or_default())),
                    }
                }
                print(&out);
            }
            Err(e) => {
                fatal |= !e.is_not_found();
                errs.push(e);
            }
        }
    }
    for e in &errs {
        eprintln!("{e}");
    }
    Ok(i32::from(!errs.is_empty() && (!a.force || fatal)))
}

// ---- history ----

const DEFAULT_HISTORY_FORMAT: &str = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
const NON_HUMAN_HISTORY_FORMAT: &str = "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
/// 2000-01-01: older creation times are shown as `N/A`.
const HISTORY_EPOCH: i64 = 946_684_800;

fn history_format(source: &str, quiet: bool, human: bool) -> &str {
    match source {
        "table" if quiet => "{{.ID}}",
        "table" if !human => NON_HUMAN_HISTORY_FORMAT,
        "table" => DEFAULT_HISTORY_FORMAT,
        other => other,
    }
}

fn history_row(h: &HistoryResponseItem, trunc: bool, human: bool, now: f64) -> Value {
    let created_at = format::rfc3339_local(h.created);
    let since = if !human {
        created_at.clone()
    } else if h.created <= HISTORY_EPOCH {
        "N/A".to_owned()
    } else {
        ago(h.created, now)
    };
    let created_by = h.created_by.replace('\t', " ");
    json!({
        "ID": if trunc { truncate_id(&h.id).to_owned() } else { h.id.clone() },
        "CreatedAt": created_at,
        "CreatedSince": since,
        "CreatedBy": if trunc { ellipsis(&created_by, 45) } else { created_by },
        "Size": if human { human_size_prec(as_f64(h.size), 3) } else { h.size.to_string() },
        "Comment": h.comment,
    })
}

fn history_header() -> Value {
    json!({
        "ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
        "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT",
    })
}

/// `berth history`.
pub async fn history(c: &Client, a: HistoryArgs) -> anyhow::Result<i32> {
    let items: Option<Vec<HistoryResponseItem>> = c.get(&image_path(&a.image, "/history")).await?;
    let source = a.format.as_deref().filter(|f| !f.is_empty()).unwrap_or("table");
    let now = format::now_secs();
    let rows: Vec<Value> =
        items.unwrap_or_default().iter().map(|h| history_row(h, !a.no_trunc, a.human, now)).collect();
    print(&format::render_list(history_format(source, a.quiet, a.human), &history_header(), &rows)?);
    Ok(0)
}

// ---- inspect, prune ----

/// `berth image inspect`.
pub async fn inspect(c: &Client, a: ImageInspectArgs) -> anyhow::Result<i32> {
    inspect::run(
        &a.images,
        a.format.as_deref(),
        |name| async move { Ok(get_raw(c, &image_path(&name, "/json")).await?) },
    )
    .await
}

/// `berth image prune`: dangling images, or with `-a` every image no container uses.
pub async fn prune(c: &Client, a: PruneArgs) -> anyhow::Result<i32> {
    let mut f = Filters::from_flags(&a.filter);
    f.add("dangling", if a.all { "false" } else { "true" });
    let warning = if a.all {
        "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?"
    } else {
        "WARNING! This will remove all dangling images.\nAre you sure you want to continue?"
    };
    if !a.force && !output::confirm(warning)? {
        return Ok(0);
    }
    let mut q = Query::new();
    q.filters(&f);
    let r: ImagePruneResponse = c.json(Method::POST, &q.to_path("/images/prune"), None::<&()>).await?;
    let mut out = deleted_images_text(&r);
    let reclaimed = if r.images_deleted.is_empty() { 0 } else { r.space_reclaimed };
    #[allow(clippy::cast_precision_loss)]
    let reclaimed = reclaimed as f64;
    out.push_str(&format!("Total reclaimed space: {}\n", human_size(reclaimed)));
    print(&out);
    let _ = std::io::stdout().flush();
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_is_consistent() {
        use clap::{CommandFactory, Parser};
        crate::Cli::command().debug_assert();
        let cli = crate::Cli::try_parse_from(["berth", "history", "--human=false", "busybox"]);
        assert!(matches!(cli.map(|c| c.command), Ok(crate::Command::History(HistoryArgs { human: false, .. }))));
    }

    const ID: &str = "sha256:4c01db0b339cdbd6f0d2c7d4b0b3bb8b4e7f3e7a5c1a9d57b7c0f1f6e44f5d4a";
    const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    fn img(tags: &[&str], digests: &[&str]) -> ImageSummary {
        ImageSummary {
            id: ID.into(),
            repo_tags: tags.iter().map(|s| (*s).to_owned()).collect(),
            repo_digests: digests.iter().map(|s| (*s).to_owned()).collect(),
            created: 1_700_000_000 - 3 * 86400,
            size: 4_264_960,
            shared_size: -1,
            containers: -1,
            ..Default::default()
        }
    }

    fn table(images: &[ImageSummary], fmt: &str, digests: bool, trunc: bool) -> String {
        let fmt = image_format(fmt, false, digests);
        let need = digests || fmt.contains("{{.Digest}}");
        let rows: Vec<Value> =
            images.iter().flat_map(|i| image_rows(i, trunc, digests, need, 1_700_000_000.0)).collect();
        format::render_list(&fmt, &image_header(), &rows).unwrap()
    }

    #[test]
    fn images_table_matches_docker() {
        let images = [img(&["busybox:latest", "busybox:1.36"], &[]), img(&[], &[])];
        assert_eq!(
            table(&images, "table", false, true),
            "REPOSITORY   TAG       IMAGE ID       CREATED      SIZE\n\
             busybox      latest    4c01db0b339c   3 days ago   4.26MB\n\
             busybox      1.36      4c01db0b339c   3 days ago   4.26MB\n\
             <none>       <none>    4c01db0b339c   3 days ago   4.26MB\n"
        );
        assert_eq!(table(&[], "table", false, true), "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n");
        let out = table(&images, "{{.ID}}", false, false);
        assert_eq!(out, format!("{ID}\n{ID}\n{ID}\n"));
    }

    #[test]
    fn images_with_digests() {
        let digested = format!("busybox@{DIGEST}");
        let images = [img(&["busybox:latest"], &[&digested]), img(&[], &[&format!("alpine@{DIGEST}")])];
        let out = table(&images, "table", true, true);
        assert_eq!(
            out,
            format!(
                "REPOSITORY   TAG       DIGEST                                                                    IMAGE ID       CREATED      SIZE\n\
                 busybox      latest    {DIGEST}   4c01db0b339c   3 days ago   4.26MB\n\
                 alpine       <none>    {DIGEST}   4c01db0b339c   3 days ago   4.26MB\n"
            )
        );
        // Without --digests, a digest-only reference is one row with an empty digest.
        let rows = image_rows(&images[1], true, false, false, 0.0);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["Tag"], "<none>");
        assert_eq!(rows[0]["Digest"], "");
        assert_eq!(image_format("table {{.ID}}", false, true), "table {{.ID}}\t{{.Digest}}");
        assert_eq!(image_format("{{.ID}}", true, false), "{{.ID}}");
    }

    #[test]
    fn history_table_matches_docker() {
        let items = [
            HistoryResponseItem {
                id: ID.into(),
                created: 1_700_000_000 - 7200,
                created_by: "/bin/sh -c #(nop)  CMD [\"sh\"]\twith a tab and a long tail".into(),
                size: 0,
                ..Default::default()
            },
            HistoryResponseItem {
                id: "<missing>".into(),
                created: 0,
                created_by: "ADD file".into(),
                size: 4_264_960,
                comment: "imported".into(),
                ..Default::default()
            },
        ];
        let rows: Vec<Value> = items.iter().map(|h| history_row(h, true, true, 1_700_000_000.0)).collect();
        let out = format::render_list(history_format("table", false, true), &history_header(), &rows).unwrap();
        assert_eq!(
            out,
            "IMAGE          CREATED       CREATED BY                                      SIZE      COMMENT\n\
             4c01db0b339c   2 hours ago   /bin/sh -c #(nop)  CMD [\"sh\"] with a tab and…   0B        \n\
             <missing>      N/A           ADD file                                        4.26MB    imported\n"
        );
        let row = history_row(&items[1], false, false, 0.0);
        assert_eq!(row["Size"], "4264960");
        assert_eq!(row["CreatedSince"], row["CreatedAt"]);
    }
}
