
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc.h"
#include "ngx_webrtc_dcep.h"


/*
 * The HTTP side of a stream's data channel: GET streams its messages as
 * Server-Sent Events (the label is the event name, binary is base64, the
 * message id allows a Last-Event-ID resume within the ring's last 256
 * messages); POST injects a message that reaches the publisher and the
 * viewers.
 */


#define NGX_HTTP_WEBRTC_SSE_MAX  65536


typedef struct {
    ngx_queue_t                 queue;
    ngx_http_request_t         *request;
    ngx_webrtc_shm_stream_t    *st;
    struct ngx_webrtc_group_s  *group;
    uint64_t                    cursor;
} ngx_http_webrtc_sse_t;


static void ngx_http_webrtc_events_cleanup(void *data);
static void ngx_http_webrtc_events_write_handler(ngx_http_request_t *r);
static void ngx_http_webrtc_events_send(ngx_http_webrtc_sse_t *sse);
static uint64_t ngx_http_webrtc_events_resume(ngx_http_request_t *r,
    ngx_webrtc_shm_stream_t *st);


ngx_int_t
ngx_http_webrtc_events_get(ngx_http_request_t *r, ngx_str_t *stream)
{
    ngx_int_t               rc;
    ngx_buf_t              *b;
    ngx_chain_t             out;
    ngx_pool_cleanup_t     *cln;
    ngx_webrtc_worker_t    *w;
    ngx_http_webrtc_sse_t  *sse;

    w = ngx_webrtc_worker;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    sse = ngx_pcalloc(r->pool, sizeof(ngx_http_webrtc_sse_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (sse == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a stream may get its messages before it has a publisher */

    sse->st = ngx_webrtc_stream_acquire(stream, 1);
    if (sse->st == NULL) {
        return ngx_http_webrtc_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                     "server is full");
    }

    sse->request = r;

    ngx_shmtx_lock(&w->shm->shpool->mutex);
    rc = ngx_webrtc_dring_init_locked(w->shm->shpool, sse->st);
    ngx_shmtx_unlock(&w->shm->shpool->mutex);

    if (rc != NGX_OK) {
        ngx_webrtc_stream_release(sse->st);
        return ngx_http_webrtc_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                     "server is full");
    }

    sse->group = ngx_webrtc_stream_group_ref(sse->st);

    ngx_http_set_ctx(r, sse, ngx_http_webrtc_module);

    cln->handler = ngx_http_webrtc_events_cleanup;
    cln->data = sse;

    if (sse->group == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    sse->cursor = ngx_http_webrtc_events_resume(r, sse->st);

    ngx_queue_insert_tail(&w->sse, &sse->queue);

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

    /* messages after Last-Event-ID */
    ngx_http_webrtc_events_send(sse);

    return NGX_DONE;
}


static uint64_t
ngx_http_webrtc_events_resume(ngx_http_request_t *r,
    ngx_webrtc_shm_stream_t *st)
{
    uint64_t                 id, pos, end;
    ngx_int_t                n;
    ngx_uint_t               i;
    ngx_list_part_t         *part;
    ngx_table_elt_t         *h;
    ngx_webrtc_drec_t   rec;

    end = st->dwrite;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return end;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Last-Event-ID") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Last-Event-ID",
                               sizeof("Last-Event-ID") - 1)
               == 0)
        {
            break;
        }
    }

    n = ngx_atoi(h[i].value.data, h[i].value.len);
    if (n == NGX_ERROR) {
        return end;
    }

    id = (uint64_t) n;
    pos = st->dids[id % NGX_WEBRTC_DRING_IDS];

    if (st->dring == NULL || end - pos > NGX_WEBRTC_DRING_SIZE || pos >= end) {
        return end;
    }

    ngx_memcpy(&rec, st->dring + (pos & (NGX_WEBRTC_DRING_SIZE - 1)),
               sizeof(rec));

    if (rec.id != id || st->dreserved - pos > NGX_WEBRTC_DRING_SIZE) {
        /* too old: the window has passed */
        return end;
    }

    return pos + rec.size;
}


void
ngx_http_webrtc_events_pump(ngx_webrtc_worker_t *w)
{
    ngx_queue_t            *q, *next;
    ngx_http_webrtc_sse_t  *sse;

    for (q = ngx_queue_head(&w->sse);
         q != ngx_queue_sentinel(&w->sse);
         q = next)
    {
        next = ngx_queue_next(q);
        sse = ngx_queue_data(q, ngx_http_webrtc_sse_t, queue);

        if (sse->st->dring && sse->st->dwrite != sse->cursor
            && !sse->request->connection->buffered)
        {
            ngx_http_webrtc_events_send(sse);
        }
    }
}


