//! Resource limits end to end: `run` flags written to the container's cgroup before it runs
//! (and seen from inside), no limits by default, live `update` of running, paused and stopped
//! containers (same PID 1, the cgroup file and `inspect` at once, ulimits of running processes),
//! block device throttles, clear errors that change nothing, OOM kills, and `stats`, through
//! both berth's CLI and the docker CLI.

mod common;
mod support;

use std::path::PathBuf;

use common::Daemon;
use support::setup;

/// The container's cgroup directory in the hierarchy holding `file` (e.g. `memory.limit_in_bytes`
/// or `pids.max`), found by the file's presence.
fn cgroup_file(d: &Daemon, id: &str, file: &str) -> PathBuf {
    let m = cgroups::Manager::detect().expect("cgroup layout");
    let cg = d.container_cgroup(&m, id).expect("cgroup path");
    cg.paths().map(|p| p.join(file)).find(|p| p.exists()).unwrap_or_else(|| panic!("no {file} for container {id}"))
}

fn read(d: &Daemon, id: &str, file: &str) -> String {
    std::fs::read_to_string(cgroup_file(d, id, file)).expect("reading cgroup file").trim().to_owned()
}

fn id(d: &Daemon, name: &str) -> String {
    d.berth(&["inspect", "-f", "{{.Id}}", name]).ok().trim().to_owned()
}

fn inspect(d: &Daemon, name: &str, fmt: &str) -> String {
    d.berth(&["inspect", "-f", fmt, name]).ok().trim().to_owned()
}

fn run_d(d: &Daemon, name: &str, flags: &[&str]) -> String {
    let mut a = vec!["run", "-d", "--name", name];
    a.extend_from_slice(flags);
    a.extend(["busybox", "sleep", "1000"]);
    d.berth(&a).ok();
    id(d, name)
}

/// The root file system's block device as `(path, "major:minor")`.
fn root_device() -> (String, String) {
    let st = nix::sys::stat::stat("/").expect("stat /");
    let (major, minor) = (nix::sys::stat::major(st.st_dev), nix::sys::stat::minor(st.st_dev));
    let uevent = std::fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/uevent")).expect("device uevent");
    let name = uevent.lines().find_map(|l| l.strip_prefix("DEVNAME=")).expect("DEVNAME in uevent");
    (format!("/dev/{name}"), format!("{major}:{minor}"))
}

fn online_cpus() -> usize {
    let s = std::fs::read_to_string("/sys/devices/system/cpu/online").expect("online cpus");
    s.trim()
        .split(',')
        .map(|p| match p.split_once('-') {
            Some((a, b)) => b.parse::<usize>().unwrap() - a.parse::<usize>().unwrap() + 1,
            None => 1,
        })
        .sum()
}

/// The stats JSON of one container, straight from the API.
fn stats_json(d: &Daemon, name: &str, query: &str) -> serde_json::Value {
    let out = std::process::Command::new("curl")
        .args(["-sf", "--unix-socket", d.socket.to_str().unwrap()])
        .arg(format!("http://berth/v1.51/containers/{name}/stats?{query}"))
        .output()
        .expect("running curl");
    assert!(out.status.success(), "stats request failed: {out:?}");
    serde_json::from_slice(&out.stdout).expect("stats JSON")
}

