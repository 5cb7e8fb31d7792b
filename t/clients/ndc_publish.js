#!/usr/bin/env node
'use strict';

/*
 * An OBS-shaped WHIP publisher on node-datachannel (libdatachannel, the
 * library OBS Studio's WHIP output is built on).
 *
 *   node t/clients/ndc_publish.js --url http://127.0.0.1:8080/whip/cam1
 *       [--token T] [--seconds 5] [--no-delete] [--no-audio] [--no-video]
 *       [--with-candidates] [--h264 FILE] [--connect-timeout 10]
 *       [--user-agent UA] [--print-offer]
 *
 * Like OBS (whip-output.cpp):
 *   - audio track mid "0", Opus pt 111 (stereo fmtp), sendonly;
 *     video track mid "1", H264 pt 96, profile-level-id=42e01f, sendonly;
 *     SSRCs base and base+1 with cname and msid; BUNDLE and LS groups;
 *   - the POSTed offer has NO candidates (OBS 30.2+ gathers only after
 *     the answer; here the offer text is taken before gathering, which
 *     node-datachannel cannot postpone: it does not expose
 *     gatherLocalCandidates). --with-candidates waits for gathering and
 *     sends the complete offer instead;
 *   - packetizer chain H264RtpPacketizer (start-sequence NAL separator,
 *     1200-byte fragments) -> RtcpSrReporter -> RtcpNackResponder, and a
 *     plain RtpPacketizer for Opus; RTP timestamps advanced per frame
 *     through the shared RtpPacketizationConfig;
 *   - POST with Authorization: Bearer and an OBS User-Agent; requires
 *     exactly 201, a body (everything before "v=0" dropped) and a
 *     Location; DELETE on the absolute resource URL, expects 200.
 *
 * Media: real H264 (Annex B, baseline, no B-frames, GOP 30) encoded once
 * at start with ffmpeg from a test pattern into a temporary file (or
 * --h264 FILE), sent as access units at 30 fps, looped; Opus: the 3-byte
 * packet f8 ff fe every 20 ms.
 *
 * stdout: one JSON object per line:
 *   {"event":"offer","media":[..],"candidates":N}
 *   {"event":"answer","status":201,"location":..,"etag":..,"links":[..],
 *    "content_type":..,"sdp":..}
 *   {"event":"state","ice":..,"connection":..}
 *   {"event":"connected"}
 *   {"event":"disconnected","connection":..}
 *   {"event":"stats","tracks":[{"kind":"video","frames":N,"keyframes":N,
 *    "bytes":N},{"kind":"audio","frames":N,"bytes":N}],"bytes_sent":N}
 *   {"event":"deleted","status":200}
 *   {"event":"error","stage":..,"status":..,"body":..}
 * Exit status: 0 success, 2 HTTP error (POST not 201, no Location,
 * DELETE not 200, connection refused), 3 no connection / connection lost,
 * 1 anything else. SIGUSR1 ends the sending phase early (as if --seconds
 * had elapsed). --print-offer prints the offer SDP that would be
 * POSTed and exits 0. --no-delete exits right after sending without
 * DELETE and without closing the peer connection (a vanished peer).
 */

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const { emit, sleep, stop, parseArgs } = require('./lib/cli');
const {
    ndc, OPTIONS, peerConnection, startSession, waitConnected,
    finish, hardExit, leave, watchdog, run,
} = require('./lib/ndc');

const AUDIO_MID = '0';
const AUDIO_PT = 111;
const VIDEO_MID = '1';
const VIDEO_PT = 96;
const MAX_VIDEO_FRAGMENT_SIZE = 1200;
const FPS = 30;
const OPUS_SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);
const HTTP_TIMEOUT_MS = 8000;   /* OBS: CURLOPT_TIMEOUT 8 */

function options(argv) {
    const a = parseArgs(argv, Object.assign({
        '--h264': ['h264', String],
        '--with-candidates': ['withCandidates', true],
    }, OPTIONS), {
        url: null, token: null, seconds: 5, delete: true, audio: true,
        video: true, withCandidates: false, h264: null, connectTimeout: 10,
        userAgent: 'Mozilla/5.0 (OBS-Studio/30.2.0; Linux x86_64; en-US)',
        printOffer: false, verbose: false,
    }, usage);
    if (!a.url && !a.printOffer) usage('--url is required');
    if (!a.audio && !a.video) usage('nothing to send');
    if (!(a.seconds >= 0) || !(a.connectTimeout > 0)) usage('bad number');
    return a;
}

