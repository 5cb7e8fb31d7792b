
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_http_webrtc.h"
#include "ngx_webrtc_dcep.h"


/*
 * The HTTP side of a stream's data channel: GET streams its messages as
 * Server-Sent Events (the label is the event name, binary is base64, the
 * message id allows a Last-Event-ID resume within the ring's last 256
 * messages); POST injects a message that reaches the publisher and the
 * viewers.
 *
 * A GET for a stream that does not exist yet costs no shared memory: the
 * request waits in its worker, which looks for the stream once a second,
 * and gets the stream's messages from its beginning when it appears.
 * Each client has one buffer, filled again only once it is sent.
 */


#define NGX_HTTP_WEBRTC_SSE_MAX   65536
#define NGX_HTTP_WEBRTC_SSE_POLL  1000


typedef struct {
    ngx_webrtc_reader_t         reader;
    ngx_http_request_t         *request;
    ngx_webrtc_stream_t        *st;           /* NULL while waiting */
    ngx_str_t                   name;
    ngx_queue_t                 queue;        /* while waiting */
    ngx_buf_t                  *buf;
    uint64_t                    cursor;
    unsigned                    waiting:1;
} ngx_http_webrtc_sse_t;


static ngx_int_t ngx_http_webrtc_events_attach(ngx_http_webrtc_sse_t *sse,
    ngx_webrtc_stream_t *st, uint64_t cursor);
static void ngx_http_webrtc_events_poll(ngx_event_t *ev);
static void ngx_http_webrtc_events_cleanup(void *data);
static void ngx_http_webrtc_events_write_handler(ngx_http_request_t *r);
static void ngx_http_webrtc_events_read(ngx_webrtc_reader_t *rd,
    ngx_uint_t event);
static void ngx_http_webrtc_events_send(ngx_http_webrtc_sse_t *sse);
static uint64_t ngx_http_webrtc_events_resume(ngx_http_request_t *r,
    ngx_webrtc_stream_t *st);


static u_char       ngx_http_webrtc_events_buf[NGX_WEBRTC_MSG_MAX];
static ngx_uint_t   ngx_http_webrtc_events_n;     /* clients, this worker */
static ngx_queue_t  ngx_http_webrtc_events_waiting;
static ngx_event_t  ngx_http_webrtc_events_timer;


