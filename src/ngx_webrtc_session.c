
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc.h"


/*
 * The worker's UDP socket, the session tables and the first-byte demux
 * (RFC 7983).  A session lives entirely in the worker that answered its
 * offer: the answer's candidates carry this worker's port.
 */


#define NGX_WEBRTC_CTL_BYTE   0xff
#define NGX_WEBRTC_CTL_LEN    (4 + NGX_WEBRTC_CTL_KEY_LEN + NGX_WEBRTC_ID_LEN)
#define NGX_WEBRTC_RECV_BATCH 256


static ngx_int_t ngx_webrtc_bind(ngx_cycle_t *cycle, ngx_webrtc_worker_t *w);
static void ngx_webrtc_udp_read(ngx_event_t *rev);
static void ngx_webrtc_demux(ngx_webrtc_worker_t *w, u_char *buf, size_t len,
    struct sockaddr *sa, socklen_t socklen);
static void ngx_webrtc_ctl_handle(u_char *buf, size_t len);
static ngx_webrtc_session_t *ngx_webrtc_session_by_addr(
    ngx_webrtc_worker_t *w, struct sockaddr *sa, socklen_t socklen);
static void ngx_webrtc_ufrag_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void ngx_webrtc_addr_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_int_t ngx_webrtc_addr_cmp(ngx_webrtc_session_t *s,
    struct sockaddr *sa, socklen_t socklen);
static void ngx_webrtc_consent_handler(ngx_event_t *ev);
static void ngx_webrtc_session_free(ngx_webrtc_session_t *s);
static u_char *ngx_webrtc_session_log_error(ngx_log_t *log, u_char *buf,
    size_t len);


ngx_webrtc_worker_t  *ngx_webrtc_worker;

static u_char  ngx_webrtc_recv_buf[65536];


ngx_int_t
ngx_webrtc_worker_init(ngx_cycle_t *cycle, ngx_http_webrtc_main_conf_t *wmcf)
{
    ngx_webrtc_worker_t  *w;

    w = ngx_pcalloc(cycle->pool, sizeof(ngx_webrtc_worker_t));
    if (w == NULL) {
        return NGX_ERROR;
    }

    w->wmcf = wmcf;
    w->log = cycle->log;
    w->shm = wmcf->shm_zone->data;
    w->generation = w->shm->sh->generation;

    ngx_queue_init(&w->sessions);
    ngx_queue_init(&w->groups);
    ngx_webrtc_stream_init_worker(w);

    if (ngx_webrtc_data_init(w) != NGX_OK) {
        return NGX_ERROR;
    }
    ngx_rbtree_init(&w->ufrag_tree, &w->ufrag_sentinel,
                    ngx_webrtc_ufrag_insert);
    ngx_rbtree_init(&w->addr_tree, &w->addr_sentinel,
                    ngx_webrtc_addr_insert);

    if (ngx_webrtc_srtp_init(cycle->log) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_webrtc_ice_init(cycle->log) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_webrtc_dtls_init(w, cycle->log) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_webrtc_bind(cycle, w) != NGX_OK) {
        ngx_webrtc_dtls_cleanup(w);
        return NGX_ERROR;
    }

    ngx_webrtc_worker = w;

    return NGX_OK;
}


/*
 * Worker i takes the first free port of the range starting at first + i:
 * during a reload the old workers still hold their ports, so the range is
 * twice the number of workers unless configured.
 */

