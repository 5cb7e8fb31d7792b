
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_http_webrtc.h"
#include "ngx_webrtc_viewer.h"

#include <openssl/rand.h>


/*
 * WHEP (IETF draft): a viewer's offer is answered with exactly the
 * publisher's codecs, in the viewer's payload types.  The session joins
 * this worker's group of the stream; media flows from the stream's ring.
 */


/* a viewer waiting for a pull to give the stream a publisher */
typedef struct {
    ngx_http_request_t         *r;
    ngx_http_webrtc_target_t   *t;
    ngx_webrtc_sdp_t           *sdp;
    ngx_event_t                 timer;
    ngx_msec_t                  start;
    unsigned                    armed:1;
} ngx_http_webrtc_whep_wait_t;


#define NGX_HTTP_WEBRTC_WHEP_POLL  50


static ngx_int_t ngx_http_webrtc_whep_fmtp(ngx_http_request_t *r,
    ngx_webrtc_sdp_codec_t *c, ngx_webrtc_stream_track_t *sk);
static ngx_int_t ngx_http_webrtc_whep_pull(ngx_http_request_t *r,
    ngx_http_webrtc_target_t *t, ngx_webrtc_sdp_t *sdp,
    ngx_http_webrtc_whep_wait_t *w);
static void ngx_http_webrtc_whep_wait_handler(ngx_event_t *ev);
static void ngx_http_webrtc_whep_wait_cleanup(void *data);


