#!/usr/bin/env node
/*
 * Headless Chromium WHEP viewer: drives html/watch.html.
 *
 *   node t/clients/chromium_watch.js --base http://127.0.0.1:8080 \
 *       [--stream cam1] [--token T] [--seconds 5] [--timeout 20] \
 *       [--no-delete] [--screenshot FILE] [--max-retries 60] [--no-wait] \
 *       [--allow-no-frame] [--warmup]
 *
 * Opens watch.html?stream=..&autostart=1 (the page retries a 409 "not
 * live yet" with backoff, at most --max-retries times; --no-wait fails
 * on the first 409). --timeout bounds reaching "connected" (retries
 * included) and, separately, the first video frame after that.
 *
 * Prints JSON lines on stdout:
 *   {"event":"waiting","retries":N,"httpStatus":409,"retryAfter":S}  each 409 retry
 *   {"event":"connected","location":..,"etag":..,"retries":N,"postMs":..,"connectMs":..}
 *   {"event":"first_frame","wall":..,"ttffMs":..,"ttffFromPlayMs":..,"postMs":..,
 *    "connectMs":..,"width":..,"height":..}
 *       ttffMs: successful POST start -> first video frame shown;
 *       wall: Date.now()/1000 when this client saw it (at most ~20 ms late);
 *       answerMs: -> 201 body received; postMs: -> answer applied;
 *       connectMs: -> connectionState connected
 *   {"event":"stats","framesDecoded":..,"width":..,"height":..,
 *    "audioPacketsReceived":..,"packetsLost":..,"rttMs":..,"nackCount":..,
 *    "pliCount":..,"dtlsState":..,...}                        every second
 *       dtlsState: the DTLS transport's state ("closed" once the server
 *       sent close_notify, while connectionState may still say connected)
 *   {"event":"state","state":..}                              on changes after connected
 *   {"event":"deleted","status":200}                          after #stop
 *   {"event":"vanished","location":..}                        with --no-delete
 *   {"event":"error","message":..,"httpStatus":..,"error":..} exit status 2
 * No first frame within --timeout is an error unless --allow-no-frame.
 *
 * --warmup: before playing, negotiate a local send/receive audio+video
 * pair of RTCPeerConnections in the page (no server involved) and print
 * {"event":"warmup","ms":..}. A fresh headless Chromium spends ~350-450 ms
 * in its FIRST setRemoteDescription that creates receive streams (media
 * stack start-up, not the server: nginx answers in < 1 ms); later plays
 * in the same browser reach the first frame in ~40-100 ms. With --warmup
 * ttffMs measures the server path only.
 * Page console errors go to stderr. Every wait is bounded.
 * SIGUSR1 ends the watching phase early (as if --seconds had elapsed).
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

function usage(msg) {
    if (msg) {
        emit({ event: 'error', message: msg });
    }
    process.stderr.write('usage: chromium_watch.js --base URL [--stream NAME] [--token T] ' +
        '[--seconds N] [--timeout S] [--no-delete] [--screenshot FILE] ' +
        '[--max-retries N] [--no-wait] [--allow-no-frame] [--warmup]\n');
    process.exit(msg ? 2 : 0);
}

function parseArgs(argv) {
    const o = {
        base: null, stream: 'cam1', token: '', seconds: 3, timeout: 20,
        noDelete: false, screenshot: null, maxRetries: null, noWait: false,
        allowNoFrame: false, warmup: false, chromium: process.env.CHROMIUM || '/usr/bin/chromium'
    };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const val = () => {
            if (i + 1 >= argv.length) {
                usage('missing value for ' + a);
            }
            return argv[++i];
        };
        switch (a) {
        case '--base': o.base = val().replace(/\/+$/, ''); break;
        case '--stream': o.stream = val(); break;
        case '--token': o.token = val(); break;
        case '--seconds': o.seconds = Number(val()); break;
        case '--timeout': o.timeout = Number(val()); break;
        case '--no-delete': o.noDelete = true; break;
        case '--screenshot': o.screenshot = val(); break;
        case '--max-retries': o.maxRetries = Number(val()); break;
        case '--no-wait': o.noWait = true; break;
        case '--allow-no-frame': o.allowNoFrame = true; break;
        case '--warmup': o.warmup = true; break;
        case '--chromium': o.chromium = val(); break;
        case '-h': case '--help': usage(); break;
        default: usage('unknown argument ' + a);
        }
    }
    if (!o.base) {
        usage('--base is required');
    }
    if (!(o.seconds >= 0) || !(o.timeout > 0) ||
        (o.maxRetries !== null && !(o.maxRetries >= 0))) {
        usage('bad --seconds, --timeout or --max-retries');
    }
    return o;
}

function emit(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* SIGUSR1: stop watching now (then DELETE, or vanish with --no-delete) */
let stopEarly = false;
let wakeUp = null;
process.on('SIGUSR1', () => {
    stopEarly = true;
    if (wakeUp) {
        wakeUp();
    }
});
const sleepOrStop = (ms) => new Promise((r) => {
    const timer = setTimeout(() => { wakeUp = null; r(); }, ms);
    wakeUp = () => { clearTimeout(timer); wakeUp = null; r(); };
});

