
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_worker.h"
#include "ngx_webrtc_udp.h"
#include "ngx_webrtc_tcp.h"
#include "ngx_webrtc_registry.h"
#include "ngx_webrtc_session.h"
#include "ngx_webrtc_publisher.h"
#include "ngx_webrtc_viewer.h"
#include "ngx_webrtc_hls.h"
#include "ngx_webrtc_pull.h"
#include "ngx_webrtc_push.h"


/*
 * The media core of a worker process: set up at its start (libraries,
 * certificate, socket), torn down at its end, and the top of its
 * receive path: the first-byte demux (RFC 7983) of what the sockets
 * read (UDP datagrams, ICE-TCP packets), and the control datagrams of
 * the sibling workers.
 */


static void ngx_webrtc_worker_recv(void *data, u_char *buf, size_t len,
    struct sockaddr *sa, socklen_t socklen);
static void ngx_webrtc_worker_tcp_recv(void *data, ngx_webrtc_tcp_conn_t *tc,
    u_char *buf, size_t len);
static void ngx_webrtc_worker_tcp_closed(void *data,
    ngx_webrtc_tcp_conn_t *tc, void *owner);
static void ngx_webrtc_worker_demux(ngx_webrtc_session_t *s, u_char *buf,
    size_t len);
static void ngx_webrtc_worker_ctl(void *data, u_char type, u_char *id);
static void ngx_webrtc_worker_flush(void *data);
static ngx_int_t ngx_webrtc_worker_close(void *data);
static void ngx_webrtc_worker_sweep(ngx_event_t *ev);


ngx_webrtc_worker_t  *ngx_webrtc_worker;

#define NGX_WEBRTC_SWEEP  1000


static ngx_event_t    ngx_webrtc_worker_sweep_event;


ngx_int_t
ngx_webrtc_worker_init(ngx_cycle_t *cycle, ngx_webrtc_conf_t *conf)
{
    ngx_uint_t             last;
    ngx_core_conf_t       *ccf;
    ngx_webrtc_udp_t      *u;
    ngx_webrtc_tcp_t      *t;
    ngx_webrtc_worker_t   *w;
    ngx_webrtc_shm_ctx_t  *shm;

    w = ngx_pcalloc(cycle->pool, sizeof(ngx_webrtc_worker_t));
    u = ngx_pcalloc(cycle->pool, sizeof(ngx_webrtc_udp_t));
    if (w == NULL || u == NULL) {
        return NGX_ERROR;
    }

    shm = conf->shm_zone->data;

    w->conf = conf;
    w->log = cycle->log;
    w->shm = shm;
    w->udp = u;
    w->generation = shm->sh->generation;

    ngx_webrtc_worker = w;

    ngx_webrtc_stream_init();
    ngx_webrtc_session_init();
    ngx_webrtc_viewer_init();
    ngx_webrtc_pull_init();
    ngx_webrtc_push_init();
    ngx_webrtc_sctp_init(cycle->log);

    ngx_webrtc_hls_init();

    if (ngx_webrtc_srtp_init(cycle->log) != NGX_OK
        || ngx_webrtc_ice_init(cycle->log) != NGX_OK
        || ngx_webrtc_dtls_init(cycle->log, &w->fingerprint) != NGX_OK)
    {
        goto failed;
    }

    /*
     * worker i takes the first free port of the range starting at
     * first + i: during a reload the old workers still hold their ports,
     * so the range is twice the number of workers unless configured
     */

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    last = conf->port_last;

    if (last == 0) {
        last = ngx_min(conf->port_first + 2 * ccf->worker_processes - 1,
                       65535);
    }

    u->listen = &conf->listen;
    u->ctl_key = shm->sh->ctl_key;
    u->recv = ngx_webrtc_worker_recv;
    u->ctl = ngx_webrtc_worker_ctl;
    u->flush = ngx_webrtc_worker_flush;
    u->close = ngx_webrtc_worker_close;
    u->data = w;

    if (ngx_webrtc_udp_open(u, cycle, conf->port_first, last) != NGX_OK) {
        goto failed;
    }

    w->port = u->port;

    if (conf->ice_tcp) {
        t = ngx_pcalloc(cycle->pool, sizeof(ngx_webrtc_tcp_t));
        if (t == NULL) {
            goto failed;
        }

        t->timeout = conf->setup_timeout;
        t->recv = ngx_webrtc_worker_tcp_recv;
        t->closed = ngx_webrtc_worker_tcp_closed;
        t->flush = ngx_webrtc_worker_flush;
        t->data = w;

        /* the same port number as UDP, or this worker goes without */
        if (ngx_webrtc_tcp_open(t, cycle, &conf->listen, u->port) == NGX_OK) {
            w->tcp = t;
            w->tcp_port = t->port;
        }
    }

    ngx_webrtc_worker_sweep_event.handler = ngx_webrtc_worker_sweep;
    ngx_webrtc_worker_sweep_event.data = w;
    ngx_webrtc_worker_sweep_event.log = cycle->log;
    ngx_webrtc_worker_sweep_event.cancelable = 1;
    ngx_add_timer(&ngx_webrtc_worker_sweep_event,
                  NGX_WEBRTC_SWEEP + ngx_random() % NGX_WEBRTC_SWEEP);

    return NGX_OK;

failed:

    ngx_webrtc_dtls_cleanup();
    ngx_webrtc_worker = NULL;

    return NGX_ERROR;
}


