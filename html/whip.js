/*
 * WHIP / WHEP client helpers, plain JavaScript, no dependencies.
 *
 * Shared by publish.html (WHIP, sendonly) and watch.html (WHEP, recvonly).
 *
 *   const c = new WHIP.Client('/whip/cam1', {token, iceTransportPolicy});
 *   const ice = await c.fetchIceServers();      // OPTIONS, Link headers
 *   const pc = c.createPeerConnection(ice);     // RTCPeerConnection
 *   pc.addTransceiver(track, {direction: 'sendonly', streams: [stream]});
 *   await c.negotiate();                        // offer, gather, POST, answer
 *     (= c.prepareOffer() then c.postOffer(); WHEP players repeat
 *      postOffer() after a 409 with Retry-After)
 *   ...
 *   await c.restartIce();                       // ICE restart: PATCH
 *   await c.stop();                             // close + DELETE
 *
 * After the POST: c.location, c.etag, c.links (every Link of the 201,
 * parsed), c.eventsUrl (the WHEP server-sent-events extension's URL, or
 * null).
 *
 * Non-trickle: the offer is sent once ICE gathering completes (or after a
 * bound, 2 s by default), so no PATCH is needed with an ICE-lite server.
 */
(function (global) {
    'use strict';

    /*
     * Parse an HTTP Link header value (RFC 8288). Several links may be in one
     * value, separated by commas (fetch() joins repeated headers with ", ").
     * Parameter values may be tokens or quoted strings with backslash
     * escapes; commas and semicolons inside quotes and inside <...> are data.
     * Returns [{url, params: {name: value, ...}}]; parameter names are lower
     * case; for a repeated parameter the first occurrence wins (RFC 8288).
     */
    function parseLinkHeader(value) {
        var links = [];
        if (!value) {
            return links;
        }
        var s = String(value), i = 0, n = s.length;

        function skipWs() {
            while (i < n && (s[i] === ' ' || s[i] === '\t' || s[i] === '\r' || s[i] === '\n')) {
                i++;
            }
        }

        function skipToNextLink() {
            /* Recover from garbage: skip to the next top-level comma. */
            var inQuote = false;
            while (i < n) {
                var c = s[i];
                if (inQuote) {
                    if (c === '\\') {
                        i++;
                    } else if (c === '"') {
                        inQuote = false;
                    }
                } else if (c === '"') {
                    inQuote = true;
                } else if (c === ',') {
                    i++;
                    return;
                }
                i++;
            }
        }

        while (i < n) {
            skipWs();
            if (i >= n) {
                break;
            }
            if (s[i] === ',') {
                i++;
                continue;
            }
            if (s[i] !== '<') {
                skipToNextLink();
                continue;
            }
            var end = s.indexOf('>', i + 1);
            if (end < 0) {
                break;
            }
            var link = { url: s.substring(i + 1, end).trim(), params: {} };
            i = end + 1;

            /* parameters */
            for (;;) {
                skipWs();
                if (i >= n) {
                    break;
                }
                if (s[i] === ',') {
                    i++;
                    break;
                }
                if (s[i] !== ';') {
                    skipToNextLink();
                    break;
                }
                i++;
                skipWs();
                var nameStart = i;
                while (i < n && s[i] !== '=' && s[i] !== ';' && s[i] !== ',') {
                    i++;
                }
                var name = s.substring(nameStart, i).trim().toLowerCase();
                var val = '';
                skipWs();
                if (i < n && s[i] === '=') {
                    i++;
                    skipWs();
                    if (s[i] === '"') {
                        i++;
                        while (i < n && s[i] !== '"') {
                            if (s[i] === '\\' && i + 1 < n) {
                                i++;
                            }
                            val += s[i];
                            i++;
                        }
                        i++; /* closing quote */
                    } else {
                        var vs = i;
                        while (i < n && s[i] !== ';' && s[i] !== ',') {
                            i++;
                        }
                        val = s.substring(vs, i).trim();
                    }
                }
                if (name && !Object.prototype.hasOwnProperty.call(link.params, name)) {
                    link.params[name] = val;
                }
            }
            links.push(link);
        }
        return links;
    }

    /*
     * Build RTCIceServer entries from parsed links with rel="ice-server"
     * (rel may hold several space-separated relation types). Only stun:,
     * stuns:, turn: and turns: URLs are used; TURN entries without
     * credentials are dropped because RTCPeerConnection rejects them.
     */
    function iceServersFromLinks(links) {
        var servers = [];
        (links || []).forEach(function (l) {
            var rel = (l.params.rel || '').toLowerCase().split(/\s+/);
            if (rel.indexOf('ice-server') < 0) {
                return;
            }
            var url = l.url;
            if (/^stuns?:/i.test(url)) {
                servers.push({ urls: url });
            } else if (/^turns?:/i.test(url)) {
                if (l.params.username === undefined || l.params.credential === undefined) {
                    return;
                }
                var ct = (l.params['credential-type'] || 'password').toLowerCase();
                if (ct !== 'password') {
                    return;
                }
                servers.push({
                    urls: url,
                    username: l.params.username,
                    credential: l.params.credential
                });
            }
        });
        return servers;
    }

    /* The WHEP extension that streams the stream's messages as events. */
    var SSE_REL = 'urn:ietf:params:whep:ext:core:server-sent-events';

    /*
     * The URL (resolved against base) of the first link whose rel (a
     * space-separated list) holds relType; null when there is none.
     */
    function linkByRel(links, relType, base) {
        for (var i = 0; i < (links || []).length; i++) {
            var rel = (links[i].params.rel || '').toLowerCase().split(/\s+/);
            if (rel.indexOf(relType.toLowerCase()) >= 0) {
                try {
                    return new URL(links[i].url, base).href;
                } catch (e) {
                    return null;
                }
            }
        }
        return null;
    }

    /* Resolve with true when gathering completes, false on timeout. */
    function waitIceGathering(pc, timeoutMs) {
        if (pc.iceGatheringState === 'complete') {
            return Promise.resolve(true);
        }
        return new Promise(function (resolve) {
            var done = false;
            function finish(ok) {
                if (done) {
                    return;
                }
                done = true;
                clearTimeout(timer);
                pc.removeEventListener('icegatheringstatechange', onState);
                pc.removeEventListener('icecandidate', onCand);
                resolve(ok);
            }
            function onState() {
                if (pc.iceGatheringState === 'complete') {
                    finish(true);
                }
            }
            function onCand(ev) {
                if (!ev.candidate) {
                    finish(true);
                }
            }
            var timer = setTimeout(function () { finish(false); }, timeoutMs);
            pc.addEventListener('icegatheringstatechange', onState);
            pc.addEventListener('icecandidate', onCand);
        });
    }

    /* Turn an error response into one readable line. */
    function readError(resp) {
        return resp.text().catch(function () { return ''; }).then(function (body) {
            var ct = (resp.headers.get('Content-Type') || '').toLowerCase();
            var msg = '';
            if (ct.indexOf('json') >= 0) {
                try {
                    var j = JSON.parse(body);
                    msg = [j.title, j.detail].filter(Boolean).join(': ');
                } catch (e) {
                    msg = '';
                }
            } else if (ct.indexOf('html') >= 0) {
                var doc = new DOMParser().parseFromString(body, 'text/html');
                msg = (doc.body ? doc.body.textContent : '') || '';
            }
            if (!msg) {
                msg = body;
            }
            msg = msg.replace(/\s+/g, ' ').trim();
            if (msg.length > 200) {
                msg = msg.substring(0, 200) + '…';
            }
            if (!msg) {
                msg = resp.statusText || 'request failed';
            }
            return 'HTTP ' + resp.status + ': ' + msg;
        });
    }

    function HttpError(status, message) {
        var e = new Error(message);
        e.name = 'HttpError';
        e.status = status;
        return e;
    }

    /*
     * One WHIP or WHEP session. opts:
     *   token               Bearer token (optional)
     *   iceTransportPolicy  'all' (default) or 'relay'
     *   gatherTimeout       ms to wait for ICE gathering (default 2000)
     *   onEvent(name, data) progress callback: 'options', 'offer', 'answer',
     *                       'deleted', ...
     */
    function Client(endpoint, opts) {
        this.endpoint = new URL(endpoint, global.location ? global.location.href : undefined).href;
        this.opts = opts || {};
        this.pc = null;
        this.location = null;     /* Location header as sent by the server */
        this.sessionUrl = null;   /* Location resolved against the endpoint */
        this.etag = null;
        this.iceServers = [];
        this.answerIceServers = [];
        this.links = [];          /* every Link of the 201, parsed */
        this.eventsUrl = null;    /* WHEP server-sent events extension */
        this.deleteStatus = null;
        this.skipDeleteOnUnload = false;
    }

    Client.prototype._headers = function (extra) {
        var h = {};
        if (this.opts.token) {
            h.Authorization = 'Bearer ' + this.opts.token;
        }
        Object.keys(extra || {}).forEach(function (k) { h[k] = extra[k]; });
        return h;
    };

    Client.prototype._emit = function (name, data) {
        if (typeof this.opts.onEvent === 'function') {
            try {
                this.opts.onEvent(name, data);
            } catch (e) {
                /* a UI callback must not break the protocol flow */
            }
        }
    };

    /*
     * OPTIONS on the endpoint: the server returns the same ice-server Link
     * headers as in the 201. Failure is not fatal (returns []): the POST will
     * report any real problem.
     */
    Client.prototype.fetchIceServers = function () {
        var self = this;
        return fetch(this.endpoint, { method: 'OPTIONS', headers: this._headers() })
            .then(function (resp) {
                var links = parseLinkHeader(resp.headers.get('Link'));
                self.iceServers = resp.ok ? iceServersFromLinks(links) : [];
                self._emit('options', { status: resp.status, iceServers: self.iceServers });
                return self.iceServers;
            })
            .catch(function (err) {
                self._emit('options', { status: 0, error: String(err), iceServers: [] });
                return [];
            });
    };

    Client.prototype.createPeerConnection = function (iceServers) {
        var cfg = {
            iceServers: iceServers || [],
            iceTransportPolicy: this.opts.iceTransportPolicy || 'all',
            bundlePolicy: 'max-bundle',
            rtcpMuxPolicy: 'require'
        };
        try {
            this.pc = new RTCPeerConnection(cfg);
        } catch (e) {
            /* One malformed entry makes the constructor throw: keep the good ones. */
            cfg.iceServers = (iceServers || []).filter(function (s) {
                try {
                    new RTCPeerConnection({ iceServers: [s] }).close();
                    return true;
                } catch (e2) {
                    return false;
                }
            });
            this.pc = new RTCPeerConnection(cfg);
        }
        return this.pc;
    };

    /*
     * Retry-After (RFC 9110 §10.2.3) in seconds: delay-seconds or an
     * HTTP-date; null when absent or unparsable.
     */
    function parseRetryAfter(value) {
        if (value === null || value === undefined || value === '') {
            return null;
        }
        var v = String(value).trim();
        if (/^\d+$/.test(v)) {
            return parseInt(v, 10);
        }
        var t = Date.parse(v);
        if (isNaN(t)) {
            return null;
        }
        return Math.max(0, Math.round((t - Date.now()) / 1000));
    }

    /* Offer and wait for gathering; resolves with the offer SDP. */
    Client.prototype.prepareOffer = function () {
        var self = this, pc = this.pc;
        return pc.createOffer()
            .then(function (offer) { return pc.setLocalDescription(offer); })
            .then(function () {
                return waitIceGathering(pc, self.opts.gatherTimeout || 2000);
            })
            .then(function (complete) {
                var sdp = pc.localDescription.sdp;
                self._emit('offer', { sdp: sdp, gatheringComplete: complete });
                return sdp;
            });
    };

    /*
     * POST the current local offer and apply the answer. May be called
     * again after an HttpError (e.g. WHEP 409 "no publisher yet"): the same
     * offer is sent again. The error carries .status and .retryAfter
     * (seconds or null).
     */
    Client.prototype.postOffer = function () {
        var self = this, pc = this.pc;
        var sdp = pc.localDescription.sdp;
        self._emit('post', { sdp: sdp });
        return fetch(self.endpoint, {
            method: 'POST',
            headers: self._headers({ 'Content-Type': 'application/sdp' }),
            body: sdp
        }).then(function (resp) {
            if (!resp.ok) {
                return readError(resp).then(function (msg) {
                    var e = HttpError(resp.status, msg);
                    e.retryAfter = parseRetryAfter(resp.headers.get('Retry-After'));
                    throw e;
                });
            }
            var loc = resp.headers.get('Location');
            if (!loc) {
                throw HttpError(resp.status, 'HTTP ' + resp.status + ': answer without a Location header');
            }
            self.location = loc;
            self.sessionUrl = new URL(loc, resp.url || self.endpoint).href;
            self.etag = resp.headers.get('ETag');
            self.links = parseLinkHeader(resp.headers.get('Link'));
            self.answerIceServers = iceServersFromLinks(self.links);
            self.eventsUrl = linkByRel(self.links, SSE_REL, self.sessionUrl);
            return resp.text().then(function (answer) {
                self._emit('answer', { status: resp.status, sdp: answer, location: loc });
                if (pc.signalingState === 'closed') {
                    throw new Error('stopped');
                }
                return pc.setRemoteDescription({ type: 'answer', sdp: answer });
            });
        });
    };

    /* Offer, wait for gathering, POST, apply the answer. */
    Client.prototype.negotiate = function () {
        var self = this;
        return this.prepareOffer().then(function () {
            return self.postOffer();
        });
    };

    /*
     * The trickle-ice-sdpfrag (RFC 8840) of a local description: its ICE
     * credentials, the first m-section's m= line and mid, its candidates.
     */
    function sdpFrag(sdp) {
        var lines = sdp.split(/\r?\n/), out = [], media = null, mid = null;
        var cands = [], ufrag = null, pwd = null, opts = null, section = 0;
        lines.forEach(function (l) {
            if (/^m=/.test(l)) {
                section++;
                if (section === 1) {
                    media = l;
                }
            } else if (section > 1) {
                return;
            } else if (/^a=ice-ufrag:/.test(l) && ufrag === null) {
                ufrag = l;
            } else if (/^a=ice-pwd:/.test(l) && pwd === null) {
                pwd = l;
            } else if (/^a=ice-options:/.test(l) && opts === null) {
                opts = l;
            } else if (/^a=mid:/.test(l) && section === 1 && mid === null) {
                mid = l;
            } else if (/^a=candidate:/.test(l) && section === 1) {
                cands.push(l);
            }
        });
        [opts, ufrag, pwd, media, mid].forEach(function (l) {
            if (l) {
                out.push(l);
            }
        });
        out = out.concat(cands);
        out.push('a=end-of-candidates');
        return out.join('\r\n') + '\r\n';
    }

    /*
     * The server's restart fragment applied to the remote description: its
     * ice-ufrag, ice-pwd and candidates in place of the old ones.
     */
    function applyFrag(remote, frag) {
        var u = /^a=ice-ufrag:(.*)$/m.exec(frag);
        var p = /^a=ice-pwd:(.*)$/m.exec(frag);
        var cands = frag.match(/^a=candidate:.*$/mg) || [];
        if (!u || !p) {
            throw new Error('ICE restart answer without ice-ufrag/ice-pwd');
        }
        return remote
            .replace(/^a=ice-ufrag:.*$/mg, 'a=ice-ufrag:' + u[1].trim())
            .replace(/^a=ice-pwd:.*$/mg, 'a=ice-pwd:' + p[1].trim())
            .replace(/^a=candidate:.*\r?\n/mg, '')
            .replace(/^a=end-of-candidates$/mg, cands.map(function (c) {
                return c.trim();
            }).concat('a=end-of-candidates').join('\r\n'));
    }

    /*
     * ICE restart (RFC 9725 §4.4.2): new local credentials in a new offer,
     * PATCHed as an sdpfrag with If-Match: the ETag; the server's new
     * ufrag, pwd and candidates then replace the old ones in the remote
     * description. DTLS and the media go on. Resolves with the server's
     * fragment; rejects with an HttpError (412: the ETag is stale, the
     * caller should start over with a POST).
     */
    Client.prototype.restartIce = function () {
        var self = this, pc = this.pc, url = this.sessionUrl;
        if (!url || !pc || pc.signalingState !== 'stable') {
            return Promise.reject(new Error('no session to restart'));
        }
        if (this.restarting) {
            return this.restarting;
        }
        pc.restartIce();
        this.restarting = pc.createOffer({ iceRestart: true })
            .then(function (offer) { return pc.setLocalDescription(offer); })
            .then(function () {
                return waitIceGathering(pc, self.opts.gatherTimeout || 2000);
            })
            .then(function () {
                var frag = sdpFrag(pc.localDescription.sdp);
                self._emit('restart', { frag: frag });
                return fetch(url, {
                    method: 'PATCH',
                    headers: self._headers({
                        'Content-Type': 'application/trickle-ice-sdpfrag',
                        'If-Match': self.etag || '*'
                    }),
                    body: frag
                });
            })
            .then(function (resp) {
                if (resp.status !== 200) {
                    return readError(resp).then(function (msg) {
                        throw HttpError(resp.status, msg);
                    });
                }
                self.etag = resp.headers.get('ETag') || self.etag;
                return resp.text();
            })
            .then(function (frag) {
                var sdp = applyFrag(pc.remoteDescription.sdp, frag);
                var u = /^a=ice-ufrag:(\S+)/m.exec(frag)[1];
                var mid = pc.getTransceivers().length ? pc.getTransceivers()[0].mid : null;
                return pc.setRemoteDescription({ type: 'answer', sdp: sdp })
                    .then(function () {
                        /*
                         * the candidates again, named by the new ufrag:
                         * Chromium keeps those of the old description (the
                         * same address and port) with the old ufrag, and
                         * would go on checking with the old credentials
                         */
                        return Promise.all((frag.match(/^a=candidate:.*$/mg) || [])
                            .map(function (c) {
                                return pc.addIceCandidate({
                                    candidate: c.trim().substring(2),
                                    sdpMid: mid, usernameFragment: u
                                }).catch(function () {});
                            }));
                    })
                    .then(function () {
                        self._emit('restarted', { frag: frag, etag: self.etag });
                        return frag;
                    });
            })
            .finally(function () {
                self.restarting = null;
            });
        return this.restarting;
    };

    /*
     * Restart ICE by itself when the connection fails (a network change):
     * what a WHIP/WHEP client does before it gives up and POSTs again.
     */
    Client.prototype.restartOnFailure = function () {
        var self = this, pc = this.pc;
        pc.addEventListener('iceconnectionstatechange', function () {
            if (pc.iceConnectionState === 'failed' && self.sessionUrl) {
                self.restartIce().catch(function (e) {
                    self._emit('restart-failed', { error: String(e && e.message || e) });
                });
            }
        });
    };

    /*
     * Close the peer connection and DELETE the session. keepalive lets the
     * request outlive the page (pagehide). Resolves with the DELETE status
     * (0 when there was nothing to delete or the request failed).
     */
    Client.prototype.stop = function () {
        var self = this, url = this.sessionUrl, p;
        this.sessionUrl = null;
        if (url) {
            p = fetch(url, { method: 'DELETE', headers: this._headers(), keepalive: true })
                .then(function (resp) { return resp.status; })
                .catch(function () { return 0; });
        } else {
            p = Promise.resolve(0);
        }
        if (this.pc) {
            this.pc.close();
        }
        return p.then(function (status) {
            if (url) {
                self.deleteStatus = status;
                self._emit('deleted', { status: status });
            }
            return status;
        });
    };

    /* For pagehide: fire-and-forget DELETE that survives the page. */
    Client.prototype.stopOnUnload = function () {
        if (this.skipDeleteOnUnload) {
            return;
        }
        var url = this.sessionUrl;
        this.sessionUrl = null;
        if (url) {
            try {
                fetch(url, { method: 'DELETE', headers: this._headers(), keepalive: true });
            } catch (e) {
                /* nothing more can be done while unloading */
            }
        }
        if (this.pc) {
            this.pc.close();
        }
    };

    /*
     * Restrict a transceiver to one codec family (plus rtx/red/fec helpers).
     * name: 'H264', 'VP8', 'VP9', 'AV1', ... ; '' or 'auto' leaves it alone.
     * Returns true when preferences were applied.
     */
    function preferCodec(transceiver, kind, name) {
        if (!name || name === 'auto' || !transceiver.setCodecPreferences ||
            !global.RTCRtpSender || !RTCRtpSender.getCapabilities) {
            return false;
        }
        var caps = RTCRtpSender.getCapabilities(kind);
        if (!caps) {
            return false;
        }
        var want = (kind + '/' + name).toLowerCase();
        var helpers = /\/(rtx|red|ulpfec|flexfec-03)$/i;
        var chosen = caps.codecs.filter(function (c) {
            return c.mimeType.toLowerCase() === want;
        });
        if (!chosen.length) {
            return false;
        }
        var rest = caps.codecs.filter(function (c) { return helpers.test(c.mimeType); });
        transceiver.setCodecPreferences(chosen.concat(rest));
        return true;
    }

    var api = {
        parseLinkHeader: parseLinkHeader,
        iceServersFromLinks: iceServersFromLinks,
        linkByRel: linkByRel,
        SSE_REL: SSE_REL,
        waitIceGathering: waitIceGathering,
        readError: readError,
        parseRetryAfter: parseRetryAfter,
        preferCodec: preferCodec,
        sdpFrag: sdpFrag,
        applyFrag: applyFrag,
        Client: Client
    };
    global.WHIP = api;
    if (typeof module !== 'undefined' && module.exports) {
        module.exports = api;
    }
})(typeof window !== 'undefined' ? window : globalThis);
