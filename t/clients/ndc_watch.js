#!/usr/bin/env node
'use strict';

/*
 * A WHEP viewer on node-datachannel (libdatachannel): receives raw RTP,
 * decodes nothing, counts packets and finds keyframes.
 *
 *   node t/clients/ndc_watch.js --url http://127.0.0.1:8080/whep/cam1
 *       [--token T] [--seconds 5] [--no-delete] [--no-audio] [--no-video]
 *       [--video-codec both|h264|vp8] [--max-retries 60]
 *       [--connect-timeout 10] [--frame-timeout 10] [--no-candidates]
 *       [--no-rtcp] [--request-keyframe] [--print-offer] [--verbose]
 *
 * Offer: audio mid "0" Opus pt 111 recvonly, video mid "1" recvonly with
 * H264 pt 96 (packetization-mode=1) and VP8 pt 97 (--video-codec picks
 * one); BUNDLE, rtcp-mux; sent after ICE gathering completes (bounded)
 * unless --no-candidates (OBS style: no candidates in the offer).
 * A 409 is retried with backoff (0.5, 1, 2, 4, then 5 s, or Retry-After
 * when smaller), at most --max-retries times, with the same offer.
 * RTP arrives through track.onMessage (an RtcpReceivingSession handler
 * sends receiver reports; --no-rtcp leaves the track without handler);
 * --request-keyframe sends one PLI once connected.
 *
 * stdout: one JSON object per line:
 *   {"event":"offer","media":[..],"candidates":N}
 *   {"event":"waiting","retries":N,"status":409,"retry_after":S,"delay":S}
 *   {"event":"answer","status":201,"location":..,"etag":..,"links":[..],
 *    "content_type":..,"sdp":..}
 *   {"event":"state","ice":..,"connection":..}
 *   {"event":"connected"}
 *   {"event":"first_packet","kind":..,"t":..,"pt":..,"ssrc":..,"seq":..}
 *   {"event":"first_keyframe","t":..,"wall":..,"codec":..,"rtp_ts":..,
 *    "seq":..,"nal_types":[..]}   t: seconds since the start of the
 *                                 successful POST; wall: Date.now()/1000
 *   {"event":"stats","audio_packets":N,"video_packets":N,"keyframes":N,
 *    "audio_bytes":N,"video_bytes":N,"rtcp_packets":N,"bad_packets":N,
 *    "video_seq_gaps":N,"audio_seq_gaps":N,"video_pts":[..],
 *    "video_ssrcs":[..],"audio_ssrcs":[..]}        every second
 *   {"event":"disconnected","connection":..,"ice":..}
 *   {"event":"deleted","status":200}
 *   {"event":"error","stage":..,"status":..,"body":..}
 * keyframes counts distinct RTP timestamps whose packets carry an H264
 * IDR/SPS (NAL 5 or 7: single NAL, STAP-A, or FU-A start) or a VP8 key
 * frame (start of partition with P bit 0).
 *
 * Exit status: 0 success, 2 HTTP error, 3 no connection / connection lost
 * / no keyframe within --frame-timeout (with video), 1 anything else.
 * SIGUSR1 ends the watching phase early.
 */

const { emit, sleep, stop, parseArgs } = require('./lib/cli');
const whip = require('./lib/whip');
const {
    ndc, OPTIONS, peerConnection, startSession, waitConnected,
    waitFor, finish, hardExit, leave, watchdog, run,
} = require('./lib/ndc');

const HTTP_TIMEOUT_MS = 10000;
const AUDIO_MID = '0';
const VIDEO_MID = '1';
const OPUS_PT = 111;
const H264_PT = 96;
const VP8_PT = 97;

function usage(msg) {
    if (msg) process.stderr.write(`ndc_watch: ${msg}\n`);
    process.stderr.write('usage: ndc_watch.js --url URL [--token T] [--seconds N] '
        + '[--no-delete] [--no-audio] [--no-video] [--video-codec both|h264|vp8] '
        + '[--max-retries N] [--connect-timeout N] [--frame-timeout N] '
        + '[--no-candidates] [--no-rtcp] [--request-keyframe] [--print-offer] '
        + '[--verbose]\n');
    process.exit(64);
}

