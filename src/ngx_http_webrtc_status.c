
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_http_webrtc.h"
#include "ngx_webrtc_hls.h"


/*
 * GET /webrtc/status: JSON for all workers, from the shared registry.
 * The records are copied under the lock and formatted after it.
 */


static u_char *ngx_http_webrtc_status_session(u_char *p,
    ngx_webrtc_shm_session_t *ss);
static size_t ngx_http_webrtc_status_session_len(
    ngx_webrtc_shm_session_t *ss);


/* a stream's HLS store, as copied under the lock */
typedef struct {
    u_char                      name[NGX_WEBRTC_STREAM_MAX];
    size_t                      name_len;
    uint32_t                    segments;
    uint64_t                    parts;
    uint32_t                    target;
    uint64_t                    bytes;
    unsigned                    ended:1;
    unsigned                    refused:1;
} ngx_http_webrtc_status_hls_t;


/* a pull or push of a stream, as copied under the lock */
typedef struct {
    u_char                      name[NGX_WEBRTC_STREAM_MAX];
    size_t                      name_len;
    const char                 *kind;
    ngx_webrtc_stream_cascade_t state;
} ngx_http_webrtc_status_cascade_t;


static ngx_str_t  ngx_http_webrtc_status_type =
    ngx_string("application/json");


static const char  *ngx_http_webrtc_states[] = {
    "new", "checking", "connected", "closed"
};

static const char  *ngx_http_webrtc_cascade_states[] = {
    "starting", "posting", "connecting", "connected", "retrying"
};

static const char  *ngx_http_webrtc_kinds[] = {
    "other", "audio", "video", "application"
};


