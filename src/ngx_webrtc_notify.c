
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_notify.h"


/*
 * Notifications (webrtc_notify <url>): a publisher's start and end
 * ("publish", "unpublish") and a viewer's ("play", "stop") are POSTed
 * as JSON to a URL of the operator's, like nginx-rtmp's on_publish and
 * on_play, but after the fact: admission stays with auth_request.  The
 * event loop never waits for them: each is a request of the HTTP client,
 * tried again twice on no answer or a 5xx, and at most
 * NGX_WEBRTC_NOTIFY_MAX are under way in a worker; past that they are
 * dropped, and said so once a second.
 */


#define NGX_WEBRTC_NOTIFY_MAX        256
#define NGX_WEBRTC_NOTIFY_TRIES      3
#define NGX_WEBRTC_NOTIFY_BODY                                                \
    (sizeof("{\"event\":\"unpublish\",\"role\":\"publisher\",\"stream\":\"\","\
            "\"session\":\"\",\"remote\":\"\",\"user_agent\":\"\","          \
            "\"time\":,\"reason\":\"\",\"duration_ms\":}")                    \
     + 6 * NGX_WEBRTC_STREAM_MAX + NGX_WEBRTC_ID_LEN + NGX_SOCKADDR_STRLEN   \
     + 6 * NGX_WEBRTC_UA_MAX + 6 * NGX_WEBRTC_REASON_LEN + 2 * NGX_INT64_LEN)


typedef struct {
    ngx_queue_t                 queue;        /* under way */
    ngx_pool_t                 *pool;
    ngx_webrtc_http_peer_t     *peer;
    ngx_webrtc_http_req_t      *req;          /* NULL: between tries */
    ngx_str_t                   body;
    ngx_uint_t                  tries;
    ngx_event_t                 timer;        /* the next try */
    ngx_log_t                   log;
} ngx_webrtc_notify_t;


static void ngx_webrtc_notify_send(ngx_webrtc_notify_t *n);
static void ngx_webrtc_notify_done(ngx_webrtc_http_req_t *hr);
static void ngx_webrtc_notify_retry(ngx_event_t *ev);
static void ngx_webrtc_notify_free(ngx_webrtc_notify_t *n);


static ngx_queue_t  ngx_webrtc_notify_queue;
static ngx_uint_t   ngx_webrtc_notify_n;        /* under way, this worker */
static ngx_uint_t   ngx_webrtc_notify_exited;
static time_t       ngx_webrtc_notify_dropped;  /* last said, seconds */


