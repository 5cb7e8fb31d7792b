'use strict';

/*
 * The WHIP/WHEP HTTP exchange of the node test clients, in one place:
 * POST an offer (retrying 409 for viewers), read the 201 (Location, ETag,
 * Link, the answer SDP), DELETE the session.
 */

const { emit, sleep } = require('./cli');

const BACKOFF = [0.5, 1, 2, 4, 5];      /* seconds between POSTs answered 409 */
const MIN_RETRY = 0.25;

/* {status, headers, body, url}; status 0 when the server could not be
 * reached */
async function httpRequest(method, url, headers, body, timeoutMs) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    try {
        const res = await fetch(url, {
            method, headers, body, redirect: 'follow', signal: ctl.signal,
        });
        const text = await res.text();
        return { status: res.status, headers: res.headers, body: text, url: res.url };
    } catch (e) {
        const cause = e.cause ? ` (${e.cause.code || e.cause.message})` : '';
        return { status: 0, headers: new Headers(), body: `${e.message}${cause}`, url };
    } finally {
        clearTimeout(timer);
    }
}

/* seconds from a Retry-After value (delta or HTTP date), or null */
function retryAfter(v) {
    if (v === null || v === undefined) return null;
    v = String(v).trim();
    if (/^\d+$/.test(v)) return parseInt(v, 10);
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : Math.max(0, (t - Date.now()) / 1000);
}

function offerSummary(sdp) {
    const lines = sdp.split(/\r?\n/);
    return {
        media: lines.filter((l) => l.startsWith('m=')).map((l) => l.slice(2).split(' ')[0]),
        directions: lines.filter((l) => /^a=(recvonly|sendonly|sendrecv|inactive)$/.test(l))
            .map((l) => l.slice(2)),
        candidates: lines.filter((l) => l.startsWith('a=candidate:')).length,
    };
}

function requestHeaders(userAgent, token) {
    const h = { 'User-Agent': userAgent };
    if (token) h.Authorization = `Bearer ${token}`;
    return h;
}

/*
 * POSTs the offer; a 409 (stream not live yet) is POSTed again after a
 * backoff (BACKOFF, shortened to Retry-After when that is smaller), at
 * most o.maxRetries times, each retry printed as a "waiting" event;
 * o.beforePost() runs before every POST. Returns {res, retries}.
 */
async function postOffer(url, headers, offer, o) {
    const h = Object.assign({ 'Content-Type': 'application/sdp' }, headers);
    let retries = 0;
    for (;;) {
        if (o.beforePost) o.beforePost();
        const res = await httpRequest('POST', url, h, offer, o.timeoutMs);
        if (res.status !== 409 || retries >= (o.maxRetries || 0)) {
            return { res, retries };
        }
        retries++;
        const ra = retryAfter(res.headers.get('retry-after'));
        let delay = BACKOFF[Math.min(retries, BACKOFF.length) - 1];
        if (ra !== null && ra < delay) delay = Math.max(MIN_RETRY, ra);
        emit('waiting', { retries, status: 409, retry_after: ra, delay,
            body: res.body.trim().slice(0, 200) });
        await sleep(delay * 1000);
    }
}

/*
 * Prints the answer (or the error) of a POST. Returns {resourceUrl,
 * answer} (the SDP from "v=0" on), or null after an "error" event when it
 * is not a 201 with an SDP body and a Location. extra: more fields for
 * the answer and the first error.
 */
function readAnswer(url, res, extra) {
    if (res.status !== 201) {
        emit('error', Object.assign({ stage: 'post', status: res.status,
            body: res.body.trim() }, extra));
        return null;
    }
    const location = res.headers.get('location');
    /* fetch joins repeated headers with ", ": split before each "<" */
    const link = res.headers.get('link');
    emit('answer', Object.assign({
        status: res.status, location, etag: res.headers.get('etag'),
        content_type: res.headers.get('content-type'),
        links: link ? link.split(/,\s*(?=<)/) : [],
    }, extra, { sdp: res.body }));
    if (!res.body || res.body.indexOf('v=0') < 0) {
        emit('error', { stage: 'post', status: res.status, body: 'no SDP in the answer' });
        return null;
    }
    if (!location) {
        emit('error', { stage: 'post', status: res.status, body: 'no Location header' });
        return null;
    }
    return {
        resourceUrl: new URL(location, res.url || url).toString(),
        answer: res.body.slice(res.body.indexOf('v=0')),
    };
}

/* DELETEs the session and prints {"event":"deleted"}; returns the status */
async function deleteSession(resourceUrl, headers, timeoutMs) {
    const del = await httpRequest('DELETE', resourceUrl, headers, undefined, timeoutMs);
    emit('deleted', { status: del.status, body: del.status === 200 ? undefined : del.body });
    return del.status;
}

module.exports = {
    BACKOFF, httpRequest, retryAfter, offerSummary, requestHeaders,
    postOffer, readAnswer, deleteSession,
};
