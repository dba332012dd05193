//! `docker load` of an archive (legacy `docker save`, Docker 25+ and plain OCI layouts) into a
//! fresh image store.
//!
//! Properties:
//! - a refused archive leaves nothing: no image, no blob, no layer, no temp file;
//! - a loaded image resolves by ID, each of its tags to an image of the archive, and its layer
//!   directories exist;
//! - loading the same archive again gives the same images; `save` of them, loaded into another
//!   fresh store, gives the same IDs again;
//! - nothing is left half-written (`.tmp-*`) either way; no panic.

use std::fs;
use std::path::Path;

use image::ImageStore;

/// Every name under `dir`, recursively.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else { return out };
    for e in rd.flatten() {
        let p = e.path();
        out.push(p.display().to_string());
        if e.file_type().is_ok_and(|t| t.is_dir()) && !p.ends_with("diff") {
            out.extend(tree(&p));
        }
    }
    out
}

fn no_temp_files(root: &Path) {
    for p in tree(root) {
        assert!(!p.rsplit('/').next().unwrap_or_default().starts_with(".tmp-"), "left behind: {p}");
    }
}

/// The target.
pub fn run(data: &[u8]) {
    let mut data = data.to_vec();
    crate::fix_tar_checksums(&mut data);
    let dir = crate::scratch();
    let store = ImageStore::open(dir.path()).expect("open a store");
    match store.load(&data[..]) {
        Err(e) => {
            assert!(store.list().is_empty(), "refused ({e}) but images are listed");
            for sub in ["blobs/sha256", "layers", "images"] {
                let left: Vec<String> = tree(&dir.path().join(sub));
                assert!(left.is_empty(), "refused ({e:#}) but left {left:?}");
            }
        }
        Ok(loaded) => {
            for l in &loaded {
                let img = store.resolve(&l.id.to_string()).expect("a loaded image resolves by ID");
                assert_eq!(img.id, l.id);
                // A later image of the archive may take the tag over.
                for t in &l.tags {
                    let by_tag = store.resolve(&t.to_string()).expect("a loaded tag resolves").id;
                    assert!(loaded.iter().any(|x| x.id == by_tag), "{t} names an image this load did not load");
                }
                for d in store.layers(&l.id).expect("its layers") {
                    assert!(d.is_dir(), "layer directory {} missing", d.display());
                }
            }
            let again = store.load(&data[..]).expect("loading an archive again");
            let ids = |v: &[image::LoadedImage]| {
                let mut ids: Vec<String> = v.iter().map(|l| l.id.to_string()).collect();
                ids.sort();
                ids.dedup();
                ids
            };
            assert_eq!(ids(&loaded), ids(&again));
            if !loaded.is_empty() {
                let mut saved = Vec::new();
                store.save(&ids(&loaded), &mut saved).expect("saving loaded images");
                let dir2 = crate::scratch();
                let other = ImageStore::open(dir2.path()).expect("open a store");
                let reloaded = other.load(&saved[..]).expect("loading what save wrote");
                assert_eq!(ids(&loaded), ids(&reloaded));
            }
        }
    }
    no_temp_files(dir.path());
}
