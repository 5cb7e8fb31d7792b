/*
 * Watch page: play a live stream over WHEP (receive-only), or its LL-HLS
 * form with hls.js.
 *
 * URL parameters (all optional):
 *   stream=NAME  token=T  autostart=1  relay=1 (TURN only)
 *   mode=hls       play /hls/NAME/index.m3u8 with hls.js instead of WHEP
 *   hls=PATH       the HLS location prefix (default /hls/)
 *   wait=0         do not retry when the stream is not live (409)
 *   maxretries=N   retry a 409 at most N times (default 60)
 *   whep=PATH      the WHEP endpoint prefix (default /whep/)
 *   chat=0         no data channel
 *
 * Retries on 409 Conflict ("no publisher yet") with a backoff of 0.5 s,
 * 1 s, 2 s, 4 s, then 5 s, or sooner when the server's Retry-After is
 * smaller; the same offer is POSTed again.
 *
 * Chat: a data channel labelled "chat" is opened before the offer; the
 * publisher's messages arrive on it (or on a channel the server opens with
 * the publisher's label), and what is typed goes to the publisher (and to
 * the other viewers) when the server's webrtc_data_from_viewers allows it.
 * The 201's server-sent-events Link (if any) is shown as the events link.
 *
 * Test hooks: window.whepState (below; statistics refreshed every 500 ms)
 * and window.whepPlayer ({play, stop, pc(), restartIce()}); window.chatLog (received
 * messages, [{label, data, binary, size}]), window.chatSent,
 * window.chatSend(text); setting window.whepSkipDeleteOnUnload = true
 * makes the page vanish without a DELETE when it is closed.
 *
 * HLS mode: hls.js is loaded from /vendor/hls.min.js only then (no CDN;
 * Safari without MSE plays the playlist natively), with lowLatencyMode.
 * A playlist answered 404 (not live yet) is retried with the same backoff
 * as a 409 above. Test hooks: window.hlsState (below; refreshed every
 * 500 ms) and window.hlsPlayer ({play, stop, hls()}).
 */
