
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_http_client.h"


/*
 * The cascading client's request: connect (ngx_event_connect_peer),
 * write the request, read the head (ngx_webrtc_http_parse.c) and a body
 * of Content-Length bytes, or up to the close; bounded in size and in
 * time (one timer for the whole request).  Not a subrequest: a pull's
 * reconnection or a push has no client request to hang it on.
 */


static void ngx_webrtc_http_write_handler(ngx_event_t *wev);
static void ngx_webrtc_http_read_handler(ngx_event_t *rev);
static void ngx_webrtc_http_empty_handler(ngx_event_t *ev);
static void ngx_webrtc_http_timeout(ngx_event_t *ev);
static void ngx_webrtc_http_done_handler(ngx_event_t *ev);
static ngx_int_t ngx_webrtc_http_input(ngx_webrtc_http_req_t *hr,
    ngx_uint_t eof);
static void ngx_webrtc_http_finish(ngx_webrtc_http_req_t *hr,
    const char *error);
static void ngx_webrtc_http_free(ngx_webrtc_http_req_t *hr);


ngx_webrtc_http_req_t *
ngx_webrtc_http_request(ngx_webrtc_http_peer_t *peer, const char *method,
    ngx_str_t *uri, const char *type, ngx_str_t *body,
    ngx_webrtc_http_handler_pt handler, void *data, ngx_log_t *log)
{
    size_t                  len;
    ngx_int_t               rc;
    ngx_pool_t             *pool;
    ngx_connection_t       *c;
    ngx_webrtc_http_req_t  *hr;

    pool = ngx_create_pool(1024, log);
    if (pool == NULL) {
        return NULL;
    }

    hr = ngx_pcalloc(pool, sizeof(ngx_webrtc_http_req_t));
    if (hr == NULL) {
        goto failed;
    }

    hr->pool = pool;
    hr->log = log;
    hr->handler = handler;
    hr->data = data;

    len = ngx_strlen(method) + 1 + uri->len
          + sizeof(" HTTP/1.1\r\nHost: \r\n") - 1 + peer->host.len
          + sizeof("User-Agent: nginx-webrtc-cascade\r\n"
                   "Connection: close\r\n") - 1
          + sizeof("Authorization: Bearer \r\n") - 1 + peer->token.len
          + sizeof("Content-Type: \r\nContent-Length: \r\n\r\n") - 1
          + (type ? ngx_strlen(type) : 0) + NGX_SIZE_T_LEN
          + (body ? body->len : 0);

    hr->out = ngx_create_temp_buf(pool, len);
    hr->in = ngx_create_temp_buf(pool, NGX_WEBRTC_HTTP_HEAD_MAX
                                       + NGX_WEBRTC_HTTP_BODY_MAX);
    if (hr->out == NULL || hr->in == NULL) {
        goto failed;
    }

    hr->out->last = ngx_sprintf(hr->out->last,
                                "%s %V HTTP/1.1\r\nHost: %V\r\n"
                                "User-Agent: nginx-webrtc-cascade\r\n"
                                "Connection: close\r\n",
                                method, uri, &peer->host);

    if (peer->token.len) {
        hr->out->last = ngx_sprintf(hr->out->last,
                                    "Authorization: Bearer %V\r\n",
                                    &peer->token);
    }

    if (body) {
        hr->out->last = ngx_sprintf(hr->out->last,
                                    "Content-Type: %s\r\n"
                                    "Content-Length: %uz\r\n\r\n",
                                    type, body->len);
        hr->out->last = ngx_cpymem(hr->out->last, body->data, body->len);

    } else {
        hr->out->last = ngx_cpymem(hr->out->last, "\r\n", 2);
    }

    hr->timer.handler = ngx_webrtc_http_timeout;
    hr->timer.data = hr;
    hr->timer.log = log;
    hr->timer.cancelable = 1;

    hr->done.handler = ngx_webrtc_http_done_handler;
    hr->done.data = hr;
    hr->done.log = log;

    hr->peer.sockaddr = peer->addr->sockaddr;
    hr->peer.socklen = peer->addr->socklen;
    hr->peer.name = &peer->addr->name;
    hr->peer.get = ngx_event_get_peer;
    hr->peer.log = log;
    hr->peer.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&hr->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        /* the handler is always called from an event, never from here */
        if (hr->peer.connection) {
            ngx_close_connection(hr->peer.connection);
            hr->peer.connection = NULL;
        }

        hr->error = "connect failed";
        ngx_post_event(&hr->done, &ngx_posted_events);

        return hr;
    }

    c = hr->peer.connection;
    c->data = hr;
    c->pool = pool;
    c->log = log;
    c->read->log = log;
    c->write->log = log;
    c->read->handler = ngx_webrtc_http_read_handler;
    c->write->handler = ngx_webrtc_http_write_handler;

    ngx_add_timer(&hr->timer, peer->timeout);

    if (rc == NGX_OK) {
        ngx_webrtc_http_write_handler(c->write);
    }

    return hr;

