
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_tcp.h"

#include <netinet/tcp.h>


/*
 * ICE-TCP, passive: the worker's listening socket, its accepted
 * connections, their RFC 4571 reader and their send buffer.
 *
 * What an unauthenticated connection may cost is bounded: a frame of
 * NGX_WEBRTC_TCP_FRAME_MAX at most (the reader's buffer), the owner's
 * timeout to authenticate, NGX_WEBRTC_TCP_PENDING_MAX such connections
 * per worker, and nginx's worker_connections for all.
 *
 * Sending appends whole frames to one buffer per connection and posts
 * the write event, so that a fan-out round ends in one send() per
 * connection; a partial send leaves the rest, frame boundaries intact,
 * for the next write event.  A full buffer refuses packets: the caller
 * decides what to drop (the viewer skips to the next keyframe).
 */


#define NGX_WEBRTC_TCP_ACCEPTS     64     /* per accept event */
#define NGX_WEBRTC_TCP_READS       4      /* reads per read event */
#define NGX_WEBRTC_TCP_SNDBUF      (128 * 1024)


static void ngx_webrtc_tcp_accept(ngx_event_t *ev);
static void ngx_webrtc_tcp_read(ngx_event_t *rev);
static void ngx_webrtc_tcp_write(ngx_event_t *wev);
static void ngx_webrtc_tcp_abort(ngx_webrtc_tcp_conn_t *tc,
    const char *reason);
static void ngx_webrtc_tcp_free(ngx_webrtc_tcp_conn_t *tc);


static u_char  ngx_webrtc_tcp_recv_buf[16384];


ngx_int_t
ngx_webrtc_tcp_open(ngx_webrtc_tcp_t *t, ngx_cycle_t *cycle,
    ngx_addr_t *addr, in_port_t port)
{
    int                reuse;
    ngx_socket_t       fd;
    ngx_sockaddr_t     sa;
    ngx_connection_t  *c;

    ngx_queue_init(&t->conns);
    t->log = cycle->log;

    fd = ngx_socket(addr->sockaddr->sa_family, SOCK_STREAM, 0);
    if (fd == (ngx_socket_t) -1) {
        ngx_log_error(NGX_LOG_CRIT, cycle->log, ngx_socket_errno,
                      "webrtc: socket() for ICE-TCP failed");
        return NGX_ERROR;
    }

    /* connections of the previous run may linger in TIME_WAIT */
    reuse = 1;
    (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(int));

    ngx_memcpy(&sa, addr->sockaddr, addr->socklen);
    ngx_inet_set_port(&sa.sockaddr, port);

    if (bind(fd, &sa.sockaddr, addr->socklen) == -1) {
        ngx_log_error(NGX_LOG_CRIT, cycle->log, ngx_socket_errno,
                      "webrtc: bind() to TCP port %ui failed, "
                      "no ICE-TCP in this worker", (ngx_uint_t) port);
        goto failed;
    }

    if (listen(fd, NGX_LISTEN_BACKLOG) == -1
        || ngx_nonblocking(fd) == -1)
    {
        ngx_log_error(NGX_LOG_CRIT, cycle->log, ngx_socket_errno,
                      "webrtc: listen() on TCP port %ui failed",
                      (ngx_uint_t) port);
        goto failed;
    }

    c = ngx_get_connection(fd, cycle->log);
    if (c == NULL) {
        goto failed;
    }

    c->type = SOCK_STREAM;
    c->log = cycle->log;
    c->read->log = cycle->log;
    c->write->log = cycle->log;
    c->read->handler = ngx_webrtc_tcp_accept;
    c->data = t;
    c->shared = 1;

    if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_CLEAR_EVENT) != NGX_OK) {
        c->fd = (ngx_socket_t) -1;
        ngx_free_connection(c);
        goto failed;
    }

    t->connection = c;
    t->port = port;

    ngx_log_error(NGX_LOG_INFO, cycle->log, 0,
                  "webrtc: worker %ui ICE-TCP on port %ui",
                  ngx_worker, (ngx_uint_t) port);

    return NGX_OK;

failed:

    ngx_close_socket(fd);
    return NGX_ERROR;
}