void
ngx_webrtc_worker_exit(ngx_cycle_t *cycle)
{
    ngx_webrtc_worker_t  *w;

    w = ngx_webrtc_worker;
    if (w == NULL) {
        return;
    }

    if (ngx_webrtc_worker_sweep_event.timer_set) {
        ngx_del_timer(&ngx_webrtc_worker_sweep_event);
    }

    ngx_webrtc_stream_shutdown();
    ngx_webrtc_pull_exit();
    ngx_webrtc_push_exit();
    ngx_webrtc_notify_exit();
    ngx_webrtc_session_close_all();
    ngx_webrtc_viewer_shutdown();

    ngx_webrtc_hls_exit();

    ngx_webrtc_stream_exit();

    ngx_webrtc_udp_close(w->udp);

    if (w->tcp) {
        ngx_webrtc_tcp_shutdown(w->tcp);
        w->tcp = NULL;
    }
    ngx_webrtc_dtls_cleanup();

    ngx_webrtc_worker = NULL;
}


/* RFC 7983: 0-3 STUN, 20-63 DTLS, 128-191 RTP and RTCP */

static void
ngx_webrtc_worker_recv(void *data, u_char *buf, size_t len,
    struct sockaddr *sa, socklen_t socklen)
{
    u_char                 b;
    ngx_webrtc_session_t  *s;

    b = buf[0];

    if (b < 4) {
        ngx_webrtc_session_stun(buf, len, sa, socklen, NULL);
        return;
    }

    s = ngx_webrtc_session_by_addr(sa, socklen);

    if (s == NULL) {
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, ngx_webrtc_worker->log, 0,
                       "webrtc: %uz bytes from an unknown address dropped",
                       len);
        return;
    }

    ngx_webrtc_worker_demux(s, buf, len);
}


/*
 * A packet of an ICE-TCP connection: STUN as over UDP; the rest only
 * on the connection that is the session's path.
 */

static void
ngx_webrtc_worker_tcp_recv(void *data, ngx_webrtc_tcp_conn_t *tc,
    u_char *buf, size_t len)
{
    ngx_webrtc_session_t  *s;

    if (buf[0] < 4) {
        ngx_webrtc_session_stun(buf, len, &tc->sockaddr.sockaddr,
                                tc->socklen, tc);
        return;
    }

    s = tc->owner;

    if (s == NULL || s->tcp != tc) {
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, ngx_webrtc_worker->log, 0,
                       "webrtc: %uz bytes on an ICE-TCP connection that is "
                       "no session's path dropped", len);
        return;
    }

    ngx_webrtc_worker_demux(s, buf, len);
}


