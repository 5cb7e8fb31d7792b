#!/usr/bin/env node
/*
 * Headless Chromium driving the chat panel of html/watch.html (WHEP
 * viewers), html/publish.html (a WHIP publisher) or html/events.html, in
 * one browser with one tab per page, steered by a control file.
 *
 *   node t/clients/chromium_chat.js --base http://127.0.0.1:8080 \
 *       [--page watch|publish|events] [--stream cam1] [--pages 1] \
 *       [--query 'whep=/whep-pub/&...'] [--control FILE] \
 *       [--timeout 20] [--seconds 60]
 *
 * Opens --pages tabs of <page>.html?stream=..&autostart=1 (plus --query)
 * and waits (bounded by --timeout each) until the page is connected and
 * its "chat" data channel is open (events: until the event stream is
 * open). Then, until --seconds have passed, SIGUSR1, or a "quit" command:
 * prints every message a tab receives (window.chatLog; events page:
 * window.eventsLog) and runs the commands appended to --control, one JSON
 * object per line:
 *   {"cmd":"open"[,"query":"whep=/whep-pub/"]}  one more tab (more params)
 *   {"cmd":"send","page":i,"text":"..."}        window.chatSend(text)
 *   {"cmd":"post","page":i,"label":..,"data":..,"type":..}
 *                                               events page: eventsPost()
 *   {"cmd":"dom","page":i}                      the chat log as displayed
 *   {"cmd":"screenshot","page":i,"path":FILE}   full-page screenshot
 *   {"cmd":"close","page":i}                    #stop (DELETE) in that tab
 *   {"cmd":"quit"}                              #stop in every tab, exit
 *
 * stdout, one JSON object per line:
 *   {"event":"connected","page":i,"location":..,"eventsUrl":..}
 *   {"event":"chat_open","page":i}
 *   {"event":"chat","page":i,"n":k,"label":..,"data":..,"binary":..,"size":..}
 *       k: 1-based index in that tab's log; data: text, or base64
 *   {"event":"sse","page":i,"n":k,"id":..,"label":..,"data":..}   events page
 *   {"event":"sent","page":i,"ok":true|false,"text":..}
 *   {"event":"posted","page":i,"status":204}
 *   {"event":"dom","page":i,"lines":["label: text", ...],"state":..}
 *   {"event":"screenshot","page":i,"path":..}
 *   {"event":"closed","page":i,"status":200}
 *   {"event":"state","page":i,"state":..}      connection state changes
 *   {"event":"error","message":..}              exit status 2
 *   {"event":"done"}                            before a clean exit
 * Page console errors go to stderr. Every wait is bounded.
 */
'use strict';

const fs = require('fs');
const { emit, sleep, stop } = require('./lib/cli');
const {
    usageOf, options, withBrowser, logPage, load, stopPage,
} = require('./lib/chromium');

const usage = usageOf('usage: chromium_chat.js --base URL [--page watch|publish|events] ' +
        '[--stream NAME] [--pages N] [--query Q] [--control FILE] [--timeout S] ' +
        '[--seconds S]');

function clientOptions(argv) {
    const o = options(argv, {
        '--page': ['page', String],
        '--pages': ['pages', Number],
        '--query': ['query', String],
        '--control': ['control', String],
    }, {
        page: 'watch', pages: 1, query: '', control: null, seconds: 60
    }, usage);
    if (!['watch', 'publish', 'events'].includes(o.page)) {
        usage('bad --page');
    }
    if (!(o.pages >= 0 && o.pages <= 8) || !(o.timeout > 0) || !(o.seconds > 0)) {
        usage('bad --pages, --timeout or --seconds');
    }
    return o;
}

const opt = clientOptions(process.argv.slice(2));
const tabs = [];     /* {page, seen, state, closed} */
let context = null;

/* what the page under test exposes */
function pageState() {
    const s = window.whepState || window.whipState || window.eventsState || null;
    const log = window.chatLog || window.eventsLog || [];
    const chat = document.getElementById('chat-state');
    return {
        state: s ? s.state : null,
        error: s ? s.error : null,
        location: s ? s.location || null : null,
        eventsUrl: s ? s.eventsUrl || null : null,
        chat: chat ? chat.dataset.state : null,
        n: log.length
    };
}

async function openTab(extraQuery) {
    const i = tabs.length;
    const page = await context.newPage();
    const tab = { page, seen: 0, state: null, closed: false, i };
    tabs.push(tab);
    logPage(page, `[${i}] `);

    const q = new URLSearchParams(opt.query);
    for (const [k, v] of new URLSearchParams(extraQuery || '')) {
        q.set(k, v);
    }
    q.set('stream', opt.stream);
    q.set('autostart', '1');
    await load(page, `${opt.base}/${opt.page}.html?${q.toString()}`);

    const deadline = Date.now() + opt.timeout * 1000;
    let s = null;
    for (;;) {
        s = await page.evaluate(pageState);
        const up = opt.page === 'events' ? s.state === 'open'
            : s.state === 'connected' && s.chat === 'open';
        if (up) {
            break;
        }
        if (['failed', 'closed', 'error'].includes(s.state)) {
            throw new Error(`tab ${i}: ${s.state}: ${s.error || ''}`);
        }
        if (Date.now() > deadline) {
            throw new Error(`tab ${i}: not connected with an open chat channel after ` +
                `${opt.timeout} s (state ${s.state}, chat ${s.chat}, error ${s.error})`);
        }
        await sleep(50);
    }
    tab.state = s.state;
    emit('connected', { page: i, location: s.location, eventsUrl: s.eventsUrl });
    if (opt.page !== 'events') {
        emit('chat_open', { page: i });
    }
    return tab;
}

