
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * The WHEP layer extension's request body.  Its members are short ids,
 * so a flat JSON object is all that is taken: a full JSON parser would be
 * more code facing anonymous input than the feature needs.
 */


#include "ngx_webrtc_layer.h"


static u_char *ngx_webrtc_layer_space(u_char *p, u_char *end);
static u_char *ngx_webrtc_layer_string(u_char *p, u_char *end,
    ngx_webrtc_str_t *s);
static u_char *ngx_webrtc_layer_scalar(u_char *p, u_char *end);
static int ngx_webrtc_layer_is(ngx_webrtc_str_t *s, const char *lit);


int
ngx_webrtc_layer_parse(ngx_webrtc_layer_req_t *req, u_char *p, size_t len)
{
    u_char            *end;
    ngx_webrtc_str_t   key, val;

    memset(req, 0, sizeof(ngx_webrtc_layer_req_t));

    end = p + len;
    p = ngx_webrtc_layer_space(p, end);

    if (p == end) {
        /* an empty body: unpin */
        return NGX_WEBRTC_PARSE_OK;
    }

    if (*p++ != '{') {
        req->error = "body is not a JSON object";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    p = ngx_webrtc_layer_space(p, end);

    if (p < end && *p == '}') {
        p++;
        goto last;
    }

    for ( ;; ) {
        p = ngx_webrtc_layer_string(p, end, &key);
        if (p == NULL) {
            req->error = "bad JSON: a member name expected";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        p = ngx_webrtc_layer_space(p, end);

        if (p == end || *p++ != ':') {
            req->error = "bad JSON: ':' expected";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        p = ngx_webrtc_layer_space(p, end);

        if (p < end && *p == '"') {
            p = ngx_webrtc_layer_string(p, end, &val);

            if (p && ngx_webrtc_layer_is(&key, "mediaId")) {
                req->media_id = val;

            } else if (p && ngx_webrtc_layer_is(&key, "encodingId")) {
                req->encoding_id = val;
            }

        } else {
            p = ngx_webrtc_layer_scalar(p, end);

            if (p && (ngx_webrtc_layer_is(&key, "spatialLayerId")
                      || ngx_webrtc_layer_is(&key, "temporalLayerId")))
            {
                req->svc = 1;
            }
        }

        if (p == NULL) {
            req->error = "bad JSON: a string, number, true, false or null "
                         "value expected";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        p = ngx_webrtc_layer_space(p, end);

        if (p == end) {
            req->error = "bad JSON: the object is not closed";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        if (*p == '}') {
            p++;
            break;
        }

        if (*p++ != ',') {
            req->error = "bad JSON: ',' or '}' expected";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        p = ngx_webrtc_layer_space(p, end);
    }

last:

    if (ngx_webrtc_layer_space(p, end) != end) {
        req->error = "bad JSON: data after the object";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    return NGX_WEBRTC_PARSE_OK;
}


static u_char *
ngx_webrtc_layer_space(u_char *p, u_char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    {
        p++;
    }

    return p;
}


/* a string without escapes or control characters; NULL if not one */

static u_char *
ngx_webrtc_layer_string(u_char *p, u_char *end, ngx_webrtc_str_t *s)
{
    if (p == end || *p != '"') {
        return NULL;
    }

    s->data = ++p;

    while (p < end && *p != '"') {
        if (*p == '\\' || *p < 0x20) {
            return NULL;
        }

        p++;
    }

    if (p == end) {
        return NULL;
    }

    s->len = p - s->data;

    return p + 1;
}


/* a number, true, false or null; NULL if none */

static u_char *
ngx_webrtc_layer_scalar(u_char *p, u_char *end)
{
    u_char  *start;

    start = p;

    while (p < end && ((*p >= '0' && *p <= '9') || *p == '-' || *p == '+'
                       || *p == '.' || *p == 'e' || *p == 'E'))
    {
        p++;
    }

    if (p > start) {
        return (*start == '-' || (*start >= '0' && *start <= '9')) ? p
                                                                   : NULL;
    }

    if (end - p >= 4 && (memcmp(p, "true", 4) == 0
                         || memcmp(p, "null", 4) == 0))
    {
        return p + 4;
    }

    if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
        return p + 5;
    }

    return NULL;
}


static int
ngx_webrtc_layer_is(ngx_webrtc_str_t *s, const char *lit)
{
    size_t  n;

    n = strlen(lit);

    return s->len == n && memcmp(s->data, lit, n) == 0;
}
