/*
 * Publish page: capture camera/microphone or screen and send it over WHIP.
 *
 * URL parameters (all optional):
 *   stream=NAME  token=T  codec=H264|VP8|VP9|AV1  relay=1  autostart=1
 *   audio=0  video=0  source=camera|screen  resolution=WxH  fps=N
 *   maxbitrate=KBPS  chat=0 (no data channel)
 *   simulcast=1  (three video layers, rids q, h, f: 1/4, 1/2 and full size)
 *
 * Chat: a data channel labelled "chat" is opened before the offer (so the
 * offer has an m=application section); what viewers send comes back on
 * it or on channels the server opens (see chat.js).
 *
 * Test hooks: window.whipState (see below) and window.whipPublisher
 * ({start, stop, pc(), restartIce(), tracks}); window.chatLog (received messages,
 * [{label, data, binary, size}]), window.chatSent, window.chatSend(text);
 * setting window.whipSkipDeleteOnUnload = true makes the page vanish
 * without a DELETE when it is closed.
 */
(function () {
    'use strict';

    var $ = function (id) { return document.getElementById(id); };
    var query = new URLSearchParams(window.location.search);

    var whipState = window.whipState = {
        state: 'idle',        /* 'idle', RTCPeerConnection.connectionState, or 'error' */
        location: null,       /* Location header of the 201 */
        etag: null,
        error: null,          /* last error message */
        httpStatus: null,     /* status of the POST (or 0 on network error) */
        deleteStatus: null,   /* status of the DELETE after stop */
        iceServers: [],       /* from the OPTIONS Link headers */
        bytesSent: 0,         /* outbound-rtp bytesSent, audio + video */
        framesEncoded: 0,
        keyFramesEncoded: 0,
        codec: null,          /* video codec, e.g. 'VP8', 'H264' */
        audioCodec: null,     /* e.g. 'opus' */
        bitrateKbps: 0,
        width: 0,
        height: 0,
        fps: 0,
        pliCount: 0,
        nackCount: 0,
        audioMuted: false,
        videoMuted: false,
        previewReady: false,  /* preview video has frames (videoWidth > 0) */
        restarts: 0,          /* ICE restarts done (PATCH 200) */
        restartError: null    /* why the last ICE restart failed */
    };

    var tracks = { audio: null, video: null };   /* current local tracks */
    var transceivers = { audio: null, video: null };
    var client = null;
    var statsTimer = null;
    var lastSample = null;
    var captureSeq = { audio: 0, video: 0 };   /* latest capture per kind */
    var chat = null;          /* WHIPChat.Panel */

    /* ---------- UI helpers ---------- */

    function setState(s) {
        whipState.state = s;
        var el = $('state');
        el.textContent = s;
        el.dataset.state = s;
        el.className = 'pill state-' + s;
    }

    function showError(msg) {
        var el = $('error');
        if (msg) {
            el.textContent = msg;
            el.hidden = false;
        } else {
            el.textContent = '';
            el.hidden = true;
        }
    }

    function isScreen() {
        return $('source-screen').checked;
    }

    function live() {
        return client !== null;
    }

    function updateControls() {
        var on = live();
        $('start').disabled = on;
        $('stop').disabled = !on;
        ['stream', 'token', 'codec', 'use-audio', 'use-video', 'source-camera',
         'source-screen', 'screen-audio'].forEach(function (id) {
            $(id).disabled = on;
        });
        $('camera-options').hidden = isScreen();
        $('screen-options').hidden = !isScreen();
        $('audio-device').disabled = !$('use-audio').checked ||
            (isScreen() && $('screen-audio').checked);
        $('video-device').disabled = !$('use-video').checked;
        updateMuteButtons();
    }

    function updateMuteButtons() {
        [['audio', 'mute-audio', 'audioMuted'], ['video', 'mute-video', 'videoMuted']]
            .forEach(function (k) {
                var b = $(k[1]), muted = whipState[k[2]];
                b.disabled = !tracks[k[0]];
                b.setAttribute('aria-pressed', muted ? 'true' : 'false');
                b.textContent = (muted ? 'Unmute ' : 'Mute ') + k[0];
            });
    }

    function updatePreview() {
        var list = [tracks.video, tracks.audio].filter(Boolean);
        var v = $('preview');
        v.srcObject = list.length ? new MediaStream(list) : null;
        $('no-media').hidden = !!tracks.video;
        whipState.previewReady = false;
    }

    /* ---------- capture ---------- */

    function videoConstraints() {
        var r = $('resolution').value.split('x');
        var c = {
            width: { ideal: parseInt(r[0], 10) },
            height: { ideal: parseInt(r[1], 10) },
            frameRate: { ideal: parseInt($('framerate').value, 10) }
        };
        if ($('video-device').value) {
            c.deviceId = { exact: $('video-device').value };
        }
        return c;
    }

    function audioConstraints() {
        var c = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
        if ($('audio-device').value) {
            c.deviceId = { exact: $('audio-device').value };
        }
        return c;
    }

    function displayOptions(withAudio) {
        var v = {
            cursor: $('cursor').value,
            frameRate: { ideal: parseInt($('framerate').value, 10) }
        };
        if ($('display-surface').value) {
            v.displaySurface = $('display-surface').value;
        }
        return { video: v, audio: withAudio };
    }

    function gum(c) {
        return navigator.mediaDevices.getUserMedia(c).catch(function (e) {
            /* A device that vanished: retry with any device. */
            if (e.name === 'OverconstrainedError' || e.name === 'NotFoundError') {
                if (c.video && c.video.deviceId) {
                    delete c.video.deviceId;
                }
                if (c.audio && c.audio.deviceId) {
                    delete c.audio.deviceId;
                }
                return navigator.mediaDevices.getUserMedia(c);
            }
            throw e;
        });
    }

    /*
     * (Re)acquire the given kinds ({audio: bool, video: bool}) for the
     * current source and settings; replaces the tracks of a live session
     * in place (replaceTrack, no renegotiation).
     */
    function acquire(kinds) {
        var seq = {};
        ['audio', 'video'].forEach(function (kind) {
            if (kinds[kind]) {
                seq[kind] = ++captureSeq[kind];
            }
        });
        var wantV = !!kinds.video && $('use-video').checked;
        var wantA = !!kinds.audio && $('use-audio').checked;
        var got = {};
        var p = Promise.resolve();

        if (isScreen()) {
            if (wantV) {
                p = p.then(function () {
                    return navigator.mediaDevices.getDisplayMedia(
                        displayOptions(wantA && $('screen-audio').checked));
                }).then(function (ds) {
                    got.video = ds.getVideoTracks()[0] || null;
                    var a = ds.getAudioTracks()[0];
                    if (a && wantA) {
                        got.audio = a;
                    } else if (a) {
                        a.stop();
                    }
                });
            }
            if (wantA) {
                p = p.then(function () {
                    if (got.audio) {
                        return;
                    }
                    return gum({ audio: audioConstraints() }).then(function (s) {
                        got.audio = s.getAudioTracks()[0] || null;
                    });
                });
            }
        } else if (wantV || wantA) {
            p = gum({
                video: wantV ? videoConstraints() : false,
                audio: wantA ? audioConstraints() : false
            }).then(function (s) {
                got.video = s.getVideoTracks()[0] || null;
                got.audio = s.getAudioTracks()[0] || null;
            });
        }

        return p.then(function () {
            ['audio', 'video'].forEach(function (kind) {
                if (!kinds[kind] || seq[kind] !== captureSeq[kind]) {
                    /* not asked for, or a newer capture of this kind started
                     * meanwhile: drop what this one got */
                    if (got[kind]) {
                        got[kind].stop();
                    }
                    return;
                }
                var old = tracks[kind], t = got[kind] || null;
                if (old && old !== t) {
                    old.stop();
                }
                tracks[kind] = t;
                if (t) {
                    t.enabled = !whipState[kind + 'Muted'];
                    t.addEventListener('ended', function () {
                        if (tracks[kind] === t) {
                            showError('The ' + kind + ' source ended' +
                                (isScreen() ? ' (screen sharing stopped).' : '.'));
                        }
                    });
                }
                var tr = transceivers[kind];
                if (tr && live()) {
                    tr.sender.replaceTrack(t).catch(function (e) {
                        showError('Cannot switch ' + kind + ': ' + e.message);
                    });
                }
            });
            updatePreview();
            updateControls();
            return refreshDevices();
        });
    }

    /*
     * Resolution or frame rate changed. A second getUserMedia on a camera
     * that is already open gets the open format, so first try
     * applyConstraints on the current track; if the camera does not reach
     * the new size, release it and open it again.
     */
    function changeFormat() {
        var t = tracks.video;
        if (!t) {
            return acquire({ video: true });
        }
        var fps = parseInt($('framerate').value, 10);
        if (isScreen()) {
            return t.applyConstraints({ frameRate: { ideal: fps } }).catch(function () {});
        }
        var c = videoConstraints();
        delete c.deviceId;
        return t.applyConstraints(c).then(function () {
            var st = t.getSettings();
            if (st.width === c.width.ideal && st.height === c.height.ideal) {
                return;
            }
            throw new Error('format not reached');
        }).catch(function () {
            if (tracks.video === t) {
                t.stop();
            }
            return acquire({ video: true });
        });
    }

    function captureFailed(e) {
        var msg = (e && e.name ? e.name + ': ' : '') + (e && e.message ? e.message : String(e));
        if (isScreen() && e && e.name === 'InvalidStateError') {
            msg = 'Click "Choose screen…" to pick what to share.';
        }
        whipState.error = msg;
        showError(msg);
    }

    /* ---------- device lists ---------- */

    function fillSelect(sel, devices, current, fallbackName) {
        var keep = current || sel.value;
        sel.textContent = '';
        devices.forEach(function (d, i) {
            var o = document.createElement('option');
            o.value = d.deviceId;
            o.textContent = d.label || (fallbackName + ' ' + (i + 1));
            sel.appendChild(o);
        });
        if (!devices.length) {
            var o = document.createElement('option');
            o.value = '';
            o.textContent = 'none found';
            sel.appendChild(o);
        }
        if (keep && devices.some(function (d) { return d.deviceId === keep; })) {
            sel.value = keep;
        }
    }

    function trackDevice(t) {
        return t && t.getSettings ? t.getSettings().deviceId : null;
    }

    function refreshDevices() {
        if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) {
            return Promise.resolve();
        }
        return navigator.mediaDevices.enumerateDevices().then(function (list) {
            var cams = list.filter(function (d) { return d.kind === 'videoinput' && d.deviceId; });
            var mics = list.filter(function (d) { return d.kind === 'audioinput' && d.deviceId; });
            fillSelect($('video-device'), cams, isScreen() ? null : trackDevice(tracks.video), 'Camera');
            fillSelect($('audio-device'), mics, trackDevice(tracks.audio), 'Microphone');
        }).catch(function () { /* listing is best effort */ });
    }

    /* ---------- publishing ---------- */

    function applyMaxBitrate() {
        var tr = transceivers.video;
        if (!tr || !tr.sender.getParameters) {
            return;
        }
        var kbps = parseInt($('max-bitrate').value, 10);
        var params = tr.sender.getParameters();
        if (!params.encodings || !params.encodings.length) {
            return;
        }
        params.encodings.forEach(function (enc) {
            if (kbps > 0) {
                enc.maxBitrate = kbps * 1000;
            } else {
                delete enc.maxBitrate;
            }
        });
        tr.sender.setParameters(params).catch(function (e) {
            showError('Cannot set the bitrate: ' + e.message);
        });
    }

    function onClientEvent(name, data) {
        if (name === 'options') {
            whipState.iceServers = data.iceServers;
        } else if (name === 'answer') {
            whipState.httpStatus = data.status;
        } else if (name === 'restarted') {
            whipState.etag = data.etag;
            whipState.restarts++;
        } else if (name === 'restart-failed') {
            whipState.restartError = data.error;
        }
    }

    /* an explicit ICE restart (the test hook; failure restarts by itself) */
    function restartIce() {
        if (!client) {
            return Promise.reject(new Error('not publishing'));
        }
        return client.restartIce().then(function () {
            return whipState.restarts;
        }, function (e) {
            whipState.restartError = e && e.message ? e.message : String(e);
            throw e;
        });
    }

    function start() {
        if (live()) {
            return Promise.resolve();
        }
        var name = $('stream').value.trim();
        if (!name) {
            fail(null, new Error('Enter a stream name.'));
            return Promise.resolve();
        }
        showError('');
        whipState.error = null;
        whipState.location = null;
        whipState.etag = null;
        whipState.httpStatus = null;
        whipState.deleteStatus = null;
        $('location').textContent = '–';

        var c = client = new WHIP.Client('/whip/' + encodeURIComponent(name), {
            token: $('token').value.trim(),
            iceTransportPolicy: query.get('relay') === '1' ? 'relay' : 'all',
            onEvent: onClientEvent
        });
        updateControls();
        setState('new');

        var p = Promise.resolve();
        if (!tracks.audio && !tracks.video) {
            p = acquire({ audio: true, video: true });
        }
        return p.then(function () {
            if (!tracks.audio && !tracks.video) {
                throw new Error('Nothing to publish: enable audio or video.');
            }
            return c.fetchIceServers();
        }).then(function (iceServers) {
            if (client !== c) {
                return;
            }
            var pc = c.createPeerConnection(iceServers);
            pc.addEventListener('connectionstatechange', function () {
                if (client === c) {
                    setState(pc.connectionState);
                }
            });
            c.restartOnFailure();
            var ms = new MediaStream([tracks.audio, tracks.video].filter(Boolean));
            transceivers.audio = transceivers.video = null;
            /* audio first, then video: the usual WHIP m-line order */
            ['audio', 'video'].forEach(function (kind) {
                if (!tracks[kind]) {
                    return;
                }
                var init = { direction: 'sendonly', streams: [ms] };
                if (kind === 'video' && query.get('simulcast') === '1') {
                    /* three layers, small to large, as RFC 8853 rids */
                    init.sendEncodings = [
                        { rid: 'q', scaleResolutionDownBy: 4 },
                        { rid: 'h', scaleResolutionDownBy: 2 },
                        { rid: 'f', scaleResolutionDownBy: 1 }
                    ];
                }
                var tr = pc.addTransceiver(tracks[kind], init);
                transceivers[kind] = tr;
                if (kind === 'video') {
                    WHIP.preferCodec(tr, 'video', $('codec').value);
                }
            });
            /* before the offer: it then has the m=application section */
            if (chat && query.get('chat') !== '0') {
                chat.attach(pc);
            }
            setState(pc.connectionState);
            return c.negotiate().then(function () {
                if (client !== c) {
                    return;
                }
                whipState.location = c.location;
                whipState.etag = c.etag;
                $('location').textContent = c.location;
                applyMaxBitrate();
                startStats();
            });
        }).catch(function (e) {
            if (client === c) {
                fail(c, e);
            }
        });
    }

    function fail(c, e) {
        var msg = e && e.message ? e.message : String(e);
        if (e && e.name === 'TypeError' && /fetch/i.test(msg)) {
            msg = 'Network error: ' + msg;
        }
        whipState.error = msg;
        if (e && e.status !== undefined) {
            whipState.httpStatus = e.status;
        }
        client = null;
        stopStats();
        if (chat) {
            chat.detach();
        }
        setState('error');
        showError(msg);
        updateControls();
        if (c) {
            c.stop().then(function (status) {
                if (c.deleteStatus !== null) {
                    whipState.deleteStatus = status;
                }
            });
        }
    }

    function stop() {
        var c = client;
        if (!c) {
            return Promise.resolve();
        }
        client = null;
        stopStats();
        if (chat) {
            chat.detach();
        }
        /* pc.close() fires no connectionstatechange: report it ourselves */
        setState('closed');
        updateControls();
        return c.stop().then(function (status) {
            whipState.deleteStatus = c.location ? status : null;
            if (c.location && status !== 200) {
                showError('DELETE ' + c.location + ' answered ' + (status || 'nothing'));
            }
        });
    }

    /* ---------- statistics ---------- */

    function fmtBytes(n) {
        if (n >= 1e9) { return (n / 1e9).toFixed(2) + ' GB'; }
        if (n >= 1e6) { return (n / 1e6).toFixed(1) + ' MB'; }
        if (n >= 1e3) { return (n / 1e3).toFixed(0) + ' kB'; }
        return n + ' B';
    }

    function pollStats() {
        var pc = client && client.pc;
        if (!pc) {
            return;
        }
        pc.getStats().then(function (report) {
            var bytes = 0, v = null, a = null, layers = [];
            report.forEach(function (s) {
                if (s.type !== 'outbound-rtp') {
                    return;
                }
                bytes += s.bytesSent || 0;
                if (s.kind === 'video') {
                    if (s.rid) {
                        layers.push({ rid: s.rid, width: s.frameWidth || 0,
                                      height: s.frameHeight || 0,
                                      active: s.active !== false });
                    }
                    /* of simulcast layers, the largest */
                    if (!v || (s.frameWidth || 0) > (v.frameWidth || 0)) {
                        v = s;
                    }
                } else if (s.kind === 'audio') {
                    a = s;
                }
            });
            function codecName(s) {
                var c = s && s.codecId && report.get(s.codecId);
                return c && c.mimeType ? c.mimeType.split('/')[1] : null;
            }
            var now = performance.now();
            var kbps = lastSample && now > lastSample.t ?
                Math.max(0, (bytes - lastSample.bytes) * 8 / (now - lastSample.t)) : 0;
            lastSample = { t: now, bytes: bytes };

            whipState.bytesSent = bytes;
            whipState.bitrateKbps = Math.round(kbps);
            whipState.codec = codecName(v);
            whipState.audioCodec = codecName(a);
            whipState.framesEncoded = v ? v.framesEncoded || 0 : 0;
            whipState.keyFramesEncoded = v ? v.keyFramesEncoded || 0 : 0;
            whipState.width = v ? v.frameWidth || 0 : 0;
            whipState.height = v ? v.frameHeight || 0 : 0;
            whipState.fps = v ? v.framesPerSecond || 0 : 0;
            whipState.layers = layers;
            whipState.pliCount = v ? v.pliCount || 0 : 0;
            whipState.nackCount = (v ? v.nackCount || 0 : 0) + (a ? a.nackCount || 0 : 0);

            $('bitrate').textContent = whipState.bitrateKbps;
            $('stat-codec').textContent = [whipState.codec, whipState.audioCodec]
                .filter(Boolean).join(' + ') || '–';
            $('stat-resolution').textContent = whipState.width ?
                whipState.width + '×' + whipState.height : '–';
            $('stat-fps').textContent = v ? String(whipState.fps) : '–';
            $('stat-frames').textContent = v ? whipState.framesEncoded +
                ' (' + whipState.keyFramesEncoded + ' key)' : '–';
            $('stat-bytes').textContent = fmtBytes(bytes);
            $('stat-limit').textContent = v && v.qualityLimitationReason ?
                v.qualityLimitationReason : '–';
        }).catch(function () { /* the pc may have closed meanwhile */ });
    }

    function startStats() {
        stopStats();
        lastSample = null;
        pollStats();
        statsTimer = setInterval(pollStats, 1000);
    }

    function stopStats() {
        if (statsTimer) {
            clearInterval(statsTimer);
            statsTimer = null;
        }
        whipState.bitrateKbps = 0;
        $('bitrate').textContent = '0';
    }

    /* ---------- wiring ---------- */

    function toggleMute(kind) {
        var key = kind + 'Muted';
        whipState[key] = !whipState[key];
        if (tracks[kind]) {
            tracks[kind].enabled = !whipState[key];
        }
        updateMuteButtons();
    }

    function init() {
        $('stream').value = query.get('stream') || 'cam1';
        $('token').value = query.get('token') || '';
        var codec = (query.get('codec') || 'auto');
        Array.prototype.forEach.call($('codec').options, function (o) {
            if (o.value.toLowerCase() === codec.toLowerCase()) {
                $('codec').value = o.value;
            }
        });
        if (query.get('audio') === '0') {
            $('use-audio').checked = false;
        }
        if (query.get('video') === '0') {
            $('use-video').checked = false;
        }
        if (query.get('source') === 'screen') {
            $('source-screen').checked = true;
        }
        if (query.get('resolution')) {
            var r = query.get('resolution');
            if (!Array.prototype.some.call($('resolution').options, function (o) { return o.value === r; })) {
                var o = document.createElement('option');
                o.value = o.textContent = r;
                $('resolution').appendChild(o);
            }
            $('resolution').value = r;
        }
        if (query.get('fps')) {
            var f = query.get('fps');
            if (!Array.prototype.some.call($('framerate').options, function (o) { return o.value === f; })) {
                var o2 = document.createElement('option');
                o2.value = o2.textContent = f;
                $('framerate').appendChild(o2);
            }
            $('framerate').value = f;
        }
        if (query.get('maxbitrate')) {
            $('max-bitrate').value = query.get('maxbitrate');
        }

        $('start').addEventListener('click', start);
        $('stop').addEventListener('click', stop);
        $('mute-audio').addEventListener('click', function () { toggleMute('audio'); });
        $('mute-video').addEventListener('click', function () { toggleMute('video'); });
        $('max-bitrate').addEventListener('change', applyMaxBitrate);

        $('video-device').addEventListener('change', function () {
            acquire({ video: true }).catch(captureFailed);
        });
        $('audio-device').addEventListener('change', function () {
            acquire({ audio: true }).catch(captureFailed);
        });
        ['resolution', 'framerate'].forEach(function (id) {
            $(id).addEventListener('change', function () {
                changeFormat().catch(captureFailed);
            });
        });
        $('use-video').addEventListener('change', function () {
            showError('');
            acquire({ video: true }).catch(captureFailed);
        });
        $('use-audio').addEventListener('change', function () {
            showError('');
            acquire({ audio: true }).catch(captureFailed);
        });
        [$('source-camera'), $('source-screen')].forEach(function (r) {
            r.addEventListener('change', function () {
                showError('');
                updateControls();
                acquire({ audio: true, video: true }).catch(captureFailed);
            });
        });
        $('screen-audio').addEventListener('change', updateControls);
        $('choose-screen').addEventListener('click', function () {
            showError('');
            acquire({ audio: true, video: true }).catch(captureFailed);
        });

        $('preview').addEventListener('loadedmetadata', function () {
            whipState.previewReady = this.videoWidth > 0;
        });
        $('preview').addEventListener('resize', function () {
            whipState.previewReady = this.videoWidth > 0;
        });

        if (navigator.mediaDevices) {
            navigator.mediaDevices.addEventListener('devicechange', refreshDevices);
        }

        window.addEventListener('pagehide', function () {
            if (client) {
                client.skipDeleteOnUnload = !!window.whipSkipDeleteOnUnload;
                client.stopOnUnload();
            }
        });

        window.whipPublisher = {
            start: start,
            stop: stop,
            pc: function () { return client ? client.pc : null; },
            restartIce: restartIce,
            tracks: tracks
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

        setState('idle');
        updateControls();

        if (!navigator.mediaDevices || !window.RTCPeerConnection) {
            fail(null, new Error('This browser has no WebRTC or media capture (a secure origin is needed: https or localhost).'));
            return;
        }

        var first = refreshDevices().then(function () {
            return acquire({ audio: true, video: true });
        }).catch(captureFailed);

        if (query.get('autostart') === '1') {
            first.then(start);
        }
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', init);
    } else {
        init();
    }
})();
