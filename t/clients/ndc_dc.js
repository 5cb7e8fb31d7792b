#!/usr/bin/env node
'use strict';

/*
 * A WHIP publisher on node-datachannel (libdatachannel, the library OBS
 * Studio's WHIP output is built on) that publishes a data channel and
 * talks on it.
 *
 *   node t/clients/ndc_dc.js --url http://127.0.0.1:8080/whip/dc1
 *       [--token T] [--label chat] [--messages N] [--interval MS]
 *       [--expect N] [--seconds 10] [--audio] [--connect-timeout 10]
 *
 * The offer has one m=application section (UDP/DTLS/SCTP
 * webrtc-datachannel, libdatachannel's form), plus an Opus track with
 * --audio (sent: 3-byte silence every 20 ms). Once the channel labelled
 * --label (default "chat") is open it sends --messages text messages
 * "ndc <k>" (k = 1..N; every 4th one binary: 8 bytes of k), --interval ms
 * apart (default 20), then prints {"event":"sent"}. It stays connected
 * until it has received --expect messages (default 0) and --seconds have
 * passed, or SIGUSR1, then DELETEs the session.
 *
 * stdout: one JSON object per line:
 *   {"event":"offer","media":[..]}
 *   {"event":"answer","status":201,"location":..,"links":[..]}
 *   {"event":"connected"}
 *   {"event":"open","label":..}                 our channel is open
 *   {"event":"remote_channel","label":..}       the server opened one
 *   {"event":"message","label":..,"binary":..,"size":..,"data":..}
 *       data: text, or base64 for binary
 *   {"event":"sent","count":N,"failed":F}
 *   {"event":"disconnected","connection":..}
 *   {"event":"deleted","status":200}
 *   {"event":"error","stage":..,"status":..,"body":..}
 * Exit status: 0 success, 2 HTTP error, 3 no connection / channel not open
 * / connection lost, 4 fewer than --expect messages, 1 anything else.
 */

const { emit, sleep, stop, parseArgs } = require('./lib/cli');
const whip = require('./lib/whip');
const {
    ndc, peerConnection, negotiate, waitConnected, waitFor, finish, leave, watchdog, run,
} = require('./lib/ndc');

const HTTP_TIMEOUT_MS = 8000;

function usage(msg) {
    if (msg) process.stderr.write(`ndc_dc: ${msg}\n`);
    process.stderr.write('usage: ndc_dc.js --url URL [--token T] [--label L] '
        + '[--messages N] [--interval MS] [--expect N] [--seconds S] [--audio] '
        + '[--connect-timeout S]\n');
    process.exit(64);
}

function options(argv) {
    const a = parseArgs(argv, {
        '--url': ['url', String],
        '--token': ['token', String],
        '--label': ['label', String],
        '--messages': ['messages', Number],
        '--interval': ['interval', Number],
        '--expect': ['expect', Number],
        '--seconds': ['seconds', Number],
        '--connect-timeout': ['connectTimeout', Number],
        '--audio': ['audio', true],
    }, {
        url: null, token: null, label: 'chat', messages: 0, interval: 20,
        expect: 0, seconds: 10, audio: false, connectTimeout: 10,
    }, usage);
    if (!a.url) usage('--url is required');
    for (const k of ['messages', 'interval', 'expect', 'seconds', 'connectTimeout']) {
        if (!(a[k] >= 0)) usage(`bad --${k}`);
    }
    return a;
}

/* the k-th message: text "ndc <k>", every 4th one binary */
function message(k) {
    if (k % 4 === 0) {
        const b = Buffer.alloc(8);
        b.writeUInt32BE(k, 4);
        return b;
    }
    return `ndc ${k}`;
}

async function main() {
    const args = options(process.argv.slice(2));
    const pc = peerConnection('whip-dc');
    const headers = whip.requestHeaders('ndc_dc (libdatachannel)', args.token);

    let audio = null;
    if (args.audio) {
        const a = new ndc.Audio('0', 'SendOnly');
        a.addOpusCodec(111);
        a.addSSRC(0x1234560, 'ndcdc', 'ndcdc', 'ndcdc-audio');
        audio = pc.addTrack(a);
        const cfg = new ndc.RtpPacketizationConfig(0x1234560, 'ndcdc', 111, 48000);
        audio.setMediaHandler(new ndc.RtpPacketizer(cfg));
    }

    const received = [];
    const watch = (dc) => {
        dc.onMessage((msg) => {
            const e = typeof msg === 'string'
                ? { label: dc.getLabel(), binary: false, size: Buffer.byteLength(msg), data: msg }
                : { label: dc.getLabel(), binary: true, size: msg.length, data: Buffer.from(msg).toString('base64') };
            received.push(e);
            emit('message', e);
        });
    };

    let open = false;
    const dc = pc.createDataChannel(args.label);
    dc.onOpen(() => { open = true; emit('open', { label: dc.getLabel() }); });
    watch(dc);
    pc.onDataChannel((rdc) => {
        emit('remote_channel', { label: rdc.getLabel() });
        watch(rdc);
    });

    /* the data channel made the offer: wait for its candidates */
    const gathered = await waitFor(() => pc.gatheringState() === 'complete', 5000, null);
    const desc = pc.localDescription();
    if (!desc || !desc.sdp) {
        emit('error', { stage: 'offer', status: 0, body: `no offer (gathering ${gathered})` });
        return finish(pc, 1);
    }
    const offer = desc.sdp;
    emit('offer', { media: offer.split(/\r?\n/).filter((l) => l.startsWith('m='))
        .map((l) => l.slice(2).split(' ').slice(0, 3).join(' ')) });

    const session = await negotiate(pc, args.url, headers, offer, { timeoutMs: HTTP_TIMEOUT_MS });
    if (session.rc) return finish(pc, session.rc);

    let rc = 0;
    if (!await waitConnected(pc, args.connectTimeout)) {
        rc = 3;
    } else {
        emit('connected');
        if (!await waitFor(() => open, args.connectTimeout * 1000, null,
            () => ['failed', 'closed'].includes(pc.state()))) {
            emit('error', { stage: 'channel', status: 0, body: 'data channel not open' });
            rc = 3;
        }
    }

    if (rc === 0) {
        const start = Date.now();
        let sent = 0;
        let fails = 0;
        let nextAudio = Date.now();
        for (let k = 1; k <= args.messages && !stop.early; k++) {
            const m = message(k);
            const ok = typeof m === 'string' ? dc.sendMessage(m) : dc.sendMessageBinary(m);
            if (ok) sent++; else fails++;
            if (args.interval) await sleep(args.interval);
        }
        emit('sent', { count: sent, failed: fails });

        const end = start + args.seconds * 1000;
        while (!stop.early && (Date.now() < end || received.length < args.expect)) {
            if (Date.now() > end + args.connectTimeout * 1000) break;
            if (pc.state() !== 'connected') {
                emit('disconnected', { connection: pc.state() });
                rc = 3;
                break;
            }
            if (audio && Date.now() >= nextAudio) {
                if (audio.isOpen()) audio.sendMessageBinary(Buffer.from([0xf8, 0xff, 0xfe]));
                nextAudio += 20;
            }
            await sleep(audio ? 5 : 20);
        }
        if (rc === 0 && received.length < args.expect) rc = 4;
    }

    return leave(pc, session.resourceUrl, headers, rc, HTTP_TIMEOUT_MS);
}

watchdog(120);
run(main);
