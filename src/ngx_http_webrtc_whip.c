
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_http_webrtc.h"
#include "ngx_webrtc_publisher.h"



/*
 * WHIP (RFC 9725): a publisher's offer.  Its codecs are chosen from the
 * location's webrtc_video_codecs and Opus; a stream has one publisher,
 * and a new one takes over from one silent for webrtc_takeover_idle.
 */


static void ngx_http_webrtc_whip_layers(ngx_webrtc_session_t *s,
    ngx_webrtc_sdp_media_t *m);

ngx_int_t
ngx_http_webrtc_whip_offer(ngx_http_request_t *r, ngx_http_webrtc_target_t *t,
    ngx_webrtc_sdp_t *sdp)
{
    ngx_int_t                     rc;
    ngx_uint_t                    i, *codecs;
    const char                   *err;
    ngx_webrtc_track_t           *tr;
    ngx_webrtc_session_t         *s;
    ngx_webrtc_sdp_media_t       *m;
    ngx_webrtc_sdp_codec_t       *c;
    ngx_webrtc_sdp_prefs_t        prefs;
    ngx_webrtc_shm_session_t      replaced;
    ngx_webrtc_sdp_selection_t   *sel;
    ngx_http_webrtc_loc_conf_t   *wlcf;
    int                           idx[2];

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);

    sel = ngx_pcalloc(r->pool, sizeof(ngx_webrtc_sdp_selection_t));
    if (sel == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&prefs, sizeof(ngx_webrtc_sdp_prefs_t));

    codecs = wlcf->video_codecs->elts;

    for (i = 0; i < wlcf->video_codecs->nelts; i++) {
        prefs.video_codecs[prefs.nvideo_codecs++] = codecs[i];
    }

    prefs.audio_codecs[prefs.naudio_codecs++] = NGX_WEBRTC_CODEC_OPUS;
    prefs.ingest = 1;

    if (ngx_webrtc_sdp_select(sdp, &prefs, sel) != NGX_WEBRTC_PARSE_OK) {
        return ngx_http_webrtc_error(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                     sel->error ? sel->error
                                                : "offer not acceptable");
    }

    err = ngx_http_webrtc_offer_check(sel);
    if (err) {
        return ngx_http_webrtc_error(r, NGX_HTTP_BAD_REQUEST, err);
    }

    if (sel->audio < 0 && sel->video < 0 && sel->application < 0) {
        return ngx_http_webrtc_error(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                     "offer has no audio, video or data");
    }

    s = ngx_webrtc_session_create(&t->stream, NGX_WEBRTC_ROLE_PUBLISHER);
    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_webrtc_offer_session(r, s, sdp, sel) != NGX_OK) {
        ngx_webrtc_session_close(s, "no memory");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    idx[0] = sel->audio;
    idx[1] = sel->video;

    for (i = 0; i < 2; i++) {
        if (idx[i] < 0) {
            continue;
        }

        m = &sdp->media[idx[i]];
        c = &m->codecs[sel->media[idx[i]].codec];
        tr = &s->tracks[s->ntracks++];

        tr->kind = m->type;
        tr->codec = c->codec;
        tr->pt = c->pt;
        tr->clock_rate = c->clock_rate;
        tr->channels = c->channels;
        tr->fb_pli = c->fb_pli;
        tr->fb_fir = c->fb_fir;

        /* the SSRCs it offers are accepted whatever else it sends from */

        if (m->ssrc) {
            ngx_webrtc_srtp_ssrc_add(&s->srtp, m->ssrc);
        }

        if (m->rtx_ssrc) {
            ngx_webrtc_srtp_ssrc_add(&s->srtp, m->rtx_ssrc);
        }

        if (sel->media[idx[i]].rtx >= 0) {
            tr->rtx_pt = m->codecs[sel->media[idx[i]].rtx].pt;
        }

        tr->fmtp.len = c->fmtp.len;
        tr->fmtp.data = ngx_pnalloc(s->pool, c->fmtp.len + 1);
        if (tr->fmtp.data == NULL) {
            ngx_webrtc_session_close(s, "no memory");
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(tr->fmtp.data, c->fmtp.data, c->fmtp.len);

        if (tr->clock_rate == 0) {
            tr->clock_rate = (tr->kind == NGX_WEBRTC_MEDIA_AUDIO) ? 48000
                                                                  : 90000;
        }

        if (m->type == NGX_WEBRTC_MEDIA_VIDEO) {
            ngx_http_webrtc_whip_layers(s, m);
        }
    }

    rc = ngx_http_webrtc_offer_register(r, s,
                                        ngx_webrtc_worker->conf->takeover_idle,
                                        &replaced);

    if (rc == NGX_BUSY) {
        ngx_webrtc_session_close(s, "stream busy");
        return ngx_http_webrtc_error(r, NGX_HTTP_CONFLICT,
                                     "stream already has a live publisher");
    }

    if (rc != NGX_OK) {
        ngx_webrtc_session_close(s, "no shared memory");
        return ngx_http_webrtc_retry_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "server is full");
    }

    if (replaced.pid) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "webrtc: publisher %*s of stream \"%V\" replaced "
                      "after %ims of silence", (size_t) NGX_WEBRTC_ID_LEN,
                      replaced.id, &t->stream,
                      (ngx_int_t) ngx_webrtc_registry_since(replaced.last_rx));

        ngx_webrtc_session_end(replaced.pid, replaced.port, replaced.id);
    }

    s->close_viewers = !wlcf->viewers_follow;
    s->record = wlcf->record;
    s->notify = wlcf->notify;

    if (ngx_webrtc_publisher_start(s) != NGX_OK) {
        ngx_webrtc_session_close(s, "no shared memory");
        return ngx_http_webrtc_retry_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "server is full");
    }

    if (ngx_webrtc_session_activate(s) != NGX_OK) {
        ngx_webrtc_session_close(s, "activation failed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "webrtc: publisher %*s of stream \"%V\" created",
                  (size_t) NGX_WEBRTC_ID_LEN, s->id, &t->stream);

    if (wlcf->pushes
        && ngx_webrtc_push_start(wlcf->pushes, &t->stream, s->id) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "webrtc: pushes of stream \"%V\" not started",
                      &t->stream);
    }

    return ngx_http_webrtc_answer(r, s, sdp, sel, &t->base);
}


