#!/bin/sh
# Installs what is missing from Debian's packages, and from npm: hls.js
# (the watch page's HLS mode) for build, everything in package.json for
# test.
# Usage: tools/install-deps.sh build|test
# Nothing is installed when everything is there already, so that it also
# works without a network (inside a test namespace).

set -e

build="build-essential nginx nginx-dev libnice-dev libsrtp2-dev libssl-dev
       libusrsctp-dev pkg-config nodejs npm"
# GStreamer webrtcbin peers (t/clients/gst_*.py): webrtcbin, DTLS, SRTP
# (plugins-bad), libnice's element (nice), RTP (good), x264enc (ugly),
# Opus and the test sources (base), avdec_h264 (libav), and the Python
# bindings of GStreamer, webrtcbin and libnice
gst="python3-gi gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0
     gir1.2-nice-0.1 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
     gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-nice
     gstreamer1.0-libav"
test="$build chromium python3-aiortc python3-prometheus-client coturn ffmpeg
      clang libclang-rt-14-dev iproute2 curl nftables $gst"

case "$1" in
    build) pkgs=$build ;;
    test)  pkgs=$test ;;
    *)     echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=
for p in $pkgs; do
    if ! dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null \
         | grep -q 'install ok installed'
    then
        missing="$missing $p"
    fi
done

# node and npm may come from elsewhere than Debian (the CI image has them)
if command -v node >/dev/null && command -v npm >/dev/null
then
    missing=$(echo "$missing" | tr ' ' '\n' | grep -v -x -e nodejs -e npm \
              | tr '\n' ' ')
fi

if [ -n "$(echo $missing)" ]; then
    echo "installing:$missing"
    if [ "$(id -u)" != 0 ]; then
        echo "run as root, or install:$missing" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq $missing
fi

cd "$(dirname "$0")/.."
if [ "$1" = test ]; then
    if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/hls.js ] \
       || [ package-lock.json -nt node_modules ]
    then
        npm ci --no-audit --no-fund
        touch node_modules
    fi
elif [ ! -d node_modules/hls.js ]; then
    if [ -d node_modules/playwright-core ]; then
        # test peers are there: npm ci starts afresh, keep them
        npm ci --no-audit --no-fund
    else
        # the page's dependency only: no test peers (nor their browsers)
        npm ci --omit=dev --no-audit --no-fund
    fi
    touch node_modules
fi
