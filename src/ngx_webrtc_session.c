
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_session.h"
#include "ngx_webrtc_session_log.h"
#include "ngx_webrtc_udp.h"

#include <openssl/rand.h>


/*
 * Sessions: their tables in the worker (by local ufrag for ICE checks,
 * by peer address for everything else), their life from the answer to
 * the end, and the orchestration of their layers.  A datagram from the
 * worker's demux is handed to a layer; the layer returns what happened,
 * and the session decides: connected (keys to SRTP, the role is told,
 * data channels start), data (to SCTP), closed (the session ends).
 */


/* the sign of key minus the session's key, for the trees */
typedef ngx_int_t (*ngx_webrtc_session_cmp_pt)(ngx_webrtc_session_t *s,
    u_char *key, size_t len);


static ngx_webrtc_ice_t *ngx_webrtc_session_ice_lookup(u_char *ufrag,
    size_t len);
static ngx_webrtc_session_t *ngx_webrtc_session_by_ufrag(u_char *ufrag,
    size_t len);
static void ngx_webrtc_session_set_peer(ngx_webrtc_session_t *s,
    struct sockaddr *sa, socklen_t socklen, ngx_webrtc_tcp_conn_t *tc);
static void ngx_webrtc_session_connected(ngx_webrtc_session_t *s);
static void ngx_webrtc_session_report(ngx_event_t *ev);
static ngx_int_t ngx_webrtc_session_output(void *data, u_char *buf,
    size_t len);
static ngx_int_t ngx_webrtc_session_sctp_output(void *data, u_char *buf,
    size_t len);
static void ngx_webrtc_session_consent_handler(ngx_event_t *ev);
static void ngx_webrtc_session_dtls_handler(ngx_event_t *ev);
static void ngx_webrtc_session_stun_response(u_char *buf, size_t len,
    struct sockaddr *sa, socklen_t socklen);
static void ngx_webrtc_session_check_handler(ngx_event_t *ev);
static void ngx_webrtc_ufrag_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void ngx_webrtc_addr_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_webrtc_session_t *ngx_webrtc_session_tree_find(ngx_rbtree_t *tree,
    size_t off, ngx_webrtc_session_cmp_pt cmp, u_char *key, size_t len);
static void ngx_webrtc_session_tree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel, size_t off,
    ngx_webrtc_session_cmp_pt cmp, u_char *key, size_t len);
static ngx_int_t ngx_webrtc_ufrag_cmp(ngx_webrtc_session_t *s, u_char *key,
    size_t len);
static ngx_int_t ngx_webrtc_addr_cmp(ngx_webrtc_session_t *s, u_char *key,
    size_t len);
static u_char *ngx_webrtc_session_log_error(ngx_log_t *log, u_char *buf,
    size_t len);


static ngx_queue_t        ngx_webrtc_sessions;
static ngx_uint_t         ngx_webrtc_nsessions;
static ngx_rbtree_t       ngx_webrtc_ufrag_tree;
static ngx_rbtree_node_t  ngx_webrtc_ufrag_sentinel;
static ngx_rbtree_t       ngx_webrtc_addr_tree;
static ngx_rbtree_node_t  ngx_webrtc_addr_sentinel;


void
ngx_webrtc_session_init(void)
{
    ngx_queue_init(&ngx_webrtc_sessions);
    ngx_webrtc_nsessions = 0;

    ngx_rbtree_init(&ngx_webrtc_ufrag_tree, &ngx_webrtc_ufrag_sentinel,
                    ngx_webrtc_ufrag_insert);
    ngx_rbtree_init(&ngx_webrtc_addr_tree, &ngx_webrtc_addr_sentinel,
                    ngx_webrtc_addr_insert);
}


void
ngx_webrtc_session_close_all(void)
{
    ngx_queue_t           *q;
    ngx_webrtc_session_t  *s;

    while (!ngx_queue_empty(&ngx_webrtc_sessions)) {
        q = ngx_queue_head(&ngx_webrtc_sessions);
        s = ngx_queue_data(q, ngx_webrtc_session_t, queue);
        ngx_webrtc_session_close(s, "worker exit");
    }
}


ngx_uint_t
ngx_webrtc_session_count(void)
{
    return ngx_webrtc_nsessions;
}


