#!/usr/bin/python3
"""WHIP publisher built on GStreamer 1.22 webrtcbin (Debian 12's
gstreamer1.0-plugins-bad, -good, -ugly, -nice; python3-gi).

Run it with /usr/bin/python3: a pyenv python first on PATH cannot see
Debian's packages.

    /usr/bin/python3 t/clients/gst_publish.py \\
        --url http://127.0.0.1:8080/whip/cam1 [--token T] [--seconds 5] \\
        [--no-delete | --close-no-delete [--linger S]] [--no-audio] \\
        [--no-video] [--video-size 640x360] [--framerate 30] \\
        [--key-int-max 60] [--connect-timeout 10] [--no-ice-tcp] \\
        [--print-offer]

videotestsrc (is-live, a moving ball) -> x264enc (zerolatency,
ultrafast, constrained baseline, an IDR every --key-int-max frames and on
PLI) -> rtph264pay; audiotestsrc (a sine) -> opusenc -> rtpopuspay; into
webrtcbin (max-bundle, sendonly transceivers). The offer is POSTed once
ICE gathering is complete (no trickle: the server is ICE-lite).

Prints one JSON object per line on stdout:

    {"event":"offer","media":[..],"candidates":N,"video_size":[W,H]}
    {"event":"answer","status":201,"location":..,"etag":..,"links":[..],
     "content_type":..,"sdp":..}
    {"event":"state","ice":..,"connection":..}   on every change
    {"event":"connected","t":..}              connection-state "connected",
                                              t seconds after the POST
    {"event":"keyframe","pts":<ns>,"wall":..}  each IDR the encoder emits
    {"event":"pli"}                           each keyframe request that
                                              reached the encoder
    {"event":"stats","tracks":[{"kind":..,"ssrc":..,"packets":..,
     "bytes":..,"plis":..,"nacks":..}]}      at the end (webrtcbin's
                                              outbound-rtp stats)
    {"event":"disconnected","connection":..,"ice":..}
    {"event":"deleted","status":200}          after DELETE
    {"event":"closed"}                        --close-no-delete
    {"event":"error","status":..,"body":..,"stage":..}

Exit status: 0 success, 2 HTTP error (POST not 201, DELETE not 200,
connection refused), 3 no connection / connection lost, 1 anything else.
SIGUSR1 ends the sending phase early (as if --seconds had elapsed).
"""

import argparse
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))

import gst_setup  # noqa: E402
import whip  # noqa: E402
from gst_setup import Gst, GstWebRTC  # noqa: E402
from whip import emit  # noqa: E402

USER_AGENT = "GStreamer/1.22 webrtcbin (ngx-webrtc-tests)"

VIDEO = ("videotestsrc is-live=true pattern=ball "
         "! video/x-raw,format=I420,width={w},height={h},framerate={fps}/1 "
         "! x264enc name=enc tune=zerolatency speed-preset=ultrafast "
         "key-int-max={gop} bitrate=1000 "
         "! video/x-h264,profile=constrained-baseline "
         "! rtph264pay config-interval=-1 aggregate-mode=zero-latency "
         "! capsfilter caps=application/x-rtp,media=video,"
         "encoding-name=H264,payload=96")
AUDIO = ("audiotestsrc is-live=true wave=sine freq=440 volume=0.2 "
         "! audioconvert ! audioresample ! opusenc bitrate=32000 "
         "! rtpopuspay "
         "! capsfilter caps=application/x-rtp,media=audio,"
         "encoding-name=OPUS,payload=111")


def add_branch(pipeline, w, description):
    """A source bin from description, linked to a new sink pad of w."""
    b = Gst.parse_bin_from_description(description, True)
    pipeline.add(b)
    sink = w.request_pad_simple("sink_%u")
    if b.get_static_pad("src").link(sink) != Gst.PadLinkReturn.OK:
        raise RuntimeError(f"cannot link {description[:40]}... to webrtcbin")
    return b


def watch_encoder(enc):
    """keyframe events for each IDR out of x264enc, pli for each
    force-key-unit request that reaches it."""
    def on_buffer(_pad, info):
        buf = info.get_buffer()
        if not buf.has_flags(Gst.BufferFlags.DELTA_UNIT):
            emit("keyframe", pts=buf.pts, wall=time.time(), codec="h264")
        return Gst.PadProbeReturn.OK

    def on_event(_pad, info):
        ev = info.get_event()
        st = ev.get_structure()
        if st is not None and st.get_name() == "GstForceKeyUnit":
            emit("pli")
        return Gst.PadProbeReturn.OK

    src = enc.get_static_pad("src")
    src.add_probe(Gst.PadProbeType.BUFFER, on_buffer)
    src.add_probe(Gst.PadProbeType.EVENT_UPSTREAM, on_event)


