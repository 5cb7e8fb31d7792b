
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
 * Opus packets are frames as they are.
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
static int ngx_webrtc_depack_stap_a(ngx_webrtc_depack_t *d, u_char *p,
    size_t len);
static int ngx_webrtc_depack_fu_a(ngx_webrtc_depack_t *d, u_char *p,
    size_t len);
static void ngx_webrtc_depack_nal(ngx_webrtc_depack_t *d, u_char *p,
    size_t len);
static void ngx_webrtc_depack_nal_done(ngx_webrtc_depack_t *d, u_char *p,
    size_t len);
static void ngx_webrtc_depack_keep(ngx_webrtc_depack_t *d, u_char *ps,
    size_t *ps_len, u_char *p, size_t len);
static int ngx_webrtc_depack_put(ngx_webrtc_depack_t *d, u_char *p,
    size_t len);
static int ngx_webrtc_depack_finish(ngx_webrtc_depack_t *d);


int
ngx_webrtc_depack_add(ngx_webrtc_depack_t *d, uint64_t seq, uint32_t ts,
    unsigned marker, u_char *p, size_t len)
{
    if (d->codec == NGX_WEBRTC_CODEC_OPUS) {
        return ngx_webrtc_depack_opus(d, seq, ts, p, len);
    }

    if (d->codec != NGX_WEBRTC_CODEC_H264) {
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

    if (ngx_webrtc_depack_h264(d, p, len) != 0) {
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
        return ngx_webrtc_depack_stap_a(d, p + 1, len - 1);

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


static int
ngx_webrtc_depack_stap_a(ngx_webrtc_depack_t *d, u_char *p, size_t len)
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

        if (n == 0 || (size_t) (last - q) < n) {
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
    size_t    n;
    unsigned  type;

    if (len < 2) {
        return -1;
    }

    type = p[1] & 0x1f;

    if (type == 0 || type >= 24) {
        return -1;
    }

    if (p[1] & 0x80) {
        if (d->fu) {
            d->broken = 1;
        }

        /* the length prefix, filled in at the end, and the NAL header */
        d->fu_start = d->len;

        hdr[0] = 0;
        hdr[1] = 0;
        hdr[2] = 0;
        hdr[3] = 0;
        hdr[4] = (u_char) ((p[0] & 0xe0) | type);

        d->fu = (ngx_webrtc_depack_put(d, hdr, 5) == 0);

    } else if (!d->fu) {
        /* its start was lost */
        d->broken = 1;
        return 0;
    }

    if (!d->fu) {
        return 0;
    }

    if (ngx_webrtc_depack_put(d, p + 2, len - 2) != 0) {
        d->fu = 0;
        return 0;
    }

    if (p[1] & 0x40) {
        d->fu = 0;

        n = d->len - d->fu_start - 4;
        (void) ngx_webrtc_put32(d->buf + d->fu_start, (uint32_t) n);

        if (type == 9) {
            d->len = d->fu_start;
            return 0;
        }

        ngx_webrtc_depack_nal_done(d, d->buf + d->fu_start + 4, n);
    }

    return 0;
}


static void
ngx_webrtc_depack_nal(ngx_webrtc_depack_t *d, u_char *p, size_t len)
{
    u_char  prefix[4];

    if ((p[0] & 0x1f) == 9) {
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
    ngx_webrtc_frame_info_t  info;

    /* a longer one cannot be kept, the frame still carries it */
    if (len > NGX_WEBRTC_DEPACK_PS_MAX
        || (len == *ps_len && memcmp(ps, p, len) == 0))
    {
        return;
    }

    memcpy(ps, p, len);
    *ps_len = len;
    d->config_changed = 1;

    if (ps == d->sps
        && ngx_webrtc_frame_inspect(NGX_WEBRTC_CODEC_H264, p, len, &info) == 0
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
