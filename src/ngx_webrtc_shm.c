
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc.h"


/*
 * The session registry in shared memory: every worker can find any
 * session (DELETE may land on another worker), enforce one publisher per
 * stream, and report all sessions in the status.  Each record's counters
 * are written only by the worker that owns the session.
 */


#define NGX_WEBRTC_TOMBSTONE  10000


static ngx_uint_t ngx_webrtc_shm_alive(ngx_webrtc_shm_session_t *ss);
static void ngx_webrtc_shm_free_locked(ngx_slab_pool_t *shpool,
    ngx_webrtc_shm_t *sh, ngx_webrtc_shm_session_t *ss);


ngx_int_t
ngx_webrtc_shm_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_webrtc_shm_ctx_t  *octx = data;

    size_t                 len;
    ngx_webrtc_shm_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (octx) {
        /*
         * a reload: sessions of the old workers stay visible, and the
         * old workers learn that they are being replaced, not stopped
         */
        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;
        ctx->sh->generation++;
        return NGX_OK;
    }

    ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        ctx->sh = ctx->shpool->data;
        return NGX_OK;
    }

    ctx->sh = ngx_slab_alloc(ctx->shpool, sizeof(ngx_webrtc_shm_t));
    if (ctx->sh == NULL) {
        return NGX_ERROR;
    }

    ctx->shpool->data = ctx->sh;

    ngx_queue_init(&ctx->sh->sessions);
    ngx_queue_init(&ctx->sh->streams);
    ctx->sh->nsessions = 0;

    if (RAND_bytes(ctx->sh->ctl_key, NGX_WEBRTC_CTL_KEY_LEN) != 1) {
        return NGX_ERROR;
    }

    len = sizeof(" in webrtc zone \"\"") + shm_zone->shm.name.len;

    ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
    if (ctx->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->shpool->log_ctx, " in webrtc zone \"%V\"%Z",
                &shm_zone->shm.name);

    ctx->shpool->log_nomem = 0;

    return NGX_OK;
}


/*
 * Registers a new session.  A stream has one publisher: a new one is
 * refused (NGX_BUSY) while the current one received something within
 * takeover_idle; after that the old one is marked closing and copied to
 * *replaced for the caller to end, so that a publisher reconnecting after
 * a network drop does not wait for the consent timeout.
 */

