
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_http_webrtc.h"
#include "ngx_webrtc_hls.h"


/*
 * GET of a webrtc_metrics location: Prometheus' text exposition format
 * for all workers, from the shared registry.  Counters are the live
 * records' plus those the zone kept of freed records, so they only grow
 * (until the zone is made anew: a restart, not a reload).  What is read
 * is copied under the lock and formatted after it.  Per-stream series
 * ("webrtc_metrics streams") cost a series per stream name: off unless
 * asked for.
 */


#define NGX_HTTP_WEBRTC_METRICS_BASE     16384
#define NGX_HTTP_WEBRTC_METRICS_STREAM   (512 + 6 * NGX_WEBRTC_STREAM_MAX)
#define NGX_HTTP_WEBRTC_METRICS_REASON   (192 + 4 * NGX_WEBRTC_REASON_LEN)


/* a stream's series, as copied under the lock */
typedef struct {
    u_char                      name[NGX_WEBRTC_STREAM_MAX];
    size_t                      name_len;
    ngx_uint_t                  viewers;
    ngx_uint_t                  published;    /* a connected publisher */
    uint64_t                    bitrate[NGX_WEBRTC_KINDS];
} ngx_http_webrtc_metrics_stream_t;


typedef struct {
    ngx_uint_t                  sessions[3][4];   /* role, state */
    ngx_uint_t                  streams;
    ngx_uint_t                  hls_streams;
    uint64_t                    created[3];
    ngx_webrtc_counters_t       c;
    ngx_webrtc_reason_t         ended[NGX_WEBRTC_REASONS];
    ngx_atomic_uint_t           setup[NGX_WEBRTC_SETUP_BUCKETS + 1];
    ngx_atomic_uint_t           setup_ms;
    ngx_uint_t                  nstreams;
    ngx_http_webrtc_metrics_stream_t  *st;
} ngx_http_webrtc_metrics_t;


static ngx_int_t ngx_http_webrtc_metrics_read(ngx_http_request_t *r,
    ngx_http_webrtc_metrics_t *m, ngx_uint_t streams);
static void ngx_http_webrtc_metrics_group(ngx_http_webrtc_metrics_t *m);
static int ngx_libc_cdecl ngx_http_webrtc_metrics_cmp(const void *one,
    const void *two);
static u_char *ngx_http_webrtc_metrics_head(u_char *p, u_char *last,
    const char *name, const char *type, const char *help);
static u_char *ngx_http_webrtc_metrics_label(u_char *p, u_char *last,
    u_char *value, size_t len);


static ngx_str_t  ngx_http_webrtc_metrics_type =
    ngx_string("text/plain; version=0.0.4; charset=utf-8");

static const char  *ngx_http_webrtc_metrics_roles[] = {
    NULL, "publisher", "viewer"
};

static const char  *ngx_http_webrtc_metrics_states[] = {
    "new", "checking", "connected", "closed"
};

static const char  *ngx_http_webrtc_metrics_kinds[] = {
    NULL, "audio", "video", NULL
};


