#!/usr/bin/env python3
#
# Regenerates t/unit/rtp_vectors.h and the RTP seeds in fuzz/corpus/fuzz_rtp/
# from real encoder output: ffmpeg (Debian 12: libx264, libx265, libvpx,
# libaom) encodes three frames of a test pattern; the first frames are cut
# into RTP payloads the way WebRTC packetizers do (libwebrtc, libdatachannel).
#
#   python3 t/data/rtp/mkvectors.py        (from the repository root)
#
# Payloads are truncated after the bytes the inspectors need: a packetizer
# would fragment the rest into further packets.

import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
KEEP = 48    # bytes of slice/frame data kept after the headers


def ffmpeg(out, size, args):
    subprocess.run(['ffmpeg', '-hide_banner', '-loglevel', 'error', '-y',
                    '-f', 'lavfi', '-i', 'testsrc=size=%s:rate=10' % size,
                    '-frames:v', '3'] + args + [out], check=True)
    return open(out, 'rb').read()


def annexb(d):
    starts, i = [], 0
    while True:
        j = d.find(b'\x00\x00\x01', i)
        if j < 0:
            break
        starts.append(j + 3)
        i = j + 3
    out = []
    for k, s in enumerate(starts):
        e = starts[k + 1] - 3 if k + 1 < len(starts) else len(d)
        n = d[s:e]
        while n.endswith(b'\x00'):
            n = n[:-1]
        out.append(n)
    return out


def ivf(d):
    o, r = 32, []
    while o < len(d):
        sz = struct.unpack('<I', d[o:o + 4])[0]
        r.append(d[o + 12:o + 12 + sz])
        o += 12 + sz
    return r


def u16(n):
    return struct.pack('>H', n)


def leb128(n):
    b = bytearray()
    while True:
        c = n & 0x7f
        n >>= 7
        if n:
            b.append(c | 0x80)
        else:
            b.append(c)
            return bytes(b)


def h264(nals, name, vec):
    sps = [n for n in nals if n[0] & 0x1f == 7][0]
    pps = [n for n in nals if n[0] & 0x1f == 8][0]
    idr = [n for n in nals if n[0] & 0x1f == 5][0]
    p = [n for n in nals if n[0] & 0x1f == 1][0]
    nri = max(sps[0], pps[0]) & 0x60
    vec[name + '_stap_a'] = bytes([nri | 24]) + u16(len(sps)) + sps \
        + u16(len(pps)) + pps
    vec[name + '_sps'] = sps
    # FU-A of the IDR slice: start and a middle fragment
    vec[name + '_fu_start'] = bytes([(idr[0] & 0xe0) | 28,
                                     0x80 | (idr[0] & 0x1f)]) + idr[1:1 + KEEP]
    vec[name + '_fu_mid'] = bytes([(idr[0] & 0xe0) | 28,
                                   idr[0] & 0x1f]) + idr[1 + KEEP:1 + 2 * KEEP]
    vec[name + '_p_fu_start'] = bytes([(p[0] & 0xe0) | 28,
                                       0x80 | (p[0] & 0x1f)]) + p[1:1 + KEEP]
    vec[name + '_p_single'] = p[:KEEP]


def h265(nals, name, vec):
    t = lambda n: (n[0] >> 1) & 0x3f
    vps = [n for n in nals if t(n) == 32][0]
    sps = [n for n in nals if t(n) == 33][0]
    pps = [n for n in nals if t(n) == 34][0]
    irap = [n for n in nals if 16 <= t(n) <= 21][0]
    p = [n for n in nals if t(n) in (0, 1)][0]
    vec[name + '_ap'] = bytes([48 << 1, 1]) + u16(len(vps)) + vps \
        + u16(len(sps)) + sps + u16(len(pps)) + pps
    vec[name + '_sps'] = sps
    vec[name + '_fu_start'] = bytes([49 << 1, 1, 0x80 | t(irap)]) \
        + irap[2:2 + KEEP]
    vec[name + '_fu_mid'] = bytes([49 << 1, 1, t(irap)]) \
        + irap[2 + KEEP:2 + 2 * KEEP]
    vec[name + '_p_fu_start'] = bytes([49 << 1, 1, 0x80 | t(p)]) \
        + p[2:2 + KEEP]