function options(argv) {
    const a = parseArgs(argv, Object.assign({
        '--max-retries': ['maxRetries', Number],
        '--frame-timeout': ['frameTimeout', Number],
        '--video-codec': ['videoCodec', (v) => v.toLowerCase()],
        '--no-candidates': ['candidates', false],
        '--no-rtcp': ['rtcp', false],
        '--request-keyframe': ['requestKeyframe', true],
    }, OPTIONS), {
        url: null, token: null, seconds: 5, delete: true, audio: true, video: true,
        videoCodec: 'both', maxRetries: 60, connectTimeout: 10, frameTimeout: 10,
        candidates: true, rtcp: true, requestKeyframe: false, printOffer: false,
        verbose: false, userAgent: 'ndc-watch (ngx-webrtc-tests)',
    }, usage);
    if (!a.url && !a.printOffer) usage('--url is required');
    if (!a.audio && !a.video) usage('nothing to receive');
    if (!['both', 'h264', 'vp8'].includes(a.videoCodec)) usage('bad --video-codec');
    if (!(a.seconds >= 0) || !(a.connectTimeout > 0) || !(a.frameTimeout > 0)
        || !(a.maxRetries >= 0)) usage('bad number');
    return a;
}

/* payload type -> codec name (lower case) per media kind, from an SDP */
function payloadTypes(sdp) {
    const map = { audio: {}, video: {} };
    let kind = null;
    for (const l of sdp.split(/\r?\n/)) {
        const m = l.match(/^m=(\w+)/);
        if (m) { kind = m[1]; continue; }
        const r = l.match(/^a=rtpmap:(\d+) ([^/]+)\//);
        if (r && map[kind]) map[kind][Number(r[1])] = r[2].toLowerCase();
    }
    return map;
}

/* ---------------------------------------------------------------- RTP */

/* NAL types of an H264 RTP payload that START in this packet */
function h264NalTypes(p) {
    if (!p.length) return [];
    const t = p[0] & 0x1f;
    if (t === 24) {                                 /* STAP-A */
        const out = [];
        for (let o = 1; o + 2 < p.length;) {
            const len = p.readUInt16BE(o);
            out.push(p[o + 2] & 0x1f);
            o += 2 + len;
        }
        return out;
    }
    if (t === 28) {                                 /* FU-A */
        return p.length > 1 && (p[1] & 0x80) ? [p[1] & 0x1f] : [];
    }
    return [t];
}

/* VP8 (RFC 7741): key frame when this packet starts partition 0 and the
 * payload header's P bit is 0 */
function vp8Key(p) {
    if (p.length < 2) return false;
    let o = 1;
    const x = p[0] & 0x80;
    const s = p[0] & 0x10;
    const pid = p[0] & 0x07;
    if (x) {
        const ext = p[1];
        o = 2;
        if (ext & 0x80) o += (p[o] & 0x80) ? 2 : 1;   /* I: PictureID */
        if (ext & 0x40) o += 1;                       /* L: TL0PICIDX */
        if (ext & 0x30) o += 1;                       /* T/K */
    }
    if (!s || pid !== 0 || o >= p.length) return false;
    return (p[o] & 0x01) === 0;
}

function newTrackStats(kind) {
    return {
        kind, packets: 0, bytes: 0, rtcp: 0, bad: 0, seqGaps: 0, lastSeq: null,
        pts: new Set(), ssrcs: new Set(), keyTs: new Set(), keyframes: 0,
        first: null,
    };
}

/* ---------------------------------------------------------------- main */

async function main() {
    const args = options(process.argv.slice(2));
    watchdog(args.seconds + args.frameTimeout + 2 * args.connectTimeout
        + 3 * HTTP_TIMEOUT_MS / 1000
        + args.maxRetries * (whip.BACKOFF[whip.BACKOFF.length - 1] + HTTP_TIMEOUT_MS / 1000) + 30);

    const pc = peerConnection('whep', args.verbose);
    const tracks = {};
    const st = { audio: newTrackStats('audio'), video: newTrackStats('video') };
    let ptMap = { audio: {}, video: {} };
    let postStart = null;
    let firstKey = null;

    const onPacket = (kind, buf) => {
        const s = st[kind];
        if (buf.length < 12 || (buf[0] >> 6) !== 2) { s.bad++; return; }
        if (buf[1] >= 192 && buf[1] <= 223) { s.rtcp++; return; }
        const now = process.hrtime.bigint();
        const pt = buf[1] & 0x7f;
        const seq = buf.readUInt16BE(2);
        const ts = buf.readUInt32BE(4);
        const ssrc = buf.readUInt32BE(8);
        s.packets++;
        s.bytes += buf.length;
        s.pts.add(pt);
        s.ssrcs.add(ssrc);
        if (s.lastSeq !== null) {
            const d = (seq - s.lastSeq) & 0xffff;
            if (d !== 1 && d < 0x8000) s.seqGaps++;
            if (d < 0x8000) s.lastSeq = seq;
        } else {
            s.lastSeq = seq;
        }
        const t = postStart === null ? null : Number(now - postStart) / 1e9;
        if (!s.first) {
            s.first = { t, pt, ssrc, seq };
            emit('first_packet', { kind, t: t === null ? null : +t.toFixed(4), pt, ssrc, seq });
        }
        if (kind !== 'video') return;
        let off = 12 + 4 * (buf[0] & 0x0f);
        if (buf[0] & 0x10) {
            if (off + 4 > buf.length) { s.bad++; return; }
            off += 4 + 4 * buf.readUInt16BE(off + 2);
        }
        let end = buf.length;
        if (buf[0] & 0x20) end -= buf[buf.length - 1];     /* padding */
        if (off >= end) return;
        const payload = buf.subarray(off, end);
        const codec = ptMap.video[pt] || (pt === H264_PT ? 'h264' : pt === VP8_PT ? 'vp8' : '?');
        let key = false;
        let nals;
        if (codec === 'h264') {
            nals = h264NalTypes(payload);
            key = nals.includes(5) || nals.includes(7);
        } else if (codec === 'vp8') {
            key = vp8Key(payload);
        }
        if (key && !s.keyTs.has(ts)) {
            s.keyTs.add(ts);
            s.keyframes++;
            if (s.keyTs.size > 64) s.keyTs.delete(s.keyTs.values().next().value);
            if (!firstKey) {
                firstKey = {
                    t: t === null ? null : +t.toFixed(4), wall: Date.now() / 1000,
                    codec, rtp_ts: ts, seq, pt,
                };
                if (nals) firstKey.nal_types = nals;
                emit('first_keyframe', firstKey);
            }
        }
    };

    const addTrack = (media, kind) => {
        const track = pc.addTrack(media);
        if (args.rtcp) track.setMediaHandler(new ndc.RtcpReceivingSession());
        track.onMessage((buf) => onPacket(kind, buf));
        tracks[kind] = track;
    };

    if (args.audio) {
        const audio = new ndc.Audio(AUDIO_MID, 'RecvOnly');
        audio.addOpusCodec(OPUS_PT);
        addTrack(audio, 'audio');
    }
    if (args.video) {
        const video = new ndc.Video(VIDEO_MID, 'RecvOnly');
        if (args.videoCodec !== 'vp8') video.addH264Codec(H264_PT);
        if (args.videoCodec !== 'h264') video.addVP8Codec(VP8_PT);
        addTrack(video, 'video');
    }

    const session = await startSession(pc, args, args.candidates, {
        maxRetries: args.maxRetries, timeoutMs: HTTP_TIMEOUT_MS,
        beforePost: () => { postStart = process.hrtime.bigint(); },
    });
    if (!session.resourceUrl) return finish(pc, session.rc);
    ptMap = payloadTypes(session.answer);

    let rc = 0;
    if (!await waitConnected(pc, args.connectTimeout)) {
        rc = 3;
    } else {
        emit('connected');
        if (args.requestKeyframe && tracks.video && args.rtcp) {
            await waitFor(() => tracks.video.isOpen(), 2000, null);
            emit('pli', { sent: tracks.video.requestKeyframe() });
        }
        if (args.video) {
            const got = await waitFor(() => firstKey !== null || stop.early,
                args.frameTimeout * 1000, null,
                () => pc.state() !== 'connected');
            if (!got) {
                if (pc.state() !== 'connected') {
                    emit('disconnected', { connection: pc.state(), ice: pc.iceState() });
                } else {
                    emit('error', {
                        stage: 'first_keyframe', status: 201,
                        body: `no keyframe after ${args.frameTimeout} s`
                            + ` (${st.video.packets} video packets)`,
                    });
                }
                rc = 3;
            }
        }
        const start = Date.now();
        let nextStats = start + 1000;
        while (rc === 0 && Date.now() - start < args.seconds * 1000 && !stop.early) {
            if (pc.state() !== 'connected') {
                emit('disconnected', { connection: pc.state(), ice: pc.iceState() });
                rc = 3;
                break;
            }
            if (Date.now() >= nextStats) {
                nextStats += 1000;
                emitStats(st);
            }
            await sleep(20);
        }
    }
    emitStats(st);

    if (!args.delete) {
        /* a viewer that vanished: no DELETE, no DTLS close_notify */
        return hardExit(rc);
    }
    return leave(pc, session.resourceUrl, session.headers, rc, HTTP_TIMEOUT_MS);
}

function emitStats(st) {
    emit('stats', {
        audio_packets: st.audio.packets, video_packets: st.video.packets,
        keyframes: st.video.keyframes,
        audio_bytes: st.audio.bytes, video_bytes: st.video.bytes,
        rtcp_packets: st.audio.rtcp + st.video.rtcp,
        bad_packets: st.audio.bad + st.video.bad,
        video_seq_gaps: st.video.seqGaps, audio_seq_gaps: st.audio.seqGaps,
        video_pts: [...st.video.pts], audio_pts: [...st.audio.pts],
        video_ssrcs: [...st.video.ssrcs], audio_ssrcs: [...st.audio.ssrcs],
    });
}

run(main);
