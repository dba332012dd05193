//! Loading archives built in the test: legacy `docker save`, OCI layouts (nested index, gzip
//! and zstd layers), the Docker 25+ layout through `save`, and broken archives.

use std::fs;

use super::*;
use crate::testtar::{Entry, Trickle, archive_of, gzip, tar_of, zstd};

fn config_for(diff_ids: &[&[u8]], cmd: &str) -> Vec<u8> {
    let ids: Vec<String> = diff_ids.iter().map(|t| Digest::of(t).to_string()).collect();
    let history: Vec<String> =
        ids.iter().map(|_| r#"{"created":"2024-01-01T00:00:00Z","created_by":"ADD rootfs"}"#.to_string()).collect();
    format!(
        r#"{{"architecture":"amd64","os":"linux","created":"2024-01-02T03:04:05Z","config":{{"Cmd":["{cmd}"],"Labels":{{"l":"v"}}}},"rootfs":{{"type":"layers","diff_ids":{ids:?}}},"history":[{},{{"created_by":"CMD","empty_layer":true}}]}}"#,
        history.join(",")
    )
    .into_bytes()
}

fn layer1() -> Vec<u8> {
    tar_of(&[
        Entry::dir("bin/"),
        Entry::file("bin/sh", b"#!shell").mode(0o755),
        Entry::file("etc/gone", b"x"),
        Entry::dir("var/"),
    ])
}

fn layer2() -> Vec<u8> {
    tar_of(&[Entry::file("etc/.wh.gone", b""), Entry::file("var/.wh..wh..opq", b""), Entry::file("etc/new", b"new")])
}

/// A legacy `docker save` archive of one two-layer image; the second image reuses layer 1
/// through a symlink, as `docker save` writes duplicates.
fn legacy_archive() -> (Vec<u8>, Digest) {
    let (l1, l2) = (layer1(), layer2());
    let config = config_for(&[&l1, &l2], "sh");
    let id = Digest::of(&config);
    let config_b = config_for(&[&l1], "other");
    let manifest = format!(
        r#"[{{"Config":"{0}.json","RepoTags":["busybox:latest","busybox:1"],"Layers":["aaa/layer.tar","bbb/layer.tar"]}},
            {{"Config":"{1}.json","RepoTags":null,"Layers":["ccc/layer.tar"]}}]"#,
        id.hex(),
        Digest::of(&config_b).hex()
    );
    let tar = archive_of(&[
        ("aaa/layer.tar", &l1),
        ("aaa/VERSION", b"1.0"),
        ("bbb/layer.tar", &l2),
        ("@ccc/layer.tar", b"../aaa/layer.tar"),
        (&format!("{}.json", id.hex()), &config),
        (&format!("{}.json", Digest::of(&config_b).hex()), &config_b),
        ("repositories", br#"{"busybox":{"latest":"bbb"}}"#),
        ("manifest.json", manifest.as_bytes()),
    ]);
    (tar, id)
}

fn blob(files: &mut Vec<(String, Vec<u8>)>, data: &[u8]) -> Digest {
    let d = Digest::of(data);
    files.push((format!("blobs/sha256/{}", d.hex()), data.to_vec()));
    d
}

fn desc(media: &str, data: &[u8]) -> String {
    format!(r#"{{"mediaType":"{media}","digest":"{}","size":{}}}"#, Digest::of(data), data.len())
}

/// An OCI layout: index.json → nested index (arm64 + amd64 + attestation) → amd64 manifest
/// with a gzip and a zstd layer. `name` is the ref.name annotation.
fn oci_archive(name_annotations: &str) -> (Vec<u8>, Digest) {
    let (l1, l2) = (layer1(), layer2());
    let (g1, z2) = (gzip(&l1), zstd(&l2));
    let config = config_for(&[&l1, &l2], "oci");
    let mut files = Vec::new();
    blob(&mut files, &g1);
    blob(&mut files, &z2);
    blob(&mut files, &config);
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","config":{},"layers":[{},{}]}}"#,
        oci::media::OCI_MANIFEST,
        desc(oci::media::OCI_CONFIG, &config),
        desc(oci::media::OCI_LAYER_GZIP, &g1),
        desc(oci::media::OCI_LAYER_ZSTD, &z2)
    );
    blob(&mut files, manifest.as_bytes());
    let arm = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"x","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":1},"layers":[]}"#;
    blob(&mut files, arm.as_bytes());
    let nested = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[
            {{"mediaType":"{m}","digest":"{}","size":{},"platform":{{"architecture":"arm64","os":"linux"}}}},
            {{"mediaType":"{m}","digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
        oci::media::OCI_INDEX,
        Digest::of(arm.as_bytes()),
        arm.len(),
        Digest::of(manifest.as_bytes()),
        manifest.len(),
        m = oci::media::OCI_MANIFEST
    );
    blob(&mut files, nested.as_bytes());
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{}","digest":"{}","size":{},"annotations":{{{name_annotations}}}}}]}}"#,
        oci::media::OCI_INDEX,
        Digest::of(nested.as_bytes()),
        nested.len()
    );
    files.push(("index.json".into(), index.into_bytes()));
    files.push(("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()));
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, d)| (p.as_str(), d.as_slice())).collect();
    (archive_of(&refs), Digest::of(&config))
}

