//! Store-level tests: import, resolution, tags, history, rmi, prune, GC, crash leftovers,
//! concurrency, and an unpack throughput measurement.

use std::fs;
use std::time::Instant;

use super::*;
use crate::error::ErrorKind;
use crate::import::ImportOptions;
use crate::remove::RemoveEntry;
use crate::testtar::{Entry, Trickle, gzip, tar_of, zstd};

fn rootfs(marker: &str) -> Vec<u8> {
    tar_of(&[
        Entry::dir("./"),
        Entry::dir("etc/"),
        Entry::file("etc/marker", marker.as_bytes()),
        Entry::file("bin/sh", b"#!").mode(0o755),
    ])
}

fn import(store: &ImageStore, marker: &str, reference: Option<&str>) -> Digest {
    let opts = ImportOptions { reference: reference.map(str::to_owned), ..Default::default() };
    store.import(&rootfs(marker)[..], &opts).unwrap()
}

fn nobody(_: &Digest) -> Option<ContainerUse> {
    None
}

fn entries(e: &[RemoveEntry]) -> Vec<String> {
    e.iter().map(ToString::to_string).collect()
}

#[test]
fn store_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<ImageStore>();
}

#[test]
fn import_gzip_with_changes() {
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let tar = rootfs("gz");
    let opts = ImportOptions {
        reference: Some("myimg:v1".into()),
        message: Some("first import".into()),
        changes: vec!["CMD echo hi".into(), "ENV A=1 B=2".into(), "EXPOSE 80".into(), "WORKDIR /srv".into()],
        source: None,
    };
    let id = store.import(Trickle(&gzip(&tar)), &opts).unwrap();
    let img = store.resolve("myimg:v1").unwrap();
    assert_eq!(img.id, id);
    assert_eq!(img.config.architecture, "amd64");
    assert_eq!(img.config.os, "linux");
    assert_eq!(img.config.comment.as_deref(), Some("first import"));
    assert_eq!(img.config.rootfs.diff_ids, [Digest::of(&tar)], "diff id of the uncompressed tar");
    let c = img.config.config.as_ref().unwrap();
    assert_eq!(c.cmd.as_deref().unwrap(), ["/bin/sh", "-c", "echo hi"]);
    assert_eq!(c.env.as_deref().unwrap(), ["A=1", "B=2"]);
    assert_eq!(c.working_dir.as_deref(), Some("/srv"));
    assert_eq!(img.config.history[0].created_by.as_deref(), Some("Imported from -"));
    // The image ID is the digest of the stored config bytes.
    assert_eq!(Digest::of(&fs::read(root.path().join("blobs/sha256").join(id.hex())).unwrap()), id);
    let dirs = store.layers(&id).unwrap();
    assert_eq!(fs::read(dirs[0].join("etc/marker")).unwrap(), b"gz");
    assert_eq!(img.size, 4);

    let hist = store.history("myimg:v1").unwrap();
    assert_eq!(hist.len(), 1);
    assert_eq!((hist[0].id.as_ref(), hist[0].size, hist[0].comment.as_str()), (Some(&id), 4, "first import"));
    assert_eq!(hist[0].tags, ["myimg:v1"]);

    // zstd input, and errors before reading the stream.
    let id2 = store.import(&zstd(&rootfs("zst"))[..], &ImportOptions::default()).unwrap();
    assert_eq!(fs::read(store.layers(&id2).unwrap()[0].join("etc/marker")).unwrap(), b"zst");
    let bad = ImportOptions { changes: vec!["FOO bar".into()], ..Default::default() };
    let err = store.import(&tar[..], &bad).unwrap_err();
    assert_eq!(err.to_string(), "FOO is not a valid change command");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let bad = ImportOptions { reference: Some("x@sha256:abc".into()), ..Default::default() };
    assert!(store.import(&tar[..], &bad).is_err());
}

#[test]
fn resolves_like_docker() {
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let a = import(&store, "a", Some("busybox"));
    let b = import(&store, "b", Some("localhost:5000/team/app:2"));
    assert_eq!(store.resolve("busybox").unwrap().id, a);
    assert_eq!(store.resolve("busybox:latest").unwrap().id, a);
    assert_eq!(store.resolve("docker.io/library/busybox").unwrap().id, a);
    assert_eq!(store.resolve(&a.to_string()).unwrap().id, a);
    assert_eq!(store.resolve(a.hex()).unwrap().id, a);
    assert_eq!(store.resolve(&format!("sha256:{}", &a.hex()[..10])).unwrap().id, a);
    assert_eq!(store.resolve(a.short()).unwrap().id, a);
    assert_eq!(store.resolve("localhost:5000/team/app:2").unwrap().id, b);
    // One character is enough when it is unique; ambiguous prefixes are not found.
    let first_a = &a.hex()[..1];
    if !b.hex().starts_with(first_a) {
        assert_eq!(store.resolve(first_a).unwrap().id, a);
    }
    let common: String = a.hex().chars().zip(b.hex().chars()).take_while(|(x, y)| x == y).map(|(x, _)| x).collect();
    if !common.is_empty() {
        assert!(matches!(store.resolve(&common), Err(ImageError::NotFound(_))));
    }
    assert_eq!(store.resolve("busybox:1").unwrap_err().to_string(), "No such image: busybox:1");
    assert_eq!(store.resolve("nothere").unwrap_err().to_string(), "No such image: nothere:latest");
    let missing = Digest::of(b"none");
    assert_eq!(store.resolve(missing.hex()).unwrap_err().to_string(), format!("No such image: {missing}"));
    assert_eq!(store.resolve("Bad").unwrap_err().kind(), ErrorKind::InvalidArgument);
}

