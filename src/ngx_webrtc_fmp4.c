
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * The boxes of CMAF fragmented MP4 for HLS and recordings: an init
 * segment (ftyp, moov with an empty sample table per track and mvex) and
 * fragments (moof, mdat).  Only what players read is written: H.264 as
 * avc1/avcC, H.265 as hvc1/hvcC (ISO/IEC 14496-15), AV1 as av01/av1C (the
 * AV1 Codec ISO Media File Format), VP9 as vp09/vpcC (the VP Codec ISO
 * Media File Format), Opus as Opus/dOps (the Opus in ISOBMFF
 * encapsulation, 4.3); the caller gives the video's configuration record.
 *
 * Every write goes through a cursor that refuses to pass the end of the
 * caller's buffer; a refused write makes the whole call return 0, so a
 * short buffer never yields a truncated box.
 */


#include <stdio.h>

#include "ngx_webrtc_fmp4.h"


#define NGX_WEBRTC_FMP4_SYNC           0x02000000  /* depends on no other */
#define NGX_WEBRTC_FMP4_NON_SYNC       0x01010000  /* depends, non-sync */

/* tfhd default-base-is-moof; trun data-offset, duration, size, flags, cts */
#define NGX_WEBRTC_FMP4_TFHD_FLAGS     0x020000
#define NGX_WEBRTC_FMP4_TRUN_FLAGS     0x000f01

#define NGX_WEBRTC_FMP4_MFHD_SIZE      16
#define NGX_WEBRTC_FMP4_TRAF_SIZE      (8 + 16 + 20 + 20)
#define NGX_WEBRTC_FMP4_SAMPLE_SIZE    16


typedef struct {
    u_char                     *pos;
    u_char                     *start;
    u_char                     *end;
    unsigned                    error:1;
} ngx_webrtc_fmp4_out_t;


static void ngx_webrtc_fmp4_ftyp(ngx_webrtc_fmp4_out_t *o);
static void ngx_webrtc_fmp4_mvhd(ngx_webrtc_fmp4_out_t *o,
    uint32_t next_id);
static void ngx_webrtc_fmp4_trak(ngx_webrtc_fmp4_out_t *o,
    ngx_webrtc_fmp4_track_t *t);
static void ngx_webrtc_fmp4_minf(ngx_webrtc_fmp4_out_t *o,
    ngx_webrtc_fmp4_track_t *t);
static void ngx_webrtc_fmp4_stbl(ngx_webrtc_fmp4_out_t *o,
    ngx_webrtc_fmp4_track_t *t);
static unsigned ngx_webrtc_fmp4_video(ngx_webrtc_codec_e codec);
static void ngx_webrtc_fmp4_visual(ngx_webrtc_fmp4_out_t *o,
    ngx_webrtc_fmp4_track_t *t);
static void ngx_webrtc_fmp4_opus(ngx_webrtc_fmp4_out_t *o,
    ngx_webrtc_fmp4_track_t *t);
static void ngx_webrtc_fmp4_traf(ngx_webrtc_fmp4_out_t *o,
    ngx_webrtc_fmp4_run_t *run, uint64_t data_offset);

static size_t ngx_webrtc_fmp4_box(ngx_webrtc_fmp4_out_t *o,
    const char *type);
static size_t ngx_webrtc_fmp4_full_box(ngx_webrtc_fmp4_out_t *o,
    const char *type, unsigned version, uint32_t flags);
static void ngx_webrtc_fmp4_box_end(ngx_webrtc_fmp4_out_t *o, size_t start);
static u_char *ngx_webrtc_fmp4_reserve(ngx_webrtc_fmp4_out_t *o, size_t n);
static void ngx_webrtc_fmp4_put8(ngx_webrtc_fmp4_out_t *o, unsigned v);
static void ngx_webrtc_fmp4_put16(ngx_webrtc_fmp4_out_t *o, unsigned v);
static void ngx_webrtc_fmp4_put32(ngx_webrtc_fmp4_out_t *o, uint32_t v);
static void ngx_webrtc_fmp4_put64(ngx_webrtc_fmp4_out_t *o, uint64_t v);
static void ngx_webrtc_fmp4_zero(ngx_webrtc_fmp4_out_t *o, size_t n);
static void ngx_webrtc_fmp4_copy(ngx_webrtc_fmp4_out_t *o, const void *p,
    size_t n);