function usage(msg) {
    if (msg) process.stderr.write(`ndc_publish: ${msg}\n`);
    process.stderr.write('usage: ndc_publish.js --url URL [--token T] '
        + '[--seconds N] [--no-delete] [--no-audio] [--no-video] '
        + '[--with-candidates] [--h264 FILE] [--connect-timeout N] '
        + '[--user-agent UA] [--print-offer] [--verbose]\n');
    process.exit(64);
}

function randomU32() {
    return (1 + Math.floor(Math.random() * 0xfffffffd)) >>> 0;
}

function randomId(n) {
    const chars = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    let s = '';
    for (let i = 0; i < n; i++) s += chars[Math.floor(Math.random() * chars.length)];
    return s;
}

/* ---------------------------------------------------------------- H264 */

function encodeTestPattern() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndc-publish-'));
    const file = path.join(dir, 'pattern.h264');
    execFileSync('ffmpeg', [
        '-hide_banner', '-loglevel', 'error', '-nostdin',
        '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=30',
        '-t', '4', '-pix_fmt', 'yuv420p',
        '-c:v', 'libx264', '-profile:v', 'baseline', '-g', '30', '-bf', '0',
        '-f', 'h264', file,
    ], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60000 });
    const data = fs.readFileSync(file);
    fs.rmSync(dir, { recursive: true, force: true });
    return data;
}

/* NAL units of an Annex B stream: [{start, end}] without start codes */
function splitNals(buf) {
    const starts = [];
    for (let i = 0; i + 2 < buf.length; i++) {
        if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1) {
            starts.push(i + 3);
            i += 2;
        }
    }
    const nals = [];
    for (let k = 0; k < starts.length; k++) {
        let end = k + 1 < starts.length ? starts[k + 1] - 3 : buf.length;
        /* a 4-byte start code leaves a zero before the next 00 00 01 */
        while (end > starts[k] && buf[end - 1] === 0) end--;
        if (end > starts[k]) nals.push(buf.subarray(starts[k], end));
    }
    return nals;
}

/* group NAL units into access units (one per frame), each an Annex B
 * buffer with 4-byte start codes, and flag IDR frames */
function accessUnits(buf) {
    const aus = [];
    let cur = [];
    let curHasVcl = false;
    const flush = () => {
        if (cur.length && curHasVcl) {
            const parts = [];
            let key = false;
            for (const n of cur) {
                parts.push(Buffer.from([0, 0, 0, 1]), n);
                if ((n[0] & 0x1f) === 5) key = true;
            }
            aus.push({ data: Buffer.concat(parts), key,
                types: cur.map((n) => n[0] & 0x1f) });
        }
        cur = [];
        curHasVcl = false;
    };
    for (const n of splitNals(buf)) {
        const type = n[0] & 0x1f;
        const vcl = type >= 1 && type <= 5;
        /* first_mb_in_slice == 0 <=> first bit of the slice header is 1 */
        const firstSlice = vcl && n.length > 1 && (n[1] & 0x80) !== 0;
        const startsAu = (type === 9 || type === 7 || type === 8
            || type === 6 || firstSlice);
        if (curHasVcl && startsAu) flush();
        cur.push(n);
        if (vcl) curHasVcl = true;
    }
    flush();
    return aus;
}

/* ---------------------------------------------------------------- main */

