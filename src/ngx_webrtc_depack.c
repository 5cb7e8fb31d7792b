
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * RTP payloads back into the frames a recording or an HLS fragment holds
 * as samples.  H.264 (RFC 6184, non-interleaved mode: single NAL units,
 * STAP-A, FU-A) becomes one access unit of NAL units each prefixed with
 * its 4-byte length, as avcC with lengthSizeMinusOne 3 says; the last SPS
 * and PPS are kept for the avcC record, and also stay in the frame, so
 * that a player meeting a new configuration mid-stream still decodes.
 * Access unit delimiters are dropped: MP4 samples do not carry them.
 * H.265 (RFC 7798, no DONL) is done the same way, with its 2-byte NAL
 * header, AP and FU, and the VPS kept too.  An AV1 temporal unit (the AV1
 * RTP payload format) becomes its OBUs in the low-overhead form of the
 * av01 sample, each with its size field, an OBU fragmented across packets
 * joined again; the sequence header OBU is kept for av1C.  A VP9 frame is
 * its payloads without the RFC 9628 descriptors; its key frame header
 * gives the vpcC record.  Opus packets are frames as they are.
 *
 * A lost packet (a gap in the packet index) breaks the frame being built,
 * or the one that starts after the gap, since the lost packet may have
 * been its first: a broken frame is dropped whole, never passed on with a
 * hole a decoder would show.
 */


#include "ngx_webrtc_depack.h"


static int ngx_webrtc_depack_opus(ngx_webrtc_depack_t *d, uint64_t seq,
    uint32_t ts, u_char *p, size_t len);
static void ngx_webrtc_depack_start(ngx_webrtc_depack_t *d, uint64_t seq,
    uint32_t ts);
static int ngx_webrtc_depack_h264(ngx_webrtc_depack_t *d, u_char *p,
    size_t len);
static int ngx_webrtc_depack_h265(ngx_webrtc_depack_t *d, u_char *p,
    size_t len);
static int ngx_webrtc_depack_units(ngx_webrtc_depack_t *d, u_char *p,
    size_t len, size_t min);
static int ngx_webrtc_depack_fu_a(ngx_webrtc_depack_t *d, u_char *p,
    size_t len);
static int ngx_webrtc_depack_fu(ngx_webrtc_depack_t *d, u_char *hdr,
    size_t hlen, unsigned start, unsigned end, u_char *p, size_t len);
static int ngx_webrtc_depack_av1(ngx_webrtc_depack_t *d, u_char *p,
    size_t len);
static void ngx_webrtc_depack_obu(ngx_webrtc_depack_t *d);
static int ngx_webrtc_depack_vp9(ngx_webrtc_depack_t *d, uint64_t seq,
    uint32_t ts, unsigned marker, u_char *p, size_t len);
static void ngx_webrtc_depack_vp9_key(ngx_webrtc_depack_t *d, u_char *p,
    size_t len);
static unsigned ngx_webrtc_depack_vp9_level(unsigned width, unsigned height);
static unsigned ngx_webrtc_depack_nal_type(ngx_webrtc_depack_t *d, u_char *p);
static void ngx_webrtc_depack_nal(ngx_webrtc_depack_t *d, u_char *p,
    size_t len);
static void ngx_webrtc_depack_nal_done(ngx_webrtc_depack_t *d, u_char *p,
    size_t len);
static void ngx_webrtc_depack_keep(ngx_webrtc_depack_t *d, u_char *ps,
    size_t *ps_len, u_char *p, size_t len);
static int ngx_webrtc_depack_put(ngx_webrtc_depack_t *d, u_char *p,
    size_t len);
static int ngx_webrtc_depack_finish(ngx_webrtc_depack_t *d);
static size_t ngx_webrtc_depack_hvcc(ngx_webrtc_depack_t *d, u_char *buf,
    size_t size);
static size_t ngx_webrtc_depack_av1c(ngx_webrtc_depack_t *d, u_char *buf,
    size_t size);
static int ngx_webrtc_depack_av1_seq(u_char *obu, size_t len,
    ngx_webrtc_codec_config_t *cf);