ngx_int_t
ngx_http_webrtc_metrics_handler(ngx_http_request_t *r)
{
    u_char                            *p, *last;
    size_t                             len;
    uint64_t                           sum;
    ngx_int_t                          rc;
    ngx_uint_t                         i, k, role, state;
    ngx_buf_t                         *b;
    ngx_webrtc_counters_t             *c;
    ngx_http_webrtc_metrics_t          m;
    ngx_http_webrtc_loc_conf_t        *wlcf;
    ngx_http_webrtc_metrics_stream_t  *ms;

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

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);

    if (ngx_http_webrtc_metrics_read(r, &m, wlcf->metrics_streams) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = NGX_HTTP_WEBRTC_METRICS_BASE
          + NGX_WEBRTC_REASONS * NGX_HTTP_WEBRTC_METRICS_REASON
          + m.nstreams * NGX_HTTP_WEBRTC_METRICS_STREAM;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->last;
    last = b->end;
    c = &m.c;

    /* gauges */

    p = ngx_http_webrtc_metrics_head(p, last, "webrtc_sessions", "gauge",
                                     "Sessions by role and state.");

    for (role = NGX_WEBRTC_ROLE_PUBLISHER; role <= NGX_WEBRTC_ROLE_VIEWER;
         role++)
    {
        for (state = 0; state < 3; state++) {
            p = ngx_slprintf(p, last,
                             "webrtc_sessions{role=\"%s\",state=\"%s\"} %ui\n",
                             ngx_http_webrtc_metrics_roles[role],
                             ngx_http_webrtc_metrics_states[state],
                             m.sessions[role][state]);
        }
    }

    p = ngx_http_webrtc_metrics_head(p, last, "webrtc_streams", "gauge",
                                     "Streams with a publisher.");
    p = ngx_slprintf(p, last, "webrtc_streams %ui\n", m.streams);

    p = ngx_http_webrtc_metrics_head(p, last, "webrtc_hls_streams", "gauge",
                                     "Streams with an HLS store.");
    p = ngx_slprintf(p, last, "webrtc_hls_streams %ui\n", m.hls_streams);

    /* counters */

    p = ngx_http_webrtc_metrics_head(p, last, "webrtc_sessions_created_total",
                                     "counter", "Sessions created, by role.");

    for (role = NGX_WEBRTC_ROLE_PUBLISHER; role <= NGX_WEBRTC_ROLE_VIEWER;
         role++)
    {
        p = ngx_slprintf(p, last,
                         "webrtc_sessions_created_total{role=\"%s\"} %uL\n",
                         ngx_http_webrtc_metrics_roles[role], m.created[role]);
    }

    p = ngx_http_webrtc_metrics_head(p, last, "webrtc_sessions_ended_total",
                                     "counter", "Sessions ended, by reason.");

    for (i = 0; i < NGX_WEBRTC_REASONS && m.ended[i].len; i++) {
        p = ngx_slprintf(p, last, "webrtc_sessions_ended_total{reason=\"");
        p = ngx_http_webrtc_metrics_label(p, last, m.ended[i].text,
                                          m.ended[i].len);
        p = ngx_slprintf(p, last, "\"} %uL\n", m.ended[i].count);
    }

    p = ngx_http_webrtc_metrics_head(p, last, "webrtc_packets_total", "counter",
            "RTP packets received from publishers (in) and sent to viewers "
            "(out), by kind.");

    for (k = 0; k < NGX_WEBRTC_KINDS; k++) {
        if (ngx_http_webrtc_metrics_kinds[k] == NULL) {
            continue;
        }

        p = ngx_slprintf(p, last,
                 "webrtc_packets_total{direction=\"in\",kind=\"%s\"} %uL\n"
                 "webrtc_packets_total{direction=\"out\",kind=\"%s\"} %uL\n",
                 ngx_http_webrtc_metrics_kinds[k], c->rx_packets[k],
                 ngx_http_webrtc_metrics_kinds[k], c->tx_packets[k]);
    }

    p = ngx_http_webrtc_metrics_head(p, last, "webrtc_bytes_total", "counter",
            "RTP payload bytes received from publishers (in) and sent to "
            "viewers (out), by kind.");

    for (k = 0; k < NGX_WEBRTC_KINDS; k++) {
        if (ngx_http_webrtc_metrics_kinds[k] == NULL) {
            continue;
        }

        p = ngx_slprintf(p, last,
                 "webrtc_bytes_total{direction=\"in\",kind=\"%s\"} %uL\n"
                 "webrtc_bytes_total{direction=\"out\",kind=\"%s\"} %uL\n",
                 ngx_http_webrtc_metrics_kinds[k], c->rx_bytes[k],
                 ngx_http_webrtc_metrics_kinds[k], c->tx_bytes[k]);
    }

    p = ngx_http_webrtc_metrics_head(p, last, "webrtc_packets_lost_total",
            "counter", "Publishers' packets that never arrived.");
    p = ngx_slprintf(p, last, "webrtc_packets_lost_total %uL\n", c->lost);

    p = ngx_http_webrtc_metrics_head(p, last, "webrtc_keyframe_requests_total",
            "counter", "Keyframe requests (PLI) sent to publishers.");
    p = ngx_slprintf(p, last, "webrtc_keyframe_requests_total %uL\n",
                     c->keyframe_requests);

    p = ngx_http_webrtc_metrics_head(p, last, "webrtc_retransmissions_total",
            "counter", "Packets resent to viewers on their NACKs.");
    p = ngx_slprintf(p, last, "webrtc_retransmissions_total %uL\n", c->nacks);

    p = ngx_http_webrtc_metrics_head(p, last, "webrtc_dropped_total", "counter",
            "Packets and messages dropped, by reason.");
    p = ngx_slprintf(p, last,
                     "webrtc_dropped_total{reason=\"nack_cap\"} %uL\n"
                     "webrtc_dropped_total{reason=\"unknown_ssrc\"} %uL\n"
                     "webrtc_dropped_total{reason=\"data_limit\"} %uL\n",
                     c->nacks_refused, c->ssrc_dropped, c->dc_dropped);

    p = ngx_http_webrtc_metrics_head(p, last, "webrtc_plis_received_total",
            "counter", "Keyframe requests (PLI, FIR) received from viewers.");
    p = ngx_slprintf(p, last, "webrtc_plis_received_total %uL\n", c->plis);

    p = ngx_http_webrtc_metrics_head(p, last,
            "webrtc_datachannel_messages_total", "counter",
            "Data channel messages received (in) and sent (out).");
    p = ngx_slprintf(p, last,
                     "webrtc_datachannel_messages_total{direction=\"in\"} %uL\n"
                     "webrtc_datachannel_messages_total{direction=\"out\"} %uL\n",
                     c->dc_msgs_in, c->dc_msgs_out);

    p = ngx_http_webrtc_metrics_head(p, last, "webrtc_datachannel_bytes_total",
            "counter", "Data channel bytes received (in) and sent (out).");
    p = ngx_slprintf(p, last,
                     "webrtc_datachannel_bytes_total{direction=\"in\"} %uL\n"
                     "webrtc_datachannel_bytes_total{direction=\"out\"} %uL\n",
                     c->dc_bytes_in, c->dc_bytes_out);

    /* the setup time: POST to DTLS connected */

    p = ngx_http_webrtc_metrics_head(p, last, "webrtc_setup_seconds",
            "histogram", "From the offer's POST to DTLS connected.");

    sum = 0;

    for (i = 0; i < NGX_WEBRTC_SETUP_BUCKETS; i++) {
        sum += m.setup[i];
        p = ngx_slprintf(p, last, "webrtc_setup_seconds_bucket{le=\"%M.%03M\"} "
                         "%uL\n", ngx_webrtc_setup_buckets[i] / 1000,
                         ngx_webrtc_setup_buckets[i] % 1000, sum);
    }

    sum += m.setup[i];

    p = ngx_slprintf(p, last, "webrtc_setup_seconds_bucket{le=\"+Inf\"} %uL\n"
                     "webrtc_setup_seconds_sum %uA.%03uA\n"
                     "webrtc_setup_seconds_count %uL\n",
                     sum, m.setup_ms / 1000, m.setup_ms % 1000, sum);

    /* per stream, when asked for */

    if (wlcf->metrics_streams) {
        p = ngx_http_webrtc_metrics_head(p, last, "webrtc_stream_viewers",
                "gauge", "Viewers of a stream.");

        for (i = 0; i < m.nstreams; i++) {
            ms = &m.st[i];
            p = ngx_slprintf(p, last, "webrtc_stream_viewers{stream=\"");
            p = ngx_http_webrtc_metrics_label(p, last, ms->name, ms->name_len);
            p = ngx_slprintf(p, last, "\"} %ui\n", ms->viewers);
        }

        p = ngx_http_webrtc_metrics_head(p, last, "webrtc_stream_published",
                "gauge", "1 while a stream's publisher is connected.");

        for (i = 0; i < m.nstreams; i++) {
            ms = &m.st[i];
            p = ngx_slprintf(p, last, "webrtc_stream_published{stream=\"");
            p = ngx_http_webrtc_metrics_label(p, last, ms->name, ms->name_len);
            p = ngx_slprintf(p, last, "\"} %ui\n", ms->published);
        }

        p = ngx_http_webrtc_metrics_head(p, last,
                "webrtc_stream_bitrate_bits_per_second", "gauge",
                "A stream's published bitrate, by kind.");

        for (i = 0; i < m.nstreams; i++) {
            ms = &m.st[i];

            for (k = 0; k < NGX_WEBRTC_KINDS; k++) {
                if (ngx_http_webrtc_metrics_kinds[k] == NULL) {
                    continue;
                }

                p = ngx_slprintf(p, last,
                        "webrtc_stream_bitrate_bits_per_second{stream=\"");
                p = ngx_http_webrtc_metrics_label(p, last, ms->name,
                                                  ms->name_len);
                p = ngx_slprintf(p, last, "\",kind=\"%s\"} %uL\n",
                                 ngx_http_webrtc_metrics_kinds[k],
                                 ms->bitrate[k]);
            }
        }
    }

    if (p == last) {
        /* cannot be: the buffer is sized for every series */
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "webrtc: metrics did not fit in %uz bytes", len);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = p;

    return ngx_http_webrtc_send(r, NGX_HTTP_OK, &ngx_http_webrtc_metrics_type,
                                b);
}