/*
 * Simulcast: the video track becomes one track per layer, told apart by
 * the rid header extension until their SSRCs are learned.  Until picture
 * sizes rank them, the last layer offered is taken for the largest (as
 * Chromium orders them); each waits for a keyframe.
 */

static void
ngx_http_webrtc_whip_layers(ngx_webrtc_session_t *s, ngx_webrtc_sdp_media_t *m)
{
    ngx_uint_t           i, n;
    ngx_webrtc_str_t     rids[NGX_WEBRTC_MAX_LAYERS];
    ngx_webrtc_track_t  *video, *tr;

    n = ngx_webrtc_sdp_layers(m, rids);

    s->rid_ext = ngx_webrtc_sdp_extmap_id(m, NGX_WEBRTC_EXT_RID);
    s->rrid_ext = ngx_webrtc_sdp_extmap_id(m, NGX_WEBRTC_EXT_RRID);

    if (n == 0 || s->rid_ext == 0) {
        /* without the extension layers cannot be told apart: plain */
        return;
    }

    video = &s->tracks[s->ntracks - 1];
    n = ngx_min(n, (ngx_uint_t) (s->tracks + NGX_WEBRTC_MAX_TRACKS - video));

    for (i = 0; i < n; i++) {
        tr = video + i;

        if (i) {
            *tr = *video;
            s->ntracks++;
        }

        tr->rid_len = ngx_min(rids[i].len, NGX_WEBRTC_RID_MAX);
        ngx_memcpy(tr->rid, rids[i].data, tr->rid_len);
        tr->layer = n - 1 - i;
        tr->layer_wait = 1;
    }
}