fn check_layers(store: &ImageStore, id: &Digest) {
    let dirs = store.layers(id).unwrap();
    assert_eq!(dirs.len(), 2);
    assert_eq!(fs::read(dirs[0].join("bin/sh")).unwrap(), b"#!shell");
    let wh = fs::symlink_metadata(dirs[1].join("etc/gone")).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_char_device(&wh.file_type()));
    let mut buf = [0u8; 1];
    assert!(rustix::fs::getxattr(dirs[1].join("var").as_path(), crate::unpack::OPAQUE_XATTR, &mut buf[..]).is_ok());
}

#[test]
fn loads_legacy_docker_save_from_a_pipe() {
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let (tar, id) = legacy_archive();
    let loaded = store.load(Trickle(&tar)).unwrap();
    assert_eq!(loaded.len(), 2);
    assert_eq!(loaded[0].id, id);
    assert_eq!(loaded[0].messages(), ["Loaded image: busybox:latest", "Loaded image: busybox:1"]);
    assert_eq!(loaded[1].messages(), [format!("Loaded image ID: {}", loaded[1].id)]);
    check_layers(&store, &id);
    let img = store.resolve("busybox").unwrap();
    assert_eq!(img.id, id);
    assert_eq!(img.repo_tags, ["busybox:1", "busybox:latest"]);
    assert_eq!(img.size, 7 + 1 + 3);
    // The untagged image shares layer 1 (same chain ID, one directory).
    assert_eq!(store.layers(&loaded[1].id).unwrap()[0], store.layers(&id).unwrap()[0]);
    assert_eq!(fs::read_dir(root.path().join("layers")).unwrap().count(), 2);
}