static void
ngx_webrtc_worker_tcp_closed(void *data, ngx_webrtc_tcp_conn_t *tc,
    void *owner)
{
    ngx_webrtc_session_tcp_closed(owner, tc);
}


static void
ngx_webrtc_worker_demux(ngx_webrtc_session_t *s, u_char *buf, size_t len)
{
    u_char  b;

    b = buf[0];

    if (b >= 20 && b <= 63) {
        ngx_webrtc_session_dtls(s, buf, len);
        return;
    }

    if (b >= 128 && b <= 191) {
        ngx_webrtc_session_srtp(s, buf, len);
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, ngx_webrtc_worker->log, 0,
                   "webrtc: datagram with first byte %ui dropped",
                   (ngx_uint_t) b);
}


/*
 * another worker asks: a DELETE or an ICE restart landed there, a
 * stream moved, a PLI
 */

static void
ngx_webrtc_worker_ctl(void *data, u_char type, u_char *id)
{
    ngx_webrtc_session_t  *s;

    if (type == NGX_WEBRTC_CTL_WAKE) {
        ngx_webrtc_stream_wake();
        return;
    }

    s = ngx_webrtc_session_find(id);
    if (s == NULL) {
        return;
    }

    switch (type) {

    case NGX_WEBRTC_CTL_CLOSE:
        ngx_webrtc_session_close(s, "deleted");
        break;

    case NGX_WEBRTC_CTL_RESTART:
        ngx_webrtc_session_ice_restart(s);
        break;

    case NGX_WEBRTC_CTL_KEYFRAME:
        if (s->role == NGX_WEBRTC_ROLE_PUBLISHER) {
            ngx_webrtc_publisher_request_keyframes(s);
        }

        break;

    case NGX_WEBRTC_CTL_LAYER:
        if (s->role == NGX_WEBRTC_ROLE_VIEWER) {
            ngx_webrtc_viewer_pin(s);
        }

        break;
    }
}


static void
ngx_webrtc_worker_flush(void *data)
{
    ngx_webrtc_stream_flush();
}


/*
 * The worker is exiting gracefully.  After a reload (the zone's
 * generation moved on) live sessions stay until they end, as HTTP
 * connections do; on "nginx -s quit" they end now.  When
 * worker_shutdown_timeout expires (c->error), everything ends.
 */

static ngx_int_t
ngx_webrtc_worker_close(void *data)
{
    ngx_webrtc_worker_t  *w = data;

    ngx_webrtc_stream_shutdown();

    if (!w->udp->connection->error
        && w->shm->sh->generation != w->generation)
    {
        ngx_log_error(NGX_LOG_INFO, w->log, 0,
                      "webrtc: reload: %ui sessions stay in this worker",
                      ngx_webrtc_session_count());
        return NGX_OK;
    }

    ngx_webrtc_worker_exit((ngx_cycle_t *) ngx_cycle);

    return NGX_DONE;
}


/*
 * What workers that died left in the zone goes within a few seconds:
 * every worker tries once a second, one of them at a time.
 */

static void
ngx_webrtc_worker_sweep(ngx_event_t *ev)
{
    ngx_uint_t          orphans;
    ngx_slab_pool_t    *shpool;
    ngx_webrtc_pids_t   pids;

    shpool = ngx_webrtc_worker->shm->shpool;

    if (ngx_shmtx_trylock(&shpool->mutex)) {
        pids.n = 0;

        ngx_webrtc_registry_sweep_locked(&pids);
        orphans = ngx_webrtc_stream_sweep_locked(&pids);

        ngx_shmtx_unlock(&shpool->mutex);

        if (orphans) {
            /* the pulls of a dead worker, for the viewers of the others */
            ngx_webrtc_pull_sweep();
        }
    }

    ngx_add_timer(ev, NGX_WEBRTC_SWEEP);
}
