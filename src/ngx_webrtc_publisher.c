
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_publisher.h"


/*
 * A publisher: what arrives is counted per track into the session's
 * shared-memory record, inspected for keyframes and picture size, and
 * written into its stream's ring; receiver reports and PLI go back on a
 * timer, PLI or FIR also when a viewer asks.
 */


#define NGX_WEBRTC_RTCP_MAX  256


static void ngx_webrtc_publisher_rtp(ngx_webrtc_session_t *s, u_char *buf,
    size_t len);
static void ngx_webrtc_publisher_rtcp(ngx_webrtc_session_t *s, u_char *buf,
    size_t len);
static void ngx_webrtc_publisher_close(ngx_webrtc_session_t *s);
static ngx_webrtc_track_t *ngx_webrtc_publisher_track(
    ngx_webrtc_session_t *s, ngx_webrtc_rtp_t *rtp, ngx_uint_t *rtx);
static void ngx_webrtc_publisher_report(ngx_webrtc_session_t *s);
static ngx_int_t ngx_webrtc_publisher_request_keyframe(
    ngx_webrtc_session_t *s, ngx_webrtc_track_t *t);


static const ngx_webrtc_role_t  ngx_webrtc_publisher_role = {
    NULL,
    ngx_webrtc_publisher_rtp,
    ngx_webrtc_publisher_rtcp,
    ngx_webrtc_publisher_report,
    ngx_webrtc_publisher_close
};


/* the session publishes its tracks on its stream */

ngx_int_t
ngx_webrtc_publisher_start(ngx_webrtc_session_t *s)
{
    s->st = ngx_webrtc_stream_publish(&s->stream, s->id, s->tracks,
                                      s->ntracks, &s->record);
    if (s->st == NULL) {
        return NGX_ERROR;
    }

    s->handler = &ngx_webrtc_publisher_role;

    return NGX_OK;
}


static void
ngx_webrtc_publisher_close(ngx_webrtc_session_t *s)
{
    if (s->st) {
        ngx_webrtc_stream_unpublish(s->st, s->id, s->close_viewers);
        s->st = NULL;
    }
}


static void
ngx_webrtc_publisher_rtp(ngx_webrtc_session_t *s, u_char *buf, size_t len)
{
    uint32_t                  arrival;
    ngx_uint_t                rtx, keyframe;
    ngx_webrtc_rtp_t          rtp;
    ngx_webrtc_track_t       *t;
    ngx_webrtc_frame_info_t   info;
    ngx_webrtc_shm_track_t   *st;

    if (ngx_webrtc_rtp_parse(&rtp, buf, len) != NGX_WEBRTC_PARSE_OK) {
        return;
    }

    t = ngx_webrtc_publisher_track(s, &rtp, &rtx);
    if (t == NULL) {
        return;
    }

    s->shm->last_rx = ngx_current_msec;

    if (rtx) {
        return;
    }

    st = &s->shm->tracks[t - s->tracks];

    arrival = (uint32_t) ((uint64_t) ngx_current_msec * t->clock_rate / 1000);

    (void) ngx_webrtc_rtp_source_update(&t->source, rtp.seq, rtp.ts, arrival);

    st->packets++;
    st->bytes += rtp.payload_len;

    keyframe = 0;

    if (t->kind == NGX_WEBRTC_MEDIA_VIDEO
        && ngx_webrtc_frame_inspect(t->codec, rtp.payload, rtp.payload_len,
                                    &info)
           == NGX_WEBRTC_PARSE_OK)
    {
        if (info.keyframe && (!t->keyframe_seen || rtp.ts != t->keyframe_ts))
        {
            /* the first packet of a new keyframe */
            t->keyframe_seen = 1;
            t->keyframe_ts = rtp.ts;
            st->keyframes++;
            keyframe = 1;
        }

        if (info.has_size) {
            st->width = info.width;
            st->height = info.height;
        }
    }

    ngx_webrtc_stream_write(s->st, t, &rtp, keyframe);
}


