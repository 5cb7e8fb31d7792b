#!/usr/bin/env node
/*
 * Headless Chromium WHIP publisher: drives html/publish.html with Chromium's
 * fake camera and microphone.
 *
 *   node t/clients/chromium_publish.js --base http://127.0.0.1:8080 \
 *       [--stream cam1] [--token T] [--seconds 5] [--relay] [--codec VP8] \
 *       [--no-delete] [--no-audio] [--no-video] [--screenshot FILE] \
 *       [--restart-after S] [--simulcast] [--timeout 20]
 *
 * Prints JSON lines on stdout:
 *   {"event":"connected","location":"/whip/cam1/...","codec":...}
 *   {"event":"stats","wall":..,"bytesSent":...,"framesEncoded":...} every second
 *   {"event":"restarted","etag":..,"restarts":1}   --restart-after S: an ICE
 *       restart S s after connecting (restartIce(), PATCH, new answer)
 *   {"event":"deleted","status":200}                          after #stop
 *   {"event":"vanished","location":...}                       with --no-delete
 *   {"event":"error","message":...}                           exit status 2
 * Page console errors go to stderr. Every wait is bounded.
 * SIGUSR1 ends the publishing phase early (as if --seconds had elapsed):
 * tests pass a long --seconds and signal the client when they are done.
 */
'use strict';

const { emit, stop } = require('./lib/cli');
const {
    usageOf, options, fail, withBrowser, logPage, load, pageState, leavePage,
    restartIce,
} = require('./lib/chromium');

const usage = usageOf('usage: chromium_publish.js --base URL [--stream NAME] [--token T] ' +
        '[--seconds N] [--relay] [--codec X] [--no-delete] [--no-audio] [--no-video] ' +
        '[--screenshot FILE] [--restart-after S] [--simulcast] [--timeout S]');

function clientOptions(argv) {
    const o = options(argv, {
        '--token': ['token', String],
        '--relay': ['relay', true],
        '--codec': ['codec', String],
        '--simulcast': ['simulcast', true],
        '--no-delete': ['noDelete', true],
        '--no-audio': ['audio', false],
        '--no-video': ['video', false],
        '--screenshot': ['screenshot', String],
        '--restart-after': ['restartAfter', Number],
    }, {
        token: '', seconds: 3, relay: false, codec: '', noDelete: false,
        audio: true, video: true, screenshot: null, restartAfter: null
    }, usage);
    if (!(o.seconds >= 0) || !(o.timeout > 0)) {
        usage('bad --seconds or --timeout');
    }
    return o;
}

const opt = clientOptions(process.argv.slice(2));

withBrowser({
    executable: opt.chromium, name: 'chromium-publish',
    seconds: opt.timeout + opt.seconds + 60, viewport: { width: 1280, height: 800 }
}, async (context) => {
    const page = context.pages()[0] || await context.newPage();
    logPage(page, '');

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
    if (opt.simulcast) {
        /* three layers of a 1280x720 fake camera */
        q.set('simulcast', '1');
        q.set('resolution', '1280x720');
    }
    if (!opt.video) {
        q.set('video', '0');
    }
    await load(page, opt.base + '/publish.html?' + q.toString());

    /* connected, or a terminal state, bounded */
    try {
        await page.waitForFunction(() => {
            const s = window.whipState;
            return s && ['connected', 'failed', 'closed', 'error'].includes(s.state);
        }, null, { timeout: opt.timeout * 1000, polling: 100 });
    } catch (e) {
        const s = await pageState(page).catch(() => null);
        fail('not connected after ' + opt.timeout + ' s', { state: s && s.state, error: s && s.error });
    }
    let s = await pageState(page);
    if (s.state !== 'connected') {
        fail('publish failed', { state: s.state, error: s.error, httpStatus: s.httpStatus });
    }
    emit('connected', { location: s.location, etag: s.etag, iceServers: s.iceServers.length });

    const t0 = Date.now();
    let restarted = false;
    while (Date.now() - t0 < opt.seconds * 1000 && !stop.early) {
        await stop.sleep(Math.min(1000, Math.max(0, opt.seconds * 1000 - (Date.now() - t0))));
        if (opt.restartAfter !== null && !restarted
            && Date.now() - t0 >= opt.restartAfter * 1000) {
            restarted = true;
            await restartIce(page, 'whipPublisher');
        }
        s = await pageState(page);
        emit('stats', {
            wall: Date.now() / 1000, state: s.state, bytesSent: s.bytesSent,
            framesEncoded: s.framesEncoded, keyFramesEncoded: s.keyFramesEncoded,
            bitrateKbps: s.bitrateKbps, codec: s.codec, audioCodec: s.audioCodec,
            width: s.width, height: s.height, pliCount: s.pliCount, nackCount: s.nackCount,
            layers: s.layers
        });
        if (['failed', 'closed', 'error'].includes(s.state)) {
            fail('connection ' + s.state + ' while publishing', { error: s.error });
        }
    }

    if (opt.screenshot) {
        await page.screenshot({ path: opt.screenshot });
    }
    await leavePage(page, opt.noDelete);
});