int
ngx_webrtc_depack_add(ngx_webrtc_depack_t *d, uint64_t seq, uint32_t ts,
    unsigned marker, u_char *p, size_t len)
{
    int  rc;

    if (d->codec == NGX_WEBRTC_CODEC_OPUS) {
        return ngx_webrtc_depack_opus(d, seq, ts, p, len);
    }

    if (d->codec == NGX_WEBRTC_CODEC_VP9) {
        return ngx_webrtc_depack_vp9(d, seq, ts, marker, p, len);
    }

    if (d->codec != NGX_WEBRTC_CODEC_H264
        && d->codec != NGX_WEBRTC_CODEC_H265
        && d->codec != NGX_WEBRTC_CODEC_AV1)
    {
        return -1;
    }

    if (!d->started) {
        ngx_webrtc_depack_start(d, seq, ts);

    } else if (seq != d->next_seq || ts != d->ts) {
        /* a lost packet, or the caller did not end the last picture */
        d->broken = 1;
    }

    d->next_seq = seq + 1;
    d->seen = 1;

    switch (d->codec) {
    case NGX_WEBRTC_CODEC_H264:
        rc = ngx_webrtc_depack_h264(d, p, len);
        break;
    case NGX_WEBRTC_CODEC_H265:
        rc = ngx_webrtc_depack_h265(d, p, len);
        break;
    default: /* AV1 */
        rc = ngx_webrtc_depack_av1(d, p, len);
        break;
    }

    if (rc != 0) {
        d->broken = 1;

        if (marker) {
            /* the broken frame ends here unseen: -1 says it */
            d->started = 0;
            d->fu = 0;
        }

        return -1;
    }

    if (marker) {
        return ngx_webrtc_depack_finish(d);
    }

    return NGX_WEBRTC_DEPACK_MORE;
}


int
ngx_webrtc_depack_end(ngx_webrtc_depack_t *d)
{
    if (!d->started) {
        return NGX_WEBRTC_DEPACK_MORE;
    }

    return ngx_webrtc_depack_finish(d);
}


static int
ngx_webrtc_depack_opus(ngx_webrtc_depack_t *d, uint64_t seq, uint32_t ts,
    u_char *p, size_t len)
{
    d->next_seq = seq + 1;
    d->seen = 1;
    d->started = 0;

    /* a packet has at least its TOC byte (RFC 6716 3.1) */
    if (len == 0) {
        return -1;
    }

    if (len > d->size) {
        return NGX_WEBRTC_DEPACK_DROPPED;
    }

    memcpy(d->buf, p, len);
    d->len = len;
    d->ts = ts;
    d->keyframe = 1;

    return NGX_WEBRTC_DEPACK_FRAME;
}


static void
ngx_webrtc_depack_start(ngx_webrtc_depack_t *d, uint64_t seq, uint32_t ts)
{
    if (d->delivered) {
        /* the caller has seen the change with the frame that brought it */
        d->config_changed = 0;
        d->delivered = 0;
    }

    d->started = 1;
    d->len = 0;
    d->ts = ts;
    d->keyframe = 0;
    d->picture = 0;
    d->fu = 0;
    d->broken = (d->seen && seq != d->next_seq);
}


static int
ngx_webrtc_depack_h264(ngx_webrtc_depack_t *d, u_char *p, size_t len)
{
    unsigned  type;

    if (len == 0) {
        return -1;
    }

    type = p[0] & 0x1f;

    if (type != 28 && d->fu) {
        /* the end of the last FU-A was lost */
        d->broken = 1;
        d->fu = 0;
    }

    switch (type) {

    case 24:
        return ngx_webrtc_depack_units(d, p + 1, len - 1, 1);

    case 28:
        return ngx_webrtc_depack_fu_a(d, p, len);

    case 0:
    case 25: /* STAP-B, MTAP16, MTAP24, FU-B: interleaved mode only */
    case 26:
    case 27:
    case 29:
    case 30:
    case 31:
        return -1;

    default:
        ngx_webrtc_depack_nal(d, p, len);
        return 0;
    }
}


/* H.265 (RFC 7798), without DONL: sprop-max-don-diff is 0 in WebRTC */

