#!/usr/bin/python3
"""WHEP viewer built on GStreamer 1.22 webrtcbin (Debian 12's
gstreamer1.0-plugins-bad, -good, -nice, -libav; python3-gi).

Run it with /usr/bin/python3: a pyenv python first on PATH cannot see
Debian's packages.

    /usr/bin/python3 t/clients/gst_watch.py \\
        --url http://127.0.0.1:8080/whep/cam1 [--token T] [--seconds 5] \\
        [--no-delete | --close-no-delete [--linger S]] [--no-audio] \\
        [--no-video] [--max-retries 60] [--connect-timeout 10] \\
        [--frame-timeout 10] [--stats-interval 1] [--no-ice-tcp] \\
        [--print-offer]

Offers recvonly H264 (packetization-mode 1, constrained baseline 3.1,
NACK and PLI) and Opus transceivers on webrtcbin (max-bundle). A 409
(stream not live) is retried with backoff (as whip.post_offer), at most
--max-retries times, POSTing the same offer again. Each received stream
goes through decodebin (rtph264depay + avdec_h264, rtpopusdepay +
opusdec) into a fakesink whose handoffs count decoded video frames and
audio buffers.

Prints one JSON object per line on stdout:

    {"event":"offer","media":[..],"candidates":N}
    {"event":"waiting","retries":N,"status":409,"retry_after":S,"delay":S}
    {"event":"answer","status":201,"location":..,"etag":..,"links":[..],
     "content_type":..,"sdp":..}
    {"event":"state","ice":..,"connection":..}   on every change
    {"event":"track","kind":"video","caps":..}   webrtcbin's new src pad
    {"event":"connected","t":..}                 t: seconds since the start
                                                 of the successful POST
    {"event":"first_frame","t":..,"t_play":..,"pts":..,"wall":..,
     "width":..,"height":..}                     first decoded VIDEO frame;
                   t: monotonic seconds since the start of the successful
                   POST; t_play: since the first POST; wall: time.time()
    {"event":"first_audio","t":..,"wall":..,"rate":..,"channels":..}
                                                 first decoded audio buffer
    {"event":"stats","video_frames":N,"audio_frames":N,"width":..,
     "height":..,"video_packets":N,"audio_packets":N,"video_lost":N,
     "audio_lost":N}                             every --stats-interval s
    {"event":"disconnected","connection":..,"ice":..}
    {"event":"deleted","status":200}             after DELETE
    {"event":"closed"}                           --close-no-delete
    {"event":"error","stage":..,"status":..,"body":..}

Exit status: 0 success, 2 HTTP error (POST not 201 after the retries,
DELETE not 200, connection refused), 3 no connection / connection lost /
no video frame within --frame-timeout (with video), 1 anything else.
SIGUSR1 ends the watching phase early (as if --seconds had elapsed).
"""

import argparse
import asyncio
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))

import gst_setup  # noqa: E402
import whip  # noqa: E402
from gst_setup import Gst, GstWebRTC  # noqa: E402
from whip import emit  # noqa: E402

USER_AGENT = "GStreamer/1.22 webrtcbin (ngx-webrtc-tests; whep)"

RECVONLY = GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY
VIDEO_CAPS = ("application/x-rtp,media=video,encoding-name=H264,"
              "payload=96,clock-rate=90000,packetization-mode=(string)1,"
              "profile-level-id=(string)42e01f,"
              "level-asymmetry-allowed=(string)1")
AUDIO_CAPS = ("application/x-rtp,media=audio,encoding-name=OPUS,"
              "payload=111,clock-rate=48000,encoding-params=(string)2")


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.video_frames = 0
        self.audio_frames = 0
        self.width = None
        self.height = None
        self.first_video = threading.Event()
        self.first_audio = False
        self.post_start = None      # monotonic, successful POST
        self.first_post = None      # monotonic, first POST


def on_decoded(pipeline, pad, c):
    """A decoded stream out of decodebin: into a fakesink whose handoffs
    count frames (video) or buffers (audio)."""
    caps = pad.get_current_caps() or pad.query_caps(None)
    name = caps.get_structure(0).get_name()
    kind = "video" if name.startswith("video/") else \
        "audio" if name.startswith("audio/") else None
    if kind is None:
        return
    q = Gst.ElementFactory.make("queue")
    sink = Gst.ElementFactory.make("fakesink")
    sink.set_property("sync", False)
    sink.set_property("signal-handoffs", True)

    def handoff(_sink, buf, spad):
        now, wall = time.monotonic(), time.time()
        with c.lock:
            if kind == "audio":
                c.audio_frames += 1
                if not c.first_audio:
                    c.first_audio = True
                    s = spad.get_current_caps().get_structure(0)
                    base = c.post_start or now
                    emit("first_audio", t=round(now - base, 4), wall=wall,
                         rate=s.get_value("rate"),
                         channels=s.get_value("channels"))
                return
            c.video_frames += 1
            s = spad.get_current_caps().get_structure(0)
            c.width, c.height = s.get_value("width"), s.get_value("height")
            if not c.first_video.is_set():
                base = c.post_start or now
                emit("first_frame", t=round(now - base, 4),
                     t_play=round(now - (c.first_post or base), 4),
                     pts=buf.pts, wall=wall, width=c.width,
                     height=c.height)
                c.first_video.set()

    sink.connect("handoff", handoff)
    for e in (q, sink):
        pipeline.add(e)
        e.sync_state_with_parent()
    q.link(sink)
    pad.link(q.get_static_pad("sink"))


