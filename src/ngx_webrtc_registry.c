
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_registry.h"

#include <openssl/rand.h>
#include <openssl/crypto.h>


/*
 * The zone's top and the session records; see ngx_webrtc_registry.h.
 * The streams' records live in the same zone (ngx_webrtc_stream.c).
 */


#define NGX_WEBRTC_TOMBSTONE  10000


static ngx_uint_t ngx_webrtc_shm_alive(ngx_webrtc_shm_session_t *ss);
static ngx_webrtc_shm_session_t *ngx_webrtc_registry_find_locked(
    ngx_webrtc_shm_t *sh, u_char *id);
static void ngx_webrtc_registry_ended_locked(ngx_webrtc_shm_t *sh,
    const char *reason);
static void ngx_webrtc_shm_free_locked(ngx_slab_pool_t *shpool,
    ngx_webrtc_shm_t *sh, ngx_webrtc_shm_session_t *ss);


ngx_int_t
ngx_webrtc_registry_init_zone(ngx_shm_zone_t *shm_zone, void *data)
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

    ctx->sh = ngx_slab_calloc(ctx->shpool, sizeof(ngx_webrtc_shm_t));
    if (ctx->sh == NULL) {
        return NGX_ERROR;
    }

    ctx->shpool->data = ctx->sh;

    ngx_queue_init(&ctx->sh->sessions);
    ngx_queue_init(&ctx->sh->streams);
    ngx_queue_init(&ctx->sh->spares);

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
ngx_webrtc_registry_add(ngx_webrtc_shm_entry_t *e, ngx_msec_t takeover_idle,
    ngx_webrtc_shm_session_t **out, ngx_webrtc_shm_session_t *replaced,
    ngx_log_t *log)
{
    ngx_uint_t                 i;
    ngx_queue_t               *q;
    ngx_slab_pool_t           *shpool;
    ngx_webrtc_shm_t          *sh;
    ngx_webrtc_shm_session_t  *ss;

    shpool = ngx_webrtc_worker->shm->shpool;
    sh = ngx_webrtc_worker->shm->sh;

    replaced->pid = 0;

    ngx_shmtx_lock(&shpool->mutex);

    for (q = ngx_queue_head(&sh->sessions);
         q != ngx_queue_sentinel(&sh->sessions);
         q = ngx_queue_next(q))
    {
        ss = ngx_queue_data(q, ngx_webrtc_shm_session_t, queue);

        /* dead workers' records and old tombstones go in the sweep */

        if (e->role != NGX_WEBRTC_ROLE_PUBLISHER
            || ss->role != NGX_WEBRTC_ROLE_PUBLISHER
            || ss->closing
            || ss->stream_len != e->stream->len
            || ngx_memcmp(ss->stream, e->stream->data, e->stream->len) != 0
            || !ngx_webrtc_shm_alive(ss))
        {
            continue;
        }

        if (ngx_webrtc_registry_since(ss->last_rx)
            < (ngx_msec_int_t) takeover_idle)
        {
            ngx_shmtx_unlock(&shpool->mutex);
            return NGX_BUSY;
        }

        ss->closing = 1;
        *replaced = *ss;
    }

    if (e->role == NGX_WEBRTC_ROLE_VIEWER
        && ngx_webrtc_worker->conf->max_viewers_total
        && sh->nviewers >= ngx_webrtc_worker->conf->max_viewers_total)
    {
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_DECLINED;
    }

    ss = ngx_slab_calloc_locked(shpool, sizeof(ngx_webrtc_shm_session_t));
    if (ss == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "webrtc: shared memory is full, "
                      "increase \"webrtc_zone_size\"");
        return NGX_ERROR;
    }

    ngx_memcpy(ss->id, e->id, NGX_WEBRTC_ID_LEN);
    ngx_memcpy(ss->stream, e->stream->data, e->stream->len);
    ss->stream_len = e->stream->len;
    ss->role = e->role;
    ss->owner = e->owner;
    ss->pid = ngx_pid;
    ss->port = ngx_webrtc_worker->port;
    ss->state = e->state;
    ss->start = ngx_time();
    ss->last_rx = ngx_current_msec;

    ss->user_agent_len = ngx_min(e->user_agent->len, NGX_WEBRTC_UA_MAX);
    ngx_memcpy(ss->user_agent, e->user_agent->data, ss->user_agent_len);

    ngx_memcpy(ss->ice_ufrag, e->ufrag, NGX_WEBRTC_UFRAG_LEN);

    ss->ntracks = e->ntracks;

    for (i = 0; i < e->ntracks; i++) {
        ss->tracks[i].kind = e->tracks[i].kind;
        ss->tracks[i].codec = e->tracks[i].codec;
        ss->tracks[i].rid_len = e->tracks[i].rid_len;
        ngx_memcpy(ss->tracks[i].rid, e->tracks[i].rid,
                   e->tracks[i].rid_len);
        ss->tracks[i].layer = e->tracks[i].layer;
    }

    ngx_queue_insert_tail(&sh->sessions, &ss->queue);
    sh->nsessions++;
    sh->created[e->role < 3 ? e->role : 0]++;

    if (e->role == NGX_WEBRTC_ROLE_VIEWER) {
        sh->nviewers++;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    *out = ss;

    return NGX_OK;
}


