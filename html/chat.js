/*
 * Chat panel over a WebRTC data channel, shared by publish.html and
 * watch.html. Plain JavaScript, no dependencies.
 *
 *   var chat = new WHIPChat.Panel({ log: el, input: el, send: el,
 *                                   status: el, label: 'chat' });
 *   chat.attach(pc);   // BEFORE createOffer: the offer then has the
 *                      // m=application section
 *   chat.send('hi');   // false when no channel is open
 *   chat.detach();     // at stop
 *
 * The page opens one channel with the label ("chat"). Messages arrive on
 * it, and on any channel the server opens to us (ondatachannel: the server
 * opens one with the sender's label when we have none of that name), so
 * every received message is logged with its channel's label.
 *
 * Test hooks (set by the pages): window.chatLog, the received messages in
 * order, each {label, data, binary, size, time}: data is the text, or for
 * binary the bytes in base64; size is the length in bytes (UTF-8 for
 * text). window.chatSent: what this page sent. window.chatSend(text):
 * sends on the open "chat" channel, returns true when it was sent.
 */
(function (global) {
    'use strict';

    var MAX_LINES = 500;   /* DOM lines kept in the log */

    function toBase64(bytes) {
        var s = '';
        for (var i = 0; i < bytes.length; i += 0x8000) {
            s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
        }
        return global.btoa(s);
    }

    function utf8Length(text) {
        return new TextEncoder().encode(text).length;
    }

    function Panel(opts) {
        this.opts = opts || {};
        this.label = this.opts.label || 'chat';
        this.log = [];        /* received: {label, data, binary, size, time} */
        this.sent = [];       /* sent: {label, data} */
        this.pc = null;
        this.channel = null;  /* ours, labelled this.label */
        this.channels = [];   /* every channel seen on this pc */
        var self = this;
        if (this.opts.send) {
            this.opts.send.addEventListener('click', function () {
                self.sendInput();
            });
        }
        if (this.opts.input) {
            this.opts.input.addEventListener('keydown', function (ev) {
                if (ev.key === 'Enter') {
                    ev.preventDefault();
                    self.sendInput();
                }
            });
        }
        this.update();
    }

    /* the pc is new: open our channel and watch the server's */
    Panel.prototype.attach = function (pc) {
        var self = this;
        this.detach();
        this.pc = pc;
        this.log.length = 0;
        this.sent.length = 0;
        if (this.opts.log) {
            this.opts.log.textContent = '';
        }
        this.channel = pc.createDataChannel(this.label);
        this._watch(this.channel);
        pc.addEventListener('datachannel', function (ev) {
            if (self.pc === pc) {
                self._watch(ev.channel);
            }
        });
        this.update();
        return this.channel;
    };

    Panel.prototype.detach = function () {
        this.channels.forEach(function (ch) {
            ch.onopen = ch.onclose = ch.onmessage = null;
        });
        this.channels = [];
        this.channel = null;
        this.pc = null;
        this.update();
    };

    Panel.prototype._watch = function (ch) {
        var self = this;
        ch.binaryType = 'arraybuffer';
        this.channels.push(ch);
        ch.onopen = ch.onclose = function () { self.update(); };
        ch.onmessage = function (ev) { self._received(ch.label, ev.data); };
        this.update();
    };

    Panel.prototype._received = function (label, data) {
        var e;
        if (typeof data === 'string') {
            e = { label: label, data: data, binary: false, size: utf8Length(data) };
        } else {
            var bytes = new Uint8Array(data);
            e = { label: label, data: toBase64(bytes), binary: true, size: bytes.length };
        }
        e.time = Date.now();
        this.log.push(e);
        this._line('recv', label, e.binary ? '[binary ' + e.size + ' bytes]' :
            e.data === '' ? '[empty]' : e.data);
        if (typeof this.opts.onMessage === 'function') {
            this.opts.onMessage(e);
        }
    };

    Panel.prototype._line = function (cls, label, text) {
        var log = this.opts.log;
        if (!log) {
            return;
        }
        var li = document.createElement('li');
        li.className = cls;
        var l = document.createElement('span');
        l.className = 'label';
        l.textContent = label || '(no label)';
        var t = document.createElement('span');
        t.className = 'text';
        t.textContent = text;
        li.appendChild(l);
        li.appendChild(t);
        log.appendChild(li);
        while (log.children.length > MAX_LINES) {
            log.removeChild(log.firstChild);
        }
        log.scrollTop = log.scrollHeight;
    };

    /* the channel to send on: ours, or one the server opened with our label */
    Panel.prototype.openChannel = function () {
        if (this.channel && this.channel.readyState === 'open') {
            return this.channel;
        }
        var label = this.label;
        return this.channels.filter(function (ch) {
            return ch.label === label && ch.readyState === 'open';
        })[0] || null;
    };

    Panel.prototype.send = function (text) {
        var ch = this.openChannel();
        if (!ch || typeof text !== 'string') {
            return false;
        }
        try {
            ch.send(text);
        } catch (e) {
            this._line('error', ch.label, 'not sent: ' + e.message);
            return false;
        }
        this.sent.push({ label: ch.label, data: text });
        this._line('sent', ch.label, text);
        return true;
    };

    Panel.prototype.sendInput = function () {
        var input = this.opts.input;
        if (!input || !input.value) {
            return;
        }
        if (this.send(input.value)) {
            input.value = '';
        }
    };

    Panel.prototype.update = function () {
        var open = !!this.openChannel();
        if (this.opts.send) {
            this.opts.send.disabled = !open;
        }
        if (this.opts.status) {
            var s = this.pc === null ? 'off' : open ? 'open' :
                this.channel ? this.channel.readyState : 'closed';
            this.opts.status.textContent = s;
            this.opts.status.dataset.state = s;
        }
    };

    global.WHIPChat = { Panel: Panel, toBase64: toBase64 };
})(typeof window !== 'undefined' ? window : globalThis);
