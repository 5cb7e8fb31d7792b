
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_pull.h"
#include "ngx_webrtc_cascade.h"
#include "ngx_webrtc_publisher.h"


/*
 * A pull: the first viewer of a stream the edge does not have marks the
 * stream's record (pull_pid) and starts it in its worker; viewers of all
 * workers wait until the stream has a publisher.  An attempt: a session
 * (its ICE credentials), its offer POSTed to <url-prefix><stream>, the
 * answer's tracks published on the stream, then ICE as the controlling
 * agent and DTLS as the client (ngx_webrtc_session_connect()).  A
 * failed or ended attempt is retried with backoff; viewers keep their
 * sessions meanwhile (the pulled publisher never closes them).  Without
 * viewers for webrtc_pull_idle the pull stops and DELETEs its session on
 * the origin.  A tick of NGX_WEBRTC_PULL_TICK watches all this: the
 * session is found by id, so nothing calls up into the pull.
 */


/* what waiting viewers are told, as HTTP status codes */
#define NGX_WEBRTC_PULL_NOT_FOUND    404
#define NGX_WEBRTC_PULL_CONFLICT     409
#define NGX_WEBRTC_PULL_UNAVAILABLE  503

#define NGX_WEBRTC_PULL_TICK         500
#define NGX_WEBRTC_PULL_BACKOFF      1000
#define NGX_WEBRTC_PULL_BACKOFF_MAX  30000


typedef struct {
    ngx_queue_t                 queue;
    ngx_pool_t                 *pool;
    ngx_log_t                   log;
    ngx_webrtc_pull_conf_t     *conf;
    ngx_webrtc_stream_t        *st;
    ngx_str_t                   name;
    ngx_str_t                   uri;          /* prefix + name */

    ngx_webrtc_http_req_t      *req;          /* in flight */
    ngx_webrtc_session_t       *s;            /* before the answer */
    u_char                      id[NGX_WEBRTC_ID_LEN];
    unsigned                    has_session:1;  /* id is live */

    ngx_webrtc_cascade_location_t  location;  /* on the origin */

    ngx_event_t                 timer;
    ngx_msec_t                  backoff;
    ngx_msec_t                  retry_at;
    ngx_msec_t                  last_viewers;
    ngx_uint_t                  busy;         /* answers with a taken */
                                              /* address in a row */
} ngx_webrtc_pull_t;


static ngx_int_t ngx_webrtc_pull_start(ngx_webrtc_pull_conf_t *pc,
    ngx_webrtc_stream_t *st);
static void ngx_webrtc_pull_attempt(ngx_webrtc_pull_t *p);
static void ngx_webrtc_pull_answer(ngx_webrtc_http_req_t *hr);
static ngx_int_t ngx_webrtc_pull_session(ngx_webrtc_pull_t *p,
    ngx_webrtc_http_req_t *hr, ngx_uint_t *status);
static void ngx_webrtc_pull_fail(ngx_webrtc_pull_t *p, ngx_uint_t status,
    const char *reason);
static void ngx_webrtc_pull_tick(ngx_event_t *ev);
static void ngx_webrtc_pull_stop(ngx_webrtc_pull_t *p, const char *reason);
static u_char *ngx_webrtc_pull_log_error(ngx_log_t *log, u_char *buf,
    size_t len);


static ngx_queue_t  ngx_webrtc_pulls;


void
ngx_webrtc_pull_init(void)
{
    ngx_queue_init(&ngx_webrtc_pulls);
}


void
ngx_webrtc_pull_exit(void)
{
    ngx_queue_t        *q;
    ngx_webrtc_pull_t  *p;

    if (ngx_queue_next(&ngx_webrtc_pulls) == NULL) {
        return;
    }

    while (!ngx_queue_empty(&ngx_webrtc_pulls)) {
        q = ngx_queue_head(&ngx_webrtc_pulls);
        p = ngx_queue_data(q, ngx_webrtc_pull_t, queue);

        /* the origin's session ends with its consent: no DELETE now */
        p->location.len = 0;
        ngx_webrtc_pull_stop(p, "worker exit");
    }
}


