//! `berth update`: docker's flags (cli/command/container/update.go), plus berth's `--ulimit`,
//! `--blkio-weight-device` and `--device-{read,write}-{bps,iops}`, which docker has only for
//! `run`.

use anyhow::{anyhow, bail};
use api_types::container as w;
use client::Client;
use hyper::Method;

use crate::containers::{container_path, for_each};
use crate::run::flags::{
    parse_bps_device, parse_cpus, parse_iops_device, parse_restart, parse_size, parse_ulimit, parse_weight_device,
};

/// `berth update [OPTIONS] CONTAINER [CONTAINER...]`.
#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable.
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    /// Block IO weight (relative device weight), DEVICE_PATH:WEIGHT (berth only; 0 removes it).
    #[arg(long = "blkio-weight-device", value_parser = parse_weight_device)]
    pub blkio_weight_device: Vec<w::WeightDevice>,
    /// Limit CPU CFS (Completely Fair Scheduler) period.
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota.
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPU shares (relative weight).
    #[arg(short = 'c', long = "cpu-shares")]
    pub cpu_shares: Option<i64>,
    /// Number of CPUs.
    #[arg(long = "cpus", value_parser = parse_cpus)]
    pub cpus: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1).
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1).
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Limit read rate (bytes per second) from a device (berth only; rate 0 removes it).
    #[arg(long = "device-read-bps", value_parser = parse_bps_device)]
    pub device_read_bps: Vec<w::ThrottleDevice>,
    /// Limit write rate (bytes per second) to a device (berth only).
    #[arg(long = "device-write-bps", value_parser = parse_bps_device)]
    pub device_write_bps: Vec<w::ThrottleDevice>,
    /// Limit read rate (IO per second) from a device (berth only).
    #[arg(long = "device-read-iops", value_parser = parse_iops_device)]
    pub device_read_iops: Vec<w::ThrottleDevice>,
    /// Limit write rate (IO per second) to a device (berth only).
    #[arg(long = "device-write-iops", value_parser = parse_iops_device)]
    pub device_write_iops: Vec<w::ThrottleDevice>,
    /// Memory limit.
    #[arg(short = 'm', long = "memory")]
    pub memory: Option<String>,
    /// Memory soft limit.
    #[arg(long = "memory-reservation")]
    pub memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap.
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Tune container pids limit (set -1 for unlimited).
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
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
    let size = |v: &Option<String>, flag: &str| -> anyhow::Result<i64> {
        v.as_deref()
            .map_or(Ok(0), |s| parse_size(s).map_err(|e| anyhow!("invalid argument {s:?} for \"{flag}\" flag: {e}")))
    };
    let mut r = w::Resources {
        blkio_weight: a.blkio_weight.unwrap_or(0),
        cpu_period: a.cpu_period.unwrap_or(0),
        cpu_quota: a.cpu_quota.unwrap_or(0),
        cpu_shares: a.cpu_shares.unwrap_or(0),
        nano_cpus: a.cpus.unwrap_or(0),
        cpuset_cpus: a.cpuset_cpus.clone().unwrap_or_default(),
        cpuset_mems: a.cpuset_mems.clone().unwrap_or_default(),
        memory: size(&a.memory, "--memory")?,
        memory_reservation: size(&a.memory_reservation, "--memory-reservation")?,
        memory_swap: match a.memory_swap.as_deref() {
            Some("-1") => -1,
            _ => size(&a.memory_swap, "--memory-swap")?,
        },
        pids_limit: a.pids_limit,
        ..Default::default()
    };
    let list = |v: &Vec<w::ThrottleDevice>| (!v.is_empty()).then(|| v.clone());
    r.blkio_weight_device = (!a.blkio_weight_device.is_empty()).then(|| a.blkio_weight_device.clone());
    r.blkio_device_read_bps = list(&a.device_read_bps);
    r.blkio_device_write_bps = list(&a.device_write_bps);
    r.blkio_device_read_iops = list(&a.device_read_iops);
    r.blkio_device_write_iops = list(&a.device_write_iops);
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