ngx_webrtc_session_t *
ngx_webrtc_session_create(ngx_str_t *stream, ngx_uint_t role)
{
    u_char                *p;
    ngx_pool_t            *pool;
    ngx_webrtc_worker_t   *w;
    ngx_webrtc_session_t  *s;
    u_char                 rnd[NGX_WEBRTC_ID_LEN / 2 + NGX_WEBRTC_UFRAG_LEN
                               + NGX_WEBRTC_PWD_LEN + 4];

    w = ngx_webrtc_worker;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        ngx_log_error(NGX_LOG_CRIT, w->log, 0, "webrtc: RAND_bytes() failed");
        return NULL;
    }

    /* the session (1.7 KiB) and its strings: a browser offer's fit */
    pool = ngx_create_pool(2048, w->log);
    if (pool == NULL) {
        return NULL;
    }

    s = ngx_pcalloc(pool, sizeof(ngx_webrtc_session_t));
    if (s == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    s->pool = pool;
    s->role = role;
    s->state = NGX_WEBRTC_STATE_NEW;

    ngx_hex_dump(s->id, rnd, NGX_WEBRTC_ID_LEN / 2);

    p = rnd + NGX_WEBRTC_ID_LEN / 2;

    ngx_webrtc_ice_create(&s->ice, p);

    p += NGX_WEBRTC_UFRAG_LEN + NGX_WEBRTC_PWD_LEN;

    s->local_ssrc = ((uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
                     | (uint32_t) p[2] << 8 | p[3]) | 1;

    s->stream.data = ngx_pstrdup(pool, stream);
    if (s->stream.data == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    s->stream.len = stream->len;

    s->log = *w->log;
    s->log.handler = ngx_webrtc_session_log_error;
    s->log.data = s;
    s->log.action = NULL;
    pool->log = &s->log;

    s->dtls.pool = pool;
    s->dtls.log = &s->log;
    s->dtls.output = ngx_webrtc_session_output;
    s->dtls.data = s;
    s->dtls.timer.handler = ngx_webrtc_session_dtls_handler;
    s->dtls.timer.data = s;

    s->srtp.log = &s->log;

    s->data.sctp.pool = pool;
    s->data.sctp.log = &s->log;
    s->data.sctp.output = ngx_webrtc_session_sctp_output;
    s->data.sctp.output_data = s;
    s->data.role = role;
    s->data.id = s->id;

    s->ufrag_node.key = ngx_crc32_short(s->ice.local_ufrag,
                                        NGX_WEBRTC_UFRAG_LEN);

    ngx_queue_init(&s->queue);

    return s;
}


/* the session starts to receive: after the answer was accepted */

ngx_int_t
ngx_webrtc_session_activate(ngx_webrtc_session_t *s)
{
    ngx_event_t  *ev;

    if (ngx_webrtc_dtls_create(&s->dtls) != NGX_OK) {
        return NGX_ERROR;
    }

    s->data.st = s->st;
    s->data.sctp.stats = s->shm;

    ngx_queue_insert_tail(&ngx_webrtc_sessions, &s->queue);
    ngx_rbtree_insert(&ngx_webrtc_ufrag_tree, &s->ufrag_node);
    ngx_webrtc_nsessions++;

    ev = &s->ice.consent_timer;
    ev->handler = ngx_webrtc_session_consent_handler;
    ev->data = s;
    ev->log = &s->log;
    s->ice.last_consent = ngx_current_msec;
    s->created = ngx_current_msec;

    /*
     * a live session keeps an old worker alive across a reload; until
     * DTLS is up the timer also keeps webrtc_setup_timeout
     */
    ngx_add_timer(ev, ngx_min(ngx_webrtc_worker->conf->consent_timeout,
                              ngx_webrtc_worker->conf->setup_timeout));

    ngx_log_error(NGX_LOG_INFO, &s->log, 0, "webrtc: session created");

    return NGX_OK;
}


void
ngx_webrtc_session_close(ngx_webrtc_session_t *s, const char *reason)
{
    if (s->closing) {
        return;
    }

    s->closing = 1;

    ngx_log_error(NGX_LOG_INFO, &s->log, 0, "webrtc: session closed: %s",
                  reason);

    ngx_webrtc_data_close(&s->data);

    if (s->has_peer && (s->dtls.ssl || s->dtls.close_notify_len)) {
        ngx_webrtc_dtls_shutdown(&s->dtls);
    }

    if (s->tcp_owned) {
        /* after the close_notify: the connections send what they hold */
        ngx_webrtc_tcp_close_owned(ngx_webrtc_worker->tcp, s);
        s->tcp = NULL;
    }

    if (s->ice.consent_timer.timer_set) {
        ngx_del_timer(&s->ice.consent_timer);
    }

    if (s->dtls.timer.timer_set) {
        ngx_del_timer(&s->dtls.timer);
    }

    if (s->rtcp_timer.timer_set) {
        ngx_del_timer(&s->rtcp_timer);
    }

    if (s->dtls.timer.posted) {
        ngx_delete_posted_event(&s->dtls.timer);
    }

    if (s->icc) {
        ngx_webrtc_ice_client_close(s->icc);

        if (s->icc->timer.timer_set) {
            ngx_del_timer(&s->icc->timer);
        }
    }

    if (!ngx_queue_empty(&s->queue)) {
        ngx_queue_remove(&s->queue);
        ngx_rbtree_delete(&ngx_webrtc_ufrag_tree, &s->ufrag_node);
        ngx_webrtc_nsessions--;
    }

    if (s->in_addr_tree) {
        ngx_rbtree_delete(&ngx_webrtc_addr_tree, &s->addr_node);
        s->in_addr_tree = 0;
    }

    if (s->handler) {
        s->handler->close(s);

    } else if (s->st) {
        /* ended before its role began */
        ngx_webrtc_stream_release(s->st);
        s->st = NULL;
    }

    if (s->shm) {
        ngx_webrtc_session_log(s->shm, ngx_current_msec - s->created,
                               reason);

        if (s->notify && s->state == NGX_WEBRTC_STATE_CONNECTED) {
            /* the end of what was announced */
            ngx_webrtc_notify(s->notify, NGX_WEBRTC_NOTIFY_END, s->shm,
                              ngx_current_msec - s->created, reason);
        }

        ngx_webrtc_registry_remove(s->shm, reason);
        s->shm = NULL;
    }

    /* the pool's cleanups free the SSL object and the SRTP contexts */
    ngx_destroy_pool(s->pool);
}


/* a session is ended by its own worker; others are asked over UDP */

void
ngx_webrtc_session_end(ngx_pid_t pid, in_port_t port, u_char *id)
{
    ngx_webrtc_session_t  *s;

    if (pid == ngx_pid) {
        s = ngx_webrtc_session_find(id);
        if (s) {
            ngx_webrtc_session_close(s, "deleted");
        }

        return;
    }

    ngx_webrtc_registry_mark_closing(id);
    (void) ngx_webrtc_udp_ctl_send(ngx_webrtc_worker->udp, port,
                                   NGX_WEBRTC_CTL_CLOSE, id);
}


/*
 * An ICE restart from a PATCH on any worker: new server credentials
 * (out in ufrag and pwd) and the client's new ufrag go into the record
 * with the If-Match check (ngx_webrtc_registry_restart); the owner takes
 * them from there, at once or told over UDP.  A lost control datagram
 * leaves the old credentials in use: the client's checks fail and it
 * restarts again.  NGX_OK, NGX_DECLINED, NGX_BUSY as the registry's;
 * NGX_ERROR.
 */

ngx_int_t
ngx_webrtc_session_restart(ngx_webrtc_shm_restart_t *rs, u_char *ufrag,
    u_char *pwd)
{
    ngx_int_t              rc;
    ngx_webrtc_session_t  *s;
    u_char                 rnd[NGX_WEBRTC_UFRAG_LEN + NGX_WEBRTC_PWD_LEN];

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        ngx_log_error(NGX_LOG_CRIT, ngx_webrtc_worker->log, 0,
                      "webrtc: RAND_bytes() failed");
        return NGX_ERROR;
    }

    ngx_webrtc_ice_credentials(ufrag, pwd, rnd);

    rs->ufrag = ufrag;
    rs->pwd = pwd;

    rc = ngx_webrtc_registry_restart(rs);

    if (rc != NGX_OK) {
        return rc;
    }

    if (rs->pid == ngx_pid) {
        s = ngx_webrtc_session_find(rs->id);
        if (s) {
            ngx_webrtc_session_ice_restart(s);
        }

        return NGX_OK;
    }

    (void) ngx_webrtc_udp_ctl_send(ngx_webrtc_worker->udp, rs->port,
                                   NGX_WEBRTC_CTL_RESTART, rs->id);

    return NGX_OK;
}


/* the owner swaps to the credentials in the record, re-indexed by ufrag */

void
ngx_webrtc_session_ice_restart(ngx_webrtc_session_t *s)
{
    size_t   len;
    u_char   ufrag[NGX_WEBRTC_UFRAG_LEN], pwd[NGX_WEBRTC_PWD_LEN];
    u_char   remote[NGX_WEBRTC_ICE_UFRAG_MAX];

    if (s->closing || s->shm == NULL) {
        return;
    }

    ngx_webrtc_registry_ice(s->shm, ufrag, pwd, remote, &len);

    if (ngx_memcmp(ufrag, s->ice.local_ufrag, NGX_WEBRTC_UFRAG_LEN) == 0) {
        /* already done, or a datagram for a restart that came before */
        return;
    }

    if (s->ice.remote_buf == NULL) {
        /* once per session: restarts in a loop cannot grow the pool */
        s->ice.remote_buf = ngx_pnalloc(s->pool, NGX_WEBRTC_ICE_UFRAG_MAX);
        if (s->ice.remote_buf == NULL) {
            ngx_webrtc_session_close(s, "no memory for an ICE restart");
            return;
        }
    }

    if (ngx_queue_empty(&s->queue)) {
        /* not active yet: the answer is being written */
        return;
    }

    ngx_rbtree_delete(&ngx_webrtc_ufrag_tree, &s->ufrag_node);

    ngx_webrtc_ice_restart(&s->ice, ufrag, pwd, remote, len);

    s->ufrag_node.key = ngx_crc32_short(s->ice.local_ufrag,
                                        NGX_WEBRTC_UFRAG_LEN);
    ngx_rbtree_insert(&ngx_webrtc_ufrag_tree, &s->ufrag_node);

    ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                  "webrtc: ICE restart %ui, ufrag %*s",
                  s->ice.restarts, (size_t) NGX_WEBRTC_UFRAG_LEN,
                  s->ice.local_ufrag);
}