static ngx_int_t
ngx_http_webrtc_metrics_read(ngx_http_request_t *r,
    ngx_http_webrtc_metrics_t *m, ngx_uint_t streams)
{
    ngx_uint_t                         i, k, n;
    ngx_queue_t                       *q;
    ngx_slab_pool_t                   *shpool;
    ngx_webrtc_shm_t                  *sh;
    ngx_webrtc_stream_t               *st;
    ngx_webrtc_shm_session_t          *ss;
    ngx_http_webrtc_metrics_stream_t  *ms;

    ngx_memzero(m, sizeof(ngx_http_webrtc_metrics_t));

    shpool = ngx_webrtc_worker->shm->shpool;
    sh = ngx_webrtc_worker->shm->sh;

    ngx_shmtx_lock(&shpool->mutex);

    /* at most one series per session's stream: allocated before walking */

    n = streams ? sh->nsessions : 0;

    if (n) {
        m->st = ngx_pcalloc(r->pool,
                           n * sizeof(ngx_http_webrtc_metrics_stream_t));
        if (m->st == NULL) {
            ngx_shmtx_unlock(&shpool->mutex);
            return NGX_ERROR;
        }
    }

    m->c = sh->freed;
    ngx_memcpy(m->ended, sh->ended, sizeof(m->ended));
    ngx_memcpy(m->created, sh->created, sizeof(m->created));

    for (q = ngx_queue_head(&sh->sessions);
         q != ngx_queue_sentinel(&sh->sessions);
         q = ngx_queue_next(q))
    {
        ss = ngx_queue_data(q, ngx_webrtc_shm_session_t, queue);

        /* an ended session's counters count until its record is freed */

        ngx_webrtc_registry_count(&m->c, ss);

        if (ss->closing || ss->role > NGX_WEBRTC_ROLE_VIEWER) {
            continue;
        }

        m->sessions[ss->role][ss->state & 3]++;

        if (ss->role == NGX_WEBRTC_ROLE_PUBLISHER) {
            m->streams++;
        }

        if (n == 0) {
            continue;
        }

        /* one entry per session, grouped by stream after the lock */

        ms = &m->st[m->nstreams++];

        ngx_memcpy(ms->name, ss->stream, ss->stream_len);
        ms->name_len = ss->stream_len;

        if (ss->role == NGX_WEBRTC_ROLE_VIEWER) {
            ms->viewers = 1;
            continue;
        }

        ms->published = (ss->state == NGX_WEBRTC_STATE_CONNECTED);

        for (i = 0; i < ss->ntracks && i < NGX_WEBRTC_MAX_TRACKS; i++) {
            k = ss->tracks[i].kind & (NGX_WEBRTC_KINDS - 1);
            ms->bitrate[k] += ss->tracks[i].bitrate;
        }
    }

    for (q = ngx_queue_head(&sh->streams);
         q != ngx_queue_sentinel(&sh->streams);
         q = ngx_queue_next(q))
    {
        st = ngx_queue_data(q, ngx_webrtc_stream_t, queue);

        if (st->hls) {
            m->hls_streams++;
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_http_webrtc_metrics_group(m);

    for (i = 0; i <= NGX_WEBRTC_SETUP_BUCKETS; i++) {
        m->setup[i] = sh->setup[i];
    }

    m->setup_ms = sh->setup_ms;

    return NGX_OK;
}


/* the sessions' entries sorted by stream, and those of a stream added up */

static void
ngx_http_webrtc_metrics_group(ngx_http_webrtc_metrics_t *m)
{
    ngx_uint_t                         i, j, k;
    ngx_http_webrtc_metrics_stream_t  *a, *b;

    if (m->nstreams == 0) {
        return;
    }

    ngx_qsort(m->st, m->nstreams, sizeof(ngx_http_webrtc_metrics_stream_t),
              ngx_http_webrtc_metrics_cmp);

    for (i = 0, j = 1; j < m->nstreams; j++) {
        a = &m->st[i];
        b = &m->st[j];

        if (ngx_http_webrtc_metrics_cmp(a, b) != 0) {
            m->st[++i] = *b;
            continue;
        }

        a->viewers += b->viewers;
        a->published |= b->published;

        for (k = 0; k < NGX_WEBRTC_KINDS; k++) {
            a->bitrate[k] += b->bitrate[k];
        }
    }

    m->nstreams = i + 1;
}


static int ngx_libc_cdecl
ngx_http_webrtc_metrics_cmp(const void *one, const void *two)
{
    size_t                                   len;
    ngx_int_t                                rc;
    const ngx_http_webrtc_metrics_stream_t  *a = one, *b = two;

    len = ngx_min(a->name_len, b->name_len);
    rc = ngx_memcmp(a->name, b->name, len);

    if (rc != 0) {
        return rc;
    }

    return (a->name_len > b->name_len) - (a->name_len < b->name_len);
}


static u_char *
ngx_http_webrtc_metrics_head(u_char *p, u_char *last, const char *name,
    const char *type, const char *help)
{
    return ngx_slprintf(p, last, "# HELP %s %s\n# TYPE %s %s\n",
                        name, help, name, type);
}


/* a label value: backslash, double quote and line feed escaped */

static u_char *
ngx_http_webrtc_metrics_label(u_char *p, u_char *last, u_char *value,
    size_t len)
{
    u_char  *end;

    for (end = value + len; value < end && p + 2 <= last; value++) {
        switch (*value) {

        case '\\':
        case '"':
            *p++ = '\\';
            *p++ = *value;
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        default:
            *p++ = *value;
        }
    }

    return p;
}
