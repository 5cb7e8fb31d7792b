#!/usr/bin/python3
"""WHIP publisher built on aiortc 1.4 (Debian's python3-aiortc).

Run it with /usr/bin/python3: a pyenv python first on PATH cannot see
Debian's packages.

    /usr/bin/python3 t/clients/aiortc_publish.py \
        --url http://127.0.0.1:8080/whip/cam1 [--token T] [--seconds 5] \
        [--no-delete] [--no-audio] [--no-video] [--datachannel] \
        [--video-codec any|h264|vp8] [--video-size 640x360] \
        [--close-no-delete] [--connect-timeout 10] [--print-offer] \
        [--keyframe-interval SECONDS] [--ignore-pli] [--video-delay SECONDS]
        [--ssrc-flood N [--ssrc-flood-delay SECONDS]]
        [--dc-label chat] [--dc-messages N] [--dc-control FILE] [--dc-ping]

Prints one JSON object per line on stdout:

    {"event":"offer", ...}                    offer summary (not the SDP)
    {"event":"answer","status":201,"location":...,"etag":...,"links":[...],
     "content_type":...,"sdp":...}
    {"event":"state","ice":...,"connection":...}   on every change
    {"event":"connected"}                     connectionState "connected"
    {"event":"datachannel","state":"open","label":..}   with --datachannel
    {"event":"datachannel","state":"remote","label":..}
                                              a channel the server opened
    {"event":"datachannel","label":..,"binary":false|true,"size":N,
     "data":<text, or base64>,"message":<text, or hex>}
                                              each message received, on
                                              any channel
    {"event":"dc_sent","what":..,"count":N,...}  after --dc-messages and
                                              after each control command
    {"event":"stats","tracks":[{"kind":..,"packets":..,"bytes":..}]}
    {"event":"disconnected","connection":...,"dtls":...}
                                              lost before --seconds ended
                                              (also when the server closed
                                              DTLS: aiortc then still says
                                              connectionState "connected")
    {"event":"deleted","status":200}          after DELETE
    {"event":"error","status":...,"body":...,"stage":...}
    {"event":"keyframe","wall":<time.time()>,"pts":<90 kHz, encoder
     clock, without the sender's random RTP offset>,"codec":"h264"|"vp8"}
                                              each keyframe the encoder
                                              emits, with
                                              --keyframe-interval or
                                              --ignore-pli
    {"event":"pli","ignored":true|false}      each PLI received, with the
                                              same flags
    {"event":"ssrc_flood","packets":N}        --ssrc-flood sent (see
                                              aiortc_setup.ssrc_flood)

Exit status: 0 success, 2 HTTP error (POST not 201, DELETE not 200,
connection refused), 3 no connection / connection lost, 1 anything else.
With --print-offer the raw offer SDP is printed and nothing is sent.
With --no-delete the process exits right after sending, without DELETE
and without closing the peer connection (a peer that vanished).
With --close-no-delete it closes the peer connection (aiortc sends a DTLS
close_notify) without DELETE, then prints {"event":"closed"} and waits
--linger seconds (default 0) before exiting.
SIGUSR1 ends the sending phase early (as if --seconds had elapsed): tests
use a long --seconds and signal the client when they are done.

Data channel (--datachannel): one channel labelled --dc-label (default
"test") opened before the offer. --dc-messages N sends, once it is open,
the numbered sequence dc_message(1..N) (see that function: text, text
with a line break, empty text, binary), --dc-interval seconds apart.
--dc-control FILE: commands appended to FILE, one JSON object per line,
run in order while connected:
    {"send":"text"[,"label":L]}        one text message (on the channel
                                       labelled L, opened if needed)
    {"binary_size":N[,"byte":B][,"label":L]}  N bytes of value B (0x42)
    {"text_size":N[,"label":L]}        N times "x" as text
    {"messages":N[,"start":K][,"interval":S][,"label":L]}
                                       dc_message(K .. K+N-1)
    {"flood":N[,"label":L][,"align":true]}
                                       N text messages "flood <k>" at once,
                                       (align: starting 0.1 s after a
                                       wall-clock second, so that a
                                       per-second limit sees them in one
                                       second)
    {"close_channel":L}                close the channel labelled L
  and, to feed the server bad input from inside a real association:
    {"raw":HEX,"ppid":P,"sid":S}       one SCTP message with any PPID on
                                       any stream id, no DCEP (e.g. an
                                       invalid DCEP message: ppid 50)
    {"sctp_packet":HEX[,"vtag":"real"|"wrong"][,"crc":"good"|"bad"]}
                                       an SCTP packet inside DTLS: the
                                       common header (ports, verification
                                       tag, CRC32c) made here, then the
                                       chunk bytes HEX as given
    {"garbage":N}                      N random bytes as DTLS application
                                       data (not SCTP at all)
"""

