#!/usr/bin/env node
/*
 * Headless Chromium WHIP publisher: drives html/publish.html with Chromium's
 * fake camera and microphone.
 *
 *   node t/clients/chromium_publish.js --base http://127.0.0.1:8080 \
 *       [--stream cam1] [--token T] [--seconds 5] [--relay] [--codec VP8] \
 *       [--no-delete] [--no-audio] [--no-video] [--screenshot FILE] \
 *       [--timeout 20]
 *
 * Prints JSON lines on stdout:
 *   {"event":"connected","location":"/whip/cam1/...","codec":...}
 *   {"event":"stats","bytesSent":...,"framesEncoded":...}      every second
 *   {"event":"deleted","status":200}                          after #stop
 *   {"event":"vanished","location":...}                       with --no-delete
 *   {"event":"error","message":...}                           exit status 2
 * Page console errors go to stderr. Every wait is bounded.
 * SIGUSR1 ends the publishing phase early (as if --seconds had elapsed):
 * tests pass a long --seconds and signal the client when they are done.
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
    process.stderr.write('usage: chromium_publish.js --base URL [--stream NAME] [--token T] ' +
        '[--seconds N] [--relay] [--codec X] [--no-delete] [--no-audio] [--no-video] ' +
        '[--screenshot FILE] [--timeout S]\n');
    process.exit(msg ? 2 : 0);
}

function parseArgs(argv) {
    const o = {
        base: null, stream: 'cam1', token: '', seconds: 3, relay: false, codec: '',
        noDelete: false, audio: true, video: true, screenshot: null, timeout: 20,
        chromium: process.env.CHROMIUM || '/usr/bin/chromium'
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
        case '--relay': o.relay = true; break;
        case '--codec': o.codec = val(); break;
        case '--no-delete': o.noDelete = true; break;
        case '--no-audio': o.audio = false; break;
        case '--no-video': o.video = false; break;
        case '--screenshot': o.screenshot = val(); break;
        case '--timeout': o.timeout = Number(val()); break;
        case '--chromium': o.chromium = val(); break;
        case '-h': case '--help': usage(); break;
        default: usage('unknown argument ' + a);
        }
    }
    if (!o.base) {
        usage('--base is required');
    }
    if (!(o.seconds >= 0) || !(o.timeout > 0)) {
        usage('bad --seconds or --timeout');
    }
    return o;
}

function emit(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* SIGUSR1: stop publishing now (then DELETE, or vanish with --no-delete) */
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

async function main() {
    const opt = parseArgs(process.argv.slice(2));
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-publish-'));
    let context = null;
    let exitCode = 0;

    /* Last resort: never hang, whatever the browser does. */
    const hardLimit = (opt.timeout + opt.seconds + 60) * 1000;
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

        const q = new URLSearchParams({ stream: opt.stream, autostart: '1' });
        if (opt.token) {
            q.set('token', opt.token);
        }
        if (opt.relay) {
            q.set('relay', '1');
        }
        if (opt.codec) {
            q.set('codec', opt.codec);
        }
        if (!opt.audio) {
            q.set('audio', '0');
        }
        if (!opt.video) {
            q.set('video', '0');
        }
        const url = opt.base + '/publish.html?' + q.toString();
        const resp = await page.goto(url, { waitUntil: 'load', timeout: 10000 });
        if (!resp || !resp.ok()) {
            fail('cannot load ' + url + ': HTTP ' + (resp ? resp.status() : 'no response'));
        }

        const state = () => page.evaluate(() => window.whipState ? Object.assign({}, window.whipState) : null);

        /* connected, or a terminal state, bounded */
        try {
            await page.waitForFunction(() => {
                const s = window.whipState;
                return s && ['connected', 'failed', 'closed', 'error'].includes(s.state);
            }, null, { timeout: opt.timeout * 1000, polling: 100 });
        } catch (e) {
            const s = await state().catch(() => null);
            fail('not connected after ' + opt.timeout + ' s', { state: s && s.state, error: s && s.error });
        }
        let s = await state();
        if (s.state !== 'connected') {
            fail('publish failed', { state: s.state, error: s.error, httpStatus: s.httpStatus });
        }
        emit({ event: 'connected', location: s.location, etag: s.etag, iceServers: s.iceServers.length });

        const t0 = Date.now();
        while (Date.now() - t0 < opt.seconds * 1000 && !stopEarly) {
            await sleepOrStop(Math.min(1000, Math.max(0, opt.seconds * 1000 - (Date.now() - t0))));
            s = await state();
            emit({
                event: 'stats', state: s.state, bytesSent: s.bytesSent,
                framesEncoded: s.framesEncoded, keyFramesEncoded: s.keyFramesEncoded,
                bitrateKbps: s.bitrateKbps, codec: s.codec, audioCodec: s.audioCodec,
                width: s.width, height: s.height, pliCount: s.pliCount, nackCount: s.nackCount
            });
            if (['failed', 'closed', 'error'].includes(s.state)) {
                fail('connection ' + s.state + ' while publishing', { error: s.error });
            }
        }

        if (opt.screenshot) {
            await page.screenshot({ path: opt.screenshot });
        }

        if (opt.noDelete) {
            /* Vanish: no DELETE, not even from the pagehide handler. */
            await page.evaluate(() => { window.whipSkipDeleteOnUnload = true; });
            emit({ event: 'vanished', location: s.location });
        } else {
            await page.click('#stop', { timeout: 5000 });
            try {
                await page.waitForFunction(() => {
                    const w = window.whipState;
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