static int
ngx_webrtc_depack_h265(ngx_webrtc_depack_t *d, u_char *p, size_t len)
{
    u_char    hdr[6];
    unsigned  type;

    if (len < 2 || (p[0] & 0x80)) {
        return -1;
    }

    type = (p[0] >> 1) & 0x3f;

    if (type != 49 && d->fu) {
        /* the end of the last FU was lost */
        d->broken = 1;
        d->fu = 0;
    }

    switch (type) {

    case 48:
        return ngx_webrtc_depack_units(d, p + 2, len - 2, 2);

    case 49:
        if (len < 3) {
            return -1;
        }

        type = p[2] & 0x3f;

        if (type >= 48) {
            return -1;
        }

        /* the length prefix, filled in at the end, and the NAL header */
        hdr[0] = 0;
        hdr[1] = 0;
        hdr[2] = 0;
        hdr[3] = 0;
        hdr[4] = (u_char) ((p[0] & 0x81) | (type << 1));
        hdr[5] = p[1];

        return ngx_webrtc_depack_fu(d, hdr, 6, p[2] & 0x80, p[2] & 0x40,
                                    p + 3, len - 3);

    case 50: /* PACI: not used by WebRTC */
        return -1;

    default:
        ngx_webrtc_depack_nal(d, p, len);
        return 0;
    }
}


/* the units of an H.264 STAP-A or an H.265 AP: a 16-bit size, the unit */

static int
ngx_webrtc_depack_units(ngx_webrtc_depack_t *d, u_char *p, size_t len,
    size_t min)
{
    size_t   n;
    u_char  *q, *last;

    last = p + len;

    /* the whole packet is checked before any unit is taken */

    if (len == 0) {
        return -1;
    }

    for (q = p; q < last; q += n) {
        if (last - q < 2) {
            return -1;
        }

        n = ngx_webrtc_be16(q);
        q += 2;

        if (n < min || (size_t) (last - q) < n) {
            return -1;
        }
    }

    for (q = p; q < last; q += n) {
        n = ngx_webrtc_be16(q);
        q += 2;

        ngx_webrtc_depack_nal(d, q, n);
    }

    return 0;
}


static int
ngx_webrtc_depack_fu_a(ngx_webrtc_depack_t *d, u_char *p, size_t len)
{
    u_char    hdr[5];
    unsigned  type;

    if (len < 2) {
        return -1;
    }

    type = p[1] & 0x1f;

    if (type == 0 || type >= 24) {
        return -1;
    }

    /* the length prefix, filled in at the end, and the NAL header */
    hdr[0] = 0;
    hdr[1] = 0;
    hdr[2] = 0;
    hdr[3] = 0;
    hdr[4] = (u_char) ((p[0] & 0xe0) | type);

    return ngx_webrtc_depack_fu(d, hdr, 5, p[1] & 0x80, p[1] & 0x40,
                                p + 2, len - 2);
}


/* a fragment of an H.264 FU-A or an H.265 FU; hdr: prefix and NAL header */

static int
ngx_webrtc_depack_fu(ngx_webrtc_depack_t *d, u_char *hdr, size_t hlen,
    unsigned start, unsigned end, u_char *p, size_t len)
{
    size_t  n;

    if (start) {
        if (d->fu) {
            d->broken = 1;
        }

        d->fu_start = d->len;
        d->fu = (ngx_webrtc_depack_put(d, hdr, hlen) == 0);

    } else if (!d->fu) {
        /* its start was lost */
        d->broken = 1;
        return 0;
    }

    if (!d->fu) {
        return 0;
    }

    if (ngx_webrtc_depack_put(d, p, len) != 0) {
        d->fu = 0;
        return 0;
    }

    if (end) {
        d->fu = 0;

        n = d->len - d->fu_start - 4;
        (void) ngx_webrtc_put32(d->buf + d->fu_start, (uint32_t) n);

        if (ngx_webrtc_depack_nal_type(d, d->buf + d->fu_start + 4) == 0) {
            /* an access unit delimiter */
            d->len = d->fu_start;
            return 0;
        }

        ngx_webrtc_depack_nal_done(d, d->buf + d->fu_start + 4, n);
    }

    return 0;
}


/*
 * AV1 (the AV1 RTP payload format, 4.4): the aggregation header Z Y W N,
 * then OBU elements, each with a leb128 length but the W-th; Z says the
 * first continues the last packet's last, Y that the last goes on
 */

