#!/usr/bin/env node
'use strict';

/*
 * A stand-in WHIP server on node-datachannel, to check the publisher
 * clients end to end without nginx (it is a full-ICE peer, not ice-lite).
 *
 *   node t/clients/lib/ndc_whip_server.js --port 18080 [--seconds 30]
 *        [--token T]
 *
 * POST /whip/<stream> (application/sdp) -> 201, answer, Location
 * /whip/<stream>/<32 hex>, ETag; DELETE <Location> -> 200; 401 on a
 * wrong token, 415 on a wrong content type, 404 otherwise.
 * stdout, JSON lines: {"event":"session","id":..,"user_agent":..},
 * {"event":"state",..}, {"event":"stats","id":..,"tracks":{mid:{kind,
 * packets,bytes,keyframes,marker,pt,ssrc,nal_types}}} on DELETE and
 * at exit.
 */

const http = require('http');
const crypto = require('crypto');
const ndc = require('node-datachannel');

const args = { port: 0, seconds: 30, token: null };
for (let i = 2; i < process.argv.length; i += 2) {
    const k = process.argv[i].replace(/^--/, '');
    args[k] = k === 'token' ? process.argv[i + 1] : Number(process.argv[i + 1]);
}

const emit = (event, f) => process.stdout.write(JSON.stringify(Object.assign({ event }, f)) + '\n');
const sessions = new Map();

function h264Info(payload, st) {
    const t = payload[0] & 0x1f;
    if (t === 28 && payload.length > 1) {          /* FU-A */
        const inner = payload[1] & 0x1f;
        if (payload[1] & 0x80) {
            st.nal_types[inner] = (st.nal_types[inner] || 0) + 1;
            if (inner === 5) st.keyframes++;
        }
    } else if (t === 24) {                          /* STAP-A */
        for (let o = 1; o + 2 < payload.length;) {
            const len = payload.readUInt16BE(o);
            const inner = payload[o + 2] & 0x1f;
            st.nal_types[inner] = (st.nal_types[inner] || 0) + 1;
            if (inner === 5) st.keyframes++;
            o += 2 + len;
        }
    } else {
        st.nal_types[t] = (st.nal_types[t] || 0) + 1;
        if (t === 5) st.keyframes++;
    }
}

function onPacket(s, mid, kind, buf) {
    if (buf.length < 12 || (buf[0] >> 6) !== 2) return;
    const pt = buf[1] & 0x7f;
    if (buf[1] >= 192 && buf[1] <= 223) { s.rtcp[mid] = (s.rtcp[mid] || 0) + 1; return; }
    const st = s.tracks[mid] || (s.tracks[mid] = {
        kind, packets: 0, bytes: 0, keyframes: 0, marker: 0, pt,
        ssrc: buf.readUInt32BE(8), nal_types: {}, first_ts: buf.readUInt32BE(4),
        last_ts: 0,
    });
    st.packets++;
    st.bytes += buf.length;
    if (buf[1] & 0x80) st.marker++;
    st.last_ts = buf.readUInt32BE(4);
    let off = 12 + 4 * (buf[0] & 0x0f);
    if (buf[0] & 0x10) off += 4 + 4 * buf.readUInt16BE(off + 2);
    if (kind === 'video' && off < buf.length) h264Info(buf.subarray(off), st);
}

function report(id) {
    const s = sessions.get(id);
    if (s) emit('stats', { id, state: s.pc.state(), tracks: s.tracks, rtcp: s.rtcp });
}

const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
        const body = Buffer.concat(chunks).toString();
        const m = req.url.match(/^\/whip\/([^/]+)(?:\/([0-9a-f]{32}))?$/);
        if (!m) { res.writeHead(404); return res.end('not found\n'); }
        if (args.token && req.headers.authorization !== `Bearer ${args.token}`) {
            res.writeHead(401, { 'WWW-Authenticate': 'Bearer' });
            return res.end('unauthorized\n');
        }
        if (req.method === 'DELETE' && m[2] && sessions.has(m[2])) {
            report(m[2]);
            sessions.get(m[2]).pc.close();
            sessions.delete(m[2]);
            res.writeHead(200);
            return res.end();
        }
        if (req.method !== 'POST' || m[2]) { res.writeHead(404); return res.end(); }
        if (!/^application\/sdp/.test(req.headers['content-type'] || '')) {
            res.writeHead(415); return res.end('application/sdp please\n');
        }

        const id = crypto.randomBytes(16).toString('hex');
        const pc = new ndc.PeerConnection('srv', { iceServers: [], bindAddress: '127.0.0.1' });
        const s = { pc, tracks: {}, rtcp: {} };
        sessions.set(id, s);
        emit('session', { id, stream: m[1], user_agent: req.headers['user-agent'] });
        pc.onStateChange((st) => emit('state', { id, connection: st }));
        pc.onTrack((track) => {
            const mid = track.mid();
            const kind = track.type();
            track.onMessage((buf) => onPacket(s, mid, kind, buf));
        });
        try {
            pc.setRemoteDescription(body, 'offer');
        } catch (e) {
            sessions.delete(id);
            res.writeHead(400); return res.end(String(e.message) + '\n');
        }
        const deadline = Date.now() + 5000;
        while (pc.gatheringState() !== 'complete' && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 10));
        }
        res.writeHead(201, {
            'Content-Type': 'application/sdp',
            Location: `/whip/${m[1]}/${id}`,
            ETag: `"${id}"`,
        });
        res.end(pc.localDescription().sdp);
    });
});

server.listen(args.port, '127.0.0.1');
setTimeout(() => {
    for (const id of sessions.keys()) report(id);
    process.exit(0);
}, args.seconds * 1000);
