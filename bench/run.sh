#!/bin/bash
# The benchmark behind `make bench`: viewers per core, join time and memory
# of the nginx WebRTC module, next to the physical floor (bench/floor.c).
#
#   bench/run.sh [viewer counts...]          default: 50 100 200 500 1000
#
# Environment:
#   BENCH_WORKERS="1 2"   nginx worker_processes values to run
#   BENCH_MEASURE=10      seconds in the measurement window of each run
#   BENCH_RATE=100        new viewer sessions per second during the ramp
#   BENCH_SERVER_CPU=0    core of nginx's workers (all of them)
#   BENCH_CLIENT_CPU=1    core of the load client and the publisher
#   BENCH_MODULE=path     module to load (default build/modules/...)
#   BENCH_BITRATE=2500k   publisher video bitrate; BENCH_GOP=4 (seconds)
#
# The publisher is t/clients/ndc_publish.js (libdatachannel, OBS's WHIP
# library) sending a test pattern encoded once with ffmpeg/x264 (1280x720,
# 30 fps, baseline, no B-frames, one IDR every BENCH_GOP seconds); it
# cannot make keyframes on demand, so it ignores PLI. Viewers are
# build/bench/whep-load. Server CPU is read from /proc/<worker>/stat
# (utime+stime) over a window that starts 2 s after the last viewer is up;
# memory is the workers' PSS growth from before the first viewer.
#
# Results: bench/results/results.md, results.png, raw/*.json.

set -e

top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/bench/results
work=$top/build/bench
load=$work/whep-load
floor=$work/floor
bitrate=${BENCH_BITRATE:-2500k}
gop=${BENCH_GOP:-4}
media=$work/media-1280x720-$bitrate-g$gop.h264

if [ -z "$BENCH_IN_NETNS" ]; then
    # outside the namespace: everything that may need the network or time
    [ -x "$load" ] && [ -x "$floor" ] || make -C "$top" bench-tools
    if ! command -v gnuplot >/dev/null 2>&1; then
        if ! dpkg-query -W -f='${Status}' gnuplot-nox 2>/dev/null \
                | grep -q 'install ok installed'; then
            echo "bench: installing gnuplot-nox for the plot"
            apt-get install -y -q gnuplot-nox >/dev/null 2>&1 \
                || echo "bench: gnuplot-nox not installed: no PNG"
        fi
    fi
    if [ ! -s "$media" ]; then
        echo "bench: encoding the test pattern ($bitrate, GOP ${gop}s)"
        mkdir -p "$work"
        ffmpeg -hide_banner -loglevel error -nostdin -y \
            -f lavfi -i testsrc2=size=1280x720:rate=30 -t $((gop * 2)) \
            -pix_fmt yuv420p -c:v libx264 -profile:v baseline \
            -tune zerolatency -b:v "$bitrate" -maxrate "$bitrate" \
            -bufsize "$bitrate" -g $((gop * 30)) -keyint_min $((gop * 30)) \
            -sc_threshold 0 -bf 0 -f h264 "$media.tmp"
        mv "$media.tmp" "$media"
    fi
    exec unshare -n env BENCH_IN_NETNS=1 \
        bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi

counts=${*:-50 100 200 500 1000}
workers_list=${BENCH_WORKERS:-1 2}
measure=${BENCH_MEASURE:-10}
rate=${BENCH_RATE:-100}
scpu=${BENCH_SERVER_CPU:-0}
ccpu=${BENCH_CLIENT_CPU:-1}
module=${BENCH_MODULE:-$top/build/modules/ngx_http_webrtc_module.so}
http_port=18080
udp_port=18189

mkdir -p "$out/raw"
rm -f "$out"/raw/*.json
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cleanup() {
    [ -n "$pub" ] && kill "$pub" 2>/dev/null || true
    if [ -n "$prefix" ] && [ -f "$prefix/logs/nginx.pid" ]; then
        /usr/sbin/nginx -p "$prefix/" -c "$prefix/nginx.conf" -s stop \
            2>/dev/null || true
    fi
}
trap cleanup EXIT

echo "== floor: srtp_protect + sendmmsg, sender on core $scpu, sink on core $ccpu"
"$floor" -n 1000000 -v 100 -C "$scpu" -c "$ccpu" | tee "$out/raw/floor.json"

mask() {   # worker_cpu_affinity: every worker on core $1
    local m i
    m=$(printf '%0*d' $(($1 + 1)) 0 | sed 's/^0/1/')
    for i in $(seq "$2"); do printf '%s ' "$m"; done
}

for w in $workers_list; do
    prefix=$work/run-$w
    rm -rf "$prefix"
    mkdir -p "$prefix/logs" "$prefix/tmp"
    sed -e "s#@MODULE@#$module#" -e "s/@WORKERS@/$w/" \
        -e "s/@AFFINITY@/$(mask "$scpu" "$w")/" \
        -e "s/@UDP_PORT@/$udp_port/" -e "s/@HTTP_PORT@/$http_port/" \
        "$top/bench/nginx.conf.in" > "$prefix/nginx.conf"
    /usr/sbin/nginx -p "$prefix/" -c "$prefix/nginx.conf" \
        -e "$prefix/logs/error.log"
    sleep 0.5
    pids=$(pgrep -d, -P "$(cat "$prefix/logs/nginx.pid")")

    taskset -c "$ccpu" node "$top/t/clients/ndc_publish.js" \
        --url "http://127.0.0.1:$http_port/whip/bench" --h264 "$media" \
        --seconds 100000 --connect-timeout 15 > "$prefix/pub.log" 2>&1 &
    pub=$!
    for i in $(seq 100); do
        grep -q '"connected"' "$prefix/pub.log" && break
        sleep 0.2
    done
    grep -q '"connected"' "$prefix/pub.log" \
        || { echo "bench: publisher did not connect"; cat "$prefix/pub.log"; exit 1; }
    sleep $((gop + 1))      # a whole GOP in the ring, as for a late joiner

    for n in $counts; do
        ramp=$(( (n + rate - 1) / rate ))
        dur=$((ramp + 2 + measure + 1))
        echo "== $w worker(s), $n viewers (ramp ${ramp}s, window ${measure}s)"
        taskset -c "$ccpu" "$load" -u "http://127.0.0.1:$http_port/whep/bench" \
            -n "$n" -r "$rate" -d "$dur" -w 2 -P "$pids" -q \
            -j "$out/raw/w$w-n$n.json" > /dev/null || true
        cat "$out/raw/w$w-n$n.json"
        # the publisher's side: packets the server lost on ingest so far
        curl -s "http://127.0.0.1:$http_port/webrtc/status" \
            > "$out/raw/w$w-n$n.status" || true
        sleep 3             # sessions closed with close_notify
    done

    kill -USR1 "$pub" 2>/dev/null || true
    wait "$pub" 2>/dev/null || true
    pub=
    /usr/sbin/nginx -p "$prefix/" -c "$prefix/nginx.conf" -s quit
    sleep 1
    grep -E '\[(alert|crit|emerg)\]' "$prefix/logs/error.log" | head -5 || true
done

prefix=
python3 "$top/bench/report.py" "$out"