#[test]
fn loading_twice_is_idempotent_and_reports_moved_tags() {
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let (tar, id) = legacy_archive();
    store.load(&tar[..]).unwrap();
    let count = |d: &str| fs::read_dir(root.path().join(d)).unwrap().count();
    let before = (count("blobs/sha256"), count("layers"), count("images"));
    let again = store.load(&tar[..]).unwrap();
    assert!(again[0].replaced.is_empty());
    assert_eq!((count("blobs/sha256"), count("layers"), count("images")), before);
    assert_eq!(store.resolve("busybox:1").unwrap().id, id);

    // Another image taking the tag: Docker's rename message.
    let (oci, oci_id) = oci_archive(r#""io.containerd.image.name":"docker.io/library/busybox:latest""#);
    let loaded = store.load(&oci[..]).unwrap();
    assert_eq!(
        loaded[0].messages(),
        [
            format!("The image busybox:latest already exists, renaming the old one with ID {id} to empty string"),
            "Loaded image: busybox:latest".into()
        ]
    );
    assert_eq!(store.resolve("busybox").unwrap().id, oci_id);
}

#[test]
fn loads_oci_layout_with_nested_index_and_compressed_layers() {
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let (tar, id) = oci_archive(r#""org.opencontainers.image.ref.name":"example.com/app:v1""#);
    let loaded = store.load(Trickle(&tar)).unwrap();
    assert_eq!(loaded[0].id, id);
    assert_eq!(loaded[0].messages(), ["Loaded image: example.com/app:v1"]);
    check_layers(&store, &id);
    let img = store.resolve("example.com/app:v1").unwrap();
    assert_eq!(img.config.labels().get("l").map(String::as_str), Some("v"));

    // A bare tag names no repository: the image is loaded untagged.
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let (tar, id) = oci_archive(r#""org.opencontainers.image.ref.name":"latest""#);
    assert_eq!(store.load(&tar[..]).unwrap()[0].messages(), [format!("Loaded image ID: {id}")]);
}

#[test]
fn save_then_load_reproduces_ids_and_layers() {
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let (tar, id) = oci_archive(r#""io.containerd.image.name":"docker.io/library/app:1""#);
    store.load(&tar[..]).unwrap();
    store.tag("app:1", "app:2").unwrap();
    let mut saved = Vec::new();
    store.save(&["app".to_string()], &mut saved).unwrap();

    let names: Vec<String> = tar::Archive::new(&saved[..])
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    for n in ["index.json", "manifest.json", "oci-layout", "repositories"] {
        assert!(names.contains(&n.to_string()), "{n} missing from {names:?}");
    }
    let other = tempfile::tempdir().unwrap();
    let store2 = ImageStore::open(other.path()).unwrap();
    let loaded = store2.load(Trickle(&saved)).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].id, id);
    let mut tags: Vec<String> = loaded[0].tags.iter().map(Reference::familiar).collect();
    tags.sort();
    assert_eq!(tags, ["app:1", "app:2"]);
    let (a, b) = (store.resolve("app:1").unwrap(), store2.resolve("app:2").unwrap());
    assert_eq!((a.id, a.chain_ids, a.manifest), (b.id, b.chain_ids, b.manifest));
    check_layers(&store2, &id);

    // The Docker 25 layout also loads through index.json alone (manifest.json removed).
    let mut files = Vec::new();
    for e in tar::Archive::new(&saved[..]).entries().unwrap() {
        let mut e = e.unwrap();
        let p = e.path().unwrap().display().to_string();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        if p != "manifest.json" && !p.ends_with('/') {
            files.push((p, data));
        }
    }
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, d)| (p.as_str(), d.as_slice())).collect();
    let third = tempfile::tempdir().unwrap();
    let store3 = ImageStore::open(third.path()).unwrap();
    assert_eq!(store3.load(&archive_of(&refs)[..]).unwrap()[0].id, id);
    assert_eq!(store3.resolve("app:2").unwrap().id, id);
}

#[test]
fn save_by_id_has_no_tags() {
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let (tar, id) = legacy_archive();
    store.load(&tar[..]).unwrap();
    let mut saved = Vec::new();
    store.save(&[id.short().to_string()], &mut saved).unwrap();
    let other = tempfile::tempdir().unwrap();
    let loaded = ImageStore::open(other.path()).unwrap().load(&saved[..]).unwrap();
    assert_eq!((loaded[0].id.clone(), loaded[0].tags.len()), (id, 0));
    let err = store.save(&["nope".into()], &mut Vec::new()).unwrap_err();
    assert_eq!(err.to_string(), "No such image: nope:latest");
}

