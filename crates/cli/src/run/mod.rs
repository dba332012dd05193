//! The streaming commands: `run`, `create`, `start`, `attach`, `exec`, `wait`, `logs`.
//!
//! `run` follows the docker CLI's sequence (cli/command/container/run.go): create, attach
//! (hijacked), wait (registered before start: the daemon answers its headers at once), start,
//! resize, then stream until the output ends; the exit code comes from the wait. With `-t` the
//! local terminal is raw and the CLI itself watches for the detach keys (so does the daemon,
//! for other clients); without `-t`, signals are forwarded to the container (`--sig-proxy`).

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context, anyhow, bail};
use api_types::container as w;
use bytes::Bytes;
use client::{Client, ClientError};
use hyper::Method;

use crate::containers::container_path;
use crate::format::query::Query;
use crate::term;

pub(crate) mod flags;
mod stream;
pub(crate) mod time;

pub use flags::{
    ContainerFlags, absolute_if_relative, create_body, parse_env, parse_link, parse_mount, parse_restart, parse_size,
};
pub use stream::{StreamEnd, detach_bytes, stream};
use stream::{monitor_size, proxy_signals, register_wait, resize_path, write_out};
pub use time::{parse_go_duration, timestamp_arg};

/// `run`.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Run container in background and print container ID.
    #[arg(short = 'd', long = "detach")]
    pub detach: bool,
    /// Proxy received signals to the process.
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub sig_proxy: bool,
    /// Override the key sequence for detaching a container.
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    /// Container settings.
    #[command(flatten)]
    pub flags: ContainerFlags,
}

/// `create`.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct CreateArgs {
    /// Container settings.
    #[command(flatten)]
    pub flags: ContainerFlags,
}

/// `start`.
#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals.
    #[arg(short = 'a', long = "attach")]
    pub attach: bool,
    /// Attach container's STDIN.
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,
    /// Override the key sequence for detaching a container.
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    /// Containers.
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `attach`.
#[derive(Debug, clap::Args)]
pub struct AttachArgs {
    /// Override the key sequence for detaching a container.
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    /// Do not attach STDIN.
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    /// Proxy all received signals to the process.
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub sig_proxy: bool,
    /// Container.
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// `exec`.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// Detached mode: run command in the background.
    #[arg(short = 'd', long = "detach")]
    pub detach: bool,
    /// Override the key sequence for detaching a container.
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    /// Set environment variables.
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Read in a file of environment variables.
    #[arg(long = "env-file")]
    pub env_file: Vec<String>,
    /// Keep STDIN open even if not attached.
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,
    /// Give extended privileges to the command.
    #[arg(long = "privileged")]
    pub privileged: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short = 't', long = "tty")]
    pub tty: bool,
    /// Username or UID (format: "<name|uid>[:<group|gid>]").
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// Working directory inside the container.
    #[arg(short = 'w', long = "workdir")]
    pub workdir: Option<String>,
    /// Container.
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// The command and its arguments.
    #[arg(value_name = "COMMAND", required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `wait`.
#[derive(Debug, clap::Args)]
pub struct WaitArgs {
    /// Containers.
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `logs`.
#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// Show extra details provided to logs.
    #[arg(long = "details")]
    pub details: bool,
    /// Follow log output.
    #[arg(short = 'f', long = "follow")]
    pub follow: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes).
    #[arg(long = "since")]
    pub since: Option<String>,
    /// Number of lines to show from the end of the logs.
    #[arg(short = 'n', long = "tail", default_value = "all")]
    pub tail: String,
    /// Show timestamps.
    #[arg(short = 't', long = "timestamps")]
    pub timestamps: bool,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes).
    #[arg(long = "until")]
    pub until: Option<String>,
    /// Container.
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// Creates a container; on a missing image says so as docker does.
async fn create_container(
    c: &Client,
    body: &w::ContainerCreateRequest,
    name: Option<&str>,
    platform: Option<&str>,
    pull: &str,
) -> Result<String, ClientError> {
    let mut q = Query::new();
    if let Some(n) = name {
        q.set("name", n);
    }
    if let Some(p) = platform {
        q.set("platform", p);
    }
    let path = q.to_path("/containers/create");
    match c.json::<w::ContainerCreateResponse>(Method::POST, &path, Some(body)).await {
        Ok(r) => {
            for wmsg in &r.warnings {
                eprintln!("WARNING: {wmsg}");
            }
            Ok(r.id)
        }
        Err(e) if e.is_not_found() && e.to_string().contains("No such image") && pull != "never" => {
            let Some(shown) = pull_name(&body.config.image) else { return Err(e) };
            eprintln!("Unable to find image '{shown}' locally");
            // Registries come later; the daemon explains in the pull stream.
            let mut q = Query::new();
            q.set("fromImage", body.config.image.as_str());
            let resp = c.send(Method::POST, &q.to_path("/images/create"), client::empty(), None).await?;
            let text = client::read_all(&mut resp.into_body()).await?;
            for line in text.split(|&x| x == b'\n').filter(|l| !l.is_empty()) {
                if let Ok(m) = serde_json::from_slice::<api_types::image::JsonMessage>(line)
                    && let Some(err) = m.error
                {
                    return Err(ClientError::Api { status: hyper::StatusCode::NOT_FOUND, message: err });
                }
            }
            c.json::<w::ContainerCreateResponse>(Method::POST, &path, Some(body)).await.map(|r| r.id)
        }
        Err(e) => Err(e),
    }
}