static void ngx_webrtc_fmp4_matrix(ngx_webrtc_fmp4_out_t *o);


size_t
ngx_webrtc_fmp4_init(u_char *buf, size_t size,
    ngx_webrtc_fmp4_track_t *tracks, size_t ntracks)
{
    size_t                 i, moov, mvex, fb;
    uint32_t               next_id;
    ngx_webrtc_fmp4_out_t  o;

    next_id = 1;

    for (i = 0; i < ntracks; i++) {
        if (tracks[i].id == 0 || tracks[i].id == 0xffffffff
            || tracks[i].timescale == 0
            || (!ngx_webrtc_fmp4_video(tracks[i].codec)
                && tracks[i].codec != NGX_WEBRTC_CODEC_OPUS))
        {
            return 0;
        }

        if (tracks[i].id >= next_id) {
            next_id = tracks[i].id + 1;
        }
    }

    o.start = buf;
    o.pos = buf;
    o.end = buf + size;
    o.error = 0;

    ngx_webrtc_fmp4_ftyp(&o);

    moov = ngx_webrtc_fmp4_box(&o, "moov");
    ngx_webrtc_fmp4_mvhd(&o, next_id);

    for (i = 0; i < ntracks; i++) {
        ngx_webrtc_fmp4_trak(&o, &tracks[i]);
    }

    mvex = ngx_webrtc_fmp4_box(&o, "mvex");

    for (i = 0; i < ntracks; i++) {
        fb = ngx_webrtc_fmp4_full_box(&o, "trex", 0, 0);
        ngx_webrtc_fmp4_put32(&o, tracks[i].id);
        ngx_webrtc_fmp4_put32(&o, 1);    /* default_sample_description_index */
        ngx_webrtc_fmp4_put32(&o, 0);    /* default_sample_duration */
        ngx_webrtc_fmp4_put32(&o, 0);    /* default_sample_size */
        ngx_webrtc_fmp4_put32(&o, 0);    /* default_sample_flags */
        ngx_webrtc_fmp4_box_end(&o, fb);
    }

    ngx_webrtc_fmp4_box_end(&o, mvex);
    ngx_webrtc_fmp4_box_end(&o, moov);

    return o.error ? 0 : (size_t) (o.pos - buf);
}


