#!/usr/bin/env node
/*
 * Prints the DCEP messages (PPID 50) and the first user messages Chromium
 * sends, as hex, for t/unit/dcep_test.c and fuzz/corpus/fuzz_dcep/.
 *
 *   node t/data/dcep/capture.js [/usr/bin/chromium]
 *
 * Two peer connections in one page; dcSCTP logs every SCTP packet in the
 * clear at verbose level (text_pcap_packet_observer.cc), and the DATA
 * chunks are taken out of the packets the offerer sends.
 */
'use strict';

const path = require('path');

/* the browser's stderr reaches us only as playwright's debug log */
process.env.DEBUG = 'pw:browser';
const write = process.stderr.write.bind(process.stderr);
process.stderr.write = (chunk, ...rest) => {
    String(chunk).split('\n').forEach(packet);
    return rest.length ? write('', ...rest) : true;
};

const { chromium } = require(path.join(__dirname, '../../../node_modules/playwright-core'));

(async () => {
    const browser = await chromium.launch({
        executablePath: process.argv[2] || '/usr/bin/chromium',
        headless: true,
        /* a global level: dcSCTP checks it when it creates the socket */
        args: ['--no-sandbox', '--enable-logging=stderr', '--v=1'],
    });

    const page = await browser.newPage();

    await page.evaluate(async () => {
        const a = new RTCPeerConnection(), b = new RTCPeerConnection();
        a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
        b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);

        const chat = a.createDataChannel('chat');
        a.createDataChannel('json-events',
                            { ordered: false, maxRetransmits: 3, protocol: 'json' });
        a.createDataChannel('timed', { maxPacketLifeTime: 1500 });
        a.createDataChannel('', { ordered: false });

        await a.setLocalDescription(await a.createOffer());
        await b.setRemoteDescription(a.localDescription);
        await b.setLocalDescription(await b.createAnswer());
        await a.setRemoteDescription(b.localDescription);

        await new Promise((resolve) => { chat.onopen = resolve; });
        chat.send('hi');
        chat.send('');
        await new Promise((resolve) => setTimeout(resolve, 1000));
    });

    await browser.close();
})();

const seen = new Set();

function packet(line) {
    const m = /\bO \S+ 0000 ((?:[0-9a-f]{2} )+)# SCTP_PACKET (\S+)/.exec(line);

    if (!m) {
        return;
    }

    const b = Buffer.from(m[1].replace(/ /g, ''), 'hex');

    for (let p = 12; p + 4 <= b.length; ) {
        const type = b[p], len = b.readUInt16BE(p + 2);

        if (len < 4) {
            break;
        }

        if (type === 0 && len >= 16) {          /* DATA, RFC 9260 3.3.1 */
            const sid = b.readUInt16BE(p + 8), ppid = b.readUInt32BE(p + 12);
            const out = `${m[2]} sid ${sid} ppid ${ppid} ` +
                        b.subarray(p + 16, p + len).toString('hex');

            if (!seen.has(out)) {
                seen.add(out);
                console.log(out);
            }
        }

        p += (len + 3) & ~3;
    }
}