ngx_webrtc_session_t *
ngx_webrtc_session_find(u_char *id)
{
    ngx_queue_t           *q;
    ngx_webrtc_session_t  *s;

    for (q = ngx_queue_head(&ngx_webrtc_sessions);
         q != ngx_queue_sentinel(&ngx_webrtc_sessions);
         q = ngx_queue_next(q))
    {
        s = ngx_queue_data(q, ngx_webrtc_session_t, queue);

        if (ngx_memcmp(s->id, id, NGX_WEBRTC_ID_LEN) == 0) {
            return s;
        }
    }

    return NULL;
}


/*
 * A STUN datagram: a connectivity check is answered, and for ICE-lite
 * the first valid check gives a path for DTLS; a nomination
 * (USE-CANDIDATE) moves the session to the chosen pair.
 */

void
ngx_webrtc_session_stun(u_char *buf, size_t len, struct sockaddr *sa,
    socklen_t socklen, ngx_webrtc_tcp_conn_t *tc)
{
    ngx_webrtc_session_t    *s;
    ngx_webrtc_ice_check_t   chk;

    if (len >= 20 && buf[0] == 0x01 && buf[1] == 0x01) {
        /* a Binding success response: to a check of ours (over UDP) */
        if (tc == NULL) {
            ngx_webrtc_session_stun_response(buf, len, sa, socklen);
        }

        return;
    }

    if (ngx_webrtc_ice_input(buf, len, sa, socklen,
                             ngx_webrtc_session_ice_lookup, &chk)
        != NGX_OK)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, ngx_webrtc_worker->log, 0,
                       "webrtc: STUN message of %uz bytes dropped", len);
        return;
    }

    s = (ngx_webrtc_session_t *)
            ((u_char *) chk.ice - offsetof(ngx_webrtc_session_t, ice));

    if (tc == NULL) {
        (void) ngx_webrtc_udp_send(ngx_webrtc_worker->udp, chk.reply,
                                   chk.reply_len, sa, socklen, &s->log);

    } else {
        /* an ICE-TCP connection belongs to the first session it checks */
        if (tc->owner && tc->owner != s) {
            ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                          "webrtc: ICE-TCP check for another session on "
                          "one connection ignored");
            return;
        }

        if (tc->owner == NULL) {
            ngx_webrtc_tcp_set_owner(tc, s);
            s->tcp_owned = 1;
        }

        (void) ngx_webrtc_tcp_send(tc, chk.reply, chk.reply_len);
    }

    if (chk.role_conflict || chk.retransmit) {
        return;
    }

    if (!s->has_peer
        || (chk.use_candidate
            && (!s->dtls.done
                || s->ice.restarted
                || ngx_current_msec - s->path_rx >= NGX_WEBRTC_PATH_IDLE)))
    {
        /*
         * a nomination moves the session while it sets up, and the first
         * one after an ICE restart (authenticated with the new
         * credentials: the restart is the path change); otherwise, once
         * DTLS is up, only when the current path has gone quiet (the
         * client's network changed), not while media flows on it
         */
        ngx_webrtc_session_set_peer(s, sa, socklen, tc);

        if (chk.use_candidate) {
            s->ice.restarted = 0;
        }
    }

    if (tc != s->tcp
        || (tc == NULL
            && ngx_cmp_sockaddr(sa, socklen, (struct sockaddr *) &s->peer,
                                s->peer_len, 1)
               != NGX_OK))
    {
        ngx_log_debug0(NGX_LOG_DEBUG_EVENT, &s->log, 0,
                       "webrtc: check from another address ignored");
        return;
    }

    ngx_webrtc_ice_consent(&s->ice);
    s->path_rx = ngx_current_msec;

    if (s->shm) {
        /* activity, as media: a publisher checking consent is not idle */
        s->shm->last_rx = ngx_current_msec;
    }

    if (s->state == NGX_WEBRTC_STATE_NEW) {
        s->state = NGX_WEBRTC_STATE_ICE;

        if (s->shm) {
            s->shm->state = s->state;
        }
    }
}