ngx_int_t
ngx_http_webrtc_events_get(ngx_http_request_t *r, ngx_str_t *stream)
{
    ngx_int_t                  rc;
    ngx_buf_t                 *b;
    ngx_chain_t                out;
    ngx_pool_cleanup_t        *cln;
    ngx_webrtc_stream_t       *st;
    ngx_http_webrtc_sse_t     *sse;
    ngx_http_webrtc_target_t  *t;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_webrtc_events_n >= ngx_webrtc_worker->conf->events_max) {
        return ngx_http_webrtc_retry_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "too many event streams");
    }

    sse = ngx_pcalloc(r->pool, sizeof(ngx_http_webrtc_sse_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (sse == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sse->request = r;
    sse->name = *stream;

    cln->handler = ngx_http_webrtc_events_cleanup;
    cln->data = sse;

    ngx_http_webrtc_events_n++;

    t = ngx_http_get_module_ctx(r, ngx_http_webrtc_module);
    t->events = sse;

    st = ngx_webrtc_stream_acquire(stream, 0);

    if (st) {
        if (ngx_http_webrtc_events_attach(sse, st,
                                          ngx_http_webrtc_events_resume(r, st))
            != NGX_OK)
        {
            return ngx_http_webrtc_retry_error(r,
                                               NGX_HTTP_SERVICE_UNAVAILABLE,
                                               "server is full");
        }

    } else {
        if (ngx_http_webrtc_events_waiting.next == NULL) {
            ngx_queue_init(&ngx_http_webrtc_events_waiting);
        }

        ngx_queue_insert_tail(&ngx_http_webrtc_events_waiting, &sse->queue);
        sse->waiting = 1;

        if (!ngx_http_webrtc_events_timer.timer_set) {
            ngx_http_webrtc_events_timer.handler = ngx_http_webrtc_events_poll;
            ngx_http_webrtc_events_timer.data = ngx_webrtc_worker;
            ngx_http_webrtc_events_timer.log = ngx_cycle->log;
            ngx_add_timer(&ngx_http_webrtc_events_timer,
                          NGX_HTTP_WEBRTC_SSE_POLL);
        }
    }

    r->headers_out.status = NGX_HTTP_OK;
    ngx_str_set(&r->headers_out.content_type, "text/event-stream");
    r->headers_out.content_type_len = sizeof("text/event-stream") - 1;
    r->headers_out.content_length_n = -1;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = (u_char *) ": nginx webrtc events\n\n";
    b->last = b->pos + sizeof(": nginx webrtc events\n\n") - 1;
    b->memory = 1;
    b->flush = 1;

    out.buf = b;
    out.next = NULL;

    rc = ngx_http_output_filter(r, &out);
    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_webrtc_events_write_handler;
    r->main->count++;

    if (sse->st && !r->connection->buffered) {
        /* messages after Last-Event-ID */
        ngx_http_webrtc_events_send(sse);
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_webrtc_events_attach(ngx_http_webrtc_sse_t *sse,
    ngx_webrtc_stream_t *st, uint64_t cursor)
{
    if (ngx_webrtc_stream_messages_on(st) != NGX_OK) {
        ngx_webrtc_stream_release(st);
        return NGX_ERROR;
    }

    sse->st = st;
    sse->cursor = cursor;

    sse->reader.st = st;
    sse->reader.handler = ngx_http_webrtc_events_read;
    sse->reader.data = sse;

    return ngx_webrtc_stream_reader_add(&sse->reader);
}


static uint64_t
ngx_http_webrtc_events_resume(ngx_http_request_t *r,
    ngx_webrtc_stream_t *st)
{
    ngx_int_t         n;
    ngx_table_elt_t  *h;

    h = ngx_http_webrtc_find_header(r, "Last-Event-ID");

    if (h == NULL) {
        return st->mring.write;
    }

    n = ngx_atoi(h->value.data, h->value.len);
    if (n == NGX_ERROR) {
        return st->mring.write;
    }

    return ngx_webrtc_mring_resume(&st->mring, (uint64_t) n);
}


/* the waiting requests look for their streams; on exit they end */

static void
ngx_http_webrtc_events_poll(ngx_event_t *ev)
{
    ngx_queue_t            *q, *next;
    ngx_http_request_t     *r;
    ngx_webrtc_stream_t    *st;
    ngx_http_webrtc_sse_t  *sse;

    for (q = ngx_queue_head(&ngx_http_webrtc_events_waiting);
         q != ngx_queue_sentinel(&ngx_http_webrtc_events_waiting);
         q = next)
    {
        next = ngx_queue_next(q);
        sse = ngx_queue_data(q, ngx_http_webrtc_sse_t, queue);
        r = sse->request;

        if (ngx_exiting || ngx_terminate || ngx_quit) {
            ngx_queue_remove(&sse->queue);
            sse->waiting = 0;

            ngx_http_finalize_request(r,
                                      ngx_http_send_special(r, NGX_HTTP_LAST));
            continue;
        }

        st = ngx_webrtc_stream_acquire(&sse->name, 0);
        if (st == NULL) {
            continue;
        }

        ngx_queue_remove(&sse->queue);
        sse->waiting = 0;

        /* a new stream: every message it has is new to this client */

        if (ngx_http_webrtc_events_attach(sse, st,
                                          st->mring.write
                                          <= NGX_WEBRTC_MRING_SIZE
                                          ? 0 : st->mring.write)
            != NGX_OK)
        {
            ngx_http_finalize_request(r, NGX_ERROR);
            continue;
        }

        if (!r->connection->buffered) {
            ngx_http_webrtc_events_send(sse);
        }
    }

    if (!ngx_queue_empty(&ngx_http_webrtc_events_waiting)) {
        ngx_add_timer(ev, NGX_HTTP_WEBRTC_SSE_POLL);
    }
}


/* new messages, or the worker exits: EventSource reconnects elsewhere */

static void
ngx_http_webrtc_events_read(ngx_webrtc_reader_t *rd, ngx_uint_t event)
{
    ngx_http_request_t     *r;
    ngx_http_webrtc_sse_t  *sse;

    sse = rd->data;
    r = sse->request;

    if (event == NGX_WEBRTC_READ_SHUTDOWN) {
        ngx_webrtc_stream_reader_del(rd);
        ngx_http_finalize_request(r, ngx_http_send_special(r, NGX_HTTP_LAST));
        return;
    }

    if (sse->st->mring.write != sse->cursor && !r->connection->buffered) {
        ngx_http_webrtc_events_send(sse);
    }
}


/*
 * As many messages as fit in the client's buffer, which is free again:
 * nothing of it is left to send.  A message that does not fit stays in
 * the ring for the next write event; one larger than the buffer gets a
 * larger buffer (up to the largest message).
 */

static void
ngx_http_webrtc_events_send(ngx_http_webrtc_sse_t *sse)
{
    size_t               n, size;
    uint64_t             prev;
    ngx_int_t            rc;
    ngx_buf_t           *b;
    ngx_str_t            label;
    ngx_chain_t          out;
    ngx_webrtc_msg_t    *msg;
    ngx_http_request_t  *r;

    r = sse->request;
    msg = (ngx_webrtc_msg_t *) ngx_http_webrtc_events_buf;

    b = sse->buf;

    if (b == NULL) {
        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            ngx_http_finalize_request(r, NGX_ERROR);
            return;
        }

        b->temporary = 1;
        sse->buf = b;
    }

    b->pos = b->start;
    b->last = b->start;

    for ( ;; ) {
        prev = sse->cursor;

        rc = ngx_webrtc_mring_read(&sse->st->mring, &sse->cursor,
                                   ngx_http_webrtc_events_buf);

        if (rc == NGX_ABORT) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "webrtc: event stream of \"%V\" fell behind, "
                          "messages lost", &sse->name);
            continue;
        }

        if (rc != NGX_OK) {
            break;
        }

        label.data = (u_char *) (msg + 1);
        label.len = ngx_min(msg->label_len, NGX_WEBRTC_LABEL_MAX);

        n = ngx_webrtc_sse_len(label.len, msg->len, msg->binary);

        if ((size_t) (b->end - b->last) < n) {

            if (b->last > b->start) {
                /* sent first, then this one */
                sse->cursor = prev;
                break;
            }

            if (b->start) {
                ngx_pfree(r->pool, b->start);
            }

            size = ngx_max(n, NGX_HTTP_WEBRTC_SSE_MAX);

            b->start = ngx_palloc(r->pool, size);
            if (b->start == NULL) {
                ngx_http_finalize_request(r, NGX_ERROR);
                return;
            }

            b->pos = b->start;
            b->last = b->start;
            b->end = b->start + size;
        }

        b->last += ngx_webrtc_sse_write(b->last, msg->id,
                                        (ngx_webrtc_str_t *) &label,
                                        (u_char *) (msg + 1)
                                        + msg->label_len,
                                        msg->len, msg->binary);
    }

    if (b->last == b->pos) {
        return;
    }

    b->flush = 1;

    out.buf = b;
    out.next = NULL;

    if (ngx_http_output_filter(r, &out) == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_ERROR);
    }
}


