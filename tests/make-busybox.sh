#!/bin/sh
# Builds a busybox root filesystem tarball from Debian's busybox-static, for tests, the demo and
# benchmarks: `tests/make-busybox.sh OUT.tar`. No registry needed; import it with
# `berth import OUT.tar busybox:latest -c 'CMD ["sh"]'`.
set -eu
out=${1:?usage: make-busybox.sh OUT.tar}
bb=/bin/busybox
if ! file -L "$bb" 2>/dev/null | grep -q 'statically linked'; then
    echo "make-busybox.sh: $bb is not Debian's static busybox (apt-get install busybox-static)" >&2
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/rootfs
mkdir -p "$root/bin" "$root/etc" "$root/root" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/home" "$root/var/www"
cp "$bb" "$root/bin/busybox"
for applet in $("$bb" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
chmod 1777 "$root/tmp"
cat > "$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
P
cat > "$root/etc/group" <<'G'
root:x:0:
daemon:x:1:
tty:x:5:
users:x:100:
www-data:x:33:
nogroup:x:65534:
G
# Reproducible: fixed owners and times, sorted entries.
tar --numeric-owner --owner=0 --group=0 --mtime='2024-01-01 00:00:00' --sort=name -C "$root" -cf "$out" .
