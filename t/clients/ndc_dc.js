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

const ndc = require('node-datachannel');

const HTTP_TIMEOUT_MS = 8000;

function emit(event, fields) {
    process.stdout.write(JSON.stringify(Object.assign({ event }, fields || {})) + '\n');
}

function usage(msg) {
    if (msg) process.stderr.write(`ndc_dc: ${msg}\n`);
    process.stderr.write('usage: ndc_dc.js --url URL [--token T] [--label L] '
        + '[--messages N] [--interval MS] [--expect N] [--seconds S] [--audio] '
        + '[--connect-timeout S]\n');
    process.exit(64);
}

function parseArgs(argv) {
    const a = {
        url: null, token: null, label: 'chat', messages: 0, interval: 20,
        expect: 0, seconds: 10, audio: false, connectTimeout: 10,
    };
    const need = (i) => {
        if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
        return argv[i + 1];
    };
    for (let i = 0; i < argv.length; i++) {
        switch (argv[i]) {
        case '--url': a.url = need(i); i++; break;
        case '--token': a.token = need(i); i++; break;
        case '--label': a.label = need(i); i++; break;
        case '--messages': a.messages = Number(need(i)); i++; break;
        case '--interval': a.interval = Number(need(i)); i++; break;
        case '--expect': a.expect = Number(need(i)); i++; break;
        case '--seconds': a.seconds = Number(need(i)); i++; break;
        case '--connect-timeout': a.connectTimeout = Number(need(i)); i++; break;
        case '--audio': a.audio = true; break;
        case '-h': case '--help': usage(); break;
        default: usage(`unknown argument ${argv[i]}`);
        }
    }
    if (!a.url) usage('--url is required');
    for (const k of ['messages', 'interval', 'expect', 'seconds', 'connectTimeout']) {
        if (!(a[k] >= 0)) usage(`bad --${k}`);
    }
    return a;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let stopEarly = false;
process.on('SIGUSR1', () => { stopEarly = true; });

async function httpRequest(method, url, headers, body) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), HTTP_TIMEOUT_MS);
    try {
        const res = await fetch(url, { method, headers, body, signal: ctl.signal });
        const text = await res.text();
        return { status: res.status, headers: res.headers, body: text, url: res.url };
    } catch (e) {
        return { status: 0, headers: new Headers(), body: String(e.message || e), url };
    } finally {
        clearTimeout(timer);
    }
}

async function waitFor(cond, ms, abort) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
        if (cond()) return true;
        if (abort && abort()) return false;
        await sleep(20);
    }
    return cond();
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
    const args = parseArgs(process.argv.slice(2));
    const pc = new ndc.PeerConnection('whip-dc', { iceServers: [], bindAddress: '127.0.0.1' });
    const headers = { 'User-Agent': 'ndc_dc (libdatachannel)' };
    if (args.token) headers.Authorization = `Bearer ${args.token}`;

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

    const gathered = await waitFor(() => pc.gatheringState() === 'complete', 5000);
    const desc = pc.localDescription();
    if (!desc || !desc.sdp) {
        emit('error', { stage: 'offer', status: 0, body: `no offer (gathering ${gathered})` });
        return finish(pc, 1);
    }
    const offer = desc.sdp;
    emit('offer', { media: offer.split(/\r?\n/).filter((l) => l.startsWith('m='))
        .map((l) => l.slice(2).split(' ').slice(0, 3).join(' ')) });

    const res = await httpRequest('POST', args.url,
        Object.assign({ 'Content-Type': 'application/sdp' }, headers), offer);
    if (res.status !== 201) {
        emit('error', { stage: 'post', status: res.status, body: res.body });
        return finish(pc, 2);
    }
    const location = res.headers.get('location');
    const link = res.headers.get('link');
    emit('answer', { status: res.status, location, links: link ? link.split(/,\s*(?=<)/) : [] });
    if (!location) {
        emit('error', { stage: 'post', status: res.status, body: 'no Location' });
        return finish(pc, 2);
    }
    const resource = new URL(location, res.url || args.url).toString();
    try {
        pc.setRemoteDescription(res.body, 'answer');
    } catch (e) {
        emit('error', { stage: 'answer', status: res.status, body: String(e.message || e) });
        await httpRequest('DELETE', resource, headers);
        return finish(pc, 1);
    }

    let rc = 0;
    const failed = () => ['failed', 'closed'].includes(pc.state());
    if (!await waitFor(() => pc.state() === 'connected', args.connectTimeout * 1000, failed)) {
        emit('error', { stage: 'connect', status: 0, body: `connection ${pc.state()}` });
        rc = 3;
    } else {
        emit('connected');
        if (!await waitFor(() => open, args.connectTimeout * 1000, failed)) {
            emit('error', { stage: 'channel', status: 0, body: 'data channel not open' });
            rc = 3;
        }
    }

    if (rc === 0) {
        const start = Date.now();
        let sent = 0;
        let fails = 0;
        let nextAudio = Date.now();
        for (let k = 1; k <= args.messages && !stopEarly; k++) {
            const m = message(k);
            const ok = typeof m === 'string' ? dc.sendMessage(m) : dc.sendMessageBinary(m);
            if (ok) sent++; else fails++;
            if (args.interval) await sleep(args.interval);
        }
        emit('sent', { count: sent, failed: fails });

        const end = start + args.seconds * 1000;
        while (!stopEarly && (Date.now() < end || received.length < args.expect)) {
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

    pc.close();
    const del = await httpRequest('DELETE', resource, headers);
    emit('deleted', { status: del.status });
    if (del.status !== 200 && rc === 0) rc = 2;
    return finish(pc, rc);
}

function finish(pc, rc) {
    try { pc.close(); } catch (e) { /* closed */ }
    try { ndc.cleanup(); } catch (e) { /* ignore */ }
    process.stdout.write('', () => process.exit(rc));
}

setTimeout(() => {
    emit('error', { stage: 'timeout', status: 0, body: 'gave up after 120 s' });
    process.exit(1);
}, 120000).unref();

main().catch((e) => {
    emit('error', { stage: 'exception', status: 0, body: String(e && e.stack || e) });
    process.exit(1);
});
