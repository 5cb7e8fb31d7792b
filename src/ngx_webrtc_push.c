
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_push.h"
#include "ngx_webrtc_cascade.h"
#include "ngx_webrtc_viewer.h"

#include <openssl/rand.h>


/*
 * A push: started in the worker of a new publisher, one per webrtc_push
 * of its location.  An attempt: a viewer session of the stream with the
 * stream's codecs, its sendonly offer POSTed to <url><stream>, then ICE
 * (controlling) and DTLS (client) to the answer's candidate; media flows
 * from the stream's ring as to any viewer (GOP replay, NACK, PLI to the
 * publisher).  A failed or ended attempt is retried with backoff while
 * the publisher stays; when it leaves, the push DELETEs its session on
 * the peer and ends.  A tick watches the publisher and the session by
 * id: nothing calls up into the push.
 */


#define NGX_WEBRTC_PUSH_TICK         500
#define NGX_WEBRTC_PUSH_BACKOFF      1000
#define NGX_WEBRTC_PUSH_BACKOFF_MAX  30000


typedef struct {
    ngx_queue_t                 queue;
    ngx_pool_t                 *pool;
    ngx_log_t                   log;
    ngx_webrtc_http_peer_t     *peer;
    ngx_webrtc_stream_t        *st;           /* a reference of its own */
    ngx_webrtc_stream_cascade_t *state;       /* in st, NULL: no room */
    ngx_str_t                   name;
    ngx_str_t                   uri;          /* url + name */
    u_char                      pub_id[NGX_WEBRTC_ID_LEN];

    ngx_webrtc_http_req_t      *req;
    ngx_webrtc_session_t       *s;            /* before the answer */
    u_char                      id[NGX_WEBRTC_ID_LEN];
    unsigned                    has_session:1;
    unsigned                    connected:1;

    ngx_webrtc_cascade_location_t  location;

    ngx_event_t                 timer;
    ngx_msec_t                  backoff;
    ngx_msec_t                  retry_at;
    ngx_uint_t                  attempts;
    ngx_uint_t                  busy;         /* see the pull's */
} ngx_webrtc_push_t;


static void ngx_webrtc_push_slot(ngx_webrtc_push_t *p);
static void ngx_webrtc_push_state(ngx_webrtc_push_t *p, ngx_uint_t state,
    ngx_uint_t status);
static void ngx_webrtc_push_attempt(ngx_webrtc_push_t *p);
static ngx_webrtc_session_t *ngx_webrtc_push_session(ngx_webrtc_push_t *p);
static void ngx_webrtc_push_answer(ngx_webrtc_http_req_t *hr);
static ngx_int_t ngx_webrtc_push_connect(ngx_webrtc_push_t *p,
    ngx_webrtc_http_req_t *hr);
static void ngx_webrtc_push_fail(ngx_webrtc_push_t *p, const char *reason);
static void ngx_webrtc_push_tick(ngx_event_t *ev);
static void ngx_webrtc_push_stop(ngx_webrtc_push_t *p, const char *reason);
static u_char *ngx_webrtc_push_log_error(ngx_log_t *log, u_char *buf,
    size_t len);


static ngx_queue_t  ngx_webrtc_pushes;


void
ngx_webrtc_push_init(void)
{
    ngx_queue_init(&ngx_webrtc_pushes);
}


void
ngx_webrtc_push_exit(void)
{
    ngx_queue_t        *q;
    ngx_webrtc_push_t  *p;

    if (ngx_queue_next(&ngx_webrtc_pushes) == NULL) {
        return;
    }

    while (!ngx_queue_empty(&ngx_webrtc_pushes)) {
        q = ngx_queue_head(&ngx_webrtc_pushes);
        p = ngx_queue_data(q, ngx_webrtc_push_t, queue);

        /* the peer's session ends with its consent: no DELETE now */
        p->location.len = 0;
        ngx_webrtc_push_stop(p, "worker exit");
    }
}


