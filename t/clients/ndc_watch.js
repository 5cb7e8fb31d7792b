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

const ndc = require('node-datachannel');

const HTTP_TIMEOUT_MS = 10000;
const AUDIO_MID = '0';
const VIDEO_MID = '1';
const OPUS_PT = 111;
const H264_PT = 96;
const VP8_PT = 97;
const BACKOFF = [0.5, 1, 2, 4, 5];
const MIN_RETRY = 0.25;

const emit = (event, f) => process.stdout.write(JSON.stringify(Object.assign({ event }, f || {})) + '\n');

function usage(msg) {
    if (msg) process.stderr.write(`ndc_watch: ${msg}\n`);
    process.stderr.write('usage: ndc_watch.js --url URL [--token T] [--seconds N] '
        + '[--no-delete] [--no-audio] [--no-video] [--video-codec both|h264|vp8] '
        + '[--max-retries N] [--connect-timeout N] [--frame-timeout N] '
        + '[--no-candidates] [--no-rtcp] [--request-keyframe] [--print-offer] '
        + '[--verbose]\n');
    process.exit(64);
}

function parseArgs(argv) {
    const a = {
        url: null, token: null, seconds: 5, delete: true, audio: true, video: true,
        videoCodec: 'both', maxRetries: 60, connectTimeout: 10, frameTimeout: 10,
        candidates: true, rtcp: true, requestKeyframe: false, printOffer: false,
        verbose: false, userAgent: 'ndc-watch (ngx-webrtc-tests)',
    };
    const need = (i) => {
        if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
        return argv[i + 1];
    };
    for (let i = 0; i < argv.length; i++) {
        switch (argv[i]) {
        case '--url': a.url = need(i); i++; break;
        case '--token': a.token = need(i); i++; break;
        case '--seconds': a.seconds = Number(need(i)); i++; break;
        case '--max-retries': a.maxRetries = Number(need(i)); i++; break;
        case '--connect-timeout': a.connectTimeout = Number(need(i)); i++; break;
        case '--frame-timeout': a.frameTimeout = Number(need(i)); i++; break;
        case '--video-codec': a.videoCodec = need(i).toLowerCase(); i++; break;
        case '--user-agent': a.userAgent = need(i); i++; break;
        case '--no-delete': a.delete = false; break;
        case '--audio': a.audio = true; break;
        case '--no-audio': a.audio = false; break;
        case '--video': a.video = true; break;
        case '--no-video': a.video = false; break;
        case '--no-candidates': a.candidates = false; break;
        case '--no-rtcp': a.rtcp = false; break;
        case '--request-keyframe': a.requestKeyframe = true; break;
        case '--print-offer': a.printOffer = true; break;
        case '--verbose': a.verbose = true; break;
        case '-h': case '--help': usage(); break;
        default: usage(`unknown argument ${argv[i]}`);
        }
    }
    if (!a.url && !a.printOffer) usage('--url is required');
    if (!a.audio && !a.video) usage('nothing to receive');
    if (!['both', 'h264', 'vp8'].includes(a.videoCodec)) usage('bad --video-codec');
    if (!(a.seconds >= 0) || !(a.connectTimeout > 0) || !(a.frameTimeout > 0)
        || !(a.maxRetries >= 0)) usage('bad number');
    return a;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let stopEarly = false;
process.on('SIGUSR1', () => { stopEarly = true; });

/* ---------------------------------------------------------------- HTTP */

async function httpRequest(method, url, headers, body) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), HTTP_TIMEOUT_MS);
    try {
        const res = await fetch(url, {
            method, headers, body, redirect: 'follow', signal: ctl.signal,
        });
        const text = await res.text();
        return { status: res.status, headers: res.headers, body: text, url: res.url };
    } catch (e) {
        const cause = e.cause ? ` (${e.cause.code || e.cause.message})` : '';
        return { status: 0, headers: new Headers(), body: `${e.message}${cause}`, url };
    } finally {
        clearTimeout(timer);
    }
}

