#!/usr/bin/env bash
# The test PACS: Orthanc from tests/studies/orthanc.json (HTTP 18042, DICOM 18043, loopback HTTP
# only, no system service), its storage thrown away on every start. Installs the Debian packages
# (orthanc, orthanc-dicomweb, and dicom3tools for dciodvfy) when missing.
#   .ci/orthanc.sh start | stop
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${ORTHANC_TEST_DIR:-/tmp/neurolens-orthanc}
URL=http://127.0.0.1:18042

stop() {
    [ -f "$DIR/pid" ] || return 0
    local pid; pid=$(cat "$DIR/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done  # its SQLite lock goes with it
    rm -f "$DIR/pid"
}

case "${1:-start}" in
start)
    if curl -sf "$URL/system" >/dev/null; then exit 0; fi
    if [ ! -x /usr/sbin/Orthanc ] || ! command -v dciodvfy >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq orthanc orthanc-dicomweb dicom3tools >/dev/null
    fi
    stop
    rm -rf "$DIR" && mkdir -p "$DIR/db"
    sed "s#@DIR@#$DIR#g" tests/studies/orthanc.json >"$DIR/orthanc.json"
    run=()
    if [ "$(id -u)" = 0 ] && id orthanc >/dev/null 2>&1; then
        chown -R orthanc: "$DIR"
        run=(setpriv --reuid=orthanc --regid=orthanc --init-groups)
    fi
    # TCP_NODELAY: DCMTK inside Orthanc reads it; without it every C-STORE waits on Nagle + delayed ACK.
    TCP_NODELAY=1 nohup "${run[@]}" /usr/sbin/Orthanc --logfile="$DIR/orthanc.log" "$DIR/orthanc.json" \
        >/dev/null 2>&1 &
    echo $! >"$DIR/pid"
    for _ in $(seq 150); do curl -sf "$URL/system" >/dev/null && exit 0; sleep 0.2; done
    echo "Orthanc did not answer on $URL; see $DIR/orthanc.log" >&2
    exit 1
    ;;
stop) stop ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
