#!/bin/sh
# berth's main job on a fresh machine: install what's needed, build, start a daemon, make a
# busybox image from Debian's busybox-static and run a container. As root.
# Leaves the daemon running (socket /run/berth/berth.sock). Where systemd runs, the daemon is the
# berth.service unit (with berth.socket, from resources/systemd; `systemctl stop berth`, logs in
# `journalctl -u berth`); elsewhere a background process logging to /var/log/berth.log (stop it
# with `kill $(pidof berth)`, or `pkill -f 'berth daemon'`).
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
cargo build --release --locked
berth=target/x86_64-unknown-linux-gnu/release/berth
install -m 0755 "$berth" /usr/local/bin/berth
if [ -d /run/systemd/system ]; then
    # The socket's group, as docker's package makes it (members may use the API: root on this host).
    getent group docker >/dev/null 2>&1 || groupadd --system docker
    install -m 0644 resources/systemd/berth.service resources/systemd/berth.socket /etc/systemd/system/
    systemctl daemon-reload
    systemctl enable berth.socket berth.service >/dev/null 2>&1
    if systemctl is-active --quiet berth.service; then
        # A new binary: the daemon restarts, its containers keep running (KillMode=process).
        systemctl restart berth.service
    elif ! berth version >/dev/null 2>&1; then
        systemctl start berth.socket berth.service
    else
        echo "a berth daemon runs outside systemd: it is kept; berth.service starts at the next boot" >&2
    fi
    log="journalctl -u berth.service"
elif ! berth version >/dev/null 2>&1; then
    mkdir -p /var/log
    nohup berth daemon >/var/log/berth.log 2>&1 &
    log=/var/log/berth.log
fi
i=0
until berth version >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 100 ] || { echo "the daemon did not start; see ${log:-its log}" >&2; exit 1; }
    sleep 0.1
done
if ! berth image inspect busybox >/dev/null 2>&1; then
    tar=$(mktemp)
    sh tests/make-busybox.sh "$tar"
    berth import "$tar" busybox:latest -c 'CMD ["sh"]'
    rm -f "$tar"
fi
berth run --rm busybox sh -c 'echo "hello from a berth container: $(hostname), pid $$, $(uname -r), address $(hostname -i)"'
# A web server on a published port (a free one the kernel picks, on 127.0.0.1 only).
berth rm -f berth-demo-web >/dev/null 2>&1 || true
berth run -d --name berth-demo-web -p 127.0.0.1::80 busybox \
    sh -c 'echo "hello over a published port" > /var/www/index.html; exec httpd -f -h /var/www' >/dev/null
port=$(berth port berth-demo-web 80/tcp)
i=0
until body=$(curl -fsS "http://$port/" 2>/dev/null); do
    i=$((i + 1))
    [ $i -lt 50 ] || break
    sleep 0.1
done
echo "curl http://$port/: $body"
berth rm -f berth-demo-web >/dev/null
echo "try: berth run -it --rm busybox      (docker -H unix:///run/berth/berth.sock works too)"