def outbound(w):
    return [{"kind": r.get("kind"), "ssrc": r.get("ssrc"),
             "packets": r.get("packets_sent"), "bytes": r.get("bytes_sent"),
             "plis": r.get("pli_count"), "nacks": r.get("nack_count")}
            for r in gst_setup.stats(w) if r.get("type") == "outbound-rtp"]


def run(args):
    flags = gst_setup.Flags()
    headers = whip.request_headers(USER_AGENT, args.token)
    pipeline = Gst.Pipeline.new("publish")
    w = gst_setup.make_webrtcbin(pipeline, flags, args.ice_tcp)

    if args.video:
        b = add_branch(pipeline, w, VIDEO.format(
            w=args.width, h=args.height, fps=args.framerate,
            gop=args.key_int_max))
        watch_encoder(b.get_by_name("enc"))
    if args.audio:
        add_branch(pipeline, w, AUDIO)
    # (get-transceivers' GArray is not iterable from Python)
    for i in range(int(args.video) + int(args.audio)):
        tr = w.emit("get-transceiver", i)
        tr.set_property("direction",
                        GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
        if tr.get_property("kind") == GstWebRTC.WebRTCKind.VIDEO:
            tr.set_property("do-nack", True)

    gst_setup.watch_bus(pipeline, flags)
    gst_setup.stop_signal(flags)
    pipeline.set_state(Gst.State.PLAYING)

    # webrtcbin asks for negotiation once every sink pad has its caps
    # (the offer then has the encoder's sprop-parameter-sets)
    if not flags.negotiation_needed.wait(args.connect_timeout):
        emit("error", stage="offer", status=0,
             body=f"no negotiation-needed after {args.connect_timeout} s "
                  f"({flags.bus_error})")
        return 1

    sdp = gst_setup.local_offer(
        w, flags, args,
        **({"video_size": [args.width, args.height]} if args.video else {}))
    if sdp is None:
        gst_setup.stop_pipeline(pipeline)
        return 0

    posted = time.monotonic()
    status, rh, body, _ = asyncio.run(
        whip.post_offer(args.url, sdp, headers))
    session_url, rc = gst_setup.accept_answer(
        w, args.url, (status, rh, body), headers)
    if session_url is None:
        gst_setup.stop_pipeline(pipeline)
        return rc

    if gst_setup.wait_connected(w, flags, args.connect_timeout):
        emit("connected", t=round(time.monotonic() - posted, 4))
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline and not flags.stop.is_set():
            if gst_setup.lost(w, flags):
                rc = 3
                break
            time.sleep(0.05)
    else:
        rc = 3

    emit("stats", tracks=outbound(w))
    return gst_setup.end(pipeline, session_url, headers, rc, args)


def main():
    p = argparse.ArgumentParser(description="WHIP publisher (GStreamer)")
    whip.add_arguments(p)
    p.add_argument("--video-size", default="640x360",
                   help="WxH of the generated video (default 640x360)")
    p.add_argument("--framerate", type=int, default=30)
    p.add_argument("--key-int-max", type=int, default=60,
                   help="frames between IDRs (and one on each PLI)")
    p.add_argument("--ice-tcp", action=argparse.BooleanOptionalAction,
                   default=True,
                   help="TCP candidates in the offer (webrtcbin's default)")
    args = p.parse_args()
    if not (args.audio or args.video):
        p.error("nothing to send")
    try:
        args.width, args.height = (int(x) for x in
                                   args.video_size.lower().split("x"))
    except ValueError:
        p.error("bad --video-size (WxH)")
    if args.width < 16 or args.height < 16 or args.width % 2 \
            or args.height % 2 or args.framerate < 1 or args.key_int_max < 1:
        p.error("bad --video-size (WxH, even, at least 16x16), "
                "--framerate or --key-int-max")

    gst_setup.run_bounded(lambda: run(args),
                          args.seconds + args.linger
                          + 4 * args.connect_timeout + 3 * whip.HTTP_TIMEOUT)


if __name__ == "__main__":
    main()