static void
ngx_http_webrtc_events_write_handler(ngx_http_request_t *r)
{
    ngx_event_t               *wev;
    ngx_http_webrtc_sse_t     *sse;
    ngx_http_webrtc_target_t  *t;

    wev = r->connection->write;

    if (wev->timedout) {
        ngx_http_finalize_request(r, NGX_HTTP_REQUEST_TIME_OUT);
        return;
    }

    if (ngx_http_output_filter(r, NULL) == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    t = ngx_http_get_module_ctx(r, ngx_http_webrtc_module);
    sse = t->events;

    if (sse && sse->st && !r->connection->buffered) {
        ngx_http_webrtc_events_send(sse);
    }

    if (ngx_handle_write_event(wev, 0) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_ERROR);
    }
}


static void
ngx_http_webrtc_events_cleanup(void *data)
{
    ngx_http_webrtc_sse_t  *sse = data;

    ngx_http_webrtc_events_n--;

    if (sse->waiting) {
        ngx_queue_remove(&sse->queue);
        sse->waiting = 0;
    }

    ngx_webrtc_stream_reader_del(&sse->reader);

    if (sse->st) {
        ngx_webrtc_stream_release(sse->st);
        sse->st = NULL;
    }
}


/* POST: a text/... type makes a text message, anything else binary */

ngx_int_t
ngx_http_webrtc_events_post(ngx_http_request_t *r, ngx_str_t *stream,
    u_char *body, size_t len)
{
    ngx_int_t                 rc;
    ngx_str_t                 label;
    ngx_uint_t                binary;
    ngx_table_elt_t          *h;
    ngx_webrtc_stream_t      *st;
    u_char                    id[8];

    if (ngx_http_arg(r, (u_char *) "label", 5, &label) != NGX_OK) {
        ngx_str_null(&label);
    }

    if (label.len > NGX_WEBRTC_LABEL_MAX) {
        return ngx_http_webrtc_error(r, NGX_HTTP_BAD_REQUEST,
                                     "label too long");
    }

    h = r->headers_in.content_type;
    binary = !(h && h->value.len >= 5
               && ngx_strncasecmp(h->value.data, (u_char *) "text/", 5) == 0);

    if (len > ngx_webrtc_worker->conf->dc_max_message) {
        return ngx_http_webrtc_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                     "message too large");
    }

    st = ngx_webrtc_stream_acquire(stream, 0);
    if (st == NULL) {
        return ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND,
                                     "no such stream");
    }

    ngx_memzero(id, sizeof(id));

    rc = ngx_webrtc_stream_message(st, NGX_WEBRTC_ORIGIN_HTTP, id, &label,
                                   binary, body, len);

    ngx_webrtc_stream_release(st);

    if (rc == NGX_DECLINED) {
        return ngx_http_webrtc_error(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                     "message rate limit");
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}