/// The image as docker's `Unable to find image '...' locally` names it before pulling: the
/// familiar form with `:latest` added when there is neither tag nor digest (`docker.io/library/
/// busybox` is `busybox:latest`). `None` for an image ID or a digest alone, which docker does not
/// try to pull (the create error stands).
fn pull_name(image: &str) -> Option<String> {
    if oci::Digest::from_hex(image).is_ok() || image.parse::<oci::Digest>().is_ok() {
        return None;
    }
    oci::Reference::parse(image).ok().map(|r| r.familiar())
}

/// The hijacked `attach` request (`stdin=0` is sent, as the docker client does).
fn attach_path(id: &str, stdin: bool, stdout: bool, stderr: bool, detach_keys: Option<&str>) -> String {
    let bit = |b: bool| if b { "1" } else { "0" };
    let mut q = Query::new();
    q.set("stream", "1").set("stdin", bit(stdin)).set("stdout", bit(stdout)).set("stderr", bit(stderr));
    if let Some(k) = detach_keys {
        q.set("detachKeys", k);
    }
    q.to_path(&container_path(id, "/attach"))
}

/// Docker's exit status for a failed `run`/`start`: 127 not found, 126 can't run, else 125.
pub fn status_for(msg: &str) -> i32 {
    if msg.contains("executable file not found") || msg.contains("no such file or directory") {
        127
    } else if msg.contains("permission denied") || msg.contains("is a directory") {
        126
    } else {
        125
    }
}

fn run_error(e: &dyn std::fmt::Display, code: i32) -> i32 {
    // `{:#}` prints an anyhow error's whole chain (its causes), like docker's wrapped errors.
    eprintln!("berth: {e:#}\n\nRun 'berth run --help' for more information");
    code
}

/// `run`.
pub async fn run(c: &Client, a: RunArgs) -> i32 {
    let f = &a.flags;
    let body = match create_body(f, a.detach) {
        Ok(b) => b,
        Err(e) => return run_error(&e, 125),
    };
    if a.detach && !f.attach.is_empty() {
        return run_error(&"conflicting options: cannot specify both --attach and --detach", 125);
    }
    if !a.detach && f.tty && body.config.attach_stdin && !term::stdin_is_tty() {
        return run_error(&"the input device is not a TTY", 1);
    }
    let keys = match detach_bytes(a.detach_keys.as_deref()) {
        Ok(k) => k,
        Err(e) => return run_error(&e, 125),
    };
    if f.pull == "always" {
        return run_error(&"--pull=always needs a registry: pulling is not supported by this berth version", 125);
    }
    let id = match create_container(c, &body, f.name.as_deref(), f.platform.as_deref(), &f.pull).await {
        Ok(id) => id,
        Err(e) => return run_error(&e, 125),
    };
    if let Some(cid) = &f.cidfile
        && let Err(e) = std::fs::write(cid, &id)
    {
        return run_error(&format!("failed to write the container ID to the file: {e}"), 125);
    }
    let cfg = &body.config;
    let attach = cfg.attach_stdin || cfg.attach_stdout || cfg.attach_stderr;
    if a.sig_proxy && !f.tty {
        proxy_signals(c, &id);
    }
    let hijack = if attach {
        let q = attach_path(&id, cfg.attach_stdin, cfg.attach_stdout, cfg.attach_stderr, a.detach_keys.as_deref());
        match c.hijack(Method::POST, &q, None).await {
            Ok((io, _)) => Some(io),
            Err(e) => return run_error(&e, 125),
        }
    } else {
        None
    };
    let waiter = match register_wait(c, &id, f.rm).await {
        Ok(w) => w,
        Err(e) => return run_error(&e, 125),
    };
    if let Err(e) = c.post(&container_path(&id, "/start")).await {
        if f.rm {
            let _ = waiter.await;
        }
        return run_error(&e, status_for(&e.to_string()));
    }
    let Some(io) = hijack else {
        println!("{id}");
        return 0;
    };
    if f.tty && term::stdout_is_tty() {
        monitor_size(c, container_path(&id, ""));
    }
    match stream(io, f.tty, cfg.attach_stdin, keys).await {
        Ok(StreamEnd::Detached) => 0,
        Ok(StreamEnd::Done) => waiter.await.unwrap_or(125),
        Err(e) => run_error(&e, 125),
    }
}

