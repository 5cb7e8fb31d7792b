'use strict';

/*
 * What every node test client does around its peer: options from the
 * command line, one JSON object per line on stdout, the SIGUSR1 that
 * tests send to end a client's phase early, and a hard time limit.
 */

function emit(event, fields) {
    process.stdout.write(JSON.stringify(Object.assign({ event }, fields || {}))
        + '\n');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* SIGUSR1: stop now (as if --seconds had elapsed); stop.sleep(ms) ends
 * early on it */
const stop = { early: false, wake: null };
process.on('SIGUSR1', () => {
    stop.early = true;
    if (stop.wake) {
        stop.wake();
    }
});
stop.sleep = (ms) => new Promise((r) => {
    const timer = setTimeout(() => { stop.wake = null; r(); }, ms);
    stop.wake = () => { clearTimeout(timer); stop.wake = null; r(); };
});

/*
 * Options into a copy of defaults. spec maps an option to [key, value]:
 * value a function (String, Number, ...) takes the next argument through
 * it, anything else is stored as it is (flags). -h, --help, an unknown
 * option or a missing value call usage(message).
 */
function parseArgs(argv, spec, defaults, usage) {
    const o = Object.assign({}, defaults);
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '-h' || a === '--help') {
            usage();
        }
        if (!Object.prototype.hasOwnProperty.call(spec, a)) {
            usage('unknown argument ' + a);
        }
        const [key, value] = spec[a];
        if (typeof value !== 'function') {
            o[key] = value;
        } else if (i + 1 >= argv.length) {
            usage('missing value for ' + a);
        } else {
            o[key] = value(argv[++i]);
        }
    }
    return o;
}

/* the last resort: after seconds, an "error" event (fields) and exit */
function watchdog(seconds, fields, rc, cleanup) {
    setTimeout(() => {
        emit('error', fields);
        if (cleanup) {
            cleanup();
        }
        process.exit(rc);
    }, seconds * 1000).unref();
}

module.exports = { emit, sleep, stop, parseArgs, watchdog };