/*
 * A session the server opened itself (cascading) is the controlling
 * agent: it has one pair, the peer's candidate from the answer, and
 * nominates it with every check.  Valid answers keep the consent, and
 * the first one starts the DTLS client.
 */

ngx_int_t
ngx_webrtc_session_connect(ngx_webrtc_session_t *s, struct sockaddr *sa,
    socklen_t socklen, ngx_str_t *remote_ufrag, ngx_str_t *remote_pwd)
{
    ngx_webrtc_session_t  *other;

    other = ngx_webrtc_session_by_addr(sa, socklen);
    if (other && other != s) {
        /* the worker's socket tells sessions apart by peer address */
        return NGX_DECLINED;
    }

    s->icc = ngx_pcalloc(s->pool, sizeof(ngx_webrtc_ice_client_t));
    if (s->icc == NULL) {
        return NGX_ERROR;
    }

    if (ngx_webrtc_ice_client_create(s->icc, s->pool, remote_ufrag,
                                     remote_pwd, s->ice.local_ufrag)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    s->icc->timer.handler = ngx_webrtc_session_check_handler;
    s->icc->timer.data = s;
    s->icc->timer.log = &s->log;
    s->icc->timer.cancelable = 1;

    ngx_webrtc_session_set_peer(s, sa, socklen, NULL);

    ngx_webrtc_session_check_handler(&s->icc->timer);

    return NGX_OK;
}


static void
ngx_webrtc_session_check_handler(ngx_event_t *ev)
{
    size_t                 len;
    u_char                *buf;
    ngx_msec_t             next;
    ngx_webrtc_session_t  *s;

    s = ev->data;

    if (s->closing) {
        return;
    }

    if (ngx_webrtc_ice_client_check(s->icc, &buf, &len, &next) != NGX_OK) {
        ngx_webrtc_session_close(s, "STUN check not created");
        return;
    }

    (void) ngx_webrtc_session_send(s, buf, len);

    ngx_add_timer(ev, next);
}


static void
ngx_webrtc_session_stun_response(u_char *buf, size_t len,
    struct sockaddr *sa, socklen_t socklen)
{
    ngx_webrtc_session_t  *s;

    s = ngx_webrtc_session_by_addr(sa, socklen);

    if (s == NULL || s->icc == NULL || s->closing
        || ngx_webrtc_ice_client_response(s->icc, buf, len) != NGX_OK)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, ngx_webrtc_worker->log, 0,
                       "webrtc: STUN response of %uz bytes dropped", len);
        return;
    }

    ngx_webrtc_ice_consent(&s->ice);
    s->path_rx = ngx_current_msec;

    if (s->shm) {
        s->shm->last_rx = ngx_current_msec;
    }

    if (s->icc->timer.timer_set) {
        ngx_del_timer(&s->icc->timer);
    }

    ngx_add_timer(&s->icc->timer, NGX_WEBRTC_ICE_KEEPALIVE);

    if (s->state != NGX_WEBRTC_STATE_NEW) {
        return;
    }

    s->state = NGX_WEBRTC_STATE_ICE;

    if (s->shm) {
        s->shm->state = s->state;
    }

    if (ngx_webrtc_dtls_handshake(&s->dtls) != NGX_OK) {
        ngx_webrtc_session_close(s, s->dtls.error);
    }
}