size_t
ngx_webrtc_fmp4_fragment(u_char *buf, size_t size, uint32_t seq,
    ngx_webrtc_fmp4_run_t *runs, size_t nruns)
{
    size_t                 i, j, moof, mdat, fb;
    uint64_t               moof_size, data, total;
    ngx_webrtc_fmp4_out_t  o;

    /*
     * The moof size is known before it is written: each trun's data
     * offset, from the moof's first byte, is then written once.
     */

    moof_size = 8 + NGX_WEBRTC_FMP4_MFHD_SIZE;
    total = 0;

    for (i = 0; i < nruns; i++) {
        data = 0;

        for (j = 0; j < runs[i].nsamples; j++) {
            data += runs[i].samples[j].size;
        }

        if (data != runs[i].len || runs[i].nsamples > 0xffffffff) {
            return 0;
        }

        moof_size += NGX_WEBRTC_FMP4_TRAF_SIZE
                     + (uint64_t) runs[i].nsamples
                       * NGX_WEBRTC_FMP4_SAMPLE_SIZE;
        total += runs[i].len;

        if (moof_size > size || total > size) {
            return 0;
        }
    }

    /* 32-bit box sizes and data offsets */
    if (moof_size + 8 + total > 0x7fffffff) {
        return 0;
    }

    o.start = buf;
    o.pos = buf;
    o.end = buf + size;
    o.error = 0;

    moof = ngx_webrtc_fmp4_box(&o, "moof");

    fb = ngx_webrtc_fmp4_full_box(&o, "mfhd", 0, 0);
    ngx_webrtc_fmp4_put32(&o, seq);
    ngx_webrtc_fmp4_box_end(&o, fb);

    data = moof_size + 8;

    for (i = 0; i < nruns; i++) {
        ngx_webrtc_fmp4_traf(&o, &runs[i], data);
        data += runs[i].len;
    }

    ngx_webrtc_fmp4_box_end(&o, moof);

    if (!o.error && (uint64_t) (o.pos - buf) != moof_size) {
        return 0;
    }

    mdat = ngx_webrtc_fmp4_box(&o, "mdat");

    for (i = 0; i < nruns; i++) {
        ngx_webrtc_fmp4_copy(&o, runs[i].data, runs[i].len);
    }

    ngx_webrtc_fmp4_box_end(&o, mdat);

    return o.error ? 0 : (size_t) (o.pos - buf);
}


size_t
ngx_webrtc_fmp4_codecs(u_char *buf, size_t size, ngx_webrtc_fmp4_track_t *t)
{
    size_t         i, n;
    u_char        *p, *c, tmp[64];
    uint32_t       flags, rev;
    unsigned       depth;
    static u_char  hex[] = "0123456789abcdef";

    c = t->config;

    switch (t->codec) {

    case NGX_WEBRTC_CODEC_H264:
        /* avc1.PPCCLL: profile, compatibility, level of the avcC */
        if (t->config == NULL || t->config_len < 4 || size < 11) {
            return 0;
        }

        memcpy(buf, "avc1.", 5);
        p = buf + 5;

        for (i = 1; i < 4; i++) {
            *p++ = hex[t->config[i] >> 4];
            *p++ = hex[t->config[i] & 0xf];
        }

        return 11;

    case NGX_WEBRTC_CODEC_H265:
        /*
         * ISO/IEC 14496-15 E.3: hvc1.[A-C]<profile_idc>.<compatibility
         * flags, bits reversed, hex>.<L|H><level_idc>[.<constraint byte>]*
         * with trailing zero constraint bytes left out
         */

        if (c == NULL || t->config_len < 13) {
            return 0;
        }

        flags = ((uint32_t) c[2] << 24) | (c[3] << 16) | (c[4] << 8) | c[5];

        for (rev = 0, i = 0; i < 32; i++) {
            rev = (rev << 1) | ((flags >> i) & 1);
        }

        p = tmp;
        p += sprintf((char *) p, "hvc1.");

        if (c[1] >> 6) {
            *p++ = (u_char) ('A' + (c[1] >> 6) - 1);
        }

        p += sprintf((char *) p, "%u.%X.%c%u", c[1] & 0x1f, rev,
                     (c[1] & 0x20) ? 'H' : 'L', c[12]);

        for (n = 11; n > 5 && c[n] == 0; n--) { /* void */ }

        for (i = 6; i <= n; i++) {
            p += sprintf((char *) p, ".%X", c[i]);
        }

        break;

    case NGX_WEBRTC_CODEC_AV1:
        /* av01.<profile>.<level><tier>.<bit depth>, AV1-ISOBMFF Annex A */

        if (c == NULL || t->config_len < 4) {
            return 0;
        }

        depth = (c[2] & 0x40) ? ((c[2] & 0x20) ? 12 : 10) : 8;

        p = tmp;
        p += sprintf((char *) p, "av01.%u.%02u%c.%02u", c[1] >> 5,
                     c[1] & 0x1f, (c[2] & 0x80) ? 'H' : 'M', depth);
        break;

    case NGX_WEBRTC_CODEC_VP9:
        /* vp09.<profile>.<level>.<bit depth>, VP-ISOBMFF "Codecs Parameter" */

        if (c == NULL || t->config_len < 3) {
            return 0;
        }

        p = tmp;
        p += sprintf((char *) p, "vp09.%02u.%02u.%02u", c[0], c[1], c[2] >> 4);
        break;

    case NGX_WEBRTC_CODEC_OPUS:
        if (size < 4) {
            return 0;
        }

        memcpy(buf, "opus", 4);
        return 4;

    default:
        return 0;
    }

    n = p - tmp;

    if (size < n) {
        return 0;
    }

    memcpy(buf, tmp, n);

    return n;
}