void
ngx_webrtc_notify(ngx_webrtc_http_peer_t *peer, ngx_uint_t event,
    ngx_webrtc_shm_session_t *ss, ngx_msec_t age, const char *reason)
{
    u_char               *p;
    const char           *name;
    ngx_pool_t           *pool;
    ngx_webrtc_notify_t  *n;

    if (ngx_webrtc_notify_exited) {
        /* the sessions an exiting worker closes: nothing could send it */
        return;
    }

    if (ngx_webrtc_notify_n >= NGX_WEBRTC_NOTIFY_MAX) {
        if (ngx_webrtc_notify_dropped != ngx_time()) {
            ngx_webrtc_notify_dropped = ngx_time();
            ngx_log_error(NGX_LOG_WARN, ngx_webrtc_worker->log, 0,
                          "webrtc: %ui notifications under way, "
                          "more are dropped", ngx_webrtc_notify_n);
        }

        return;
    }

    if (ss->role == NGX_WEBRTC_ROLE_PUBLISHER) {
        name = (event == NGX_WEBRTC_NOTIFY_START) ? "publish" : "unpublish";

    } else {
        name = (event == NGX_WEBRTC_NOTIFY_START) ? "play" : "stop";
    }

    pool = ngx_create_pool(1024, ngx_webrtc_worker->log);
    if (pool == NULL) {
        return;
    }

    n = ngx_pcalloc(pool, sizeof(ngx_webrtc_notify_t));
    if (n == NULL) {
        goto failed;
    }

    n->body.data = ngx_pnalloc(pool, NGX_WEBRTC_NOTIFY_BODY);
    if (n->body.data == NULL) {
        goto failed;
    }

    n->pool = pool;
    n->peer = peer;

    n->log = *ngx_webrtc_worker->log;
    n->log.connection = 0;

    p = ngx_sprintf(n->body.data, "{\"event\":\"%s\",\"role\":\"%s\","
                    "\"stream\":\"", name,
                    ss->role == NGX_WEBRTC_ROLE_PUBLISHER ? "publisher"
                                                          : "viewer");
    p = (u_char *) ngx_escape_json(p, ss->stream, ss->stream_len);
    p = ngx_sprintf(p, "\",\"session\":\"%*s\",\"remote\":\"",
                    (size_t) NGX_WEBRTC_ID_LEN, ss->id);
    p = (u_char *) ngx_escape_json(p, ss->remote, ss->remote_len);
    p = ngx_cpymem(p, "\",\"user_agent\":\"", sizeof("\",\"user_agent\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, ss->user_agent, ss->user_agent_len);
    p = ngx_sprintf(p, "\",\"time\":%T", ngx_time());

    if (event == NGX_WEBRTC_NOTIFY_END) {
        p = ngx_cpymem(p, ",\"reason\":\"", sizeof(",\"reason\":\"") - 1);
        p = (u_char *) ngx_escape_json(p, (u_char *) reason,
                                       ngx_strlen(reason));
        p = ngx_sprintf(p, "\",\"duration_ms\":%M", age);
    }

    *p++ = '}';

    n->body.len = p - n->body.data;

    n->timer.handler = ngx_webrtc_notify_retry;
    n->timer.data = n;
    n->timer.log = &n->log;
    n->timer.cancelable = 1;

    if (ngx_webrtc_notify_n++ == 0) {
        ngx_queue_init(&ngx_webrtc_notify_queue);
    }

    ngx_queue_insert_tail(&ngx_webrtc_notify_queue, &n->queue);

    ngx_webrtc_notify_send(n);

    return;

failed:

    ngx_destroy_pool(pool);
}


static void
ngx_webrtc_notify_send(ngx_webrtc_notify_t *n)
{
    n->tries++;

    n->req = ngx_webrtc_http_request(n->peer, "POST", &n->peer->uri,
                                     "application/json", &n->body,
                                     ngx_webrtc_notify_done, n, &n->log);
    if (n->req == NULL) {
        ngx_webrtc_notify_free(n);
    }
}


static void
ngx_webrtc_notify_done(ngx_webrtc_http_req_t *hr)
{
    ngx_webrtc_notify_t  *n;

    n = hr->data;
    n->req = NULL;                /* the client frees it after this */

    if (hr->res.status >= 200 && hr->res.status < 500) {
        /* 4xx: the receiver does not want it; asking again will not help */
        if (hr->res.status >= 300) {
            ngx_log_error(NGX_LOG_INFO, &n->log, 0,
                          "webrtc: notification answered %ui",
                          hr->res.status);
        }

        ngx_webrtc_notify_free(n);
        return;
    }

    if (n->tries >= NGX_WEBRTC_NOTIFY_TRIES) {
        ngx_log_error(NGX_LOG_INFO, &n->log, 0,
                      "webrtc: notification not delivered after %ui tries: "
                      "%s", n->tries,
                      hr->res.status ? "a 5xx answer"
                                     : (hr->error ? hr->error : "no answer"));
        ngx_webrtc_notify_free(n);
        return;
    }

    /* 1 s, then 2 s */
    ngx_add_timer(&n->timer, 1000 << (n->tries - 1));
}


static void
ngx_webrtc_notify_retry(ngx_event_t *ev)
{
    ngx_webrtc_notify_send(ev->data);
}


/* the worker exits: what is under way is given up, its sockets closed */

void
ngx_webrtc_notify_exit(void)
{
    ngx_queue_t          *q;
    ngx_webrtc_notify_t  *n;

    ngx_webrtc_notify_exited = 1;

    while (ngx_webrtc_notify_n) {
        q = ngx_queue_head(&ngx_webrtc_notify_queue);
        n = ngx_queue_data(q, ngx_webrtc_notify_t, queue);

        if (n->req) {
            ngx_webrtc_http_abort(n->req);
            n->req = NULL;
        }

        ngx_webrtc_notify_free(n);
    }
}


static void
ngx_webrtc_notify_free(ngx_webrtc_notify_t *n)
{
    if (n->timer.timer_set) {
        ngx_del_timer(&n->timer);
    }

    ngx_queue_remove(&n->queue);
    ngx_webrtc_notify_n--;
    ngx_destroy_pool(n->pool);
}