/// `create`.
pub async fn create(c: &Client, a: CreateArgs) -> anyhow::Result<i32> {
    // create keeps the attach settings the user asked for (docker does): built as for a run
    // that is not detached.
    // Bad flags exit 125, as docker's `create` does.
    let body = match create_body(&a.flags, false) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("berth: {e:#}\n\nRun 'berth create --help' for more information");
            return Ok(125);
        }
    };
    match create_container(c, &body, a.flags.name.as_deref(), a.flags.platform.as_deref(), &a.flags.pull).await {
        Ok(id) => {
            if let Some(cid) = &a.flags.cidfile {
                std::fs::write(cid, &id).with_context(|| format!("writing {cid}"))?;
            }
            println!("{id}");
            Ok(0)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(125)
        }
    }
}

pub(crate) async fn inspect(c: &Client, name: &str) -> Result<w::ContainerInspectResponse, ClientError> {
    c.get(&container_path(name, "/json")).await
}

/// `start`.
pub async fn start(c: &Client, a: StartArgs) -> anyhow::Result<i32> {
    if !(a.attach || a.interactive) {
        let mut failed = false;
        for n in &a.containers {
            match c.post(&container_path(n, "/start")).await {
                Ok(()) => println!("{n}"),
                Err(e) => {
                    eprintln!("{e}");
                    failed = true;
                }
            }
        }
        if failed {
            eprintln!("Error: failed to start containers: {}", a.containers.join(", "));
        }
        return Ok(i32::from(failed));
    }
    if a.containers.len() > 1 {
        bail!("you cannot start and attach multiple containers at once");
    }
    let name = &a.containers[0];
    let info = inspect(c, name).await?;
    let keys = detach_bytes(a.detach_keys.as_deref())?;
    let stdin = a.interactive && info.config.open_stdin;
    let q = attach_path(&info.id, stdin, true, true, None);
    let (io, _) = c.hijack(Method::POST, &q, None).await?;
    let waiter = register_wait(c, &info.id, info.host_config.auto_remove).await?;
    if !info.config.tty {
        proxy_signals(c, &info.id);
    }
    if let Err(e) = c.post(&container_path(&info.id, "/start")).await {
        eprintln!("{e}");
        return Ok(status_for(&e.to_string()).max(1));
    }
    if info.config.tty && term::stdout_is_tty() {
        monitor_size(c, container_path(&info.id, ""));
    }
    match stream(io, info.config.tty, stdin, keys).await? {
        StreamEnd::Detached => Ok(0),
        StreamEnd::Done => Ok(waiter.await.unwrap_or(125)),
    }
}

