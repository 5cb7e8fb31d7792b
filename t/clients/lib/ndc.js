'use strict';

/*
 * node-datachannel (libdatachannel) as the libdatachannel clients use it
 * here: a peer connection on loopback, its offer, bounded waits, and an
 * exit that does not wait for libdatachannel's threads.
 */

const ndc = require('node-datachannel');
const cli = require('./cli');
const { emit, sleep } = cli;
const {
    httpRequest, offerSummary, requestHeaders, postOffer, readAnswer, deleteSession,
} = require('./whip');

const closing = new WeakSet();      /* peer connections we are closing */

/* the options of the libdatachannel WHIP and WHEP clients (cli.parseArgs) */
const OPTIONS = {
    '--url': ['url', String],
    '--token': ['token', String],
    '--seconds': ['seconds', Number],
    '--connect-timeout': ['connectTimeout', Number],
    '--user-agent': ['userAgent', String],
    '--no-delete': ['delete', false],
    '--audio': ['audio', true],
    '--no-audio': ['audio', false],
    '--video': ['video', true],
    '--no-video': ['video', false],
    '--print-offer': ['printOffer', true],
    '--verbose': ['verbose', true],
};

/* a peer connection gathering on 127.0.0.1 only; --verbose: its log on
 * stderr */
function peerConnection(name, verbose) {
    if (verbose) {
        ndc.initLogger('Debug', (level, msg) => process.stderr.write(`[${level}] ${msg}\n`));
    }
    return new ndc.PeerConnection(name, { iceServers: [], bindAddress: '127.0.0.1' });
}

/* prints {"event":"state","ice":..,"connection":..} on every change until
 * we close it (unless quiet) */
function reportStates(pc, quiet) {
    let last = {};
    const report = () => {
        if (quiet || closing.has(pc)) return;
        const now = { ice: pc.iceState(), connection: pc.state() };
        if (now.ice !== last.ice || now.connection !== last.connection) {
            last = now;
            emit('state', now);
        }
    };
    pc.onStateChange(report);
    pc.onIceStateChange(report);
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

/* true once cond() holds, false when abort() does or after ms; with
 * what, a timeout throws instead */
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

/*
 * The offer SDP: as soon as libdatachannel has one (before any candidate,
 * as OBS 30.2+ sends it), or after ICE gathering (bounded by gatherMs)
 * with candidates. node-datachannel cannot postpone gathering: it does
 * not expose gatherLocalCandidates.
 */
async function localOffer(pc, candidates, gatherMs) {
    const ready = new Promise((resolve) => {
        pc.onLocalDescription((sdp, type) => resolve({ sdp, type }));
    });
    pc.setLocalDescription();
    const offer = (await withTimeout(ready, 5000, 'no local description')).sdp;
    if (!candidates) return offer;
    await waitFor(() => pc.gatheringState() === 'complete', gatherMs, null);
    return pc.localDescription().sdp;
}

/*
 * POSTs the offer (whip.postOffer, options o) and applies the answer.
 * Returns {rc: 0, res, resourceUrl, answer}, or {rc} after an "error"
 * event: 2 for an HTTP error, 1 for an answer libdatachannel refuses (the
 * session is deleted). A viewer's (o.maxRetries given) answer and error
 * events say how many retries it took.
 */
async function negotiate(pc, url, headers, offer, o) {
    const { res, retries } = await postOffer(url, headers, offer, o);
    const got = readAnswer(url, res, o.maxRetries === undefined ? {} : { retries });
    if (!got) return { rc: 2 };
    try {
        pc.setRemoteDescription(got.answer, 'answer');
    } catch (e) {
        emit('error', { stage: 'answer', status: res.status, body: String(e.message || e) });
        await httpRequest('DELETE', got.resourceUrl, headers, undefined, o.timeoutMs);
        return { rc: 1 };
    }
    return Object.assign({ rc: 0, res }, got);
}

/*
 * A WHIP or WHEP client's start (args from OPTIONS): its states reported,
 * its offer (localOffer) printed as an "offer" event and negotiated
 * (options o); --print-offer prints the SDP alone and sends nothing.
 * Returns negotiate's result plus the request headers; rc 0 and no
 * resourceUrl after --print-offer.
 */
async function startSession(pc, args, candidates, o) {
    reportStates(pc, args.printOffer);
    const offer = await localOffer(pc, candidates, args.connectTimeout * 1000);
    if (args.printOffer) {
        process.stdout.write(offer);
        return { rc: 0 };
    }
    emit('offer', offerSummary(offer));
    const headers = requestHeaders(args.userAgent, args.token);
    return Object.assign({ headers }, await negotiate(pc, args.url, headers, offer, o));
}

/* connected (and ready(), e.g. tracks open) within seconds; else an
 * "error" event and false */
async function waitConnected(pc, seconds, ready) {
    if (await waitFor(() => pc.state() === 'connected' && (!ready || ready()),
        seconds * 1000, null, () => pc.state() === 'failed' || pc.state() === 'closed')) {
        return true;
    }
    emit('error', {
        stage: 'connect', status: 201,
        body: `not connected after ${seconds} s (connection ${pc.state()}, ice ${pc.iceState()})`,
    });
    return false;
}

/* exits with rc without waiting for libdatachannel's threads */
function hardExit(rc) {
    process.stdout.write('', () => process.exit(rc));
}

function finish(pc, rc) {
    try { pc.close(); } catch (e) { /* already closed */ }
    try { ndc.cleanup(); } catch (e) { /* ignore */ }
    hardExit(rc);
}

/* closes the connection, DELETEs the session (a status other than 200
 * makes rc 2) and exits */
async function leave(pc, resourceUrl, headers, rc, timeoutMs) {
    closing.add(pc);
    pc.close();
    const status = await deleteSession(resourceUrl, headers, timeoutMs);
    finish(pc, status !== 200 && rc === 0 ? 2 : rc);
}

/* a hard limit on everything, on top of each bounded wait */
function watchdog(seconds) {
    cli.watchdog(seconds, { stage: 'timeout', status: 0, body: `gave up after ${seconds} s` }, 1);
}

/* runs main(), an exception printed as an "error" event (exit 1) */
function run(main) {
    main().catch((e) => {
        emit('error', { stage: 'exception', status: 0, body: String(e && e.stack || e) });
        process.exit(1);
    });
}

module.exports = {
    ndc, OPTIONS, peerConnection, waitFor, negotiate, startSession, waitConnected,
    hardExit, finish, leave, watchdog, run,
};