static int
ngx_webrtc_depack_av1(ngx_webrtc_depack_t *d, u_char *p, size_t len)
{
    u_char    *last, *q, *next;
    unsigned   agg, w, i;
    uint64_t   n;

    if (len < 2) {
        return -1;
    }

    agg = p[0];
    w = (agg >> 4) & 0x03;
    last = p + len;

    /* the whole packet is checked before any element is taken */

    for (q = p + 1, i = 1; q < last; q += n, i++) {
        if (w == 0 || i < w) {
            if (ngx_webrtc_av1_leb128(&q, last, &n) != 0
                || n > (uint64_t) (last - q))
            {
                return -1;
            }

        } else {
            n = last - q;
        }

        if (n == 0 || (w && i > w)) {
            return -1;
        }
    }

    if (w && i - 1 != w) {
        return -1;
    }

    if (agg & 0x08) {                          /* N: a new coded sequence */
        d->keyframe = 1;
    }

    if (d->fu && !(agg & 0x80)) {
        /* the end of the last OBU was lost */
        d->broken = 1;
        d->fu = 0;
        d->len = d->fu_start;
    }

    for (q = p + 1, i = 1; q < last; q = next, i++) {
        if (w == 0 || i < w) {
            (void) ngx_webrtc_av1_leb128(&q, last, &n);

        } else {
            n = last - q;
        }

        next = q + n;

        if (i == 1 && (agg & 0x80)) {
            if (!d->fu) {
                /* the OBU's start was lost */
                d->broken = 1;
                continue;
            }

            d->fu = (ngx_webrtc_depack_put(d, q, n) == 0);

        } else {
            d->fu_start = d->len;
            d->fu = (ngx_webrtc_depack_put(d, q, n) == 0);
        }

        if (d->fu && (next < last || !(agg & 0x40))) {
            d->fu = 0;
            ngx_webrtc_depack_obu(d);
        }
    }

    return 0;
}


/*
 * A whole OBU at fu_start: rewritten with obu_has_size_field and its
 * size, or left out; a malformed one breaks the frame.
 */

static void
ngx_webrtc_depack_obu(ngx_webrtc_depack_t *d)
{
    size_t     hlen, k;
    u_char    *obu, *q, *last;
    uint64_t   size, v;
    unsigned   type;

    obu = d->buf + d->fu_start;
    last = d->buf + d->len;
    hlen = 1 + ((obu[0] >> 2) & 1);           /* extension header */
    type = (obu[0] >> 3) & 0x0f;
    q = obu + hlen;

    if ((obu[0] & 0x80) || (size_t) (last - obu) < hlen) {
        goto broken;
    }

    if (obu[0] & 0x02) {
        if (ngx_webrtc_av1_leb128(&q, last, &size) != 0
            || size > (uint64_t) (last - q))
        {
            goto broken;
        }

    } else {
        size = last - q;
    }

    /* temporal delimiter, tile list, padding */
    if (type == 2 || type == 8 || type == 15) {
        d->len = d->fu_start;
        return;
    }

    for (k = 1, v = size >> 7; v; k++) {
        v >>= 7;
    }

    if (obu + hlen + k > q && k - (q - obu - hlen) > d->size - d->len) {
        goto broken;
    }

    memmove(obu + hlen + k, q, size);
    obu[0] |= 0x02;

    for (q = obu + hlen, v = size; k > 1; k--) {
        *q++ = (u_char) (0x80 | (v & 0x7f));
        v >>= 7;
    }

    *q++ = (u_char) v;
    d->len = (q - d->buf) + size;

    switch (type) {

    case 1: /* sequence header */
        ngx_webrtc_depack_keep(d, d->sps, &d->sps_len, obu,
                               d->len - d->fu_start);
        break;

    case 3: /* frame header, frame: the first says if the unit is a key */
    case 6:
        if (!d->picture
            && (d->still || (size > 0 && (q[0] & 0xe0) == 0)))
        {
            d->keyframe = 1;
        }

        d->picture = 1;
        break;

    case 4: /* tile group */
        d->picture = 1;
        break;

    default:
        break;
    }

    return;

broken:

    d->broken = 1;
    d->len = d->fu_start;
}


/*
 * VP9 (RFC 9628): B starts a frame, E ends it; the descriptor is left
 * out, the rest is the frame as the encoder wrote it
 */