import argparse
import asyncio
import base64
import fractions
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))

import aiortc_setup  # noqa: E402  (before aiortc: ICE on loopback)
import whip  # noqa: E402
from whip import emit  # noqa: E402

from aiortc import RTCPeerConnection  # noqa: E402
from aiortc.mediastreams import (  # noqa: E402
    AudioStreamTrack,
    VideoStreamTrack,
)
from aiortc.rtcrtpsender import RTCRtpSender  # noqa: E402

USER_AGENT = "aiortc/1.4 (ngx-webrtc-tests)"


class PatternTrack(VideoStreamTrack):
    """640x360 frames with a moving bar, so that the encoder has work."""

    def __init__(self, width=640, height=360, delay=0):
        super().__init__()
        self.width = width
        self.height = height
        self.delay = delay
        self.n = 0
        try:
            import numpy

            self.np = numpy
            y = numpy.arange(width, dtype=numpy.uint16)
            self.ramp = numpy.tile((y * 255 // width).astype(numpy.uint8),
                                   (height, 1))
        except ImportError:  # plain green frames then
            self.np = None

    async def recv(self):
        if self.delay:
            # --video-delay: the first frame (a keyframe) that much later
            delay, self.delay = self.delay, 0
            await asyncio.sleep(delay)

        if self.np is None:
            return await super().recv()

        from av import VideoFrame

        np = self.np
        pts, time_base = await self.next_timestamp()
        w, h = self.width, self.height
        buf = np.empty((h * 3 // 2, w), dtype=np.uint8)
        luma = np.roll(self.ramp, self.n * 8, axis=1)
        x = (self.n * 6) % w
        luma[:, x:x + 40] = 235
        buf[:h] = luma
        buf[h:] = 128 + (self.n % 64)
        self.n += 1
        frame = VideoFrame.from_ndarray(buf, format="yuv420p")
        frame.pts = pts
        frame.time_base = time_base
        return frame


def dc_message(k):
    """The k-th message (1-based) of the numbered sequence: k % 5 == 0
    binary (k % 256 repeated 7 + k times), k % 5 == 3 text with a line
    break, k % 7 == 6 empty text, else the text "msg <k> é"; tests
    rebuild the same sequence."""
    if k % 5 == 0:
        return bytes([k % 256]) * (7 + k)
    if k % 5 == 3:
        return f"msg {k}\nsecond line of {k}"
    if k % 7 == 6:
        return ""
    return f"msg {k} \u00e9"


def prefer_codec(transceiver, kind, codec):
    if codec == "any":
        return
    caps = RTCRtpSender.getCapabilities(kind)
    chosen = [c for c in caps.codecs
              if c.mimeType.lower() in (f"{kind}/{codec}", f"{kind}/rtx")]
    if not any(c.mimeType.lower() == f"{kind}/{codec}" for c in chosen):
        raise SystemExit(f"codec {codec} not available for {kind}")
    transceiver.setCodecPreferences(chosen)


async def collect_stats(pc):
    tracks = []
    try:
        report = await pc.getStats()
    except Exception as e:  # noqa: BLE001
        return [{"error": str(e)}]
    for s in report.values():
        if getattr(s, "type", None) == "outbound-rtp":
            tracks.append({"kind": s.kind, "ssrc": s.ssrc,
                           "packets": s.packetsSent, "bytes": s.bytesSent})
    return tracks


async def run(args):
    pc = RTCPeerConnection()
    headers = whip.request_headers(USER_AGENT, args.token)

    if args.audio:
        pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    if args.video:
        t = pc.addTransceiver(PatternTrack(args.width, args.height,
                                          args.video_delay),
                              direction="sendonly")
        prefer_codec(t, "video", args.video_codec)
    dc = None
    channels = {}       # label -> our channel of that label

    def watch_channel(ch):
        @ch.on("message")
        def on_message(msg):
            if isinstance(msg, str):
                emit("datachannel", label=ch.label, binary=False,
                     size=len(msg.encode()), data=msg, message=msg)
            else:
                emit("datachannel", label=ch.label, binary=True,
                     size=len(msg), data=base64.b64encode(msg).decode(),
                     message=msg.hex())

    def open_channel(label):
        ch = pc.createDataChannel(label)
        channels[label] = ch

        @ch.on("open")
        def on_open():
            emit("datachannel", state="open", label=ch.label)

        watch_channel(ch)
        return ch

    if args.datachannel:
        dc = open_channel(args.dc_label)

        @pc.on("datachannel")
        def on_remote_channel(ch):
            emit("datachannel", state="remote", label=ch.label)
            watch_channel(ch)

    if not args.print_offer:
        aiortc_setup.report_states(pc)

    sdp = await aiortc_setup.local_offer(
        pc, args, **({"video_size": [args.width, args.height]}
                     if args.video else {}))
    if sdp is None:
        return 0

    response = await whip.post_offer(args.url, sdp, headers)
    session_url, rc = await aiortc_setup.accept_answer(
        pc, args.url, response[:3], headers)
    if session_url is None:
        return rc

    stop_early = aiortc_setup.stop_signal()

    control = {"offset": 0, "rest": ""}
    next_ping = 0.0
    messages_sent = False

    async def channel(label):
        ch = channels.get(label) or open_channel(label)
        t_end = time.monotonic() + 5
        while ch.readyState != "open" and time.monotonic() < t_end:
            await asyncio.sleep(0.02)
        if ch.readyState != "open":
            raise RuntimeError(f"channel {label} not open")
        return ch

    async def send_sequence(ch, start, n, interval):
        for k in range(start, start + n):
            ch.send(dc_message(k))
            if interval > 0:
                await asyncio.sleep(interval)
        emit("dc_sent", what="messages", label=ch.label, start=start, count=n)

    async def run_command(cmd):
        label = cmd.get("label", args.dc_label)
        sctp = pc.sctp
        if "raw" in cmd:
            await sctp._send(int(cmd["sid"]), int(cmd["ppid"]),
                             bytes.fromhex(cmd["raw"]))
            emit("dc_sent", what="raw", count=1, sid=int(cmd["sid"]),
                 ppid=int(cmd["ppid"]))
            return
        if "sctp_packet" in cmd:
            from crc32c import crc32c
            from struct import pack
            vtag = sctp._remote_verification_tag
            if cmd.get("vtag") == "wrong":
                vtag ^= 0x5A5A5A5A
            header = pack("!HHL", sctp._local_port, sctp._remote_port, vtag)
            body = bytes.fromhex(cmd["sctp_packet"])
            crc = crc32c(header + b"\x00\x00\x00\x00" + body)
            if cmd.get("crc") == "bad":
                crc ^= 0xFFFF
            await sctp.transport._send_data(header + pack("<L", crc) + body)
            emit("dc_sent", what="sctp_packet", count=1)
            return
        if "garbage" in cmd:
            await sctp.transport._send_data(os.urandom(int(cmd["garbage"])))
            emit("dc_sent", what="garbage", count=1)
            return
        if "close_channel" in cmd:
            ch = channels.pop(cmd["close_channel"], None)
            if ch is not None:
                ch.close()
            emit("dc_sent", what="close", label=cmd["close_channel"], count=0)
            return
        ch = await channel(label)
        if "send" in cmd:
            ch.send(str(cmd["send"]))
            emit("dc_sent", what="text", label=label, count=1)
        elif "binary_size" in cmd:
            ch.send(bytes([cmd.get("byte", 0x42)]) * int(cmd["binary_size"]))
            emit("dc_sent", what="binary", label=label, count=1,
                 size=int(cmd["binary_size"]))
        elif "text_size" in cmd:
            ch.send("x" * int(cmd["text_size"]))
            emit("dc_sent", what="text", label=label, count=1,
                 size=int(cmd["text_size"]))
        elif "messages" in cmd:
            await send_sequence(ch, int(cmd.get("start", 1)),
                                int(cmd["messages"]),
                                float(cmd.get("interval", 0.02)))
        elif "flood" in cmd:
            if cmd.get("align"):
                frac = time.time() % 1
                await asyncio.sleep((1.1 - frac) % 1)
            t0 = time.time()
            for k in range(1, int(cmd["flood"]) + 1):
                ch.send(f"flood {k}")
            emit("dc_sent", what="flood", label=label,
                 count=int(cmd["flood"]), wall=t0)
        else:
            emit("error", stage="control", status=0,
                 body=f"unknown command {cmd}")

    def read_control():
        if not args.dc_control:
            return []
        try:
            with open(args.dc_control, "rb") as f:
                f.seek(control["offset"])
                data = f.read()
        except OSError:
            return []
        control["offset"] += len(data)
        control["rest"] += data.decode("utf-8", "replace")
        cmds = []
        while "\n" in control["rest"]:
            line, control["rest"] = control["rest"].split("\n", 1)
            if line.strip():
                cmds.append(json.loads(line))
        return cmds

    rc = 0
    if await aiortc_setup.wait_connected(pc, args.connect_timeout):
        emit("connected")
        deadline = time.monotonic() + args.seconds
        flood_at = time.monotonic() + args.ssrc_flood_delay
        while time.monotonic() < deadline and not stop_early.is_set():
            if aiortc_setup.lost(pc):
                rc = 3
                break
            if args.ssrc_flood and time.monotonic() >= flood_at:
                await aiortc_setup.ssrc_flood(pc, args.ssrc_flood)
                args.ssrc_flood = 0
            if dc is not None and dc.readyState == "open":
                if args.dc_ping and time.monotonic() >= next_ping:
                    dc.send(f"ping {time.time():.3f}")
                    next_ping = time.monotonic() + 0.2
                if args.dc_messages and not messages_sent:
                    messages_sent = True
                    await send_sequence(dc, 1, args.dc_messages,
                                        args.dc_interval)
            if dc is not None and (messages_sent or not args.dc_messages) \
                    and dc.readyState != "connecting":
                # commands once our channel was open (also after it closed)
                for cmd in read_control():
                    try:
                        await run_command(cmd)
                    except Exception as e:  # noqa: BLE001
                        emit("error", stage="control", status=0,
                             body=repr(e))
            await asyncio.sleep(0.05)
    else:
        rc = 3

    emit("stats", tracks=await collect_stats(pc))
    return await aiortc_setup.end(pc, session_url, headers, rc, args)


# --- --keyframe-interval / --ignore-pli -----------------------------------
#
# aiortc 1.4 as shipped: the H264 encoder (libx264 through PyAV) ignores
# force_keyframe and leaves libavcodec's default GOP of 12 frames (an IDR
# every 0.4 s at 30 fps) plus scene-cut IDRs, and reopens the encoder (an
# IDR) when REMB moves the bitrate by more than 10 %; VP8 makes a keyframe
# at most every 3000 frames and on PLI. RTCRtpSender turns a PLI into
# _send_keyframe() (force the next frame); FIR is not handled at all.


def video_payload_is_key(mime, payload):
    """Keyframe test on the first RTP payload of an encoded frame."""
    if not payload:
        return False
    if mime == "video/h264":
        t = payload[0] & 0x1F
        if t == 24:  # STAP-A
            o = 1
            while o + 2 < len(payload):
                n = int.from_bytes(payload[o:o + 2], "big")
                if payload[o + 2] & 0x1F in (5, 7):
                    return True
                o += 2 + n
            return False
        if t == 28:  # FU-A
            return len(payload) > 1 and bool(payload[1] & 0x80) \
                and payload[1] & 0x1F in (5, 7)
        return t in (5, 7)
    if mime == "video/vp8":
        from aiortc.codecs.vpx import VpxPayloadDescriptor
        try:
            desc, rest = VpxPayloadDescriptor.parse(payload)
        except ValueError:
            return False
        return bool(desc.partition_start) and desc.partition_id == 0 \
            and len(rest) > 0 and not rest[0] & 0x01
    return False


def install_keyframe_control(interval, ignore_pli):
    """interval: seconds between keyframes (None: the encoder decides);
    ignore_pli: PLI from the server does not force a keyframe. Prints
    {"event":"keyframe","wall":..,"pts":..,"codec":..} for
    every keyframe the video encoder emits, and {"event":"pli",
    "ignored":..} for every PLI received."""
    import av
    from aiortc.codecs import h264 as aiortc_h264
    from aiortc.codecs import vpx as aiortc_vpx
    from aiortc.codecs._vpx import lib as vpx_lib

    state = {"last": None}

    def scheduled(force_keyframe):
        """Whether this frame must be a keyframe."""
        now = time.monotonic()
        if force_keyframe or state["last"] is None \
                or now - state["last"] >= interval:
            state["last"] = now
            return True
        return False

    if interval is not None:
        # VP8: no automatic keyframes once the encoder exists (the first
        # frame is a keyframe anyway); keyframes only when scheduled
        orig_vp8_encode = aiortc_vpx.Vp8Encoder.encode

        def vp8_encode(self, frame, force_keyframe=False):
            force = scheduled(force_keyframe)
            had_codec = self.codec is not None
            out = orig_vp8_encode(self, frame, force)
            if not had_codec and self.codec is not None:
                self.cfg.kf_mode = vpx_lib.VPX_KF_DISABLED
                aiortc_vpx._vpx_assert(vpx_lib.vpx_codec_enc_config_set(
                    self.codec, self.cfg))
            return out

        aiortc_vpx.Vp8Encoder.encode = vp8_encode

        # H264: libx264 with no GOP limit and no scene cut; IDR when
        # scheduled; a bitrate change does not reopen the encoder
        def h264_encode_frame(self, frame, force_keyframe):
            if self.codec and (frame.width != self.codec.width
                               or frame.height != self.codec.height):
                self.buffer_data = b""
                self.buffer_pts = None
                self.codec = None
            if self.codec is None:
                codec = av.CodecContext.create("libx264", "w")
                codec.width = frame.width
                codec.height = frame.height
                codec.bit_rate = self.target_bitrate
                codec.pix_fmt = "yuv420p"
                codec.framerate = fractions.Fraction(
                    aiortc_h264.MAX_FRAME_RATE, 1)
                codec.time_base = fractions.Fraction(
                    1, aiortc_h264.MAX_FRAME_RATE)
                codec.gop_size = 1000000
                codec.options = {
                    "profile": "baseline",
                    "level": "31",
                    "tune": "zerolatency",
                    "forced-idr": "1",
                    "x264-params": "scenecut=0:keyint=infinite",
                }
                codec.open()
                self.codec = codec
                self.codec_buffering = False
                state["last"] = time.monotonic()   # the first IDR
            elif scheduled(force_keyframe):
                frame.pict_type = av.video.frame.PictureType.I
            else:
                frame.pict_type = av.video.frame.PictureType.NONE
            data = b"".join(bytes(p) for p in self.codec.encode(frame))
            if data:
                yield from self._split_bitstream(data)

        aiortc_h264.H264Encoder._encode_frame = h264_encode_frame

    if ignore_pli:
        # RTCRtpSender._handle_rtcp_packet: PSFB PLI -> _send_keyframe()
        def no_keyframe(self):
            emit("pli", ignored=True)

        RTCRtpSender._send_keyframe = no_keyframe
    else:
        orig_send_keyframe = RTCRtpSender._send_keyframe

        def send_keyframe(self):
            emit("pli", ignored=False)
            orig_send_keyframe(self)

        RTCRtpSender._send_keyframe = send_keyframe

    orig_next = RTCRtpSender._next_encoded_frame

    async def next_encoded_frame(self, codec):
        enc = await orig_next(self, codec)
        mime = codec.mimeType.lower()
        try:
            key = mime.startswith("video/") and enc.payloads \
                and video_payload_is_key(mime, enc.payloads[0])
        except Exception as e:  # noqa: BLE001  never break the sender
            emit("keyframe_check_failed", error=repr(e))
            key = False
        if key:
            emit("keyframe", wall=time.time(), pts=enc.timestamp,
                 codec=mime[6:])
        return enc

    RTCRtpSender._next_encoded_frame = next_encoded_frame


def main():
    p = argparse.ArgumentParser(description="WHIP publisher (aiortc)")
    whip.add_arguments(p)
    p.add_argument("--video-codec", default="any",
                   choices=["any", "h264", "vp8"])
    p.add_argument("--video-size", default="640x360",
                   help="WxH of the generated video (default 640x360)")
    p.add_argument("--datachannel", action="store_true")
    p.add_argument("--dc-ping", action="store_true",
                   help="send a text message on the data channel every 0.2 s")
    p.add_argument("--dc-label", default="test",
                   help="label of the data channel (default test)")
    p.add_argument("--dc-messages", type=int, default=0, metavar="N",
                   help="send the numbered sequence of N messages once "
                        "the channel is open")
    p.add_argument("--dc-interval", type=float, default=0.02,
                   help="seconds between --dc-messages messages")
    p.add_argument("--dc-control", metavar="FILE",
                   help="run the data channel commands appended to FILE")
    p.add_argument("--keyframe-interval", type=float, metavar="SECONDS",
                   help="video keyframes only every SECONDS (and on PLI "
                        "unless --ignore-pli); prints keyframe events")
    p.add_argument("--ssrc-flood", type=int, default=0, metavar="N",
                   help="once connected (and --ssrc-flood-delay later), "
                        "send N SRTP packets of an unnegotiated payload "
                        "type, each from its own SSRC; prints ssrc_flood")
    p.add_argument("--ssrc-flood-delay", type=float, default=0,
                   metavar="SECONDS")
    p.add_argument("--ignore-pli", action="store_true",
                   help="PLI from the server does not trigger a keyframe "
                        "(like OBS); prints keyframe and pli events")
    p.add_argument("--video-delay", type=float, default=0, metavar="SECONDS",
                   help="the first video frame SECONDS after the track "
                        "starts (audio flows meanwhile)")
    args = p.parse_args()
    if args.keyframe_interval is not None and args.keyframe_interval <= 0:
        p.error("bad --keyframe-interval")
    if args.keyframe_interval is not None or args.ignore_pli:
        install_keyframe_control(args.keyframe_interval, args.ignore_pli)

    if not (args.audio or args.video or args.datachannel):
        p.error("nothing to send")
    try:
        args.width, args.height = (int(x) for x in
                                   args.video_size.lower().split("x"))
    except ValueError:
        p.error("bad --video-size (WxH)")
    if args.width < 16 or args.height < 16 or args.width % 2 \
            or args.height % 2:
        p.error("bad --video-size (WxH, even, at least 16x16)")

    # aiortc may leave threads (encoders) behind: run_bounded does not
    # wait for them
    whip.run_bounded(lambda: run(args),
                     args.seconds + args.linger + 3 * args.connect_timeout
                     + 3 * whip.HTTP_TIMEOUT)


if __name__ == "__main__":
    main()