function retryAfter(v) {
    if (v === null || v === undefined) return null;
    v = String(v).trim();
    if (/^\d+$/.test(v)) return parseInt(v, 10);
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : Math.max(0, (t - Date.now()) / 1000);
}

function offerSummary(sdp) {
    const lines = sdp.split(/\r?\n/);
    return {
        media: lines.filter((l) => l.startsWith('m=')).map((l) => l.slice(2).split(' ')[0]),
        directions: lines.filter((l) => /^a=(recvonly|sendonly|sendrecv|inactive)$/.test(l))
            .map((l) => l.slice(2)),
        candidates: lines.filter((l) => l.startsWith('a=candidate:')).length,
    };
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
    const args = parseArgs(process.argv.slice(2));
    if (args.verbose) {
        ndc.initLogger('Debug', (level, msg) => process.stderr.write(`[${level}] ${msg}\n`));
    }

    const pc = new ndc.PeerConnection('whep', { iceServers: [], bindAddress: '127.0.0.1' });
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

    let last = {};
    let closing = false;
    const reportState = () => {
        if (args.printOffer || closing) return;
        const now = { ice: pc.iceState(), connection: pc.state() };
        if (now.ice !== last.ice || now.connection !== last.connection) {
            last = now;
            emit('state', now);
        }
    };
    pc.onStateChange(reportState);
    pc.onIceStateChange(reportState);

    const offerReady = new Promise((resolve) => {
        pc.onLocalDescription((sdp, type) => resolve({ sdp, type }));
    });
    pc.setLocalDescription();
    let offer = (await withTimeout(offerReady, 5000, 'no local description')).sdp;
    if (args.candidates) {
        await waitFor(() => pc.gatheringState() === 'complete',
            args.connectTimeout * 1000, null);
        offer = pc.localDescription().sdp;
    }

    if (args.printOffer) {
        process.stdout.write(offer);
        return finish(pc, 0);
    }
    emit('offer', offerSummary(offer));

    const headers = { 'Content-Type': 'application/sdp', 'User-Agent': args.userAgent };
    if (args.token) headers.Authorization = `Bearer ${args.token}`;

    let res;
    let retries = 0;
    for (;;) {
        postStart = process.hrtime.bigint();
        res = await httpRequest('POST', args.url, headers, offer);
        if (res.status === 409 && retries < args.maxRetries) {
            retries++;
            const ra = retryAfter(res.headers.get('retry-after'));
            let delay = BACKOFF[Math.min(retries, BACKOFF.length) - 1];
            if (ra !== null && ra < delay) delay = Math.max(MIN_RETRY, ra);
            emit('waiting', { retries, status: 409, retry_after: ra, delay,
                body: res.body.trim().slice(0, 200) });
            await sleep(delay * 1000);
            continue;
        }
        break;
    }
    if (res.status !== 201) {
        emit('error', { stage: 'post', status: res.status, body: res.body.trim(), retries });
        return finish(pc, 2);
    }

    const location = res.headers.get('location');
    const linkHeader = res.headers.get('link');
    const links = linkHeader ? linkHeader.split(/,\s*(?=<)/) : [];
    emit('answer', {
        status: res.status, location, etag: res.headers.get('etag'),
        content_type: res.headers.get('content-type'), links, retries, sdp: res.body,
    });
    if (!res.body || res.body.indexOf('v=0') < 0) {
        emit('error', { stage: 'post', status: res.status, body: 'no SDP in the answer' });
        return finish(pc, 2);
    }
    if (!location) {
        emit('error', { stage: 'post', status: res.status, body: 'no Location header' });
        return finish(pc, 2);
    }
    const resourceUrl = new URL(location, res.url || args.url).toString();
    const answer = res.body.slice(res.body.indexOf('v=0'));
    ptMap = payloadTypes(answer);

    try {
        pc.setRemoteDescription(answer, 'answer');
    } catch (e) {
        emit('error', { stage: 'answer', status: res.status, body: String(e.message || e) });
        await httpRequest('DELETE', resourceUrl, deleteHeaders(args), undefined);
        return finish(pc, 1);
    }

    let rc = 0;
    const connected = await waitFor(() => pc.state() === 'connected',
        args.connectTimeout * 1000, null,
        () => pc.state() === 'failed' || pc.state() === 'closed');
    if (!connected) {
        emit('error', {
            stage: 'connect', status: res.status,
            body: `not connected after ${args.connectTimeout} s (connection `
                + `${pc.state()}, ice ${pc.iceState()})`,
        });
        rc = 3;
    } else {
        emit('connected');
        if (args.requestKeyframe && tracks.video && args.rtcp) {
            await waitFor(() => tracks.video.isOpen(), 2000, null);
            emit('pli', { sent: tracks.video.requestKeyframe() });
        }
        if (args.video) {
            const got = await waitFor(() => firstKey !== null || stopEarly,
                args.frameTimeout * 1000, null,
                () => pc.state() !== 'connected');
            if (!got) {
                if (pc.state() !== 'connected') {
                    emit('disconnected', { connection: pc.state(), ice: pc.iceState() });
                } else {
                    emit('error', {
                        stage: 'first_keyframe', status: res.status,
                        body: `no keyframe after ${args.frameTimeout} s`
                            + ` (${st.video.packets} video packets)`,
                    });
                }
                rc = 3;
            }
        }
        const start = Date.now();
        let nextStats = start + 1000;
        while (rc === 0 && Date.now() - start < args.seconds * 1000 && !stopEarly) {
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
    closing = true;
    pc.close();
    const del = await httpRequest('DELETE', resourceUrl, deleteHeaders(args), undefined);
    emit('deleted', { status: del.status, body: del.status === 200 ? undefined : del.body });
    if (del.status !== 200 && rc === 0) rc = 2;
    return finish(pc, rc);
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

function deleteHeaders(args) {
    const h = { 'User-Agent': args.userAgent };
    if (args.token) h.Authorization = `Bearer ${args.token}`;
    return h;
}

function withTimeout(promise, ms, what) {
    let timer;
    return Promise.race([
        promise,
        new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
        }),
    ]).finally(() => clearTimeout(timer));
}

async function waitFor(cond, ms, what, abort) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
        if (cond()) return true;
        if (abort && abort()) return false;
        await sleep(10);
    }
    if (cond()) return true;
    if (what) throw new Error(`timeout: ${what}`);
    return false;
}

function finish(pc, rc) {
    try { pc.close(); } catch (e) { /* already closed */ }
    try { ndc.cleanup(); } catch (e) { /* ignore */ }
    hardExit(rc);
}

function hardExit(rc) {
    /* do not wait for libdatachannel's threads */
    process.stdout.write('', () => process.exit(rc));
}

/* a hard limit on everything, on top of each bounded wait */
const budgetArgs = (() => {
    try { return parseArgs(process.argv.slice(2)); } catch (e) { return null; }
})();
const budget = budgetArgs
    ? (budgetArgs.seconds + budgetArgs.frameTimeout + 2 * budgetArgs.connectTimeout
        + 3 * HTTP_TIMEOUT_MS / 1000
        + budgetArgs.maxRetries * (BACKOFF[BACKOFF.length - 1] + HTTP_TIMEOUT_MS / 1000) + 30)
    : 120;
setTimeout(() => {
    emit('error', { stage: 'timeout', status: 0, body: `gave up after ${budget} s` });
    process.exit(1);
}, budget * 1000).unref();

main().catch((e) => {
    emit('error', { stage: 'exception', status: 0, body: String(e && e.stack || e) });
    process.exit(1);
});