static int
ngx_webrtc_depack_vp9(ngx_webrtc_depack_t *d, uint64_t seq, uint32_t ts,
    unsigned marker, u_char *p, size_t len)
{
    int                      rc;
    size_t                   off;
    unsigned                 sid;
    ngx_webrtc_frame_info_t  info;

    memset(&info, 0, sizeof(ngx_webrtc_frame_info_t));

    rc = ngx_webrtc_vp9_descriptor(p, len, &off, &sid, &info);

    if (rc == 0 && sid != 0) {
        /* an upper spatial layer: left out, the base layer decodes alone */

        if (d->started && (seq != d->next_seq || ts != d->ts)) {
            d->broken = 1;
        }

        d->next_seq = seq + 1;
        d->seen = 1;

        if (marker && d->started) {
            return ngx_webrtc_depack_finish(d);
        }

        return NGX_WEBRTC_DEPACK_MORE;
    }

    if (!d->started) {
        ngx_webrtc_depack_start(d, seq, ts);

        if (rc == 0 && !(p[0] & 0x08)) {
            /* its first packet was lost */
            d->broken = 1;
        }

    } else if (seq != d->next_seq || ts != d->ts
               || (rc == 0 && (p[0] & 0x08)))
    {
        /* a lost packet, or the caller did not end the last frame */
        d->broken = 1;
    }

    d->next_seq = seq + 1;
    d->seen = 1;

    if (rc != 0) {
        d->broken = 1;

        if (marker) {
            d->started = 0;
        }

        return -1;
    }

    if ((p[0] & 0x48) == 0x08) {
        /* the first packet of a frame without inter-picture prediction */
        ngx_webrtc_depack_vp9_key(d, p + off, len - off);
    }

    if (ngx_webrtc_depack_put(d, p + off, len - off) == 0) {
        d->picture = 1;
    }

    if ((p[0] & 0x04) || marker) {
        return ngx_webrtc_depack_finish(d);
    }

    return NGX_WEBRTC_DEPACK_MORE;
}


/* a VP9 key frame: its header gives the vpcC record and the size */

static void
ngx_webrtc_depack_vp9_key(ngx_webrtc_depack_t *d, u_char *p, size_t len)
{
    u_char                     rec[8];
    ngx_webrtc_codec_config_t  cf;

    if (ngx_webrtc_codec_config(NGX_WEBRTC_CODEC_VP9, p, len, &cf) != 0) {
        return;
    }

    d->keyframe = 1;

    /* VPCodecConfigurationRecord, "VP Codec ISO Media File Format" 2.2 */

    rec[0] = (u_char) cf.profile;
    rec[1] = (u_char) ngx_webrtc_depack_vp9_level(cf.width, cf.height);
    rec[2] = (u_char) ((cf.bit_depth << 4)
                       | (cf.chroma_format << 1)      /* 1: 4:2:0 */
                       | cf.full_range);
    rec[3] = (u_char) cf.colour_primaries;
    rec[4] = (u_char) cf.transfer;
    rec[5] = (u_char) cf.matrix;
    rec[6] = 0;                              /* codecInitializationDataSize */
    rec[7] = 0;

    if (cf.width != d->width || cf.height != d->height) {
        d->width = cf.width;
        d->height = cf.height;
        d->config_changed = 1;
    }

    if (d->sps_len != sizeof(rec) || memcmp(d->sps, rec, sizeof(rec)) != 0) {
        memcpy(d->sps, rec, sizeof(rec));
        d->sps_len = sizeof(rec);
        d->config_changed = 1;
    }
}


/*
 * The VP9 level (Annex A) of a picture size at 30 frames a second: the
 * frame rate is not known from the first key frame
 */