ngx_int_t
ngx_http_webrtc_whep_offer(ngx_http_request_t *r, ngx_http_webrtc_target_t *t,
    ngx_webrtc_sdp_t *sdp)
{
    int                          idx[2];
    u_char                      *p;
    ngx_int_t                    rc;
    const char                  *err;
    ngx_uint_t                   i, k;
    ngx_webrtc_track_t          *tr;
    ngx_webrtc_session_t        *s;
    ngx_webrtc_sdp_codec_t      *c;
    ngx_webrtc_sdp_media_t      *m;
    ngx_webrtc_sdp_prefs_t       prefs;
    ngx_webrtc_stream_t         *st;
    ngx_webrtc_shm_session_t     replaced;
    ngx_webrtc_sdp_selection_t  *sel;
    ngx_http_webrtc_loc_conf_t  *wlcf;
    u_char                       rnd[2 * 10];
    u_char                       reason[128];

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);

    st = ngx_webrtc_stream_acquire(&t->stream, 0);

    if ((st == NULL || st->pub_pid == 0) && wlcf->pull) {
        if (st) {
            ngx_webrtc_stream_release(st);
        }

        return ngx_http_webrtc_whep_pull(r, t, sdp, NULL);
    }

    if (st == NULL || st->pub_pid == 0) {
        if (st) {
            ngx_webrtc_stream_release(st);
        }

        return ngx_http_webrtc_retry_error(r, NGX_HTTP_CONFLICT,
                                           "stream has no live publisher");
    }

    if (wlcf->max_viewers && st->viewers >= wlcf->max_viewers) {
        ngx_webrtc_stream_release(st);
        return ngx_http_webrtc_retry_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "stream has too many viewers");
    }

    sel = ngx_pcalloc(r->pool, sizeof(ngx_webrtc_sdp_selection_t));
    if (sel == NULL) {
        ngx_webrtc_stream_release(st);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* exactly what the publisher sends */

    ngx_memzero(&prefs, sizeof(ngx_webrtc_sdp_prefs_t));

    if (st->tracks[1].kind) {
        prefs.video_codecs[prefs.nvideo_codecs++] = st->tracks[1].codec;
    }

    if (st->tracks[0].kind) {
        prefs.audio_codecs[prefs.naudio_codecs++] = st->tracks[0].codec;
    }

    if (ngx_webrtc_sdp_select(sdp, &prefs, sel) != NGX_WEBRTC_PARSE_OK) {

        if (sel->error && st->tracks[1].kind
            && ngx_strstr(sel->error, "video") != NULL)
        {
            p = ngx_snprintf(reason, sizeof(reason) - 1,
                             "viewer cannot decode %s, the stream's codec",
                             ngx_webrtc_codec_name(st->tracks[1].codec));
            *p = '\0';

        } else {
            p = ngx_snprintf(reason, sizeof(reason) - 1, "%s",
                             sel->error ? sel->error
                                        : "offer not acceptable");
            *p = '\0';
        }

        ngx_webrtc_stream_release(st);

        return ngx_http_webrtc_error(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                     (char *) reason);
    }

    err = ngx_http_webrtc_offer_check(sel);
    if (err) {
        ngx_webrtc_stream_release(st);
        return ngx_http_webrtc_error(r, NGX_HTTP_BAD_REQUEST, err);
    }

    if ((sel->audio < 0 || !st->tracks[0].kind)
        && (sel->video < 0 || !st->tracks[1].kind)
        && sel->application < 0)
    {
        ngx_webrtc_stream_release(st);
        return ngx_http_webrtc_error(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                     "offer receives none of the stream's "
                                     "tracks");
    }

    s = ngx_webrtc_session_create(&t->stream, NGX_WEBRTC_ROLE_VIEWER);
    if (s == NULL) {
        ngx_webrtc_stream_release(st);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the session holds the stream reference from now on */
    s->st = st;
    s->notify = wlcf->notify;

    if (ngx_http_webrtc_offer_session(r, s, sdp, sel) != NGX_OK
        || RAND_bytes(rnd, sizeof(rnd)) != 1)
    {
        ngx_webrtc_session_close(s, "no memory");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    idx[0] = st->tracks[0].kind ? sel->audio : -1;
    idx[1] = st->tracks[1].kind ? sel->video : -1;

    for (k = 0; k < 2; k++) {
        if (idx[k] < 0) {
            continue;
        }

        m = &sdp->media[idx[k]];
        c = &m->codecs[sel->media[idx[k]].codec];

        /* retransmissions go on the media SSRC: no RTX */
        sel->media[idx[k]].rtx = -1;

        if (k == 1 && c->codec == NGX_WEBRTC_CODEC_H264
            && ngx_http_webrtc_whep_fmtp(r, c, &st->tracks[1]) != NGX_OK)
        {
            ngx_webrtc_session_close(s, "no memory");
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        tr = &s->tracks[s->ntracks++];

        tr->kind = m->type;
        tr->codec = c->codec;
        tr->pt = c->pt;
        tr->clock_rate = st->tracks[k].clock_rate;

        p = rnd + 10 * k;

        tr->out_ssrc = ((uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
                        | (uint32_t) p[2] << 8 | p[3]) | 1;
        tr->seq_start = (uint16_t) (p[4] << 8 | p[5]);
        tr->ts_off = (uint32_t) p[6] << 24 | (uint32_t) p[7] << 16
                     | (uint32_t) p[8] << 8 | p[9];
    }

    rc = ngx_http_webrtc_offer_register(r, s, 0, &replaced);

    if (rc != NGX_OK) {
        ngx_webrtc_session_close(s, "no room");
        return ngx_http_webrtc_retry_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           (rc == NGX_DECLINED)
                                           ? "server has too many viewers"
                                           : "server is full");
    }

    if (idx[1] >= 0) {
        /* for the layer extension's mediaId; nobody has the id yet */
        m = &sdp->media[idx[1]];
        s->shm->video_mid_len = ngx_min(m->mid.len, NGX_WEBRTC_RID_MAX);
        ngx_memcpy(s->shm->video_mid, m->mid.data, s->shm->video_mid_len);
    }

    if (ngx_webrtc_viewer_join(s) != NGX_OK
        || ngx_webrtc_session_activate(s) != NGX_OK)
    {
        ngx_webrtc_session_close(s, "activation failed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "webrtc: viewer %*s of stream \"%V\" created",
                  (size_t) NGX_WEBRTC_ID_LEN, s->id, &t->stream);

    for (i = 0; i < s->ntracks; i++) {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "webrtc: viewer track %ui pt %ui ssrc %uD",
                       i, s->tracks[i].pt, s->tracks[i].out_ssrc);
    }

    return ngx_http_webrtc_answer(r, s, sdp, sel, &t->base);
}


/*
 * webrtc_pull: the stream is not here, so the edge pulls it from the
 * origin (once per stream, whichever worker asks first) and the viewer
 * waits, polling the stream's record, until the pull has published the
 * origin's tracks (its answer is in: media starts when ICE and DTLS to
 * the origin are up), at most webrtc_cascade_timeout and a second.  A
 * failing pull answers at once: 404 or 409 as the origin did, else 503;
 * both with Retry-After except the 404.
 */

static ngx_int_t
ngx_http_webrtc_whep_pull(ngx_http_request_t *r, ngx_http_webrtc_target_t *t,
    ngx_webrtc_sdp_t *sdp, ngx_http_webrtc_whep_wait_t *w)
{
    ngx_int_t                    rc;
    ngx_uint_t                   status;
    ngx_pool_cleanup_t          *cln;
    ngx_http_webrtc_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);

    status = NGX_HTTP_SERVICE_UNAVAILABLE;

    rc = ngx_webrtc_pull_want(wlcf->pull, &t->stream, &status);

    switch (rc) {

    case NGX_DONE:
        return ngx_http_webrtc_whep_offer(r, t, sdp);

    case NGX_DECLINED:
        if (status == NGX_HTTP_NOT_FOUND) {
            return ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND,
                                         "stream not found on the origin");
        }

        if (status == NGX_HTTP_CONFLICT) {
            return ngx_http_webrtc_retry_error(r, NGX_HTTP_CONFLICT,
                                               "stream has no live "
                                               "publisher");
        }

        return ngx_http_webrtc_retry_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "origin unavailable");

    case NGX_OK:
        break;

    default:
        return ngx_http_webrtc_retry_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "server is full");
    }

    if (w == NULL) {
        w = ngx_pcalloc(r->pool, sizeof(ngx_http_webrtc_whep_wait_t));
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (w == NULL || cln == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        w->r = r;
        w->t = t;
        w->sdp = sdp;
        w->start = ngx_current_msec;
        w->timer.handler = ngx_http_webrtc_whep_wait_handler;
        w->timer.data = w;
        w->timer.log = r->connection->log;

        cln->handler = ngx_http_webrtc_whep_wait_cleanup;
        cln->data = w;

        /* finalized by the timer's handler */
        r->main->count++;

    } else if (ngx_current_msec - w->start >= wlcf->cascade_timeout + 1000) {
        return ngx_http_webrtc_retry_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "origin did not answer in time");
    }

    w->armed = 1;
    ngx_add_timer(&w->timer, NGX_HTTP_WEBRTC_WHEP_POLL);

    return NGX_DONE;
}


