
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


#define NGX_WEBRTC_RTCP_MAX     256
#define NGX_WEBRTC_LAYERS_WAIT  3000    /* ms */


static void ngx_webrtc_publisher_rtp(ngx_webrtc_session_t *s, u_char *buf,
    size_t len);
static void ngx_webrtc_publisher_rtcp(ngx_webrtc_session_t *s, u_char *buf,
    size_t len);
static void ngx_webrtc_publisher_close(ngx_webrtc_session_t *s);
static ngx_webrtc_track_t *ngx_webrtc_publisher_track(
    ngx_webrtc_session_t *s, ngx_webrtc_rtp_t *rtp, ngx_uint_t *rtx);
static ngx_webrtc_track_t *ngx_webrtc_publisher_layer(
    ngx_webrtc_session_t *s, ngx_webrtc_rtp_t *rtp, ngx_uint_t *rtx);
static ngx_uint_t ngx_webrtc_publisher_ranked(ngx_webrtc_session_t *s);
static void ngx_webrtc_publisher_rank(ngx_webrtc_session_t *s);
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

        if (info.has_size
            && (st->width != info.width || st->height != info.height))
        {
            st->width = info.width;
            st->height = info.height;

            if (t->rid_len) {
                ngx_webrtc_publisher_rank(s);
            }
        }
    }

    if (t->layer_wait) {
        /* a layer goes on its stream track from a keyframe only */
        if (!keyframe || !ngx_webrtc_publisher_ranked(s)) {
            return;
        }

        t->layer_wait = 0;
    }

    ngx_webrtc_stream_write(s->st, t, &rtp, keyframe);
}


/*
 * The ranks hold once every layer's size is known, or NGX_WEBRTC_LAYERS_
 * WAIT after the first (a layer the browser does not send yet): until
 * then no layer writes, so that the top stream track (HLS, recording,
 * the GOP cache) does not start with a small layer and change size.
 */

static ngx_uint_t
ngx_webrtc_publisher_ranked(ngx_webrtc_session_t *s)
{
    ngx_uint_t  i;

    if (s->layers_since
        && ngx_current_msec - s->layers_since >= NGX_WEBRTC_LAYERS_WAIT)
    {
        return 1;
    }

    for (i = 0; i < s->ntracks; i++) {
        if (s->tracks[i].rid_len && s->shm->tracks[i].width == 0) {
            return 0;
        }
    }

    return 1;
}


/*
 * Simulcast layers take the stream's video tracks by picture size, the
 * largest first (offers list them in either order: Chromium's small to
 * large); a layer whose place changed waits for its next keyframe.
 */

static void
ngx_webrtc_publisher_rank(ngx_webrtc_session_t *s)
{
    ngx_uint_t               i, j, rank, a, b;
    ngx_webrtc_track_t      *t;
    ngx_webrtc_shm_track_t  *st;

    if (s->layers_since == 0) {
        s->layers_since = ngx_current_msec;
    }

    for (i = 0; i < s->ntracks; i++) {
        t = &s->tracks[i];

        if (t->rid_len == 0) {
            continue;
        }

        st = &s->shm->tracks[i];
        a = st->width * st->height;
        rank = 0;

        for (j = 0; j < s->ntracks; j++) {
            if (j == i || s->tracks[j].rid_len == 0) {
                continue;
            }

            b = s->shm->tracks[j].width * s->shm->tracks[j].height;

            if (b > a || (b == a && j < i)) {
                rank++;
            }
        }

        if (t->layer != rank) {
            t->layer = rank;
            st->layer = rank;
            t->layer_wait = 1;
            (void) ngx_webrtc_publisher_request_keyframe(s, t);
        }
    }
}


static ngx_webrtc_track_t *
ngx_webrtc_publisher_track(ngx_webrtc_session_t *s, ngx_webrtc_rtp_t *rtp,
    ngx_uint_t *rtx)
{
    ngx_uint_t           i;
    ngx_webrtc_track_t  *t;

    for (i = 0; i < s->ntracks; i++) {
        t = &s->tracks[i];

        if (t->rid_len) {
            /* a simulcast layer: its SSRCs tell, once learned */

            if (rtp->pt == t->pt && rtp->ssrc == t->ssrc) {
                *rtx = 0;
                return t;
            }

            if (t->rtx_pt && rtp->pt == t->rtx_pt
                && rtp->ssrc == t->rtx_ssrc)
            {
                *rtx = 1;
                return t;
            }

            continue;
        }

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

    return ngx_webrtc_publisher_layer(s, rtp, rtx);
}


/*
 * A packet of an SSRC not yet known: the rid (or, for a retransmission,
 * the repaired rid) header extension names its simulcast layer.
 */

static ngx_webrtc_track_t *
ngx_webrtc_publisher_layer(ngx_webrtc_session_t *s, ngx_webrtc_rtp_t *rtp,
    ngx_uint_t *rtx)
{
    ngx_uint_t           i, repair;
    ngx_webrtc_str_t     rid;
    ngx_webrtc_track_t  *t;

    repair = 0;

    if (ngx_webrtc_rtp_rid(rtp, s->rid_ext, &rid) != NGX_WEBRTC_PARSE_OK) {
        if (ngx_webrtc_rtp_rid(rtp, s->rrid_ext, &rid)
            != NGX_WEBRTC_PARSE_OK)
        {
            return NULL;
        }

        repair = 1;
    }

    for (i = 0; i < s->ntracks; i++) {
        t = &s->tracks[i];

        if (t->rid_len != rid.len
            || ngx_memcmp(t->rid, rid.data, rid.len) != 0)
        {
            continue;
        }

        if (rtp->pt == t->pt && !repair) {
            /* a new SSRC for the layer: new statistics, a keyframe */
            ngx_memzero(&t->source, sizeof(ngx_webrtc_rtp_source_t));
            t->ssrc = rtp->ssrc;
            t->keyframe_seen = 0;
            *rtx = 0;

            ngx_log_debug3(NGX_LOG_DEBUG_EVENT, &s->log, 0,
                           "webrtc: layer \"%*s\" is SSRC %uD",
                           t->rid_len, t->rid, rtp->ssrc);
            return t;
        }

        if (t->rtx_pt && rtp->pt == t->rtx_pt) {
            t->rtx_ssrc = rtp->ssrc;
            *rtx = 1;
            return t;
        }

        return NULL;
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


/* receiver reports, and PLI until the first keyframe (a layer's: on its */
/* stream track) */

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

        if (t->kind == NGX_WEBRTC_MEDIA_VIDEO
            && (!t->keyframe_seen || t->layer_wait))
        {
            (void) ngx_webrtc_publisher_request_keyframe(s, t);
        }
    }
}


/*
 * A viewer asked: the video tracks whose stream tracks were named (a
 * simulcast layer to switch to, the layer a viewer decodes), else every
 * video track of the publisher
 */

void
ngx_webrtc_publisher_request_keyframes(ngx_webrtc_session_t *s)
{
    ngx_uint_t           i, want;
    ngx_webrtc_track_t  *t;

    want = s->st ? ngx_webrtc_stream_keyframe_tracks(s->st) : 0;

    for (i = 0; i < s->ntracks; i++) {
        t = &s->tracks[i];

        if (t->kind == NGX_WEBRTC_MEDIA_VIDEO
            && (want == 0 || (want & (1 << ngx_webrtc_stream_track(t)))))
        {
            (void) ngx_webrtc_publisher_request_keyframe(s, t);
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