static unsigned
ngx_webrtc_depack_vp9_level(unsigned width, unsigned height)
{
    size_t      i;
    uint64_t    size, rate, dim;

    static struct {
        uint64_t  rate;
        uint64_t  size;
        uint64_t  dim;
        unsigned  level;
    } levels[] = {
        { 829440, 36864, 512, 10 },
        { 2764800, 73728, 768, 11 },
        { 4608000, 122880, 960, 20 },
        { 9216000, 245760, 1344, 21 },
        { 20736000, 552960, 2048, 30 },
        { 36864000, 983040, 2752, 31 },
        { 83558400, 2228224, 4160, 40 },
        { 160432128, 2228224, 4160, 41 },
        { 311951360, 8912896, 8384, 50 },
        { 588251136, 8912896, 8384, 51 },
        { 1176502272, 8912896, 8384, 52 },
        { 1176502272, 35651584, 16832, 60 },
        { 2353004544, 35651584, 16832, 61 },
        { 4706009088, 35651584, 16832, 62 }
    };

    size = (uint64_t) width * height;
    rate = size * 30;
    dim = (width > height) ? width : height;

    for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (rate <= levels[i].rate && size <= levels[i].size
            && dim <= levels[i].dim)
        {
            return levels[i].level;
        }
    }

    return 62;
}


/* the NAL unit type, 0 for an access unit delimiter (left out) */

static unsigned
ngx_webrtc_depack_nal_type(ngx_webrtc_depack_t *d, u_char *p)
{
    unsigned  type;

    if (d->codec == NGX_WEBRTC_CODEC_H265) {
        type = (p[0] >> 1) & 0x3f;
        return (type == 35) ? 0 : type + 1;
    }

    type = p[0] & 0x1f;

    return (type == 9) ? 0 : type;
}


static void
ngx_webrtc_depack_nal(ngx_webrtc_depack_t *d, u_char *p, size_t len)
{
    u_char  prefix[4];

    if (ngx_webrtc_depack_nal_type(d, p) == 0) {
        return;
    }

    (void) ngx_webrtc_put32(prefix, (uint32_t) len);

    if (ngx_webrtc_depack_put(d, prefix, 4) != 0
        || ngx_webrtc_depack_put(d, p, len) != 0)
    {
        return;
    }

    ngx_webrtc_depack_nal_done(d, p, len);
}


/* what a whole NAL unit tells of its frame and of the configuration */

static void
ngx_webrtc_depack_nal_done(ngx_webrtc_depack_t *d, u_char *p, size_t len)
{
    unsigned  type;

    if (d->codec == NGX_WEBRTC_CODEC_H265) {
        type = (p[0] >> 1) & 0x3f;

        if (type >= 16 && type <= 21) {        /* IRAP */
            d->keyframe = 1;
            d->picture = 1;

        } else if (type < 32) {
            d->picture = 1;

        } else if (type == 32) {
            ngx_webrtc_depack_keep(d, d->vps, &d->vps_len, p, len);

        } else if (type == 33) {
            ngx_webrtc_depack_keep(d, d->sps, &d->sps_len, p, len);

        } else if (type == 34) {
            ngx_webrtc_depack_keep(d, d->pps, &d->pps_len, p, len);
        }

        return;
    }

    switch (p[0] & 0x1f) {

    case 5:
        d->keyframe = 1;
        d->picture = 1;
        break;

    case 1:
    case 2:
    case 3:
    case 4:
        d->picture = 1;
        break;

    case 7:
        ngx_webrtc_depack_keep(d, d->sps, &d->sps_len, p, len);
        break;

    case 8:
        ngx_webrtc_depack_keep(d, d->pps, &d->pps_len, p, len);
        break;

    default:
        break;
    }
}


static void
ngx_webrtc_depack_keep(ngx_webrtc_depack_t *d, u_char *ps, size_t *ps_len,
    u_char *p, size_t len)
{
    int                        rc;
    ngx_webrtc_frame_info_t    info;
    ngx_webrtc_codec_config_t  cf;

    /* a longer one cannot be kept, the frame still carries it */
    if (len > NGX_WEBRTC_DEPACK_PS_MAX
        || (len == *ps_len && memcmp(ps, p, len) == 0))
    {
        return;
    }

    memcpy(ps, p, len);
    *ps_len = len;
    d->config_changed = 1;

    if (ps != d->sps) {
        return;
    }

    if (d->codec == NGX_WEBRTC_CODEC_AV1) {
        rc = ngx_webrtc_depack_av1_seq(p, len, &cf);

        if (rc >= 0) {
            d->width = cf.width;
            d->height = cf.height;
        }

        if (rc == 0) {
            d->still = cf.reduced_still_picture;
        }

        return;
    }

    if (ngx_webrtc_frame_inspect(d->codec, p, len, &info) == 0
        && info.has_size)
    {
        d->width = info.width;
        d->height = info.height;
    }
}