ngx_int_t
ngx_webrtc_push_start(ngx_array_t *peers, ngx_str_t *stream,
    u_char *publisher_id)
{
    u_char                  *u;
    ngx_uint_t               i;
    ngx_pool_t              *pool;
    ngx_webrtc_push_t       *p;
    ngx_webrtc_http_peer_t  *peer;

    if (ngx_queue_next(&ngx_webrtc_pushes) == NULL) {
        ngx_webrtc_push_init();
    }

    peer = peers->elts;

    for (i = 0; i < peers->nelts; i++) {
        pool = ngx_create_pool(1024, ngx_webrtc_worker->log);
        if (pool == NULL) {
            return NGX_ERROR;
        }

        p = ngx_pcalloc(pool, sizeof(ngx_webrtc_push_t));
        if (p == NULL) {
            ngx_destroy_pool(pool);
            return NGX_ERROR;
        }

        p->pool = pool;
        p->peer = &peer[i];

        p->name.data = ngx_pstrdup(pool, stream);
        p->name.len = stream->len;

        p->uri.len = peer[i].uri.len + stream->len;
        p->uri.data = ngx_pnalloc(pool, p->uri.len);

        if (p->name.data == NULL || p->uri.data == NULL) {
            ngx_destroy_pool(pool);
            return NGX_ERROR;
        }

        u = ngx_cpymem(p->uri.data, peer[i].uri.data, peer[i].uri.len);
        ngx_memcpy(u, stream->data, stream->len);
        ngx_memcpy(p->pub_id, publisher_id, NGX_WEBRTC_ID_LEN);

        p->log = *ngx_webrtc_worker->log;
        p->log.handler = ngx_webrtc_push_log_error;
        p->log.data = p;
        p->log.action = NULL;
        pool->log = &p->log;

        p->timer.handler = ngx_webrtc_push_tick;
        p->timer.data = p;
        p->timer.log = &p->log;
        p->timer.cancelable = 1;

        p->backoff = NGX_WEBRTC_PUSH_BACKOFF;

        p->st = ngx_webrtc_stream_acquire(stream, 0);
        if (p->st == NULL) {
            ngx_destroy_pool(pool);
            return NGX_ERROR;
        }

        ngx_webrtc_push_slot(p);

        ngx_queue_insert_tail(&ngx_webrtc_pushes, &p->queue);

        ngx_log_error(NGX_LOG_INFO, &p->log, 0, "webrtc: push started");

        ngx_webrtc_push_attempt(p);

        ngx_add_timer(&p->timer, NGX_WEBRTC_PUSH_TICK);
    }

    return NGX_OK;
}


/* a free entry of the stream's record for the push's state */

