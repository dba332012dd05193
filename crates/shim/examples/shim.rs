//! Runs the shim on its own (development aid): `cargo run -p shim --example shim RUNDIR`.
fn main() {
    let dir = std::env::args().nth(1).expect("usage: shim RUNDIR");
    std::process::exit(shim::main(std::path::Path::new(&dir)));
}