#[test]
fn rejects_bad_archives_without_leaving_images_or_layer_dirs() {
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let no_layer_dirs = || fs::read_dir(root.path().join("layers")).unwrap().count() == 0;

    // Diff ID mismatch: the config claims other content.
    let l1 = layer1();
    let config = config_for(&[b"something else"], "sh");
    let manifest = r#"[{"Config":"c.json","RepoTags":["bad:1"],"Layers":["l/layer.tar"]}]"#;
    let tar = archive_of(&[("l/layer.tar", &l1), ("c.json", &config), ("manifest.json", manifest.as_bytes())]);
    let err = store.load(&tar[..]).unwrap_err();
    assert!(matches!(err, ImageError::DiffIdMismatch { .. }), "{err}");
    assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);

    // A layer that escapes.
    let evil = tar_of(&[Entry::file("ok", b"fine"), Entry::symlink("up", "../../../etc")]);
    let config = config_for(&[&evil], "sh");
    let tar = archive_of(&[("l/layer.tar", &evil), ("c.json", &config), ("manifest.json", manifest.as_bytes())]);
    let err = store.load(&tar[..]).unwrap_err();
    assert!(
        matches!(err, ImageError::Layer(crate::layer::LayerError::Unpack(UnpackError::UnsafePath { .. }))),
        "{err}"
    );
    assert!(err.to_string().contains("up"), "{err}");

    // Truncated archive, corrupt blob digest, no manifest.
    let (good, _) = legacy_archive();
    let err = store.load(&good[..good.len() / 2]).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument, "{err:?}");
    let fake = format!("blobs/sha256/{}", Digest::of(b"other").hex());
    let err = store.load(&archive_of(&[(&fake, b"data"), ("index.json", b"{}")])[..]).unwrap_err();
    assert!(matches!(err, ImageError::Content(crate::content::ContentError::DigestMismatch { .. })), "{err}");
    assert!(matches!(store.load(&archive_of(&[("x", b"y")])[..]).unwrap_err(), ImageError::NoManifest));

    assert!(store.list().is_empty());
    assert!(no_layer_dirs());
    assert_eq!(fs::read_dir(root.path().join("images")).unwrap().count(), 0);
}

use crate::unpack::UnpackError;

#[test]
fn a_stored_layer_is_checked_against_the_archives_blob() {
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let (tar, _) = legacy_archive();
    store.load(&tar[..]).unwrap();
    let (l1, l2) = (layer1(), layer2());
    let config = config_for(&[&l1], "liar");

    // Layer 1's chain is stored; the archive's blob for it (layer 2's tar) is unpacked while
    // streaming and found to be other content.
    let manifest = r#"[{"Config":"c.json","RepoTags":["liar:1"],"Layers":["l/layer.tar"]}]"#;
    let tar = archive_of(&[("l/layer.tar", &l2), ("c.json", &config), ("manifest.json", manifest.as_bytes())]);
    let err = store.load(&tar[..]).unwrap_err();
    assert!(matches!(err, ImageError::DiffIdMismatch { .. }), "{err}");

    // The same with a blob the store already holds (named by digest, so not read again from
    // the archive): its uncompressed digest is computed from the store.
    let mut files = Vec::new();
    blob(&mut files, &config);
    blob(&mut files, &l2);
    let manifest = format!(
        r#"[{{"Config":"blobs/sha256/{}","RepoTags":["liar:2"],"Layers":["blobs/sha256/{}"]}}]"#,
        Digest::of(&config).hex(),
        Digest::of(&l2).hex()
    );
    assert!(store.content.exists(&Digest::of(&l2)), "layer 2's blob is stored by the first load");
    files.push(("manifest.json".into(), manifest.into_bytes()));
    let entries: Vec<(&str, &[u8])> = files.iter().map(|(p, d)| (p.as_str(), d.as_slice())).collect();
    let err = store.load(&archive_of(&entries)[..]).unwrap_err();
    assert!(matches!(err, ImageError::DiffIdMismatch { .. }), "{err}");
    assert!(store.resolve("liar:1").is_err() && store.resolve("liar:2").is_err());

    // The honest archive still loads against the stored layer.
    let manifest = r#"[{"Config":"c.json","RepoTags":["honest:1"],"Layers":["l/layer.tar"]}]"#;
    let tar = archive_of(&[("l/layer.tar", &l1), ("c.json", &config), ("manifest.json", manifest.as_bytes())]);
    store.load(&tar[..]).unwrap();
    assert!(store.resolve("honest:1").is_ok());
}

