#!/usr/bin/env node
/*
 * Headless Chromium WHEP viewer: drives html/watch.html.
 *
 *   node t/clients/chromium_watch.js --base http://127.0.0.1:8080 \
 *       [--stream cam1] [--token T] [--seconds 5] [--timeout 20] \
 *       [--no-delete] [--screenshot FILE] [--max-retries 60] [--no-wait] \
 *       [--allow-no-frame] [--warmup] [--restart-after S] [--relay]
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
 *   {"event":"restarted","etag":..,"restarts":1}   --restart-after S: an ICE
 *       restart S s after the first frame (restartIce(), PATCH, new answer)
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

const { emit, sleep, stop } = require('./lib/cli');
const {
    usageOf, options, fail, withBrowser, logPage, load, pageState, leavePage,
    restartIce,
} = require('./lib/chromium');

const usage = usageOf('usage: chromium_watch.js --base URL [--stream NAME] [--token T] ' +
        '[--seconds N] [--timeout S] [--no-delete] [--screenshot FILE] ' +
        '[--max-retries N] [--no-wait] [--allow-no-frame] [--warmup] [--restart-after S] [--relay]');

function clientOptions(argv) {
    const o = options(argv, {
        '--token': ['token', String],
        '--no-delete': ['noDelete', true],
        '--screenshot': ['screenshot', String],
        '--restart-after': ['restartAfter', Number],
        '--max-retries': ['maxRetries', Number],
        '--no-wait': ['noWait', true],
        '--allow-no-frame': ['allowNoFrame', true],
        '--warmup': ['warmup', true],
        '--relay': ['relay', true],
    }, {
        token: '', seconds: 3, noDelete: false, screenshot: null, restartAfter: null,
        maxRetries: null, noWait: false, allowNoFrame: false, warmup: false,
        relay: false
    }, usage);
    if (!(o.seconds >= 0) || !(o.timeout > 0) ||
        (o.maxRetries !== null && !(o.maxRetries >= 0))) {
        usage('bad --seconds, --timeout or --max-retries');
    }
    return o;
}

const TERMINAL = ['failed', 'closed', 'error'];

function statsLine(s) {
    return {
        state: s.state,
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

function firstFrame(s) {
    return {
        wall: Date.now() / 1000, ttffMs: s.ttffMs, ttffFromPlayMs: s.ttffFromPlayMs,
        answerMs: s.answerMs, postMs: s.postMs, connectMs: s.connectMs, width: s.width, height: s.height
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

const opt = clientOptions(process.argv.slice(2));

withBrowser({
    executable: opt.chromium, name: 'chromium-watch',
    seconds: 2 * opt.timeout + opt.seconds + 60, viewport: { width: 1280, height: 800 }
}, async (context) => {
    const page = context.pages()[0] || await context.newPage();
    logPage(page, '');

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
    if (opt.relay) {
        q.set('relay', '1');   /* iceTransportPolicy "relay": TURN only */
    }
    if (opt.maxRetries !== null) {
        q.set('maxretries', String(opt.maxRetries));
    }
    await load(page, opt.base + '/watch.html?' + q.toString());

    if (opt.warmup) {
        const ms = await page.evaluate(warmUp);
        emit('warmup', { ms: Math.round(ms) });
        await page.evaluate(() => window.whepPlayer.play());
    }

    /* connected or a terminal state, retries on 409 included; bounded */
    let s = null;
    let retriesSeen = 0;
    const connectDeadline = Date.now() + opt.timeout * 1000;
    for (;;) {
        s = await pageState(page);
        if (s && s.retries > retriesSeen) {
            retriesSeen = s.retries;
            emit('waiting', {
                retries: s.retries, httpStatus: s.httpStatus, retryAfter: s.retryAfter,
                delayMs: s.retryDelaysMs[s.retryDelaysMs.length - 1]
            });
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
    emit('connected', {
        location: s.location, etag: s.etag,
        retries: s.retries, iceServers: s.iceServers,
        answerMs: s.answerMs, postMs: s.postMs, connectMs: s.connectMs
    });

    /* first video frame, bounded */
    const frameDeadline = Date.now() + opt.timeout * 1000;
    while (s.ttffMs === null && Date.now() < frameDeadline && !stop.early) {
        if (TERMINAL.includes(s.state)) {
            fail('connection ' + s.state + ' before the first frame', { error: s.error });
        }
        await sleep(20);
        s = await pageState(page);
    }
    if (s.ttffMs !== null) {
        emit('first_frame', firstFrame(s));
    } else if (!opt.allowNoFrame && !stop.early) {
        fail('no video frame after ' + opt.timeout + ' s', {
            state: s.state, bytesReceived: s.bytesReceived,
            framesDecoded: s.framesDecoded, audioPacketsReceived: s.audioPacketsReceived
        });
    }

    let lastState = s.state;
    let frameSeen = s.ttffMs !== null;
    const t0 = Date.now();
    let restarted = false;
    while (Date.now() - t0 < opt.seconds * 1000 && !stop.early) {
        await stop.sleep(Math.min(1000, Math.max(0, opt.seconds * 1000 - (Date.now() - t0))));
        if (opt.restartAfter !== null && !restarted
            && Date.now() - t0 >= opt.restartAfter * 1000) {
            restarted = true;
            await restartIce(page, 'whepPlayer');
        }
        s = await pageState(page);
        if (!frameSeen && s.ttffMs !== null) {
            frameSeen = true;
            emit('first_frame', firstFrame(s));
        }
        if (s.state !== lastState) {
            lastState = s.state;
            emit('state', { state: s.state });
        }
        const line = statsLine(s);
        /* the DTLS transport's own state: "closed" after the server's
         * close_notify (connectionState does not show it) */
        line.dtlsState = await page.evaluate(() => {
            const pc = window.whepPlayer && window.whepPlayer.pc();
            const tr = pc && pc.getTransceivers()[0];
            return tr && tr.receiver.transport ? tr.receiver.transport.state : null;
        }).catch(() => null);
        emit('stats', line);
        if (TERMINAL.includes(s.state)) {
            fail('connection ' + s.state + ' while watching', { error: s.error });
        }
    }

    if (opt.screenshot) {
        await page.screenshot({ path: opt.screenshot });
    }
    await leavePage(page, opt.noDelete);
});