def on_track(pipeline, pad, c):
    """A new src pad of webrtcbin (an RTP stream): into decodebin."""
    if pad.get_direction() != Gst.PadDirection.SRC:
        return
    caps = pad.get_current_caps()
    s = caps.get_structure(0)
    emit("track", kind=s.get_value("media"), caps=caps.to_string())
    dec = Gst.ElementFactory.make("decodebin")
    dec.connect("pad-added", lambda _d, p: on_decoded(pipeline, p, c))
    pipeline.add(dec)
    dec.sync_state_with_parent()
    pad.link(dec.get_static_pad("sink"))


def inbound(w):
    out = {}
    for r in gst_setup.stats(w):
        if r.get("type") != "inbound-rtp" or not r.get("kind"):
            continue
        out[r["kind"] + "_packets"] = r.get("packets_received")
        out[r["kind"] + "_lost"] = r.get("packets_lost")
    return out


def run(args):
    flags = gst_setup.Flags()
    c = Counters()
    headers = whip.request_headers(USER_AGENT, args.token)
    pipeline = Gst.Pipeline.new("watch")
    w = gst_setup.make_webrtcbin(pipeline, flags, args.ice_tcp)
    w.connect("pad-added", lambda _w, pad: on_track(pipeline, pad, c))

    if args.video:
        tr = w.emit("add-transceiver", RECVONLY,
                    Gst.Caps.from_string(VIDEO_CAPS))
        tr.set_property("do-nack", True)
    if args.audio:
        w.emit("add-transceiver", RECVONLY, Gst.Caps.from_string(AUDIO_CAPS))

    gst_setup.watch_bus(pipeline, flags)
    gst_setup.stop_signal(flags)
    pipeline.set_state(Gst.State.PLAYING)

    sdp = gst_setup.local_offer(w, flags, args)
    if sdp is None:
        gst_setup.stop_pipeline(pipeline)
        return 0

    def before_post():
        c.post_start = time.monotonic()
        if c.first_post is None:
            c.first_post = c.post_start

    status, rh, body, retries = asyncio.run(whip.post_offer(
        args.url, sdp, headers, args.max_retries, before_post))
    session_url, rc = gst_setup.accept_answer(
        w, args.url, (status, rh, body), headers, retries=retries)
    if session_url is None:
        gst_setup.stop_pipeline(pipeline)
        return rc

    def stats_line():
        st = inbound(w)
        with c.lock:
            emit("stats", video_frames=c.video_frames,
                 audio_frames=c.audio_frames, width=c.width,
                 height=c.height, **st)

    if gst_setup.wait_connected(w, flags, args.connect_timeout):
        emit("connected", t=round(time.monotonic() - c.post_start, 4))
        if args.video:
            deadline = time.monotonic() + args.frame_timeout
            while not c.first_video.is_set() and not flags.stop.is_set():
                if gst_setup.lost(w, flags):
                    rc = 3
                    break
                if time.monotonic() > deadline:
                    emit("error", stage="first_frame", status=status,
                         body=f"no video frame decoded after "
                              f"{args.frame_timeout} s")
                    rc = 3
                    break
                time.sleep(0.02)
        start = time.monotonic()
        next_stats = start + args.stats_interval
        while rc == 0 and time.monotonic() - start < args.seconds \
                and not flags.stop.is_set():
            if gst_setup.lost(w, flags):
                rc = 3
                break
            if time.monotonic() >= next_stats:
                next_stats += args.stats_interval
                stats_line()
            time.sleep(0.05)
    else:
        rc = 3

    stats_line()
    return gst_setup.end(pipeline, session_url, headers, rc, args)


def main():
    p = argparse.ArgumentParser(description="WHEP viewer (GStreamer)")
    whip.add_arguments(p, seconds_help="seconds to watch after the first "
                                       "frame")
    p.add_argument("--max-retries", type=int, default=60,
                   help="POSTs repeated after a 409 (default 60)")
    p.add_argument("--frame-timeout", type=float, default=10,
                   help="seconds to wait for the first decoded video frame")
    p.add_argument("--stats-interval", type=float, default=1)
    p.add_argument("--ice-tcp", action=argparse.BooleanOptionalAction,
                   default=True,
                   help="TCP candidates in the offer (webrtcbin's default)")
    args = p.parse_args()
    if not (args.audio or args.video):
        p.error("nothing to receive")
    if args.max_retries < 0 or args.stats_interval <= 0:
        p.error("bad --max-retries or --stats-interval")

    gst_setup.run_bounded(lambda: run(args),
                          args.seconds + args.linger + args.frame_timeout
                          + 4 * args.connect_timeout + 3 * whip.HTTP_TIMEOUT
                          + args.max_retries
                          * (whip.BACKOFF[-1] + whip.HTTP_TIMEOUT))


if __name__ == "__main__":
    main()