static void
ngx_webrtc_fmp4_ftyp(ngx_webrtc_fmp4_out_t *o)
{
    size_t  ftyp;

    /* iso6: tfdt version 1 and default-base-is-moof; cmfc: CMAF */

    ftyp = ngx_webrtc_fmp4_box(o, "ftyp");
    ngx_webrtc_fmp4_copy(o, "iso6", 4);             /* major_brand */
    ngx_webrtc_fmp4_put32(o, 0);                    /* minor_version */
    ngx_webrtc_fmp4_copy(o, "iso6cmfcmp41", 12);    /* compatible_brands */
    ngx_webrtc_fmp4_box_end(o, ftyp);
}


static void
ngx_webrtc_fmp4_mvhd(ngx_webrtc_fmp4_out_t *o, uint32_t next_id)
{
    size_t  fb;

    fb = ngx_webrtc_fmp4_full_box(o, "mvhd", 0, 0);
    ngx_webrtc_fmp4_put32(o, 0);                    /* creation_time */
    ngx_webrtc_fmp4_put32(o, 0);                    /* modification_time */
    ngx_webrtc_fmp4_put32(o, 1000);                 /* timescale */
    ngx_webrtc_fmp4_put32(o, 0);                    /* duration: fragments */
    ngx_webrtc_fmp4_put32(o, 0x00010000);           /* rate 1.0 */
    ngx_webrtc_fmp4_put16(o, 0x0100);               /* volume 1.0 */
    ngx_webrtc_fmp4_zero(o, 2 + 8);                 /* reserved */
    ngx_webrtc_fmp4_matrix(o);
    ngx_webrtc_fmp4_zero(o, 24);                    /* pre_defined */
    ngx_webrtc_fmp4_put32(o, next_id);              /* next_track_ID */
    ngx_webrtc_fmp4_box_end(o, fb);
}