/* the upper bounds of the setup time histogram's buckets, ms */

const ngx_msec_t  ngx_webrtc_setup_buckets[NGX_WEBRTC_SETUP_BUCKETS] = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000
};


/* adds a record's counters to c; under the lock, or on a copy */

void
ngx_webrtc_registry_count(ngx_webrtc_counters_t *c,
    ngx_webrtc_shm_session_t *ss)
{
    ngx_uint_t               i, k;
    ngx_webrtc_shm_track_t  *t;

    for (i = 0; i < ss->ntracks && i < NGX_WEBRTC_MAX_TRACKS; i++) {
        t = &ss->tracks[i];
        k = t->kind & (NGX_WEBRTC_KINDS - 1);

        if (ss->role == NGX_WEBRTC_ROLE_PUBLISHER) {
            c->rx_packets[k] += t->packets;
            c->rx_bytes[k] += t->bytes;
            c->lost += t->lost;
            c->keyframe_requests += t->keyframe_requests;

        } else {
            c->tx_packets[k] += t->packets;
            c->tx_bytes[k] += t->bytes;
            c->nacks += t->nacks;
            c->nacks_refused += t->nacks_refused;
            c->plis += t->plis;
        }
    }

    c->ssrc_dropped += ss->srtp_ssrc_dropped;
    c->dc_msgs_in += ss->dc_msgs_in;
    c->dc_bytes_in += ss->dc_bytes_in;
    c->dc_msgs_out += ss->dc_msgs_out;
    c->dc_bytes_out += ss->dc_bytes_out;
    c->dc_dropped += ss->dc_dropped;
}


/* a session reached DTLS connected ms after its POST */