/* new log entries of every tab */
async function drain() {
    for (const tab of tabs) {
        if (tab.closed) {
            continue;
        }
        const r = await tab.page.evaluate((from) => {
            const log = window.chatLog || window.eventsLog || [];
            const s = window.whepState || window.whipState || window.eventsState || {};
            return { items: log.slice(from), state: s.state };
        }, tab.seen);
        for (const e of r.items) {
            tab.seen++;
            if (opt.page === 'events') {
                emit('sse', { page: tab.i, n: tab.seen, id: e.id, label: e.event, data: e.data });
            } else {
                emit('chat', {
                    page: tab.i, n: tab.seen, label: e.label, data: e.data,
                    binary: e.binary, size: e.size
                });
            }
        }
        if (r.state !== tab.state) {
            tab.state = r.state;
            emit('state', { page: tab.i, state: r.state });
        }
    }
}

async function stopTab(tab) {
    if (tab.closed) {
        return null;
    }
    tab.closed = true;
    if (opt.page === 'events') {
        await tab.page.evaluate(() => window.eventsPlayer.disconnect());
        return 0;
    }
    return stopPage(tab.page);
}

function tabOf(cmd) {
    const tab = tabs[cmd.page || 0];
    if (!tab || tab.closed) {
        throw new Error(`no open tab ${cmd.page}`);
    }
    return tab;
}

async function run(cmd) {
    switch (cmd.cmd) {
    case 'open':
        await openTab(cmd.query);
        break;
    case 'send': {
        const tab = tabOf(cmd);
        const ok = await tab.page.evaluate((t) => window.chatSend(t), String(cmd.text));
        emit('sent', { page: tab.i, ok, text: cmd.text });
        break;
    }
    case 'post': {
        const tab = tabOf(cmd);
        const status = await tab.page.evaluate((c) => window.eventsPost(c.label, c.data, c.type), cmd);
        emit('posted', { page: tab.i, status });
        break;
    }
    case 'dom': {
        const tab = tabOf(cmd);
        const r = await tab.page.evaluate(() => {
            const ul = document.getElementById('chat-log') || document.getElementById('events-log');
            const st = document.getElementById('chat-state');
            return {
                lines: Array.from(ul.children).map((li) => li.className + ' ' +
                    Array.from(li.children).map((c) => c.textContent).join(' ')),
                state: st ? st.dataset.state : null
            };
        });
        emit('dom', { page: tab.i, lines: r.lines, state: r.state });
        break;
    }
    case 'screenshot': {
        const tab = tabOf(cmd);
        await tab.page.screenshot({ path: cmd.path, fullPage: true });
        emit('screenshot', { page: tab.i, path: cmd.path });
        break;
    }
    case 'close': {
        const tab = tabOf(cmd);
        const status = await stopTab(tab);
        emit('closed', { page: tab.i, status });
        break;
    }
    case 'quit':
        stop.early = true;
        break;
    default:
        throw new Error('unknown command ' + JSON.stringify(cmd));
    }
}

/* complete new lines of the control file */
let controlOffset = 0;
let controlRest = '';
function readControl() {
    if (!opt.control) {
        return [];
    }
    let fd;
    try {
        fd = fs.openSync(opt.control, 'r');
    } catch (e) {
        return [];
    }
    const cmds = [];
    try {
        const buf = Buffer.alloc(65536);
        for (;;) {
            const n = fs.readSync(fd, buf, 0, buf.length, controlOffset);
            if (n <= 0) {
                break;
            }
            controlOffset += n;
            controlRest += buf.toString('utf8', 0, n);
        }
    } finally {
        fs.closeSync(fd);
    }
    let k;
    while ((k = controlRest.indexOf('\n')) >= 0) {
        const line = controlRest.substring(0, k).trim();
        controlRest = controlRest.substring(k + 1);
        if (line) {
            cmds.push(JSON.parse(line));
        }
    }
    return cmds;
}

withBrowser({
    executable: opt.chromium, name: 'chromium-chat',
    seconds: opt.seconds + opt.timeout * (opt.pages + 2) + 60,
    viewport: { width: 1280, height: 900 },
    /* tabs in the background keep their timers running */
    flags: [
        '--disable-background-timer-throttling',
        '--disable-renderer-backgrounding',
        '--disable-backgrounding-occluded-windows',
    ]
}, async (ctx) => {
    context = ctx;
    const first = context.pages()[0];

    for (let i = 0; i < opt.pages; i++) {
        await openTab();
    }
    if (first) {
        await first.close().catch(() => {});
    }

    const t0 = Date.now();
    while (!stop.early && Date.now() - t0 < opt.seconds * 1000) {
        await drain();
        for (const cmd of readControl()) {
            await run(cmd);
            await drain();
        }
        for (const tab of tabs) {
            if (!tab.closed && ['failed', 'closed', 'error'].includes(tab.state)) {
                throw new Error(`tab ${tab.i}: connection ${tab.state}`);
            }
        }
        await sleep(100);
    }
    await drain();
    for (const tab of tabs) {
        if (!tab.closed) {
            const status = await stopTab(tab);
            emit('closed', { page: tab.i, status });
        }
    }
    emit('done');
});
