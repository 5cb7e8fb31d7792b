#!/usr/bin/env python3
"""Turn bench/results/raw/*.json (bench/run.sh) into results.md and
results.png (gnuplot, if installed). Standard library only.

    python3 bench/report.py bench/results
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys

GOALS = {
    'us_per_pkt': 2.7,      # server CPU per delivered packet (1,200/core)
    'floor_ratio': 1.5,
    'janus_ratio': 3.0,
    'join_p50': 150.0,
    'join_p95': 300.0,
    'kib_per_viewer': 32.0,
    'setups_per_cpu_s': 1000.0,
    'hls_cpu_pct': 2.0,     # packager, % of a core per 2.5 Mbit/s stream
    'hls_wait_p99': 50.0,   # ms, blocked players after the part is there
}


def load(out):
    runs = []
    for f in glob.glob(os.path.join(out, 'raw', '*-n*.json')):
        m = re.search(r'(w\d+|janus)-n(\d+)\.json$', f)
        if not m:
            continue
        try:
            r = json.load(open(f))
        except ValueError:
            continue
        r['server'] = m.group(1)
        r['viewers'] = int(m.group(2))
        r['ingest_lost'] = None
        try:
            st = json.load(open(f[:-5] + '.status'))
            for s in st['streams']:
                if s.get('publisher'):
                    r['ingest_lost'] = sum(t['lost'] for t in
                                           s['publisher']['tracks'])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        runs.append(r)
    floor = {}
    fp = os.path.join(out, 'raw', 'floor.json')
    if os.path.exists(fp):
        for line in open(fp):
            if line.strip().startswith('{'):
                d = json.loads(line)
                key = '%s/%s/%d' % (d['profile'], d.get('impl', 'libsrtp2'),
                                    d.get('gso', 1))
                floor[key] = d
    return runs, floor


def marginal_kib(runs):
    """Per run, the server's memory with this run's viewers minus that
    with the previous (smaller) run's, per additional viewer: the cost of
    one more viewer, without the one-time growth (buffers, library state,
    the heap's high-water mark of the handshakes in flight) that the
    first run of a server carries."""
    prev = {}
    for r in runs:
        w = r['window']
        p = prev.get(r['server'])
        r['marginal_kib'] = None
        if (p and 'mem_kb' in w and 'mem_kb' in p['window']
                and w['seconds'] > 0 and p['window']['seconds'] > 0
                and r['sessions_up'] > p['sessions_up']):
            r['marginal_kib'] = ((w['mem_kb'] - p['window']['mem_kb'])
                                 / (r['sessions_up'] - p['sessions_up']))
        prev[r['server']] = r


def kib_per_viewer(w):
    """The server's own memory growth per viewer: Private_Dirty plus the
    shared zone's pages (Pss_Shmem); PSS of shared libraries moves with
    every other process that maps them, so it is only a fallback."""
    return w.get('mem_kb_per_viewer', w['kb_per_viewer'])


def setup_bare(r):
    """Server CPU-s of the setups alone: the setup phase's CPU minus the
    packets delivered meanwhile (each new viewer's cached GOP, and the live
    stream to those already up) at the steady-state window's cost."""
    sc = r.get('setup_cpu_s', 0)
    us = r['window']['us_per_pkt']
    if sc <= 0 or us <= 0 or 'setup_packets' not in r:
        return 0
    return max(sc - r['setup_packets'] * us / 1e6, 0)


def hls(out):
    """LL-HLS lines: the packager's CPU per pair of runs (HLS off, on)
    and the delays of the players blocked on the next part."""
    cpu = {}
    fp = os.path.join(out, 'raw', 'hls-cpu.json')
    if os.path.exists(fp):
        for line in open(fp):
            if line.strip().startswith('{'):
                d = json.loads(line)
                cpu.setdefault(d['pair'], {})[d['hls']] = d
    waits = []
    for f in sorted(glob.glob(os.path.join(out, 'raw', 'hls-wait-*.json'))):
        try:
            waits.append(json.load(open(f)))
        except ValueError:
            pass
    if not cpu and not waits:
        return []
    ok = lambda c: 'met' if c else '**not met**'
    lines = ['## LL-HLS', '',
             'One worker, one publisher (the same 2.5 Mbit/s H.264 + Opus), '
             'without and with `location /hls/ { webrtc_hls; }`; the '
             "worker's CPU time over the same window. The difference is the "
             'packager (and its shared-memory store).', '',
             '| pair | HLS off, % of a core | HLS on | packager |',
             '|---|---|---|---|']
    diffs = []
    for pair in sorted(cpu):
        c = cpu[pair]
        if 0 not in c or 1 not in c:
            continue
        pct = [c[h]['cpu_ns'] / 1e7 / c[h]['seconds'] for h in (0, 1)]
        diffs.append(pct[1] - pct[0])
        lines.append('| %d | %.2f | %.2f | %.2f |'
                     % (pair, pct[0], pct[1], pct[1] - pct[0]))
    lines.append('')
    if waits:
        lines.append('%d players blocked (`_HLS_msn`/`_HLS_part`) on the '
                     'same coming part, a new part each round; delay of '
                     'each response after the first one (the part\'s '
                     'completion), ms:' % waits[0]['players'])
        lines.append('')
        lines.append('| run | rounds | responses | not 200 | p50 | p99 | max |')
        lines.append('|---|---|---|---|---|---|---|')
        for i, w in enumerate(waits):
            lines.append('| %d | %d | %d | %d | %.1f | %.1f | %.1f |'
                         % (i + 1, w['counted'], w['responses'], w['other'],
                            w['p50_ms'], w['p99_ms'], w['max_ms']))
        lines.append('')
    lines.append('Goals (reported, not asserted):')
    lines.append('')
    if diffs:
        lines.append('- packager CPU per 2.5 Mbit/s stream: %s %% of a core '
                     '(goal ≤ %.0f %%): %s'
                     % (', '.join('%.2f' % d for d in diffs),
                        GOALS['hls_cpu_pct'],
                        ok(max(diffs) <= GOALS['hls_cpu_pct'])))
    if waits:
        p99 = [w['p99_ms'] for w in waits if w['counted']]
        lines.append('- %d blocked players, part complete to response, p99: '
                     '%s ms (goal ≤ %.0f): %s'
                     % (waits[0]['players'],
                        ', '.join('%.1f' % p for p in p99),
                        GOALS['hls_wait_p99'],
                        ok(p99 and max(p99) <= GOALS['hls_wait_p99'])))
    lines.append('')
    return lines


def label(server):
    return 'Janus' if server == 'janus' else \
        'nginx, %s worker%s' % (server[1:], '' if server == 'w1' else 's')


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else 'bench/results'
    runs, floor = load(out)
    runs.sort(key=lambda r: (r['server'] != 'janus', r['server'], r['viewers']))
    # ingest loss is cumulative over a server's runs: per run, the delta
    prev = {}
    for r in runs:
        if r['ingest_lost'] is not None:
            p = prev.get(r['server'], 0)
            prev[r['server']] = r['ingest_lost']
            r['ingest_lost'] -= p
    # the floor is what the server does for GCM viewers: OpenSSL + GSO
    gso = [d for k, d in floor.items()
           if k.startswith('SRTP_AEAD_AES_128_GCM/openssl/')
           and d.get('gso', 1) > 1]
    fl = gso[0] if gso else None
    gcm = fl['us_per_pkt'] if fl else None
    nogso = floor.get('SRTP_AEAD_AES_128_GCM/openssl/1', {}).get('us_per_pkt')
    lsg = floor.get('SRTP_AEAD_AES_128_GCM/libsrtp2/1', {}).get('us_per_pkt')
    cm = floor.get('SRTP_AES128_CM_SHA1_80/libsrtp2/1', {}).get('us_per_pkt')

    # Janus runs on one core: it is compared with nginx's 1-worker run
    ours = {r['viewers']: r for r in runs if r['server'] == 'w1'}
    janus = {r['viewers']: r for r in runs if r['server'] == 'janus'}

    lines = ['# WebRTC fan-out benchmark', '']
    lines.append('2.5 Mbit/s H.264 (1280x720, 30 fps, 4 s GOP, PLI ignored) '
                 '+ Opus from one WHIP publisher; N WHEP viewers from '
                 '`whep-load` (ICE, DTLS, SRTP, RR, NACK). Server pinned to '
                 'one core, load generator and publisher to the other. '
                 'CPU = server user+sys over the measurement window, per '
                 'packet delivered to (and counted by) the viewers.')
    lines.append('')
    if janus:
        lines.append('Janus: Debian\'s `janus` (streaming plugin, one RTP '
                     'mountpoint fed the publisher\'s stream as nginx relays '
                     'it, plain RTP), viewers through its HTTP API by the '
                     'same load client (`whep-load -J`); Janus ÷ ours = its '
                     'µs/pkt ÷ nginx\'s with 1 worker at the same viewer '
                     'count. Janus sends a new viewer no cached keyframe: '
                     'its join time waits for the next IDR.')
        lines.append('')
    cm_runs = ['%s/%d' % (label(r['server']), r['viewers']) for r in runs
               if r.get('srtp_gcm', r['sessions_up']) < r['sessions_up']]
    if runs:
        lines.append('SRTP: AES-128-GCM in every session.' if not cm_runs
                     else 'SRTP: some sessions negotiated AES-CM-SHA1-80 '
                     '(%s).' % ', '.join(cm_runs))
        lines.append('')
    if gcm:
        lines.append('Floor (`bench/floor`: header rewrite + SRTP protect + '
                     '`sendmmsg` to 100 loopback sinks, 1200-byte packets, '
                     'per-viewer contexts): **%.2f µs/packet with AES-128-GCM '
                     'through OpenSSL and %d packets per UDP GSO message** '
                     '(protect alone %.2f), as the server sends; without GSO '
                     '%.2f; libsrtp2 (Debian: NSS) AES-128-GCM %.2f, '
                     'AES-CM-SHA1-80 %.2f. ÷ floor uses the first.'
                     % (gcm, fl['gso'], fl['protect_us'], nogso or 0,
                        lsg or 0, cm or 0))
        lines.append('')
    marginal_kib(runs)
    lines.append('| server | viewers | up | delivered pkt/s | server CPU % '
                 '| µs/pkt | ÷ floor | Janus ÷ ours | lost | gaps (NACKed) | gaps in window '
                 '| publisher pkts lost by server '
                 '| client drops | join p50/p95/p99 ms | KiB/viewer | KiB per added viewer '
                 '| setup/s | setups per server CPU-s | same, media excluded |')
    lines.append('|' + '---|' * 19)
    for r in runs:
        w = r['window']
        us = w['us_per_pkt']
        ratio = ('%.2f' % (us / gcm)) if gcm and us > 0 else '-'
        jr = '-'
        if r['server'] == 'janus' and r['viewers'] in ours:
            o = ours[r['viewers']]['window']['us_per_pkt']
            if o > 0 and us > 0:
                jr = '%.2f' % (us / o)
        sc = r.get('setup_cpu_s', 0)
        spc = ('%.0f' % (r['sessions_up'] / sc)) if sc > 0 else '-'
        bare = setup_bare(r)
        spb = ('%.0f' % (r['sessions_up'] / bare)) if bare > 0 else '-'
        j = r['join_ms']
        lines.append('| %s | %d | %d | %.0f | %.1f | %.2f | %s | %s | %d | %d '
                     '| %s | %s | %d | %.0f / %.0f / %.0f | %.1f | %s | %.0f '
                     '| %s | %s |' % (
                         label(r['server']), r['viewers'], r['sessions_up'],
                         w['pkt_rate'], w['server_cpu_pct'], us, ratio, jr,
                         r['lost'], r['gaps'],
                         w.get('gaps', '-') if w['seconds'] > 0 else '-',
                         '-' if r['ingest_lost'] is None else r['ingest_lost'],
                         r['drops'], j['p50'], j['p95'],
                         j['p99'], kib_per_viewer(w),
                         '-' if r['marginal_kib'] is None
                         else '%.1f' % r['marginal_kib'],
                         r['setup_rate'], spc,
                         spb))
    lines.append('')

    # goals, from the largest run of each server
    lines.append('## Goals (reported, not asserted)')
    lines.append('')
    for srv in sorted({r['server'] for r in runs if r['server'] != 'janus'}):
        rs = [r for r in runs if r['server'] == srv]
        # the largest run that reached its steady-state window
        good = [r for r in rs if r['window']['seconds'] > 0] or rs
        big = max(good, key=lambda r: r['viewers'])
        w = big['window']
        vpc = (big['sessions_up'] * 100.0 / w['server_cpu_pct']
               if w['server_cpu_pct'] > 0 else 0)
        j = big['join_ms']
        sc = big.get('setup_cpu_s', 0)
        spc = big['sessions_up'] / sc if sc > 0 else 0
        bare = setup_bare(big)
        spb = big['sessions_up'] / bare if bare > 0 else 0
        ok = lambda c: 'met' if c else '**not met**'
        lines.append('%s, %d viewers:' % (label(srv), big['viewers']))
        lines.append('')
        lines.append('- viewers per core at 2.5 Mbit/s (extrapolated from '
                     'CPU %%): %.0f (goal ≥ 1,200): %s' % (vpc, ok(vpc >= 1200)))
        lines.append('- server CPU per delivered packet: %.2f µs (goal ≤ %.1f): '
                     '%s' % (w['us_per_pkt'], GOALS['us_per_pkt'],
                             ok(0 < w['us_per_pkt'] <= GOALS['us_per_pkt'])))
        lines.append('- server-side loss: %d lost, %d gaps (%s in the steady-'
                     'state window) (goal 0): %s'
                     % (big['lost'], big['gaps'], w.get('gaps', '-'),
                        ok(big['lost'] == 0 and big['gaps'] == 0)))
        if gcm:
            rt = w['us_per_pkt'] / gcm
            lines.append('- ÷ floor: %.2f (goal ≤ 1.5): %s'
                         % (rt, ok(0 < rt <= 1.5)))
        lines.append('- join p50 %.0f ms (goal ≤ 150), p95 %.0f ms (goal ≤ '
                     '300): %s' % (j['p50'], j['p95'],
                                   ok(0 <= j['p50'] <= 150
                                      and 0 <= j['p95'] <= 300)))
        if big.get('marginal_kib') is not None:
            lines.append('- memory per viewer (added over the previous '
                         'run): %.1f KiB (goal ≤ 32): %s'
                         % (big['marginal_kib'],
                            ok(big['marginal_kib'] <= 32)))
        else:
            lines.append('- memory per viewer (growth in this run, '
                         'one-time costs included): %.1f KiB (goal ≤ 32): '
                         '%s' % (kib_per_viewer(w),
                                 ok(kib_per_viewer(w) <= 32)))
        lines.append('- sessions set up per server CPU-second: %.0f with the '
                     'media sent meanwhile (GOP bursts included), about %.0f '
                     'without it (goal ≥ 1,000): %s'
                     % (spc, spb, ok(spb >= 1000)))
        # Janus where it still kept up (all viewers up, nothing lost):
        # past that its figures measure a collapse, not a cost
        fair = [n for n, jr in janus.items()
                if jr['sessions_up'] == n and jr['lost'] == 0
                and jr['window']['us_per_pkt'] > 0 and n in ours
                and ours[n]['window']['us_per_pkt'] > 0]
        if srv == 'w1' and fair:
            n = max(fair)
            rt = (janus[n]['window']['us_per_pkt']
                  / ours[n]['window']['us_per_pkt'])
            worse = sorted(m for m in janus if m > n)
            lines.append('- Janus ÷ ours at %d viewers, the most Janus served '
                         'without loss: %.2f (goal ≥ %.0f): %s%s'
                         % (n, rt, GOALS['janus_ratio'],
                            ok(rt >= GOALS['janus_ratio']),
                            ('; from %d viewers on Janus loses packets or '
                             'sessions' % worse[0]) if worse else ''))
        lines.append('')
    if not any(r['server'] == 'janus' for r in runs):
        lines.append('Janus: not measured in this run (see bench/README.md).')
        lines.append('')

    lines += hls(out)

    md = os.path.join(out, 'results.md')
    open(md, 'w').write('\n'.join(lines) + '\n')
    print('\n'.join(lines))

    # plot
    if not shutil.which('gnuplot') or not runs:
        return
    series = {}
    for r in runs:
        series.setdefault(r['server'], []).append(r)
    plots_cpu, plots_loss = [], []
    for srv, rs in series.items():
        dat = os.path.join(out, 'raw', '%s.dat' % srv)
        with open(dat, 'w') as f:
            for r in sorted(rs, key=lambda r: r['viewers']):
                if r['window']['us_per_pkt'] <= 0:
                    # not every viewer came up: no steady state to plot
                    continue
                exp = max(r['expected'], 1)
                f.write('%d %.3f %.4f\n' % (r['viewers'],
                                           r['window']['us_per_pkt'],
                                           100.0 * r['lost']
                                           / exp))
        plots_cpu.append('"%s" using 1:2 with linespoints title "%s"'
                         % (dat, label(srv)))
        plots_loss.append('"%s" using 1:3 with linespoints title "%s"'
                          % (dat, label(srv)))
    if gcm:
        plots_cpu.append('%f with lines dashtype 2 title "floor (GCM, GSO)"'
                         % gcm)
    plots_cpu.append('2.7 with lines dashtype 3 title "goal 2.7 µs"')
    gp = '''set terminal pngcairo size 1100,450 font ",10"
set output "%s"
set multiplot layout 1,2
set logscale x
set xlabel "viewers"
set key top right
set grid
set ylabel "server CPU µs per delivered packet"
set yrange [0:*]
plot %s
set ylabel "packets lost (never received), %% of expected"
plot %s
unset multiplot
''' % (os.path.join(out, 'results.png'), ', '.join(plots_cpu),
       ', '.join(plots_loss))
    subprocess.run(['gnuplot'], input=gp.encode(), check=False)


if __name__ == '__main__':
    main()