/// `attach`.
pub async fn attach(c: &Client, a: AttachArgs) -> anyhow::Result<i32> {
    let info = inspect(c, &a.container).await?;
    if info.state.paused {
        bail!("You cannot attach to a paused container, unpause it first");
    }
    if !info.state.running {
        bail!("You cannot attach to a stopped container, start it first");
    }
    let keys = detach_bytes(a.detach_keys.as_deref())?;
    let stdin = !a.no_stdin && info.config.open_stdin;
    let q = attach_path(&info.id, stdin, true, true, a.detach_keys.as_deref());
    let waiter = register_wait(c, &info.id, false).await?;
    let (io, _) = c.hijack(Method::POST, &q, None).await?;
    if a.sig_proxy && !info.config.tty {
        proxy_signals(c, &info.id);
    }
    if info.config.tty && term::stdout_is_tty() {
        // Docker first sets a size one larger to make the program redraw.
        if let Some((h, wd)) = term::size() {
            let _ = c.post(&resize_path(&container_path(&info.id, ""), h + 1, wd + 1)).await;
        }
        monitor_size(c, container_path(&info.id, ""));
    }
    match stream(io, info.config.tty, stdin, keys).await? {
        StreamEnd::Detached => Ok(0),
        StreamEnd::Done => {
            // The stream ends when the container exits: its wait (registered before) says how.
            match tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await {
                Ok(Ok(code)) => Ok(code),
                _ => Ok(0),
            }
        }
    }
}

/// `exec`.
pub async fn exec(c: &Client, a: ExecArgs) -> anyhow::Result<i32> {
    if a.tty && a.interactive && !term::stdin_is_tty() {
        bail!("the input device is not a TTY");
    }
    let keys = detach_bytes(a.detach_keys.as_deref())?;
    let console = term::size().filter(|_| a.tty).map(|(h, wd)| [u64::from(h), u64::from(wd)]);
    let cfg = api_types::exec::ExecConfig {
        attach_stdin: a.interactive && !a.detach,
        attach_stdout: !a.detach,
        attach_stderr: !a.detach,
        detach_keys: a.detach_keys.clone().unwrap_or_default(),
        tty: a.tty,
        env: Some(parse_env(&a.env, &a.env_file)?),
        cmd: Some(a.command.clone()),
        privileged: a.privileged,
        user: a.user.clone().unwrap_or_default(),
        working_dir: a.workdir.clone().unwrap_or_default(),
        console_size: console,
        ..Default::default()
    };
    let r: api_types::IdResponse = c.json(Method::POST, &container_path(&a.container, "/exec"), Some(&cfg)).await?;
    let start = serde_json::json!({ "Detach": a.detach, "Tty": a.tty, "ConsoleSize": console });
    if a.detach {
        c.json::<serde_json::Value>(Method::POST, &format!("/exec/{}/start", r.id), Some(&start)).await.ok();
        return Ok(0);
    }
    let (io, _) = c.hijack(Method::POST, &format!("/exec/{}/start", r.id), Some(serde_json::to_vec(&start)?)).await?;
    if a.tty && term::stdout_is_tty() {
        monitor_size(c, format!("/exec/{}", r.id));
    }
    if stream(io, a.tty, a.interactive, keys).await? == StreamEnd::Detached {
        return Ok(0);
    }
    let info: api_types::exec::ExecInspectResponse = c.get(&format!("/exec/{}/json", r.id)).await?;
    Ok(info.exit_code.map_or(0, |x| i32::try_from(x).unwrap_or(1)))
}