void
ngx_webrtc_tcp_shutdown(ngx_webrtc_tcp_t *t)
{
    ngx_queue_t            *q;
    ngx_webrtc_tcp_conn_t  *tc;

    if (t->connection) {
        ngx_close_connection(t->connection);
        t->connection = NULL;
    }

    while (!ngx_queue_empty(&t->conns)) {
        q = ngx_queue_head(&t->conns);
        tc = ngx_queue_data(q, ngx_webrtc_tcp_conn_t, queue);

        ngx_webrtc_tcp_close(tc);
    }
}


static void
ngx_webrtc_tcp_accept(ngx_event_t *ev)
{
    int                     nodelay, sndbuf;
    socklen_t               socklen;
    ngx_err_t               err;
    ngx_uint_t              i;
    ngx_socket_t            fd;
    ngx_sockaddr_t          sa;
    ngx_connection_t       *lc, *c;
    ngx_webrtc_tcp_t       *t;
    ngx_webrtc_tcp_conn_t  *tc;

    lc = ev->data;
    t = lc->data;

    for (i = 0; i < NGX_WEBRTC_TCP_ACCEPTS; i++) {
        socklen = sizeof(ngx_sockaddr_t);

        fd = accept4(lc->fd, &sa.sockaddr, &socklen, SOCK_NONBLOCK);

        if (fd == (ngx_socket_t) -1) {
            err = ngx_socket_errno;

            if (err == NGX_EAGAIN) {
                return;
            }

            if (err == NGX_EINTR || err == NGX_ECONNABORTED) {
                continue;
            }

            ngx_log_error(NGX_LOG_CRIT, lc->log, err,
                          "webrtc: accept4() on ICE-TCP failed");

            /* out of descriptors: try again on the next connection */
            return;
        }

        if (t->npending >= NGX_WEBRTC_TCP_PENDING_MAX) {
            /* a flood is logged once a second, not per connection */
            if (t->refused_log != ngx_time()) {
                t->refused_log = ngx_time();
                ngx_log_error(NGX_LOG_INFO, lc->log, 0,
                              "webrtc: ICE-TCP: %ui connections wait for "
                              "STUN, more refused", t->npending);
            }

            ngx_close_socket(fd);
            continue;
        }

        tc = ngx_calloc(sizeof(ngx_webrtc_tcp_conn_t), lc->log);
        if (tc == NULL) {
            ngx_close_socket(fd);
            return;
        }

        /* logs "worker_connections are not enough" itself */
        c = ngx_get_connection(fd, lc->log);
        if (c == NULL) {
            ngx_free(tc);
            ngx_close_socket(fd);
            return;
        }

        nodelay = 1;
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay,
                          sizeof(int));

        /*
         * the kernel's buffer is queueing that the viewer's backpressure
         * cannot see: a small one (10 Mbit/s at 100 ms RTT) leaves the
         * queueing to the connection's own buffer
         */
        sndbuf = NGX_WEBRTC_TCP_SNDBUF;
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(int));

        ngx_memcpy(&tc->sockaddr, &sa, socklen);
        tc->socklen = socklen;
        tc->connection = c;
        tc->tcp = t;

        c->type = SOCK_STREAM;
        c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);
        c->sockaddr = &tc->sockaddr.sockaddr;
        c->socklen = socklen;
        c->addr_text.data = tc->addr;
        c->addr_text.len = ngx_sock_ntop(c->sockaddr, socklen, tc->addr,
                                         NGX_SOCKADDR_STRLEN, 1);
        c->recv = ngx_recv;
        c->send = ngx_send;
        c->log = lc->log;
        c->read->log = lc->log;
        c->write->log = lc->log;
        c->read->handler = ngx_webrtc_tcp_read;
        c->write->handler = ngx_webrtc_tcp_write;
        c->write->ready = 1;
        c->data = tc;

        ngx_queue_insert_tail(&t->conns, &tc->queue);
        t->npending++;

        /* a connection that never authenticates goes */
        c->read->cancelable = 1;
        ngx_add_timer(c->read, t->timeout);

        if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
            ngx_webrtc_tcp_free(tc);
            continue;
        }

        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, lc->log, 0,
                       "webrtc: ICE-TCP connection #%uA", c->number);

        /* the peer may have sent before the event was added */
        ngx_post_event(c->read, &ngx_posted_events);
    }

    ngx_post_event(ev, &ngx_posted_events);
}


