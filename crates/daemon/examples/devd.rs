//! Development aid: a daemon-only binary (`shim` and init included), for trying the daemon while
//! the CLI crate is being changed. `cargo run -p daemon --example devd -- ROOT EXECROOT SOCKET [BRIDGE]`.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let argv0 = args[0].rsplit('/').next().unwrap_or("").to_owned();
    if argv0 == "docker-init" || argv0 == "berth-init" {
        std::process::exit(init::main(args));
    }
    if args.get(1).map(String::as_str) == Some("shim") {
        std::process::exit(shim::main(std::path::Path::new(&args[2])));
    }
    let opts = daemon::Options {
        root: args[1].clone().into(),
        exec_root: args[2].clone().into(),
        hosts: vec![args[3].clone()],
        group: String::new(),
        tls: daemon::tls::TlsOptions::default(),
        idle_timeout: api::DEFAULT_IDLE_TIMEOUT,
        log_level: "debug".into(),
        cgroup_parent: "berthdev".into(),
        net: daemon::NetOptions {
            bridge: args.get(4).cloned().unwrap_or_else(|| "berthdev0".into()),
            firewall_table: "berthdev".into(),
            ..Default::default()
        },
        userns_remap: None,
    };
    if let Err(e) = daemon::run(opts) {
        eprintln!("{e:#}");
        std::process::exit(1);
    }
}
