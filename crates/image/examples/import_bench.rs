//! Measures `import` (and then `load` of the saved image) on a real root filesystem tar read
//! from stdin, a non-seekable stream as with `docker import -`:
//!
//! ```text
//! cargo run -p image --release --example import_bench < rootfs.tar
//! ```

use std::io::{self, BufWriter};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir_in(std::env::var_os("BENCH_DIR").unwrap_or_else(|| "/var/tmp".into()))?;
    let store = image::ImageStore::open(&dir.path().join("a"))?;
    let start = Instant::now();
    let id = store.import(io::stdin().lock(), &image::ImportOptions::default())?;
    let secs = start.elapsed().as_secs_f64();
    let size = store.resolve(&id.to_string())?.size;
    #[allow(clippy::cast_precision_loss)]
    let mb = size as f64 / 1e6;
    eprintln!("import: {mb:.0} MB of files in {secs:.2} s ({:.0} MB/s)", mb / secs);

    let archive = dir.path().join("saved.tar");
    store.save(&[id.to_string()], BufWriter::new(std::fs::File::create(&archive)?))?;
    let other = image::ImageStore::open(&dir.path().join("b"))?;
    let start = Instant::now();
    other.load(std::fs::File::open(&archive)?)?;
    let secs = start.elapsed().as_secs_f64();
    eprintln!("load:   {mb:.0} MB of files in {secs:.2} s ({:.0} MB/s)", mb / secs);
    Ok(())
}
