//! `berth`: one static binary that is the CLI, the daemon (`berth daemon`), the per-container
//! shim (`berth shim RUNDIR`, started by the daemon) and the container init (`--init`, when
//! invoked as `docker-init` or `berth-init`), and `supervisorctl` in supervised containers.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let argv0 = args.first().map(|a| a.rsplit('/').next().unwrap_or(a).to_owned()).unwrap_or_default();
    if argv0 == "docker-init" || argv0 == "berth-init" {
        std::process::exit(init::main(args));
    }
    if argv0 == "supervisorctl" {
        std::process::exit(init::supervisor::ctl_main(&args));
    }
    if args.get(1).map(String::as_str) == Some("shim") {
        let Some(dir) = args.get(2) else {
            eprintln!("usage: berth shim RUNDIR");
            std::process::exit(2);
        };
        std::process::exit(shim::main(std::path::Path::new(dir)));
    }
    match cli::main(args) {
        cli::Outcome::Exit(code) => std::process::exit(code),
        cli::Outcome::Daemon { hosts, args } => {
            let args = *args;
            let network = args.network;
            let net = daemon::NetOptions {
                bridge: network.bridge,
                bip: network.bip,
                pools: network.default_address_pool,
                firewall_table: network.firewall_table,
                dns: network.dns,
            };
            let tls = daemon::tls::TlsOptions {
                tls: args.tls,
                verify: args.tlsverify,
                ca: args.tlscacert,
                cert: args.tlscert,
                key: args.tlskey,
            };
            let opts = daemon::Options {
                root: args.root,
                exec_root: args.exec_root,
                hosts,
                group: args.group,
                tls,
                idle_timeout: args.idle_timeout,
                log_level: args.log_level,
                cgroup_parent: args.cgroup_parent,
                net,
                userns_remap: args.userns_remap,
            };
            if let Err(e) = daemon::run(opts) {
                eprintln!("berth daemon: {e:#}");
                std::process::exit(1);
            }
        }
    }
}