static ngx_int_t
ngx_webrtc_bind(ngx_cycle_t *cycle, ngx_webrtc_worker_t *w)
{
    int                           size;
    ngx_err_t                     err;
    ngx_uint_t                    n, i, port, first, last;
    ngx_socket_t                  fd;
    ngx_core_conf_t              *ccf;
    ngx_connection_t             *c;
    ngx_sockaddr_t                sa;
    ngx_http_webrtc_main_conf_t  *wmcf;

    wmcf = w->wmcf;
    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    first = wmcf->port_first;
    last = wmcf->port_last;

    if (last == 0) {
        last = first + 2 * ccf->worker_processes - 1;
        if (last > 65535) {
            last = 65535;
        }
    }

    n = last - first + 1;

    fd = ngx_socket(wmcf->listen.sockaddr->sa_family, SOCK_DGRAM, 0);
    if (fd == (ngx_socket_t) -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                      "webrtc: socket() failed");
        return NGX_ERROR;
    }

    /*
     * A deep receive buffer: a busy worker must not drop its publishers'
     * packets.  The kernel caps it at net.core.rmem_max.
     */
    size = 4 * 1024 * 1024;
    (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(int));
    (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(int));

    ngx_memcpy(&sa, wmcf->listen.sockaddr, wmcf->listen.socklen);

    for (i = 0; i < n; i++) {
        port = first + (ngx_worker + i) % n;
        ngx_inet_set_port(&sa.sockaddr, (in_port_t) port);

        if (bind(fd, &sa.sockaddr, wmcf->listen.socklen) == 0) {
            w->port = (in_port_t) port;
            break;
        }

        err = ngx_socket_errno;

        if (err != NGX_EADDRINUSE) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, err,
                          "webrtc: bind() to port %ui failed", port);
            goto failed;
        }
    }

    if (w->port == 0) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "webrtc: no free UDP port in %ui-%ui for worker %ui, "
                      "widen the \"webrtc_listen\" range",
                      first, last, ngx_worker);
        goto failed;
    }

    if (ngx_nonblocking(fd) == -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                      ngx_nonblocking_n " failed");
        goto failed;
    }

    c = ngx_get_connection(fd, cycle->log);
    if (c == NULL) {
        goto failed;
    }

    c->type = SOCK_DGRAM;
    c->log = cycle->log;
    c->read->log = cycle->log;
    c->write->log = cycle->log;
    c->read->handler = ngx_webrtc_udp_read;
    c->data = w;
    c->shared = 1;

    /* told first when the worker shuts down (ngx_close_idle_connections) */
    c->idle = 1;

    if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_CLEAR_EVENT) != NGX_OK) {
        c->fd = (ngx_socket_t) -1;
        ngx_free_connection(c);
        goto failed;
    }

    w->udp = c;

    ngx_log_error(NGX_LOG_INFO, cycle->log, 0,
                  "webrtc: worker %ui media on UDP port %ui",
                  ngx_worker, (ngx_uint_t) w->port);

    return NGX_OK;

failed:

    ngx_close_socket(fd);
    return NGX_ERROR;
}


void
ngx_webrtc_worker_exit(ngx_cycle_t *cycle)
{
    ngx_queue_t           *q;
    ngx_webrtc_worker_t   *w;
    ngx_webrtc_session_t  *s;

    w = ngx_webrtc_worker;
    if (w == NULL) {
        return;
    }

    ngx_http_webrtc_events_close_all(w);

    while (!ngx_queue_empty(&w->sessions)) {
        q = ngx_queue_head(&w->sessions);
        s = ngx_queue_data(q, ngx_webrtc_session_t, queue);
        ngx_webrtc_session_close(s, "worker exit");
    }

    if (w->udp) {
        ngx_close_connection(w->udp);
        w->udp = NULL;
    }

    if (w->data_event.posted) {
        ngx_delete_posted_event(&w->data_event);
    }

    if (w->replay_event.posted) {
        ngx_delete_posted_event(&w->replay_event);
    }

    ngx_webrtc_dtls_cleanup(w);

    ngx_webrtc_worker = NULL;
}


static void
ngx_webrtc_udp_read(ngx_event_t *rev)
{
    ssize_t               n;
    socklen_t             socklen;
    ngx_err_t             err;
    ngx_uint_t            i;
    ngx_sockaddr_t        sa;
    ngx_connection_t     *c;
    ngx_webrtc_worker_t  *w;

    c = rev->data;
    w = c->data;

    if (c->close) {
        c->close = 0;
        c->idle = 0;

        ngx_http_webrtc_events_close_all(w);

        /*
         * The worker is exiting gracefully.  After a reload (the zone's
         * generation moved on) live sessions stay until they end, as
         * HTTP connections do; on "nginx -s quit" they end now.  When
         * worker_shutdown_timeout expires (c->error), everything ends.
         */

        if (!c->error && w->shm->sh->generation != w->generation) {
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "webrtc: reload: %ui sessions stay in this worker",
                          w->nsessions);

        } else {
            ngx_webrtc_worker_exit((ngx_cycle_t *) ngx_cycle);
            return;
        }
    }

    for (i = 0; i < NGX_WEBRTC_RECV_BATCH; i++) {
        socklen = sizeof(ngx_sockaddr_t);

        n = recvfrom(c->fd, ngx_webrtc_recv_buf, sizeof(ngx_webrtc_recv_buf),
                     0, &sa.sockaddr, &socklen);

        if (n == -1) {
            err = ngx_socket_errno;

            if (err != NGX_EAGAIN && err != NGX_EINTR) {
                ngx_log_error(NGX_LOG_ERR, c->log, err,
                              "webrtc: recvfrom() failed");
            }

            break;
        }

        ngx_webrtc_demux(w, ngx_webrtc_recv_buf, n, &sa.sockaddr, socklen);

        if (ngx_webrtc_worker == NULL) {
            return;
        }
    }

    /* what this batch wrote goes out to viewers now, in one go */
    if (w->ndirty) {
        ngx_webrtc_stream_flush(w);
    }

    if (i == NGX_WEBRTC_RECV_BATCH) {
        /* edge-triggered: come back for the rest after other events */
        ngx_post_event(rev, &ngx_posted_events);
    }
}