static ngx_webrtc_track_t *
ngx_webrtc_publisher_track(ngx_webrtc_session_t *s, ngx_webrtc_rtp_t *rtp,
    ngx_uint_t *rtx)
{
    ngx_uint_t           i;
    ngx_webrtc_track_t  *t;

    for (i = 0; i < s->ntracks; i++) {
        t = &s->tracks[i];

        if (rtp->pt == t->pt) {
            if (t->ssrc != rtp->ssrc) {
                if (t->ssrc) {
                    /* a new source on the track: restart its statistics */
                    ngx_memzero(&t->source, sizeof(ngx_webrtc_rtp_source_t));
                }

                t->ssrc = rtp->ssrc;
            }

            *rtx = 0;
            return t;
        }

        if (t->rtx_pt && rtp->pt == t->rtx_pt) {
            *rtx = 1;
            return t;
        }
    }

    return NULL;
}


static void
ngx_webrtc_publisher_rtcp(ngx_webrtc_session_t *s, u_char *buf, size_t len)
{
    ngx_uint_t               i;
    ngx_webrtc_track_t      *t;
    ngx_webrtc_rtcp_info_t   info;

    if (ngx_webrtc_rtcp_parse(&info, buf, len) != NGX_WEBRTC_PARSE_OK) {
        return;
    }

    s->shm->last_rx = ngx_current_msec;

    if (!info.has_sr) {
        return;
    }

    for (i = 0; i < s->ntracks; i++) {
        t = &s->tracks[i];

        if (t->ssrc == info.sr_ssrc) {
            t->sr_lsr = (uint32_t) (info.sr_ntp >> 16);
            t->sr_time = ngx_current_msec;

            if (s->st) {
                ngx_webrtc_stream_sender_report(s->st, t, info.sr_ssrc,
                                                info.sr_ntp, info.sr_rtp_ts);
            }
        }
    }
}


/* receiver reports, and PLI until the first keyframe */

static void
ngx_webrtc_publisher_report(ngx_webrtc_session_t *s)
{
    size_t                   n;
    uint32_t                 dlsr;
    ngx_msec_t               now;
    ngx_uint_t               i;
    ngx_webrtc_track_t      *t;
    ngx_webrtc_shm_track_t  *st;
    u_char                   buf[NGX_WEBRTC_RTCP_MAX];

    now = ngx_current_msec;

    for (i = 0; i < s->ntracks; i++) {
        t = &s->tracks[i];
        st = &s->shm->tracks[i];

        if (t->ssrc == 0) {
            continue;
        }

        st->lost = ngx_webrtc_rtp_source_lost(&t->source);

        dlsr = 0;

        if (t->sr_time) {
            dlsr = (uint32_t) ((uint64_t) (now - t->sr_time) * 65536 / 1000);
        }

        n = ngx_webrtc_rtcp_write_rr(buf, sizeof(buf) - 64, s->local_ssrc,
                                     t->ssrc, &t->source, t->sr_lsr, dlsr);
        if (n) {
            (void) ngx_webrtc_session_send_rtcp(s, buf, n);
        }

        if (t->kind == NGX_WEBRTC_MEDIA_VIDEO && !t->keyframe_seen) {
            (void) ngx_webrtc_publisher_request_keyframe(s, t);
        }
    }
}


/* a viewer asked: every video track of the publisher */

void
ngx_webrtc_publisher_request_keyframes(ngx_webrtc_session_t *s)
{
    ngx_uint_t  i;

    for (i = 0; i < s->ntracks; i++) {
        if (s->tracks[i].kind == NGX_WEBRTC_MEDIA_VIDEO) {
            (void) ngx_webrtc_publisher_request_keyframe(s, &s->tracks[i]);
        }
    }
}


/* PLI (RFC 4585) if the sender offered it, else FIR (RFC 5104) */

static ngx_int_t
ngx_webrtc_publisher_request_keyframe(ngx_webrtc_session_t *s,
    ngx_webrtc_track_t *t)
{
    size_t  n;
    u_char  buf[NGX_WEBRTC_RTCP_MAX];

    if (t->ssrc == 0) {
        return NGX_DECLINED;
    }

    if (t->fb_pli || !t->fb_fir) {
        n = ngx_webrtc_rtcp_write_pli(buf, sizeof(buf) - 64, s->local_ssrc,
                                      t->ssrc);

    } else {
        n = ngx_webrtc_rtcp_write_fir(buf, sizeof(buf) - 64, s->local_ssrc,
                                      t->ssrc, t->fir_seq++);
    }

    if (n == 0) {
        return NGX_ERROR;
    }

    s->shm->tracks[t - s->tracks].keyframe_requests++;

    return ngx_webrtc_session_send_rtcp(s, buf, n);
}