static ngx_webrtc_ice_t *
ngx_webrtc_session_ice_lookup(u_char *ufrag, size_t len)
{
    ngx_webrtc_session_t  *s;

    s = ngx_webrtc_session_by_ufrag(ufrag, len);

    if (s == NULL || s->closing) {
        return NULL;
    }

    return &s->ice;
}


/* a DTLS record from the session's peer */

void
ngx_webrtc_session_dtls(ngx_webrtc_session_t *s, u_char *buf, size_t len)
{
    ssize_t  n;
    u_char   data[2048];

    if (s->closing) {
        return;
    }

    switch (ngx_webrtc_dtls_input(&s->dtls, buf, len)) {

    case NGX_WEBRTC_DTLS_CONNECTED:
        ngx_webrtc_session_connected(s);
        return;

    case NGX_WEBRTC_DTLS_ALERT:
        if (ngx_webrtc_ice_alert(&s->ice) == NGX_OK) {
            ngx_log_debug0(NGX_LOG_DEBUG_EVENT, &s->log, 0,
                           "webrtc: DTLS alert after release");
        }

        return;

    case NGX_WEBRTC_DTLS_FAILED:
        ngx_webrtc_session_close(s, s->dtls.error);
        return;

    case NGX_WEBRTC_DTLS_DATA:
        break;

    default: /* NGX_WEBRTC_DTLS_AGAIN */
        return;
    }

    /* application data: SCTP for the data channels */

    for ( ;; ) {
        n = ngx_webrtc_dtls_read(&s->dtls, data, sizeof(data));

        if (n == 0) {
            return;
        }

        if (n < 0) {
            ngx_webrtc_session_close(s, s->dtls.error);
            return;
        }

        ngx_webrtc_sctp_input(&s->data.sctp, data, n);

        if (s->closing) {
            return;
        }
    }
}