static void
ngx_webrtc_push_slot(ngx_webrtc_push_t *p)
{
    ngx_uint_t        i;
    ngx_slab_pool_t  *shpool;

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < NGX_WEBRTC_STREAM_PUSHES; i++) {
        if (p->st->push[i].pid == 0) {
            p->state = &p->st->push[i];
            ngx_webrtc_cascade_url(p->state, p->peer, &p->uri);
            break;
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


static void
ngx_webrtc_push_state(ngx_webrtc_push_t *p, ngx_uint_t state,
    ngx_uint_t status)
{
    if (p->state) {
        ngx_webrtc_cascade_state(p->state, state, status);
    }
}


static void
ngx_webrtc_push_attempt(ngx_webrtc_push_t *p)
{
    size_t                 n;
    ngx_str_t              body;
    ngx_webrtc_session_t  *s;
    u_char                 buf[NGX_WEBRTC_CASCADE_OFFER_MAX];

    p->attempts++;

    s = ngx_webrtc_push_session(p);
    if (s == NULL) {
        ngx_webrtc_push_fail(p, "no session");
        return;
    }

    n = ngx_webrtc_cascade_offer(s, buf, sizeof(buf));
    if (n == 0) {
        ngx_webrtc_session_close(s, "offer too large");
        ngx_webrtc_push_fail(p, "no offer");
        return;
    }

    body.data = buf;
    body.len = n;

    p->s = s;

    ngx_webrtc_push_state(p, NGX_WEBRTC_CASCADE_POSTING, 0);

    p->req = ngx_webrtc_http_request(p->peer, "POST", &p->uri,
                                     "application/sdp", &body,
                                     ngx_webrtc_push_answer, p, &p->log);
    if (p->req == NULL) {
        p->s = NULL;
        ngx_webrtc_session_close(s, "no memory");
        ngx_webrtc_push_fail(p, "no memory");
    }
}


/* a viewer session with the stream's codecs, in our payload types */

static ngx_webrtc_session_t *
ngx_webrtc_push_session(ngx_webrtc_push_t *p)
{
    u_char                     *r;
    ngx_uint_t                  k;
    ngx_webrtc_track_t         *tr;
    ngx_webrtc_stream_t        *st;
    ngx_webrtc_session_t       *s;
    ngx_webrtc_stream_track_t  *sk;
    u_char                      rnd[2 * 10];

    st = ngx_webrtc_stream_acquire(&p->name, 0);

    if (st == NULL || st->pub_pid == 0 || RAND_bytes(rnd, sizeof(rnd)) != 1)
    {
        if (st) {
            ngx_webrtc_stream_release(st);
        }

        return NULL;
    }

    s = ngx_webrtc_session_create(&p->name, NGX_WEBRTC_ROLE_VIEWER);
    if (s == NULL) {
        ngx_webrtc_stream_release(st);
        return NULL;
    }

    /* the session holds the stream reference from now on */
    s->st = st;

    for (k = 0; k < 2; k++) {
        sk = &st->tracks[k];

        if (!sk->kind || ngx_webrtc_cascade_pt(sk->codec) == 0) {
            continue;
        }

        tr = &s->tracks[s->ntracks++];

        tr->kind = sk->kind;
        tr->codec = sk->codec;
        tr->pt = ngx_webrtc_cascade_pt(sk->codec);
        tr->clock_rate = sk->clock_rate;
        tr->channels = sk->channels;

        tr->fmtp.len = sk->fmtp_len;
        tr->fmtp.data = ngx_pnalloc(s->pool, sk->fmtp_len + 1);
        if (tr->fmtp.data == NULL) {
            ngx_webrtc_session_close(s, "no memory");
            return NULL;
        }

        ngx_memcpy(tr->fmtp.data, sk->fmtp, sk->fmtp_len);

        r = rnd + 10 * k;

        tr->out_ssrc = ((uint32_t) r[0] << 24 | (uint32_t) r[1] << 16
                        | (uint32_t) r[2] << 8 | r[3]) | 1;
        tr->seq_start = (uint16_t) (r[4] << 8 | r[5]);
        tr->ts_off = (uint32_t) r[6] << 24 | (uint32_t) r[7] << 16
                     | (uint32_t) r[8] << 8 | r[9];
    }

    if (s->ntracks == 0) {
        ngx_webrtc_session_close(s, "no track to push");
        return NULL;
    }

    return s;
}


static void
ngx_webrtc_push_answer(ngx_webrtc_http_req_t *hr)
{
    ngx_int_t           rc;
    ngx_webrtc_push_t  *p;

    p = hr->data;
    p->req = NULL;

    if (hr->res.status != 201) {
        ngx_webrtc_session_close(p->s, "peer refused");
        p->s = NULL;

        if (hr->res.status) {
            ngx_log_error(NGX_LOG_WARN, &p->log, 0,
                          "webrtc: the peer answered %ui",
                          (ngx_uint_t) hr->res.status);
        }

        ngx_webrtc_push_state(p, NGX_WEBRTC_CASCADE_RETRYING,
                              hr->res.status);
        ngx_webrtc_push_fail(p, hr->error ? hr->error : "peer refused");
        return;
    }

    ngx_webrtc_cascade_location(hr, &p->location, &p->log);

    rc = ngx_webrtc_push_connect(p, hr);

    if (rc != NGX_OK) {
        if (p->s) {
            ngx_webrtc_session_close(p->s, "push failed");
            p->s = NULL;
        }

        if (rc == NGX_DECLINED
            && p->busy++ < NGX_WEBRTC_CASCADE_BUSY_RETRIES)
        {
            /* another POST may land on another worker of the peer */
            ngx_webrtc_cascade_delete(p->peer, &p->location);
            ngx_webrtc_push_attempt(p);
            return;
        }

        ngx_webrtc_push_fail(p, "answer not usable");
        return;
    }

    p->busy = 0;

    ngx_memcpy(p->id, p->s->id, NGX_WEBRTC_ID_LEN);
    p->has_session = 1;
    p->s = NULL;

    ngx_webrtc_push_state(p, NGX_WEBRTC_CASCADE_CONNECTING, 0);
}


static ngx_int_t
ngx_webrtc_push_connect(ngx_webrtc_push_t *p, ngx_webrtc_http_req_t *hr)
{
    ngx_int_t                  rc;
    ngx_str_t                  ua;
    ngx_uint_t                 k;
    ngx_webrtc_sdp_t          *sdp;
    ngx_webrtc_session_t      *s;
    ngx_webrtc_sdp_remote_t    r;
    ngx_webrtc_shm_entry_t     e;
    ngx_webrtc_shm_session_t   replaced;

    s = p->s;

    rc = ngx_webrtc_cascade_answer(s, hr, &sdp, &r, &p->log);
    if (rc != NGX_OK) {
        return rc;
    }

    /* the peer takes our payload types; a track it refused is not sent */

    for (k = 0; k < s->ntracks; k++) {
        if (r.codec[s->tracks[k].kind == NGX_WEBRTC_MEDIA_VIDEO] == NULL) {
            ngx_log_error(NGX_LOG_WARN, &p->log, 0,
                          "webrtc: the peer refused the %s track",
                          s->tracks[k].kind == NGX_WEBRTC_MEDIA_VIDEO
                          ? "video" : "audio");
        }
    }

    ngx_str_set(&ua, "nginx-webrtc-push");

    ngx_memzero(&e, sizeof(ngx_webrtc_shm_entry_t));

    e.id = s->id;
    e.stream = &s->stream;
    e.role = s->role;
    e.owner = 0;                  /* no location may DELETE it */
    e.state = s->state;
    e.user_agent = &ua;
    e.ufrag = s->ice.local_ufrag;
    e.tracks = s->tracks;
    e.ntracks = s->ntracks;

    rc = ngx_webrtc_registry_add(&e, 0, &s->shm, &replaced, &s->log);
    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    s->dtls.client = 1;

    if (ngx_webrtc_viewer_join(s) != NGX_OK
        || ngx_webrtc_session_activate(s) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_webrtc_cascade_connect(s, &r, &p->log);
}


static void
ngx_webrtc_push_fail(ngx_webrtc_push_t *p, const char *reason)
{
    ngx_log_error(NGX_LOG_WARN, &p->log, 0,
                  "webrtc: push failed: %s, retry in %Mms", reason,
                  p->backoff);

    ngx_webrtc_cascade_delete(p->peer, &p->location);

    ngx_webrtc_push_state(p, NGX_WEBRTC_CASCADE_RETRYING, 0);

    p->connected = 0;
    p->busy = 0;
    p->retry_at = ngx_current_msec + p->backoff;
    p->backoff = ngx_min(2 * p->backoff, NGX_WEBRTC_PUSH_BACKOFF_MAX);
}


static void
ngx_webrtc_push_tick(ngx_event_t *ev)
{
    ngx_webrtc_push_t     *p;
    ngx_webrtc_session_t  *s;

    p = ev->data;

    if (ngx_webrtc_session_find(p->pub_id) == NULL) {
        ngx_webrtc_push_stop(p, "the publisher left");
        return;
    }

    if (p->has_session) {
        s = ngx_webrtc_session_find(p->id);

        if (s == NULL) {
            p->has_session = 0;
            ngx_webrtc_push_fail(p, "session ended");

        } else if (s->state == NGX_WEBRTC_STATE_CONNECTED && !p->connected) {
            ngx_log_error(NGX_LOG_INFO, &p->log, 0,
                          "webrtc: push connected");
            p->connected = 1;
            p->backoff = NGX_WEBRTC_PUSH_BACKOFF;
            ngx_webrtc_push_state(p, NGX_WEBRTC_CASCADE_CONNECTED, 0);
        }
    }

    if (!p->has_session && p->req == NULL
        && (ngx_msec_int_t) (ngx_current_msec - p->retry_at) >= 0)
    {
        ngx_webrtc_push_attempt(p);
    }

    ngx_add_timer(ev, NGX_WEBRTC_PUSH_TICK);
}


static void
ngx_webrtc_push_stop(ngx_webrtc_push_t *p, const char *reason)
{
    ngx_webrtc_session_t  *s;

    ngx_log_error(NGX_LOG_INFO, &p->log, 0, "webrtc: push stopped: %s",
                  reason);

    if (p->timer.timer_set) {
        ngx_del_timer(&p->timer);
    }

    if (p->req) {
        ngx_webrtc_http_abort(p->req);
        p->req = NULL;
    }

    if (p->s) {
        ngx_webrtc_session_close(p->s, "push stopped");
        p->s = NULL;
    }

    if (p->has_session) {
        s = ngx_webrtc_session_find(p->id);
        if (s) {
            ngx_webrtc_session_close(s, "push stopped");
        }
    }

    ngx_webrtc_cascade_delete(p->peer, &p->location);

    if (p->state) {
        ngx_shmtx_lock(&ngx_webrtc_worker->shm->shpool->mutex);
        p->state->pid = 0;
        ngx_shmtx_unlock(&ngx_webrtc_worker->shm->shpool->mutex);
    }

    ngx_webrtc_stream_release(p->st);

    ngx_queue_remove(&p->queue);
    ngx_destroy_pool(p->pool);
}


static u_char *
ngx_webrtc_push_log_error(ngx_log_t *log, u_char *buf, size_t len)
{
    ngx_webrtc_push_t  *p;

    p = log->data;

    return ngx_snprintf(buf, len, ", push of stream \"%V\" to %V%V",
                        &p->name, &p->peer->host, &p->uri);
}
