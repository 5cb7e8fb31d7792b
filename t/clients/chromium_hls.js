#!/usr/bin/env node
/*
 * Headless Chromium LL-HLS viewer: drives html/watch.html in its HLS mode
 * (hls.js from /vendor/hls.min.js, lowLatencyMode).
 *
 *   node t/clients/chromium_hls.js --base http://127.0.0.1:8080 \
 *       [--stream cam1] [--token T] [--seconds 10] [--timeout 20] \
 *       [--max-retries 60] [--no-wait] [--allow-no-frame] [--screenshot FILE]
 *
 * Opens watch.html?mode=hls&stream=..&autostart=1 (the page loads the
 * playlist /hls/<stream>/index.m3u8 again after a 404 "not live yet",
 * with backoff, at most --max-retries times; --no-wait fails on the
 * first 404). --timeout bounds the first video frame, retries included.
 *
 * Prints JSON lines on stdout:
 *   {"event":"waiting","retries":N,"httpStatus":404}     each playlist retry
 *   {"event":"first_frame","wall":..,"ttffMs":..,"width":..,"height":..,
 *    "engine":"hls.js","version":..}
 *       ttffMs: Play (loading hls.js and retries included) -> first frame
 *   {"event":"stats","framesDecoded":N,"latency":S,"currentTime":T,
 *    "width":W,"height":H,"buffered":B,...}               every second
 *       framesDecoded: video.getVideoPlaybackQuality().totalVideoFrames;
 *       latency: hls.latency, seconds behind the live edge (null before
 *       hls.js has a playlist); buffered: seconds buffered ahead of
 *       currentTime
 *   {"event":"error","message":..,"type":..,"details":..,"httpStatus":..,
 *    "fatal":true}                   each fatal hls.js error (the page may
 *                                    recover from a media error once)
 *   {"event":"state","state":..}                          on changes after the first frame
 *   {"event":"stopped","state":"closed"}                  after Stop
 *   {"event":"error","message":..}                        exit status 2
 * No first frame within --timeout is an error unless --allow-no-frame;
 * so is the page giving up (state "error"). The playlist ending (the
 * publisher left: state "ended") is reported as a state, not an error.
 * Page console errors go to stderr. Every wait is bounded.
 * SIGUSR1 ends the watching phase early (as if --seconds had elapsed).
 */
'use strict';

const { emit, sleep, stop } = require('./lib/cli');
const {
    usageOf, options, fail, withBrowser, logPage, load,
} = require('./lib/chromium');

const usage = usageOf('usage: chromium_hls.js --base URL [--stream NAME] [--token T] ' +
        '[--seconds N] [--timeout S] [--max-retries N] [--no-wait] ' +
        '[--allow-no-frame] [--screenshot FILE]');

function clientOptions(argv) {
    const o = options(argv, {
        '--token': ['token', String],
        '--screenshot': ['screenshot', String],
        '--max-retries': ['maxRetries', Number],
        '--no-wait': ['noWait', true],
        '--allow-no-frame': ['allowNoFrame', true],
    }, {
        token: '', seconds: 10, screenshot: null, maxRetries: null,
        noWait: false, allowNoFrame: false
    }, usage);
    if (!(o.seconds >= 0) || !(o.timeout > 0) ||
        (o.maxRetries !== null && !(o.maxRetries >= 0))) {
        usage('bad --seconds, --timeout or --max-retries');
    }
    return o;
}

function hlsState(page) {
    return page.evaluate(() => {
        const s = window.hlsState;
        return s ? JSON.parse(JSON.stringify(s)) : null;
    });
}

function statsLine(s) {
    return {
        state: s.state,
        framesDecoded: s.framesDecoded, framesDropped: s.framesDropped,
        latency: s.latency, targetLatency: s.targetLatency,
        playbackRate: s.playbackRate,
        currentTime: s.currentTime, buffered: s.buffered,
        width: s.width, height: s.height, fps: s.fps,
        bitrateKbps: s.bitrateKbps, bytesLoaded: s.bytesLoaded,
        fragsLoaded: s.fragsLoaded,
        videoCodec: s.videoCodec, audioCodec: s.audioCodec
    };
}