(function () {
    'use strict';

    var $ = function (id) { return document.getElementById(id); };
    var query = new URLSearchParams(window.location.search);

    var STATS_INTERVAL = 500;
    var BACKOFF_MS = [500, 1000, 2000, 4000, 5000];
    var MIN_RETRY_MS = 250;

    var whepState = window.whepState = {
        state: 'idle',        /* 'idle', 'waiting' (409, retrying), a
                                 connectionState, 'closed' after stop, 'error' */
        location: null,       /* Location header of the 201 */
        etag: null,
        error: null,          /* last error message */
        httpStatus: null,     /* status of the last POST (0: network error) */
        deleteStatus: null,   /* status of the DELETE after stop */
        retries: 0,           /* POSTs repeated after a 409 */
        restarts: 0,          /* ICE restarts done (PATCH 200) */
        restartError: null,   /* why the last ICE restart failed */
        retryDelaysMs: [],    /* the delay used before each retry */
        retryAfter: null,     /* last Retry-After seen, seconds */
        iceServers: 0,        /* ice servers from OPTIONS */
        tracks: [],           /* kinds of the received tracks */
        framesDecoded: 0,
        framesDropped: 0,
        keyFramesDecoded: 0,
        freezeCount: 0,
        width: 0,
        height: 0,
        fps: 0,
        bytesReceived: 0,     /* video inbound-rtp */
        bitrateKbps: 0,       /* video, from bytesReceived deltas */
        videoPacketsReceived: 0,
        packetsLost: 0,       /* video + audio */
        audioPacketsReceived: 0,
        audioBytesReceived: 0,
        rttMs: null,          /* selected candidate pair currentRoundTripTime */
        ttffMs: null,         /* start of the successful POST -> first frame */
        ttffFromPlayMs: null, /* Play (incl. OPTIONS, gathering, retries) -> first frame */
        answerMs: null,       /* successful POST -> 201 body received */
        postMs: null,         /* successful POST -> answer applied (setRemoteDescription) */
        connectMs: null,      /* successful POST -> connectionState 'connected' */
        videoCodec: null,     /* e.g. 'H264', 'VP8' */
        audioCodec: null,     /* e.g. 'opus' */
        nackCount: 0,         /* sent by this viewer, video + audio */
        pliCount: 0,          /* sent by this viewer */
        firCount: 0,
        eventsUrl: null,      /* the 201's server-sent-events Link */
        muted: true
    };

    var client = null;
    var pcStream = null;      /* MediaStream that the <video> plays */
    var statsTimer = null;
    var retryTimer = null;
    var lastSample = null;
    var playStart = 0;        /* performance.now() at Play */
    var postStart = 0;        /* performance.now() at the start of the last POST */
    var chat = null;          /* WHIPChat.Panel */
    var mode = 'webrtc';      /* or 'hls' */

    /* ---------- UI helpers ---------- */

    function setState(s) {
        whepState.state = s;
        showState(s);
    }

    function showState(s) {
        var el = $('state');
        el.textContent = s;
        el.dataset.state = s;
        el.className = 'pill state-' + s;
    }

    function showError(msg) {
        var el = $('error');
        el.textContent = msg || '';
        el.hidden = !msg;
    }

    function showWaiting(msg) {
        var el = $('waiting');
        el.textContent = msg || '';
        el.hidden = !msg;
    }

    /* the URL parameter name, a path on this server only, or dflt */
    function pathPrefix(name, dflt) {
        var p = query.get(name) || dflt;
        if (!/^\/[A-Za-z0-9._~\/-]*$/.test(p) || p.indexOf('//') >= 0) {
            p = dflt;
        }
        return p.replace(/\/?$/, '/');
    }

    function endpoint() {
        return pathPrefix('whep', '/whep/') + encodeURIComponent($('stream').value.trim());
    }

    function hlsUrl() {
        return pathPrefix('hls', '/hls/') + encodeURIComponent($('stream').value.trim()) +
            '/index.m3u8';
    }

    function showEventsLink(url) {
        var a = $('events-link');
        var name = $('stream').value.trim();
        whepState.eventsUrl = url || null;
        if (a) {
            a.href = 'events.html?stream=' + encodeURIComponent(name) +
                (url ? '&url=' + encodeURIComponent(new URL(url).pathname) : '');
            a.title = url ? 'Server-sent events of this stream: ' + url :
                'Server-sent events of this stream';
        }
    }

    function updateControls() {
        var on = client !== null || hlsSession !== null;
        $('play').disabled = on;
        $('stop').disabled = !on;
        $('stream').disabled = on;
        $('token').disabled = on;
        $('wait-live').disabled = on;
        $('mode-webrtc').disabled = on;
        $('mode-hls').disabled = on;
        $('endpoint').textContent = endpoint();
        $('hls-url').textContent = hlsUrl();
        var u = $('unmute');
        u.disabled = !on;
        u.setAttribute('aria-pressed', whepState.muted ? 'true' : 'false');
        u.textContent = whepState.muted ? 'Unmute' : 'Mute';
    }

    function fmtMs(v) {
        return v === null || v === undefined ? '–' : Math.round(v) + ' ms';
    }

    function resetStats() {
        ['framesDecoded', 'framesDropped', 'keyFramesDecoded', 'freezeCount',
         'width', 'height', 'fps', 'bytesReceived', 'bitrateKbps',
         'videoPacketsReceived', 'packetsLost', 'audioPacketsReceived',
         'audioBytesReceived', 'nackCount', 'pliCount', 'firCount'
        ].forEach(function (k) { whepState[k] = 0; });
        whepState.rttMs = null;
        whepState.ttffMs = null;
        whepState.ttffFromPlayMs = null;
        whepState.answerMs = null;
        whepState.postMs = null;
        whepState.connectMs = null;
        whepState.videoCodec = null;
        whepState.audioCodec = null;
        whepState.tracks = [];
        lastSample = null;
        renderStats();
    }

    /* ---------- first frame ---------- */

    function firstFrame(c) {
        if (client !== c || whepState.ttffMs !== null) {
            return;
        }
        var now = performance.now();
        var v = $('video');
        if (!whepState.width && v.videoWidth) {
            /* getStats has not run yet: take the size from the element */
            whepState.width = v.videoWidth;
            whepState.height = v.videoHeight;
        }
        whepState.ttffMs = Math.round(now - postStart);
        whepState.ttffFromPlayMs = Math.round(now - playStart);
        $('ttff').textContent = fmtMs(whepState.ttffMs);
        $('ttff').title = 'from Play: ' + fmtMs(whepState.ttffFromPlayMs);
        $('no-media').hidden = true;
    }

    function watchFirstFrame(c) {
        var v = $('video');
        if (typeof v.requestVideoFrameCallback === 'function') {
            v.requestVideoFrameCallback(function () { firstFrame(c); });
        }
        /* fallback, and for browsers without requestVideoFrameCallback */
        var onData = function () {
            v.removeEventListener('loadeddata', onData);
            if (v.videoWidth > 0) {
                firstFrame(c);
            }
        };
        v.addEventListener('loadeddata', onData);
    }

    /* ---------- session ---------- */

    function play() {
        return mode === 'hls' ? playHls() : playWhep();
    }

    function stop() {
        return mode === 'hls' ? stopHls() : stopWhep();
    }

    function playWhep() {
        if (client) {
            return;
        }
        var name = $('stream').value.trim();
        if (!name) {
            showError('Enter a stream name.');
            return;
        }
        showError('');
        showWaiting('');
        resetStats();
        whepState.error = null;
        whepState.httpStatus = null;
        whepState.deleteStatus = null;
        whepState.location = null;
        whepState.etag = null;
        whepState.retries = 0;
        whepState.retryDelaysMs = [];
        whepState.retryAfter = null;
        $('location').textContent = '–';
        $('no-media').textContent = 'Connecting…';
        $('no-media').hidden = false;
        playStart = performance.now();

        var c = client = new WHIP.Client(endpoint(), {
            token: $('token').value.trim(),
            iceTransportPolicy: query.get('relay') === '1' ? 'relay' : 'all',
            onEvent: function (name, data) {
                if (name === 'answer' && client === c) {
                    whepState.answerMs = Math.round(performance.now() - postStart);
                } else if (name === 'restarted' && client === c) {
                    whepState.etag = data.etag;
                    whepState.restarts++;
                } else if (name === 'restart-failed' && client === c) {
                    whepState.restartError = data.error;
                }
            }
        });
        updateControls();
        setState('new');

        c.fetchIceServers().then(function (iceServers) {
            if (client !== c) {
                throw new Error('stopped');
            }
            whepState.iceServers = iceServers.length;
            var pc = c.createPeerConnection(iceServers);
            c.restartOnFailure();
            pc.addEventListener('connectionstatechange', function () {
                if (client === c && whepState.state !== 'waiting') {
                    setState(pc.connectionState);
                    if (pc.connectionState === 'connected' && whepState.connectMs === null) {
                        whepState.connectMs = Math.round(performance.now() - postStart);
                    }
                }
            });
            pcStream = new MediaStream();
            var v = $('video');
            v.srcObject = pcStream;
            watchFirstFrame(c);
            pc.addEventListener('track', function (ev) {
                if (client !== c) {
                    return;
                }
                /*
                 * One MediaStream for everything received, whatever the
                 * answer's msid says (or when it has none: ev.streams is
                 * empty then).
                 */
                if (pcStream.getTracks().indexOf(ev.track) < 0) {
                    pcStream.addTrack(ev.track);
                }
                whepState.tracks.push(ev.track.kind);
                /* re-attach so that a late track is picked up everywhere */
                v.srcObject = pcStream;
                var p = v.play();
                if (p && p.catch) {
                    p.catch(function () { /* autoplay refused: muted retry below */ });
                }
            });
            pc.addTransceiver('audio', { direction: 'recvonly' });
            pc.addTransceiver('video', { direction: 'recvonly' });
            /* before the offer: it then has the m=application section */
            if (chat && query.get('chat') !== '0') {
                chat.attach(pc);
            }
            return c.prepareOffer();
        }).then(function () {
            attempt(c);
        }).catch(function (e) {
            if (client === c) {
                fail(c, e);
            }
        });
    }

    function backoff(n) {
        return BACKOFF_MS[Math.min(n, BACKOFF_MS.length) - 1];
    }

    function maxRetries() {
        var m = parseInt(query.get('maxretries'), 10);
        return isNaN(m) || m < 0 ? 60 : m;
    }

    function attempt(c) {
        retryTimer = null;
        if (client !== c) {
            return;
        }
        postStart = performance.now();
        c.postOffer().then(function () {
            if (client !== c) {
                return;
            }
            whepState.httpStatus = 201;
            whepState.postMs = Math.round(performance.now() - postStart);
            whepState.location = c.location;
            whepState.etag = c.etag;
            $('location').textContent = c.location;
            showEventsLink(c.eventsUrl);
            showWaiting('');
            setState(c.pc.connectionState);
            startStats();
        }).catch(function (e) {
            if (client !== c) {
                return;
            }
            if (e && e.name === 'HttpError' && e.status === 409 &&
                $('wait-live').checked && whepState.retries < maxRetries()) {
                whepState.httpStatus = 409;
                whepState.retries++;
                var delay = backoff(whepState.retries);
                whepState.retryAfter = e.retryAfter;
                if (e.retryAfter !== null && e.retryAfter !== undefined &&
                    e.retryAfter * 1000 < delay) {
                    delay = Math.max(MIN_RETRY_MS, e.retryAfter * 1000);
                }
                whepState.retryDelaysMs.push(delay);
                setState('waiting');
                $('no-media').textContent = 'Waiting for the stream to go live…';
                showWaiting('Stream "' + $('stream').value.trim() +
                    '" is not live yet. Retry ' + whepState.retries + ' of ' +
                    maxRetries() + ' in ' + (delay / 1000).toFixed(1) + ' s.');
                retryTimer = setTimeout(function () { attempt(c); }, delay);
                return;
            }
            if (e && e.status === 409) {
                e = new Error(e.message + (whepState.retries ?
                    ' (gave up after ' + whepState.retries + ' retries)' : ''));
                e.status = 409;
            }
            fail(c, e);
        });
    }

    function fail(c, e) {
        var msg = e && e.message ? e.message : String(e);
        if (e && e.name === 'TypeError' && /fetch/i.test(msg)) {
            msg = 'Network error: ' + msg;
        }
        whepState.error = msg;
        if (e && e.status !== undefined) {
            whepState.httpStatus = e.status;
        }
        cancelRetry();
        client = null;
        stopStats();
        if (chat) {
            chat.detach();
        }
        setState('error');
        showWaiting('');
        showError(msg);
        $('no-media').textContent = 'Not playing';
        $('no-media').hidden = false;
        updateControls();
        if (c) {
            c.stop().then(function (status) {
                if (c.location) {
                    whepState.deleteStatus = status;
                }
            });
        }
    }

    function cancelRetry() {
        if (retryTimer) {
            clearTimeout(retryTimer);
            retryTimer = null;
        }
    }

    function stopWhep() {
        var c = client;
        if (!c) {
            return Promise.resolve();
        }
        cancelRetry();
        client = null;
        stopStats();
        if (chat) {
            chat.detach();
        }
        /* pc.close() fires no connectionstatechange: report it ourselves */
        setState('closed');
        showWaiting('');
        updateControls();
        $('video').srcObject = null;
        pcStream = null;
        $('no-media').textContent = 'Not playing';
        $('no-media').hidden = false;
        return c.stop().then(function (status) {
            whepState.deleteStatus = c.location ? status : null;
            if (c.location && status !== 200) {
                showError('DELETE ' + c.location + ' answered ' + (status || 'nothing'));
            }
        });
    }

    function toggleMute() {
        whepState.muted = !whepState.muted;
        var v = $('video');
        v.muted = whepState.muted;
        if (!whepState.muted) {
            /* a user gesture: playing with sound is allowed now */
            var p = v.play();
            if (p && p.catch) {
                p.catch(function () {});
            }
        }
        updateControls();
    }

    /* ---------- statistics ---------- */

    function renderStats() {
        var s = whepState;
        $('bitrate').textContent = s.bitrateKbps;
        $('stat-codec').textContent = [s.videoCodec, s.audioCodec].filter(Boolean).join(' + ') || '–';
        $('stat-resolution').textContent = s.width ? s.width + '×' + s.height : '–';
        $('stat-fps').textContent = s.framesDecoded ? String(Math.round(s.fps)) : '–';
        $('stat-bitrate').textContent = s.bytesReceived ? s.bitrateKbps + ' kbit/s' : '–';
        $('stat-frames').textContent = s.framesDecoded ? s.framesDecoded +
            (s.framesDropped ? ' (' + s.framesDropped + ' dropped)' : '') : '–';
        $('stat-lost').textContent = s.bytesReceived || s.audioBytesReceived ?
            String(s.packetsLost) : '–';
        $('stat-rtt').textContent = fmtMs(s.rttMs);
        $('ttff').textContent = fmtMs(s.ttffMs);
    }

    function pollStats() {
        var c = client, pc = c && c.pc;
        if (!pc) {
            return;
        }
        pc.getStats().then(function (report) {
            if (client !== c) {
                return;
            }
            var v = null, a = null, pair = null, pairs = [];
            report.forEach(function (s) {
                if (s.type === 'inbound-rtp') {
                    if (s.kind === 'video') {
                        v = s;
                    } else if (s.kind === 'audio') {
                        a = s;
                    }
                } else if (s.type === 'transport' && s.selectedCandidatePairId) {
                    pair = report.get(s.selectedCandidatePairId) || pair;
                } else if (s.type === 'candidate-pair') {
                    pairs.push(s);
                }
            });
            if (!pair) {
                pair = pairs.filter(function (p) {
                    return p.nominated && p.state === 'succeeded';
                })[0] || null;
            }
            function codecName(s) {
                var k = s && s.codecId && report.get(s.codecId);
                return k && k.mimeType ? k.mimeType.split('/')[1] : null;
            }
            var now = performance.now();
            var bytes = v ? v.bytesReceived || 0 : 0;
            var kbps = lastSample && now > lastSample.t ?
                Math.max(0, (bytes - lastSample.bytes) * 8 / (now - lastSample.t)) : 0;
            lastSample = { t: now, bytes: bytes };

            var st = whepState;
            st.bytesReceived = bytes;
            st.bitrateKbps = Math.round(kbps);
            st.videoCodec = codecName(v);
            st.audioCodec = codecName(a);
            st.framesDecoded = v ? v.framesDecoded || 0 : 0;
            st.framesDropped = v ? v.framesDropped || 0 : 0;
            st.keyFramesDecoded = v ? v.keyFramesDecoded || 0 : 0;
            st.freezeCount = v ? v.freezeCount || 0 : 0;
            st.width = v ? v.frameWidth || 0 : 0;
            st.height = v ? v.frameHeight || 0 : 0;
            st.fps = v ? v.framesPerSecond || 0 : 0;
            st.videoPacketsReceived = v ? v.packetsReceived || 0 : 0;
            st.audioPacketsReceived = a ? a.packetsReceived || 0 : 0;
            st.audioBytesReceived = a ? a.bytesReceived || 0 : 0;
            st.packetsLost = (v ? v.packetsLost || 0 : 0) + (a ? a.packetsLost || 0 : 0);
            st.nackCount = (v ? v.nackCount || 0 : 0) + (a ? a.nackCount || 0 : 0);
            st.pliCount = v ? v.pliCount || 0 : 0;
            st.firCount = v ? v.firCount || 0 : 0;
            st.rttMs = pair && typeof pair.currentRoundTripTime === 'number' ?
                Math.round(pair.currentRoundTripTime * 10000) / 10 : null;
            /* the stats may see a frame before the video element does */
            if (st.ttffMs === null && st.framesDecoded > 0 && $('video').videoWidth > 0) {
                firstFrame(c);
            }
            renderStats();
        }).catch(function () { /* the pc may have closed meanwhile */ });
    }

    function startStats() {
        stopStats();
        lastSample = null;
        pollStats();
        statsTimer = setInterval(pollStats, STATS_INTERVAL);
    }

    function stopStats() {
        if (statsTimer) {
            clearInterval(statsTimer);
            statsTimer = null;
        }
        whepState.bitrateKbps = 0;
        $('bitrate').textContent = '0';
    }

    /* ---------- HLS (hls.js) ---------- */

    var HLS_SCRIPT = '/vendor/hls.min.js';

    var hlsState = window.hlsState = {
        state: 'idle',        /* 'idle', 'loading', 'waiting' (not live yet,
                                 retrying), 'playing', 'buffering', 'ended',
                                 'closed' after stop, 'error' */
        url: null,            /* the playlist */
        engine: null,         /* 'hls.js', or 'native' (Safari without MSE) */
        version: null,        /* Hls.version */
        error: null,          /* last error message */
        httpStatus: null,     /* of the last failed playlist load */
        retries: 0,           /* playlist loads repeated while not live */
        fatalErrors: [],      /* hls.js fatal errors: [{type, details, httpStatus, message}] */
        framesDecoded: 0,     /* getVideoPlaybackQuality().totalVideoFrames */
        framesDropped: 0,
        width: 0,
        height: 0,
        fps: 0,
        latency: null,        /* hls.latency: seconds behind the live edge */
        targetLatency: null,  /* what hls.js aims for (hls.targetLatency) */
        playbackRate: 1,      /* hls.js speeds up a little to catch up */
        currentTime: 0,
        buffered: 0,          /* seconds buffered ahead of currentTime */
        bytesLoaded: 0,       /* init segment, parts and segments */
        bitrateKbps: 0,       /* from bytesLoaded deltas, audio + video */
        fragsLoaded: 0,
        videoCodec: null,     /* e.g. 'avc1.42e01f' */
        audioCodec: null,     /* e.g. 'opus' */
        ttffMs: null          /* Play (incl. loading hls.js, retries) -> first frame */
    };

    var hlsSession = null;    /* {hls, retryTimer, start, recovered} while playing */
    var hlsStatsTimer = null;
    var hlsLastSample = null;
    var hlsScript = null;     /* the promise of window.Hls */

    function setHlsState(s) {
        hlsState.state = s;
        showState(s);
    }

    /* hls.js, once, from this server; rejects when it cannot be loaded */
    function loadHlsJs() {
        if (window.Hls) {
            return Promise.resolve(window.Hls);
        }
        if (!hlsScript) {
            hlsScript = new Promise(function (resolve, reject) {
                var el = document.createElement('script');
                el.src = HLS_SCRIPT;
                el.onload = function () {
                    if (window.Hls) {
                        resolve(window.Hls);
                    } else {
                        reject(new Error(HLS_SCRIPT + ' defines no Hls'));
                    }
                };
                el.onerror = function () {
                    hlsScript = null;
                    el.remove();
                    reject(new Error('cannot load ' + HLS_SCRIPT));
                };
                document.head.appendChild(el);
            });
        }
        return hlsScript;
    }

    function resetHlsStats() {
        ['framesDecoded', 'framesDropped', 'width', 'height', 'fps',
         'currentTime', 'buffered', 'bytesLoaded', 'bitrateKbps', 'fragsLoaded'
        ].forEach(function (k) { hlsState[k] = 0; });
        hlsState.latency = null;
        hlsState.targetLatency = null;
        hlsState.playbackRate = 1;
        hlsState.videoCodec = null;
        hlsState.audioCodec = null;
        hlsState.ttffMs = null;
        hlsLastSample = null;
        renderHlsStats();
    }

    function playHls() {
        if (hlsSession) {
            return;
        }
        var name = $('stream').value.trim();
        if (!name) {
            showError('Enter a stream name.');
            return;
        }
        showError('');
        showWaiting('');
        resetHlsStats();
        hlsState.url = hlsUrl();
        hlsState.engine = null;
        hlsState.error = null;
        hlsState.httpStatus = null;
        hlsState.retries = 0;
        hlsState.fatalErrors = [];
        $('playlist').textContent = hlsState.url;
        $('no-media').textContent = 'Loading…';
        $('no-media').hidden = false;

        var s = hlsSession = { hls: null, retryTimer: null, start: performance.now(),
                               recovered: false };
        setHlsState('loading');
        updateControls();
        watchHlsFirstFrame(s);
        startHlsStats();

        var v = $('video');
        loadHlsJs().catch(function (e) {
            return e;
        }).then(function (Hls) {
            if (hlsSession !== s) {
                return;
            }
            if (Hls && !(Hls instanceof Error) && Hls.isSupported()) {
                hlsState.engine = 'hls.js';
                hlsState.version = Hls.version;
                hlsAttempt(s, Hls);
            } else if (v.canPlayType('application/vnd.apple.mpegurl')) {
                hlsState.engine = 'native';
                v.src = hlsState.url;
                playVideo(v);
            } else {
                throw Hls instanceof Error ? Hls :
                    new Error('This browser has no Media Source Extensions: no HLS.');
            }
        }).catch(function (e) {
            if (hlsSession === s) {
                hlsFail(s, e);
            }
        });
    }

    function playVideo(v) {
        var p = v.play();
        if (p && p.catch) {
            p.catch(function () { /* autoplay refused: the user presses play */ });
        }
    }

    function hlsAttempt(s, Hls) {
        var token = $('token').value.trim();
        /* up to 1.5x speed to get back to the target latency after a stall */
        var config = { lowLatencyMode: true, maxLiveSyncPlaybackRate: 1.5,
                       backBufferLength: 30 };
        if (token) {
            config.xhrSetup = function (xhr) {
                xhr.setRequestHeader('Authorization', 'Bearer ' + token);
            };
        }
        var hls = s.hls = new Hls(config);
        var v = $('video');

        hls.on(Hls.Events.MANIFEST_PARSED, function () {
            if (hlsSession === s) {
                showWaiting('');
                playVideo(v);
            }
        });
        hls.on(Hls.Events.BUFFER_CODECS, function (ev, tracks) {
            /* audio and video in one fMP4: one "audiovideo" track */
            Object.keys(tracks).forEach(function (k) {
                String(tracks[k].codec || '').split(',').forEach(function (c) {
                    c = c.trim();
                    if (/^(avc|hvc|hev|vp0|vp8|vp9|av01)/i.test(c)) {
                        hlsState.videoCodec = c;
                    } else if (c) {
                        hlsState.audioCodec = c;
                    }
                });
            });
        });
        hls.on(Hls.Events.FRAG_LOADED, function (ev, data) {
            /* a part or a whole segment (the payload may have gone to
             * hls.js's worker already: its stats count the bytes) */
            var st = (data.part || data.frag).stats;
            hlsState.fragsLoaded++;
            hlsState.bytesLoaded += st && st.loaded ? st.loaded : 0;
        });
        hls.on(Hls.Events.ERROR, function (ev, data) {
            if (hlsSession === s && s.hls === hls && data.fatal) {
                hlsError(s, Hls, data);
            }
        });
        hls.loadSource(hlsState.url);
        hls.attachMedia(v);
    }

    function hlsError(s, Hls, data) {
        var status = data.response && data.response.code ? data.response.code : null;
        hlsState.fatalErrors.push({
            type: data.type, details: data.details, httpStatus: status,
            message: data.error && data.error.message ? data.error.message : null
        });
        if (status) {
            hlsState.httpStatus = status;
        }

        /* no such stream yet: the playlist again after a while */
        if (data.details === Hls.ErrorDetails.MANIFEST_LOAD_ERROR && status === 404 &&
            $('wait-live').checked && hlsState.retries < maxRetries())
        {
            s.hls.destroy();
            s.hls = null;
            hlsState.retries++;
            var delay = backoff(hlsState.retries);
            setHlsState('waiting');
            showWaiting('Stream not live yet: retrying in ' +
                (delay / 1000).toFixed(1) + ' s (' + hlsState.retries + ')');
            s.retryTimer = setTimeout(function () {
                s.retryTimer = null;
                if (hlsSession === s) {
                    setHlsState('loading');
                    hlsAttempt(s, Hls);
                }
            }, delay);
            return;
        }

        /* what hls.js suggests for a broken buffer, once */
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !s.recovered) {
            s.recovered = true;
            s.hls.recoverMediaError();
            return;
        }

        var e = new Error('HLS: ' + data.details + (status ? ' (HTTP ' + status + ')' : '') +
            (hlsState.retries ? ' (gave up after ' + hlsState.retries + ' retries)' : ''));
        hlsFail(s, e);
    }

    function hlsEnd(s) {
        hlsSession = null;
        if (s.retryTimer) {
            clearTimeout(s.retryTimer);
            s.retryTimer = null;
        }
        stopHlsStats();
        if (s.hls) {
            s.hls.destroy();
            s.hls = null;
        }
        var v = $('video');
        v.removeAttribute('src');
        v.load();
        showWaiting('');
        $('no-media').textContent = 'Not playing';
        $('no-media').hidden = false;
    }

    function hlsFail(s, e) {
        var msg = e && e.message ? e.message : String(e);
        hlsState.error = msg;
        hlsEnd(s);
        setHlsState('error');
        showError(msg);
        updateControls();
    }

    function stopHls() {
        if (hlsSession) {
            hlsEnd(hlsSession);
            setHlsState('closed');
            updateControls();
        }
        return Promise.resolve();
    }

    function watchHlsFirstFrame(s) {
        var v = $('video');
        var seen = function () {
            if (hlsSession !== s || hlsState.ttffMs !== null || !v.videoWidth) {
                return;
            }
            hlsState.ttffMs = Math.round(performance.now() - s.start);
            hlsState.width = v.videoWidth;
            hlsState.height = v.videoHeight;
            $('ttff').textContent = fmtMs(hlsState.ttffMs);
            $('no-media').hidden = true;
        };
        if (typeof v.requestVideoFrameCallback === 'function') {
            v.requestVideoFrameCallback(seen);
        }
        var onData = function () {
            v.removeEventListener('loadeddata', onData);
            seen();
        };
        v.addEventListener('loadeddata', onData);
    }

    /* the <video>'s own events while HLS plays */
    function watchHlsVideo() {
        var v = $('video');
        v.addEventListener('playing', function () {
            if (hlsSession) {
                setHlsState('playing');
            }
        });
        v.addEventListener('waiting', function () {
            if (hlsSession && hlsState.state === 'playing') {
                setHlsState('buffering');
            }
        });
        v.addEventListener('ended', function () {
            if (hlsSession) {
                /* the publisher left: the playlist has EXT-X-ENDLIST */
                hlsEnd(hlsSession);
                setHlsState('ended');
                updateControls();
            }
        });
        v.addEventListener('error', function () {
            if (hlsSession && hlsState.engine === 'native') {
                hlsFail(hlsSession, new Error('HLS: ' +
                    (v.error && v.error.message ? v.error.message : 'media error')));
            }
        });
    }

    function bufferedAhead(v) {
        for (var i = 0; i < v.buffered.length; i++) {
            if (v.buffered.start(i) <= v.currentTime + 0.1 && v.currentTime <= v.buffered.end(i)) {
                return Math.max(0, v.buffered.end(i) - v.currentTime);
            }
        }
        return 0;
    }

    function round3(x) {
        return Math.round(x * 1000) / 1000;
    }

    function pollHlsStats() {
        var s = hlsSession;
        if (!s) {
            return;
        }
        var v = $('video'), st = hlsState, now = performance.now();
        var q = typeof v.getVideoPlaybackQuality === 'function' ?
            v.getVideoPlaybackQuality() : null;
        st.framesDecoded = q ? q.totalVideoFrames : v.webkitDecodedFrameCount || 0;
        st.framesDropped = q ? q.droppedVideoFrames : v.webkitDroppedFrameCount || 0;
        st.width = v.videoWidth;
        st.height = v.videoHeight;
        st.currentTime = round3(v.currentTime);
        st.buffered = round3(bufferedAhead(v));
        st.playbackRate = v.playbackRate;
        if (s.hls) {
            /* 0 until hls.js has a playlist */
            st.latency = s.hls.latency > 0 ? round3(s.hls.latency) : null;
            st.targetLatency = s.hls.targetLatency ? round3(s.hls.targetLatency) : null;
        } else if (st.engine === 'native' && v.seekable.length) {
            st.latency = round3(Math.max(0, v.seekable.end(v.seekable.length - 1) - v.currentTime));
        }
        if (hlsLastSample && now > hlsLastSample.t) {
            var dt = (now - hlsLastSample.t) / 1000;
            st.fps = Math.round(Math.max(0, st.framesDecoded - hlsLastSample.frames) / dt * 10) / 10;
            st.bitrateKbps = Math.round(Math.max(0, st.bytesLoaded - hlsLastSample.bytes) * 8 /
                                        dt / 1000);
        }
        /* a longer window for the rates than one poll: parts arrive in bursts */
        if (!hlsLastSample || now - hlsLastSample.t >= 2000) {
            hlsLastSample = { t: now, frames: st.framesDecoded, bytes: st.bytesLoaded };
        }
        renderHlsStats();
    }

    function renderHlsStats() {
        var s = hlsState;
        $('bitrate').textContent = s.bitrateKbps;
        $('stat-codec').textContent = [s.videoCodec, s.audioCodec].filter(Boolean).join(' + ') || '–';
        $('stat-resolution').textContent = s.width ? s.width + '×' + s.height : '–';
        $('stat-fps').textContent = s.framesDecoded ? String(Math.round(s.fps)) : '–';
        $('stat-bitrate').textContent = s.bytesLoaded ? s.bitrateKbps + ' kbit/s' : '–';
        $('stat-frames').textContent = s.framesDecoded ? s.framesDecoded +
            (s.framesDropped ? ' (' + s.framesDropped + ' dropped)' : '') : '–';
        $('stat-latency').textContent = s.latency === null ? '–' : s.latency.toFixed(2) + ' s';
        $('stat-latency').title = s.targetLatency === null ? '' :
            'target ' + s.targetLatency.toFixed(2) + ' s, playback rate ' + s.playbackRate;
        $('stat-buffered').textContent = s.framesDecoded ? s.buffered.toFixed(2) + ' s' : '–';
        $('ttff').textContent = fmtMs(s.ttffMs);
    }

    function startHlsStats() {
        stopHlsStats();
        hlsLastSample = null;
        hlsStatsTimer = setInterval(pollHlsStats, STATS_INTERVAL);
    }

    function stopHlsStats() {
        if (hlsStatsTimer) {
            clearInterval(hlsStatsTimer);
            hlsStatsTimer = null;
        }
        hlsState.bitrateKbps = 0;
        $('bitrate').textContent = '0';
    }

    /* ---------- mode ---------- */

    /* shows what belongs to mode m ([data-mode]); with url, also in the
     * address bar, so that a reload keeps it */
    function setMode(m, url) {
        mode = m === 'hls' ? 'hls' : 'webrtc';
        $('mode-' + mode).checked = true;
        Array.prototype.forEach.call(document.querySelectorAll('[data-mode]'), function (el) {
            el.hidden = el.dataset.mode !== mode;
        });
        showState(mode === 'hls' ? hlsState.state : whepState.state);
        showError(mode === 'hls' ? hlsState.error : whepState.error);
        if (mode === 'hls') {
            renderHlsStats();
        } else {
            renderStats();
        }
        if (url && window.history && history.replaceState) {
            if (mode === 'hls') {
                query.set('mode', 'hls');
            } else {
                query.delete('mode');
            }
            var q = query.toString();
            history.replaceState(null, '', window.location.pathname + (q ? '?' + q : ''));
        }
        updateControls();
    }

    /* ---------- wiring ---------- */

    function init() {
        $('stream').value = query.get('stream') || 'cam1';
        $('token').value = query.get('token') || '';
        if (query.get('wait') === '0') {
            $('wait-live').checked = false;
        }
        $('play').addEventListener('click', play);
        $('stop').addEventListener('click', stop);
        $('unmute').addEventListener('click', toggleMute);
        $('stream').addEventListener('input', updateControls);
        $('stream').addEventListener('keydown', function (ev) {
            if (ev.key === 'Enter') {
                play();
            }
        });

        window.addEventListener('pagehide', function () {
            stopHls();
            cancelRetry();
            if (client) {
                client.skipDeleteOnUnload = !!window.whepSkipDeleteOnUnload;
                client.stopOnUnload();
            }
        });

        window.whepPlayer = {
            play: play,
            stop: stop,
            pc: function () { return client ? client.pc : null; },
            /* an explicit ICE restart; a failed connection restarts by itself */
            restartIce: function () {
                if (!client) {
                    return Promise.reject(new Error('not playing'));
                }
                return client.restartIce().then(function () {
                    return whepState.restarts;
                }, function (e) {
                    whepState.restartError = e && e.message ? e.message : String(e);
                    throw e;
                });
            }
        };
        window.hlsPlayer = {
            play: play,
            stop: stop,
            hls: function () { return hlsSession ? hlsSession.hls : null; }
        };

        if (window.WHIPChat) {
            chat = new WHIPChat.Panel({
                log: $('chat-log'), input: $('chat-input'), send: $('chat-send'),
                status: $('chat-state'), label: 'chat'
            });
            window.chatLog = chat.log;
            window.chatSent = chat.sent;
            window.chatSend = function (text) { return chat.send(String(text)); };
        }
        showEventsLink(null);
        $('stream').addEventListener('input', function () { showEventsLink(null); });

        setState('idle');
        watchHlsVideo();
        ['mode-webrtc', 'mode-hls'].forEach(function (id) {
            $(id).addEventListener('change', function (ev) {
                if (ev.target.checked) {
                    setMode(ev.target.value, true);
                }
            });
        });
        setMode(query.get('mode'), false);

        if (mode === 'webrtc' && !window.RTCPeerConnection) {
            fail(null, new Error('This browser has no WebRTC.'));
            return;
        }
        if (query.get('autostart') === '1') {
            play();
        }
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', init);
    } else {
        init();
    }
})();