static void
ngx_webrtc_fmp4_trak(ngx_webrtc_fmp4_out_t *o, ngx_webrtc_fmp4_track_t *t)
{
    size_t    trak, mdia, hdlr, fb;
    unsigned  video;

    video = ngx_webrtc_fmp4_video(t->codec);

    trak = ngx_webrtc_fmp4_box(o, "trak");

    /* flags: track_enabled, track_in_movie */
    fb = ngx_webrtc_fmp4_full_box(o, "tkhd", 0, 3);
    ngx_webrtc_fmp4_put32(o, 0);                    /* creation_time */
    ngx_webrtc_fmp4_put32(o, 0);                    /* modification_time */
    ngx_webrtc_fmp4_put32(o, t->id);                /* track_ID */
    ngx_webrtc_fmp4_put32(o, 0);                    /* reserved */
    ngx_webrtc_fmp4_put32(o, 0);                    /* duration */
    ngx_webrtc_fmp4_zero(o, 8);                     /* reserved */
    ngx_webrtc_fmp4_put16(o, 0);                    /* layer */
    ngx_webrtc_fmp4_put16(o, 0);                    /* alternate_group */
    ngx_webrtc_fmp4_put16(o, video ? 0 : 0x0100);   /* volume */
    ngx_webrtc_fmp4_put16(o, 0);                    /* reserved */
    ngx_webrtc_fmp4_matrix(o);
    ngx_webrtc_fmp4_put32(o, video ? (uint32_t) (t->width & 0xffff) << 16
                                   : 0);            /* width, 16.16 */
    ngx_webrtc_fmp4_put32(o, video ? (uint32_t) (t->height & 0xffff) << 16
                                   : 0);            /* height, 16.16 */
    ngx_webrtc_fmp4_box_end(o, fb);

    mdia = ngx_webrtc_fmp4_box(o, "mdia");

    fb = ngx_webrtc_fmp4_full_box(o, "mdhd", 0, 0);
    ngx_webrtc_fmp4_put32(o, 0);                    /* creation_time */
    ngx_webrtc_fmp4_put32(o, 0);                    /* modification_time */
    ngx_webrtc_fmp4_put32(o, t->timescale);
    ngx_webrtc_fmp4_put32(o, 0);                    /* duration */
    ngx_webrtc_fmp4_put16(o, 0x55c4);               /* language "und" */
    ngx_webrtc_fmp4_put16(o, 0);                    /* pre_defined */
    ngx_webrtc_fmp4_box_end(o, fb);

    hdlr = ngx_webrtc_fmp4_full_box(o, "hdlr", 0, 0);
    ngx_webrtc_fmp4_put32(o, 0);                    /* pre_defined */
    ngx_webrtc_fmp4_copy(o, video ? "vide" : "soun", 4);
    ngx_webrtc_fmp4_zero(o, 12);                    /* reserved */

    if (video) {
        ngx_webrtc_fmp4_copy(o, "VideoHandler", sizeof("VideoHandler"));

    } else {
        ngx_webrtc_fmp4_copy(o, "SoundHandler", sizeof("SoundHandler"));
    }

    ngx_webrtc_fmp4_box_end(o, hdlr);

    ngx_webrtc_fmp4_minf(o, t);

    ngx_webrtc_fmp4_box_end(o, mdia);
    ngx_webrtc_fmp4_box_end(o, trak);
}


static void
ngx_webrtc_fmp4_minf(ngx_webrtc_fmp4_out_t *o, ngx_webrtc_fmp4_track_t *t)
{
    size_t  minf, dinf, dref, fb;

    minf = ngx_webrtc_fmp4_box(o, "minf");

    if (ngx_webrtc_fmp4_video(t->codec)) {
        fb = ngx_webrtc_fmp4_full_box(o, "vmhd", 0, 1);
        ngx_webrtc_fmp4_zero(o, 8);                 /* graphicsmode, opcolor */
        ngx_webrtc_fmp4_box_end(o, fb);

    } else {
        fb = ngx_webrtc_fmp4_full_box(o, "smhd", 0, 0);
        ngx_webrtc_fmp4_zero(o, 4);                 /* balance, reserved */
        ngx_webrtc_fmp4_box_end(o, fb);
    }

    dinf = ngx_webrtc_fmp4_box(o, "dinf");
    dref = ngx_webrtc_fmp4_full_box(o, "dref", 0, 0);
    ngx_webrtc_fmp4_put32(o, 1);                    /* entry_count */

    /* flags 1: the media data is in this file */
    fb = ngx_webrtc_fmp4_full_box(o, "url ", 0, 1);
    ngx_webrtc_fmp4_box_end(o, fb);

    ngx_webrtc_fmp4_box_end(o, dref);
    ngx_webrtc_fmp4_box_end(o, dinf);

    ngx_webrtc_fmp4_stbl(o, t);

    ngx_webrtc_fmp4_box_end(o, minf);
}