#[test]
fn limits_are_in_the_cgroup_and_seen_inside() {
    let d = setup();
    let cpu = (online_cpus() - 1).to_string();
    let id = run_d(
        &d,
        "lim",
        &[
            "-m",
            "64m",
            "--memory-reservation",
            "32m",
            "--cpus",
            "0.5",
            "--cpu-shares",
            "512",
            "--pids-limit",
            "50",
            "--cpuset-cpus",
            &cpu,
        ],
    );
    assert_eq!(read(&d, &id, "memory.limit_in_bytes"), (64u64 << 20).to_string());
    assert_eq!(read(&d, &id, "memory.memsw.limit_in_bytes"), (128u64 << 20).to_string(), "swap defaults to memory");
    assert_eq!(read(&d, &id, "memory.soft_limit_in_bytes"), (32u64 << 20).to_string());
    assert_eq!(read(&d, &id, "cpu.cfs_quota_us"), "50000");
    assert_eq!(read(&d, &id, "cpu.cfs_period_us"), "100000");
    assert_eq!(read(&d, &id, "cpu.shares"), "512");
    assert_eq!(read(&d, &id, "pids.max"), "50");
    assert_eq!(read(&d, &id, "cpuset.cpus"), cpu);
    // Inside: the container's own cgroup (namespaced), and its CPU affinity.
    let r =
        d.berth(&["exec", "lim", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max"]);
    assert_eq!(r.ok().split_whitespace().collect::<Vec<_>>(), [(64u64 << 20).to_string(), "50".to_owned()]);
    let r = d.berth(&["exec", "lim", "grep", "Cpus_allowed_list", "/proc/self/status"]);
    assert_eq!(r.ok().split_whitespace().last(), Some(cpu.as_str()));
    // As docker inspect shows them.
    assert_eq!(
        inspect(
            &d,
            "lim",
            "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.CpusetCpus}}"
        ),
        format!("{} {} 500000000 50 {cpu}", 64u64 << 20, 128u64 << 20)
    );
    d.rm_f_and_assert_clean(&["lim"]);
}

#[test]
fn no_limits_by_default() {
    let d = setup();
    let id = run_d(&d, "free", &[]);
    let limit: u64 = read(&d, &id, "memory.limit_in_bytes").parse().unwrap();
    assert!(limit >= 1 << 62, "memory limit {limit}");
    assert_eq!(read(&d, &id, "pids.max"), "max");
    assert_eq!(read(&d, &id, "cpu.cfs_quota_us"), "-1");
    assert_eq!(read(&d, &id, "blkio.throttle.read_bps_device"), "");
    assert_eq!(
        inspect(&d, "free", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{json .HostConfig.PidsLimit}}"),
        "0 0 null"
    );
    d.rm_f_and_assert_clean(&["free"]);
}

#[test]
fn update_changes_a_running_container_live() {
    let d = setup();
    let id = run_d(&d, "up", &["-m", "64m"]);
    let pid = inspect(&d, "up", "{{.State.Pid}}");
    d.berth(&["update", "-m", "128m", "--cpus", "1", "--pids-limit", "20", "--ulimit", "nofile=100:200", "up"]).ok();
    assert_eq!(inspect(&d, "up", "{{.State.Pid}}"), pid, "no restart");
    assert_eq!(read(&d, &id, "memory.limit_in_bytes"), (128u64 << 20).to_string());
    assert_eq!(read(&d, &id, "memory.memsw.limit_in_bytes"), (256u64 << 20).to_string(), "implicit swap follows");
    assert_eq!(read(&d, &id, "cpu.cfs_quota_us"), "100000");
    assert_eq!(read(&d, &id, "pids.max"), "20");
    assert_eq!(
        inspect(
            &d,
            "up",
            "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.Ulimits}}"
        ),
        format!("{} 1000000000 20 [map[Hard:200 Name:nofile Soft:100]]", 128u64 << 20)
    );
    // The running process got the new ulimit, seen from the host and from inside.
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    assert_eq!(line.split_whitespace().collect::<Vec<_>>()[3..5], ["100", "200"], "{line}");
    let r = d.berth(&["exec", "up", "grep", "Max open files", "/proc/1/limits"]);
    assert!(r.ok().split_whitespace().collect::<Vec<_>>()[3..5] == ["100", "200"], "{r:?}");
    // Lowering memory and swap together, then lifting the pids limit.
    d.berth(&["update", "-m", "32m", "--memory-swap", "48m", "--pids-limit", "-1", "up"]).ok();
    assert_eq!(read(&d, &id, "memory.limit_in_bytes"), (32u64 << 20).to_string());
    assert_eq!(read(&d, &id, "memory.memsw.limit_in_bytes"), (48u64 << 20).to_string());
    assert_eq!(read(&d, &id, "pids.max"), "max");
    // Raising both (memory+swap must go first on v1).
    d.berth(&["update", "-m", "200m", "--memory-swap", "400m", "up"]).ok();
    assert_eq!(read(&d, &id, "memory.limit_in_bytes"), (200u64 << 20).to_string());
    assert_eq!(read(&d, &id, "memory.memsw.limit_in_bytes"), (400u64 << 20).to_string());
    d.rm_f_and_assert_clean(&["up"]);
}

#[test]
fn update_paused_and_stopped_containers_and_keep_it_across_a_daemon_restart() {
    let mut d = setup();
    let id = run_d(&d, "pz", &[]);
    d.berth(&["pause", "pz"]).ok();
    d.berth(&["update", "--pids-limit", "33", "--cpu-shares", "256", "pz"]).ok();
    assert_eq!(read(&d, &id, "pids.max"), "33");
    assert_eq!(read(&d, &id, "cpu.shares"), "256");
    d.berth(&["unpause", "pz"]).ok();
    d.berth(&["stop", "-t", "0", "pz"]).ok();
    d.berth(&["update", "-m", "96m", "--restart", "on-failure:2", "pz"]).ok();
    d.restart();
    assert_eq!(
        inspect(
            &d,
            "pz",
            "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}"
        ),
        format!("{} 33 on-failure:2", 96u64 << 20)
    );
    d.berth(&["start", "pz"]).ok();
    assert_eq!(read(&d, &id, "memory.limit_in_bytes"), (96u64 << 20).to_string());
    assert_eq!(read(&d, &id, "pids.max"), "33");
    assert_eq!(read(&d, &id, "cpu.shares"), "256");
    d.rm_f_and_assert_clean(&["pz"]);
}

#[test]
fn device_throttles_on_the_root_device() {
    let d = setup();
    let (dev, majmin) = root_device();
    let bps = format!("{dev}:1mb");
    let id = run_d(&d, "io", &["--device-read-bps", &bps]);
    assert_eq!(read(&d, &id, "blkio.throttle.read_bps_device"), format!("{majmin} 1048576"));
    // Live: a new limit, and one removed (rate 0).
    let iops = format!("{dev}:100");
    let zero = format!("{dev}:0");
    d.berth(&["update", "--device-write-iops", &iops, "--device-read-bps", &zero, "io"]).ok();
    assert_eq!(read(&d, &id, "blkio.throttle.write_iops_device"), format!("{majmin} 100"));
    assert_eq!(read(&d, &id, "blkio.throttle.read_bps_device"), "");
    assert_eq!(
        inspect(&d, "io", "{{json .HostConfig.BlkioDeviceWriteIOps}} {{json .HostConfig.BlkioDeviceReadBps}}"),
        format!("[{{\"Path\":\"{dev}\",\"Rate\":100}}] []")
    );
    d.rm_f_and_assert_clean(&["io"]);
}

#[test]
fn bad_inputs_give_clear_errors_and_change_nothing() {
    let d = setup();
    let n = online_cpus();
    let cpus_msg = format!("Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available");
    let cases: Vec<(Vec<&str>, String)> = vec![
        (vec!["-m", "1m"], "Minimum memory limit allowed is 6MB".into()),
        (
            vec!["-m", "64m", "--memory-swap", "32m"],
            "Minimum memoryswap limit should be larger than memory limit".into(),
        ),
        (vec!["--cpus", "1000"], cpus_msg.clone()),
        (
            vec!["--cpus", "1", "--cpu-quota", "50000"],
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set".into(),
        ),
        (vec!["--cpuset-cpus", "0-999"], "Requested CPUs are not available - requested 0-999".into()),
        (vec!["--cpuset-cpus", "zero"], "Invalid value zero for cpuset cpus".into()),
        (
            vec!["--device-read-bps", "/dev/nonexistent:1mb"],
            "invalid device path \"/dev/nonexistent\" for --device-read-bps: no such file or directory".into(),
        ),
        (
            vec!["--device-write-bps", "/dev/null:1mb"],
            "\"/dev/null\" given to --device-write-bps is not a block device".into(),
        ),
        (vec!["--blkio-weight", "5"], "Range of blkio weight is from 10 to 1000".into()),
        (vec!["--ulimit", "bogus=1:2"], "invalid ulimit type: bogus".into()),
    ];
    for (flags, want) in &cases {
        let mut a = vec!["create", "--name", "bad"];
        a.extend_from_slice(flags);
        a.push("busybox");
        let r = d.berth(&a);
        assert_ne!(r.code, 0, "{flags:?} was accepted");
        assert!(r.stderr.contains(want.as_str()), "{flags:?}: {:?}", r.stderr);
    }
    // Devices stay out of scope, and say so (berth's CLI has no --device; docker's has).
    let r = d.docker(&["create", "--device", "/dev/null", "busybox"]);
    assert!(r.stderr.contains("adding devices (--device, --gpus, --device-cgroup-rule) is not supported"), "{r:?}");
    assert!(d.container_ids().is_empty(), "a refused create left a container");

    // The same through update: nothing changes, in the cgroup or the record.
    let id = run_d(&d, "ok", &["-m", "64m", "--pids-limit", "40"]);
    let before = inspect(&d, "ok", "{{json .HostConfig}}");
    for (flags, want) in &cases[..10] {
        let mut a = vec!["update"];
        a.extend_from_slice(flags);
        a.push("ok");
        let r = d.berth(&a);
        assert_ne!(r.code, 0, "update {flags:?} was accepted");
        assert!(r.stderr.contains(want.as_str()), "update {flags:?}: {:?}", r.stderr);
    }
    // Valid settings together with an invalid one: all refused before anything is written.
    let r = d.berth(&["update", "--pids-limit", "7", "-m", "128m", "--cpuset-cpus", "0-999", "ok"]);
    assert_ne!(r.code, 0);
    assert_eq!(inspect(&d, "ok", "{{json .HostConfig}}"), before);
    assert_eq!(read(&d, &id, "memory.limit_in_bytes"), (64u64 << 20).to_string());
    assert_eq!(read(&d, &id, "pids.max"), "40");
    let r = d.berth(&["update", "ok"]);
    assert!(r.stderr.contains("you must provide one or more flags"), "{r:?}");
    d.rm_f_and_assert_clean(&["ok"]);
}

/// A write the kernel refuses half-way through an update: the settings already written get
/// their old values back. BFQ weights can't be set for a device whose I/O scheduler is not BFQ;
/// pids.max is written before the block I/O settings.
#[test]
fn a_failed_cgroup_write_rolls_back_the_update() {
    let d = setup();
    let (dev, _) = root_device();
    let sched = std::fs::read_to_string(format!("/sys/block/{}/queue/scheduler", dev.trim_start_matches("/dev/")))
        .unwrap_or_default();
    assert!(!sched.contains("[bfq]"), "this test needs a root device not scheduled by BFQ: {sched}");
    let id = run_d(&d, "rb", &["--pids-limit", "40"]);
    let before = inspect(&d, "rb", "{{json .HostConfig}}");
    let weight = format!("{dev}:500");
    let r = d.berth(&["update", "--pids-limit", "7", "--blkio-weight-device", &weight, "rb"]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("blkio.weight_device is not supported on this host"), "{r:?}");
    assert_eq!(read(&d, &id, "pids.max"), "40", "restored");
    assert_eq!(inspect(&d, "rb", "{{json .HostConfig}}"), before);
    // At create, the same setting makes the start fail with that error, and leaves nothing.
    let r = d.berth(&["run", "--rm", "--blkio-weight-device", &weight, "busybox", "true"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("blkio.weight_device is not supported on this host"), "{r:?}");
    d.rm_f_and_assert_clean(&["rb"]);
}

#[test]
fn oom_killed_container_reports_it() {
    let d = setup();
    let r = d.berth(&[
        "run",
        "--name",
        "oom",
        "-m",
        "8m",
        "busybox",
        "sh",
        "-c",
        "x=$(head -c 64m /dev/zero | tr '\\0' a); echo survived",
    ]);
    assert_eq!(r.code, 137, "{r:?}");
    assert!(!r.stdout.contains("survived"));
    assert_eq!(inspect(&d, "oom", "{{.State.OOMKilled}} {{.State.ExitCode}}"), "true 137");
    // The next run of the same container starts clean.
    d.berth(&["update", "-m", "1g", "--memory-swap", "-1", "oom"]).ok();
    d.berth(&["start", "-a", "oom"]);
    assert_eq!(inspect(&d, "oom", "{{.State.OOMKilled}} {{.State.ExitCode}}"), "false 0");
    d.rm_f_and_assert_clean(&["oom"]);
}

#[test]
fn stats_json_is_sane() {
    let d = setup();
    run_d(&d, "st", &["-m", "64m", "--pids-limit", "30"]);
    let v = stats_json(&d, "st", "stream=false");
    assert_eq!(v["name"], "/st");
    assert!(v["pids_stats"]["current"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(v["pids_stats"]["limit"], 30);
    assert_eq!(v["memory_stats"]["limit"], 64u64 << 20);
    assert!(v["memory_stats"]["usage"].as_u64().unwrap() > 0);
    assert!(v["memory_stats"]["stats"].as_object().is_some_and(|m| !m.is_empty()));
    assert!(v["cpu_stats"]["cpu_usage"]["total_usage"].as_u64().unwrap() > 0);
    assert!(
        v["cpu_stats"]["system_cpu_usage"].as_u64().unwrap() > v["precpu_stats"]["system_cpu_usage"].as_u64().unwrap()
    );
    assert_eq!(v["cpu_stats"]["online_cpus"].as_u64().unwrap() as usize, online_cpus());
    assert!(v["networks"]["eth0"]["rx_bytes"].is_u64(), "{v}");
    // A stream: a sample a second, each with the previous one as precpu.
    let out = std::process::Command::new("curl")
        .args(["-sN", "-m", "2.6", "--unix-socket", d.socket.to_str().unwrap()])
        .arg("http://berth/v1.51/containers/st/stats?stream=1")
        .output()
        .expect("running curl");
    let frames: Vec<serde_json::Value> = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert!(frames.len() >= 2, "{} frames", frames.len());
    assert_eq!(frames[0]["preread"], "0001-01-01T00:00:00Z");
    assert_eq!(frames[1]["preread"], frames[0]["read"]);
    // berth's own streaming table: redrawn (clear screen, home) with the container in it.
    let child = d.berth_cmd(&["stats"]).stdout(std::process::Stdio::piped()).spawn().expect("berth stats");
    std::thread::sleep(std::time::Duration::from_millis(1800));
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    );
    let table = String::from_utf8(child.wait_with_output().expect("stats output").stdout).unwrap();
    assert!(table.matches("\x1b[2J\x1b[H").count() >= 2, "{table:?}");
    assert!(table.contains(" st "), "{table:?}");
    let one = stats_json(&d, "st", "stream=false&one-shot=true");
    assert_eq!(one["preread"], "0001-01-01T00:00:00Z");
    // Unlimited memory shows the host's memory as the limit.
    run_d(&d, "st2", &[]);
    let v = stats_json(&d, "st2", "stream=false&one-shot=true");
    let host_mem = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kb: u64 = host_mem.lines().next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_eq!(v["memory_stats"]["limit"], kb * 1024);

    // The CLI: its table and format fields.
    let r = d.berth(&["stats", "--no-stream"]);
    let out = r.ok();
    assert!(out.starts_with("CONTAINER ID   NAME"), "{out}");
    assert_eq!(out.lines().count(), 3, "{out}");
    let r = d.berth(&["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.MemUsage}}", "st"]);
    assert!(r.ok().starts_with("st 1 "), "{r:?}");
    assert!(r.ok().trim_end().ends_with("/ 64MiB"), "{r:?}");
    let r = d.berth(&["stats", "--no-stream", "--no-trunc", "--format", "{{.ID}}", "st"]);
    assert_eq!(r.ok().trim().len(), 64);
    d.berth(&["stop", "-t", "0", "st2"]).ok();
    let r = d.berth(&["stats", "--no-stream", "--all", "--format", "{{.Name}}"]);
    let mut names: Vec<&str> = r.ok().lines().collect();
    names.sort_unstable();
    assert_eq!(names, ["st", "st2"]);
    let r = d.berth(&["stats", "--no-stream", "nosuch"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("No such container: nosuch"), "{r:?}");
    d.rm_f_and_assert_clean(&["st", "st2"]);
}

#[test]
fn docker_cli_update_and_stats() {
    let d = setup();
    // docker run's flags (its create body, with its own defaults for the rest).
    let r = d.docker(&[
        "run",
        "--rm",
        "-m",
        "64m",
        "--pids-limit",
        "10",
        "busybox",
        "cat",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        "/sys/fs/cgroup/pids/pids.max",
    ]);
    assert_eq!(r.ok().split_whitespace().collect::<Vec<_>>(), [(64u64 << 20).to_string(), "10".to_owned()]);
    let id = run_d(&d, "dk", &["-m", "64m"]);
    let r = d.docker(&[
        "update",
        "--memory",
        "100m",
        "--memory-swap",
        "200m",
        "--cpu-shares",
        "300",
        "--pids-limit",
        "25",
        "dk",
    ]);
    assert_eq!(r.ok().trim(), "dk");
    assert_eq!(read(&d, &id, "memory.limit_in_bytes"), (100u64 << 20).to_string());
    assert_eq!(read(&d, &id, "memory.memsw.limit_in_bytes"), (200u64 << 20).to_string());
    assert_eq!(read(&d, &id, "cpu.shares"), "300");
    assert_eq!(read(&d, &id, "pids.max"), "25");
    let r = d.docker(&["update", "--memory", "1m", "dk"]);
    assert!(r.stderr.contains("Minimum memory limit allowed is 6MB"), "{r:?}");
    let r = d.docker(&["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}", "dk"]);
    assert_eq!(r.ok().trim(), format!("{} 25", 100u64 << 20));
    let r = d.docker(&["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.MemUsage}}", "dk"]);
    let out = r.ok().trim().to_owned();
    assert!(out.starts_with("dk 1 ") && out.ends_with("/ 100MiB"), "{out}");
    let r = d.docker(&["stats", "--no-stream"]);
    assert!(r.ok().contains(&id[..12]), "{r:?}");
    d.rm_f_and_assert_clean(&["dk"]);
}

#[test]
fn shm_size_and_ulimits_at_run() {
    let d = setup();
    let r = d.berth(&[
        "run",
        "--rm",
        "--shm-size",
        "32m",
        "--ulimit",
        "nofile=111:222",
        "busybox",
        "sh",
        "-c",
        "df -k /dev/shm | tail -1; ulimit -n; ulimit -Hn",
    ]);
    let out = r.ok().to_owned();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0].split_whitespace().nth(1), Some("32768"), "{out}");
    assert_eq!(&lines[1..], ["111", "222"], "{out}");
}
