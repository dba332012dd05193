//! `berth update`: docker's flags (cli/command/container/update.go), plus berth's `--ulimit`,
//! `--blkio-weight-device` and `--device-{read,write}-{bps,iops}`, which docker has only for
//! `run`.

use anyhow::bail;
use api_types::container as w;
use client::Client;
use hyper::Method;

use crate::containers::{container_path, for_each};
use crate::run::flags::{ResourceFlags, parse_restart, parse_ulimit};

/// `berth update [OPTIONS] CONTAINER [CONTAINER...]`.
#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// Resource limits (as `run`; the device throttles are berth's, rate 0 removes one).
    #[command(flatten)]
    pub resources: ResourceFlags,
    /// Restart policy to apply when a container exits.
    #[arg(long = "restart")]
    pub restart: Option<String>,
    /// Ulimit options, applied at once to every process of a running container (berth only).
    #[arg(long = "ulimit", value_parser = |s: &str| parse_ulimit(s).map_err(|e| e.to_string()))]
    pub ulimit: Vec<w::Ulimit>,
    /// The containers.
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// The request body for the flags given; an error when none was.
pub fn update_body(a: &UpdateArgs) -> anyhow::Result<w::ContainerUpdateRequest> {
    let mut r = a.resources.resources()?;
    r.ulimits = (!a.ulimit.is_empty()).then(|| a.ulimit.clone());
    let restart_policy = a.restart.as_deref().map(parse_restart).transpose()?.unwrap_or_default();
    if r == w::Resources::default() && a.restart.is_none() {
        bail!("you must provide one or more flags when using this command");
    }
    Ok(w::ContainerUpdateRequest { resources: r, restart_policy })
}

/// `berth update`: prints each container updated, warnings on stderr.
pub async fn update(c: &Client, a: UpdateArgs) -> anyhow::Result<i32> {
    let body = update_body(&a)?;
    Ok(for_each(
        &a.containers,
        false,
        |_| false,
        |name| {
            let c = c.clone();
            let path = container_path(&name, "/update");
            let body = body.clone();
            async move {
                let resp: w::ContainerUpdateResponse = c.json(Method::POST, &path, Some(&body)).await?;
                for warning in resp.warnings {
                    eprintln!("{warning}");
                }
                Ok(())
            }
        },
    )
    .await)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        a: UpdateArgs,
    }

    fn body(args: &[&str]) -> anyhow::Result<w::ContainerUpdateRequest> {
        let mut v = vec!["update"];
        v.extend_from_slice(args);
        update_body(&T::try_parse_from(v)?.a)
    }

    #[test]
    fn flags_to_body() {
        let b = body(&["-m", "64m", "--memory-swap", "-1", "--cpus", "0.5", "--pids-limit", "-1", "c1"]).expect("ok");
        assert_eq!(b.resources.memory, 64 << 20);
        assert_eq!(b.resources.memory_swap, -1);
        assert_eq!(b.resources.nano_cpus, 500_000_000);
        assert_eq!(b.resources.pids_limit, Some(-1));
        assert!(b.restart_policy.name.is_empty(), "no --restart leaves the policy alone");
        let b = body(&["--ulimit", "nofile=100:200", "--device-read-bps", "/dev/vda:1mb", "c1"]).expect("ok");
        assert_eq!(b.resources.ulimits.expect("set")[0].hard, 200);
        assert_eq!(b.resources.blkio_device_read_bps.expect("set")[0].rate, 1 << 20);
        let b = body(&["--restart", "on-failure:3", "c1"]).expect("ok");
        assert_eq!(b.restart_policy.maximum_retry_count, 3);
        let e = body(&["c1"]).unwrap_err().to_string();
        assert_eq!(e, "you must provide one or more flags when using this command");
        assert!(body(&["-m", "lots", "c1"]).is_err());
        let v = serde_json::to_value(body(&["--cpu-shares", "512", "c1"]).expect("ok")).expect("serialises");
        assert_eq!(v["CpuShares"], 512);
        assert!(v.get("Ulimits").is_some_and(serde_json::Value::is_null));
    }
}