void
ngx_webrtc_registry_connected(ngx_msec_t ms)
{
    ngx_uint_t         i;
    ngx_webrtc_shm_t  *sh;

    sh = ngx_webrtc_worker->shm->sh;

    for (i = 0; i < NGX_WEBRTC_SETUP_BUCKETS; i++) {
        if (ms <= ngx_webrtc_setup_buckets[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&sh->setup[i], 1);
    (void) ngx_atomic_fetch_add(&sh->setup_ms, ms);
}


/*
 * An ended session stays a while as a tombstone: a client that closes
 * DTLS and then sends DELETE (browsers, OBS) still gets its 200.
 */

void
ngx_webrtc_registry_remove(ngx_webrtc_shm_session_t *ss, const char *reason)
{
    ngx_slab_pool_t  *shpool;

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    ngx_webrtc_registry_ended_locked(ngx_webrtc_worker->shm->sh, reason);

    if (ss->role == NGX_WEBRTC_ROLE_VIEWER) {
        ngx_webrtc_worker->shm->sh->nviewers--;
    }

    ss->closing = 1;
    ss->tombstone = 1;
    ss->ended = ngx_current_msec;

    ngx_shmtx_unlock(&shpool->mutex);
}


static void
ngx_webrtc_shm_free_locked(ngx_slab_pool_t *shpool, ngx_webrtc_shm_t *sh,
    ngx_webrtc_shm_session_t *ss)
{
    ngx_queue_remove(&ss->queue);
    sh->nsessions--;

    ngx_webrtc_registry_count(&sh->freed, ss);

    if (ss->role == NGX_WEBRTC_ROLE_VIEWER && !ss->tombstone) {
        sh->nviewers--;
    }

    ngx_slab_free_locked(shpool, ss);
}


/*
 * Finds a session by stream and id, created through the same location
 * (owner): NGX_OK if it lives, NGX_DONE if it ended recently, NGX_DECLINED
 * if there is none.
 */

ngx_int_t
ngx_webrtc_registry_lookup(ngx_str_t *stream, u_char *id, uint32_t owner,
    ngx_pid_t *pid, in_port_t *port)
{
    ngx_int_t                  rc;
    ngx_slab_pool_t           *shpool;
    ngx_webrtc_shm_t          *sh;
    ngx_webrtc_shm_session_t  *ss;

    shpool = ngx_webrtc_worker->shm->shpool;
    sh = ngx_webrtc_worker->shm->sh;

    rc = NGX_DECLINED;

    ngx_shmtx_lock(&shpool->mutex);

    ss = ngx_webrtc_registry_find_locked(sh, id);

    if (ss
        && ss->owner == owner
        && ss->stream_len == stream->len
        && ngx_memcmp(ss->stream, stream->data, stream->len) == 0
        && ngx_webrtc_shm_alive(ss))
    {
        *pid = ss->pid;
        *port = ss->port;
        rc = ss->tombstone ? NGX_DONE : NGX_OK;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return rc;
}


/*
 * The WHEP layer extension: a viewer's pinned layer (rid->len 0: none)
 * for its worker to read.  NGX_DECLINED: no such viewer through this
 * location; NGX_BUSY: mid is not its video's.
 */

ngx_int_t
ngx_webrtc_registry_pin(ngx_str_t *stream, u_char *id, uint32_t owner,
    ngx_str_t *mid, ngx_str_t *rid, ngx_pid_t *pid, in_port_t *port)
{
    ngx_int_t                  rc;
    ngx_slab_pool_t           *shpool;
    ngx_webrtc_shm_session_t  *ss;

    shpool = ngx_webrtc_worker->shm->shpool;

    rc = NGX_DECLINED;

    ngx_shmtx_lock(&shpool->mutex);

    ss = ngx_webrtc_registry_find_locked(ngx_webrtc_worker->shm->sh, id);

    if (ss == NULL
        || ss->owner != owner
        || ss->role != NGX_WEBRTC_ROLE_VIEWER
        || ss->tombstone
        || ss->stream_len != stream->len
        || ngx_memcmp(ss->stream, stream->data, stream->len) != 0
        || !ngx_webrtc_shm_alive(ss))
    {
        goto done;
    }

    if (mid->len
        && (mid->len != ss->video_mid_len
            || ngx_memcmp(mid->data, ss->video_mid, mid->len) != 0))
    {
        rc = NGX_BUSY;
        goto done;
    }

    ss->pin_rid_len = ngx_min(rid->len, NGX_WEBRTC_RID_MAX);
    ngx_memcpy(ss->pin_rid, rid->data, ss->pin_rid_len);

    *pid = ss->pid;
    *port = ss->port;
    rc = NGX_OK;

done:

    ngx_shmtx_unlock(&shpool->mutex);

    return rc;
}


void
ngx_webrtc_registry_mark_closing(u_char *id)
{
    ngx_slab_pool_t           *shpool;
    ngx_webrtc_shm_t          *sh;
    ngx_webrtc_shm_session_t  *ss;

    shpool = ngx_webrtc_worker->shm->shpool;
    sh = ngx_webrtc_worker->shm->sh;

    ngx_shmtx_lock(&shpool->mutex);

    ss = ngx_webrtc_registry_find_locked(sh, id);

    if (ss) {
        ss->closing = 1;
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


/*
 * An ICE restart checks If-Match and swaps the credentials under one
 * lock, so that of two PATCHes with the same ETag one wins and the other
 * gets 412; the owner then takes the new credentials from the record
 * (ngx_webrtc_registry_ice).  NGX_OK with the owner in rs, NGX_DECLINED
 * (no such live session), NGX_BUSY (the precondition failed).
 */

ngx_int_t
ngx_webrtc_registry_restart(ngx_webrtc_shm_restart_t *rs)
{
    ngx_int_t                  rc;
    ngx_uint_t                 i;
    ngx_slab_pool_t           *shpool;
    ngx_webrtc_shm_t          *sh;
    ngx_webrtc_shm_session_t  *ss;

    shpool = ngx_webrtc_worker->shm->shpool;
    sh = ngx_webrtc_worker->shm->sh;

    ngx_shmtx_lock(&shpool->mutex);

    ss = ngx_webrtc_registry_find_locked(sh, rs->id);

    if (ss == NULL
        || ss->owner != rs->owner
        || ss->stream_len != rs->stream->len
        || ngx_memcmp(ss->stream, rs->stream->data, rs->stream->len) != 0
        || ss->closing
        || ss->tombstone
        || !ngx_webrtc_shm_alive(ss))
    {
        rc = NGX_DECLINED;
        goto done;
    }

    rc = rs->any ? NGX_OK : NGX_BUSY;

    for (i = 0; i < rs->netags; i++) {
        if (ngx_memcmp(rs->etags[i], ss->ice_ufrag, NGX_WEBRTC_UFRAG_LEN)
            == 0)
        {
            rc = NGX_OK;
        }
    }

    if (rc != NGX_OK) {
        goto done;
    }

    rs->pid = ss->pid;
    rs->port = ss->port;

    if (rs->ufrag == NULL) {
        goto done;
    }

    ngx_memcpy(ss->ice_ufrag, rs->ufrag, NGX_WEBRTC_UFRAG_LEN);
    ngx_memcpy(ss->ice_pwd, rs->pwd, NGX_WEBRTC_PWD_LEN);
    ngx_memcpy(ss->ice_remote, rs->remote.data, rs->remote.len);
    ss->ice_remote_len = rs->remote.len;
    ss->ice_restarts++;

done:

    ngx_shmtx_unlock(&shpool->mutex);

    return rc;
}


/* the owner's copy of its session's credentials after a restart */

void
ngx_webrtc_registry_ice(ngx_webrtc_shm_session_t *ss, u_char *ufrag,
    u_char *pwd, u_char *remote, size_t *remote_len)
{
    ngx_slab_pool_t  *shpool;

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    ngx_memcpy(ufrag, ss->ice_ufrag, NGX_WEBRTC_UFRAG_LEN);
    ngx_memcpy(pwd, ss->ice_pwd, NGX_WEBRTC_PWD_LEN);
    ngx_memcpy(remote, ss->ice_remote, ss->ice_remote_len);
    *remote_len = ss->ice_remote_len;

    ngx_shmtx_unlock(&shpool->mutex);
}


static ngx_webrtc_shm_session_t *
ngx_webrtc_registry_find_locked(ngx_webrtc_shm_t *sh, u_char *id)
{
    ngx_queue_t               *q;
    ngx_webrtc_shm_session_t  *ss;

    for (q = ngx_queue_head(&sh->sessions);
         q != ngx_queue_sentinel(&sh->sessions);
         q = ngx_queue_next(q))
    {
        ss = ngx_queue_data(q, ngx_webrtc_shm_session_t, queue);

        if (ngx_memcmp(ss->id, id, NGX_WEBRTC_ID_LEN) == 0) {
            return ss;
        }
    }

    return NULL;
}


void
ngx_webrtc_registry_set_remote(ngx_webrtc_shm_session_t *ss,
    struct sockaddr *sa, socklen_t socklen)
{
    /* read without the lock by the status: a torn address is harmless */
    ss->remote_len = ngx_sock_ntop(sa, socklen, ss->remote,
                                   NGX_SOCKADDR_STRLEN, 1);
}


/* a track's bitrate for the status, from the bytes since the last tick */

void
ngx_webrtc_registry_bitrate(ngx_webrtc_track_t *t, ngx_webrtc_shm_track_t *st,
    ngx_msec_t now)
{
    uint64_t    bytes;
    ngx_msec_t  elapsed;

    bytes = st->bytes;
    elapsed = now - t->tick_time;

    if (t->tick_time && elapsed) {
        st->bitrate = (bytes - t->bytes_at_tick) * 8 * 1000 / elapsed;
    }

    t->tick_time = now;
    t->bytes_at_tick = bytes;
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
        return ngx_webrtc_registry_since(ss->ended) <= NGX_WEBRTC_TOMBSTONE;
    }

    if (ss->pid == ngx_pid) {
        return 1;
    }

    if (kill(ss->pid, 0) == -1 && ngx_errno == NGX_ESRCH) {
        return 0;
    }

    return 1;
}


/*
 * Milliseconds since a time another worker wrote: its cached time may be
 * ahead of ours, and then the difference is negative, not huge.
 */

ngx_msec_int_t
ngx_webrtc_registry_since(ngx_msec_t t)
{
    return (ngx_msec_int_t) (ngx_current_msec - t);
}


/*
 * Once a second, in one worker at a time: tombstones past their time and
 * the records of workers that died without cleaning up (a crash,
 * SIGKILL) are freed, so that the status and the counts are right.
 */

void
ngx_webrtc_registry_sweep_locked(ngx_webrtc_pids_t *pids)
{
    ngx_queue_t               *q, *next;
    ngx_slab_pool_t           *shpool;
    ngx_webrtc_shm_t          *sh;
    ngx_webrtc_shm_session_t  *ss;

    shpool = ngx_webrtc_worker->shm->shpool;
    sh = ngx_webrtc_worker->shm->sh;

    for (q = ngx_queue_head(&sh->sessions);
         q != ngx_queue_sentinel(&sh->sessions);
         q = next)
    {
        next = ngx_queue_next(q);
        ss = ngx_queue_data(q, ngx_webrtc_shm_session_t, queue);

        if (ss->tombstone) {
            if (ngx_webrtc_registry_since(ss->ended) > NGX_WEBRTC_TOMBSTONE) {
                ngx_webrtc_shm_free_locked(shpool, sh, ss);
            }

            continue;
        }

        if (!ngx_webrtc_registry_pid_alive(pids, ss->pid)) {
            ngx_log_error(NGX_LOG_NOTICE, ngx_webrtc_worker->log, 0,
                          "webrtc: session %*s of stream \"%*s\" ended: "
                          "its worker %P died",
                          (size_t) NGX_WEBRTC_ID_LEN, ss->id,
                          ss->stream_len, ss->stream, ss->pid);

            ngx_webrtc_registry_ended_locked(sh, "worker died");
            ngx_webrtc_shm_free_locked(shpool, sh, ss);
        }
    }
}


/* one more session ended for this reason; the last entry takes the rest */

static void
ngx_webrtc_registry_ended_locked(ngx_webrtc_shm_t *sh, const char *reason)
{
    size_t                len;
    ngx_uint_t            i;
    ngx_webrtc_reason_t  *e;

    len = ngx_min(ngx_strlen(reason), NGX_WEBRTC_REASON_LEN);

    for (i = 0; i < NGX_WEBRTC_REASONS - 1; i++) {
        e = &sh->ended[i];

        if (e->len == 0) {
            ngx_memcpy(e->text, reason, len);
            e->len = len;
            break;
        }

        if (e->len == len && ngx_memcmp(e->text, reason, len) == 0) {
            break;
        }
    }

    e = &sh->ended[i];

    if (i == NGX_WEBRTC_REASONS - 1 && e->len == 0) {
        e->len = sizeof("other") - 1;
        ngx_memcpy(e->text, "other", e->len);
    }

    e->count++;
}


ngx_uint_t
ngx_webrtc_registry_pid_alive(ngx_webrtc_pids_t *pids, ngx_pid_t pid)
{
    ngx_uint_t  i, alive;

    if (pid == ngx_pid) {
        return 1;
    }

    for (i = 0; i < pids->n; i++) {
        if (pids->pid[i] == pid) {
            return pids->alive[i];
        }
    }

    alive = !(kill(pid, 0) == -1 && ngx_errno == NGX_ESRCH);

    if (pids->n < 2 * NGX_WEBRTC_WORKERS_MAX) {
        pids->pid[pids->n] = pid;
        pids->alive[pids->n] = (u_char) alive;
        pids->n++;
    }

    return alive;
}