static void
ngx_webrtc_demux(ngx_webrtc_worker_t *w, u_char *buf, size_t len,
    struct sockaddr *sa, socklen_t socklen)
{
    u_char                 b;
    ngx_webrtc_session_t  *s;

    if (len == 0) {
        return;
    }

    b = buf[0];

    if (b < 4) {
        ngx_webrtc_ice_handle(w, buf, len, sa, socklen);
        return;
    }

    if (b == NGX_WEBRTC_CTL_BYTE) {
        ngx_webrtc_ctl_handle(buf, len);
        return;
    }

    s = ngx_webrtc_session_by_addr(w, sa, socklen);

    if (s == NULL) {
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, w->log, 0,
                       "webrtc: %uz bytes from an unknown address dropped",
                       len);
        return;
    }

    if (b >= 20 && b <= 63) {
        ngx_webrtc_dtls_handle(s, buf, len);
        return;
    }

    if (b >= 128 && b <= 191) {
        ngx_webrtc_media_handle(s, buf, len);
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, w->log, 0,
                   "webrtc: datagram with first byte %ui dropped",
                   (ngx_uint_t) b);
}


ngx_webrtc_session_t *
ngx_webrtc_session_create(ngx_log_t *log, ngx_str_t *stream, ngx_uint_t role)
{
    u_char                *p;
    ngx_uint_t             i;
    ngx_pool_t            *pool;
    ngx_webrtc_worker_t   *w;
    ngx_webrtc_session_t  *s;
    u_char                 rnd[NGX_WEBRTC_ID_LEN / 2 + NGX_WEBRTC_UFRAG_LEN
                               + NGX_WEBRTC_PWD_LEN + 4];

    static u_char  alphabet[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";

    w = ngx_webrtc_worker;
    if (w == NULL) {
        return NULL;
    }

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        ngx_log_error(NGX_LOG_CRIT, log, 0, "webrtc: RAND_bytes() failed");
        return NULL;
    }

    /* the session (1.5 KiB) and its strings: a browser offer's fit */
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

    for (i = 0; i < NGX_WEBRTC_UFRAG_LEN; i++) {
        s->local_ufrag[i] = alphabet[p[i] & 63];
    }

    p += NGX_WEBRTC_UFRAG_LEN;

    for (i = 0; i < NGX_WEBRTC_PWD_LEN; i++) {
        s->local_pwd[i] = alphabet[p[i] & 63];
    }

    p += NGX_WEBRTC_PWD_LEN;

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

    s->ufrag_node.key = ngx_crc32_short(s->local_ufrag, NGX_WEBRTC_UFRAG_LEN);

    ngx_queue_init(&s->queue);

    return s;
}


/* the session starts to receive: after the answer was accepted */

