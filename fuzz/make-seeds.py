#!/usr/bin/env python3
"""Writes the binary seeds of fuzz/corpus (tars, archives, DNS messages); the text seeds are
written by hand. Run from anywhere: `python3 fuzz/make-seeds.py`. Deterministic (fixed mtimes)."""
import hashlib, io, json, os, struct, tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
C = os.path.join(HERE, "corpus")


def tar(entries, fmt=tarfile.GNU_FORMAT):
    """entries: (name, kind, data_or_target, extra dict)."""
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=fmt) as t:
        for name, kind, data, extra in entries:
            i = tarfile.TarInfo(name)
            i.mtime = 1700000000
            i.mode = extra.get("mode", 0o644)
            i.uid = extra.get("uid", 0)
            i.gid = extra.get("gid", 0)
            if "pax" in extra:
                i.pax_headers = extra["pax"]
            if kind == "dir":
                i.type = tarfile.DIRTYPE
                i.mode = extra.get("mode", 0o755)
                t.addfile(i)
            elif kind == "file":
                i.size = len(data)
                t.addfile(i, io.BytesIO(data))
            elif kind == "sym":
                i.type = tarfile.SYMTYPE
                i.linkname = data
                t.addfile(i)
            elif kind == "hard":
                i.type = tarfile.LNKTYPE
                i.linkname = data
                t.addfile(i)
            elif kind == "chr":
                i.type = tarfile.CHRTYPE
                i.devmajor, i.devminor = data
                t.addfile(i)
            elif kind == "fifo":
                i.type = tarfile.FIFOTYPE
                t.addfile(i)
    # Without tarfile's padding to 10 KiB: the entries and the two zero blocks that end a tar.
    data = b.getvalue().rstrip(b"\0")
    return data + bytes(-len(data) % 512 + 1024)


def f(name, data=b"", **extra):
    return (name, "file", data, extra)


def d(name, **extra):
    return (name, "dir", None, extra)


def write(target, name, data):
    with open(os.path.join(C, target, name), "wb") as out:
        out.write(data)


def num12(v):
    """A 12-byte tar number: octal, or GNU base-256 past 8 GiB."""
    if v < 1 << 33:
        return b"%011o\0" % v
    return b"\x80\0\0\0" + struct.pack(">Q", v)


def sparse_tar(real=4096):
    """A GNU sparse file ('S') of `real` bytes: one 512-byte extent at the end."""
    h = bytearray(512)
    h[0:6] = b"sparse"
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"00000001000\0"  # stored size 512
    h[136:148] = b"14524000000\0"
    h[156:157] = b"S"
    h[257:265] = b"ustar  \0"
    # first sparse entry at 386: offset 3584, length 512
    h[386:398] = num12(real - 512)
    h[398:410] = num12(512)
    h[483:495] = num12(real)
    h[148:156] = b"        "
    h[148:156] = ("%06o\0 " % sum(h)).encode()
    return bytes(h) + b"x" * 512 + bytes(1024)


def unpack_seeds():
    write("unpack", "plain.tar", tar([d("bin/"), f("bin/sh", b"#!shell", mode=0o755), ("bin/link", "sym", "sh", {}),
                                       ("bin/hard", "hard", "bin/sh", {}), f("etc/passwd", b"root:x:0:0::/:/bin/sh\n")]))
    write("unpack", "whiteouts.tar", tar([d("etc/"), f("etc/.wh.gone"), d("var/"), f("var/.wh..wh..opq"),
                                           f(".wh..wh.plnk/1", b"aufs")]))
    write("unpack", "dotdot.tar", tar([f("ok", b"fine"), f("../escaped", b"x"), f("a/../../escaped2", b"x")]))
    write("unpack", "through-symlink.tar", tar([("out", "sym", "../../../outside", {}), f("out/secret", b"pwned"),
                                                 ("up", "sym", "..", {}), f("up/up/x", b"x")]))
    write("unpack", "absolute-symlink.tar", tar([("abs", "sym", "/", {}), f("abs/tmp/berth-escape", b"x"),
                                                  ("etc", "sym", "/etc", {}), f("etc/secret", b"x")]))
    write("unpack", "hardlink-out.tar", tar([("h", "hard", "../../../outside/secret", {}),
                                              ("h2", "hard", "/etc/passwd", {}), ("h3", "hard", "missing", {})]))
    write("unpack", "pax-xattrs.tar", tar([f("x", b"data", pax={"SCHILY.xattr.trusted.overlay.redirect": "/etc",
                                                                  "SCHILY.xattr.user.note": "hi", "mtime": "1.5"}),
                                            d("dir/", pax={"SCHILY.xattr.trusted.overlay.opaque": "y"})],
                                           tarfile.PAX_FORMAT))
    write("unpack", "long-names.tar", tar([f("d/" * 80 + "file", b"long"), ("l", "sym", "t/" * 80 + "target", {})]))
    write("unpack", "devices.tar", tar([("null", "chr", (1, 3), {}), ("fifo", "fifo", None, {}),
                                         f("setuid", b"x", mode=0o4755, uid=1000, gid=1000)]))
    write("unpack", "replace.tar", tar([d("a/"), f("a/f", b"1"), f("a", b"file replaces dir"), d("a/"),
                                         ("s", "sym", "a", {}), d("s/")]))
    write("unpack", "sparse.tar", sparse_tar())
    # Regression: 2 KiB that asked for a petabyte of zeros (now holes, and refused past 16 GiB).
    write("unpack", "regress-sparse-petabyte.tar", sparse_tar(1 << 50))


def sha(b):
    return hashlib.sha256(b).hexdigest()


def archive(files):
    return tar([f(n, data) for n, data in files])