static void
ngx_http_webrtc_whep_wait_handler(ngx_event_t *ev)
{
    ngx_int_t                     rc;
    ngx_http_request_t           *r;
    ngx_http_webrtc_whep_wait_t  *w;

    w = ev->data;
    r = w->r;

    w->armed = 0;

    rc = ngx_http_webrtc_whep_pull(r, w->t, w->sdp, w);

    if (w->armed) {
        return;
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(r->connection);
}


static void
ngx_http_webrtc_whep_wait_cleanup(void *data)
{
    ngx_http_webrtc_whep_wait_t  *w = data;

    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }
}


/*
 * H.264: the answer gives the profile-level-id of the stream's SPS, not
 * whatever the publisher claimed (OBS always says 42e01f).
 */

static ngx_int_t
ngx_http_webrtc_whep_fmtp(ngx_http_request_t *r, ngx_webrtc_sdp_codec_t *c,
    ngx_webrtc_stream_track_t *sk)
{
    u_char  *p, *f, *end;
    size_t   len;

    if (!sk->has_profile) {
        return NGX_OK;
    }

    len = c->fmtp.len + sizeof(";profile-level-id=000000");

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    f = ngx_strlcasestrn(c->fmtp.data, c->fmtp.data + c->fmtp.len,
                         (u_char *) "profile-level-id=",
                         sizeof("profile-level-id=") - 2);

    if (f && c->fmtp.data + c->fmtp.len - f >= 17 + 6) {
        end = ngx_cpymem(p, c->fmtp.data, f + 17 - c->fmtp.data);
        end = ngx_sprintf(end, "%02xd%02xd%02xd", sk->profile[0],
                          sk->profile[1], sk->profile[2]);
        end = ngx_cpymem(end, f + 17 + 6,
                         c->fmtp.data + c->fmtp.len - (f + 17 + 6));

    } else {
        end = ngx_cpymem(p, c->fmtp.data, c->fmtp.len);
        end = ngx_sprintf(end, "%sprofile-level-id=%02xd%02xd%02xd",
                          c->fmtp.len ? ";" : "", sk->profile[0],
                          sk->profile[1], sk->profile[2]);
    }

    c->fmtp.data = p;
    c->fmtp.len = end - p;

    return NGX_OK;
}
