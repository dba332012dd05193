//! `berth volume` (`create`, `ls`, `inspect`, `rm`, `prune`), `berth system df` and
//! `berth system prune`, with docker CLI v28's flags and output; and berth's `mount add` /
//! `mount rm`, which attach and detach mounts of a running container.
//!
//! Requests: `POST /volumes/create`, `GET /volumes?filters=`, `GET /volumes/{name}`,
//! `DELETE /volumes/{name}[?force=1]`, `POST /volumes/prune?filters=`, `GET /system/df`,
//! `POST /containers/{id}/mounts` (a Docker `Mount` body), `DELETE
//! /containers/{id}/mounts?destination=`.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail};
use api_types::container::{ContainerPruneResponse, ContainerSummary, Mount};
use api_types::image::ImagePruneResponse;
use api_types::network::NetworkPruneResponse;
use api_types::system::SystemDataUsageResponse;
use api_types::volume::{Volume, VolumeCreateOptions, VolumeListResponse, VolumePruneResponse};
use client::Client;
use hyper::Method;
use serde_json::{Value, json};

use crate::containers::{INSPECT_FORMAT_HELP, container_path, get_raw, with_label_values};
use crate::format::query::{Filter, Filters, Query, path_segment};
use crate::format::{self, human_size, inspect, output, print};

/// `berth volume create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// Specify volume driver name
    #[arg(short = 'd', long, value_name = "string", default_value = "local")]
    pub driver: String,
    /// Set metadata for a volume
    #[arg(long, value_name = "list")]
    pub label: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "map")]
    pub opt: Vec<String>,
    /// Volume name
    #[arg(long = "name", value_name = "string", hide = true)]
    pub name_flag: Option<String>,
    /// Volume name
    #[arg(value_name = "VOLUME")]
    pub name: Option<String>,
}

/// `berth volume ls`.
#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Provide filter values (e.g. "dangling=true")
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<Filter>,
    /// Format output using a custom template
    #[arg(long, value_name = "string")]
    pub format: Option<String>,
    /// Only display volume names
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// `berth volume inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long, value_name = "string", long_help = INSPECT_FORMAT_HELP)]
    pub format: Option<String>,
    /// Volumes
    #[arg(value_name = "VOLUME", required = true)]
    pub volumes: Vec<String>,
}

/// `berth volume rm`.
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// Force the removal of one or more volumes
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Volumes
    #[arg(value_name = "VOLUME", required = true)]
    pub volumes: Vec<String>,
}

/// `berth volume prune`.
#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Provide filter values (e.g. "label=<label>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<Filter>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