/// `wait`.
pub async fn wait(c: &Client, a: WaitArgs) -> anyhow::Result<i32> {
    let mut failed = false;
    for n in &a.containers {
        match c.json::<w::ContainerWaitResponse>(Method::POST, &container_path(n, "/wait"), None::<&()>).await {
            Ok(r) => println!("{}", r.status_code),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    Ok(i32::from(failed))
}

/// `logs`.
pub async fn logs(c: &Client, a: LogsArgs) -> anyhow::Result<i32> {
    let info = inspect(c, &a.container).await?;
    let now = chrono::Utc::now();
    let mut q = Query::new();
    q.set("stdout", "1").set("stderr", "1").set("tail", a.tail.as_str());
    q.flag("follow", a.follow).flag("timestamps", a.timestamps);
    if let Some(s) = &a.since {
        q.set("since", timestamp_arg(s, now)?);
    }
    if let Some(u) = &a.until {
        q.set("until", timestamp_arg(u, now)?);
    }
    let resp = c.send(Method::GET, &q.to_path(&container_path(&info.id, "/logs")), client::empty(), None).await?;
    let mut body = resp.into_body();
    let mut demux = client::Demux::default();
    while let Some(chunk) = client::next_chunk(&mut body).await? {
        if info.config.tty {
            write_out(1, &chunk);
        } else {
            demux.push(&chunk);
            while let Some((s, d)) = demux.next_frame() {
                write_out(s, &Bytes::from(d));
            }
        }
    }
    Ok(0)
}

/// `events`.
#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    /// Filter output based on conditions provided.
    #[arg(short = 'f', long = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template: 'json' or a Go template.
    #[arg(long = "format")]
    pub format: Option<String>,
    /// Show all events created since timestamp.
    #[arg(long = "since")]
    pub since: Option<String>,
    /// Stream events until this timestamp.
    #[arg(long = "until")]
    pub until: Option<String>,
}

/// One event line in docker's default layout:
/// `TIME TYPE ACTION ID (key=value, ...)`.
pub fn event_line(e: &api_types::events::EventMessage) -> String {
    let t = chrono::DateTime::from_timestamp_nanos(e.time_nano).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let attrs: Vec<String> = e.actor.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if attrs.is_empty() {
        format!("{t} {} {} {}", e.r#type, e.action, e.actor.id)
    } else {
        format!("{t} {} {} {} ({})", e.r#type, e.action, e.actor.id, attrs.join(", "))
    }
}

/// `events`.
pub async fn events(c: &Client, a: EventsArgs) -> anyhow::Result<i32> {
    let now = chrono::Utc::now();
    let mut q = Query::new();
    if let Some(s) = &a.since {
        q.set("since", timestamp_arg(s, now)?);
    }
    if let Some(u) = &a.until {
        q.set("until", timestamp_arg(u, now)?);
    }
    if !a.filter.is_empty() {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for f in &a.filter {
            let (k, v) = f.split_once('=').ok_or_else(|| anyhow!("bad format of filter (expected name=value)"))?;
            m.entry(k.to_owned()).or_default().push(v.to_owned());
        }
        q.set("filters", serde_json::to_string(&m)?);
    }
    let tmpl = match a.format.as_deref() {
        None | Some("") => None,
        Some(f) => Some(gotmpl::Template::parse(f).map_err(|e| anyhow!("{e}"))?),
    };
    let resp = c.send(Method::GET, &q.to_path("/events"), client::empty(), None).await?;
    let mut body = resp.into_body();
    let mut buf = Vec::new();
    while let Some(chunk) = client::next_chunk(&mut body).await? {
        buf.extend_from_slice(&chunk);
        while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            let Ok(e) = serde_json::from_slice::<api_types::events::EventMessage>(&line) else { continue };
            let text = match &tmpl {
                Some(t) => t.render(&serde_json::to_value(&e)?).map_err(|e| anyhow!("{e}"))?,
                None => event_line(&e),
            };
            let mut o = std::io::stdout().lock();
            writeln!(o, "{text}")?;
            o.flush()?;
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(status_for("exec: \"x\": executable file not found in $PATH"), 127);
        assert_eq!(status_for("exec: \"/etc\": permission denied"), 126);
        assert_eq!(status_for("something else"), 125);
    }

    #[test]
    fn pull_names_as_docker() {
        assert_eq!(pull_name("busybox").as_deref(), Some("busybox:latest"));
        assert_eq!(pull_name("docker.io/library/busybox").as_deref(), Some("busybox:latest"));
        assert_eq!(pull_name("no-such-image:1").as_deref(), Some("no-such-image:1"));
        assert_eq!(pull_name("localhost:5000/app").as_deref(), Some("localhost:5000/app:latest"));
        let hex = "a".repeat(64);
        assert_eq!(pull_name(&format!("busybox@sha256:{hex}")), Some(format!("busybox@sha256:{hex}")));
        assert_eq!(pull_name(&hex), None);
        assert_eq!(pull_name(&format!("sha256:{hex}")), None);
        assert_eq!(pull_name("Upper"), None);
    }

    #[test]
    fn request_paths() {
        assert_eq!(
            attach_path("abc", false, true, true, None),
            "/containers/abc/attach?stream=1&stdin=0&stdout=1&stderr=1"
        );
        assert_eq!(
            attach_path("abc", true, true, false, Some("ctrl-a,x")),
            "/containers/abc/attach?stream=1&stdin=1&stdout=1&stderr=0&detachKeys=ctrl-a%2Cx"
        );
        assert_eq!(resize_path("/exec/e1", 24, 80), "/exec/e1/resize?h=24&w=80");
    }
}