#[test]
fn tag_moves_and_list_shows_familiar_names() {
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let a = import(&store, "a", Some("app:1"));
    let b = import(&store, "b", None);
    store.tag(a.short(), "app:latest").unwrap();
    store.tag(&b.to_string(), "app:1").unwrap();
    assert_eq!(store.resolve("app:1").unwrap().id, b);
    assert_eq!(store.resolve("app").unwrap().id, a);
    assert!(matches!(
        store.tag("app", "app@sha256:0000000000000000000000000000000000000000000000000000000000000000"),
        Err(ImageError::TagWithDigest)
    ));
    assert!(matches!(store.tag("app", &"a".repeat(64)), Err(ImageError::HexRepository(_))));
    let list = store.list();
    assert_eq!(list.len(), 2);
    let row = list.iter().find(|s| s.id == a).unwrap();
    assert_eq!(row.repo_tags, ["app:latest"]);
    assert_eq!(row.size, 3);

    // Tags survive a reopen.
    drop(store);
    let store = ImageStore::open(root.path()).unwrap();
    assert_eq!(store.resolve("app:1").unwrap().id, b);
}

#[test]
fn rmi_semantics_and_layer_gc() {
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let a = import(&store, "a", Some("busybox:latest"));
    store.tag("busybox", "busybox:1").unwrap();
    let layer_dirs = || fs::read_dir(root.path().join("layers")).unwrap().count();

    // Two tags, by name: untag only.
    assert_eq!(entries(&store.remove("busybox", false, &nobody).unwrap()), ["Untagged: busybox:latest"]);
    // Last tag while a stopped container uses the image: conflict, then force.
    let stopped = |_: &Digest| Some(ContainerUse { container_id: "abcdef0123456789".into(), running: false });
    let err = store.remove("busybox:1", false, &stopped).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.to_string().contains("container abcdef012345 is using its referenced image"), "{err}");
    store.tag("busybox:1", "busybox:2").unwrap();
    // By ID with two tags needs force.
    let err = store.remove(a.short(), false, &nobody).unwrap_err();
    assert!(err.to_string().ends_with("(must be forced) - image is referenced in multiple repositories"), "{err}");
    let out = store.remove(a.short(), true, &nobody).unwrap();
    assert_eq!(
        entries(&out),
        [
            "Untagged: busybox:1".to_string(),
            "Untagged: busybox:2".into(),
            format!("Deleted: {a}"),
            format!("Deleted: {}", store_layer(&out))
        ]
    );
    assert_eq!(layer_dirs(), 0);
    assert!(store.resolve(a.short()).is_err());

    // Layers shared by two images stay until the last one goes.
    let x = import(&store, "same", Some("x"));
    let y = store
        .import(
            &rootfs("same")[..],
            &ImportOptions { reference: Some("y".into()), message: Some("m".into()), ..Default::default() },
        )
        .unwrap();
    assert_ne!(x, y);
    assert_eq!(layer_dirs(), 1);
    assert_eq!(
        entries(&store.remove("x", false, &nobody).unwrap()),
        ["Untagged: x:latest".to_string(), format!("Deleted: {x}")]
    );
    assert_eq!(layer_dirs(), 1);
    assert_eq!(store.remove("y", false, &nobody).unwrap().len(), 3);
    assert_eq!(layer_dirs(), 0);
    assert_eq!(fs::read_dir(root.path().join("blobs/sha256")).unwrap().count(), 0);
}

fn store_layer(out: &[RemoveEntry]) -> String {
    match out.last() {
        Some(RemoveEntry::Deleted(d)) => d.to_string(),
        other => panic!("expected a deleted layer, got {other:?}"),
    }
}