def config(diff_ids):
    return json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"], "Env": ["A=1"]},
                       "rootfs": {"type": "layers", "diff_ids": ["sha256:" + x for x in diff_ids]},
                       "history": [{"created_by": "ADD"}]}, separators=(",", ":")).encode()


def load_seeds():
    layer = tar([d("bin/"), f("bin/sh", b"#!", mode=0o755), f("etc/.wh.x")])
    cfg = config([sha(layer)])
    cid = sha(cfg)
    legacy = [("aaaa/layer.tar", layer), ("aaaa/VERSION", b"1.0"), (cid + ".json", cfg),
              ("repositories", b'{"busybox":{"latest":"aaaa"}}'),
              ("manifest.json", json.dumps([{"Config": cid + ".json", "RepoTags": ["busybox:latest"],
                                             "Layers": ["aaaa/layer.tar"]}]).encode())]
    write("load", "legacy-docker-save.tar", archive(legacy))

    def blob(files, data):
        files.append(("blobs/sha256/" + sha(data), data))
        return {"digest": "sha256:" + sha(data), "size": len(data)}

    files = []
    lb = blob(files, layer)
    cb = blob(files, cfg)
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": dict(cb, mediaType="application/vnd.oci.image.config.v1+json"),
                      "layers": [dict(lb, mediaType="application/vnd.oci.image.layer.v1.tar")]}).encode()
    mb = blob(files, man)
    nested = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        dict(mb, mediaType="application/vnd.oci.image.manifest.v1+json",
             platform={"architecture": "amd64", "os": "linux"}),
        dict(mb, mediaType="application/vnd.oci.image.manifest.v1+json",
             annotations={"vnd.docker.reference.type": "attestation-manifest"},
             platform={"architecture": "unknown", "os": "unknown"})]}).encode()
    nb = blob(files, nested)
    index = json.dumps({"schemaVersion": 2, "manifests": [
        dict(nb, mediaType="application/vnd.oci.image.index.v1+json",
             annotations={"io.containerd.image.name": "docker.io/library/app:1",
                          "org.opencontainers.image.ref.name": "1"})]}).encode()
    oci = files + [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)]
    write("load", "oci-nested-index.tar", archive(oci))
    docker25 = files + [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index),
                        ("manifest.json", json.dumps([{"Config": "blobs/sha256/" + sha(cfg), "RepoTags": ["app:1"],
                                                       "Layers": ["blobs/sha256/" + sha(layer)]}]).encode())]
    write("load", "docker25-save.tar", archive(docker25))
    write("load", "symlinked-layer.tar", tar([f("aaaa/layer.tar", layer), ("bbbb/layer.tar", "sym", "../aaaa/layer.tar", {}),
                                              f(cid + ".json", cfg), f("manifest.json", json.dumps(
                                                  [{"Config": cid + ".json", "RepoTags": None,
                                                    "Layers": ["bbbb/layer.tar"]}]).encode())]))


def name(n):
    return b"".join(bytes([len(p)]) + p.encode() for p in n.split(".") if p) + b"\0"


def query(qid, n, qtype, edns=None, flags=0x0100):
    q = struct.pack(">HHHHHH", qid, flags, 1, 0, 0, 1 if edns else 0) + name(n) + struct.pack(">HH", qtype, 1)
    if edns:
        q += b"\0" + struct.pack(">HHIH", 41, edns, 0, 0)
    return q


def dns_seeds():
    write("dns", "a-web.bin", query(1, "web", 1))
    write("dns", "aaaa-web.bin", query(2, "web.net1", 28))
    write("dns", "a-many-edns.bin", query(3, "many", 1, edns=4096))
    write("dns", "a-many-udp.bin", query(4, "many", 1))
    write("dns", "ptr.bin", query(5, "2.0.17.172.in-addr.arpa", 12))
    write("dns", "ptr-long-name.bin", query(6, "9.0.17.172.in-addr.arpa", 12))
    write("dns", "forwarded.bin", query(7, "example.org", 1, edns=1232))
    # A question whose name is a compression pointer to itself: must not loop.
    write("dns", "pointer-loop.bin", struct.pack(">HHHHHH", 8, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c" + struct.pack(">HH", 1, 1))
    # An upstream reply with one answer (also read as a query: QR set, dropped).
    write("dns", "reply.bin", struct.pack(">HHHHHH", 0x1234, 0x8180, 1, 1, 0, 0) + name("example.org") +
          struct.pack(">HH", 1, 1) + b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([93, 184, 216, 34]))


def regressions():
    # A PAX header that claims 1 GiB (the tar crate read such headers whole into memory).
    h = bytearray(tar([f("x", b"")])[:512])
    h[0:100] = b"PaxHeaders/x".ljust(100, b"\0")
    h[124:136] = num12(1 << 30)
    h[156:157] = b"x"
    h[148:156] = b"        "
    h[148:156] = ("%06o\0 " % sum(h)).encode()
    write("load", "regress-huge-pax-header.tar", bytes(h) + b"30 path=aaaaaaaaaaaaaaaaaaaaa\n" + bytes(1024))
    write("unpack", "regress-huge-pax-header.tar", bytes(h) + b"30 path=aaaaaaaaaaaaaaaaaaaaa\n" + bytes(1024))
    # 1500 assignments, then 1500 jobs: each job used to get its own copy of the environment.
    text = "".join("V%d=x\n" % i for i in range(1500)) + "@reboot root true\n" * 1500
    with open(os.path.join(C, "cron", "regress-environment-per-job"), "w") as out:
        out.write(text)


unpack_seeds()
load_seeds()
dns_seeds()
regressions()
