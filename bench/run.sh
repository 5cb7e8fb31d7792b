#!/bin/bash
# The benchmark behind `make bench`: viewers per core, join time and memory
# of the nginx WebRTC module, next to the physical floor (bench/floor.c)
# and to Janus (Debian's janus, streaming plugin) fed the same stream.
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
#   BENCH_JANUS=1         0: no Janus run
#   BENCH_WHEP=1          0: no floor and no viewer runs (HLS and Janus only)
#   BENCH_HLS=1           0: no LL-HLS runs; BENCH_HLS_PAIRS=2 pairs of
#                         runs (HLS off, on), BENCH_HLS_MEASURE=15 s of CPU
#                         window each, BENCH_HLS_PLAYERS=1000 blocked
#                         players, BENCH_HLS_ROUNDS=10 parts
#   BENCH_JANUS_LOOPS=1   Janus's event_loops (0: a thread per handle)
#   BENCH_OUT=dir         results there instead of bench/results
#
# The publisher is t/clients/ndc_publish.js (libdatachannel, OBS's WHIP
# library) sending a test pattern encoded once with ffmpeg/x264 (1280x720,
# 30 fps, baseline, no B-frames, one IDR every BENCH_GOP seconds); it
# cannot make keyframes on demand, so it ignores PLI. Viewers are
# build/bench/whep-load. Server CPU is read from /proc/<worker>/stat
# (utime+stime) over a window that starts 2 s after the last viewer is up;
# memory is the workers' PSS growth from before the first viewer.
#
# LL-HLS: pairs of runs of one worker and the same publisher, without and
# with `location /hls/ { webrtc_hls; }`; the worker's CPU time
# (/proc/<pid>/schedstat, ns) over the same window, the difference is the
# packager's. In each run with HLS, build/bench/hls-wait: N players
# blocked on the same coming part, their delays after the first response.
#
# Janus: after the nginx runs, janus (bench/janus/*.jcfg) pinned to the
# server core, on 198.18.0.1/15 (Janus gathers no candidate on loopback):
# a dummy interface in this namespace, or a veth pair where the kernel has
# no dummy driver. Its RTP mountpoint is fed the publisher's stream as
# nginx delivers it to a viewer: nginx (now on the client core) and one
# `whep-load -F` that decrypts every packet and sends it on as plain RTP. The viewers are whep-load -J (the Janus API over
# HTTP instead of WHEP); the CPU and PSS are janus's (one process).
#
# Results: bench/results/results.md, results.png, raw/*.json; logs of
# each run in build/bench/run-*/ and build/bench/janus/.

set -e

top=$(cd "$(dirname "$0")/.." && pwd)
out=${BENCH_OUT:-$top/bench/results}
work=$top/build/bench
load=$work/whep-load
floor=$work/floor
hlswait=$work/hls-wait
bitrate=${BENCH_BITRATE:-2500k}
gop=${BENCH_GOP:-4}
media=$work/media-1280x720-$bitrate-g$gop.h264

if [ -z "$BENCH_IN_NETNS" ]; then
    # outside the namespace: everything that may need the network or time
    [ -x "$load" ] && [ -x "$floor" ] && [ -x "$hlswait" ] || make -C "$top" bench-tools
    if ! command -v gnuplot >/dev/null 2>&1; then
        if ! dpkg-query -W -f='${Status}' gnuplot-nox 2>/dev/null \
                | grep -q 'install ok installed'; then
            echo "bench: installing gnuplot-nox for the plot"
            apt-get install -y -q gnuplot-nox >/dev/null 2>&1 \
                || echo "bench: gnuplot-nox not installed: no PNG"
        fi
    fi
    if [ "${BENCH_JANUS:-1}" != 0 ] && ! command -v janus >/dev/null 2>&1
    then
        echo "bench: installing janus"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q janus \
            >/dev/null 2>&1 || echo "bench: janus not installed: no Janus run"
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
janus_addr=198.18.0.1
janus_http=18088
janus_audio=15002
janus_video=15004

