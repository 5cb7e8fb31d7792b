/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * RTP packets as they arrive: the fixed header and its extensions
 * (RFC 3550, RFC 8285), and the receive statistics of each source
 * (RFC 3550 appendix A) that the receiver reports are made of; and the
 * numbering of packets as they go: a stream's own, a receiver's.
 */

#include "ngx_webrtc_rtp.h"


#define NGX_WEBRTC_RTP_SEQ_MOD         65536
#define NGX_WEBRTC_RTP_MAX_DROPOUT     3000
#define NGX_WEBRTC_RTP_MAX_MISORDER    100
/* WebRTC sources start in order: count from the first packet */
#define NGX_WEBRTC_RTP_MIN_SEQUENTIAL  1
/* how far a viewer's index may be from its highest: 2^15 with a margin */
#define NGX_WEBRTC_INDEX_GAP           0x4000


static void ngx_webrtc_rtp_source_init(ngx_webrtc_rtp_source_t *s,
    uint16_t seq);


int
ngx_webrtc_rtp_parse(ngx_webrtc_rtp_t *rtp, u_char *p, size_t len)
{
    size_t    off, ext_len, pad;
    unsigned  cc;

    if (len < 12 || (p[0] >> 6) != 2) {
        return -1;
    }

    rtp->padding = (p[0] >> 5) & 1;
    rtp->extension = (p[0] >> 4) & 1;
    rtp->marker = p[1] >> 7;
    rtp->pt = p[1] & 0x7f;
    rtp->seq = ngx_webrtc_be16(p + 2);
    rtp->ts = ngx_webrtc_be32(p + 4);
    rtp->ssrc = ngx_webrtc_be32(p + 8);

    cc = p[0] & 0x0f;
    off = 12 + 4 * cc;

    if (off > len) {
        return -1;
    }

    rtp->ext = NULL;
    rtp->ext_len = 0;
    rtp->ext_profile = 0;

    if (rtp->extension) {
        if (len - off < 4) {
            return -1;
        }

        ext_len = (size_t) ngx_webrtc_be16(p + off + 2) * 4;

        if (len - off - 4 < ext_len) {
            return -1;
        }

        rtp->ext_profile = ngx_webrtc_be16(p + off);
        rtp->ext = p + off + 4;
        rtp->ext_len = ext_len;

        off += 4 + ext_len;
    }

    pad = 0;

    if (rtp->padding) {
        /* the count includes itself, so 0 is invalid */
        pad = p[len - 1];

        if (pad == 0 || pad > len - off) {
            return -1;
        }
    }

    rtp->payload = p + off;
    rtp->payload_len = len - off - pad;

    return 0;
}


u_char *
ngx_webrtc_rtp_ext_find(ngx_webrtc_rtp_t *rtp, unsigned id, size_t *len)
{
    u_char    *p, *last;
    size_t     n;
    unsigned   eid, two;

    if (rtp->ext == NULL || id == 0) {
        return NULL;
    }

    if (rtp->ext_profile == 0xbede) {
        two = 0;

        if (id > 14) {
            return NULL;
        }

    } else if ((rtp->ext_profile & 0xfff0) == 0x1000) {
        two = 1;

        if (id > 255) {
            return NULL;
        }

    } else {
        return NULL;
    }

    p = rtp->ext;
    last = p + rtp->ext_len;

    while (p < last) {

        if (*p == 0 || (!two && (*p >> 4) == 0)) {
            /* padding; a one-byte id 0 ignores its length, as libwebrtc */
            p++;
            continue;
        }

        if (two) {
            if (last - p < 2) {
                return NULL;
            }

            eid = p[0];
            n = p[1];
            p += 2;

        } else {
            eid = p[0] >> 4;
            n = (p[0] & 0x0f) + 1;
            p++;

            if (eid == 15) {
                /* reserved: stop processing */
                return NULL;
            }
        }

        if ((size_t) (last - p) < n) {
            return NULL;
        }

        if (eid == id) {
            *len = n;
            return p;
        }

        p += n;
    }

    return NULL;
}


