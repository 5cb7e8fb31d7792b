
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_http_webrtc.h"

#include <openssl/hmac.h>
#include <openssl/evp.h>

/*
 * What every WebRTC location answers with: errors with a one-line
 * reason (logged once at info), Retry-After, CORS, and the ice-server
 * Links; and the request body in one piece, which the handlers of the
 * session resources (PATCH, the WHEP layer) read.
 */

static ngx_str_t  ngx_http_webrtc_text_type = ngx_string("text/plain");


/* a one-line reason, logged once at info */

ngx_int_t
ngx_http_webrtc_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *reason)
{
    size_t        len;
    ngx_buf_t    *b;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "webrtc: %ui: %s", status, reason);

    len = ngx_strlen(reason);

    b = ngx_create_temp_buf(r->pool, len + 1);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, reason, len);
    *b->last++ = '\n';

    if (status == NGX_HTTP_NOT_ALLOWED) {
        ngx_str_t  allow = ngx_string("OPTIONS, POST, GET, HEAD, PATCH, "
                                      "DELETE");

        if (ngx_http_webrtc_add_header(r, "Allow", &allow) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    r->keepalive = r->keepalive && r->discard_body == 0
                   && r->reading_body == 0;

    return ngx_http_webrtc_send(r, status, &ngx_http_webrtc_text_type, b);
}


/* a whole response in one buffer */

ngx_int_t
ngx_http_webrtc_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_buf_t *b)
{
    ngx_int_t    rc;
    ngx_chain_t  out;

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_length_n = b->last - b->pos;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* 503 or 409 with Retry-After: webrtc_retry_after */

ngx_int_t
ngx_http_webrtc_retry_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *reason)
{
    ngx_str_t                    value;
    ngx_http_webrtc_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);

    value.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    value.len = ngx_sprintf(value.data, "%T", wlcf->retry_after)
                - value.data;

    if (ngx_http_webrtc_add_header(r, "Retry-After", &value) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_webrtc_error(r, status, reason);
}


ngx_int_t
ngx_http_webrtc_add_header(ngx_http_request_t *r, char *key,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value = *value;

    return NGX_OK;
}


ngx_table_elt_t *
ngx_http_webrtc_find_header(ngx_http_request_t *r, char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


ngx_int_t
ngx_http_webrtc_cors(ngx_http_request_t *r, ngx_http_webrtc_loc_conf_t *wlcf)
{
    ngx_str_t  value;

    if (wlcf->allow_origin.len == 3
        && ngx_strncmp(wlcf->allow_origin.data, "off", 3) == 0)
    {
        return NGX_OK;
    }

    if (ngx_http_webrtc_add_header(r, "Access-Control-Allow-Origin",
                                   &wlcf->allow_origin)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&value, "Location, ETag, Link, Accept-Post, Accept-Patch");

    return ngx_http_webrtc_add_header(r, "Access-Control-Expose-Headers",
                                      &value);
}


/*
 * Link: <stun:...>; rel="ice-server", and TURN with static credentials or
 * with credentials derived from a shared secret (TURN REST API, as
 * coturn's use-auth-secret checks): username "<expiry>:<stream>",
 * credential base64(HMAC-SHA1(secret, username)).
 */

ngx_int_t
ngx_http_webrtc_links(ngx_http_request_t *r, ngx_http_webrtc_loc_conf_t *wlcf,
    ngx_str_t *stream)
{
    u_char                   *p;
    size_t                    len;
    ngx_str_t                 value, user, cred, mac;
    ngx_uint_t                i;
    unsigned int              maclen;
    ngx_http_webrtc_ice_server_t  *ice;
    u_char                    md[EVP_MAX_MD_SIZE];

    if (wlcf->ice_servers == NULL) {
        return NGX_OK;
    }

    ice = wlcf->ice_servers->elts;

    for (i = 0; i < wlcf->ice_servers->nelts; i++) {

        user = ice[i].username;
        cred = ice[i].credential;

        if (ice[i].secret.len) {
            user.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN + 1 + stream->len);
            if (user.data == NULL) {
                return NGX_ERROR;
            }

            user.len = ngx_sprintf(user.data, "%T:%V",
                                   ngx_time() + ice[i].ttl, stream)
                       - user.data;

            if (HMAC(EVP_sha1(), ice[i].secret.data, (int) ice[i].secret.len,
                     user.data, user.len, md, &maclen)
                == NULL)
            {
                return NGX_ERROR;
            }

            mac.data = md;
            mac.len = maclen;

            cred.len = ngx_base64_encoded_length(maclen);
            cred.data = ngx_pnalloc(r->pool, cred.len);
            if (cred.data == NULL) {
                return NGX_ERROR;
            }

            ngx_encode_base64(&cred, &mac);
        }

        len = sizeof("<>; rel=\"ice-server\"") - 1 + ice[i].url.len;

        if (user.len) {
            len += sizeof("; username=\"\"; credential=\"\"; "
                          "credential-type=\"password\"") - 1
                   + user.len + cred.len;
        }

        value.data = ngx_pnalloc(r->pool, len);
        if (value.data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_sprintf(value.data, "<%V>; rel=\"ice-server\"", &ice[i].url);

        if (user.len) {
            p = ngx_sprintf(p, "; username=\"%V\"; credential=\"%V\"; "
                            "credential-type=\"password\"", &user, &cred);
        }

        value.len = p - value.data;

        if (ngx_http_webrtc_add_header(r, "Link", &value) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* NGX_OK with the whole body, NGX_DECLINED for none, NGX_ERROR */

ngx_int_t
ngx_http_webrtc_read_body(ngx_http_request_t *r, ngx_str_t *body)
{
    u_char       *p;
    size_t        len;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_DECLINED;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        len += b->in_file ? (size_t) (b->file_last - b->file_pos)
                          : (size_t) (b->last - b->pos);
    }

    if (len == 0) {
        return NGX_DECLINED;
    }

    body->data = ngx_pnalloc(r->pool, len + 1);
    if (body->data == NULL) {
        return NGX_ERROR;
    }

    p = body->data;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                              b->file_pos);
            if (n != b->file_last - b->file_pos) {
                return NGX_ERROR;
            }

            p += n;
            continue;
        }

        p = ngx_cpymem(p, b->pos, b->last - b->pos);
    }

    *p = '\0';
    body->len = len;

    return NGX_OK;
}
