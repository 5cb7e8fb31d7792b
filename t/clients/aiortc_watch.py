#!/usr/bin/python3
"""WHEP viewer built on aiortc 1.4 (Debian's python3-aiortc).

Run it with /usr/bin/python3: a pyenv python first on PATH cannot see
Debian's packages.

    /usr/bin/python3 t/clients/aiortc_watch.py \
        --url http://127.0.0.1:8080/whep/cam1 [--token T] [--seconds 5] \
        [--no-delete | --close-no-delete] [--no-audio] [--no-video] \
        [--max-retries 60] \
        [--connect-timeout 10] [--frame-timeout 10] [--frame-log] \
        [--print-offer]

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
    {"event":"disconnected","connection":..,"ice":..,"dtls":..}
    {"event":"deleted","status":200}             after DELETE
    {"event":"closed"}                           --close-no-delete: after
                                                 pc.close(), instead of DELETE
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
import json
import os
import signal
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import aioice.ice

# aioice skips loopback addresses: gather on 127.0.0.1 only
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: E402
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
HTTP_TIMEOUT = 10
BACKOFF = [0.5, 1, 2, 4, 5]
MIN_RETRY = 0.25


def emit(event, **fields):
    obj = {"event": event}
    obj.update(fields)
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def http_request(method, url, body=None, headers=None):
    """(status, headers as list of (name, value), body); status 0 when
    the server could not be reached."""
    req = urllib.request.Request(url, data=body, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as r:
            return r.status, r.getheaders(), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return (e.code, list(e.headers.items()),
                e.read().decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError) as e:
        return 0, [], str(getattr(e, "reason", e))


def header(headers, name):
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


def retry_after(value):
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        from email.utils import parsedate_to_datetime
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def offer_summary(sdp):
    lines = sdp.splitlines()
    return {"media": [line.split()[0][2:] for line in lines
                      if line.startswith("m=")],
            "directions": [line[2:] for line in lines
                           if line in ("a=recvonly", "a=sendrecv",
                                       "a=sendonly", "a=inactive")],
            "candidates": sum(1 for line in lines
                              if line.startswith("a=candidate:"))}


def dtls_state(pc):
    states = set()
    for t in pc.getTransceivers():
        tr = t.receiver.transport if t.receiver else None
        if tr is not None:
            states.add(tr.state)
    for bad in ("failed", "closed"):
        if bad in states:
            return bad
    states.discard("connected")
    return states.pop() if states else "connected"


async def wait_connected(pc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pc.connectionState == "connected":
            return True
        if pc.connectionState in ("failed", "closed"):
            return False
        await asyncio.sleep(0.05)
    return False


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
    headers = {"User-Agent": USER_AGENT}
    if args.token:
        headers["Authorization"] = f"Bearer {args.token}"

    if args.audio:
        pc.addTransceiver("audio", direction="recvonly")
    if args.video:
        pc.addTransceiver("video", direction="recvonly")

    c = Counters()
    first_video = asyncio.Event()
    tasks = []
    last = {}

    @pc.on("track")
    def on_track(track):
        emit("track", kind=track.kind)
        tasks.append(asyncio.ensure_future(consume(track, c, args,
                                                   first_video)))

    def report_state():
        if args.print_offer:
            return
        now = {"ice": pc.iceConnectionState,
               "connection": pc.connectionState}
        if now != last:
            last.update(now)
            emit("state", **now)

    pc.on("connectionstatechange", report_state)
    pc.on("iceconnectionstatechange", report_state)

    offer = await pc.createOffer()
    # aiortc gathers all candidates here (bounded by its own timers)
    await asyncio.wait_for(pc.setLocalDescription(offer), args.connect_timeout)
    sdp = pc.localDescription.sdp

    if args.print_offer:
        sys.stdout.write(sdp)
        sys.stdout.flush()
        await pc.close()
        return 0

    emit("offer", **offer_summary(sdp))

    retries = 0
    while True:
        c.post_start = time.monotonic()
        if c.first_post is None:
            c.first_post = c.post_start
        status, rh, body = await asyncio.to_thread(
            http_request, "POST", args.url, sdp.encode(),
            dict(headers, **{"Content-Type": "application/sdp"}))
        if status == 409 and retries < args.max_retries:
            retries += 1
            ra = retry_after(header(rh, "retry-after"))
            delay = BACKOFF[min(retries, len(BACKOFF)) - 1]
            if ra is not None and ra < delay:
                delay = max(MIN_RETRY, ra)
            emit("waiting", retries=retries, status=status, retry_after=ra,
                 delay=delay, body=body.strip()[:200])
            await asyncio.sleep(delay)
            continue
        break

    if status != 201:
        emit("error", stage="post", status=status, body=body.strip(),
             retries=retries)
        await pc.close()
        return 2

    location = header(rh, "location")
    links = [v for k, v in rh if k.lower() == "link"]
    emit("answer", status=status, location=location,
         etag=header(rh, "etag"), content_type=header(rh, "content-type"),
         links=links, retries=retries, sdp=body)

    if not location:
        emit("error", stage="post", status=status, body="no Location header")
        await pc.close()
        return 2
    session_url = urllib.parse.urljoin(args.url, location)

    answer = body[body.find("v=0"):] if "v=0" in body else body
    try:
        await pc.setRemoteDescription(
            RTCSessionDescription(sdp=answer, type="answer"))
    except Exception as e:  # noqa: BLE001
        emit("error", stage="answer", status=status, body=str(e))
        await asyncio.to_thread(http_request, "DELETE", session_url,
                                None, headers)
        await pc.close()
        return 1

    stop_early = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1,
                                                  stop_early.set)

    async def stats_line():
        st = await inbound_stats(pc)
        emit("stats", video_frames=c.video_frames,
             audio_frames=c.audio_frames, width=c.width, height=c.height,
             bad_extensions=BAD_EXTENSIONS[0], **st)

    rc = 0
    if await wait_connected(pc, args.connect_timeout):
        emit("connected")
        if args.video:
            deadline = time.monotonic() + args.frame_timeout
            while not first_video.is_set() and not stop_early.is_set():
                dtls = dtls_state(pc)
                if pc.connectionState != "connected" or dtls != "connected":
                    emit("disconnected", connection=pc.connectionState,
                         ice=pc.iceConnectionState, dtls=dtls)
                    rc = 3
                    break
                if time.monotonic() > deadline:
                    emit("error", stage="first_frame", status=status,
                         body=f"no video frame decoded after "
                              f"{args.frame_timeout} s")
                    rc = 3
                    break
                await asyncio.sleep(0.02)
        start = time.monotonic()
        next_stats = start + args.stats_interval
        while rc == 0 and time.monotonic() - start < args.seconds \
                and not stop_early.is_set():
            dtls = dtls_state(pc)
            if pc.connectionState != "connected" or dtls != "connected":
                emit("disconnected", connection=pc.connectionState,
                     ice=pc.iceConnectionState, dtls=dtls)
                rc = 3
                break
            if time.monotonic() >= next_stats:
                next_stats += args.stats_interval
                await stats_line()
            await asyncio.sleep(0.05)
    else:
        emit("error", stage="connect", status=status,
             body=f"not connected after {args.connect_timeout} s "
                  f"(connection {pc.connectionState}, "
                  f"ice {pc.iceConnectionState})")
        rc = 3

    await stats_line()

    if args.no_delete:
        # a viewer that vanished: no DELETE, no DTLS close_notify
        sys.stdout.flush()
        os._exit(rc)

    if args.close_no_delete:
        # a viewer that closes its connection (DTLS close_notify) and
        # sends no DELETE
        await close(pc, tasks)
        emit("closed")
        return rc

    status, _, body = await asyncio.to_thread(
        http_request, "DELETE", session_url, None, headers)
    emit("deleted", status=status, body=body if status != 200 else None)
    if status != 200 and rc == 0:
        rc = 2

    await close(pc, tasks)
    return rc


async def close(pc, tasks):
    """Stops the frame readers and closes the connection (DTLS
    close_notify), waiting at most 5 s."""
    for t in tasks:
        t.cancel()
    try:
        await asyncio.wait_for(pc.close(), 5)
    except asyncio.TimeoutError:
        pass


def main():
    p = argparse.ArgumentParser(description="WHEP viewer (aiortc)")
    p.add_argument("--url", required=True)
    p.add_argument("--token")
    p.add_argument("--seconds", type=float, default=5,
                   help="seconds to watch after the first frame")
    p.add_argument("--no-delete", action="store_true")
    p.add_argument("--close-no-delete", action="store_true")
    p.add_argument("--audio", action=argparse.BooleanOptionalAction,
                   default=True)
    p.add_argument("--video", action=argparse.BooleanOptionalAction,
                   default=True)
    p.add_argument("--max-retries", type=int, default=60,
                   help="POSTs repeated after a 409 (default 60)")
    p.add_argument("--connect-timeout", type=float, default=10)
    p.add_argument("--frame-timeout", type=float, default=10,
                   help="seconds to wait for the first decoded video frame")
    p.add_argument("--stats-interval", type=float, default=1)
    p.add_argument("--frame-log", action="store_true",
                   help="print every decoded video frame")
    p.add_argument("--print-offer", action="store_true")
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

    budget = (args.seconds + args.frame_timeout + 3 * args.connect_timeout
              + 3 * HTTP_TIMEOUT
              + args.max_retries * (BACKOFF[-1] + HTTP_TIMEOUT))

    async def bounded():
        return await asyncio.wait_for(run(args), budget)

    try:
        rc = asyncio.run(bounded())
    except asyncio.TimeoutError:
        emit("error", stage="timeout", status=0,
             body=f"gave up after {budget:.0f} s")
        rc = 1
    except Exception as e:  # noqa: BLE001
        emit("error", stage="exception", status=0, body=repr(e))
        rc = 1
    sys.stdout.flush()
    # aiortc may leave threads (decoders) behind: do not wait for them
    os._exit(rc)


if __name__ == "__main__":
    main()