static void
ngx_webrtc_session_connected(ngx_webrtc_session_t *s)
{
    ngx_int_t  rc;
    u_char     keys[NGX_WEBRTC_DTLS_KEYS_MAX];

    rc = ngx_webrtc_dtls_keys(&s->dtls, keys);

    if (rc == NGX_OK) {
        rc = ngx_webrtc_srtp_create(&s->srtp, s->pool, s->dtls.profile, keys,
                                    s->role == NGX_WEBRTC_ROLE_VIEWER);
    }

    ngx_explicit_memzero(keys, sizeof(keys));

    if (rc != NGX_OK) {
        ngx_webrtc_session_close(s, "DTLS-SRTP setup failed");
        return;
    }

    s->state = NGX_WEBRTC_STATE_CONNECTED;

    if (s->shm) {
        s->shm->state = s->state;
    }

    ngx_webrtc_registry_connected(ngx_current_msec - s->created);

    if (s->notify && s->shm) {
        ngx_webrtc_notify(s->notify, NGX_WEBRTC_NOTIFY_START, s->shm, 0,
                          NULL);
    }

    ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                  "webrtc: DTLS connected, %s", s->dtls.profile_name);

    if (s->handler) {
        s->rtcp_timer.handler = ngx_webrtc_session_report;
        s->rtcp_timer.data = s;
        s->rtcp_timer.log = &s->log;
        s->rtcp_timer.cancelable = 1;

        ngx_add_timer(&s->rtcp_timer, 200);

        if (s->handler->connected) {
            s->handler->connected(s);
        }
    }

    if (s->data.sctp.port
        && ngx_webrtc_data_start(&s->data,
                                 ngx_webrtc_worker->conf->dc_max_buffered)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                      "webrtc: data channels not started");
    }
}


/* the role's reports, then the tracks' bitrates and SSRCs for the status */

static void
ngx_webrtc_session_report(ngx_event_t *ev)
{
    ngx_uint_t             i;
    ngx_webrtc_session_t  *s;

    s = ev->data;

    s->handler->report(s);

    for (i = 0; i < s->ntracks; i++) {
        ngx_webrtc_registry_bitrate(&s->tracks[i], &s->shm->tracks[i],
                                    ngx_current_msec);
    }

    s->shm->srtp_ssrcs = s->srtp.nssrcs;
    s->shm->srtp_ssrc_dropped = s->srtp.ssrc_dropped;

    ngx_add_timer(&s->rtcp_timer, ngx_webrtc_worker->conf->rtcp_interval);
}


/* SRTP or SRTCP from the session's peer: unprotected in place */

void
ngx_webrtc_session_srtp(ngx_webrtc_session_t *s, u_char *buf, size_t len)
{
    size_t  n;

    if (!s->dtls.done || !s->srtp.ready || len < 12 || s->handler == NULL) {
        return;
    }

    n = len;

    if (buf[1] >= 192 && buf[1] <= 223) {
        if (ngx_webrtc_srtcp_unprotect(&s->srtp, buf, &n) == NGX_OK) {
            s->path_rx = ngx_current_msec;
            s->handler->rtcp(s, buf, n);
        }

        return;
    }

    if (s->handler->rtp == NULL) {
        /* a viewer sends no media */
        return;
    }

    if (ngx_webrtc_srtp_unprotect(&s->srtp, buf, &n) == NGX_OK) {
        s->path_rx = ngx_current_msec;
        s->handler->rtp(s, buf, n);
    }
}


/*
 * The role says the peer has its keys (its first SRTCP passed): a
 * session without data channels needs DTLS no more.
 */

