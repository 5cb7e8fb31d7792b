
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_udp.h"

#include <openssl/crypto.h>
#include <netinet/udp.h>


/*
 * The worker's UDP socket: bound to the first free port of its range,
 * read in batches on nginx's event loop, written one datagram at a time
 * (handshakes, RTCP) or in sendmmsg() batches (fan-out).
 *
 * The send batch: one peer's consecutive packets of one size (a video
 * frame's fragments) leave as one UDP GSO message (UDP_SEGMENT), so that
 * the kernel walks its stack once per message instead of once per
 * packet.  Where GSO is refused (an interface without checksum offload,
 * segments above the route's MTU), the socket falls back to one datagram
 * per packet for good.
 *
 * Control datagrams between the workers of one nginx go to a sibling's
 * media port on loopback: 0xff, "NW", a type, the zone's key (so that no
 * peer can forge one) and a session id.
 */


#define NGX_WEBRTC_CTL_BYTE      0xff
#define NGX_WEBRTC_CTL_LEN       (4 + NGX_WEBRTC_CTL_KEY_LEN + NGX_WEBRTC_ID_LEN)
#define NGX_WEBRTC_RECV_BATCH    256
#define NGX_WEBRTC_BATCH         64     /* messages per sendmmsg() */
#define NGX_WEBRTC_GSO_SEGS      16     /* packets per message */
#define NGX_WEBRTC_BATCH_DATA    (256 * 1024)

#ifndef UDP_SEGMENT
#define UDP_SEGMENT              103
#endif


typedef union {
    struct cmsghdr              align;
    u_char                      buf[CMSG_SPACE(sizeof(uint16_t))];
} ngx_webrtc_gso_cmsg_t;


struct ngx_webrtc_batch_s {
    struct mmsghdr              msgs[NGX_WEBRTC_BATCH];
    struct iovec                iovs[NGX_WEBRTC_BATCH];
    ngx_webrtc_gso_cmsg_t       cmsgs[NGX_WEBRTC_BATCH];
    uint16_t                    segs[NGX_WEBRTC_BATCH];
    uint16_t                    seg_size[NGX_WEBRTC_BATCH];
    ngx_uint_t                  n;

    /* the last message takes more packets of its size to its peer */
    struct sockaddr            *last;
    unsigned                    last_open:1;
    unsigned                    no_gso:1;

    u_char                     *tail;
    u_char                      data[NGX_WEBRTC_BATCH_DATA];
};


static void ngx_webrtc_udp_read(ngx_event_t *rev);
static void ngx_webrtc_udp_ctl_input(ngx_webrtc_udp_t *u, u_char *buf,
    size_t len);
static ngx_int_t ngx_webrtc_udp_send_split(ngx_webrtc_udp_t *u,
    ngx_webrtc_batch_t *b, ngx_uint_t i);


static u_char  ngx_webrtc_recv_buf[65536];


/*
 * Port first + i for worker i, or the next free one of the range: during
 * a reload the old workers still hold their ports.
 */

ngx_int_t
ngx_webrtc_udp_open(ngx_webrtc_udp_t *u, ngx_cycle_t *cycle, ngx_uint_t first,
    ngx_uint_t last)
{
    int                  size;
    ngx_err_t            err;
    ngx_uint_t           n, i, port;
    ngx_socket_t         fd;
    ngx_sockaddr_t       sa;
    ngx_connection_t    *c;

    u->batch = ngx_pcalloc(cycle->pool, sizeof(ngx_webrtc_batch_t));
    if (u->batch == NULL) {
        return NGX_ERROR;
    }

    u->batch->tail = u->batch->data;

    n = last - first + 1;

    fd = ngx_socket(u->listen->sockaddr->sa_family, SOCK_DGRAM, 0);
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

    ngx_memcpy(&sa, u->listen->sockaddr, u->listen->socklen);

    for (i = 0; i < n; i++) {
        port = first + (ngx_worker + i) % n;
        ngx_inet_set_port(&sa.sockaddr, (in_port_t) port);

        if (bind(fd, &sa.sockaddr, u->listen->socklen) == 0) {
            u->port = (in_port_t) port;
            break;
        }

        err = ngx_socket_errno;

        if (err != NGX_EADDRINUSE) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, err,
                          "webrtc: bind() to port %ui failed", port);
            goto failed;
        }
    }

    if (u->port == 0) {
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
    c->data = u;
    c->shared = 1;

    /* told first when the worker shuts down (ngx_close_idle_connections) */
    c->idle = 1;

    if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_CLEAR_EVENT) != NGX_OK) {
        c->fd = (ngx_socket_t) -1;
        ngx_free_connection(c);
        goto failed;
    }

    u->connection = c;

    ngx_log_error(NGX_LOG_INFO, cycle->log, 0,
                  "webrtc: worker %ui media on UDP port %ui",
                  ngx_worker, (ngx_uint_t) u->port);

    return NGX_OK;