int
ngx_webrtc_rtp_rid(ngx_webrtc_rtp_t *rtp, unsigned id, ngx_webrtc_str_t *rid)
{
    u_char  *p, c;
    size_t   i, len;

    p = ngx_webrtc_rtp_ext_find(rtp, id, &len);
    if (p == NULL) {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    while (len && p[len - 1] == '\0') {
        len--;
    }

    if (len == 0 || len > NGX_WEBRTC_RID_MAX) {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    for (i = 0; i < len; i++) {
        c = p[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
        {
            return NGX_WEBRTC_PARSE_ERROR;
        }
    }

    rid->data = p;
    rid->len = len;

    return NGX_WEBRTC_PARSE_OK;
}


/* receiver statistics, RFC 3550 A.1, A.3, A.8 */

static void
ngx_webrtc_rtp_source_init(ngx_webrtc_rtp_source_t *s, uint16_t seq)
{
    s->base_seq = seq;
    s->max_seq = seq;
    s->bad_seq = NGX_WEBRTC_RTP_SEQ_MOD + 1;
    s->cycles = 0;
    s->received = 0;
    s->received_prior = 0;
    s->expected_prior = 0;
    s->recv_mask = 1;
}


int
ngx_webrtc_rtp_source_update(ngx_webrtc_rtp_source_t *s, uint16_t seq,
    uint32_t ts, uint32_t arrival)
{
    unsigned  first;
    uint16_t  udelta, back;
    uint32_t  transit, d;
    uint64_t  jitter;

    first = 0;

    if (!s->started) {
        ngx_webrtc_rtp_source_init(s, seq);
        s->max_seq = seq - 1;
        s->probation = NGX_WEBRTC_RTP_MIN_SEQUENTIAL;
        s->jitter = 0;
        s->started = 1;
    }

    udelta = seq - s->max_seq;

    if (s->probation) {
        if (seq == (uint16_t) (s->max_seq + 1)) {
            s->probation--;
            s->max_seq = seq;

            if (s->probation == 0) {
                ngx_webrtc_rtp_source_init(s, seq);
                first = 1;
                goto counted;
            }

        } else {
            s->probation = NGX_WEBRTC_RTP_MIN_SEQUENTIAL - 1;
            s->max_seq = seq;
        }

        return 1;
    }

    if (udelta == 0) {
        return 1;

    } else if (udelta < NGX_WEBRTC_RTP_MAX_DROPOUT) {
        /* in order, with permissible gap */
        if (seq < s->max_seq) {
            s->cycles += NGX_WEBRTC_RTP_SEQ_MOD;
        }

        s->recv_mask = (udelta < 64) ? (s->recv_mask << udelta) | 1 : 1;
        s->max_seq = seq;

    } else if (udelta <= NGX_WEBRTC_RTP_SEQ_MOD - NGX_WEBRTC_RTP_MAX_MISORDER)
    {
        /* a very large jump: resync on two sequential packets */
        if (seq != s->bad_seq) {
            s->bad_seq = (uint16_t) (seq + 1);
            return 1;
        }

        ngx_webrtc_rtp_source_init(s, seq);
        first = 1;

    } else {
        /* late or duplicate: counted once if still in the window */
        back = s->max_seq - seq;

        if (back >= 64
            || back > s->cycles + s->max_seq - s->base_seq
            || (s->recv_mask >> back) & 1)
        {
            return 1;
        }

        s->recv_mask |= (uint64_t) 1 << back;
    }

counted:

    s->received++;

    transit = arrival - ts;

    if (first) {
        s->transit = transit;
        return 0;
    }

    d = transit - s->transit;
    s->transit = transit;

    if (d & 0x80000000) {
        d = 0 - d;
    }

    jitter = (uint64_t) s->jitter + d - (((uint64_t) s->jitter + 8) >> 4);
    s->jitter = (jitter > UINT32_MAX) ? UINT32_MAX : (uint32_t) jitter;

    return 0;
}


uint32_t
ngx_webrtc_rtp_source_lost(ngx_webrtc_rtp_source_t *s)
{
    uint32_t  expected, lost;

    if (!s->started || s->probation) {
        return 0;
    }

    expected = s->cycles + s->max_seq - s->base_seq + 1;
    lost = expected - s->received;

    return (lost & 0x80000000) ? 0 : lost;
}


uint64_t
ngx_webrtc_renumber(ngx_webrtc_renumber_t *rn, uint32_t ssrc, uint16_t seq)
{
    int16_t   d;
    uint64_t  back, index;

    if (!rn->source || rn->ssrc != ssrc) {
        rn->ssrc = ssrc;
        rn->off = (uint16_t) (rn->next - seq);
        rn->floor = rn->next;
        rn->source = 1;
    }

    d = (int16_t) (uint16_t) (seq + rn->off - (uint16_t) rn->next);

    if (d >= 0) {
        index = rn->next + (uint64_t) d;
        rn->given = (d >= 63) ? 1 : (rn->given << (d + 1)) | 1;
        rn->next = index + 1;

        return index;
    }

    /* late: next - 1 - back; a source has given one index at least */
    back = (uint64_t) (-1 - d);

    if (back >= 64
        || back > rn->next - 1 - rn->floor
        || (rn->given >> back) & 1)
    {
        return NGX_WEBRTC_INDEX_NONE;
    }

    rn->given |= (uint64_t) 1 << back;

    return rn->next - 1 - back;
}


void
ngx_webrtc_out_index_start(ngx_webrtc_out_index_t *o, uint64_t index,
    uint16_t first)
{
    o->off = (int64_t) first - (int64_t) index;
    o->floor = first;
    o->next = first;
}


void
ngx_webrtc_out_index_resume(ngx_webrtc_out_index_t *o, uint64_t index)
{
    /* what was skipped is not sent again: NACKs for it are refused */
    o->off = (int64_t) o->next - (int64_t) index;
    o->floor = o->next;
}


uint64_t
ngx_webrtc_out_index(ngx_webrtc_out_index_t *o, uint64_t index, int resend)
{
    int64_t  out, next;

    out = (int64_t) index + o->off;
    next = (int64_t) o->next;

    if (out >= next) {
        if (out - next >= NGX_WEBRTC_INDEX_GAP) {
            if (resend) {
                return NGX_WEBRTC_INDEX_NONE;
            }

            o->off = next - (int64_t) index;
            o->floor = o->next;
            out = next;
        }

        o->next = (uint64_t) out + 1;

        return (uint64_t) out;
    }

    if (out < (int64_t) o->floor || next - out > NGX_WEBRTC_INDEX_GAP) {
        return NGX_WEBRTC_INDEX_NONE;
    }

    return (uint64_t) out;
}