ngx_int_t
ngx_webrtc_pull_want(ngx_webrtc_pull_conf_t *pc, ngx_str_t *name,
    ngx_uint_t *status)
{
    ngx_int_t             rc;
    ngx_slab_pool_t      *shpool;
    ngx_webrtc_stream_t  *st;

    st = ngx_webrtc_stream_acquire(name, 1);
    if (st == NULL) {
        return NGX_ERROR;
    }

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    st->pull_wanted = ngx_current_msec;

    if (st->pub_pid) {
        rc = NGX_DONE;

    } else if (st->pull_pid == 0) {
        st->pull_pid = ngx_pid;
        st->pull_status = 0;
        st->pull_conf = pc;
        st->pull_generation = ngx_webrtc_worker->generation;
        st->pull_orphan = 0;
        rc = NGX_AGAIN;

    } else if (st->pull_status
               && (ngx_msec_int_t) (st->pull_retry - ngx_current_msec) > 0)
    {
        *status = st->pull_status;
        rc = NGX_DECLINED;

    } else {
        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    if (rc == NGX_AGAIN) {
        /* the pull holds this reference from now on */
        if (ngx_webrtc_pull_start(pc, st) != NGX_OK) {
            ngx_shmtx_lock(&shpool->mutex);
            st->pull_pid = 0;
            ngx_shmtx_unlock(&shpool->mutex);
            ngx_webrtc_stream_release(st);
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    ngx_webrtc_stream_release(st);

    return rc;
}


/*
 * The sweep took back the pulls of a dead worker: this worker starts
 * those whose streams still have viewers.  The configuration pointer is
 * valid in every worker of the generation that stored it (forked from
 * the same master); a pull of another generation waits for a POST.
 */

#define NGX_WEBRTC_PULL_ADOPT  8

void
ngx_webrtc_pull_sweep(void)
{
    ngx_str_t                name;
    ngx_uint_t               i, n;
    ngx_queue_t             *q;
    ngx_slab_pool_t         *shpool;
    ngx_webrtc_shm_t        *sh;
    ngx_webrtc_stream_t     *st;
    ngx_webrtc_pull_conf_t  *conf[NGX_WEBRTC_PULL_ADOPT];
    u_char                   names[NGX_WEBRTC_PULL_ADOPT]
                                  [NGX_WEBRTC_STREAM_MAX];
    size_t                   lens[NGX_WEBRTC_PULL_ADOPT];

    shpool = ngx_webrtc_worker->shm->shpool;
    sh = ngx_webrtc_worker->shm->sh;

    n = 0;

    ngx_shmtx_lock(&shpool->mutex);

    for (q = ngx_queue_head(&sh->streams);
         q != ngx_queue_sentinel(&sh->streams) && n < NGX_WEBRTC_PULL_ADOPT;
         q = ngx_queue_next(q))
    {
        st = ngx_queue_data(q, ngx_webrtc_stream_t, queue);

        if (!st->pull_orphan) {
            continue;
        }

        st->pull_orphan = 0;

        if (st->pull_pid || st->pub_pid || st->viewers == 0
            || st->pull_conf == NULL
            || st->pull_generation != ngx_webrtc_worker->generation)
        {
            continue;
        }

        st->pull_pid = ngx_pid;

        conf[n] = st->pull_conf;
        ngx_memcpy(names[n], st->name, st->name_len);
        lens[n] = st->name_len;
        n++;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    for (i = 0; i < n; i++) {
        name.data = names[i];
        name.len = lens[i];

        st = ngx_webrtc_stream_acquire(&name, 0);

        if (st && st->pull_pid == ngx_pid
            && ngx_webrtc_pull_start(conf[i], st) == NGX_OK)
        {
            ngx_log_error(NGX_LOG_NOTICE, ngx_webrtc_worker->log, 0,
                          "webrtc: pull of stream \"%V\" taken over from "
                          "a worker that died", &name);
            continue;
        }

        if (st) {
            ngx_shmtx_lock(&shpool->mutex);

            if (st->pull_pid == ngx_pid) {
                st->pull_pid = 0;
            }

            ngx_shmtx_unlock(&shpool->mutex);
            ngx_webrtc_stream_release(st);
        }
    }
}


static ngx_int_t
ngx_webrtc_pull_start(ngx_webrtc_pull_conf_t *pc, ngx_webrtc_stream_t *st)
{
    u_char             *u;
    ngx_pool_t         *pool;
    ngx_webrtc_pull_t  *p;

    if (ngx_queue_next(&ngx_webrtc_pulls) == NULL) {
        ngx_webrtc_pull_init();
    }

    pool = ngx_create_pool(1024, ngx_webrtc_worker->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    p = ngx_pcalloc(pool, sizeof(ngx_webrtc_pull_t));
    if (p == NULL) {
        goto failed;
    }

    p->pool = pool;
    p->conf = pc;
    p->st = st;

    p->name.len = st->name_len;
    p->name.data = ngx_pnalloc(pool, st->name_len);

    p->uri.len = pc->peer.uri.len + st->name_len;
    p->uri.data = ngx_pnalloc(pool, p->uri.len);

    if (p->name.data == NULL || p->uri.data == NULL) {
        goto failed;
    }

    ngx_memcpy(p->name.data, st->name, st->name_len);
    u = ngx_cpymem(p->uri.data, pc->peer.uri.data, pc->peer.uri.len);
    ngx_memcpy(u, st->name, st->name_len);

    p->log = *ngx_webrtc_worker->log;
    p->log.handler = ngx_webrtc_pull_log_error;
    p->log.data = p;
    p->log.action = NULL;
    pool->log = &p->log;

    p->timer.handler = ngx_webrtc_pull_tick;
    p->timer.data = p;
    p->timer.log = &p->log;
    p->timer.cancelable = 1;

    p->backoff = NGX_WEBRTC_PULL_BACKOFF;
    p->last_viewers = ngx_current_msec;

    ngx_queue_insert_tail(&ngx_webrtc_pulls, &p->queue);

    ngx_shmtx_lock(&ngx_webrtc_worker->shm->shpool->mutex);
    ngx_webrtc_cascade_url(&st->pull, &pc->peer, &p->uri);
    ngx_shmtx_unlock(&ngx_webrtc_worker->shm->shpool->mutex);

    ngx_log_error(NGX_LOG_INFO, &p->log, 0, "webrtc: pull started");

    ngx_webrtc_pull_attempt(p);

    ngx_add_timer(&p->timer, NGX_WEBRTC_PULL_TICK);

    return NGX_OK;

failed:

    ngx_destroy_pool(pool);
    return NGX_ERROR;
}


/* a session for its ICE credentials, and the offer POSTed */

static void
ngx_webrtc_pull_attempt(ngx_webrtc_pull_t *p)
{
    size_t                 n;
    ngx_str_t              body;
    ngx_webrtc_session_t  *s;
    u_char                 buf[NGX_WEBRTC_CASCADE_OFFER_MAX];

    s = ngx_webrtc_session_create(&p->name, NGX_WEBRTC_ROLE_PUBLISHER);
    if (s == NULL) {
        ngx_webrtc_pull_fail(p, NGX_WEBRTC_PULL_UNAVAILABLE, "no memory");
        return;
    }

    n = ngx_webrtc_cascade_offer(s, buf, sizeof(buf));
    if (n == 0) {
        ngx_webrtc_session_close(s, "offer too large");
        ngx_webrtc_pull_fail(p, NGX_WEBRTC_PULL_UNAVAILABLE, "no offer");
        return;
    }

    body.data = buf;
    body.len = n;

    p->s = s;

    ngx_webrtc_cascade_state(&p->st->pull, NGX_WEBRTC_CASCADE_POSTING, 0);

    p->req = ngx_webrtc_http_request(&p->conf->peer, "POST", &p->uri,
                                     "application/sdp", &body,
                                     ngx_webrtc_pull_answer, p, &p->log);
    if (p->req == NULL) {
        p->s = NULL;
        ngx_webrtc_session_close(s, "no memory");
        ngx_webrtc_pull_fail(p, NGX_WEBRTC_PULL_UNAVAILABLE, "no memory");
    }
}


static void
ngx_webrtc_pull_answer(ngx_webrtc_http_req_t *hr)
{
    ngx_int_t            rc;
    ngx_uint_t           status;
    ngx_webrtc_pull_t   *p;

    p = hr->data;
    p->req = NULL;

    if (hr->res.status != 201) {
        ngx_webrtc_session_close(p->s, "origin refused");
        p->s = NULL;

        if (hr->res.status) {
            ngx_log_error(NGX_LOG_WARN, &p->log, 0,
                          "webrtc: origin answered %ui",
                          (ngx_uint_t) hr->res.status);
        }

        status = hr->res.status;

        if (status != NGX_WEBRTC_PULL_NOT_FOUND
            && status != NGX_WEBRTC_PULL_CONFLICT)
        {
            status = NGX_WEBRTC_PULL_UNAVAILABLE;
        }

        ngx_webrtc_pull_fail(p, status, hr->error ? hr->error
                                                  : "origin refused");
        return;
    }

    /* the session on the origin, for the DELETE */
    ngx_webrtc_cascade_location(hr, &p->location, &p->log);

    status = NGX_WEBRTC_PULL_UNAVAILABLE;

    rc = ngx_webrtc_pull_session(p, hr, &status);

    if (rc != NGX_OK) {
        if (p->s) {
            ngx_webrtc_session_close(p->s, "pull failed");
            p->s = NULL;
        }

        if (rc == NGX_DECLINED
            && p->busy++ < NGX_WEBRTC_CASCADE_BUSY_RETRIES)
        {
            /* at once: waiting viewers are not told of it */
            ngx_webrtc_cascade_delete(&p->conf->peer, &p->location);
            ngx_webrtc_pull_attempt(p);
            return;
        }

        ngx_webrtc_pull_fail(p, status, "answer not usable");
        return;
    }

    p->busy = 0;

    ngx_memcpy(p->id, p->s->id, NGX_WEBRTC_ID_LEN);
    p->has_session = 1;
    p->s = NULL;

    ngx_webrtc_cascade_state(&p->st->pull, NGX_WEBRTC_CASCADE_CONNECTING, 0);
}


/* the answer's tracks published, then ICE and DTLS towards the origin */

static ngx_int_t
ngx_webrtc_pull_session(ngx_webrtc_pull_t *p, ngx_webrtc_http_req_t *hr,
    ngx_uint_t *status)
{
    ngx_int_t                   rc;
    ngx_str_t                   ua;
    ngx_uint_t                  k;
    ngx_webrtc_sdp_t           *sdp;
    ngx_webrtc_track_t         *tr;
    ngx_webrtc_session_t       *s;
    ngx_webrtc_sdp_codec_t     *c;
    ngx_webrtc_sdp_media_t     *m;
    ngx_webrtc_sdp_remote_t     r;
    ngx_webrtc_shm_entry_t      e;
    ngx_webrtc_shm_session_t    replaced;

    s = p->s;

    rc = ngx_webrtc_cascade_answer(s, hr, &sdp, &r, &p->log);
    if (rc != NGX_OK) {
        return rc;
    }

    for (k = 0; k < 2; k++) {
        c = r.codec[k];
        if (c == NULL) {
            continue;
        }

        m = &sdp->media[k ? r.video : r.audio];
        tr = &s->tracks[s->ntracks++];

        tr->kind = k ? NGX_WEBRTC_MEDIA_VIDEO : NGX_WEBRTC_MEDIA_AUDIO;
        tr->codec = c->codec;
        tr->pt = c->pt;
        tr->clock_rate = c->clock_rate ? c->clock_rate
                                       : (k ? 90000 : 48000);
        tr->channels = c->channels;
        tr->fb_pli = c->fb_pli;
        tr->fb_fir = c->fb_fir;

        tr->fmtp.len = c->fmtp.len;
        tr->fmtp.data = ngx_pnalloc(s->pool, c->fmtp.len + 1);
        if (tr->fmtp.data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(tr->fmtp.data, c->fmtp.data, c->fmtp.len);

        /* the origin's SSRCs are accepted whatever else it sends from */
        if (m->ssrc) {
            ngx_webrtc_srtp_ssrc_add(&s->srtp, m->ssrc);
        }
    }

    /* in the registry and the status as a publisher, by its user agent */

    ngx_str_set(&ua, "nginx-webrtc-pull");

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

    if (rc == NGX_BUSY) {
        ngx_log_error(NGX_LOG_INFO, &p->log, 0,
                      "webrtc: the stream has a local publisher");
        *status = NGX_WEBRTC_PULL_CONFLICT;
        return NGX_ERROR;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    /* a pulled publisher leaves its viewers for the next attempt */
    s->close_viewers = 0;
    s->dtls.client = 1;

    if (ngx_webrtc_publisher_start(s) != NGX_OK
        || ngx_webrtc_session_activate(s) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_webrtc_cascade_connect(s, &r, &p->log);
}


static void
ngx_webrtc_pull_fail(ngx_webrtc_pull_t *p, ngx_uint_t status,
    const char *reason)
{
    ngx_slab_pool_t  *shpool;

    ngx_log_error(NGX_LOG_WARN, &p->log, 0,
                  "webrtc: pull failed: %s, retry in %Mms", reason,
                  p->backoff);

    ngx_webrtc_cascade_delete(&p->conf->peer, &p->location);

    p->busy = 0;
    p->retry_at = ngx_current_msec + p->backoff;

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);
    p->st->pull_status = status;
    p->st->pull_retry = p->retry_at;
    ngx_webrtc_cascade_state(&p->st->pull, NGX_WEBRTC_CASCADE_RETRYING,
                             status);
    ngx_shmtx_unlock(&shpool->mutex);

    p->backoff = ngx_min(2 * p->backoff, NGX_WEBRTC_PULL_BACKOFF_MAX);
}


static void
ngx_webrtc_pull_tick(ngx_event_t *ev)
{
    ngx_msec_t             wanted;
    ngx_webrtc_pull_t     *p;
    ngx_webrtc_session_t  *s;

    p = ev->data;

    if (p->has_session) {
        s = ngx_webrtc_session_find(p->id);

        if (s == NULL) {
            p->has_session = 0;
            ngx_webrtc_pull_fail(p, NGX_WEBRTC_PULL_UNAVAILABLE,
                                 "session ended");

        } else if (s->state == NGX_WEBRTC_STATE_CONNECTED
                   && p->backoff != NGX_WEBRTC_PULL_BACKOFF)
        {
            ngx_log_error(NGX_LOG_INFO, &p->log, 0,
                          "webrtc: pull connected");
            p->backoff = NGX_WEBRTC_PULL_BACKOFF;
            p->st->pull_status = 0;
            ngx_webrtc_cascade_state(&p->st->pull,
                                     NGX_WEBRTC_CASCADE_CONNECTED, 0);

        } else if (s->state == NGX_WEBRTC_STATE_CONNECTED) {
            p->st->pull_status = 0;
            ngx_webrtc_cascade_state(&p->st->pull,
                                     NGX_WEBRTC_CASCADE_CONNECTED, 0);
        }
    }

    if (p->st->viewers) {
        p->last_viewers = ngx_current_msec;
    }

    wanted = p->st->pull_wanted;

    if ((ngx_msec_int_t) (wanted - p->last_viewers) > 0) {
        p->last_viewers = wanted;
    }

    if (ngx_current_msec - p->last_viewers >= p->conf->idle) {
        ngx_webrtc_pull_stop(p, "no viewers");
        return;
    }

    if (!p->has_session && p->req == NULL
        && (ngx_msec_int_t) (ngx_current_msec - p->retry_at) >= 0)
    {
        ngx_webrtc_pull_attempt(p);
    }

    ngx_add_timer(ev, NGX_WEBRTC_PULL_TICK);
}


static void
ngx_webrtc_pull_stop(ngx_webrtc_pull_t *p, const char *reason)
{
    ngx_slab_pool_t       *shpool;
    ngx_webrtc_session_t  *s;

    ngx_log_error(NGX_LOG_INFO, &p->log, 0, "webrtc: pull stopped: %s",
                  reason);

    if (p->timer.timer_set) {
        ngx_del_timer(&p->timer);
    }

    if (p->req) {
        ngx_webrtc_http_abort(p->req);
        p->req = NULL;
    }

    if (p->s) {
        ngx_webrtc_session_close(p->s, "pull stopped");
        p->s = NULL;
    }

    if (p->has_session) {
        s = ngx_webrtc_session_find(p->id);
        if (s) {
            ngx_webrtc_session_close(s, "pull stopped");
        }
    }

    ngx_webrtc_cascade_delete(&p->conf->peer, &p->location);

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    if (p->st->pull_pid == ngx_pid) {
        p->st->pull_pid = 0;
    }

    p->st->pull_status = 0;

    if (p->st->pull.pid == ngx_pid) {
        p->st->pull.pid = 0;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_webrtc_stream_release(p->st);

    ngx_queue_remove(&p->queue);
    ngx_destroy_pool(p->pool);
}


static u_char *
ngx_webrtc_pull_log_error(ngx_log_t *log, u_char *buf, size_t len)
{
    ngx_webrtc_pull_t  *p;

    p = log->data;

    return ngx_snprintf(buf, len, ", pull of stream \"%V\" from %V%V",
                        &p->name, &p->conf->peer.host, &p->uri);
}