const TERMINAL = ['failed', 'closed', 'error'];

function statsLine(s) {
    return {
        event: 'stats', state: s.state,
        framesDecoded: s.framesDecoded, framesDropped: s.framesDropped,
        keyFramesDecoded: s.keyFramesDecoded, freezeCount: s.freezeCount,
        width: s.width, height: s.height, fps: s.fps,
        bytesReceived: s.bytesReceived, bitrateKbps: s.bitrateKbps,
        videoPacketsReceived: s.videoPacketsReceived,
        audioPacketsReceived: s.audioPacketsReceived,
        audioBytesReceived: s.audioBytesReceived,
        packetsLost: s.packetsLost, rttMs: s.rttMs,
        nackCount: s.nackCount, pliCount: s.pliCount, firCount: s.firCount,
        videoCodec: s.videoCodec, audioCodec: s.audioCodec
    };
}

/* runs in the page: a local offer/answer with media flowing one way */
async function warmUp() {
    const t0 = performance.now();
    const a = new RTCPeerConnection();
    const b = new RTCPeerConnection();
    try {
        a.addTransceiver('audio', { direction: 'recvonly' });
        a.addTransceiver('video', { direction: 'recvonly' });
        await a.setLocalDescription(await a.createOffer());
        await b.setRemoteDescription(a.localDescription);
        const canvas = document.createElement('canvas');
        canvas.width = canvas.height = 64;
        canvas.getContext('2d').fillRect(0, 0, 8, 8);
        const ac = new AudioContext();
        const dst = ac.createMediaStreamDestination();
        for (const tr of b.getTransceivers()) {
            tr.direction = 'sendonly';
            await tr.sender.replaceTrack(tr.receiver.track.kind === 'video'
                ? canvas.captureStream(10).getVideoTracks()[0]
                : dst.stream.getAudioTracks()[0]);
        }
        await b.setLocalDescription(await b.createAnswer());
        await a.setRemoteDescription(b.localDescription);
        ac.close();
    } finally {
        a.close();
        b.close();
    }
    return performance.now() - t0;
}