failed:

    ngx_destroy_pool(pool);
    return NULL;
}


/* the owner no longer wants it: freed, its handler is not called */

void
ngx_webrtc_http_abort(ngx_webrtc_http_req_t *hr)
{
    ngx_webrtc_http_free(hr);
}


static void
ngx_webrtc_http_write_handler(ngx_event_t *wev)
{
    ssize_t                 n;
    ngx_connection_t       *c;
    ngx_webrtc_http_req_t  *hr;

    c = wev->data;
    hr = c->data;

    while (hr->out->pos < hr->out->last) {
        n = c->send(c, hr->out->pos, hr->out->last - hr->out->pos);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_webrtc_http_finish(hr, "write event failed");
            }

            return;
        }

        if (n == NGX_ERROR) {
            ngx_webrtc_http_finish(hr, "connection failed");
            return;
        }

        hr->out->pos += n;
    }

    wev->handler = ngx_webrtc_http_empty_handler;

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_webrtc_http_finish(hr, "read event failed");
        return;
    }

    if (c->read->ready) {
        ngx_webrtc_http_read_handler(c->read);
    }
}


static void
ngx_webrtc_http_empty_handler(ngx_event_t *ev)
{
    /* the request is written: nothing more to send */
}


static void
ngx_webrtc_http_read_handler(ngx_event_t *rev)
{
    ssize_t                 n;
    ngx_int_t               rc;
    ngx_connection_t       *c;
    ngx_webrtc_http_req_t  *hr;

    c = rev->data;
    hr = c->data;

    for ( ;; ) {
        if (hr->in->last == hr->in->end) {
            ngx_webrtc_http_finish(hr, "response too large");
            return;
        }

        n = c->recv(c, hr->in->last, hr->in->end - hr->in->last);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_webrtc_http_finish(hr, "read event failed");
            }

            return;
        }

        if (n == NGX_ERROR) {
            ngx_webrtc_http_finish(hr, "connection failed");
            return;
        }

        hr->in->last += n;

        rc = ngx_webrtc_http_input(hr, n == 0);

        if (rc != NGX_AGAIN) {
            return;
        }

        if (n == 0) {
            ngx_webrtc_http_finish(hr, "connection closed early");
            return;
        }
    }
}


/* NGX_AGAIN: more to read; otherwise the request was finished */