static int
ngx_webrtc_depack_put(ngx_webrtc_depack_t *d, u_char *p, size_t len)
{
    if (len > d->size - d->len) {
        d->broken = 1;
        return -1;
    }

    memcpy(d->buf + d->len, p, len);
    d->len += len;

    return 0;
}


static int
ngx_webrtc_depack_finish(ngx_webrtc_depack_t *d)
{
    d->started = 0;

    if (d->fu) {
        d->broken = 1;
        d->fu = 0;
    }

    if (d->broken) {
        return NGX_WEBRTC_DEPACK_DROPPED;
    }

    if (!d->picture) {
        /* parameter sets or SEI alone: no sample, the SPS/PPS are kept */
        return NGX_WEBRTC_DEPACK_MORE;
    }

    d->delivered = 1;

    return NGX_WEBRTC_DEPACK_FRAME;
}


/* AVCDecoderConfigurationRecord, ISO/IEC 14496-15 5.3.3.1 */

size_t
ngx_webrtc_depack_avcc(ngx_webrtc_depack_t *d, u_char *buf, size_t size)
{
    size_t    n;
    u_char   *p;
    unsigned  high, chroma, luma_depth, chroma_depth;

    if (d->sps_len < 4 || d->pps_len == 0) {
        return 0;
    }

    chroma = 1;
    luma_depth = 8;
    chroma_depth = 8;

    /* 144 was withdrawn for 244, which has the same syntax */

    switch (d->sps[1]) {
    case 100: case 110: case 122: case 144: case 244:
        high = (ngx_webrtc_h264_sps_format(d->sps, d->sps_len, &chroma,
                                           &luma_depth, &chroma_depth)
                == NGX_WEBRTC_PARSE_OK);
        break;

    default:
        high = 0;
        break;
    }

    n = 6 + 2 + d->sps_len + 1 + 2 + d->pps_len + (high ? 4 : 0);

    if (size < n) {
        return 0;
    }

    p = buf;

    *p++ = 1;                            /* configurationVersion */
    *p++ = d->sps[1];                    /* AVCProfileIndication */
    *p++ = d->sps[2];                    /* profile_compatibility */
    *p++ = d->sps[3];                    /* AVCLevelIndication */
    *p++ = 0xfc | 3;                     /* lengthSizeMinusOne */
    *p++ = 0xe0 | 1;                     /* numOfSequenceParameterSets */

    *p++ = (u_char) (d->sps_len >> 8);
    *p++ = (u_char) d->sps_len;
    memcpy(p, d->sps, d->sps_len);
    p += d->sps_len;

    *p++ = 1;                            /* numOfPictureParameterSets */
    *p++ = (u_char) (d->pps_len >> 8);
    *p++ = (u_char) d->pps_len;
    memcpy(p, d->pps, d->pps_len);
    p += d->pps_len;

    if (high) {
        *p++ = (u_char) (0xfc | chroma);
        *p++ = (u_char) (0xf8 | (luma_depth - 8));
        *p++ = (u_char) (0xf8 | (chroma_depth - 8));
        *p++ = 0;                        /* numOfSequenceParameterSetExt */
    }

    return p - buf;
}


size_t
ngx_webrtc_depack_config(ngx_webrtc_depack_t *d, u_char *buf, size_t size)
{
    switch (d->codec) {

    case NGX_WEBRTC_CODEC_H264:
        return ngx_webrtc_depack_avcc(d, buf, size);

    case NGX_WEBRTC_CODEC_H265:
        return ngx_webrtc_depack_hvcc(d, buf, size);

    case NGX_WEBRTC_CODEC_AV1:
        return ngx_webrtc_depack_av1c(d, buf, size);

    case NGX_WEBRTC_CODEC_VP9:
        if (d->sps_len != 8 || size < 8) {
            return 0;
        }

        memcpy(buf, d->sps, 8);
        return 8;

    default:
        return 0;
    }
}


/* HEVCDecoderConfigurationRecord, ISO/IEC 14496-15 8.3.3.1 */