ngx_int_t
ngx_webrtc_shm_add(ngx_webrtc_session_t *s, ngx_str_t *ua,
    ngx_msec_t takeover_idle, ngx_webrtc_shm_session_t *replaced)
{
    ngx_uint_t                 i;
    ngx_queue_t               *q, *next;
    ngx_slab_pool_t           *shpool;
    ngx_webrtc_shm_t          *sh;
    ngx_webrtc_shm_session_t  *ss;

    shpool = ngx_webrtc_worker->shm->shpool;
    sh = ngx_webrtc_worker->shm->sh;

    replaced->pid = 0;

    ngx_shmtx_lock(&shpool->mutex);

    for (q = ngx_queue_head(&sh->sessions);
         q != ngx_queue_sentinel(&sh->sessions);
         q = next)
    {
        next = ngx_queue_next(q);
        ss = ngx_queue_data(q, ngx_webrtc_shm_session_t, queue);

        if (!ngx_webrtc_shm_alive(ss)
            || (ss->tombstone
                && ngx_current_msec - ss->ended > NGX_WEBRTC_TOMBSTONE))
        {
            ngx_webrtc_shm_free_locked(shpool, sh, ss);
            continue;
        }

        if (s->role != NGX_WEBRTC_ROLE_PUBLISHER
            || ss->role != NGX_WEBRTC_ROLE_PUBLISHER
            || ss->closing
            || ss->stream_len != s->stream.len
            || ngx_memcmp(ss->stream, s->stream.data, s->stream.len) != 0)
        {
            continue;
        }

        if (ngx_current_msec - ss->last_rx < takeover_idle) {
            ngx_shmtx_unlock(&shpool->mutex);
            return NGX_BUSY;
        }

        ss->closing = 1;
        *replaced = *ss;
    }

    if (s->role == NGX_WEBRTC_ROLE_VIEWER
        && ngx_webrtc_worker->wmcf->max_viewers_total
        && sh->nviewers >= ngx_webrtc_worker->wmcf->max_viewers_total)
    {
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_DECLINED;
    }

    ss = ngx_slab_calloc_locked(shpool, sizeof(ngx_webrtc_shm_session_t));
    if (ss == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        ngx_log_error(NGX_LOG_ERR, &s->log, 0,
                      "webrtc: shared memory is full, "
                      "increase \"webrtc_zone_size\"");
        return NGX_ERROR;
    }

    ngx_memcpy(ss->id, s->id, NGX_WEBRTC_ID_LEN);
    ngx_memcpy(ss->stream, s->stream.data, s->stream.len);
    ss->stream_len = s->stream.len;
    ss->role = s->role;
    ss->pid = ngx_pid;
    ss->port = ngx_webrtc_worker->port;
    ss->state = s->state;
    ss->start = ngx_time();
    ss->last_rx = ngx_current_msec;

    ss->user_agent_len = ngx_min(ua->len, NGX_WEBRTC_UA_MAX);
    ngx_memcpy(ss->user_agent, ua->data, ss->user_agent_len);

    ss->ntracks = s->ntracks;

    for (i = 0; i < s->ntracks; i++) {
        ss->tracks[i].kind = s->tracks[i].kind;
        ss->tracks[i].codec = s->tracks[i].codec;
    }

    ngx_queue_insert_tail(&sh->sessions, &ss->queue);
    sh->nsessions++;

    if (s->role == NGX_WEBRTC_ROLE_VIEWER) {
        sh->nviewers++;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    s->shm = ss;

    return NGX_OK;
}


/*
 * An ended session stays a while as a tombstone: a client that closes
 * DTLS and then sends DELETE (browsers, OBS) still gets its 200.
 */

void
ngx_webrtc_shm_remove(ngx_webrtc_session_t *s)
{
    ngx_slab_pool_t  *shpool;

    if (s->shm == NULL) {
        return;
    }

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    if (s->role == NGX_WEBRTC_ROLE_VIEWER) {
        ngx_webrtc_worker->shm->sh->nviewers--;
    }

    s->shm->closing = 1;
    s->shm->tombstone = 1;
    s->shm->ended = ngx_current_msec;

    ngx_shmtx_unlock(&shpool->mutex);

    s->shm = NULL;
}


static void
ngx_webrtc_shm_free_locked(ngx_slab_pool_t *shpool, ngx_webrtc_shm_t *sh,
    ngx_webrtc_shm_session_t *ss)
{
    ngx_queue_remove(&ss->queue);
    sh->nsessions--;

    if (ss->role == NGX_WEBRTC_ROLE_VIEWER && !ss->tombstone) {
        sh->nviewers--;
    }

    ngx_slab_free_locked(shpool, ss);
}


/*
 * Finds a session by stream and id: NGX_OK if it lives, NGX_DONE if it
 * ended recently, NGX_DECLINED if there is none.
 */

ngx_int_t
ngx_webrtc_shm_lookup(ngx_str_t *stream, u_char *id, ngx_pid_t *pid,
    in_port_t *port)
{
    ngx_int_t                  rc;
    ngx_queue_t               *q;
    ngx_slab_pool_t           *shpool;
    ngx_webrtc_shm_t          *sh;
    ngx_webrtc_shm_session_t  *ss;

    shpool = ngx_webrtc_worker->shm->shpool;
    sh = ngx_webrtc_worker->shm->sh;

    rc = NGX_DECLINED;

    ngx_shmtx_lock(&shpool->mutex);

    for (q = ngx_queue_head(&sh->sessions);
         q != ngx_queue_sentinel(&sh->sessions);
         q = ngx_queue_next(q))
    {
        ss = ngx_queue_data(q, ngx_webrtc_shm_session_t, queue);

        if (ngx_memcmp(ss->id, id, NGX_WEBRTC_ID_LEN) == 0
            && ss->stream_len == stream->len
            && ngx_memcmp(ss->stream, stream->data, stream->len) == 0
            && ngx_webrtc_shm_alive(ss))
        {
            *pid = ss->pid;
            *port = ss->port;
            rc = ss->tombstone ? NGX_DONE : NGX_OK;
            break;
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return rc;
}


void
ngx_webrtc_shm_mark_closing(u_char *id)
{
    ngx_queue_t               *q;
    ngx_slab_pool_t           *shpool;
    ngx_webrtc_shm_t          *sh;
    ngx_webrtc_shm_session_t  *ss;

    shpool = ngx_webrtc_worker->shm->shpool;
    sh = ngx_webrtc_worker->shm->sh;

    ngx_shmtx_lock(&shpool->mutex);

    for (q = ngx_queue_head(&sh->sessions);
         q != ngx_queue_sentinel(&sh->sessions);
         q = ngx_queue_next(q))
    {
        ss = ngx_queue_data(q, ngx_webrtc_shm_session_t, queue);

        if (ngx_memcmp(ss->id, id, NGX_WEBRTC_ID_LEN) == 0) {
            ss->closing = 1;
            break;
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


ngx_int_t
ngx_webrtc_ctl_key_check(u_char *key)
{
    if (CRYPTO_memcmp(key, ngx_webrtc_worker->shm->sh->ctl_key,
                      NGX_WEBRTC_CTL_KEY_LEN)
        != 0)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


void
ngx_webrtc_shm_set_remote(ngx_webrtc_session_t *s)
{
    if (s->shm == NULL) {
        return;
    }

    /* read without the lock by the status: a torn address is harmless */
    s->shm->remote_len = ngx_sock_ntop((struct sockaddr *) &s->peer,
                                       s->peer_len, s->shm->remote,
                                       NGX_SOCKADDR_STRLEN, 1);
}


/*
 * A record whose worker died without cleaning up (a crash) is stale; a
 * tombstone lives its NGX_WEBRTC_TOMBSTONE whatever became of its worker.
 */

static ngx_uint_t
ngx_webrtc_shm_alive(ngx_webrtc_shm_session_t *ss)
{
    if (ss->tombstone) {
        /* its worker may be gone already: an old one after a reload */
        return ngx_current_msec - ss->ended <= NGX_WEBRTC_TOMBSTONE;
    }

    if (ss->pid == ngx_pid) {
        return 1;
    }

    if (kill(ss->pid, 0) == -1 && ngx_errno == NGX_ESRCH) {
        return 0;
    }

    return 1;
}