static void
ngx_webrtc_tcp_read(ngx_event_t *rev)
{
    u_char                 *p, *pkt;
    size_t                  len;
    ssize_t                 n, rc;
    ngx_uint_t              i;
    const char             *reason;
    ngx_connection_t       *c;
    ngx_webrtc_tcp_t       *t;
    ngx_webrtc_tcp_conn_t  *tc;

    c = rev->data;
    tc = c->data;
    t = tc->tcp;

    if (rev->timedout) {
        ngx_webrtc_tcp_abort(tc, "no STUN check authenticated in time");
        return;
    }

    reason = NULL;
    tc->busy = 1;

    for (i = 0; i < NGX_WEBRTC_TCP_READS; i++) {
        n = c->recv(c, ngx_webrtc_tcp_recv_buf,
                    sizeof(ngx_webrtc_tcp_recv_buf));

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            reason = "closed by the peer";
            break;
        }

        for (p = ngx_webrtc_tcp_recv_buf; n; p += rc, n -= rc) {
            rc = ngx_webrtc_tcp_frame_read(&tc->in, p, n, &pkt, &len);

            if (rc < 0) {
                reason = "bad RFC 4571 frame length";
                goto done;
            }

            if (pkt) {
                t->recv(t->data, tc, pkt, len);

                if (tc->close) {
                    goto done;
                }
            }
        }
    }

done:

    tc->busy = 0;

    if (tc->close) {
        ngx_webrtc_tcp_free(tc);

    } else if (reason) {
        ngx_webrtc_tcp_abort(tc, reason);

    } else if (i == NGX_WEBRTC_TCP_READS) {
        /* more to read: after other connections had their turn */
        ngx_post_event(rev, &ngx_posted_events);

    } else if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_webrtc_tcp_abort(tc, "event failed");
    }

    t->flush(t->data);
}


static void
ngx_webrtc_tcp_write(ngx_event_t *wev)
{
    ssize_t                 n;
    ngx_connection_t       *c;
    ngx_webrtc_tcp_conn_t  *tc;

    c = wev->data;
    tc = c->data;

    while (tc->pos < tc->last) {
        n = c->send(c, tc->out + tc->pos, tc->last - tc->pos);

        if (n == NGX_AGAIN) {
            /* the rest when the socket is writable again */
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_webrtc_tcp_abort(tc, "event failed");
            }

            return;
        }

        if (n == NGX_ERROR) {
            ngx_webrtc_tcp_abort(tc, "send failed");
            return;
        }

        tc->pos += n;

        while (tc->next < tc->pos) {
            tc->next += 2 + ngx_webrtc_be16(tc->out + tc->next);
        }
    }

    tc->pos = 0;
    tc->last = 0;
    tc->next = 0;
}


void
ngx_webrtc_tcp_set_owner(ngx_webrtc_tcp_conn_t *tc, void *owner)
{
    if (tc->owner == NULL && owner) {
        tc->tcp->npending--;

        if (tc->connection->read->timer_set) {
            ngx_del_timer(tc->connection->read);
        }
    }

    tc->owner = owner;
}


/* the owner lets go: no callback */

void
ngx_webrtc_tcp_close(ngx_webrtc_tcp_conn_t *tc)
{
    if (tc->owner) {
        /* counted as waiting again until freed */
        tc->owner = NULL;
        tc->tcp->npending++;
    }

    if (tc->pos < tc->last && tc->connection->write->ready) {
        /* a last try for what is queued: a DTLS close_notify */
        (void) tc->connection->send(tc->connection, tc->out + tc->pos,
                                    tc->last - tc->pos);
        tc->pos = tc->last;
    }

    if (tc->busy) {
        tc->close = 1;
        return;
    }

    ngx_webrtc_tcp_free(tc);
}


void
ngx_webrtc_tcp_close_owned(ngx_webrtc_tcp_t *t, void *owner)
{
    ngx_queue_t            *q, *next;
    ngx_webrtc_tcp_conn_t  *tc;

    for (q = ngx_queue_head(&t->conns);
         q != ngx_queue_sentinel(&t->conns);
         q = next)
    {
        next = ngx_queue_next(q);
        tc = ngx_queue_data(q, ngx_webrtc_tcp_conn_t, queue);

        if (tc->owner == owner) {
            ngx_webrtc_tcp_close(tc);
        }
    }
}