static size_t
ngx_webrtc_depack_hvcc(ngx_webrtc_depack_t *d, u_char *buf, size_t size)
{
    size_t                     n, i, len[3];
    u_char                    *p, *ps[3];
    ngx_webrtc_codec_config_t  cf;

    if (d->vps_len == 0 || d->pps_len == 0
        || ngx_webrtc_codec_config(NGX_WEBRTC_CODEC_H265, d->sps, d->sps_len,
                                   &cf)
           != 0)
    {
        return 0;
    }

    ps[0] = d->vps;
    len[0] = d->vps_len;
    ps[1] = d->sps;
    len[1] = d->sps_len;
    ps[2] = d->pps;
    len[2] = d->pps_len;

    n = 23 + 3 * 5 + d->vps_len + d->sps_len + d->pps_len;

    if (size < n) {
        return 0;
    }

    p = buf;

    *p++ = 1;                            /* configurationVersion */
    memcpy(p, cf.ptl, 12);               /* general profile, level */
    p += 12;
    *p++ = 0xf0;                         /* min_spatial_segmentation_idc */
    *p++ = 0;
    *p++ = 0xfc;                         /* parallelismType unknown */
    *p++ = (u_char) (0xfc | cf.chroma_format);
    *p++ = (u_char) (0xf8 | (cf.bit_depth - 8));
    *p++ = (u_char) (0xf8 | (cf.chroma_bit_depth - 8));
    *p++ = 0;                            /* avgFrameRate */
    *p++ = 0;

    /* constantFrameRate 0, numTemporalLayers, temporalIdNested, length 4 */
    *p++ = (u_char) ((cf.sub_layers << 3) | (cf.temporal_id_nested << 2) | 3);

    *p++ = 3;                            /* numOfArrays */

    for (i = 0; i < 3; i++) {
        *p++ = (u_char) (0x80 | (32 + i));   /* array_completeness, type */
        *p++ = 0;                            /* numNalus */
        *p++ = 1;
        *p++ = (u_char) (len[i] >> 8);
        *p++ = (u_char) len[i];
        memcpy(p, ps[i], len[i]);
        p += len[i];
    }

    return p - buf;
}


/* AV1CodecConfigurationRecord, "AV1 Codec ISO Media File Format" 2.3 */

static size_t
ngx_webrtc_depack_av1c(ngx_webrtc_depack_t *d, u_char *buf, size_t size)
{
    u_char                     *p;
    ngx_webrtc_codec_config_t   cf;

    if (ngx_webrtc_depack_av1_seq(d->sps, d->sps_len, &cf) != 0
        || size < 4 + d->sps_len)
    {
        return 0;
    }

    p = buf;

    *p++ = 0x81;                         /* marker, version 1 */
    *p++ = (u_char) ((cf.profile << 5) | cf.level);
    *p++ = (u_char) ((cf.tier << 7)
                     | ((cf.bit_depth > 8) << 6)
                     | ((cf.bit_depth == 12) << 5)
                     | (cf.monochrome << 4)
                     | (cf.subsampling_x << 3)
                     | (cf.subsampling_y << 2)
                     | cf.chroma_sample_position);
    *p++ = 0;                            /* no initial_presentation_delay */

    /* configOBUs: the sequence header OBU, with its size field */
    memcpy(p, d->sps, d->sps_len);
    p += d->sps_len;

    return p - buf;
}


/*
 * the configuration from a sequence header OBU written with its size
 * field, as kept in sps: -1, or 0, or 1 if only the size is known
 */

static int
ngx_webrtc_depack_av1_seq(u_char *obu, size_t len,
    ngx_webrtc_codec_config_t *cf)
{
    u_char    *q, *last;
    uint64_t   size;

    if (len < 2) {
        return -1;
    }

    last = obu + len;
    q = obu + 1 + ((obu[0] >> 2) & 1);

    if (ngx_webrtc_av1_leb128(&q, last, &size) != 0
        || size > (uint64_t) (last - q))
    {
        return -1;
    }

    if (ngx_webrtc_codec_config(NGX_WEBRTC_CODEC_AV1, q, size, cf) == 0) {
        return 0;
    }

    /* the size alone, as ngx_webrtc_frame_inspect() finds it */
    return (cf->width && cf->height) ? 1 : -1;
}
