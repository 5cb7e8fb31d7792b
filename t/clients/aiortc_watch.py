#!/usr/bin/python3
"""WHEP viewer built on aiortc 1.4 (Debian's python3-aiortc).

Run it with /usr/bin/python3: a pyenv python first on PATH cannot see
Debian's packages.

    /usr/bin/python3 t/clients/aiortc_watch.py \
        --url http://127.0.0.1:8080/whep/cam1 [--token T] [--seconds 5] \
        [--no-delete | --close-no-delete [--linger S]] [--no-audio] \
        [--no-video] \
        [--max-retries 60] \
        [--connect-timeout 10] [--frame-timeout 10] [--frame-log] \
        [--ssrc-flood N] [--print-offer]

Offers recvonly audio and video transceivers. A 409 (stream not live) is
retried with backoff (0.5, 1, 2, 4, then 5 s, shortened to Retry-After
when that is smaller), at most --max-retries times, POSTing the same
offer again. Decoded frames are consumed with track.recv() in a task per
track.

Prints one JSON object per line on stdout:

    {"event":"offer","media":[..],"candidates":N}
    {"event":"waiting","retries":N,"status":409,"retry_after":S,"delay":S}
    {"event":"answer","status":201,"location":..,"etag":..,"links":[..],
     "content_type":..,"sdp":..}
    {"event":"state","ice":..,"connection":..}   on every change
    {"event":"track","kind":"video"}             ontrack
    {"event":"connected"}
    {"event":"first_frame","t":..,"t_play":..,"pts":..,"time_base":..,
     "wall":..,"width":..,"height":..}           first decoded VIDEO frame;
                   t: monotonic seconds since the start of the successful
                   POST; t_play: since the first POST; wall: time.time()
    {"event":"first_audio","t":..,"wall":..}     first decoded audio frame
    {"event":"frame","n":..,"pts":..,"wall":..,"key":..}
                                                 every video frame, with
                                                 --frame-log
    {"event":"stats","video_frames":N,"audio_frames":N,"width":..,
     "height":..,"video_packets":N,"audio_packets":N,"video_lost":N,
     "audio_lost":N,"bad_extensions":N}
                                                 every --stats-interval s
    {"event":"ssrc_flood","packets":N}           --ssrc-flood sent, after
                                                 the first frame (see
                                                 aiortc_setup.ssrc_flood)
    {"event":"disconnected","connection":..,"ice":..,"dtls":..}
    {"event":"deleted","status":200}             after DELETE
    {"event":"closed","connection":..}           --close-no-delete: after
                                                 pc.close(), instead of
                                                 DELETE; then --linger s
    {"event":"error","stage":..,"status":..,"body":..}

Exit status: 0 success, 2 HTTP error (POST not 201 after the retries,
DELETE not 200, connection refused), 3 no connection / connection lost /
no video frame within --frame-timeout (with video), 1 anything else.
With --print-offer the raw offer SDP is printed and nothing is sent.
With --no-delete the process exits without DELETE and without closing
the peer connection (a viewer that vanished).
SIGUSR1 ends the watching phase early (as if --seconds had elapsed).
"""

import argparse
import asyncio
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))

import aiortc_setup  # noqa: E402  (before aiortc: ICE on loopback)
import whip  # noqa: E402
from whip import emit  # noqa: E402

from aiortc import RTCPeerConnection  # noqa: E402
from aiortc import rtp as aiortc_rtp  # noqa: E402
from aiortc.mediastreams import MediaStreamError  # noqa: E402

# aiortc 1.4 keeps ONE header-extension map for a BUNDLE transport, built
# from all m-lines: its own offer gives audio-level (audio) and
# abs-send-time (video) the same id 2, so a correct sender's 1-byte
# audio-level value is parsed as a 3-byte abs-send-time, struct.error is
# raised and aiortc closes the whole DTLS transport (connectionState stays
# "connected"). Unless --strict-extensions, such a packet keeps only its
# mid and is counted (stats "bad_extensions").
BAD_EXTENSIONS = [0]
_orig_ext_get = aiortc_rtp.HeaderExtensionsMap.get


def _tolerant_ext_get(self, extension_profile, extension_value):
    try:
        return _orig_ext_get(self, extension_profile, extension_value)
    except struct.error:
        BAD_EXTENSIONS[0] += 1
        values = aiortc_rtp.HeaderExtensions()
        mid_id = self._HeaderExtensionsMap__ids.mid
        for x_id, x_value in aiortc_rtp.unpack_header_extensions(
                extension_profile, extension_value):
            if x_id == mid_id:
                values.mid = x_value.decode("utf8", "replace")
        return values

USER_AGENT = "aiortc/1.4 (ngx-webrtc-tests; whep)"


async def inbound_stats(pc):
    out = {}
    try:
        report = await pc.getStats()
    except Exception:  # noqa: BLE001
        return out
    for s in report.values():
        if getattr(s, "type", None) == "inbound-rtp":
            out[s.kind + "_packets"] = getattr(s, "packetsReceived", None)
            out[s.kind + "_lost"] = getattr(s, "packetsLost", None)
    return out


class Counters:
    def __init__(self):
        self.video_frames = 0
        self.audio_frames = 0
        self.width = None
        self.height = None
        self.first_video = None     # the first_frame event
        self.first_audio = None
        self.post_start = None      # monotonic, successful POST
        self.first_post = None      # monotonic, first POST
        self.ended = []             # kinds whose track ended