static ngx_int_t
ngx_webrtc_http_input(ngx_webrtc_http_req_t *hr, ngx_uint_t eof)
{
    int     rc;
    size_t  have;

    if (!hr->head) {
        rc = ngx_webrtc_http_parse_response(&hr->res, hr->in->pos,
                                            hr->in->last - hr->in->pos);

        if (rc == NGX_WEBRTC_HTTP_AGAIN) {
            return NGX_AGAIN;
        }

        if (rc != NGX_WEBRTC_PARSE_OK) {
            ngx_log_error(NGX_LOG_ERR, hr->log, 0,
                          "webrtc: invalid response from %V: %s",
                          hr->peer.name, hr->res.error);
            ngx_memzero(&hr->res, sizeof(ngx_webrtc_http_response_t));
            ngx_webrtc_http_finish(hr, "invalid response");
            return NGX_ERROR;
        }

        if (hr->res.chunked
            || (hr->res.has_length
                && hr->res.content_length > NGX_WEBRTC_HTTP_BODY_MAX))
        {
            hr->res.status = 0;
            ngx_webrtc_http_finish(hr, hr->res.chunked
                                       ? "chunked response not supported"
                                       : "response body too large");
            return NGX_ERROR;
        }

        hr->head = 1;
    }

    have = hr->in->last - hr->in->pos - hr->res.head_len;

    if (hr->res.has_length ? have < hr->res.content_length : !eof) {
        return NGX_AGAIN;
    }

    hr->body.data = hr->in->pos + hr->res.head_len;
    hr->body.len = hr->res.has_length ? hr->res.content_length : have;

    ngx_webrtc_http_finish(hr, NULL);

    return NGX_OK;
}


static void
ngx_webrtc_http_timeout(ngx_event_t *ev)
{
    ngx_webrtc_http_req_t  *hr = ev->data;

    hr->res.status = 0;
    ngx_webrtc_http_finish(hr, "timed out");
}


static void
ngx_webrtc_http_done_handler(ngx_event_t *ev)
{
    ngx_webrtc_http_req_t  *hr = ev->data;

    ngx_webrtc_http_finish(hr, hr->error);
}


static void
ngx_webrtc_http_finish(ngx_webrtc_http_req_t *hr, const char *error)
{
    hr->error = error;

    if (error) {
        hr->res.status = 0;
        ngx_log_error(NGX_LOG_INFO, hr->log, 0,
                      "webrtc: request to %V: %s", hr->peer.name, error);
    }

    if (hr->peer.connection) {
        ngx_close_connection(hr->peer.connection);
        hr->peer.connection = NULL;
    }

    if (hr->timer.timer_set) {
        ngx_del_timer(&hr->timer);
    }

    hr->handler(hr);

    ngx_webrtc_http_free(hr);
}


static void
ngx_webrtc_http_free(ngx_webrtc_http_req_t *hr)
{
    if (hr->peer.connection) {
        ngx_close_connection(hr->peer.connection);
        hr->peer.connection = NULL;
    }

    if (hr->timer.timer_set) {
        ngx_del_timer(&hr->timer);
    }

    if (hr->done.posted) {
        ngx_delete_posted_event(&hr->done);
    }

    ngx_destroy_pool(hr->pool);
}


/* "http://host[:port]/path": resolved now, at configuration time */

char *
ngx_webrtc_http_peer_parse(ngx_conf_t *cf, ngx_str_t *url,
    ngx_webrtc_http_peer_t *peer)
{
    ngx_url_t  u;

    if (url->len < 8 || ngx_strncasecmp(url->data, (u_char *) "http://", 7)
                        != 0)
    {
        return "needs an http:// URL (https: through a local proxy "
               "location)";
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url.data = url->data + 7;
    u.url.len = url->len - 7;
    u.default_port = 80;
    u.uri_part = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s in \"%V\"",
                               u.err, url);
        }

        return NGX_CONF_ERROR;
    }

    if (u.naddrs == 0) {
        return "has a host that does not resolve";
    }

    peer->addr = &u.addrs[0];

    peer->host.len = u.url.len - u.uri.len;
    peer->host.data = u.url.data;

    if (u.uri.len == 0) {
        ngx_str_set(&peer->uri, "/");

    } else {
        peer->uri = u.uri;
    }

    return NGX_CONF_OK;
}
