
/*
 * Copyright (C) nginx WebRTC module authors
 *
 * fmp4_mux [h264|h265|av1|vp9 MTU] IN IN.opus OUTDIR FPS
 *
 * A publisher and an HLS packager in one process, for t/05-fmp4.t: the
 * Annex-B H.264 stream is cut into access units and packetized as a
 * WebRTC sender does (STAP-A for SPS+PPS, single NAL units, FU-A above
 * the MTU, 1200 bytes by default, the marker on the last packet of a
 * picture); H.265 the same way (AP for VPS+SPS+PPS, FU); AV1 temporal
 * units of an IVF file as the AV1 RTP format says (aggregation header,
 * OBU elements without size fields, the last without its length when
 * W can say it, OBUs fragmented across packets, N on a key frame); VP9
 * frames of an IVF file with the RFC 9628 descriptor (picture id, B, E,
 * P, the scalability structure with the size on key frames).  The Ogg
 * Opus packets are taken one per RTP packet; all go through
 * ngx_webrtc_depack_add(), and the frames it returns are muxed with
 * ngx_webrtc_fmp4_*() into OUTDIR/init.mp4 and one fragment a second,
 * OUTDIR/frag000.m4s, ..., for ffprobe to judge.  What was published is
 * printed as "name value" lines.
 */


#include <stdio.h>
#include <stdlib.h>

#include "ngx_webrtc_depack.h"
#include "ngx_webrtc_fmp4.h"


#define MUX_MTU_MAX    1200
#define MUX_MAX_NALS   64
#define MUX_MAX_OBUS   64


typedef struct {
    ngx_webrtc_fmp4_sample_t   *samples;
    uint64_t                   *times;
    size_t                      n;
    size_t                      nalloc;
    u_char                     *data;
    size_t                      len;
    size_t                      size;
} mux_track_t;


static ngx_webrtc_depack_t  video, audio;
static mux_track_t          vtrack, atrack;
static u_char               avcc[1024];
static size_t               avcc_len;
static uint64_t             vseq = 65530, aseq = 100;
static unsigned             keyframes, dropped, packets, stap_a, fu_a;
static ngx_webrtc_codec_e   codec = NGX_WEBRTC_CODEC_H264;
static size_t               mtu = MUX_MTU_MAX;


static void *
xrealloc(void *p, size_t n)
{
    p = realloc(p, n);

    if (p == NULL) {
        perror("realloc");
        exit(2);
    }

    return p;
}


