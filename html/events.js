/*
 * Events page: shows a stream's data channel messages as server-sent
 * events, and POSTs messages to the stream.
 *
 * URL parameters (all optional):
 *   stream=NAME     (default cam1)
 *   url=PATH        the event stream's path (default /events/<stream>),
 *                   e.g. from a WHEP answer's server-sent-events Link
 *   last=N          resume after event id N (Last-Event-ID)
 *   autostart=1     connect at once
 *
 * The stream is read with fetch() and parsed here (the text/event-stream
 * format of the HTML standard) rather than with EventSource: the event
 * names are channel labels, unknown in advance, and EventSource delivers
 * named events only to listeners registered for that name. fetch() also
 * lets the first request carry Last-Event-ID. After the stream ends or
 * fails the page reconnects with Last-Event-ID (1 s, doubling up to 10 s,
 * or the server's retry:), until Disconnect.
 *
 * Test hooks: window.eventsLog ([{id, event, data}] in order; event is
 * "message" when the record has no event: field), window.eventsState
 * ({state, lastEventId, httpStatus, connects, error}),
 * window.eventsPost(label, data, type) -> Promise of the HTTP status,
 * window.eventsPlayer ({connect, disconnect}).
 */
(function () {
    'use strict';

    var $ = function (id) { return document.getElementById(id); };
    var query = new URLSearchParams(window.location.search);

    var MAX_LINES = 1000;
    var log = window.eventsLog = [];
    var state = window.eventsState = {
        state: 'idle',        /* idle, connecting, open, waiting, closed, error */
        lastEventId: null,
        httpStatus: null,
        connects: 0,
        error: null
    };

    var abort = null;         /* AbortController of the current fetch */
    var running = false;
    var retryTimer = null;
    var retryMs = 1000;
    var serverRetryMs = null;

    function setState(s) {
        state.state = s;
        var el = $('state');
        el.textContent = s;
        el.dataset.state = s;
        el.className = 'pill state-' + (s === 'open' ? 'connected' : s);
    }

    function showError(msg) {
        state.error = msg || null;
        $('error').textContent = msg || '';
        $('error').hidden = !msg;
    }

    function streamName() {
        return $('stream').value.trim();
    }

    function eventsPath() {
        var u = query.get('url');
        if (u && /^\/[A-Za-z0-9._~\/-]*$/.test(u) && u.indexOf('//') < 0 &&
            streamName() === (query.get('stream') || 'cam1')) {
            return u;
        }
        return '/events/' + encodeURIComponent(streamName());
    }

    function updateControls() {
        $('connect').disabled = running;
        $('disconnect').disabled = !running;
        $('stream').disabled = running;
        $('last-id').disabled = running;
        $('events-url').textContent = eventsPath();
    }

    /* ---------- display ---------- */

    function line(cls, parts) {
        var ul = $('events-log');
        var li = document.createElement('li');
        li.className = cls;
        parts.forEach(function (p) {
            var s = document.createElement('span');
            s.className = p[0];
            s.textContent = p[1];
            li.appendChild(s);
        });
        ul.appendChild(li);
        while (ul.children.length > MAX_LINES) {
            ul.removeChild(ul.firstChild);
        }
        ul.scrollTop = ul.scrollHeight;
    }

    function dispatch(ev) {
        log.push(ev);
        line('event', [['id', ev.id === null ? '' : '#' + ev.id],
                       ['label', ev.event], ['text', ev.data]]);
    }

    /* ---------- text/event-stream parser ---------- */

    function Parser(onEvent) {
        this.onEvent = onEvent;
        this.buf = '';
        this.data = [];
        this.event = '';
        this.sawCR = false;
    }

    Parser.prototype.push = function (text) {
        var s = this.buf + text, start = 0, i;
        for (i = 0; i < s.length; i++) {
            var c = s.charCodeAt(i);
            if (c === 10 && this.sawCR && i === start) {
                /* the LF of a CRLF whose CR ended the previous line */
                this.sawCR = false;
                start = i + 1;
                continue;
            }
            if (c === 10 || c === 13) {
                this.sawCR = c === 13;
                this.line(s.substring(start, i));
                start = i + 1;
            }
        }
        this.buf = s.substring(start);
    };

    Parser.prototype.line = function (l) {
        if (l === '') {
            if (this.data.length) {
                this.onEvent({
                    id: state.lastEventId,
                    event: this.event || 'message',
                    data: this.data.join('\n')
                });
            }
            this.data = [];
            this.event = '';
            return;
        }
        if (l.charAt(0) === ':') {
            return;   /* a comment */
        }
        var k = l.indexOf(':'), name = l, value = '';
        if (k >= 0) {
            name = l.substring(0, k);
            value = l.substring(k + 1);
            if (value.charAt(0) === ' ') {
                value = value.substring(1);
            }
        }
        if (name === 'data') {
            this.data.push(value);
        } else if (name === 'event') {
            this.event = value;
        } else if (name === 'id') {
            if (value.indexOf('\0') < 0) {
                state.lastEventId = value;
            }
        } else if (name === 'retry') {
            if (/^\d+$/.test(value)) {
                serverRetryMs = parseInt(value, 10);
            }
        }
    };

    /* ---------- connection ---------- */

    function connect() {
        if (running) {
            return;
        }
        if (!streamName()) {
            showError('Enter a stream name.');
            return;
        }
        running = true;
        showError('');
        var last = $('last-id').value.trim();
        state.lastEventId = /^\d+$/.test(last) ? last : null;
        retryMs = 1000;
        updateControls();
        open();
    }

    function open() {
        if (!running) {
            return;
        }
        retryTimer = null;
        var ctl = abort = new AbortController();
        var headers = { Accept: 'text/event-stream' };
        if (state.lastEventId !== null) {
            headers['Last-Event-ID'] = state.lastEventId;
        }
        setState('connecting');
        state.connects++;
        fetch(eventsPath(), { headers: headers, cache: 'no-store', signal: ctl.signal })
            .then(function (resp) {
                state.httpStatus = resp.status;
                if (!resp.ok) {
                    return resp.text().then(function (t) {
                        throw new Error('HTTP ' + resp.status + ': ' +
                            (t.replace(/\s+/g, ' ').trim() || resp.statusText));
                    });
                }
                var ct = resp.headers.get('Content-Type') || '';
                if (ct.indexOf('text/event-stream') !== 0) {
                    throw new Error('not an event stream: ' + ct);
                }
                setState('open');
                showError('');
                retryMs = 1000;
                var reader = resp.body.getReader();
                var dec = new TextDecoder();
                var parser = new Parser(dispatch);
                function pump() {
                    return reader.read().then(function (r) {
                        if (r.done) {
                            parser.push(dec.decode());
                            return;
                        }
                        parser.push(dec.decode(r.value, { stream: true }));
                        return pump();
                    });
                }
                return pump();
            })
            .then(function () {
                if (abort === ctl) {
                    reconnect('the server ended the stream');
                }
            }, function (e) {
                if (abort === ctl && e.name !== 'AbortError') {
                    reconnect(e.message || String(e));
                }
            });
    }

    function reconnect(why) {
        if (!running) {
            return;
        }
        var delay = serverRetryMs !== null ? serverRetryMs : retryMs;
        retryMs = Math.min(retryMs * 2, 10000);
        setState('waiting');
        showError(why + '; reconnecting in ' + (delay / 1000).toFixed(1) + ' s' +
            (state.lastEventId !== null ? ' after event #' + state.lastEventId : ''));
        retryTimer = setTimeout(open, delay);
    }

    function disconnect() {
        running = false;
        if (retryTimer) {
            clearTimeout(retryTimer);
            retryTimer = null;
        }
        if (abort) {
            var a = abort;
            abort = null;
            a.abort();
        }
        setState('closed');
        updateControls();
    }

    /* ---------- POST ---------- */

    function post(label, data, type) {
        var url = eventsPath() + (label ? '?label=' + encodeURIComponent(label) : '');
        return fetch(url, {
            method: 'POST',
            headers: { 'Content-Type': type || 'text/plain; charset=utf-8' },
            body: data
        }).then(function (resp) {
            if (resp.status === 204) {
                return 204;
            }
            return resp.text().then(function (t) {
                var e = new Error('HTTP ' + resp.status + ': ' +
                    (t.replace(/\s+/g, ' ').trim() || resp.statusText));
                e.status = resp.status;
                throw e;
            });
        });
    }

    function submit(ev) {
        ev.preventDefault();
        var label = $('post-label').value.trim();
        var data = $('post-data').value;
        var st = $('post-status');
        st.textContent = 'sending…';
        post(label, data, $('post-type').value).then(function () {
            st.textContent = 'sent' + (label ? ' on "' + label + '"' : '') +
                ' (' + new TextEncoder().encode(data).length + ' bytes)';
            $('post-data').value = '';
        }, function (e) {
            st.textContent = e.status === 404 ? 'No such stream (no publisher or viewer yet).' :
                e.status === 413 ? 'Message too large for the server.' :
                e.status === 429 ? 'Too many messages: slow down.' :
                e.message || String(e);
        });
    }

    window.eventsPost = function (label, data, type) {
        return post(label, data, type).catch(function (e) {
            return e.status || 0;
        });
    };

    function init() {
        $('stream').value = query.get('stream') || 'cam1';
        if (/^\d+$/.test(query.get('last') || '')) {
            $('last-id').value = query.get('last');
        }
        $('connect').addEventListener('click', connect);
        $('disconnect').addEventListener('click', disconnect);
        $('clear').addEventListener('click', function () {
            log.length = 0;
            $('events-log').textContent = '';
        });
        $('stream').addEventListener('input', updateControls);
        $('post-form').addEventListener('submit', submit);
        window.eventsPlayer = { connect: connect, disconnect: disconnect };
        setState('idle');
        updateControls();
        if (query.get('autostart') === '1') {
            connect();
        }
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', init);
    } else {
        init();
    }
})();