/// Names in a store directory, temp files included.
fn names(root: &std::path::Path, dir: &str) -> Vec<String> {
    let mut v: Vec<String> =
        fs::read_dir(root.join(dir)).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn metadata_too_large_is_refused_by_name_and_leaves_nothing() {
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let l1 = layer1();
    let config = config_for(&[&l1], "sh");
    let manifest = r#"[{"Config":"c.json","RepoTags":["big:1"],"Layers":["l/layer.tar"]}]"#;
    // Not a layer (no tar header, not compressed), not a blob: it could only be metadata.
    let huge = vec![b'{'; MAX_DOCUMENT as usize + 1];
    let tar = archive_of(&[
        ("l/layer.tar", &l1),
        ("c.json", &config),
        ("junk.json", &huge),
        ("manifest.json", manifest.as_bytes()),
    ]);
    let err = store.load(&tar[..]).unwrap_err();
    assert!(matches!(err, ImageError::NotMetadata { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "invalid archive: \"junk.json\" is {} bytes and not a layer: image metadata (manifests, indexes, configs) is at most 8 MiB",
            huge.len()
        )
    );
    assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
    // The layer streamed before the refusal is gone again: its blob and its staged directory.
    assert!(names(root.path(), "blobs/sha256").is_empty(), "{:?}", names(root.path(), "blobs/sha256"));
    assert!(names(root.path(), "layers").is_empty());
    assert!(store.list().is_empty());
}

#[test]
fn too_many_metadata_files_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let doc = vec![b' '; 4 << 20];
    let names: Vec<String> = (0..10).map(|i| format!("f{i}.json")).collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), doc.as_slice())).collect();
    let err = store.load(&archive_of(&files)[..]).unwrap_err();
    assert!(matches!(err, ImageError::ArchiveTooLarge { .. }), "{err}");
    assert!(err.to_string().contains("\"f7.json\""), "{err}");
    // Many tiny entries add up too.
    let names: Vec<String> = (0..300_000).map(|i| format!("d/{i:0>60}")).collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    let err = store.load(&archive_of(&files)[..]).unwrap_err();
    assert!(matches!(err, ImageError::ArchiveTooLarge { .. }), "{err}");
}

#[test]
fn a_blob_named_as_config_is_read_back_bounded() {
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    // A big blob (an artifact, say) is fine in an OCI layout; used as a config it is refused.
    let big = vec![b' '; MAX_DOCUMENT as usize + 10];
    let mut files = Vec::new();
    let d = blob(&mut files, &big);
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","digest":"{d}","size":{}}},"layers":[]}}"#,
        oci::media::OCI_MANIFEST,
        oci::media::OCI_CONFIG,
        big.len()
    );
    blob(&mut files, manifest.as_bytes());
    let index =
        format!(r#"{{"schemaVersion":2,"manifests":[{}]}}"#, desc(oci::media::OCI_MANIFEST, manifest.as_bytes()));
    files.push(("index.json".into(), index.into_bytes()));
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, d)| (p.as_str(), d.as_slice())).collect();
    let err = store.load(&archive_of(&refs)[..]).unwrap_err();
    assert!(matches!(err, ImageError::NotMetadata { .. }), "{err}");
    assert!(err.to_string().contains(d.hex()), "{err}");
    assert!(names(root.path(), "blobs/sha256").is_empty());
}

#[test]
fn blobs_no_image_needs_are_not_kept() {
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    // The OCI archive has an arm64 manifest (and its index) next to the amd64 image.
    let (tar, id) = oci_archive(r#""io.containerd.image.name":"example.com/app:v1""#);
    store.load(&tar[..]).unwrap();
    let img = store.resolve(&id.to_string()).unwrap();
    let want: Vec<String> = vec![id.hex().to_owned(), img.manifest.hex().to_owned()];
    let blobs = names(root.path(), "blobs/sha256");
    // Config, manifest, two layer blobs: nothing else.
    assert_eq!(blobs.len(), 4, "{blobs:?}");
    assert!(want.iter().all(|w| blobs.contains(w)), "{blobs:?}");
}
