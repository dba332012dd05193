#!/bin/bash
# Image import and load of a ~300 MB root filesystem: `import` of the tar, berth vs docker, with
# `tar -x` of the same tar as the floor; then `load` of a `save`d archive of that image (docker's
# save, untimed; both engines load the same file), berth vs docker. Caches stay warm; before each
# timed step `sync` flushes the previous step's dirty pages, the image is removed between runs,
# and engines take turns, ROUNDS times; medians. Target: berth <= 1/3 of docker's time for each.
#
# The rootfs: the busybox rootfs plus regular files copied from the host's /usr/lib and
# /usr/share (in path order) up to SIZE_MB.
#
# Usage (root): benches/import-load.sh        ROUNDS=5 SIZE_MB=300 benches/import-load.sh
# Prints results on stdout; exits 0 whether targets pass or fail (2 if it could not measure).
set -uo pipefail
# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
SIZE_MB=${SIZE_MB:-300}

bench_init import-load
make_busybox_tar
bbtar=$BUSYBOX_TAR

log "building a ${SIZE_MB} MB rootfs tar"
big=$WORK/rootfs
mkdir -p "$big"
tar -xf "$bbtar" -C "$big" || die "unpacking busybox failed"
(cd / && find usr/lib usr/share -xdev -type f -size -32M -printf '%s %p\n' 2>/dev/null) | sort -k2 |
    awk -v max=$((SIZE_MB * 1000 * 1000)) '{ s += $1 + 512; if (s > max) exit; sub(/^[0-9]+ /, ""); print }' >"$WORK/files.txt"
tar -C / -cf - --no-recursion -T "$WORK/files.txt" | tar -C "$big" -xf - || die "copying host files failed"
tar --numeric-owner -C "$big" -cf "$WORK/rootfs.tar" . || die "making rootfs.tar failed"
rm -rf "$big"
tar_mb=$(($(stat -c %s "$WORK/rootfs.tar") / 1000000))
nfiles=$(tar -tf "$WORK/rootfs.tar" | wc -l)
log "rootfs.tar: $tar_mb MB, $nfiles entries"

# STORAGE=tmpfs (default): both engines keep their state on a tmpfs, so the comparison is of
# the engines, not of the disk (on these machines creating a file on ext4 costs 40-800 µs and
# varies fivefold between runs). STORAGE=disk: on the disk under $WORK.
STORAGE=${STORAGE:-tmpfs}
floor_dir=$WORK/x
if [ "$STORAGE" = tmpfs ]; then
    for sub in berth docker; do
        mkdir -p "$WORK/$sub"
        mount -t tmpfs -o size=6g tmpfs "$WORK/$sub" || die "mounting a tmpfs on $WORK/$sub failed"
        on_exit "umount -l $WORK/$sub"
    done
    floor_dir=$WORK/berth/floor
    DOCKER_PRIVATE=1
fi
log "storage: $STORAGE"

start_berth
start_docker
ref=${PREFIX}big:latest
on_exit "dk rmi -f $ref >/dev/null 2>&1"

# timed LABEL CMD...: syncs, runs CMD, appends its wall time in seconds to times[LABEL].
declare -A times
timed() {
    local label=$1 t0 t
    shift
    sync
    t0=$(now)
    "$@" >"$WORK/out" 2>&1 || { cat "$WORK/out" >&2; die "$label failed: $*"; }
    t=$(elapsed "$t0")
    times[$label]+="$t "
    log "$label: ${t}s"
}
floor() { rm -rf "$floor_dir" && mkdir "$floor_dir" && tar -xf "$1" -C "$floor_dir"; }
bx_gone() { bx rmi "$ref" >/dev/null; }
dk_gone() { dk rmi "$ref" >/dev/null; }

for _ in $(seq "$ROUNDS"); do
    timed "berth import" bx import "$WORK/rootfs.tar" "$ref"
    bx_gone
    timed "docker import" dk import "$WORK/rootfs.tar" "$ref"
    dk_gone
    timed "tar -x (floor)" floor "$WORK/rootfs.tar"
    rm -rf "$floor_dir"
done

# One archive for both loads: docker's `save` of the imported image (untimed).
dk import "$WORK/rootfs.tar" "$ref" >/dev/null || die "docker import failed"
dk save -o "$WORK/saved.tar" "$ref" || die "docker save failed"
dk_gone
for _ in $(seq "$ROUNDS"); do
    timed "berth load" bx load -i "$WORK/saved.tar"
    bx_gone
    timed "docker load" dk load -i "$WORK/saved.tar"
    dk_gone
done

declare -A med
echo "== import-load: ${tar_mb} MB rootfs tar ($nfiles entries), median of $ROUNDS runs, seconds"
printf '%-22s %10s   %s\n' step median_s "all runs"
for k in "berth import" "docker import" "tar -x (floor)" "berth load" "docker load"; do
    med[$k]=$(median_of "${times[$k]}")
    printf '%-22s %10.3f   %s\n' "$k" "${med[$k]}" "${times[$k]}"
done
echo
target_line "berth/docker import" "$(ratio "${med[berth import]}" "${med[docker import]}")" 0.333
target_line "berth/docker load" "$(ratio "${med[berth load]}" "${med[docker load]}")" 0.333
printf '%-34s %9s   (information)\n' "berth import / tar -x" "$(ratio "${med[berth import]}" "${med[tar -x (floor)]}")"
printf '%-34s %9s   (information)\n' "docker import / tar -x" "$(ratio "${med[docker import]}" "${med[tar -x (floor)]}")"
printf '%-34s %9s   (information)\n' "berth load / tar -x" "$(ratio "${med[berth load]}" "${med[tar -x (floor)]}")"
exit 0