/* the fatal hls.js errors not yet reported: "waiting" for the page's
 * retries of a playlist not there yet, "error" for the others */
function reportErrors(s, seen) {
    for (const e of s.fatalErrors.slice(seen.errors)) {
        if (e.details === 'manifestLoadError' && e.httpStatus === 404 &&
            (s.state === 'waiting' || s.state === 'loading')) {
            emit('waiting', { retries: s.retries, httpStatus: e.httpStatus });
        } else {
            emit('error', {
                message: 'hls.js: ' + e.details, type: e.type, details: e.details,
                httpStatus: e.httpStatus, error: e.message, fatal: true
            });
        }
    }
    seen.errors = s.fatalErrors.length;
}

function firstFrame(s) {
    return {
        wall: Date.now() / 1000, ttffMs: s.ttffMs, width: s.width, height: s.height,
        engine: s.engine, version: s.version, retries: s.retries
    };
}

const opt = clientOptions(process.argv.slice(2));

withBrowser({
    executable: opt.chromium, name: 'chromium-hls',
    seconds: opt.timeout + opt.seconds + 60, viewport: { width: 1280, height: 800 }
}, async (context) => {
    const page = context.pages()[0] || await context.newPage();
    logPage(page, '');

    const q = new URLSearchParams({ mode: 'hls', stream: opt.stream, autostart: '1' });
    if (opt.token) {
        q.set('token', opt.token);
    }
    if (opt.noWait) {
        q.set('wait', '0');
    }
    if (opt.maxRetries !== null) {
        q.set('maxretries', String(opt.maxRetries));
    }
    await load(page, opt.base + '/watch.html?' + q.toString());

    /* the first frame, playlist retries included; bounded */
    const seen = { errors: 0 };
    let s = await hlsState(page);
    if (!s) {
        fail('the page has no window.hlsState');
    }
    const frameDeadline = Date.now() + opt.timeout * 1000;
    while (s.ttffMs === null && Date.now() < frameDeadline && !stop.early) {
        reportErrors(s, seen);
        if (s.state === 'error') {
            fail('play failed', { state: s.state, error: s.error, httpStatus: s.httpStatus,
                                  retries: s.retries });
        }
        await sleep(50);
        s = await hlsState(page);
    }
    reportErrors(s, seen);
    if (s.ttffMs !== null) {
        emit('first_frame', firstFrame(s));
    } else if (!opt.allowNoFrame && !stop.early) {
        fail('no video frame after ' + opt.timeout + ' s', {
            state: s.state, error: s.error, httpStatus: s.httpStatus, retries: s.retries,
            fragsLoaded: s.fragsLoaded, framesDecoded: s.framesDecoded
        });
    }

    let lastState = s.state;
    let frameSeen = s.ttffMs !== null;
    const t0 = Date.now();
    while (Date.now() - t0 < opt.seconds * 1000 && !stop.early) {
        await stop.sleep(Math.min(1000, Math.max(0, opt.seconds * 1000 - (Date.now() - t0))));
        s = await hlsState(page);
        reportErrors(s, seen);
        if (!frameSeen && s.ttffMs !== null) {
            frameSeen = true;
            emit('first_frame', firstFrame(s));
        }
        if (s.state !== lastState) {
            lastState = s.state;
            emit('state', { state: s.state });
        }
        emit('stats', statsLine(s));
        if (s.state === 'error') {
            fail('the page gave up while playing', { error: s.error, httpStatus: s.httpStatus });
        }
    }

    if (opt.screenshot) {
        await page.screenshot({ path: opt.screenshot });
    }
    await page.evaluate(() => window.hlsPlayer.stop());
    s = await hlsState(page);
    emit('stopped', { state: s.state });
});