async function main() {
    const opt = parseArgs(process.argv.slice(2));
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-watch-'));
    let context = null;
    let exitCode = 0;

    /* Last resort: never hang, whatever the browser does. */
    const hardLimit = (2 * opt.timeout + opt.seconds + 60) * 1000;
    const watchdog = setTimeout(() => {
        emit({ event: 'error', message: 'watchdog: gave up after ' + hardLimit / 1000 + ' s' });
        try {
            fs.rmSync(userDataDir, { recursive: true, force: true });
        } catch (e) { /* ignore */ }
        process.exit(2);
    }, hardLimit);
    watchdog.unref();

    const fail = (message, extra) => {
        const e = new Error(message);
        e.extra = extra;
        throw e;
    };

    try {
        context = await chromium.launchPersistentContext(userDataDir, {
            executablePath: opt.chromium,
            headless: false,   /* --headless=new is passed explicitly below */
            timeout: 30000,
            viewport: { width: 1280, height: 800 },
            args: [
                '--headless=new',
                '--no-sandbox',
                '--disable-gpu',
                '--disable-quic',
                '--no-first-run',
                '--disable-background-networking',
                '--disable-component-update',
                '--disable-sync',
                '--use-fake-device-for-media-stream',
                '--use-fake-ui-for-media-stream',
                '--allow-loopback-in-peer-connection',
                '--autoplay-policy=no-user-gesture-required',
                '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'
            ]
        });
        context.setDefaultTimeout(10000);

        const page = context.pages()[0] || await context.newPage();
        page.on('console', (msg) => {
            if (msg.type() === 'error') {
                process.stderr.write('console.error: ' + msg.text() + '\n');
            }
        });
        page.on('pageerror', (err) => {
            process.stderr.write('pageerror: ' + err.message + '\n');
        });
        page.on('requestfailed', (req) => {
            const f = req.failure();
            /* keepalive DELETEs complete in the browser process; the page
             * side is reported as aborted although the answer arrived */
            if (req.method() === 'DELETE' && f && f.errorText === 'net::ERR_ABORTED') {
                return;
            }
            process.stderr.write('requestfailed: ' + req.method() + ' ' + req.url() +
                (f ? ' ' + f.errorText : '') + '\n');
        });

        const q = new URLSearchParams({ stream: opt.stream });
        if (!opt.warmup) {
            q.set('autostart', '1');
        }
        if (opt.token) {
            q.set('token', opt.token);
        }
        if (opt.noWait) {
            q.set('wait', '0');
        }
        if (opt.maxRetries !== null) {
            q.set('maxretries', String(opt.maxRetries));
        }
        const url = opt.base + '/watch.html?' + q.toString();
        const resp = await page.goto(url, { waitUntil: 'load', timeout: 10000 });
        if (!resp || !resp.ok()) {
            fail('cannot load ' + url + ': HTTP ' + (resp ? resp.status() : 'no response'));
        }

        if (opt.warmup) {
            const ms = await page.evaluate(warmUp);
            emit({ event: 'warmup', ms: Math.round(ms) });
            await page.evaluate(() => window.whepPlayer.play());
        }

        const state = () => page.evaluate(() => window.whepState ?
            JSON.parse(JSON.stringify(window.whepState)) : null);

        /* connected or a terminal state, retries on 409 included; bounded */
        let s = null;
        let retriesSeen = 0;
        const connectDeadline = Date.now() + opt.timeout * 1000;
        for (;;) {
            s = await state();
            if (s && s.retries > retriesSeen) {
                retriesSeen = s.retries;
                emit({ event: 'waiting', retries: s.retries, httpStatus: s.httpStatus,
                    retryAfter: s.retryAfter,
                    delayMs: s.retryDelaysMs[s.retryDelaysMs.length - 1] });
            }
            if (s && (s.state === 'connected' || TERMINAL.includes(s.state))) {
                break;
            }
            if (Date.now() > connectDeadline) {
                fail('not connected after ' + opt.timeout + ' s', {
                    state: s && s.state, error: s && s.error,
                    httpStatus: s && s.httpStatus, retries: s && s.retries
                });
            }
            await sleep(50);
        }
        if (s.state !== 'connected') {
            fail('play failed', {
                state: s.state, error: s.error, httpStatus: s.httpStatus,
                retries: s.retries
            });
        }
        emit({
            event: 'connected', location: s.location, etag: s.etag,
            retries: s.retries, iceServers: s.iceServers,
            answerMs: s.answerMs, postMs: s.postMs, connectMs: s.connectMs
        });

        /* first video frame, bounded */
        const frameDeadline = Date.now() + opt.timeout * 1000;
        while (s.ttffMs === null && Date.now() < frameDeadline && !stopEarly) {
            if (TERMINAL.includes(s.state)) {
                fail('connection ' + s.state + ' before the first frame', { error: s.error });
            }
            await sleep(20);
            s = await state();
        }
        if (s.ttffMs !== null) {
            emit({
                event: 'first_frame', wall: Date.now() / 1000, ttffMs: s.ttffMs, ttffFromPlayMs: s.ttffFromPlayMs,
                answerMs: s.answerMs, postMs: s.postMs, connectMs: s.connectMs, width: s.width, height: s.height
            });
        } else if (!opt.allowNoFrame && !stopEarly) {
            fail('no video frame after ' + opt.timeout + ' s', {
                state: s.state, bytesReceived: s.bytesReceived,
                framesDecoded: s.framesDecoded, audioPacketsReceived: s.audioPacketsReceived
            });
        }

        let lastState = s.state;
        let frameSeen = s.ttffMs !== null;
        const t0 = Date.now();
        while (Date.now() - t0 < opt.seconds * 1000 && !stopEarly) {
            await sleepOrStop(Math.min(1000, Math.max(0, opt.seconds * 1000 - (Date.now() - t0))));
            s = await state();
            if (!frameSeen && s.ttffMs !== null) {
                frameSeen = true;
                emit({
                    event: 'first_frame', wall: Date.now() / 1000, ttffMs: s.ttffMs, ttffFromPlayMs: s.ttffFromPlayMs,
                    answerMs: s.answerMs, postMs: s.postMs, connectMs: s.connectMs, width: s.width, height: s.height
                });
            }
            if (s.state !== lastState) {
                lastState = s.state;
                emit({ event: 'state', state: s.state });
            }
            const line = statsLine(s);
            /* the DTLS transport's own state: "closed" after the server's
             * close_notify (connectionState does not show it) */
            line.dtlsState = await page.evaluate(() => {
                const pc = window.whepPlayer && window.whepPlayer.pc();
                const tr = pc && pc.getTransceivers()[0];
                return tr && tr.receiver.transport ? tr.receiver.transport.state : null;
            }).catch(() => null);
            emit(line);
            if (TERMINAL.includes(s.state)) {
                fail('connection ' + s.state + ' while watching', { error: s.error });
            }
        }

        if (opt.screenshot) {
            await page.screenshot({ path: opt.screenshot });
        }

        if (opt.noDelete) {
            /* Vanish: no DELETE, not even from the pagehide handler. */
            await page.evaluate(() => { window.whepSkipDeleteOnUnload = true; });
            emit({ event: 'vanished', location: s.location });
        } else {
            await page.click('#stop', { timeout: 5000 });
            try {
                await page.waitForFunction(() => {
                    const w = window.whepState;
                    return w.state === 'closed' && w.deleteStatus !== null;
                }, null, { timeout: 10000, polling: 100 });
            } catch (e) {
                s = await state().catch(() => null);
                fail('DELETE did not finish', { state: s && s.state });
            }
            s = await state();
            if (s.deleteStatus !== 200) {
                fail('DELETE answered ' + s.deleteStatus, { status: s.deleteStatus });
            }
            emit({ event: 'deleted', status: s.deleteStatus });
        }
    } catch (e) {
        /* playwright appends a multi-line call log: keep the first line */
        const message = String(e.message || e).split('\n')[0].replace(/\u001b\[[0-9;]*m/g, '');
        emit(Object.assign({ event: 'error', message: message }, e.extra || {}));
        exitCode = 2;
    }

    if (context) {
        await Promise.race([context.close().catch(() => {}), sleep(10000)]);
    }
    try {
        fs.rmSync(userDataDir, { recursive: true, force: true });
    } catch (e) { /* ignore */ }
    process.exit(exitCode);
}

main();