static u_char *
read_file(const char *name, size_t *len)
{
    FILE    *f;
    long     n;
    u_char  *p;

    f = fopen(name, "rb");
    if (f == NULL) {
        perror(name);
        exit(2);
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    p = xrealloc(NULL, n + 1);

    if (fread(p, 1, n, f) != (size_t) n) {
        perror(name);
        exit(2);
    }

    fclose(f);
    *len = n;

    return p;
}


static void
write_file(const char *dir, const char *name, u_char *p, size_t len)
{
    char   path[1024];
    FILE  *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}


static void
track_add(mux_track_t *t, u_char *p, size_t len, uint64_t time,
    uint32_t duration, unsigned sync)
{
    if (t->n == t->nalloc) {
        t->nalloc = t->nalloc ? t->nalloc * 2 : 256;
        t->samples = xrealloc(t->samples,
                              t->nalloc * sizeof(ngx_webrtc_fmp4_sample_t));
        t->times = xrealloc(t->times, t->nalloc * sizeof(uint64_t));
    }

    while (t->len + len > t->size) {
        t->size = t->size ? t->size * 2 : 65536;
        t->data = xrealloc(t->data, t->size);
    }

    memcpy(t->data + t->len, p, len);
    t->len += len;

    t->samples[t->n].size = (uint32_t) len;
    t->samples[t->n].duration = duration;
    t->samples[t->n].cts_offset = 0;
    t->samples[t->n].sync = sync;
    t->times[t->n] = time;
    t->n++;
}


/* one RTP packet of the video stream */

static void
video_packet(uint32_t ts, unsigned marker, u_char *p, size_t len,
    uint32_t duration)
{
    int  rc;

    packets++;

    /* aggregation and fragmentation packets of each format */

    switch (codec) {
    case NGX_WEBRTC_CODEC_H265:
        stap_a += ((p[0] >> 1) == 48);
        fu_a += ((p[0] >> 1) == 49);
        break;
    case NGX_WEBRTC_CODEC_AV1:
        stap_a += (((p[0] >> 4) & 3) != 1);
        fu_a += ((p[0] & 0xc0) != 0);
        break;
    case NGX_WEBRTC_CODEC_VP9:
        fu_a += ((p[0] & 0x0c) != 0x0c);
        break;
    default:
        stap_a += ((p[0] & 0x1f) == 24);
        fu_a += ((p[0] & 0x1f) == 28);
        break;
    }

    rc = ngx_webrtc_depack_add(&video, vseq++, ts, marker, p, len);

    if (rc == -1) {
        fprintf(stderr, "fmp4_mux: malformed packet\n");
        exit(1);
    }

    if (rc == NGX_WEBRTC_DEPACK_DROPPED) {
        dropped++;
        return;
    }

    if (rc != NGX_WEBRTC_DEPACK_FRAME) {
        return;
    }

    if (avcc_len == 0 || video.config_changed) {
        avcc_len = ngx_webrtc_depack_config(&video, avcc, sizeof(avcc));
    }

    keyframes += video.keyframe;

    track_add(&vtrack, video.buf, video.len, video.ts, duration,
              video.keyframe);
}


/* the NAL unit type; H.265 headers are 2 bytes */

static unsigned
nal_type(u_char *nal)
{
    return (codec == NGX_WEBRTC_CODEC_H265) ? (nal[0] >> 1) & 0x3f
                                            : nal[0] & 0x1f;
}


static void
video_au(u_char **nals, size_t *lens, size_t n, uint32_t ts,
    uint32_t duration)
{
    u_char    pkt[MUX_MTU_MAX + 64], *p;
    size_t    i, j, off, chunk, hlen, total;
    unsigned  h265, type;

    h265 = (codec == NGX_WEBRTC_CODEC_H265);
    hlen = h265 ? 2 : 1;

    for (i = 0; i < n; i++) {
        type = nal_type(nals[i]);

        /* parameter sets together: H.264 SPS+PPS, H.265 VPS+SPS+PPS */

        if ((h265 ? type == 32 : type == 7) && i + 1 < n) {
            total = hlen;

            for (j = i; j < n && nal_type(nals[j]) == type + j - i
                        && j - i < (h265 ? 3u : 2u); j++)
            {
                total += 2 + lens[j];
            }

            if (j - i >= 2 && total <= mtu) {
                p = pkt;

                if (h265) {
                    *p++ = (u_char) ((nals[i][0] & 0x81) | (48 << 1));
                    *p++ = nals[i][1];

                } else {
                    *p++ = (nals[i][0] & 0x60) | 24;
                }

                for (/* void */; i < j; i++) {
                    *p++ = (u_char) (lens[i] >> 8);
                    *p++ = (u_char) lens[i];
                    memcpy(p, nals[i], lens[i]);
                    p += lens[i];
                }

                i--;
                video_packet(ts, i == n - 1, pkt, p - pkt, duration);
                continue;
            }
        }

        if (lens[i] <= mtu) {
            video_packet(ts, i == n - 1, nals[i], lens[i], duration);
            continue;
        }

        for (off = hlen; off < lens[i]; off += chunk) {
            chunk = lens[i] - off;
            if (chunk > mtu) {
                chunk = mtu;
            }

            p = pkt;

            if (h265) {
                *p++ = (u_char) ((nals[i][0] & 0x81) | (49 << 1));
                *p++ = nals[i][1];
                *p++ = (u_char) (type
                                 | (off == hlen ? 0x80 : 0)
                                 | (off + chunk == lens[i] ? 0x40 : 0));

            } else {
                *p++ = (nals[i][0] & 0xe0) | 28;
                *p++ = (nals[i][0] & 0x1f)
                       | (off == hlen ? 0x80 : 0)
                       | (off + chunk == lens[i] ? 0x40 : 0);
            }

            memcpy(p, nals[i] + off, chunk);
            p += chunk;

            video_packet(ts, i == n - 1 && off + chunk == lens[i], pkt,
                         p - pkt, duration);
        }
    }
}


/* Annex-B byte stream to access units (H.264 7.4.1.2.3, H.265 7.4.2.4.4) */

static unsigned
video_read(u_char *p, size_t len, unsigned fps)
{
    u_char    *last, *nal, *next, *nals[MUX_MAX_NALS];
    size_t     lens[MUX_MAX_NALS], n, nal_len;
    unsigned   type, vcl, aus;
    uint32_t   duration;

    duration = 90000 / fps;
    last = p + len;
    n = 0;
    vcl = 0;
    aus = 0;

    for (nal = p; nal + 3 <= last; nal++) {
        if (nal[0] == 0 && nal[1] == 0 && nal[2] == 1) {
            break;
        }
    }

    while (nal + 3 <= last) {
        nal += 3;

        for (next = nal; next + 3 <= last; next++) {
            if (next[0] == 0 && next[1] == 0 && next[2] == 1) {
                break;
            }
        }

        if (next + 3 > last) {
            next = last;
        }

        nal_len = next - nal;

        while (nal_len > 0 && nal[nal_len - 1] == 0) {
            nal_len--;
        }

        if (nal_len > 0 && codec == NGX_WEBRTC_CODEC_H265) {
            type = nal_type(nal);

            if (vcl && ((type >= 32 && type <= 35) || type == 39
                        || (type < 32 && nal_len > 2 && (nal[2] & 0x80))))
            {
                video_au(nals, lens, n, aus * duration, duration);
                aus++;
                n = 0;
                vcl = 0;
            }

            if (n == MUX_MAX_NALS) {
                fprintf(stderr, "fmp4_mux: too many NAL units\n");
                exit(2);
            }

            nals[n] = nal;
            lens[n] = nal_len;
            n++;

            if (type < 32) {
                vcl = 1;
            }

        } else if (nal_len > 0) {
            type = nal[0] & 0x1f;

            if (vcl && (type == 6 || type == 7 || type == 8 || type == 9
                        || ((type == 1 || type == 5) && nal_len > 1
                            && (nal[1] & 0x80))))
            {
                video_au(nals, lens, n, aus * duration, duration);
                aus++;
                n = 0;
                vcl = 0;
            }

            if (n == MUX_MAX_NALS) {
                fprintf(stderr, "fmp4_mux: too many NAL units\n");
                exit(2);
            }

            nals[n] = nal;
            lens[n] = nal_len;
            n++;

            if (type >= 1 && type <= 5) {
                vcl = 1;
            }
        }

        nal = next;
    }

    if (n) {
        video_au(nals, lens, n, aus * duration, duration);
        aus++;
    }

    return aus;
}


static size_t
leb128_put(u_char *p, uint64_t v)
{
    size_t  n;

    for (n = 0; v >= 0x80; n++) {
        p[n] = (u_char) (0x80 | (v & 0x7f));
        v >>= 7;
    }

    p[n++] = (u_char) v;

    return n;
}


static size_t
leb128_len(uint64_t v)
{
    u_char  tmp[10];

    return leb128_put(tmp, v);
}


/*
 * One AV1 packet of the elements elts[0 .. n): W = n when n <= 3 (the
 * last without its length), else W = 0 (all with lengths).
 */

static void
av1_packet(u_char **elts, size_t *lens, size_t n, unsigned z, unsigned y,
    unsigned key, unsigned marker, uint32_t ts, uint32_t duration)
{
    u_char  pkt[MUX_MTU_MAX + 64], *p;
    size_t  i;

    p = pkt;
    *p++ = (u_char) ((z << 7) | (y << 6) | ((n <= 3 ? n : 0) << 4)
                     | (key << 3));

    for (i = 0; i < n; i++) {
        if (n > 3 || i + 1 < n) {
            p += leb128_put(p, lens[i]);
        }

        memcpy(p, elts[i], lens[i]);
        p += lens[i];
    }

    video_packet(ts, marker, pkt, p - pkt, duration);
}


/* a temporal unit: its OBUs without temporal delimiters or size fields */

static void
av1_tu(u_char *p, size_t len, uint32_t ts, uint32_t duration)
{
    u_char    *last, *obus[MUX_MAX_OBUS], *elts[MUX_MAX_OBUS], *q;
    size_t     lens[MUX_MAX_OBUS], elens[MUX_MAX_OBUS], nobus, i, n, off;
    size_t     room, chunk, hlen;
    uint64_t   size, shift;
    unsigned   key, z, first;

    /* an OBU element: the header without obu_has_size_field, the payload */
    static u_char  obu_buf[MUX_MAX_OBUS][65536];

    last = p + len;
    nobus = 0;
    key = 0;

    while (p < last) {
        hlen = 1 + ((p[0] >> 2) & 1);
        q = p + hlen;
        size = 0;

        for (shift = 0; q < last; shift += 7) {
            size |= (uint64_t) (*q & 0x7f) << shift;
            if (!(*q++ & 0x80)) {
                break;
            }
        }

        if (!(p[0] & 0x02) || q + size > last || nobus == MUX_MAX_OBUS
            || hlen + size > sizeof(obu_buf[0]))
        {
            fprintf(stderr, "fmp4_mux: bad OBU\n");
            exit(2);
        }

        if (((p[0] >> 3) & 0x0f) == 1) {
            key = 1;
        }

        if (((p[0] >> 3) & 0x0f) != 2) {
            memcpy(obu_buf[nobus], p, hlen);
            obu_buf[nobus][0] &= ~0x02;
            memcpy(obu_buf[nobus] + hlen, q, size);
            obus[nobus] = obu_buf[nobus];
            lens[nobus] = hlen + size;
            nobus++;
        }

        p = q + size;
    }

    /* greedy: fill each packet, fragment what does not fit */

    n = 0;
    room = mtu - 1;
    z = 0;
    first = 1;

    for (i = 0; i < nobus; i++) {
        off = 0;

        while (off < lens[i]) {
            if (room < 4) {
                /* full: the next OBU starts the next packet */
                av1_packet(elts, elens, n, z, 0, key && first, 0, ts,
                           duration);
                first = 0;
                z = 0;
                n = 0;
                room = mtu - 1;
            }

            chunk = lens[i] - off;

            if (chunk + leb128_len(chunk) > room) {
                chunk = room - leb128_len(room);
            }

            elts[n] = obus[i] + off;
            elens[n] = chunk;
            n++;
            room -= chunk + leb128_len(chunk);
            off += chunk;

            if (off < lens[i] || n == MUX_MAX_OBUS) {
                /* the OBU goes on in the next packet */
                av1_packet(elts, elens, n, z, off < lens[i], key && first,
                           0, ts, duration);
                first = 0;
                z = (off < lens[i]);
                n = 0;
                room = mtu - 1;
            }
        }
    }

    if (n == 0) {
        fprintf(stderr, "fmp4_mux: too many OBUs\n");
        exit(2);
    }

    av1_packet(elts, elens, n, z, 0, key && first, 1, ts, duration);
}


/* a VP9 frame (or superframe) with the RFC 9628 descriptor */

static void
vp9_frame(u_char *p, size_t len, uint32_t ts, uint32_t duration,
    unsigned picture_id)
{
    u_char                     pkt[MUX_MTU_MAX + 64], *q;
    size_t                     off, chunk, room;
    unsigned                   key;
    ngx_webrtc_codec_config_t  cf;

    key = (ngx_webrtc_codec_config(NGX_WEBRTC_CODEC_VP9, p, len, &cf) == 0);

    for (off = 0; off < len; off += chunk) {
        q = pkt;

        /* I, P, B, E, V; a 15-bit picture id */
        *q++ = (u_char) (0x80 | (key ? 0 : 0x40) | (off == 0 ? 0x08 : 0)
                         | ((key && off == 0) ? 0x02 : 0));
        *q++ = (u_char) (0x80 | ((picture_id >> 8) & 0x7f));
        *q++ = (u_char) picture_id;

        if (key && off == 0) {
            /* the scalability structure: one layer, its size */
            *q++ = 0x10;
            *q++ = (u_char) (cf.width >> 8);
            *q++ = (u_char) cf.width;
            *q++ = (u_char) (cf.height >> 8);
            *q++ = (u_char) cf.height;
        }

        room = mtu - (q - pkt);
        chunk = len - off;

        if (chunk > room) {
            chunk = room;
        }

        if (off + chunk == len) {
            pkt[0] |= 0x04;
        }

        memcpy(q, p + off, chunk);
        q += chunk;

        video_packet(ts, off + chunk == len, pkt, q - pkt, duration);
    }
}


/* IVF (the libvpx container): a 32-byte header, then size, pts, frame */

static unsigned
ivf_read(u_char *p, size_t len, unsigned fps)
{
    u_char    *last;
    size_t     size;
    uint32_t   duration;
    unsigned   frames;

    duration = 90000 / fps;
    last = p + len;
    frames = 0;

    if (len < 32 || memcmp(p, "DKIF", 4) != 0) {
        fprintf(stderr, "fmp4_mux: not IVF\n");
        exit(2);
    }

    p += p[6] | (p[7] << 8);

    while (last - p >= 12) {
        size = p[0] | (p[1] << 8) | (p[2] << 16) | ((size_t) p[3] << 24);
        p += 12;

        if (size > (size_t) (last - p)) {
            fprintf(stderr, "fmp4_mux: short IVF frame\n");
            exit(2);
        }

        if (codec == NGX_WEBRTC_CODEC_AV1) {
            av1_tu(p, size, frames * duration, duration);

        } else {
            vp9_frame(p, size, frames * duration, duration, frames);
        }

        p += size;
        frames++;
    }

    return frames;
}


/* samples at 48 kHz of an Opus packet, RFC 6716 3.1 */

static uint32_t
opus_samples(u_char *p, size_t len)
{
    unsigned  config, frames;
    uint32_t  size;

    static uint32_t  silk[] = { 480, 960, 1920, 2880 };
    static uint32_t  celt[] = { 120, 240, 480, 960 };

    config = p[0] >> 3;

    if (config < 12) {
        size = silk[config & 3];

    } else if (config < 16) {
        size = (config & 1) ? 960 : 480;

    } else {
        size = celt[config & 3];
    }

    switch (p[0] & 3) {
    case 0:
        frames = 1;
        break;

    case 3:
        frames = (len > 1) ? (p[1] & 0x3f) : 1;
        break;

    default:
        frames = 2;
        break;
    }

    return size * frames;
}


/* Ogg pages (RFC 3533) to Opus packets (RFC 7845) */

static unsigned
audio_read(u_char *p, size_t len, ngx_webrtc_fmp4_track_t *t)
{
    int       rc;
    u_char   *last, *data, pkt[65536];
    size_t    pkt_len, i, nsegs;
    uint32_t  duration;
    uint64_t  time;
    unsigned  npackets;

    last = p + len;
    pkt_len = 0;
    npackets = 0;
    time = 0;

    while (last - p >= 27 && memcmp(p, "OggS", 4) == 0) {
        nsegs = p[26];
        data = p + 27 + nsegs;

        for (i = 0; i < nsegs; i++) {
            if (data + p[27 + i] > last
                || pkt_len + p[27 + i] > sizeof(pkt))
            {
                fprintf(stderr, "fmp4_mux: bad Ogg page\n");
                exit(2);
            }

            memcpy(pkt + pkt_len, data, p[27 + i]);
            pkt_len += p[27 + i];
            data += p[27 + i];

            if (p[27 + i] == 255) {
                continue;
            }

            /* a whole packet */

            if (npackets == 0) {
                if (pkt_len < 19 || memcmp(pkt, "OpusHead", 8) != 0) {
                    fprintf(stderr, "fmp4_mux: no OpusHead\n");
                    exit(2);
                }

                t->channels = pkt[9];
                t->pre_skip = pkt[10] | (pkt[11] << 8);
                t->sample_rate = pkt[12] | (pkt[13] << 8) | (pkt[14] << 16)
                                 | ((uint32_t) pkt[15] << 24);

            } else if (npackets > 1 && pkt_len > 0) {
                rc = ngx_webrtc_depack_add(&audio, aseq++, (uint32_t) time,
                                           1, pkt, pkt_len);

                if (rc != NGX_WEBRTC_DEPACK_FRAME) {
                    fprintf(stderr, "fmp4_mux: Opus packet not a frame\n");
                    exit(1);
                }

                duration = opus_samples(audio.buf, audio.len);
                track_add(&atrack, audio.buf, audio.len, time, duration, 1);
                time += duration;
            }

            npackets++;
            pkt_len = 0;
        }

        p = data;
    }

    return npackets > 2 ? npackets - 2 : 0;
}


int
main(int argc, char **argv)
{
    char                      name[64], **arg;
    u_char                   *in, *buf, codecs[64];
    size_t                    len, n, size, v, a, vend, aend;
    unsigned                  fps, aus, apackets, frags;
    ngx_webrtc_fmp4_run_t     runs[2];
    ngx_webrtc_fmp4_track_t   tracks[2];
    static u_char             vbuf[1024 * 1024], abuf[4096];

    arg = argv;

    if (argc == 7) {
        codec = ngx_webrtc_codec_by_name((u_char *) argv[1],
                                         strlen(argv[1]));
        mtu = atoi(argv[2]);
        arg = argv + 2;

        if (mtu < 64 || mtu > MUX_MTU_MAX) {
            fprintf(stderr, "fmp4_mux: MTU from 64 to 1200\n");
            return 2;
        }

    } else if (argc != 5) {
        fprintf(stderr, "usage: fmp4_mux [h264|h265|av1|vp9 MTU] "
                        "IN IN.opus OUTDIR FPS\n");
        return 2;
    }

    fps = atoi(arg[4]);
    if (fps == 0 || 90000 % fps) {
        fprintf(stderr, "fmp4_mux: FPS must divide 90000\n");
        return 2;
    }

    video.codec = codec;
    video.buf = vbuf;
    video.size = sizeof(vbuf);

    audio.codec = NGX_WEBRTC_CODEC_OPUS;
    audio.buf = abuf;
    audio.size = sizeof(abuf);

    memset(tracks, 0, sizeof(tracks));

    in = read_file(arg[1], &len);

    if (codec == NGX_WEBRTC_CODEC_AV1 || codec == NGX_WEBRTC_CODEC_VP9) {
        aus = ivf_read(in, len, fps);

    } else {
        aus = video_read(in, len, fps);
    }

    free(in);

    in = read_file(arg[2], &len);
    apackets = audio_read(in, len, &tracks[1]);
    free(in);

    if (avcc_len == 0 || vtrack.n == 0 || atrack.n == 0) {
        fprintf(stderr, "fmp4_mux: no configuration, video or audio\n");
        return 1;
    }

    tracks[0].id = 1;
    tracks[0].codec = codec;
    tracks[0].timescale = 90000;
    tracks[0].width = video.width;
    tracks[0].height = video.height;
    tracks[0].config = avcc;
    tracks[0].config_len = avcc_len;

    tracks[1].id = 2;
    tracks[1].codec = NGX_WEBRTC_CODEC_OPUS;
    tracks[1].timescale = 48000;

    size = vtrack.len + atrack.len + 65536
           + 16 * (vtrack.n + atrack.n);
    buf = xrealloc(NULL, size);

    n = ngx_webrtc_fmp4_init(buf, size, tracks, 2);
    if (n == 0) {
        fprintf(stderr, "fmp4_mux: init failed\n");
        return 1;
    }

    write_file(arg[3], "init.mp4", buf, n);

    /* one fragment a second: its video frames, the audio up to its end */

    v = 0;
    a = 0;
    frags = 0;

    while (v < vtrack.n || a < atrack.n) {
        vend = v + fps;
        if (vend > vtrack.n) {
            vend = vtrack.n;
        }

        aend = a;
        while (aend < atrack.n
               && (vend == vtrack.n
                   || atrack.times[aend] < (uint64_t) (frags + 1) * 48000))
        {
            aend++;
        }

        runs[0].id = 1;
        runs[0].base_time = (v < vtrack.n) ? vtrack.times[v] : 0;
        runs[0].samples = vtrack.samples + v;
        runs[0].nsamples = vend - v;
        runs[0].data = vtrack.data;
        runs[0].len = 0;

        for (n = v; n < vend; n++) {
            runs[0].len += vtrack.samples[n].size;
        }

        for (n = 0; n < v; n++) {
            runs[0].data += vtrack.samples[n].size;
        }

        runs[1].id = 2;
        runs[1].base_time = (a < atrack.n) ? atrack.times[a] : 0;
        runs[1].samples = atrack.samples + a;
        runs[1].nsamples = aend - a;
        runs[1].data = atrack.data;
        runs[1].len = 0;

        for (n = a; n < aend; n++) {
            runs[1].len += atrack.samples[n].size;
        }

        for (n = 0; n < a; n++) {
            runs[1].data += atrack.samples[n].size;
        }

        n = ngx_webrtc_fmp4_fragment(buf, size, frags + 1, runs, 2);
        if (n == 0) {
            fprintf(stderr, "fmp4_mux: fragment failed\n");
            return 1;
        }

        snprintf(name, sizeof(name), "frag%03u.m4s", frags);
        write_file(arg[3], name, buf, n);

        frags++;
        v = vend;
        a = aend;
    }

    n = ngx_webrtc_fmp4_codecs(codecs, sizeof(codecs), &tracks[0]);
    printf("codecs %.*s,", (int) n, codecs);
    n = ngx_webrtc_fmp4_codecs(codecs, sizeof(codecs), &tracks[1]);
    printf("%.*s\n", (int) n, codecs);

    printf("access_units %u\n", aus);
    printf("rtp_packets %u\n", packets);
    printf("stap_a_packets %u\n", stap_a);
    printf("fu_a_packets %u\n", fu_a);
    printf("aggregation_packets %u\n", stap_a);
    printf("fragment_packets %u\n", fu_a);
    printf("video_frames %zu\n", vtrack.n);
    printf("keyframes %u\n", keyframes);
    printf("dropped %u\n", dropped);
    printf("width %u\nheight %u\n", video.width, video.height);
    printf("audio_packets %u\n", apackets);
    printf("audio_frames %zu\n", atrack.n);
    printf("fragments %u\n", frags);

    free(buf);

    return 0;
}