static void
ngx_http_webrtc_events_send(ngx_http_webrtc_sse_t *sse)
{
    u_char                   *p, *rp;
    size_t                    n;
    uint64_t                  end;
    ngx_buf_t                *b;
    ngx_str_t                 label;
    ngx_chain_t               out;
    ngx_http_request_t       *r;
    ngx_webrtc_shm_stream_t  *st;
    ngx_webrtc_drec_t    rec;
    static u_char             copy[sizeof(ngx_webrtc_drec_t)
                                   + NGX_WEBRTC_LABEL_MAX
                                   + NGX_WEBRTC_DC_MESSAGE_MAX + 8];

    r = sse->request;
    st = sse->st;
    end = st->dwrite;
    ngx_memory_barrier();

    if (st->dring == NULL) {
        return;
    }

    if (end - sse->cursor > NGX_WEBRTC_DRING_SIZE) {
        sse->cursor = end;
    }

    b = NULL;

    while (sse->cursor < end) {
        rp = st->dring + (sse->cursor & (NGX_WEBRTC_DRING_SIZE - 1));
        ngx_memcpy(&rec, rp, sizeof(rec));

        if (rec.size < sizeof(rec) || rec.size > end - sse->cursor
            || (rec.id && rec.size > sizeof(copy)))
        {
            sse->cursor = end;
            break;
        }

        if (rec.id == 0) {
            sse->cursor += rec.size;
            continue;
        }

        ngx_memcpy(copy, rp, rec.size);
        ngx_memory_barrier();

        if (st->dreserved - sse->cursor > NGX_WEBRTC_DRING_SIZE) {
            sse->cursor = end;
            break;
        }

        sse->cursor += rec.size;

        label.data = copy + sizeof(rec);
        label.len = ngx_min(rec.label_len, NGX_WEBRTC_LABEL_MAX);

        n = ngx_webrtc_sse_len(label.len, rec.len, rec.binary);

        if (b == NULL || (size_t) (b->end - b->last) < n) {
            if (b) {
                break;
            }

            b = ngx_create_temp_buf(r->pool,
                                    ngx_max(n, NGX_HTTP_WEBRTC_SSE_MAX));
            if (b == NULL) {
                ngx_http_finalize_request(r, NGX_ERROR);
                return;
            }
        }

        p = b->last;
        b->last += ngx_webrtc_sse_write(p, rec.id,
                                        (ngx_webrtc_str_t *) &label,
                                        copy + sizeof(rec) + rec.label_len,
                                        rec.len, rec.binary);
    }

    if (b == NULL) {
        return;
    }

    b->flush = 1;

    out.buf = b;
    out.next = NULL;

    if (ngx_http_output_filter(r, &out) == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_ERROR);
    }
}


/*
 * The worker is exiting: end every event stream cleanly, so that
 * EventSource reconnects (to another worker) with its Last-Event-ID.
 */

void
ngx_http_webrtc_events_close_all(ngx_webrtc_worker_t *w)
{
    ngx_queue_t            *q;
    ngx_http_request_t     *r;
    ngx_http_webrtc_sse_t  *sse;

    while (!ngx_queue_empty(&w->sse)) {
        q = ngx_queue_head(&w->sse);
        sse = ngx_queue_data(q, ngx_http_webrtc_sse_t, queue);

        ngx_queue_remove(q);
        ngx_queue_init(q);

        r = sse->request;
        ngx_http_finalize_request(r, ngx_http_send_special(r, NGX_HTTP_LAST));
    }
}


static void
ngx_http_webrtc_events_write_handler(ngx_http_request_t *r)
{
    ngx_event_t            *wev;
    ngx_http_webrtc_sse_t  *sse;

    wev = r->connection->write;

    if (wev->timedout) {
        ngx_http_finalize_request(r, NGX_HTTP_REQUEST_TIME_OUT);
        return;
    }

    if (ngx_http_output_filter(r, NULL) == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    sse = ngx_http_get_module_ctx(r, ngx_http_webrtc_module);

    if (sse && !r->connection->buffered) {
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

    /* in the worker's list unless never added or already taken out */
    if (ngx_queue_prev(&sse->queue)
        && ngx_queue_next(&sse->queue) != &sse->queue)
    {
        ngx_queue_remove(&sse->queue);
    }

    if (sse->group) {
        ngx_webrtc_stream_group_unref(sse->group);
        sse->group = NULL;
    }

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
    ngx_webrtc_shm_stream_t  *st;
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

    if (len > ngx_webrtc_worker->wmcf->dc_max_message) {
        return ngx_http_webrtc_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                     "message too large");
    }

    st = ngx_webrtc_stream_acquire(stream, 0);
    if (st == NULL) {
        return ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND,
                                     "no such stream");
    }

    ngx_memzero(id, sizeof(id));

    rc = ngx_webrtc_data_write(st, NGX_WEBRTC_ORIGIN_HTTP, id, &label,
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