failed:

    ngx_close_socket(fd);
    return NGX_ERROR;
}


void
ngx_webrtc_udp_close(ngx_webrtc_udp_t *u)
{
    if (u->connection) {
        ngx_close_connection(u->connection);
        u->connection = NULL;
    }
}


static void
ngx_webrtc_udp_read(ngx_event_t *rev)
{
    ssize_t             n;
    socklen_t           socklen;
    ngx_err_t           err;
    ngx_uint_t          i;
    ngx_sockaddr_t      sa;
    ngx_connection_t   *c;
    ngx_webrtc_udp_t   *u;

    c = rev->data;
    u = c->data;

    if (c->close) {
        c->close = 0;
        c->idle = 0;

        if (u->close(u->data) == NGX_DONE) {
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

        if (n == 0) {
            continue;
        }

        if (ngx_webrtc_recv_buf[0] == NGX_WEBRTC_CTL_BYTE) {
            ngx_webrtc_udp_ctl_input(u, ngx_webrtc_recv_buf, n);

        } else {
            u->recv(u->data, ngx_webrtc_recv_buf, n, &sa.sockaddr, socklen);
        }

        if (u->connection == NULL) {
            /* the worker exited meanwhile */
            return;
        }
    }

    /* what this batch wrote goes out to viewers now, in one go */
    u->flush(u->data);

    if (i == NGX_WEBRTC_RECV_BATCH) {
        /* edge-triggered: come back for the rest after other events */
        ngx_post_event(rev, &ngx_posted_events);
    }
}


ngx_int_t
ngx_webrtc_udp_send(ngx_webrtc_udp_t *u, u_char *buf, size_t len,
    struct sockaddr *sa, socklen_t socklen, ngx_log_t *log)
{
    ssize_t    n;
    ngx_err_t  err;

    if (u->connection == NULL) {
        return NGX_DECLINED;
    }

    n = sendto(u->connection->fd, buf, len, 0, sa, socklen);

    if (n == -1) {
        err = ngx_socket_errno;

        if (err == NGX_EAGAIN || err == NGX_EINTR) {
            return NGX_AGAIN;
        }

        ngx_log_error(NGX_LOG_INFO, log, err, "webrtc: sendto() failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_webrtc_udp_ctl_send(ngx_webrtc_udp_t *u, in_port_t port, u_char type,
    u_char *id)
{
    u_char          msg[NGX_WEBRTC_CTL_LEN];
    ssize_t         n;
    ngx_sockaddr_t  sa;

    if (u->connection == NULL) {
        return NGX_ERROR;
    }

    msg[0] = NGX_WEBRTC_CTL_BYTE;
    msg[1] = 'N';
    msg[2] = 'W';
    msg[3] = type;

    ngx_memcpy(msg + 4, u->ctl_key, NGX_WEBRTC_CTL_KEY_LEN);
    ngx_memcpy(msg + 4 + NGX_WEBRTC_CTL_KEY_LEN, id, NGX_WEBRTC_ID_LEN);

    ngx_memcpy(&sa, u->listen->sockaddr, u->listen->socklen);

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

    n = sendto(u->connection->fd, msg, sizeof(msg), 0, &sa.sockaddr,
               u->listen->socklen);

    if (n != (ssize_t) sizeof(msg)) {
        ngx_log_error(NGX_LOG_CRIT, u->connection->log, ngx_socket_errno,
                      "webrtc: sendto() of a control message failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_webrtc_udp_ctl_input(ngx_webrtc_udp_t *u, u_char *buf, size_t len)
{
    if (len != NGX_WEBRTC_CTL_LEN || buf[1] != 'N' || buf[2] != 'W'
        || CRYPTO_memcmp(buf + 4, u->ctl_key, NGX_WEBRTC_CTL_KEY_LEN) != 0)
    {
        return;
    }

    u->ctl(u->data, buf[3], buf + 4 + NGX_WEBRTC_CTL_KEY_LEN);
}


/* room for one packet of NGX_WEBRTC_UDP_PKT_MAX at the batch's tail */

u_char *
ngx_webrtc_udp_batch_buf(ngx_webrtc_udp_t *u)
{
    ngx_webrtc_batch_t  *b;

    b = u->batch;

    if (b->n == NGX_WEBRTC_BATCH
        || b->tail + NGX_WEBRTC_UDP_PKT_MAX > b->data + NGX_WEBRTC_BATCH_DATA)
    {
        ngx_webrtc_udp_batch_flush(u);
    }

    return b->tail;
}


/*
 * The packet at the batch's tail joins the last message if that goes to
 * the same peer and the packet is of the message's segment size, or
 * smaller (then it ends the message, as GSO allows for the last segment).
 */

void
ngx_webrtc_udp_batch_add(ngx_webrtc_udp_t *u, struct sockaddr *sa,
    socklen_t socklen, u_char *p, size_t len)
{
    ngx_uint_t           i;
    struct msghdr       *mh;
    ngx_webrtc_batch_t  *b;

    b = u->batch;

    b->tail = p + len;

    if (b->n && b->last == sa && b->last_open) {
        i = b->n - 1;

        if (len <= b->seg_size[i]) {
            b->iovs[i].iov_len += len;
            b->segs[i]++;

            if (len < b->seg_size[i] || b->segs[i] == NGX_WEBRTC_GSO_SEGS) {
                b->last_open = 0;
            }

            return;
        }
    }

    i = b->n++;

    b->iovs[i].iov_base = p;
    b->iovs[i].iov_len = len;
    b->segs[i] = 1;
    b->seg_size[i] = (uint16_t) len;

    mh = &b->msgs[i].msg_hdr;
    mh->msg_name = sa;
    mh->msg_namelen = socklen;
    mh->msg_iov = &b->iovs[i];
    mh->msg_iovlen = 1;
    mh->msg_control = NULL;
    mh->msg_controllen = 0;
    mh->msg_flags = 0;

    b->last = sa;
    b->last_open = !b->no_gso;
}


void
ngx_webrtc_udp_batch_flush(ngx_webrtc_udp_t *u)
{
    int                   n;
    ngx_err_t             err;
    ngx_uint_t            i, sent;
    struct cmsghdr       *cm;
    ngx_webrtc_batch_t   *b;

    b = u->batch;

    for (i = 0; i < b->n; i++) {
        if (b->segs[i] > 1) {
            b->msgs[i].msg_hdr.msg_control = b->cmsgs[i].buf;
            b->msgs[i].msg_hdr.msg_controllen = sizeof(b->cmsgs[i].buf);

            cm = CMSG_FIRSTHDR(&b->msgs[i].msg_hdr);
            cm->cmsg_level = SOL_UDP;
            cm->cmsg_type = UDP_SEGMENT;
            cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            ngx_memcpy(CMSG_DATA(cm), &b->seg_size[i], sizeof(uint16_t));
        }
    }

    for (sent = 0; sent < b->n; /* void */) {
        n = sendmmsg(u->connection->fd, &b->msgs[sent], b->n - sent, 0);

        if (n > 0) {
            sent += n;
            continue;
        }

        err = ngx_socket_errno;

        if (b->segs[sent] > 1
            && (err == EIO || err == NGX_EINVAL || err == EMSGSIZE))
        {
            /*
             * the kernel or the route's interface refuses GSO (no checksum
             * offload, or segments larger than the interface's MTU)
             */

            if (!b->no_gso) {
                ngx_log_error(NGX_LOG_NOTICE, u->connection->log, err,
                              "webrtc: UDP GSO refused, sending packets "
                              "one by one from now on");
                b->no_gso = 1;
            }

            if (ngx_webrtc_udp_send_split(u, b, sent) == NGX_OK) {
                sent++;
                continue;
            }
        }

        /* a full socket buffer: the rest is lost, NACKs recover it */
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, u->connection->log, err,
                       "webrtc: sendmmsg() dropped %ui messages",
                       b->n - sent);
        break;
    }

    b->n = 0;
    b->last = NULL;
    b->tail = b->data;
}


/* one message's packets as datagrams of their own */

static ngx_int_t
ngx_webrtc_udp_send_split(ngx_webrtc_udp_t *u, ngx_webrtc_batch_t *b,
    ngx_uint_t i)
{
    int             n;
    u_char         *p, *end;
    ngx_uint_t      k;
    struct iovec    iovs[NGX_WEBRTC_GSO_SEGS];
    struct mmsghdr  msgs[NGX_WEBRTC_GSO_SEGS];

    p = b->iovs[i].iov_base;
    end = p + b->iovs[i].iov_len;

    for (k = 0; p < end && k < NGX_WEBRTC_GSO_SEGS; k++) {
        iovs[k].iov_base = p;
        iovs[k].iov_len = ngx_min((size_t) (end - p), b->seg_size[i]);
        p += iovs[k].iov_len;

        msgs[k].msg_hdr = b->msgs[i].msg_hdr;
        msgs[k].msg_hdr.msg_iov = &iovs[k];
        msgs[k].msg_hdr.msg_control = NULL;
        msgs[k].msg_hdr.msg_controllen = 0;
    }

    n = sendmmsg(u->connection->fd, msgs, k, 0);

    return (n > 0) ? NGX_OK : NGX_ERROR;
}