mkdir -p "$out/raw"
rm -f "$out"/raw/*.json
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cleanup() {
    [ -n "$fwd" ] && kill "$fwd" 2>/dev/null || true
    [ -n "$janus" ] && kill "$janus" 2>/dev/null || true
    [ -n "$pub" ] && kill "$pub" 2>/dev/null || true
    if [ -n "$prefix" ] && [ -f "$prefix/logs/nginx.pid" ]; then
        /usr/sbin/nginx -p "$prefix/" -c "$prefix/nginx.conf" -s stop \
            2>/dev/null || true
    fi
}
trap cleanup EXIT

if [ "${BENCH_WHEP:-1}" != 0 ]; then
echo "== floor: SRTP protect + sendmmsg (GSO), sender on core $scpu, sink on core $ccpu"
"$floor" -n 1000000 -v 100 -C "$scpu" -c "$ccpu" | tee "$out/raw/floor.json"
fi

mask() {   # worker_cpu_affinity: every worker on core $1
    local m i
    m=$(printf '%0*d' $(($1 + 1)) 0 | sed 's/^0/1/')
    for i in $(seq "$2"); do printf '%s ' "$m"; done
}

# nginx ($1 workers, all on core $2) in $prefix and the publisher on the
# client core; $pids: the workers. Fails if the publisher cannot connect.
start_nginx() {
    rm -rf "$prefix"
    mkdir -p "$prefix/logs" "$prefix/tmp"
    sed -e "s#@MODULE@#$module#" -e "s/@WORKERS@/$1/" \
        -e "s/@AFFINITY@/$(mask "$2" "$1")/" \
        -e "s/@UDP_PORT@/$udp_port/" -e "s/@HTTP_PORT@/$http_port/" \
        -e "s#@HLS@#$hls_location#" \
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
    if ! grep -q '"connected"' "$prefix/pub.log"; then
        echo "bench: publisher did not connect"
        cat "$prefix/pub.log"
        return 1
    fi
    sleep $((gop + 1))      # a whole GOP in the ring, as for a late joiner
}

# and wait until the master is gone, so that the next one can listen
stop_nginx() {
    local master i

    kill -USR1 "$pub" 2>/dev/null || true
    wait "$pub" 2>/dev/null || true
    pub=
    master=$(cat "$prefix/logs/nginx.pid" 2>/dev/null || true)
    /usr/sbin/nginx -p "$prefix/" -c "$prefix/nginx.conf" -s quit \
        2>/dev/null || true
    for i in $(seq 100); do
        [ -n "$master" ] && kill -0 "$master" 2>/dev/null || break
        [ "$i" = 50 ] && kill -TERM "$master" 2>/dev/null
        sleep 0.1
    done
    grep -E '\[(alert|crit|emerg)\]' "$prefix/logs/error.log" | head -5 || true
}

[ "${BENCH_WHEP:-1}" = 0 ] && workers_list=

for w in $workers_list; do
    prefix=$work/run-$w
    start_nginx "$w" "$scpu" || exit 1

    for n in $counts; do
        ramp=$(( (n + rate - 1) / rate ))
        # twice the ramp: the joins of a saturated server, slower than the
        # ramp, still reach a measurement window
        dur=$((2 * ramp + 2 + measure + 1))
        echo "== $w worker(s), $n viewers (ramp ${ramp}s, window ${measure}s)"
        taskset -c "$ccpu" "$load" -u "http://127.0.0.1:$http_port/whep/bench" \
            -n "$n" -r "$rate" -d "$dur" -w 2 -P "$pids" -q \
            -j "$out/raw/w$w-n$n.json" > /dev/null || true
        cat "$out/raw/w$w-n$n.json"
        # the publisher's side: packets the server lost on ingest so far
        curl -s "http://127.0.0.1:$http_port/webrtc/status" \
            > "$out/raw/w$w-n$n.status" || true
        # the sessions end with close_notify, which the server cannot
        # authenticate after it freed their DTLS state: it gives each 4 s
        # to show it is alive; a new run's sockets must not get their media
        sleep 6
    done

    stop_nginx
done

# CPU time (ns) of the processes $1 (comma-separated) so far
cpu_ns() {
    local p t=0
    for p in ${1//,/ }; do
        t=$((t + $(cut -d' ' -f1 "/proc/$p/schedstat")))
    done
    echo "$t"
}

# the packager's CPU (pairs: HLS off, HLS on, same publisher, one worker)
# and the players blocked on the next part
hls_run() {
    local pair hls a b t0 t1 window=${BENCH_HLS_MEASURE:-15}

    rm -f "$out"/raw/hls-*.json
    for pair in $(seq "${BENCH_HLS_PAIRS:-2}"); do
        for hls in 0 1; do
            hls_location=
            [ "$hls" = 1 ] && hls_location='location /hls/ { webrtc_hls; }'
            prefix=$work/run-hls$hls
            start_nginx 1 "$scpu" || return 1
            if [ "$hls" = 1 ] && ! curl -sf -o /dev/null \
                    "http://127.0.0.1:$http_port/hls/bench/index.m3u8"; then
                echo "bench: no playlist"
                stop_nginx
                return 1
            fi
            t0=$(date +%s.%N)
            a=$(cpu_ns "$pids")
            sleep "$window"
            b=$(cpu_ns "$pids")
            t1=$(date +%s.%N)
            echo "{\"pair\": $pair, \"hls\": $hls, \"cpu_ns\": $((b - a)), \"seconds\": $(awk "BEGIN { print $t1 - $t0 }")}" \
                | tee -a "$out/raw/hls-cpu.json"
            if [ "$hls" = 1 ]; then
                echo "== LL-HLS: ${BENCH_HLS_PLAYERS:-1000} players blocked on the next part (pair $pair)"
                taskset -c "$ccpu" "$hlswait" -u "127.0.0.1:$http_port" \
                    -s bench -n "${BENCH_HLS_PLAYERS:-1000}" \
                    -r "${BENCH_HLS_ROUNDS:-10}" \
                    -j "$out/raw/hls-wait-$pair.json" || true
            fi
            stop_nginx
        done
    done
    hls_location=
}

if [ "${BENCH_HLS:-1}" != 0 ]; then
    echo "== LL-HLS: packager CPU (one worker on core $scpu, HLS off/on) and blocked players"
    hls_run || echo "bench: the LL-HLS run failed (see above)"
fi

janus_run() {
    local jdir=$work/janus f n ramp dur

    # a dummy interface if the kernel has the driver, else a veth pair:
    # either way an address that is not loopback
    if ! ip link add bench0 type dummy 2>/dev/null; then
        ip link add bench0 type veth peer name bench1
        ip link set bench1 up
    fi
    ip addr add "$janus_addr/15" dev bench0
    ip link set bench0 up

    rm -rf "$jdir"
    mkdir -p "$jdir/cfg"
    for f in "$top"/bench/janus/*.jcfg; do
        sed -e "s/@ADDR@/$janus_addr/g" -e "s/@HTTP_PORT@/$janus_http/" \
            -e "s/@AUDIO_PORT@/$janus_audio/" \
            -e "s/@VIDEO_PORT@/$janus_video/" \
            -e "s/@EVENT_LOOPS@/${BENCH_JANUS_LOOPS:-1}/" \
            "$f" > "$jdir/cfg/$(basename "$f")"
    done
    taskset -c "$scpu" janus -F "$jdir/cfg" -o > "$jdir/janus.log" 2>&1 &
    janus=$!
    for i in $(seq 50); do
        curl -s -o /dev/null "http://$janus_addr:$janus_http/janus/info" \
            && break
        sleep 0.2
    done
    if ! curl -s -o /dev/null "http://$janus_addr:$janus_http/janus/info"
    then
        echo "bench: janus did not start"
        cat "$jdir/janus.log"
        return 1
    fi

    # the feed: the publisher through nginx (client core) to one relaying
    # viewer, plain RTP to the mountpoint
    prefix=$work/run-janus-feed
    start_nginx 1 "$ccpu" || return 1
    taskset -c "$ccpu" "$load" -u "http://127.0.0.1:$http_port/whep/bench" \
        -n 1 -d 100000 -q -F "$janus_addr:$janus_audio:$janus_video" \
        -j "$jdir/feed.json" > /dev/null &
    fwd=$!
    sleep 2

    for n in $counts; do
        ramp=$(( (n + rate - 1) / rate ))
        # twice the ramp: the joins of a saturated server, slower than the
        # ramp, still reach a measurement window
        dur=$((2 * ramp + 2 + measure + 1))
        echo "== Janus, $n viewers (ramp ${ramp}s, window ${measure}s)"
        taskset -c "$ccpu" "$load" -u "http://$janus_addr:$janus_http/janus" \
            -J 1 -n "$n" -r "$rate" -d "$dur" -w 2 -P "$janus" -q \
            -j "$out/raw/janus-n$n.json" > /dev/null || true
        cat "$out/raw/janus-n$n.json"
        sleep 3             # sessions closed with close_notify
    done

    kill "$fwd"
    wait "$fwd" 2>/dev/null || true
    fwd=
    echo "feed (nginx -> relay -> Janus):"
    cat "$jdir/feed.json"
    stop_nginx
    kill "$janus"
    wait "$janus" 2>/dev/null || true
    janus=
    grep -E '^\[(ERR|FATAL)\]' "$jdir/janus.log" | head -5 || true
}

if [ "${BENCH_JANUS:-1}" != 0 ]; then
    if command -v janus >/dev/null 2>&1; then
        janus_run || echo "bench: the Janus run failed (see above)"
        cleanup
    else
        echo "bench: no janus: no Janus run"
    fi
fi

prefix=
python3 "$top/bench/report.py" "$out"