async function main() {
    const args = options(process.argv.slice(2));

    watchdog(args.seconds + 2 * args.connectTimeout + 3 * HTTP_TIMEOUT_MS / 1000 + 70);

    let h264 = null;
    if (args.video && !args.printOffer) {
        const raw = args.h264 ? fs.readFileSync(args.h264) : encodeTestPattern();
        h264 = accessUnits(raw);
        if (!h264.length || !h264[0].key) {
            throw new Error('H264 input does not start with an IDR access unit');
        }
    }

    const pc = peerConnection('whip', args.verbose);

    const msid = randomId(16);
    const cname = randomId(16);
    const baseSsrc = randomU32() & 0xfffffff0;

    let audioTrack = null;
    let audioCfg = null;
    let videoTrack = null;
    let videoCfg = null;

    if (args.audio) {
        const audio = new ndc.Audio(AUDIO_MID, 'SendOnly');
        audio.addOpusCodec(AUDIO_PT);
        audio.addSSRC(baseSsrc, cname, msid, `${msid}-audio`);
        audioTrack = pc.addTrack(audio);
        audioCfg = new ndc.RtpPacketizationConfig(baseSsrc, cname, AUDIO_PT, 48000);
        const packetizer = new ndc.RtpPacketizer(audioCfg);
        packetizer.addToChain(new ndc.RtcpSrReporter(audioCfg));
        packetizer.addToChain(new ndc.RtcpNackResponder());
        audioTrack.setMediaHandler(packetizer);
    }
    if (args.video) {
        const video = new ndc.Video(VIDEO_MID, 'SendOnly');
        video.addSSRC(baseSsrc + 1, cname, msid, `${msid}-video`);
        video.addH264Codec(VIDEO_PT);
        videoTrack = pc.addTrack(video);
        videoCfg = new ndc.RtpPacketizationConfig(baseSsrc + 1, cname, VIDEO_PT, 90000);
        const packetizer = new ndc.H264RtpPacketizer('StartSequence', videoCfg,
            MAX_VIDEO_FRAGMENT_SIZE);
        packetizer.addToChain(new ndc.RtcpSrReporter(videoCfg));
        packetizer.addToChain(new ndc.RtcpNackResponder(4000));
        videoTrack.setMediaHandler(packetizer);
    }

    /* the offer as OBS 30.2+ sends it: before any candidate */
    const session = await startSession(pc, args, args.withCandidates, { timeoutMs: HTTP_TIMEOUT_MS });
    if (!session.resourceUrl) return finish(pc, session.rc);

    let rc = 0;
    const stats = {
        video: { kind: 'video', frames: 0, keyframes: 0, bytes: 0 },
        audio: { kind: 'audio', frames: 0, bytes: 0 },
    };

    if (!await waitConnected(pc, args.connectTimeout,
        () => (!videoTrack || videoTrack.isOpen()) && (!audioTrack || audioTrack.isOpen()))) {
        rc = 3;
    } else {
        emit('connected');
        rc = await sendMedia(args, pc, { audioTrack, audioCfg, videoTrack, videoCfg, h264 }, stats);
    }

    const tracks = [];
    if (videoTrack) tracks.push(stats.video);
    if (audioTrack) tracks.push(stats.audio);
    emit('stats', { tracks });

    if (!args.delete) {
        /* a peer that vanished: no DELETE, no DTLS close_notify */
        return hardExit(rc);
    }

    return leave(pc, session.resourceUrl, session.headers, rc, HTTP_TIMEOUT_MS);
}

async function sendMedia(args, pc, m, stats) {
    const start = Date.now();
    const end = start + args.seconds * 1000;
    let vNext = 0;      /* index of the next video frame, from start */
    let aNext = 0;      /* index of the next 20 ms audio frame */
    const vTs0 = m.videoCfg ? m.videoCfg.timestamp : 0;
    const aTs0 = m.audioCfg ? m.audioCfg.timestamp : 0;

    while (Date.now() < end && !stop.early) {
        if (pc.state() !== 'connected') {
            emit('disconnected', { connection: pc.state(), ice: pc.iceState() });
            return 3;
        }
        const elapsed = Date.now() - start;

        while (m.videoTrack && vNext * 1000 / FPS <= elapsed) {
            const au = m.h264[vNext % m.h264.length];
            m.videoCfg.timestamp = (vTs0 + vNext * (90000 / FPS)) >>> 0;
            if (m.videoTrack.isOpen()) {
                m.videoTrack.sendMessageBinary(au.data);
                stats.video.frames++;
                stats.video.bytes += au.data.length;
                if (au.key) stats.video.keyframes++;
            }
            vNext++;
        }
        while (m.audioTrack && aNext * 20 <= elapsed) {
            m.audioCfg.timestamp = (aTs0 + aNext * 960) >>> 0;
            if (m.audioTrack.isOpen()) {
                m.audioTrack.sendMessageBinary(OPUS_SILENCE);
                stats.audio.frames++;
                stats.audio.bytes += OPUS_SILENCE.length;
            }
            aNext++;
        }
        await sleep(5);
    }
    return 0;
}

run(main);