void
ngx_webrtc_session_release_dtls(ngx_webrtc_session_t *s)
{
    if (s->dtls.ssl && !s->data.sctp.port && !s->closing) {
        ngx_webrtc_dtls_release(&s->dtls);
    }
}


ngx_int_t
ngx_webrtc_session_send(ngx_webrtc_session_t *s, u_char *buf, size_t len)
{
    if (!s->has_peer) {
        return NGX_DECLINED;
    }

    if (s->tcp) {
        return ngx_webrtc_tcp_send(s->tcp, buf, len);
    }

    return ngx_webrtc_udp_send(ngx_webrtc_worker->udp, buf, len,
                               (struct sockaddr *) &s->peer, s->peer_len,
                               &s->log);
}


/* the ICE-TCP connection that was the session's path is gone */

void
ngx_webrtc_session_tcp_closed(ngx_webrtc_session_t *s,
    ngx_webrtc_tcp_conn_t *tc)
{
    if (s->tcp != tc) {
        return;
    }

    s->tcp = NULL;
    s->has_peer = 0;

    ngx_webrtc_session_close(s, "ICE-TCP connection closed");
}


/* buf must have NGX_WEBRTC_SRTCP_ROOM bytes of room after len bytes */

ngx_int_t
ngx_webrtc_session_send_rtcp(ngx_webrtc_session_t *s, u_char *buf,
    size_t len)
{
    if (!s->srtp.ready) {
        return NGX_DECLINED;
    }

    if (ngx_webrtc_srtcp_protect(&s->srtp, buf, &len) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_webrtc_session_send(s, buf, len);
}


static ngx_int_t
ngx_webrtc_session_output(void *data, u_char *buf, size_t len)
{
    return ngx_webrtc_session_send(data, buf, len);
}


static ngx_int_t
ngx_webrtc_session_sctp_output(void *data, u_char *buf, size_t len)
{
    ngx_webrtc_session_t  *s = data;

    if (s->closing) {
        return NGX_ERROR;
    }

    return ngx_webrtc_dtls_write(&s->dtls, buf, len);
}


static void
ngx_webrtc_session_consent_handler(ngx_event_t *ev)
{
    ngx_msec_t             last_rx, age;
    const char            *reason;
    ngx_webrtc_conf_t     *conf;
    ngx_webrtc_session_t  *s;

    s = ev->data;
    conf = ngx_webrtc_worker->conf;

    /* a peer that answers checks but never completes DTLS: half-open */

    age = ngx_current_msec - s->created;

    if (s->state != NGX_WEBRTC_STATE_CONNECTED && age >= conf->setup_timeout) {
        ngx_webrtc_session_close(s, "no DTLS within webrtc_setup_timeout");
        return;
    }

    last_rx = s->shm ? s->shm->last_rx : s->ice.alert_time;

    if (ngx_webrtc_ice_consent_check(&s->ice, conf->consent_timeout, last_rx,
                                     &reason)
        != NGX_OK)
    {
        ngx_webrtc_session_close(s, reason);
        return;
    }

    if (s->state != NGX_WEBRTC_STATE_CONNECTED) {
        ngx_add_timer(ev, conf->setup_timeout - age);
    }
}


static void
ngx_webrtc_session_dtls_handler(ngx_event_t *ev)
{
    ngx_webrtc_session_t  *s;

    s = ev->data;

    if (s->closing) {
        return;
    }

    if (ngx_webrtc_dtls_timeout(&s->dtls) != NGX_OK) {
        ngx_webrtc_session_close(s, s->dtls.error);
    }
}


/*
 * Called on a valid ICE check: the check's source becomes the session's
 * peer address (ICE-lite: the controlling agent picks the pair).
 */

static void
ngx_webrtc_session_set_peer(ngx_webrtc_session_t *s, struct sockaddr *sa,
    socklen_t socklen, ngx_webrtc_tcp_conn_t *tc)
{
    ngx_webrtc_session_t  *other;

    if (s->has_peer
        && s->tcp == tc
        && ngx_cmp_sockaddr(sa, socklen, (struct sockaddr *) &s->peer,
                            s->peer_len, 1)
           == NGX_OK)
    {
        return;
    }

    if (s->in_addr_tree) {
        ngx_rbtree_delete(&ngx_webrtc_addr_tree, &s->addr_node);
        s->in_addr_tree = 0;
    }

    ngx_memcpy(&s->peer, sa, socklen);
    s->peer_len = socklen;
    s->has_peer = 1;
    s->tcp = tc;

    if (tc == NULL) {
        /* a UDP path is found by its address; a TCP one by its connection */

        other = ngx_webrtc_session_by_addr(sa, socklen);
        if (other && other != s) {
            /* the address moved to a new session: the old one is stale */
            ngx_webrtc_session_close(other, "address taken by a new session");
        }

        s->addr_node.key = ngx_crc32_short((u_char *) &s->peer, socklen);
        ngx_rbtree_insert(&ngx_webrtc_addr_tree, &s->addr_node);
        s->in_addr_tree = 1;
    }

    if (s->shm) {
        ngx_webrtc_registry_set_remote(s->shm, sa, socklen);
        s->shm->tcp = (tc != NULL);
    }
}


static ngx_webrtc_session_t *
ngx_webrtc_session_by_ufrag(u_char *ufrag, size_t len)
{
    if (len != NGX_WEBRTC_UFRAG_LEN) {
        return NULL;
    }

    return ngx_webrtc_session_tree_find(&ngx_webrtc_ufrag_tree,
                                        offsetof(ngx_webrtc_session_t,
                                                 ufrag_node),
                                        ngx_webrtc_ufrag_cmp, ufrag, len);
}


ngx_webrtc_session_t *
ngx_webrtc_session_by_addr(struct sockaddr *sa, socklen_t socklen)
{
    return ngx_webrtc_session_tree_find(&ngx_webrtc_addr_tree,
                                        offsetof(ngx_webrtc_session_t,
                                                 addr_node),
                                        ngx_webrtc_addr_cmp, (u_char *) sa,
                                        socklen);
}


/* both trees order by crc32 first and by the bytes on a collision */

static ngx_webrtc_session_t *
ngx_webrtc_session_tree_find(ngx_rbtree_t *tree, size_t off,
    ngx_webrtc_session_cmp_pt cmp, u_char *key, size_t len)
{
    uint32_t               hash;
    ngx_int_t              rc;
    ngx_rbtree_node_t     *node, *sentinel;
    ngx_webrtc_session_t  *s;

    hash = ngx_crc32_short(key, len);

    node = tree->root;
    sentinel = tree->sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        s = (ngx_webrtc_session_t *) ((u_char *) node - off);

        rc = cmp(s, key, len);

        if (rc == 0) {
            return s;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_webrtc_ufrag_insert(ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel)
{
    ngx_webrtc_session_t  *s;

    s = (ngx_webrtc_session_t *)
            ((u_char *) node - offsetof(ngx_webrtc_session_t, ufrag_node));

    ngx_webrtc_session_tree_insert(temp, node, sentinel,
                                   offsetof(ngx_webrtc_session_t, ufrag_node),
                                   ngx_webrtc_ufrag_cmp, s->ice.local_ufrag,
                                   NGX_WEBRTC_UFRAG_LEN);
}


static void
ngx_webrtc_addr_insert(ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel)
{
    ngx_webrtc_session_t  *s;

    s = (ngx_webrtc_session_t *)
            ((u_char *) node - offsetof(ngx_webrtc_session_t, addr_node));

    ngx_webrtc_session_tree_insert(temp, node, sentinel,
                                   offsetof(ngx_webrtc_session_t, addr_node),
                                   ngx_webrtc_addr_cmp, (u_char *) &s->peer,
                                   s->peer_len);
}


static void
ngx_webrtc_session_tree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel, size_t off,
    ngx_webrtc_session_cmp_pt cmp, u_char *key, size_t len)
{
    ngx_rbtree_node_t     **p;
    ngx_webrtc_session_t   *t;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            t = (ngx_webrtc_session_t *) ((u_char *) temp - off);

            p = (cmp(t, key, len) < 0) ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_int_t
ngx_webrtc_ufrag_cmp(ngx_webrtc_session_t *s, u_char *key, size_t len)
{
    return ngx_memcmp(key, s->ice.local_ufrag, NGX_WEBRTC_UFRAG_LEN);
}


static ngx_int_t
ngx_webrtc_addr_cmp(ngx_webrtc_session_t *s, u_char *key, size_t len)
{
    if (len != s->peer_len) {
        return (len < s->peer_len) ? -1 : 1;
    }

    return ngx_memcmp(key, &s->peer, len);
}


static u_char *
ngx_webrtc_session_log_error(ngx_log_t *log, u_char *buf, size_t len)
{
    u_char                *p;
    ngx_webrtc_session_t  *s;

    s = log->data;
    p = buf;

    if (log->action) {
        p = ngx_snprintf(p, len, " while %s", log->action);
        len -= p - buf;
        buf = p;
    }

    p = ngx_snprintf(p, len, ", session: %*s, stream: \"%V\"",
                     (size_t) NGX_WEBRTC_ID_LEN, s->id, &s->stream);

    return p;
}
