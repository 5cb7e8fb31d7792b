'use strict';

/*
 * Headless Chromium for the browser test clients: Debian's
 * /usr/bin/chromium (or $CHROMIUM, or --chromium) through playwright-core,
 * with a fake camera and microphone and no name resolution but loopback;
 * the pages' errors on stderr, and an end that never hangs.
 */

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');
const cli = require('./cli');
const { emit, sleep } = cli;

const FLAGS = [
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
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

/* a failure that ends the client: an "error" event with extra's fields */
function fail(message, extra) {
    const e = new Error(message);
    e.extra = extra;
    throw e;
}

/* the usage error of a browser client (line: its usage): an "error"
 * event, exit 2 (0 for --help) */
function usageOf(line) {
    return (msg) => {
        if (msg) {
            emit('error', { message: msg });
        }
        process.stderr.write(line + '\n');
        process.exit(msg ? 2 : 0);
    };
}

/* the options of a browser client: its own (spec and defaults, as for
 * cli.parseArgs) and those of all, --base (required), --stream,
 * --timeout, --seconds, --chromium */
function options(argv, spec, defaults, usage) {
    const o = cli.parseArgs(argv, Object.assign({
        '--base': ['base', (v) => v.replace(/\/+$/, '')],
        '--stream': ['stream', String],
        '--timeout': ['timeout', Number],
        '--seconds': ['seconds', Number],
        '--chromium': ['chromium', String],
    }, spec), Object.assign({
        base: null, stream: 'cam1', timeout: 20,
        chromium: process.env.CHROMIUM || '/usr/bin/chromium',
    }, defaults), usage);
    if (!o.base) {
        usage('--base is required');
    }
    return o;
}

/*
 * Runs body(context) in a fresh browser (its profile in a temporary
 * directory, removed at the end), then exits: 0, or 2 after an "error"
 * event when body threw. o: executable, name (of the profile directory),
 * seconds (a hard limit: then an "error" event and exit 2, whatever the
 * browser does), viewport {width, height}, flags (after FLAGS).
 */
async function withBrowser(o, body) {
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), `${o.name}-`));
    const removeProfile = () => {
        try {
            fs.rmSync(userDataDir, { recursive: true, force: true });
        } catch (e) { /* ignore */ }
    };
    cli.watchdog(o.seconds, { message: `watchdog: gave up after ${o.seconds} s` }, 2,
        removeProfile);

    let context = null;
    let exitCode = 0;
    try {
        context = await chromium.launchPersistentContext(userDataDir, {
            executablePath: o.executable,
            headless: false,   /* --headless=new is in FLAGS */
            timeout: 30000,
            viewport: o.viewport,
            args: FLAGS.concat(o.flags || []),
        });
        context.setDefaultTimeout(10000);
        await body(context);
    } catch (e) {
        /* playwright appends a multi-line call log: keep the first line */
        const message = String(e.message || e).split('\n')[0].replace(/\u001b\[[0-9;]*m/g, '');
        emit('error', Object.assign({ message }, e.extra || {}));
        exitCode = 2;
    }

    if (context) {
        await Promise.race([context.close().catch(() => {}), sleep(10000)]);
    }
    removeProfile();
    process.exit(exitCode);
}

/* console errors, page errors and failed requests of a page on stderr */
function logPage(page, tag) {
    page.on('console', (msg) => {
        if (msg.type() === 'error') {
            process.stderr.write(`${tag}console.error: ${msg.text()}\n`);
        }
    });
    page.on('pageerror', (err) => {
        process.stderr.write(`${tag}pageerror: ${err.message}\n`);
    });
    page.on('requestfailed', (req) => {
        const f = req.failure();
        /* keepalive DELETEs complete in the browser process; the page
         * side is reported as aborted although the answer arrived */
        if (req.method() === 'DELETE' && f && f.errorText === 'net::ERR_ABORTED') {
            return;
        }
        process.stderr.write(`${tag}requestfailed: ${req.method()} ${req.url()}`
            + (f ? ' ' + f.errorText : '') + '\n');
    });
}

async function load(page, url) {
    const resp = await page.goto(url, { waitUntil: 'load', timeout: 10000 });
    if (!resp || !resp.ok()) {
        fail('cannot load ' + url + ': HTTP ' + (resp ? resp.status() : 'no response'));
    }
}

/* the state a publish or watch page exposes (window.whipState,
 * window.whepState) */
function pageState(page) {
    return page.evaluate(() => {
        const s = window.whepState || window.whipState;
        return s ? JSON.parse(JSON.stringify(s)) : null;
    });
}

/* "Stop" on a publish or watch page (#stop: DELETE); returns the DELETE
 * status, null when the page had no session */
async function stopPage(page) {
    await page.click('#stop', { timeout: 5000 });
    try {
        await page.waitForFunction(() => {
            const w = window.whepState || window.whipState;
            return w.state === 'closed' && (w.deleteStatus !== null || !w.location);
        }, null, { timeout: 10000, polling: 100 });
    } catch (e) {
        const s = await pageState(page).catch(() => null);
        fail('DELETE did not finish', { state: s && s.state });
    }
    return (await pageState(page)).deleteStatus;
}

/* the end of a publish or watch page: with noDelete it vanishes (no
 * DELETE, not even from the pagehide handler), else "Stop", which must
 * be answered 200 */
async function leavePage(page, noDelete) {
    if (noDelete) {
        const s = await page.evaluate(() => {
            window.whipSkipDeleteOnUnload = true;
            window.whepSkipDeleteOnUnload = true;
            return window.whepState || window.whipState;
        });
        emit('vanished', { location: s.location });
        return;
    }
    const status = await stopPage(page);
    if (status !== 200) {
        fail('DELETE answered ' + status, { status });
    }
    emit('deleted', { status });
}

/*
 * --restart-after: an ICE restart through the page's hook (window[hook]
 * .restartIce(): 'whipPublisher' or 'whepPlayer'), as a WHIP/WHEP client
 * does when its network changes; prints {"event":"restarted","etag":..,
 * "restarts":N}, or fails.
 */
async function restartIce(page, hook) {
    const r = await page.evaluate((h) => window[h].restartIce().then(
        (n) => ({ ok: true, restarts: n }),
        (e) => ({ ok: false, error: String((e && e.message) || e) })), hook);
    if (!r.ok) {
        fail('ICE restart failed', { error: r.error });
    }
    const s = await pageState(page);
    /* the remote ICE ufrags the browser now holds: the server's new one */
    const ufrags = await page.evaluate((h) => {
        const pc = window[h].pc();
        const sdp = pc && pc.remoteDescription ? pc.remoteDescription.sdp : '';
        return [...new Set(sdp.match(/a=ice-ufrag:\S+/g) || [])];
    }, hook).catch(() => []);
    emit('restarted', { etag: s.etag, restarts: r.restarts, remoteUfrags: ufrags });
}

module.exports = {
    usageOf, options, fail, withBrowser, logPage, load, pageState,
    stopPage, leavePage, restartIce,
};
