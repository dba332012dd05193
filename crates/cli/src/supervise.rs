//! `berth supervise CONTAINER status|start|stop|restart|signal|tail` (berth's extension): the
//! programs of a container whose PID 1 is berth's supervisor, from the host. The same verbs
//! as `supervisorctl` inside the container, and its `status` format.
//!
//! Requests: `GET /containers/{id}/supervisor`, `POST
//! /containers/{id}/supervisor/{start|stop|restart|signal}?program=NAME[&signal=SIG]`; `tail`
//! reads the container's log and keeps the program's lines (`NAME | ...`).

use anyhow::bail;
use api_types::berth::SupervisedProgram;
use client::Client;
use hyper::Method;

use crate::containers::container_path;
use crate::format::query::Query;

/// `berth supervise`.
#[derive(Debug, clap::Args)]
pub struct SuperviseArgs {
    /// The container
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// status, start NAME..., stop NAME..., restart NAME..., signal SIG NAME..., tail NAME (NAME
    /// may be all)
    #[arg(value_name = "ACTION", num_args = 1.., required = true, allow_hyphen_values = true)]
    pub action: Vec<String>,
}

/// supervisorctl's `status` line: `web    RUNNING   pid 7, uptime 0:00:05`.
pub fn status_line(p: &SupervisedProgram) -> String {
    init::supervisor::status_line(&init::supervisor::ProgramStatus {
        name: p.name.clone(),
        state: p.state.clone(),
        pid: p.pid,
        uptime: p.uptime,
        description: p.description.clone(),
    })
}

/// `berth supervise`.
pub async fn supervise(c: &Client, a: SuperviseArgs) -> anyhow::Result<i32> {
    let verb = a.action[0].as_str();
    let rest = &a.action[1..];
    match verb {
        "status" => {
            let list: Vec<SupervisedProgram> = c.get(&container_path(&a.container, "/supervisor")).await?;
            let wanted = |p: &SupervisedProgram| rest.is_empty() || rest.iter().any(|r| r == &p.name || r == "all");
            let mut out = String::new();
            for p in list.iter().filter(|p| wanted(p)) {
                out.push_str(&status_line(p));
                out.push('\n');
            }
            print!("{out}");
            Ok(0)
        }
        "start" | "stop" | "restart" | "signal" => {
            let (sig, names) = if verb == "signal" {
                match rest.split_first() {
                    Some((s, n)) if !n.is_empty() => (Some(s.as_str()), n),
                    _ => bail!("usage: berth supervise CONTAINER signal SIGNAL NAME..."),
                }
            } else {
                (None, rest)
            };
            if names.is_empty() {
                bail!("usage: berth supervise CONTAINER {verb} NAME... (or all)");
            }
            for n in names {
                let mut q = Query::new();
                q.set("program", n.as_str());
                if let Some(s) = sig {
                    q.set("signal", s);
                }
                let path = q.to_path(&container_path(&a.container, &format!("/supervisor/{verb}")));
                let resp = c.send(Method::POST, &path, client::empty(), None).await?;
                client::read_all(&mut resp.into_body()).await?;
                let done = match verb {
                    "start" => "started",
                    "stop" => "stopped",
                    "restart" => "restarted",
                    _ => "signalled",
                };
                println!("{n}: {done}");
            }
            Ok(0)
        }
        "tail" => {
            let [name] = rest else { bail!("usage: berth supervise CONTAINER tail NAME") };
            let mut q = Query::new();
            q.set("stdout", "1").set("stderr", "1");
            let resp =
                c.send(Method::GET, &q.to_path(&container_path(&a.container, "/logs")), client::empty(), None).await?;
            let tty = crate::run::inspect(c, &a.container).await?.config.tty;
            let mut body = resp.into_body();
            let mut demux = client::Demux::default();
            let mut text = Vec::new();
            while let Some(chunk) = client::next_chunk(&mut body).await? {
                // A tty container's log is the raw stream; otherwise frames.
                if tty {
                    text.extend_from_slice(&chunk);
                    continue;
                }
                demux.push(&chunk);
                while let Some((_, d)) = demux.next_frame() {
                    text.extend_from_slice(&d);
                }
            }
            let prefix = format!("{name} | ");
            let mut out = String::new();
            for line in String::from_utf8_lossy(&text).lines() {
                if let Some(l) = line.strip_prefix(&prefix) {
                    out.push_str(l);
                    out.push('\n');
                }
            }
            print!("{out}");
            Ok(0)
        }
        other => bail!("unknown action {other:?}: use status, start, stop, restart, signal or tail"),
    }
}
