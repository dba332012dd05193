//! `berth`: one static binary that is the CLI, the daemon (`berth daemon`), the per-container
//! shim (`berth shim RUNDIR`, started by the daemon) and the container init (`--init`, when
//! invoked as `docker-init` or `berth-init`).

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("shim") {
        let Some(dir) = args.get(2) else {
            eprintln!("usage: berth shim RUNDIR");
            std::process::exit(2);
        };
        std::process::exit(shim::main(std::path::Path::new(dir)));
    }
}