async def consume(track, c, args, first_video_event):
    kind = track.kind
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            c.ended.append(kind)
            return
        now = time.monotonic()
        wall = time.time()
        if kind == "video":
            c.video_frames += 1
            c.width, c.height = frame.width, frame.height
            if c.first_video is None:
                base = c.post_start if c.post_start is not None else now
                c.first_video = {
                    "t": round(now - base, 4),
                    "t_play": round(now - (c.first_post or base), 4),
                    "pts": frame.pts,
                    "time_base": str(frame.time_base),
                    "wall": wall,
                    "width": frame.width, "height": frame.height,
                }
                emit("first_frame", **c.first_video)
                first_video_event.set()
            if args.frame_log:
                emit("frame", n=c.video_frames, pts=frame.pts, wall=wall,
                     key=bool(getattr(frame, "key_frame", False)))
        else:
            c.audio_frames += 1
            if c.first_audio is None:
                base = c.post_start if c.post_start is not None else now
                c.first_audio = {"t": round(now - base, 4), "wall": wall}
                emit("first_audio", **c.first_audio)


async def run(args):
    pc = RTCPeerConnection()
    headers = whip.request_headers(USER_AGENT, args.token)

    if args.audio:
        pc.addTransceiver("audio", direction="recvonly")
    if args.video:
        pc.addTransceiver("video", direction="recvonly")

    c = Counters()
    first_video = asyncio.Event()
    tasks = []

    @pc.on("track")
    def on_track(track):
        emit("track", kind=track.kind)
        tasks.append(asyncio.ensure_future(consume(track, c, args,
                                                   first_video)))

    if not args.print_offer:
        aiortc_setup.report_states(pc)

    sdp = await aiortc_setup.local_offer(pc, args)
    if sdp is None:
        return 0

    def before_post():
        c.post_start = time.monotonic()
        if c.first_post is None:
            c.first_post = c.post_start

    status, rh, body, retries = await whip.post_offer(
        args.url, sdp, headers, args.max_retries, before_post)
    session_url, rc = await aiortc_setup.accept_answer(
        pc, args.url, (status, rh, body), headers, retries=retries)
    if session_url is None:
        return rc

    stop_early = aiortc_setup.stop_signal()

    async def stats_line():
        st = await inbound_stats(pc)
        emit("stats", video_frames=c.video_frames,
             audio_frames=c.audio_frames, width=c.width, height=c.height,
             bad_extensions=BAD_EXTENSIONS[0], **st)

    if await aiortc_setup.wait_connected(pc, args.connect_timeout):
        emit("connected")
        if args.video:
            deadline = time.monotonic() + args.frame_timeout
            while not first_video.is_set() and not stop_early.is_set():
                if aiortc_setup.lost(pc):
                    rc = 3
                    break
                if time.monotonic() > deadline:
                    emit("error", stage="first_frame", status=status,
                         body=f"no video frame decoded after "
                              f"{args.frame_timeout} s")
                    rc = 3
                    break
                await asyncio.sleep(0.02)
        if rc == 0 and args.ssrc_flood:
            await aiortc_setup.ssrc_flood(pc, args.ssrc_flood, rtcp=True)
        start = time.monotonic()
        next_stats = start + args.stats_interval
        while rc == 0 and time.monotonic() - start < args.seconds \
                and not stop_early.is_set():
            if aiortc_setup.lost(pc):
                rc = 3
                break
            if time.monotonic() >= next_stats:
                next_stats += args.stats_interval
                await stats_line()
            await asyncio.sleep(0.05)
    else:
        rc = 3

    await stats_line()
    return await aiortc_setup.end(pc, session_url, headers, rc, args, tasks)


def main():
    p = argparse.ArgumentParser(description="WHEP viewer (aiortc)")
    whip.add_arguments(p, seconds_help="seconds to watch after the first "
                                       "frame")
    p.add_argument("--max-retries", type=int, default=60,
                   help="POSTs repeated after a 409 (default 60)")
    p.add_argument("--frame-timeout", type=float, default=10,
                   help="seconds to wait for the first decoded video frame")
    p.add_argument("--stats-interval", type=float, default=1)
    p.add_argument("--frame-log", action="store_true",
                   help="print every decoded video frame")
    p.add_argument("--ssrc-flood", type=int, default=0, metavar="N",
                   help="after the first frame, send N SRTCP receiver "
                        "reports, each from its own SSRC; prints "
                        "ssrc_flood")
    p.add_argument("--strict-extensions", action="store_true",
                   help="keep aiortc's BUNDLE header-extension bug (a "
                        "1-byte audio-level with abs-send-time's id "
                        "kills the DTLS transport)")
    args = p.parse_args()
    if not args.strict_extensions:
        aiortc_rtp.HeaderExtensionsMap.get = _tolerant_ext_get
    if not (args.audio or args.video):
        p.error("nothing to receive")
    if args.max_retries < 0 or args.stats_interval <= 0:
        p.error("bad --max-retries or --stats-interval")

    # aiortc may leave threads (decoders) behind: run_bounded does not
    # wait for them
    whip.run_bounded(lambda: run(args),
                     args.seconds + args.linger + args.frame_timeout
                     + 3 * args.connect_timeout + 3 * whip.HTTP_TIMEOUT
                     + args.max_retries
                     * (whip.BACKOFF[-1] + whip.HTTP_TIMEOUT))


if __name__ == "__main__":
    main()
