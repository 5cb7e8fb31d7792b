
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * The response head of the cascading HTTP client: status line, then the
 * headers it needs (Location, ETag, Content-Type, Content-Length,
 * Transfer-Encoding, Retry-After, Connection).  Strict: a bare LF is
 * accepted as a line end, anything else odd is an error; the head is
 * bounded by NGX_WEBRTC_HTTP_HEAD_MAX.
 *
 * Only libc, as the other parsers.
 */

#include "ngx_webrtc_http_parse.h"

#include <strings.h>


static int ngx_webrtc_http_number(u_char *p, u_char *end, size_t max,
    size_t *n);
static int ngx_webrtc_http_header(ngx_webrtc_http_response_t *res,
    u_char *p, u_char *end);


int
ngx_webrtc_http_parse_response(ngx_webrtc_http_response_t *res,
    u_char *buf, size_t len)
{
    u_char  *p, *end, *line, *eol;
    size_t   n;

    memset(res, 0, sizeof(ngx_webrtc_http_response_t));

    if (len > NGX_WEBRTC_HTTP_HEAD_MAX) {
        len = NGX_WEBRTC_HTTP_HEAD_MAX;
    }

    p = buf;
    end = buf + len;

    /* find the end of the head first: nothing is parsed twice */

    for (line = p; ; line = eol + 1) {
        eol = memchr(line, '\n', end - line);

        if (eol == NULL) {
            if (len >= NGX_WEBRTC_HTTP_HEAD_MAX) {
                res->error = "response head too long";
                return NGX_WEBRTC_PARSE_ERROR;
            }

            return NGX_WEBRTC_HTTP_AGAIN;
        }

        if (eol == line || (eol == line + 1 && *line == '\r')) {
            if (line == buf) {
                res->error = "empty status line";
                return NGX_WEBRTC_PARSE_ERROR;
            }

            break;
        }
    }

    res->head_len = eol + 1 - buf;
    end = line;

    /* "HTTP/1.x NNN reason" */

    eol = memchr(p, '\n', end - p);

    if (eol - p < 12 || memcmp(p, "HTTP/1.", 7) != 0
        || (p[7] != '0' && p[7] != '1') || p[8] != ' '
        || (eol - p > 12 && p[12] != ' ' && p[12] != '\r'))
    {
        res->error = "invalid status line";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    if (ngx_webrtc_http_number(p + 9, p + 12, 999, &n) != NGX_WEBRTC_PARSE_OK
        || n < 100)
    {
        res->error = "invalid status code";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    res->status = n;
    res->keepalive = (p[7] == '1');

    for (p = eol + 1; p < end; p = eol + 1) {
        eol = memchr(p, '\n', end - p);

        if (eol == NULL) {
            /* cannot happen: end is the start of the empty line */
            res->error = "internal error";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        if (ngx_webrtc_http_header(res, p,
                                   (eol > p && eol[-1] == '\r') ? eol - 1
                                                                 : eol)
            != NGX_WEBRTC_PARSE_OK)
        {
            return NGX_WEBRTC_PARSE_ERROR;
        }
    }

    return NGX_WEBRTC_PARSE_OK;
}


static int
ngx_webrtc_http_header(ngx_webrtc_http_response_t *res, u_char *p,
    u_char *end)
{
    u_char            *colon, *q;
    size_t             n, nlen;
    ngx_webrtc_str_t   v;

    colon = memchr(p, ':', end - p);

    if (colon == NULL || colon == p) {
        res->error = "invalid header line";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    for (q = p; q < colon; q++) {
        if (*q <= ' ' || *q >= 127) {
            res->error = "invalid header name";
            return NGX_WEBRTC_PARSE_ERROR;
        }
    }

    nlen = colon - p;

    q = colon + 1;

    while (q < end && (*q == ' ' || *q == '\t')) {
        q++;
    }

    while (end > q && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }

    for (v.data = q; q < end; q++) {
        if ((*q < ' ' && *q != '\t') || *q == 127) {
            res->error = "invalid header value";
            return NGX_WEBRTC_PARSE_ERROR;
        }
    }

    v.len = end - v.data;

#define NGX_WEBRTC_HTTP_IS(name)                                            \
    (nlen == sizeof(name) - 1 && strncasecmp((char *) p, name, nlen) == 0)

    if (NGX_WEBRTC_HTTP_IS("Location")) {
        res->location = v;

    } else if (NGX_WEBRTC_HTTP_IS("ETag")) {
        res->etag = v;

    } else if (NGX_WEBRTC_HTTP_IS("Content-Type")) {
        res->content_type = v;

    } else if (NGX_WEBRTC_HTTP_IS("Content-Length")) {
        if (ngx_webrtc_http_number(v.data, v.data + v.len, 1 << 30, &n)
            != NGX_WEBRTC_PARSE_OK
            || (res->has_length && n != res->content_length))
        {
            res->error = "invalid Content-Length";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        res->content_length = n;
        res->has_length = 1;

    } else if (NGX_WEBRTC_HTTP_IS("Transfer-Encoding")) {
        res->chunked = 1;

    } else if (NGX_WEBRTC_HTTP_IS("Retry-After")) {
        if (ngx_webrtc_http_number(v.data, v.data + v.len, 86400, &n)
            == NGX_WEBRTC_PARSE_OK)
        {
            res->retry_after = n;
        }

    } else if (NGX_WEBRTC_HTTP_IS("Connection")) {
        if (v.len == 5 && strncasecmp((char *) v.data, "close", 5) == 0) {
            res->keepalive = 0;
        }
    }

#undef NGX_WEBRTC_HTTP_IS

    return NGX_WEBRTC_PARSE_OK;
}


/* decimal digits only, at most max */

static int
ngx_webrtc_http_number(u_char *p, u_char *end, size_t max, size_t *n)
{
    size_t  v;

    if (p == end) {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    for (v = 0; p < end; p++) {
        if (*p < '0' || *p > '9') {
            return NGX_WEBRTC_PARSE_ERROR;
        }

        v = v * 10 + (*p - '0');

        if (v > max) {
            return NGX_WEBRTC_PARSE_ERROR;
        }
    }

    *n = v;

    return NGX_WEBRTC_PARSE_OK;
}