static void
ngx_webrtc_fmp4_stbl(ngx_webrtc_fmp4_out_t *o, ngx_webrtc_fmp4_track_t *t)
{
    size_t  stbl, stsd, fb;

    stbl = ngx_webrtc_fmp4_box(o, "stbl");

    stsd = ngx_webrtc_fmp4_full_box(o, "stsd", 0, 0);
    ngx_webrtc_fmp4_put32(o, 1);                    /* entry_count */

    if (ngx_webrtc_fmp4_video(t->codec)) {
        ngx_webrtc_fmp4_visual(o, t);

    } else {
        ngx_webrtc_fmp4_opus(o, t);
    }

    ngx_webrtc_fmp4_box_end(o, stsd);

    /* the samples are all in the fragments */

    fb = ngx_webrtc_fmp4_full_box(o, "stts", 0, 0);
    ngx_webrtc_fmp4_put32(o, 0);                    /* entry_count */
    ngx_webrtc_fmp4_box_end(o, fb);

    fb = ngx_webrtc_fmp4_full_box(o, "stsc", 0, 0);
    ngx_webrtc_fmp4_put32(o, 0);                    /* entry_count */
    ngx_webrtc_fmp4_box_end(o, fb);

    fb = ngx_webrtc_fmp4_full_box(o, "stsz", 0, 0);
    ngx_webrtc_fmp4_put32(o, 0);                    /* sample_size */
    ngx_webrtc_fmp4_put32(o, 0);                    /* sample_count */
    ngx_webrtc_fmp4_box_end(o, fb);

    fb = ngx_webrtc_fmp4_full_box(o, "stco", 0, 0);
    ngx_webrtc_fmp4_put32(o, 0);                    /* entry_count */
    ngx_webrtc_fmp4_box_end(o, fb);

    ngx_webrtc_fmp4_box_end(o, stbl);
}


static unsigned
ngx_webrtc_fmp4_video(ngx_webrtc_codec_e codec)
{
    switch (codec) {
    case NGX_WEBRTC_CODEC_H264:
    case NGX_WEBRTC_CODEC_H265:
    case NGX_WEBRTC_CODEC_AV1:
    case NGX_WEBRTC_CODEC_VP9:
        return 1;
    default:
        return 0;
    }
}


/* the VisualSampleEntry and the configuration box of its codec */

static void
ngx_webrtc_fmp4_visual(ngx_webrtc_fmp4_out_t *o, ngx_webrtc_fmp4_track_t *t)
{
    size_t       entry, config;
    const char  *type, *box;

    switch (t->codec) {
    case NGX_WEBRTC_CODEC_H265:
        type = "hvc1";
        box = "hvcC";
        break;
    case NGX_WEBRTC_CODEC_AV1:
        type = "av01";
        box = "av1C";
        break;
    case NGX_WEBRTC_CODEC_VP9:
        type = "vp09";
        box = "vpcC";
        break;
    default:
        type = "avc1";
        box = "avcC";
        break;
    }

    entry = ngx_webrtc_fmp4_box(o, type);
    ngx_webrtc_fmp4_zero(o, 6);                     /* reserved */
    ngx_webrtc_fmp4_put16(o, 1);                    /* data_reference_index */
    ngx_webrtc_fmp4_zero(o, 16);                    /* pre_defined, reserved */
    ngx_webrtc_fmp4_put16(o, t->width);
    ngx_webrtc_fmp4_put16(o, t->height);
    ngx_webrtc_fmp4_put32(o, 0x00480000);           /* horizresolution */
    ngx_webrtc_fmp4_put32(o, 0x00480000);           /* vertresolution */
    ngx_webrtc_fmp4_put32(o, 0);                    /* reserved */
    ngx_webrtc_fmp4_put16(o, 1);                    /* frame_count */
    ngx_webrtc_fmp4_zero(o, 32);                    /* compressorname */
    ngx_webrtc_fmp4_put16(o, 0x0018);               /* depth */
    ngx_webrtc_fmp4_put16(o, 0xffff);               /* pre_defined -1 */

    if (t->codec == NGX_WEBRTC_CODEC_VP9) {
        /* the record of a version 1 full box */
        config = ngx_webrtc_fmp4_full_box(o, box, 1, 0);

    } else {
        config = ngx_webrtc_fmp4_box(o, box);
    }

    if (t->config == NULL || t->config_len == 0) {
        o->error = 1;

    } else {
        ngx_webrtc_fmp4_copy(o, t->config, t->config_len);
    }

    ngx_webrtc_fmp4_box_end(o, config);
    ngx_webrtc_fmp4_box_end(o, entry);
}


