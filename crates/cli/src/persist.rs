//! Whole-container persistence: `commit` (docker's), and berth's `upgrade` and `persist ls|rm`
//! (the writable layers `run --persist` keeps).

use anyhow::anyhow;
use api_types::IdResponse;
use api_types::berth::{ContainerUpgradeResponse, PersistentLayer};
use client::Client;
use hyper::Method;

use crate::containers::container_path;
use crate::format::query::{Query, path_segment};
use crate::format::{human_size, print};

/// The long help of `berth upgrade`.
pub const UPGRADE_HELP: &str = "Re-create a container on a newer image, keeping its writable layer (berth's extension).

The container keeps its ID, name, host settings (volumes and mounts, ports, restart policy) and \
networks, and its current IPv4 addresses are pinned. Its configuration is the settings given at \
create merged again with the NEW image's (no default of the old image sticks). The files it \
changed stay on top of the new image. A running container is stopped, upgraded and started \
again; a stopped one stays stopped. Any container can be upgraded; a --persist one's layer also \
outlives the container.

Paths the container changed that the new image also changed are collisions: without --prefer \
the upgrade is refused and lists them; --prefer container keeps the container's versions, \
--prefer image drops them from the writable layer so that the new image's show.";

/// The long help of `berth persist`.
pub const PERSIST_HELP: &str = "Manage the writable layers kept by `run --persist` (berth's extension).

`run --persist --name NAME` keeps the container's writable layer in <root>/persistent/NAME \
(upper/ and work/) instead of the container's directory: `rm` leaves it, and the next \
`run --persist --name NAME` takes it over, whatever its image. One container uses a layer at a \
time; `persist rm` deletes a layer no container uses.";

/// `berth commit`.
#[derive(Debug, clap::Args)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short = 'a', long, value_name = "string")]
    pub author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long = "change", value_name = "list")]
    pub change: Vec<String>,
    /// Commit message
    #[arg(short = 'm', long, value_name = "string")]
    pub message: Option<String>,
    /// Pause container during commit
    #[arg(short = 'p', long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub pause: bool,
    /// The container
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// Name for the new image
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
}

/// `berth upgrade`.
#[derive(Debug, clap::Args)]
pub struct UpgradeArgs {
    /// The image to move to (default: the container's image reference, resolved again, e.g. after
    /// `load` or `tag` moved it)
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Which version of a colliding path to keep
    #[arg(long, value_name = "container|image", value_parser = ["container", "image"])]
    pub prefer: Option<String>,
    /// The container
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// `berth persist ...`: the writable layers kept by `run --persist`.
#[derive(Debug, clap::Subcommand)]
pub enum PersistCommand {
    /// List kept writable layers (and the container using each)
    #[command(alias = "list")]
    Ls(PersistLsArgs),
    /// Delete kept writable layers no container uses
    #[command(alias = "remove")]
    Rm(PersistRmArgs),
}

/// `berth persist ls`.
#[derive(Debug, clap::Args)]
pub struct PersistLsArgs {
    /// Only display names
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// `berth persist rm`.
#[derive(Debug, clap::Args)]
pub struct PersistRmArgs {
    /// Layer names (the names of the containers they were made for)
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,
}

/// `berth commit`: prints the new image's ID.
pub async fn commit(c: &Client, a: CommitArgs) -> anyhow::Result<i32> {
    let mut q = Query::new();
    q.set("container", a.container.as_str());
    if let Some(r) = a.reference.as_deref().filter(|r| !r.is_empty()) {
        let parsed = oci::Reference::parse(r).map_err(|e| anyhow!("invalid reference format: {r:?}: {e}"))?;
        if parsed.digest().is_some() {
            return Err(anyhow!("refusing to create a tag with a digest reference"));
        }
        q.set("repo", r);
    }
    q.non_empty("comment", a.message.as_deref().unwrap_or(""));
    q.non_empty("author", a.author.as_deref().unwrap_or(""));
    q.set("pause", if a.pause { "1" } else { "0" });
    for ch in &a.change {
        q.set("changes", ch.as_str());
    }
    let r: IdResponse = c.json(Method::POST, &q.to_path("/commit"), None::<&()>).await?;
    print(&format!("{}\n", r.id));
    Ok(0)
}

/// `berth upgrade`.
pub async fn upgrade(c: &Client, a: UpgradeArgs) -> anyhow::Result<i32> {
    let mut q = Query::new();
    q.non_empty("image", a.image.as_deref().unwrap_or(""));
    q.non_empty("prefer", a.prefer.as_deref().unwrap_or(""));
    let path = q.to_path(&container_path(&a.container, "/upgrade"));
    let r: ContainerUpgradeResponse = c.json(Method::POST, &path, None::<&()>).await?;
    let mut out = String::new();
    if !r.collisions.is_empty() {
        let kept = if a.prefer.as_deref() == Some("image") { "image" } else { "container" };
        out.push_str(&format!("collisions (kept the {kept}'s version):\n"));
        for p in &r.collisions {
            out.push_str(&format!("  {p}\n"));
        }
    }
    out.push_str(&format!("{}\n", a.container));
    print(&out);
    Ok(0)
}

/// `berth persist ls|rm`.
pub async fn persist(c: &Client, cmd: PersistCommand) -> anyhow::Result<i32> {
    match cmd {
        PersistCommand::Ls(a) => {
            let layers: Vec<PersistentLayer> = c.get("/persist").await?;
            let mut out = String::new();
            if a.quiet {
                for l in &layers {
                    out.push_str(&format!("{}\n", l.name));
                }
            } else {
                let w = layers.iter().map(|l| l.name.len()).max().unwrap_or(0).max(4);
                out.push_str(&format!("{:<w$}   {:<12}   SIZE\n", "NAME", "CONTAINER"));
                for l in &layers {
                    let ctr = if l.container.is_empty() { "-" } else { crate::format::truncate_id(&l.container) };
                    #[allow(clippy::cast_precision_loss)]
                    let size = human_size(l.size as f64);
                    out.push_str(&format!("{:<w$}   {:<12}   {size}\n", l.name, ctr));
                }
            }
            print(&out);
            Ok(0)
        }
        PersistCommand::Rm(a) => {
            let mut code = 0;
            for n in &a.names {
                match c.delete(&format!("/persist/{}", path_segment(n))).await {
                    Ok(_) => print(&format!("{n}\n")),
                    Err(e) => {
                        eprintln!("{e}");
                        code = 1;
                    }
                }
            }
            Ok(code)
        }
    }
}