def av1_obus(tu):
    """OBUs of a temporal unit without the temporal delimiter and without
    obu_size, as libwebrtc packetizes them"""
    o, out = 0, []
    while o < len(tu):
        h = tu[o]
        hl = 2 if h & 0x04 else 1
        q = o + hl
        size, shift = 0, 0
        while True:
            c = tu[q]
            q += 1
            size |= (c & 0x7f) << shift
            shift += 7
            if not c & 0x80:
                break
        if (h >> 3) & 0x0f != 2:
            out.append(bytes([h & ~0x02]) + tu[o + 1:o + hl] + tu[q:q + size])
        o = q + size
    return out


def main():
    vec = {}
    tmp = tempfile.mkdtemp()
    j = lambda f: os.path.join(tmp, f)
    x264 = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-bf', '0']

    h264(annexb(ffmpeg(j('a.h264'), '320x240',
                       x264 + ['-profile:v', 'baseline'])), 'h264', vec)
    h264(annexb(ffmpeg(j('b.h264'), '318x238',
                       x264 + ['-profile:v', 'high'])), 'h264_318', vec)
    h264(annexb(ffmpeg(j('c.h264'), '320x240',
                       x264 + ['-x264-params', 'cqm=jvt'])), 'h264_cqm', vec)
    h264(annexb(ffmpeg(j('d.h264'), '320x240',
                       ['-c:v', 'libx264', '-pix_fmt', 'yuv444p', '-bf', '0',
                        '-profile:v', 'high444'])), 'h264_444', vec)

    # the second slice of a two-slice IDR: not a frame start
    idr = [n for n in annexb(ffmpeg(j('e.h264'), '320x240',
                                    x264 + ['-x264-params', 'slices=2']))
           if n[0] & 0x1f == 5]
    vec['h264_slice2_fu_start'] = bytes([(idr[1][0] & 0xe0) | 28,
                                         0x80 | 5]) + idr[1][1:1 + KEEP]
    vec['h264_slice2_single'] = idr[1][:KEEP]

    x265 = ['-c:v', 'libx265', '-x265-params', 'log-level=none:bframes=0']
    h265(annexb(ffmpeg(j('a.hevc'), '320x240', x265)), 'h265', vec)
    h265(annexb(ffmpeg(j('b.hevc'), '318x238', x265)), 'h265_318', vec)

    irap = [n for n in annexb(ffmpeg(j('c.hevc'), '320x240',
                                     ['-c:v', 'libx265', '-x265-params',
                                      'log-level=none:slices=2']))
            if 16 <= (n[0] >> 1) & 0x3f <= 21]
    t = (irap[1][0] >> 1) & 0x3f
    vec['h265_slice2_fu_start'] = bytes([49 << 1, 1, 0x80 | t]) \
        + irap[1][2:2 + KEEP]

    vp8 = ivf(ffmpeg(j('a.ivf'), '320x240',
                     ['-c:v', 'libvpx', '-b:v', '200k', '-f', 'ivf']))
    # X, S, PID 0; I with a 15-bit picture id (libwebrtc)
    vec['vp8_key'] = bytes([0x90, 0x80, 0x80 | 0x12, 0x34]) + vp8[0][:KEEP]
    vec['vp8_key_short'] = bytes([0x10]) + vp8[0][:KEEP]
    vec['vp8_key_tl'] = bytes([0x90, 0xe0, 0x12, 0x05, 0x20]) + vp8[0][:KEEP]
    vec['vp8_key_cont'] = bytes([0x80, 0x80, 0x92, 0x34]) \
        + vp8[0][KEEP:2 * KEEP]
    vec['vp8_inter'] = bytes([0x90, 0x80, 0x92, 0x35]) + vp8[1][:KEEP]

    vp9 = ivf(ffmpeg(j('b.ivf'), '320x240',
                     ['-c:v', 'libvpx-vp9', '-b:v', '200k', '-f', 'ivf']))
    # non-flexible mode, as libwebrtc sends a single layer: I, B, V with
    # SS (N_S 0, Y, G: one entry, TID 0, one P_DIFF)
    vec['vp9_key_ss'] = bytes([0x8a, 0x80, 0x05, 0x18]) + u16(320) \
        + u16(240) + bytes([1, 0x04, 0x01]) + vp9[0][:KEEP]
    vec['vp9_key'] = bytes([0x88, 0x80, 0x05]) + vp9[0][:KEEP]
    # L present, spatial layer 1: not a key picture by itself
    vec['vp9_key_sid1'] = bytes([0xa8, 0x80, 0x05, 0x02, 0x00]) \
        + vp9[0][:KEEP]
    vec['vp9_inter'] = bytes([0xc8, 0x80, 0x06]) + vp9[1][:KEEP]
    vec['vp9_key_cont'] = bytes([0x80, 0x80, 0x05]) + vp9[0][KEEP:2 * KEEP]

    av1 = ivf(ffmpeg(j('c.ivf'), '320x240',
                     ['-c:v', 'libaom-av1', '-cpu-used', '8', '-b:v', '200k',
                      '-f', 'ivf']))
    obus = av1_obus(av1[0])
    seq = [o for o in obus if (o[0] >> 3) & 0x0f == 1][0]
    frame = [o for o in obus if (o[0] >> 3) & 0x0f in (3, 6)][0]
    # W=2: the sequence header with its length, then the frame fragment
    vec['av1_key'] = bytes([0x40 | 0x20 | 0x08]) + leb128(len(seq)) + seq \
        + frame[:KEEP]
    # W=0, every element with a length, no N bit
    vec['av1_key_w0'] = bytes([0x40]) + leb128(len(seq)) + seq \
        + leb128(KEEP) + frame[:KEEP]
    vec['av1_key_cont'] = bytes([0x80 | 0x40 | 0x10]) + frame[KEEP:2 * KEEP]
    inter = [o for o in av1_obus(av1[1]) if (o[0] >> 3) & 0x0f in (3, 6)][0]
    vec['av1_inter'] = bytes([0x40 | 0x10]) + inter[:KEEP]

    hdr = os.path.join(ROOT, 't', 'unit', 'rtp_vectors.h')
    with open(hdr, 'w') as f:
        f.write('/*\n * Generated by t/data/rtp/mkvectors.py from ffmpeg '
                'output: RTP payloads\n * of real H.264, H.265, VP8, VP9 '
                'and AV1 streams.  Do not edit.\n */\n\n\n')
        for k, v in vec.items():
            f.write('static u_char  rtpv_%s[] = {' % k)
            for i, b in enumerate(v):
                f.write(('\n    ' if i % 12 == 0 else ' ') + '0x%02x,' % b)
            f.write('\n};\n\n')
        f.write('static struct {\n    const char  *name;\n    u_char      *data;\n'
                '    size_t       len;\n} rtpv_all[] = {\n')
        for k in vec:
            f.write('    { "%s", rtpv_%s, sizeof(rtpv_%s) },\n' % (k, k, k))
        f.write('};\n')

    # whole RTP packets as fuzz seeds, with a one-byte extension header
    corpus = os.path.join(ROOT, 'fuzz', 'corpus', 'fuzz_rtp')
    os.makedirs(corpus, exist_ok=True)
    for n, (k, v) in enumerate(vec.items()):
        rtp = bytes([0x90, 0x60 | 0x80]) + u16(1000 + n) \
            + struct.pack('>II', 90000 * n, 0x11223344) \
            + bytes([0xbe, 0xde, 0, 1, 0x10, 0x30, 0, 0]) + v
        open(os.path.join(corpus, 'rtp_' + k), 'wb').write(rtp)


if __name__ == '__main__':
    sys.exit(main())
