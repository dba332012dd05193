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
        cli::Outcome::Daemon { root, exec_root, host, log_level, cgroup_parent, network, userns_remap } => {
            let network = *network;
            let net = daemon::NetOptions {
                bridge: network.bridge,
                bip: network.bip,
                pools: network.default_address_pool,
                firewall_table: network.firewall_table,
                dns: network.dns,
            };
            let opts = daemon::Options { root, exec_root, host, log_level, cgroup_parent, net, userns_remap };
            if let Err(e) = daemon::run(opts) {
                eprintln!("berth daemon: {e:#}");
                std::process::exit(1);
            }
        }
    }
}