static void
ngx_webrtc_fmp4_opus(ngx_webrtc_fmp4_out_t *o, ngx_webrtc_fmp4_track_t *t)
{
    size_t    opus, dops;
    unsigned  channels;

    /* mapping family 0 is mono or stereo */
    channels = (t->channels == 1) ? 1 : 2;

    opus = ngx_webrtc_fmp4_box(o, "Opus");
    ngx_webrtc_fmp4_zero(o, 6);                     /* reserved */
    ngx_webrtc_fmp4_put16(o, 1);                    /* data_reference_index */
    ngx_webrtc_fmp4_zero(o, 8);                     /* reserved */
    ngx_webrtc_fmp4_put16(o, channels);             /* channelcount */
    ngx_webrtc_fmp4_put16(o, 16);                   /* samplesize */
    ngx_webrtc_fmp4_put16(o, 0);                    /* pre_defined */
    ngx_webrtc_fmp4_put16(o, 0);                    /* reserved */
    ngx_webrtc_fmp4_put32(o, 48000u << 16);         /* samplerate, 16.16 */

    dops = ngx_webrtc_fmp4_box(o, "dOps");
    ngx_webrtc_fmp4_put8(o, 0);                     /* Version */
    ngx_webrtc_fmp4_put8(o, channels);              /* OutputChannelCount */
    ngx_webrtc_fmp4_put16(o, t->pre_skip);          /* PreSkip */
    ngx_webrtc_fmp4_put32(o, t->sample_rate ? t->sample_rate : 48000);
    ngx_webrtc_fmp4_put16(o, 0);                    /* OutputGain */
    ngx_webrtc_fmp4_put8(o, 0);                     /* ChannelMappingFamily */
    ngx_webrtc_fmp4_box_end(o, dops);

    ngx_webrtc_fmp4_box_end(o, opus);
}


static void
ngx_webrtc_fmp4_traf(ngx_webrtc_fmp4_out_t *o, ngx_webrtc_fmp4_run_t *run,
    uint64_t data_offset)
{
    size_t                     i, traf, fb;
    ngx_webrtc_fmp4_sample_t  *s;

    traf = ngx_webrtc_fmp4_box(o, "traf");

    fb = ngx_webrtc_fmp4_full_box(o, "tfhd", 0, NGX_WEBRTC_FMP4_TFHD_FLAGS);
    ngx_webrtc_fmp4_put32(o, run->id);
    ngx_webrtc_fmp4_box_end(o, fb);

    fb = ngx_webrtc_fmp4_full_box(o, "tfdt", 1, 0);
    ngx_webrtc_fmp4_put64(o, run->base_time);
    ngx_webrtc_fmp4_box_end(o, fb);

    /* version 1: signed composition offsets */
    fb = ngx_webrtc_fmp4_full_box(o, "trun", 1, NGX_WEBRTC_FMP4_TRUN_FLAGS);
    ngx_webrtc_fmp4_put32(o, (uint32_t) run->nsamples);
    ngx_webrtc_fmp4_put32(o, (uint32_t) data_offset);

    for (i = 0; i < run->nsamples && !o->error; i++) {
        s = &run->samples[i];

        ngx_webrtc_fmp4_put32(o, s->duration);
        ngx_webrtc_fmp4_put32(o, s->size);
        ngx_webrtc_fmp4_put32(o, s->sync ? NGX_WEBRTC_FMP4_SYNC
                                         : NGX_WEBRTC_FMP4_NON_SYNC);
        ngx_webrtc_fmp4_put32(o, (uint32_t) s->cts_offset);
    }

    ngx_webrtc_fmp4_box_end(o, fb);
    ngx_webrtc_fmp4_box_end(o, traf);
}