ngx_int_t
ngx_webrtc_session_activate(ngx_webrtc_session_t *s)
{
    ngx_webrtc_worker_t  *w;

    w = ngx_webrtc_worker;

    if (ngx_webrtc_dtls_create(s) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_queue_insert_tail(&w->sessions, &s->queue);
    ngx_rbtree_insert(&w->ufrag_tree, &s->ufrag_node);
    w->nsessions++;

    s->consent_timer.handler = ngx_webrtc_consent_handler;
    s->consent_timer.data = s;
    s->consent_timer.log = &s->log;
    s->last_consent = ngx_current_msec;

    /* a live session keeps an old worker alive across a reload */
    ngx_add_timer(&s->consent_timer, w->wmcf->consent_timeout);

    ngx_log_error(NGX_LOG_INFO, &s->log, 0, "webrtc: session created");

    return NGX_OK;
}


void
ngx_webrtc_session_close(ngx_webrtc_session_t *s, const char *reason)
{
    ngx_webrtc_worker_t  *w;

    if (s->closing) {
        return;
    }

    s->closing = 1;

    w = ngx_webrtc_worker;

    ngx_log_error(NGX_LOG_INFO, &s->log, 0, "webrtc: session closed: %s",
                  reason);

    ngx_webrtc_sctp_close(s);

    if (s->has_peer && (s->ssl || s->close_notify_len)) {
        ngx_webrtc_dtls_shutdown(s);
    }

    if (s->consent_timer.timer_set) {
        ngx_del_timer(&s->consent_timer);
    }

    if (s->dtls_timer.timer_set) {
        ngx_del_timer(&s->dtls_timer);
    }

    if (s->rtcp_timer.timer_set) {
        ngx_del_timer(&s->rtcp_timer);
    }

    if (s->dtls_timer.posted) {
        ngx_delete_posted_event(&s->dtls_timer);
    }

    if (!ngx_queue_empty(&s->queue)) {
        ngx_queue_remove(&s->queue);
        ngx_rbtree_delete(&w->ufrag_tree, &s->ufrag_node);
        w->nsessions--;
    }

    if (s->in_addr_tree) {
        ngx_rbtree_delete(&w->addr_tree, &s->addr_node);
        s->in_addr_tree = 0;
    }

    if (s->role == NGX_WEBRTC_ROLE_VIEWER) {
        ngx_webrtc_viewer_leave(s);

    } else if (s->st) {
        ngx_webrtc_stream_unpublish(s);
    }

    ngx_webrtc_shm_remove(s);

    ngx_webrtc_session_free(s);
}


static void
ngx_webrtc_session_free(ngx_webrtc_session_t *s)
{
    if (s->ssl) {
        SSL_free(s->ssl);
        s->ssl = NULL;
    }

    ngx_webrtc_srtp_cleanup(s);

    ngx_destroy_pool(s->pool);
}


ngx_webrtc_session_t *
ngx_webrtc_session_find(u_char *id)
{
    ngx_queue_t           *q;
    ngx_webrtc_worker_t   *w;
    ngx_webrtc_session_t  *s;

    w = ngx_webrtc_worker;
    if (w == NULL) {
        return NULL;
    }

    for (q = ngx_queue_head(&w->sessions);
         q != ngx_queue_sentinel(&w->sessions);
         q = ngx_queue_next(q))
    {
        s = ngx_queue_data(q, ngx_webrtc_session_t, queue);

        if (ngx_memcmp(s->id, id, NGX_WEBRTC_ID_LEN) == 0) {
            return s;
        }
    }

    return NULL;
}


ngx_webrtc_session_t *
ngx_webrtc_session_by_ufrag(ngx_webrtc_worker_t *w, u_char *ufrag, size_t len)
{
    uint32_t               hash;
    ngx_int_t              rc;
    ngx_rbtree_node_t     *node, *sentinel;
    ngx_webrtc_session_t  *s;

    if (len != NGX_WEBRTC_UFRAG_LEN) {
        return NULL;
    }

    hash = ngx_crc32_short(ufrag, len);

    node = w->ufrag_tree.root;
    sentinel = w->ufrag_tree.sentinel;

    while (node != sentinel) {

        if (hash < node->key) {
            node = node->left;
            continue;
        }

        if (hash > node->key) {
            node = node->right;
            continue;
        }

        s = (ngx_webrtc_session_t *)
                ((u_char *) node - offsetof(ngx_webrtc_session_t, ufrag_node));

        rc = ngx_memcmp(ufrag, s->local_ufrag, len);

        if (rc == 0) {
            return s;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static ngx_webrtc_session_t *
ngx_webrtc_session_by_addr(ngx_webrtc_worker_t *w, struct sockaddr *sa,
    socklen_t socklen)
{
    uint32_t               hash;
    ngx_int_t              rc;
    ngx_rbtree_node_t     *node, *sentinel;
    ngx_webrtc_session_t  *s;

    hash = ngx_crc32_short((u_char *) sa, socklen);

    node = w->addr_tree.root;
    sentinel = w->addr_tree.sentinel;

    while (node != sentinel) {

        if (hash < node->key) {
            node = node->left;
            continue;
        }

        if (hash > node->key) {
            node = node->right;
            continue;
        }

        s = (ngx_webrtc_session_t *)
                ((u_char *) node - offsetof(ngx_webrtc_session_t, addr_node));

        rc = ngx_webrtc_addr_cmp(s, sa, socklen);

        if (rc == 0) {
            return s;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * Called on a valid ICE check: the check's source becomes the session's
 * peer address (ICE-lite: the controlling agent picks the pair).
 */

void
ngx_webrtc_session_set_peer(ngx_webrtc_session_t *s, struct sockaddr *sa,
    socklen_t socklen)
{
    ngx_webrtc_worker_t   *w;
    ngx_webrtc_session_t  *other;

    w = ngx_webrtc_worker;

    if (s->has_peer
        && ngx_cmp_sockaddr(sa, socklen, (struct sockaddr *) &s->peer,
                            s->peer_len, 1)
           == NGX_OK)
    {
        return;
    }

    other = ngx_webrtc_session_by_addr(w, sa, socklen);
    if (other && other != s) {
        /* the address moved to a new session: the old one is stale */
        ngx_webrtc_session_close(other, "address taken by a new session");
    }

    if (s->in_addr_tree) {
        ngx_rbtree_delete(&w->addr_tree, &s->addr_node);
    }

    ngx_memcpy(&s->peer, sa, socklen);
    s->peer_len = socklen;
    s->has_peer = 1;

    s->addr_node.key = ngx_crc32_short((u_char *) &s->peer, socklen);
    ngx_rbtree_insert(&w->addr_tree, &s->addr_node);
    s->in_addr_tree = 1;

    ngx_webrtc_shm_set_remote(s);
}


void
ngx_webrtc_session_consent(ngx_webrtc_session_t *s)
{
    s->last_consent = ngx_current_msec;

    if (s->state == NGX_WEBRTC_STATE_NEW) {
        s->state = NGX_WEBRTC_STATE_ICE;

        if (s->shm) {
            s->shm->state = s->state;
        }
    }
}


/*
 * An alert record to a session that released its SSL cannot be checked:
 * the peer's close_notify, or a forgery.  The session then ends unless
 * the peer shows it is alive (an ICE consent check or an SRTCP packet,
 * both authenticated; browsers send them every second or two) within
 * NGX_WEBRTC_ALERT_GRACE: a forged alert cannot end a live session.
 */

void
ngx_webrtc_session_alert(ngx_webrtc_session_t *s)
{
    if (s->alert) {
        return;
    }

    s->alert = 1;
    s->alert_time = ngx_current_msec;

    ngx_log_debug0(NGX_LOG_DEBUG_EVENT, &s->log, 0,
                   "webrtc: DTLS alert after release");

    if (s->consent_timer.timer_set) {
        ngx_del_timer(&s->consent_timer);
    }

    ngx_add_timer(&s->consent_timer, NGX_WEBRTC_ALERT_GRACE);
}


static void
ngx_webrtc_consent_handler(ngx_event_t *ev)
{
    ngx_msec_t             timeout, idle;
    ngx_webrtc_session_t  *s;

    s = ev->data;

    if (s->alert) {
        s->alert = 0;

        if ((ngx_msec_int_t) (s->last_consent - s->alert_time) <= 0
            && (s->shm == NULL
                || (ngx_msec_int_t) (s->shm->last_rx - s->alert_time) <= 0))
        {
            ngx_webrtc_session_close(s, "DTLS closed by peer");
            return;
        }
    }

    timeout = ngx_webrtc_worker->wmcf->consent_timeout;
    idle = ngx_current_msec - s->last_consent;

    if (idle >= timeout) {
        ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                      "webrtc: no ICE consent for %Mms", idle);
        ngx_webrtc_session_close(s, "consent expired");
        return;
    }

    ngx_add_timer(&s->consent_timer, timeout - idle);
}


ngx_int_t
ngx_webrtc_send(ngx_webrtc_session_t *s, u_char *buf, size_t len)
{
    ssize_t               n;
    ngx_err_t             err;
    ngx_webrtc_worker_t  *w;

    w = ngx_webrtc_worker;

    if (!s->has_peer || w == NULL || w->udp == NULL) {
        return NGX_DECLINED;
    }

    n = sendto(w->udp->fd, buf, len, 0, (struct sockaddr *) &s->peer,
               s->peer_len);

    if (n == -1) {
        err = ngx_socket_errno;

        if (err == NGX_EAGAIN || err == NGX_EINTR) {
            return NGX_AGAIN;
        }

        ngx_log_error(NGX_LOG_INFO, &s->log, err, "webrtc: sendto() failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Another worker asks this one to end a session (DELETE landed there).
 * The datagram goes to the owner's own media port; a key kept in shared
 * memory tells it from anything a peer could send.
 */

ngx_int_t
ngx_webrtc_ctl_send(in_port_t port, u_char type, u_char *id)
{
    u_char                        msg[NGX_WEBRTC_CTL_LEN];
    ssize_t                       n;
    ngx_sockaddr_t                sa;
    ngx_webrtc_worker_t          *w;
    ngx_http_webrtc_main_conf_t  *wmcf;

    w = ngx_webrtc_worker;
    if (w == NULL || w->udp == NULL) {
        return NGX_ERROR;
    }

    wmcf = w->wmcf;

    msg[0] = NGX_WEBRTC_CTL_BYTE;
    msg[1] = 'N';
    msg[2] = 'W';
    msg[3] = type;

    ngx_memcpy(msg + 4, w->shm->sh->ctl_key, NGX_WEBRTC_CTL_KEY_LEN);
    ngx_memcpy(msg + 4 + NGX_WEBRTC_CTL_KEY_LEN, id, NGX_WEBRTC_ID_LEN);

    ngx_memcpy(&sa, wmcf->listen.sockaddr, wmcf->listen.socklen);

    if (ngx_inet_wildcard(&sa.sockaddr)) {
#if (NGX_HAVE_INET6)
        if (sa.sockaddr.sa_family == AF_INET6) {
            sa.sockaddr_in6.sin6_addr = in6addr_loopback;
        } else
#endif
        {
            sa.sockaddr_in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        }
    }

    ngx_inet_set_port(&sa.sockaddr, port);

    n = sendto(w->udp->fd, msg, sizeof(msg), 0, &sa.sockaddr,
               wmcf->listen.socklen);

    if (n != (ssize_t) sizeof(msg)) {
        ngx_log_error(NGX_LOG_CRIT, w->log, ngx_socket_errno,
                      "webrtc: sendto() of a control message failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_webrtc_ctl_handle(u_char *buf, size_t len)
{
    ngx_webrtc_session_t  *s;

    if (len != NGX_WEBRTC_CTL_LEN || buf[1] != 'N' || buf[2] != 'W'
        || ngx_webrtc_ctl_key_check(buf + 4) != NGX_OK)
    {
        return;
    }

    if (buf[3] == NGX_WEBRTC_CTL_WAKE) {
        ngx_webrtc_stream_wake(ngx_webrtc_worker);
        return;
    }

    s = ngx_webrtc_session_find(buf + 4 + NGX_WEBRTC_CTL_KEY_LEN);
    if (s == NULL) {
        return;
    }

    switch (buf[3]) {

    case NGX_WEBRTC_CTL_CLOSE:
        ngx_webrtc_session_close(s, "deleted");
        break;

    case NGX_WEBRTC_CTL_KEYFRAME:
        ngx_webrtc_media_request_keyframes(s);
        break;
    }
}


/* both trees order by crc32 first and by the bytes on a collision */

static void
ngx_webrtc_ufrag_insert(ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t     **p;
    ngx_webrtc_session_t   *s, *t;

    s = (ngx_webrtc_session_t *)
            ((u_char *) node - offsetof(ngx_webrtc_session_t, ufrag_node));

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            t = (ngx_webrtc_session_t *)
                  ((u_char *) temp - offsetof(ngx_webrtc_session_t, ufrag_node));

            p = (ngx_memcmp(s->local_ufrag, t->local_ufrag,
                            NGX_WEBRTC_UFRAG_LEN) < 0)
                ? &temp->left : &temp->right;
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


static void
ngx_webrtc_addr_insert(ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t     **p;
    ngx_webrtc_session_t   *s, *t;

    s = (ngx_webrtc_session_t *)
            ((u_char *) node - offsetof(ngx_webrtc_session_t, addr_node));

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            t = (ngx_webrtc_session_t *)
                  ((u_char *) temp - offsetof(ngx_webrtc_session_t, addr_node));

            p = (ngx_webrtc_addr_cmp(t, (struct sockaddr *) &s->peer,
                                     s->peer_len) < 0)
                ? &temp->left : &temp->right;
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
ngx_webrtc_addr_cmp(ngx_webrtc_session_t *s, struct sockaddr *sa,
    socklen_t socklen)
{
    if (socklen != s->peer_len) {
        return (socklen < s->peer_len) ? -1 : 1;
    }

    return ngx_memcmp(sa, &s->peer, socklen);
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