ngx_int_t
ngx_http_webrtc_status_handler(ngx_http_request_t *r)
{
    u_char                    *p, *done;
    size_t                     len;
    ngx_int_t                  rc;
    ngx_uint_t                 i, j, k, n, first;
    ngx_buf_t                 *b;
    ngx_queue_t               *q;
    ngx_slab_pool_t           *shpool;
    ngx_webrtc_shm_t          *sh;
    ngx_webrtc_shm_session_t  *all, *ss, *pub;
    ngx_webrtc_hls_t          *hls;
    ngx_webrtc_reason_t        ended[NGX_WEBRTC_REASONS];
    ngx_webrtc_stream_t       *st;
    ngx_http_webrtc_status_hls_t  *hs;
    ngx_uint_t                 nhls, ncas;
    ngx_http_webrtc_status_cascade_t  *cs;
    ngx_webrtc_stream_cascade_t       *sc;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_webrtc_worker == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    shpool = ngx_webrtc_worker->shm->shpool;
    sh = ngx_webrtc_worker->shm->sh;

    ngx_shmtx_lock(&shpool->mutex);

    n = sh->nsessions;

    all = ngx_palloc(r->pool, (n + 1) * sizeof(ngx_webrtc_shm_session_t));
    if (all == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    i = 0;

    for (q = ngx_queue_head(&sh->sessions);
         q != ngx_queue_sentinel(&sh->sessions) && i < n;
         q = ngx_queue_next(q))
    {
        ss = ngx_queue_data(q, ngx_webrtc_shm_session_t, queue);

        if (ss->closing) {
            continue;
        }

        all[i++] = *ss;
    }

    ngx_memcpy(ended, sh->ended, sizeof(ended));

    /* the streams' HLS stores */

    nhls = 0;

    for (q = ngx_queue_head(&sh->streams);
         q != ngx_queue_sentinel(&sh->streams);
         q = ngx_queue_next(q))
    {
        nhls++;
    }

    hs = ngx_palloc(r->pool, (nhls + 1) * sizeof(ngx_http_webrtc_status_hls_t));
    cs = ngx_palloc(r->pool, (nhls + 1) * (1 + NGX_WEBRTC_STREAM_PUSHES)
                             * sizeof(ngx_http_webrtc_status_cascade_t));
    if (hs == NULL || cs == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    nhls = 0;
    ncas = 0;

    for (q = ngx_queue_head(&sh->streams);
         q != ngx_queue_sentinel(&sh->streams);
         q = ngx_queue_next(q))
    {
        st = ngx_queue_data(q, ngx_webrtc_stream_t, queue);
        hls = st->hls;

        /* its pull and pushes (cascading) */

        for (j = 0; j <= NGX_WEBRTC_STREAM_PUSHES; j++) {
            sc = j ? &st->push[j - 1] : &st->pull;

            if (sc->pid == 0) {
                continue;
            }

            ngx_memcpy(cs[ncas].name, st->name, st->name_len);
            cs[ncas].name_len = st->name_len;
            cs[ncas].kind = j ? "push" : "pull";
            cs[ncas].state = *sc;
            ncas++;
        }

        if (hls == NULL) {
            continue;
        }

        ngx_memcpy(hs[nhls].name, st->name, st->name_len);
        hs[nhls].name_len = st->name_len;
        hs[nhls].segments = hls->nsegments;
        hs[nhls].parts = hls->nparts;
        hs[nhls].target = hls->target;
        hs[nhls].bytes = hls->written;
        hs[nhls].ended = hls->ended;
        hs[nhls].refused = (hls->refused != NGX_WEBRTC_HLS_OK);
        nhls++;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    n = i;

    len = sizeof("{\"pid\":,\"time\":,\"sessions\":,\"ended\":{},"
                 "\"streams\":[],\"hls\":[],\"cascade\":[]}\n")
          + ncas * (sizeof("{\"stream\":\"\",\"kind\":\"push\",\"url\":\"\","
                           "\"state\":\"connecting\",\"worker\":,"
                           "\"attempts\":,\"last_status\":},")
                    + 2 * NGX_WEBRTC_STREAM_MAX
                    + 6 * NGX_WEBRTC_CASCADE_URL_MAX + 3 * NGX_INT_T_LEN)
          + nhls * (sizeof("{\"stream\":\"\",\"segments\":,\"parts\":,"
                           "\"target\":,\"bytes\":,\"ended\":false,"
                           "\"refused\":false},")
                    + 2 * NGX_WEBRTC_STREAM_MAX + 4 * NGX_INT64_LEN)
          + 2 * NGX_INT_T_LEN + NGX_TIME_T_LEN
          + NGX_WEBRTC_REASONS * (sizeof("\"\":,") + 2 * NGX_WEBRTC_REASON_LEN
                                  + NGX_INT64_LEN);

    for (i = 0; i < n; i++) {
        len += sizeof("{\"name\":\"\",\"publisher\":null,\"viewers\":[]},")
               + 2 * all[i].stream_len + 1
               + ngx_http_webrtc_status_session_len(&all[i]);
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(b->last, "{\"pid\":%P,\"time\":%T,\"sessions\":%ui,"
                    "\"ended\":{", ngx_pid, ngx_time(), n);

    /* how many sessions ended, by reason, since the zone was made */

    for (i = 0; i < NGX_WEBRTC_REASONS && ended[i].len; i++) {
        if (i) {
            *p++ = ',';
        }

        *p++ = '"';
        p = (u_char *) ngx_escape_json(p, ended[i].text, ended[i].len);
        p = ngx_sprintf(p, "\":%uL", ended[i].count);
    }

    p = ngx_cpymem(p, "},\"streams\":[", sizeof("},\"streams\":[") - 1);

    /* one entry per stream, its publisher first */

    first = 1;

    for (i = 0; i < n; i++) {
        ss = &all[i];

        for (j = 0; j < i; j++) {
            if (all[j].stream_len == ss->stream_len
                && ngx_memcmp(all[j].stream, ss->stream, ss->stream_len) == 0)
            {
                break;
            }
        }

        if (j < i) {
            continue;
        }

        pub = NULL;

        for (j = i; j < n; j++) {
            if (all[j].role == NGX_WEBRTC_ROLE_PUBLISHER
                && all[j].stream_len == ss->stream_len
                && ngx_memcmp(all[j].stream, ss->stream, ss->stream_len) == 0)
            {
                pub = &all[j];
                break;
            }
        }

        if (!first) {
            *p++ = ',';
        }

        first = 0;

        p = ngx_cpymem(p, "{\"name\":\"", sizeof("{\"name\":\"") - 1);
        p = (u_char *) ngx_escape_json(p, ss->stream, ss->stream_len);
        p = ngx_cpymem(p, "\",\"publisher\":", sizeof("\",\"publisher\":") - 1);

        if (pub) {
            p = ngx_http_webrtc_status_session(p, pub);

        } else {
            p = ngx_cpymem(p, "null", 4);
        }

        p = ngx_cpymem(p, ",\"viewers\":[", sizeof(",\"viewers\":[") - 1);

        k = 0;

        for (j = i; j < n; j++) {
            if (all[j].role == NGX_WEBRTC_ROLE_VIEWER
                && all[j].stream_len == ss->stream_len
                && ngx_memcmp(all[j].stream, ss->stream, ss->stream_len) == 0)
            {
                if (k++) {
                    *p++ = ',';
                }

                p = ngx_http_webrtc_status_session(p, &all[j]);
            }
        }

        p = ngx_cpymem(p, "]}", 2);
    }

    p = ngx_cpymem(p, "],\"hls\":[", sizeof("],\"hls\":[") - 1);

    for (i = 0; i < nhls; i++) {
        p = ngx_sprintf(p, "%s{\"stream\":\"", i ? "," : "");
        p = (u_char *) ngx_escape_json(p, hs[i].name, hs[i].name_len);
        p = ngx_sprintf(p, "\",\"segments\":%uD,\"parts\":%uL,"
                        "\"target\":%uD,\"bytes\":%uL,\"ended\":%s,"
                        "\"refused\":%s}",
                        hs[i].segments, hs[i].parts, hs[i].target,
                        hs[i].bytes, hs[i].ended ? "true" : "false",
                        hs[i].refused ? "true" : "false");
    }

    p = ngx_cpymem(p, "],\"cascade\":[", sizeof("],\"cascade\":[") - 1);

    for (i = 0; i < ncas; i++) {
        sc = &cs[i].state;

        p = ngx_sprintf(p, "%s{\"stream\":\"", i ? "," : "");
        p = (u_char *) ngx_escape_json(p, cs[i].name, cs[i].name_len);
        p = ngx_sprintf(p, "\",\"kind\":\"%s\",\"url\":\"", cs[i].kind);
        p = (u_char *) ngx_escape_json(p, sc->url,
                                       ngx_min(sc->url_len,
                                               NGX_WEBRTC_CASCADE_URL_MAX));
        p = ngx_sprintf(p, "\",\"state\":\"%s\",\"worker\":%P,"
                        "\"attempts\":%ui,\"last_status\":%ui}",
                        ngx_http_webrtc_cascade_states[
                            sc->state <= NGX_WEBRTC_CASCADE_RETRYING
                            ? sc->state : 0],
                        sc->pid, sc->attempts, sc->status);
    }

    done = p;
    p = ngx_cpymem(done, "]}\n", 3);

    b->last = p;

    return ngx_http_webrtc_send(r, NGX_HTTP_OK, &ngx_http_webrtc_status_type,
                                b);
}


static size_t
ngx_http_webrtc_status_session_len(ngx_webrtc_shm_session_t *ss)
{
    return sizeof("{\"id\":\"\",\"worker\":,\"port\":,\"remote\":\"\","
                  "\"transport\":\"udp\",\"tcp_dropped\":,"
                  "\"skipped_to_keyframe\":,"
                  "\"state\":\"checking\",\"uptime\":,\"user_agent\":\"\","
                  "\"data\":{\"channels\":,\"messages_in\":,"
                  "\"bytes_in\":,\"messages_out\":,\"bytes_out\":,"
                  "\"dropped\":},\"srtp\":{\"ssrcs\":,\"ssrc_dropped\":},"
                  "\"tracks\":[]}") - 1
           + 10 * NGX_INT64_LEN
           + sizeof(",\"ice\":{\"ufrag\":\"\",\"restarts\":}") - 1
           + NGX_WEBRTC_UFRAG_LEN
           + NGX_WEBRTC_ID_LEN + 4 * NGX_INT_T_LEN + ss->remote_len
           + 6 * ss->user_agent_len
           + NGX_WEBRTC_MAX_TRACKS
             * (sizeof("{\"kind\":\"application\",\"codec\":\"telephone-event\","
                       "\"packets\":,\"bytes\":,\"keyframes\":,\"lost\":,"
                       "\"bitrate\":,\"keyframe_requests\":,\"width\":,\"height\":,"
                       "\"nacks\":,\"nacks_refused\":,\"plis\":,\"rtt_ms\":,"
                       "\"fraction_lost\":,\"rid\":\"\",\"layer\":,"
                       "\"active\":false},")
                + 14 * NGX_INT64_LEN + NGX_WEBRTC_RID_MAX);
}


static u_char *
ngx_http_webrtc_status_session(u_char *p, ngx_webrtc_shm_session_t *ss)
{
    ngx_uint_t               i;
    ngx_webrtc_shm_track_t  *t;

    p = ngx_sprintf(p, "{\"id\":\"%*s\",\"worker\":%P,\"port\":%ui,"
                    "\"remote\":\"%*s\",\"transport\":\"%s\","
                    "\"tcp_dropped\":%uL,\"skipped_to_keyframe\":%uL,"
                    "\"state\":\"%s\",\"uptime\":%T,"
                    "\"user_agent\":\"",
                    (size_t) NGX_WEBRTC_ID_LEN, ss->id, ss->pid,
                    (ngx_uint_t) ss->port, ss->remote_len, ss->remote,
                    ss->tcp ? "tcp" : "udp", ss->tcp_dropped, ss->tcp_skips,
                    ngx_http_webrtc_states[ss->state & 3],
                    ngx_time() - ss->start);

    p = (u_char *) ngx_escape_json(p, ss->user_agent, ss->user_agent_len);

    p = ngx_sprintf(p, "\",\"ice\":{\"ufrag\":\"%*s\",\"restarts\":%ui}",
                    (size_t) NGX_WEBRTC_UFRAG_LEN, ss->ice_ufrag,
                    ss->ice_restarts);

    p = ngx_sprintf(p, ",\"data\":{\"channels\":%ui,\"messages_in\":%uL,"
                    "\"bytes_in\":%uL,\"messages_out\":%uL,"
                    "\"bytes_out\":%uL,\"dropped\":%uL},"
                    "\"srtp\":{\"ssrcs\":%ui,\"ssrc_dropped\":%uL},"
                    "\"tracks\":[",
                    ss->channels, ss->dc_msgs_in, ss->dc_bytes_in,
                    ss->dc_msgs_out, ss->dc_bytes_out, ss->dc_dropped,
                    ss->srtp_ssrcs, ss->srtp_ssrc_dropped);

    for (i = 0; i < ss->ntracks && i < NGX_WEBRTC_MAX_TRACKS; i++) {
        t = &ss->tracks[i];

        p = ngx_sprintf(p, "%s{\"kind\":\"%s\",\"codec\":\"%s\","
                        "\"packets\":%uL,\"bytes\":%uL,\"keyframes\":%uL,"
                        "\"lost\":%uL,\"bitrate\":%uL,\"keyframe_requests\":%uL,"
                        "\"width\":%ui,\"height\":%ui,\"nacks\":%uL,"
                        "\"nacks_refused\":%uL,\"plis\":%uL,\"rtt_ms\":%ui,"
                        "\"fraction_lost\":%ui}",
                        i ? "," : "", ngx_http_webrtc_kinds[t->kind & 3],
                        ngx_webrtc_codec_name(t->codec),
                        t->packets, t->bytes, t->keyframes, t->lost,
                        t->bitrate, t->keyframe_requests, t->width, t->height,
                        t->nacks, t->nacks_refused, t->plis, t->rtt,
                        t->fraction_lost);

        if (t->rid_len) {
            /* a simulcast layer: active while it brings anything */
            p--;
            p = ngx_sprintf(p, ",\"rid\":\"%*s\",\"layer\":%ui,"
                            "\"active\":%s}",
                            ngx_min(t->rid_len, NGX_WEBRTC_RID_MAX), t->rid,
                            t->layer, t->bitrate ? "true" : "false");
        }
    }

    return ngx_cpymem(p, "]}", 2);
}