#[test]
fn forced_removal_keeps_layers_for_stopped_containers() {
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let a = import(&store, "a", None);
    let stopped = |d: &Digest| (d == &a).then(|| ContainerUse { container_id: "c1".into(), running: false });
    let running = |d: &Digest| (d == &a).then(|| ContainerUse { container_id: "c1".into(), running: true });
    assert!(store.remove(a.short(), true, &running).unwrap_err().to_string().contains("(cannot be forced)"));
    assert_eq!(entries(&store.remove(a.short(), true, &stopped).unwrap()), [format!("Deleted: {a}")]);
    assert!(store.resolve(a.short()).is_err(), "gone from names");
    assert!(store.list().is_empty());
    let dirs = store.layers(&a).unwrap();
    assert!(dirs[0].join("etc/marker").is_file(), "layers stay for the container");
    // Still retained after a reopen while in use; collected once the container is gone.
    drop(store);
    let store = ImageStore::open(root.path()).unwrap();
    assert!(store.gc(&stopped).unwrap().layers.is_empty());
    assert_eq!(store.gc(&nobody).unwrap().layers.len(), 1);
    assert!(store.layers(&a).is_err());
}

#[test]
fn prune_dangling_and_all() {
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let tagged = import(&store, "t", Some("keep"));
    let dangling = import(&store, "d", None);
    let used = import(&store, "u", None);
    let in_use = |d: &Digest| (d == &used).then(|| ContainerUse { container_id: "c".into(), running: true });
    let report = store.prune(false, &in_use).unwrap();
    assert_eq!(report.entries[0], RemoveEntry::Deleted(dangling.clone()));
    assert_eq!(report.entries.len(), 2, "the image and its layer");
    assert_eq!(report.space_reclaimed, 3);
    assert!(store.resolve(used.short()).is_ok());
    let report = store.prune(true, &in_use).unwrap();
    assert_eq!(entries(&report.entries)[..2], ["Untagged: keep:latest".to_string(), format!("Deleted: {tagged}")]);
    assert_eq!(store.list().len(), 1);
}

#[test]
fn open_cleans_leftovers_and_skips_incomplete_records() {
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let id = import(&store, "a", Some("a"));
    drop(store);
    let r = root.path();
    fs::write(r.join("blobs/sha256/.tmp-blob-1-2-3"), b"partial").unwrap();
    fs::create_dir_all(r.join("layers/.tmp-layer-1-2-3/diff/usr")).unwrap();
    fs::write(r.join("images/.tmp-write-1-2-3"), b"{").unwrap();
    // What a load killed after its blobs and layers but before its record leaves behind.
    let orphan = ContentStore::open(r).unwrap().put(b"orphan config").unwrap();
    fs::create_dir_all(r.join("layers").join(Digest::of(b"orphan").hex()).join("diff")).unwrap();
    // A record whose layer vanished (e.g. a disk was restored partially).
    let ghost = Digest::of(b"ghost");
    let text = fs::read_to_string(r.join("images").join(format!("{}.json", id.hex()))).unwrap();
    fs::write(r.join("images").join(format!("{}.json", ghost.hex())), text.replace(id.hex(), ghost.hex())).unwrap();
    let store = ImageStore::open(r).unwrap();
    assert_eq!(store.list().len(), 1);
    assert!(!r.join("blobs/sha256/.tmp-blob-1-2-3").exists());
    assert!(!r.join("layers/.tmp-layer-1-2-3").exists());
    assert!(!r.join("images/.tmp-write-1-2-3").exists());
    assert!(!r.join("blobs/sha256").join(orphan.hex()).exists());
    assert_eq!(fs::read_dir(r.join("layers")).unwrap().count(), 1);
    assert!(store.layers(&id).unwrap()[0].join("etc/marker").is_file());
}

#[test]
fn concurrent_imports_and_removals() {
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let store = &store;
            s.spawn(move || {
                for i in 0..5 {
                    let name = format!("img{t}:{i}");
                    // Half the imports share one layer.
                    let marker = if i % 2 == 0 { "shared".to_string() } else { name.clone() };
                    import(store, &marker, Some(&name));
                    if i % 3 == 0 {
                        store.remove(&name, false, &nobody).unwrap();
                    }
                }
            });
        }
    });
    for img in store.list() {
        for d in store.layers(&img.id).unwrap() {
            assert!(d.join("etc/marker").is_file());
        }
    }
    let report = store.gc(&nobody).unwrap();
    assert!(report.layers.is_empty() && report.blobs.is_empty(), "{report:?}");
}

/// Measures unpack throughput of a generated tar (no timing assertions; run with
/// `cargo test -p image --release -- --nocapture throughput`).
#[test]
fn throughput() {
    let mut entries = Vec::new();
    let big = vec![0x5au8; 1 << 20];
    let small = vec![0xa5u8; 4096];
    for d in 0..20 {
        entries.push(Entry::dir(&format!("d{d}/")));
        for f in 0..100 {
            entries.push(Entry::file(&format!("d{d}/small{f}"), &small));
        }
        entries.push(Entry::file(&format!("d{d}/big"), &big));
    }
    let tar = tar_of(&entries);
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let start = Instant::now();
    store.import(&tar[..], &ImportOptions::default()).unwrap();
    let secs = start.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let mb = tar.len() as f64 / 1e6;
    eprintln!("import: {mb:.1} MB, {} files in {secs:.3} s = {:.0} MB/s", entries.len(), mb / secs);
}