/* box headers: the size is patched by box_end() when the box is done */

static size_t
ngx_webrtc_fmp4_box(ngx_webrtc_fmp4_out_t *o, const char *type)
{
    size_t  start;

    start = o->pos - o->start;

    ngx_webrtc_fmp4_put32(o, 0);
    ngx_webrtc_fmp4_copy(o, type, 4);

    return start;
}


static void
ngx_webrtc_fmp4_box_end(ngx_webrtc_fmp4_out_t *o, size_t start)
{
    if (o->error) {
        return;
    }

    (void) ngx_webrtc_put32(o->start + start,
                            (uint32_t) (o->pos - o->start - start));
}


static size_t
ngx_webrtc_fmp4_full_box(ngx_webrtc_fmp4_out_t *o, const char *type,
    unsigned version, uint32_t flags)
{
    size_t  start;

    start = ngx_webrtc_fmp4_box(o, type);
    ngx_webrtc_fmp4_put32(o, ((uint32_t) version << 24) | (flags & 0xffffff));

    return start;
}


static u_char *
ngx_webrtc_fmp4_reserve(ngx_webrtc_fmp4_out_t *o, size_t n)
{
    u_char  *p;

    if (o->error || (size_t) (o->end - o->pos) < n) {
        o->error = 1;
        return NULL;
    }

    p = o->pos;
    o->pos += n;

    return p;
}


static void
ngx_webrtc_fmp4_put8(ngx_webrtc_fmp4_out_t *o, unsigned v)
{
    u_char  *p;

    p = ngx_webrtc_fmp4_reserve(o, 1);
    if (p) {
        p[0] = (u_char) v;
    }
}


static void
ngx_webrtc_fmp4_put16(ngx_webrtc_fmp4_out_t *o, unsigned v)
{
    u_char  *p;

    p = ngx_webrtc_fmp4_reserve(o, 2);
    if (p) {
        p[0] = (u_char) (v >> 8);
        p[1] = (u_char) v;
    }
}


static void
ngx_webrtc_fmp4_put32(ngx_webrtc_fmp4_out_t *o, uint32_t v)
{
    u_char  *p;

    p = ngx_webrtc_fmp4_reserve(o, 4);
    if (p) {
        (void) ngx_webrtc_put32(p, v);
    }
}


static void
ngx_webrtc_fmp4_put64(ngx_webrtc_fmp4_out_t *o, uint64_t v)
{
    ngx_webrtc_fmp4_put32(o, (uint32_t) (v >> 32));
    ngx_webrtc_fmp4_put32(o, (uint32_t) v);
}


static void
ngx_webrtc_fmp4_zero(ngx_webrtc_fmp4_out_t *o, size_t n)
{
    u_char  *p;

    p = ngx_webrtc_fmp4_reserve(o, n);
    if (p) {
        memset(p, 0, n);
    }
}


static void
ngx_webrtc_fmp4_copy(ngx_webrtc_fmp4_out_t *o, const void *data, size_t n)
{
    u_char  *p;

    p = ngx_webrtc_fmp4_reserve(o, n);
    if (p && n) {
        memcpy(p, data, n);
    }
}


/* the unity matrix of mvhd and tkhd */

static void
ngx_webrtc_fmp4_matrix(ngx_webrtc_fmp4_out_t *o)
{
    ngx_webrtc_fmp4_put32(o, 0x00010000);
    ngx_webrtc_fmp4_zero(o, 12);
    ngx_webrtc_fmp4_put32(o, 0x00010000);
    ngx_webrtc_fmp4_zero(o, 12);
    ngx_webrtc_fmp4_put32(o, 0x40000000);
}