/// `berth system df`.
#[derive(Debug, clap::Args)]
pub struct DfArgs {
    /// Format output using a custom template
    #[arg(long, value_name = "string")]
    pub format: Option<String>,
    /// Show detailed information on space usage
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// `berth system prune`.
#[derive(Debug, clap::Args)]
pub struct SystemPruneArgs {
    /// Remove all unused images not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<Filter>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Prune anonymous volumes
    #[arg(long)]
    pub volumes: bool,
}

/// `berth mount add`.
#[derive(Debug, clap::Args)]
pub struct MountAddArgs {
    /// Read-only
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// The container
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// SRC:DST[:ro] (SRC a volume name or an absolute host path), or --mount's
    /// type=...,source=...,target=... form
    #[arg(value_name = "SPEC")]
    pub spec: String,
}

/// `berth mount rm`.
#[derive(Debug, clap::Args)]
pub struct MountRmArgs {
    /// The container
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// The container path of the mount
    #[arg(value_name = "DESTINATION")]
    pub destination: String,
}

fn volume_path(name: &str) -> String {
    format!("/volumes/{}", path_segment(name))
}

fn kv(flags: &[String], what: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for f in flags {
        let (k, v) = f.split_once('=').unwrap_or((f.as_str(), ""));
        if k.is_empty() {
            bail!("invalid argument {f:?} for \"--{what}\" flag: bad format of {what} (expected key=value)");
        }
        out.insert(k.to_owned(), v.to_owned());
    }
    Ok(out)
}

/// `berth volume create`: prints the volume's name.
pub async fn create(c: &Client, a: CreateArgs) -> anyhow::Result<i32> {
    let name = match (a.name, a.name_flag) {
        (Some(n), Some(f)) if n != f => {
            bail!("conflicting options: either specify --name or provide positional arg, not both")
        }
        (n, f) => n.or(f).unwrap_or_default(),
    };
    let body = VolumeCreateOptions {
        name,
        driver: a.driver,
        driver_opts: kv(&a.opt, "opt")?,
        labels: kv(&a.label, "label")?,
        cluster_volume_spec: None,
    };
    let v: Volume = c.json(Method::POST, "/volumes/create", Some(&body)).await?;
    println!("{}", v.name);
    Ok(0)
}

const DEFAULT_VOLUME_FORMAT: &str = "table {{.Driver}}\t{{.Name}}";

fn volume_row(v: &Volume) -> Value {
    let labels: Vec<String> =
        v.labels.as_ref().map(|l| l.iter().map(|(k, v)| format!("{k}={v}")).collect()).unwrap_or_default();
    json!({
        "Name": v.name, "Driver": v.driver, "Scope": v.scope, "Mountpoint": v.mountpoint,
        "Labels": labels.join(","), "Links": "N/A", "Size": "N/A", "Availability": "N/A",
        "Group": "N/A", "Status": "N/A",
    })
}

/// `berth volume ls`: sorted by name, as docker does.
pub async fn ls(c: &Client, a: LsArgs) -> anyhow::Result<i32> {
    let mut q = Query::new();
    q.filters(&Filters::from_flags(&a.filter));
    let mut list: VolumeListResponse = c.get(&q.to_path("/volumes")).await?;
    list.volumes.sort_by(|x, y| x.name.cmp(&y.name));
    let source = a.format.as_deref().filter(|f| !f.is_empty()).unwrap_or("table");
    let fmt = match source {
        "table" if a.quiet => "{{.Name}}",
        "table" => DEFAULT_VOLUME_FORMAT,
        "raw" => "name: {{.Name}}\ndriver: {{.Driver}}\n",
        custom => custom,
    };
    let mut header = json!({
        "Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
        "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "Availability": "AVAILABILITY",
        "Group": "GROUP", "Status": "STATUS",
    });
    let mut rows: Vec<Value> = list.volumes.iter().map(volume_row).collect();
    let empty = BTreeMap::new();
    let labels: Vec<_> = list.volumes.iter().map(|v| v.labels.as_ref().unwrap_or(&empty)).collect();
    let fmt = with_label_values(fmt, &mut header, &mut rows, &labels);
    print(&format::render_list(&fmt, &header, &rows)?);
    Ok(0)
}

/// `berth volume inspect`.
pub async fn inspect(c: &Client, a: InspectArgs) -> anyhow::Result<i32> {
    inspect::run(&a.volumes, a.format.as_deref(), |name| async move { Ok(get_raw(c, &volume_path(&name)).await?) })
        .await
}

/// `berth volume rm`: each name printed once removed; errors printed as they happen.
pub async fn rm(c: &Client, a: RmArgs) -> anyhow::Result<i32> {
    let mut failed = false;
    for name in &a.volumes {
        let path = if a.force { format!("{}?force=1", volume_path(name)) } else { volume_path(name) };
        match c.delete(&path).await {
            Ok(_) => println!("{name}"),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    if failed {
        bail!("exit status 1");
    }
    Ok(0)
}

async fn prune_volumes(c: &Client, filters: &[Filter], all: bool) -> anyhow::Result<VolumePruneResponse> {
    let mut f = Filters::from_flags(filters);
    if all {
        f.add("all", "true");
    }
    let mut q = Query::new();
    q.filters(&f);
    Ok(c.json(Method::POST, &q.to_path("/volumes/prune"), None::<&()>).await?)
}

/// `berth volume prune`.
pub async fn prune(c: &Client, a: PruneArgs) -> anyhow::Result<i32> {
    let warning = if a.all {
        "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?"
    } else {
        "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?"
    };
    if !a.force && !output::confirm(warning)? {
        return Ok(0);
    }
    let r = prune_volumes(c, &a.filter, a.all).await?;
    let mut out = String::new();
    if !r.volumes_deleted.is_empty() {
        out.push_str(&format!("Deleted Volumes:\n{}\n\n", r.volumes_deleted.join("\n")));
    }
    #[allow(clippy::cast_precision_loss)]
    out.push_str(&format!("Total reclaimed space: {}\n", human_size(r.space_reclaimed as f64)));
    print(&out);
    Ok(0)
}

// ---- system df, system prune ----

#[allow(clippy::cast_precision_loss)]
fn size(n: i64) -> String {
    human_size(n.max(0) as f64)
}

#[allow(clippy::cast_precision_loss)]
fn reclaimable(part: i64, total: i64) -> String {
    if total > 0 { format!("{} ({}%)", size(part), part * 100 / total) } else { size(part) }
}

/// `berth system df`.
pub async fn df(c: &Client, a: DfArgs) -> anyhow::Result<i32> {
    let du: SystemDataUsageResponse = c.get("/system/df").await?;
    let images = du.images.unwrap_or_default();
    let containers = du.containers.unwrap_or_default();
    let volumes = du.volumes.unwrap_or_default();
    if a.verbose {
        print(&verbose_df(&images, &containers, &volumes)?);
        return Ok(0);
    }
    let active_images = images.iter().filter(|i| i.containers > 0).count();
    let unused_image_size: i64 = images.iter().filter(|i| i.containers <= 0).map(|i| i.size).sum();
    let running = containers.iter().filter(|c| c.state == "running" || c.state == "paused").count();
    let container_size: i64 = containers.iter().map(|c| c.size_rw.unwrap_or(0)).sum();
    let stopped_size: i64 =
        containers.iter().filter(|c| c.state != "running" && c.state != "paused").map(|c| c.size_rw.unwrap_or(0)).sum();
    let usage = |v: &Volume| v.usage_data.as_ref().map_or((0, 0), |u| (u.size, u.ref_count));
    let active_volumes = volumes.iter().filter(|v| usage(v).1 > 0).count();
    let volume_size: i64 = volumes.iter().map(|v| usage(v).0).sum();
    let unused_volume_size: i64 = volumes.iter().filter(|v| usage(v).1 == 0).map(|v| usage(v).0).sum();
    let header = json!({"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"});
    let rows = vec![
        json!({"Type": "Images", "TotalCount": images.len().to_string(), "Active": active_images.to_string(),
               "Size": size(du.layers_size), "Reclaimable": reclaimable(unused_image_size, du.layers_size)}),
        json!({"Type": "Containers", "TotalCount": containers.len().to_string(), "Active": running.to_string(),
               "Size": size(container_size), "Reclaimable": reclaimable(stopped_size, container_size)}),
        json!({"Type": "Local Volumes", "TotalCount": volumes.len().to_string(), "Active": active_volumes.to_string(),
               "Size": size(volume_size), "Reclaimable": reclaimable(unused_volume_size, volume_size)}),
        json!({"Type": "Build Cache", "TotalCount": "0", "Active": "0", "Size": "0B", "Reclaimable": "0B"}),
    ];
    let fmt = match a.format.as_deref().filter(|f| !f.is_empty()).unwrap_or("table") {
        "table" => "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
        f => f,
    };
    print(&format::render_list(fmt, &header, &rows)?);
    Ok(0)
}

fn verbose_df(
    images: &[api_types::image::ImageSummary],
    containers: &[ContainerSummary],
    volumes: &[Volume],
) -> anyhow::Result<String> {
    let mut out = String::from("Images space usage:\n\n");
    let header =
        json!({"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID", "Size": "SIZE", "Containers": "CONTAINERS"});
    let mut rows = Vec::new();
    for i in images {
        let (repo, tag) = i
            .repo_tags
            .first()
            .and_then(|t| t.rsplit_once(':'))
            .map_or(("<none>".to_owned(), "<none>".to_owned()), |(r, t)| (r.to_owned(), t.to_owned()));
        rows.push(
            json!({"Repository": repo, "Tag": tag, "ID": format::truncate_id(i.id.trim_start_matches("sha256:")),
                         "Size": size(i.size), "Containers": i.containers.to_string()}),
        );
    }
    out.push_str(&format::render_list(
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}\t{{.Containers}}",
        &header,
        &rows,
    )?);
    out.push_str("\nContainers space usage:\n\n");
    let header = json!({"ID": "CONTAINER ID", "Image": "IMAGE", "Size": "SIZE", "Status": "STATUS", "Names": "NAMES"});
    let rows: Vec<Value> = containers
        .iter()
        .map(|c| {
            json!({"ID": format::truncate_id(&c.id), "Image": c.image, "Size": size(c.size_rw.unwrap_or(0)),
                   "Status": c.status, "Names": c.names.first().map(|n| n.trim_start_matches('/')).unwrap_or("")})
        })
        .collect();
    out.push_str(&format::render_list(
        "table {{.ID}}\t{{.Image}}\t{{.Size}}\t{{.Status}}\t{{.Names}}",
        &header,
        &rows,
    )?);
    out.push_str("\nLocal Volumes space usage:\n\n");
    let header = json!({"Name": "VOLUME NAME", "Links": "LINKS", "Size": "SIZE"});
    let rows: Vec<Value> = volumes
        .iter()
        .map(|v| {
            let u = v.usage_data.clone().unwrap_or_default();
            json!({"Name": v.name, "Links": u.ref_count.to_string(), "Size": size(u.size)})
        })
        .collect();
    out.push_str(&format::render_list("table {{.Name}}\t{{.Links}}\t{{.Size}}", &header, &rows)?);
    out.push_str("\nBuild cache usage: 0B\n\n");
    Ok(out)
}

/// `berth system prune`: stopped containers, unused networks, dangling (or with `-a` unused)
/// images and, with `--volumes`, unused anonymous volumes.
pub async fn system_prune(c: &Client, a: SystemPruneArgs) -> anyhow::Result<i32> {
    if !a.force {
        let mut warning = String::from(
            "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n",
        );
        if a.volumes {
            warning.push_str("  - all anonymous volumes not used by at least one container\n");
        }
        warning.push_str(if a.all {
            "  - all images without at least one container associated to them\n"
        } else {
            "  - all dangling images\n"
        });
        warning.push_str("  - unused build cache\n\nAre you sure you want to continue?");
        if !output::confirm(&warning)? {
            return Ok(0);
        }
    }
    let filters = Filters::from_flags(&a.filter);
    let mut q = Query::new();
    q.filters(&filters);
    let mut out = String::new();
    let mut total: u64 = 0;
    let r: ContainerPruneResponse = c.json(Method::POST, &q.to_path("/containers/prune"), None::<&()>).await?;
    if !r.containers_deleted.is_empty() {
        out.push_str(&format!("Deleted Containers:\n{}\n\n", r.containers_deleted.join("\n")));
    }
    total += r.space_reclaimed;
    let r: NetworkPruneResponse = c.json(Method::POST, &q.to_path("/networks/prune"), None::<&()>).await?;
    if !r.networks_deleted.is_empty() {
        out.push_str(&format!("Deleted Networks:\n{}\n\n", r.networks_deleted.join("\n")));
    }
    if a.volumes {
        let label_only: Vec<Filter> = a.filter.iter().filter(|f| f.key.starts_with("label")).cloned().collect();
        let r = prune_volumes(c, &label_only, false).await?;
        if !r.volumes_deleted.is_empty() {
            out.push_str(&format!("Deleted Volumes:\n{}\n\n", r.volumes_deleted.join("\n")));
        }
        total += r.space_reclaimed;
    }
    let mut f = filters.clone();
    f.add("dangling", if a.all { "false" } else { "true" });
    let mut q = Query::new();
    q.filters(&f);
    let r: ImagePruneResponse = c.json(Method::POST, &q.to_path("/images/prune"), None::<&()>).await?;
    out.push_str(&crate::images::deleted_images_text(&r));
    total += r.space_reclaimed;
    #[allow(clippy::cast_precision_loss)]
    out.push_str(&format!("Total reclaimed space: {}\n", human_size(total as f64)));
    print(&out);
    Ok(0)
}

// ---- mount add, mount rm ----

/// Parses `mount add`'s spec: `SRC:DST[:ro|rw]`, or `--mount`'s comma-separated form.
pub fn parse_mount_add(spec: &str, read_only: bool) -> anyhow::Result<Mount> {
    let mut m = if spec.contains('=') {
        crate::run::parse_mount(spec)?
    } else {
        let parts: Vec<&str> = spec.split(':').collect();
        let (src, dst, mode) = match parts.as_slice() {
            [s, d] => (*s, *d, ""),
            [s, d, m] => (*s, *d, *m),
            _ => bail!("invalid mount specification {spec:?}: expected SOURCE:DESTINATION[:ro]"),
        };
        if src.is_empty() || dst.is_empty() {
            bail!("invalid mount specification {spec:?}: expected SOURCE:DESTINATION[:ro]");
        }
        let ro = match mode {
            "" | "rw" => false,
            "ro" => true,
            other => bail!("invalid mode {other:?} in {spec:?}: use ro or rw"),
        };
        let src = crate::run::absolute_if_relative(src);
        Mount {
            r#type: if src.starts_with('/') { "bind".into() } else { "volume".into() },
            source: src,
            target: dst.to_owned(),
            read_only: ro,
            ..Default::default()
        }
    };
    m.read_only |= read_only;
    Ok(m)
}

/// `berth mount add CONTAINER SRC:DST[:ro]`.
pub async fn mount_add(c: &Client, a: MountAddArgs) -> anyhow::Result<i32> {
    let m = parse_mount_add(&a.spec, a.read_only)?;
    let body = serde_json::to_vec(&m)?;
    let resp = c
        .send(Method::POST, &container_path(&a.container, "/mounts"), client::full(body), Some("application/json"))
        .await?;
    client::read_all(&mut resp.into_body()).await?;
    Ok(0)
}

/// `berth mount rm CONTAINER DESTINATION`.
pub async fn mount_rm(c: &Client, a: MountRmArgs) -> anyhow::Result<i32> {
    let mut q = Query::new();
    q.set("destination", a.destination.clone());
    c.delete(&q.to_path(&container_path(&a.container, "/mounts"))).await.map_err(|e| anyhow!("{e}"))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_add_specs() {
        let m = parse_mount_add("data:/srv", false).unwrap();
        assert_eq!(
            (m.r#type.as_str(), m.source.as_str(), m.target.as_str(), m.read_only),
            ("volume", "data", "/srv", false)
        );
        let m = parse_mount_add("/etc:/host-etc:ro", false).unwrap();
        assert_eq!((m.r#type.as_str(), m.read_only), ("bind", true));
        let m = parse_mount_add("type=tmpfs,target=/t", true).unwrap();
        assert_eq!((m.r#type.as_str(), m.read_only), ("tmpfs", true));
        assert!(parse_mount_add("/only", false).is_err());
        assert!(parse_mount_add("a:/b:rx", false).is_err());
    }

    #[test]
    fn reclaimable_percent() {
        assert_eq!(reclaimable(50, 100), "50B (50%)");
        assert_eq!(reclaimable(0, 0), "0B");
    }
}