/* the connection ends from below: its owner hears of it first */

static void
ngx_webrtc_tcp_abort(ngx_webrtc_tcp_conn_t *tc, const char *reason)
{
    void  *owner;

    ngx_log_error(NGX_LOG_INFO, tc->connection->log, 0,
                  "webrtc: ICE-TCP connection from %V closed: %s",
                  &tc->connection->addr_text, reason);

    owner = tc->owner;

    if (owner) {
        tc->owner = NULL;
        tc->tcp->npending++;

        /* the owner's close of this connection waits for the callback */
        tc->busy = 1;
        tc->tcp->closed(tc->tcp->data, tc, owner);
        tc->busy = 0;
    }

    ngx_webrtc_tcp_free(tc);
}


static void
ngx_webrtc_tcp_free(ngx_webrtc_tcp_conn_t *tc)
{
    if (tc->owner == NULL) {
        tc->tcp->npending--;
    }

    ngx_queue_remove(&tc->queue);

    if (tc->out) {
        ngx_free(tc->out);
    }

    ngx_close_connection(tc->connection);
    ngx_free(tc);
}


size_t
ngx_webrtc_tcp_room(ngx_webrtc_tcp_conn_t *tc)
{
    size_t  end;

    if (tc->close) {
        return 0;
    }

    end = NGX_WEBRTC_TCP_OUT - tc->last;

    /* what a move of the queued bytes to the front would give */
    if (tc->pos >= NGX_WEBRTC_TCP_OUT / 4) {
        return end + tc->pos;
    }

    return end;
}


u_char *
ngx_webrtc_tcp_buf(ngx_webrtc_tcp_conn_t *tc, size_t size)
{
    if (tc->close) {
        return NULL;
    }

    if (tc->out == NULL) {
        tc->out = ngx_alloc(NGX_WEBRTC_TCP_OUT, tc->connection->log);
        if (tc->out == NULL) {
            return NULL;
        }
    }

    if (NGX_WEBRTC_TCP_OUT - tc->last >= 2 + size) {
        return tc->out + tc->last + 2;
    }

    /*
     * a move only when it frees a quarter of the buffer at least, so
     * that the bytes moved stay below three per byte queued
     */
    if (tc->pos < NGX_WEBRTC_TCP_OUT / 4
        || NGX_WEBRTC_TCP_OUT - tc->last + tc->pos < 2 + size)
    {
        return NULL;
    }

    ngx_memmove(tc->out, tc->out + tc->pos, tc->last - tc->pos);
    tc->last -= tc->pos;
    tc->next -= tc->pos;
    tc->pos = 0;

    return tc->out + tc->last + 2;
}


/*
 * What is queued is late: a frame being sent is finished (the stream
 * stays framed), the rest goes.
 */

ngx_uint_t
ngx_webrtc_tcp_discard(ngx_webrtc_tcp_conn_t *tc)
{
    size_t      p;
    ngx_uint_t  n;

    n = 0;

    for (p = tc->next; p < tc->last; p += 2 + ngx_webrtc_be16(tc->out + p)) {
        n++;
    }

    tc->last = tc->next;

    if (tc->pos == tc->last) {
        tc->pos = 0;
        tc->last = 0;
        tc->next = 0;
    }

    return n;
}


void
ngx_webrtc_tcp_commit(ngx_webrtc_tcp_conn_t *tc, size_t len)
{
    u_char       *p;
    ngx_event_t  *wev;

    p = tc->out + tc->last;
    p[0] = (u_char) (len >> 8);
    p[1] = (u_char) len;
    tc->last += 2 + len;

    wev = tc->connection->write;

    /* one send() for everything queued in this turn of the event loop */
    if (wev->ready && !wev->posted) {
        ngx_post_event(wev, &ngx_posted_events);
    }
}


ngx_int_t
ngx_webrtc_tcp_send(ngx_webrtc_tcp_conn_t *tc, u_char *buf, size_t len)
{
    u_char  *p;

    if (len > 0xffff) {
        return NGX_ERROR;
    }

    p = ngx_webrtc_tcp_buf(tc, len);
    if (p == NULL) {
        return NGX_AGAIN;
    }

    ngx_memcpy(p, buf, len);
    ngx_webrtc_tcp_commit(tc, len);

    return NGX_OK;
}
