
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_http_webrtc.h"

#include <openssl/sha.h>
#include <openssl/crypto.h>

/*
 * The front door of every WebRTC location: the target (the endpoint is
 * <location>/<stream>, a session is the resource <location>/<stream>/<id>,
 * id being 128 random bits in hex), auth, CORS and OPTIONS, the body;
 * then each request to its kind: an offer to WHIP or WHEP, GET and POST
 * of an event stream, DELETE and PATCH of a session.
 */

static ngx_int_t ngx_http_webrtc_target(ngx_http_request_t *r,
    ngx_http_webrtc_target_t *t);
static ngx_int_t ngx_http_webrtc_auth(ngx_http_request_t *r,
    ngx_http_webrtc_loc_conf_t *wlcf);
static ngx_int_t ngx_http_webrtc_token(ngx_http_request_t *r,
    ngx_http_webrtc_loc_conf_t *wlcf);
static ngx_int_t ngx_http_webrtc_options(ngx_http_request_t *r,
    ngx_http_webrtc_loc_conf_t *wlcf);
static void ngx_http_webrtc_post_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_webrtc_offer(ngx_http_request_t *r,
    ngx_http_webrtc_target_t *t, u_char *body, size_t len);
static void ngx_http_webrtc_patch_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_webrtc_if_match(ngx_str_t *value,
    ngx_webrtc_shm_restart_t *rs);
static ngx_int_t ngx_http_webrtc_delete(ngx_http_request_t *r,
    ngx_http_webrtc_target_t *t);
static ngx_int_t ngx_http_webrtc_content_type(ngx_http_request_t *r,
    char *type);

static ngx_str_t  ngx_http_webrtc_sdp_type = ngx_string("application/sdp");

ngx_int_t
ngx_http_webrtc_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_pid_t                    pid;
    in_port_t                    port;
    ngx_http_webrtc_target_t    *t;
    ngx_http_webrtc_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);

    if (ngx_webrtc_worker == NULL) {
        return ngx_http_webrtc_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                     "media is not available in this worker");
    }

    t = ngx_pcalloc(r->pool, sizeof(ngx_http_webrtc_target_t));
    if (t == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_webrtc_target(r, t) != NGX_OK) {
        return ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND,
                                     "invalid stream name");
    }

    ngx_http_set_ctx(r, t, ngx_http_webrtc_module);

    if (r->method == NGX_HTTP_OPTIONS) {
        return ngx_http_webrtc_options(r, wlcf);
    }

    if (ngx_http_webrtc_cors(r, wlcf) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_webrtc_auth(r, wlcf);

    if (rc != NGX_OK) {
        ngx_http_discard_request_body(r);

        return ngx_http_webrtc_error(r, rc,
                                     (rc == NGX_HTTP_UNAUTHORIZED)
                                     ? "bearer token required"
                                     : (rc == NGX_HTTP_FORBIDDEN)
                                       ? "invalid bearer token"
                                       : "internal error");
    }

    if (t->layer) {
        return ngx_http_webrtc_layer(r, t);
    }

    if (wlcf->handler == NGX_HTTP_WEBRTC_EVENTS) {

        if (t->id) {
            ngx_http_discard_request_body(r);
            return ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND,
                                         "no such resource");
        }

        if (r->method == NGX_HTTP_GET) {
            return ngx_http_webrtc_events_get(r, &t->stream);
        }

        if (r->method == NGX_HTTP_POST) {
            if (r->headers_in.content_length_n
                > (off_t) ngx_webrtc_worker->conf->dc_max_message)
            {
                ngx_http_discard_request_body(r);
                return ngx_http_webrtc_error(r,
                                          NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                          "message too large");
            }

            rc = ngx_http_read_client_request_body(r,
                                                   ngx_http_webrtc_post_body);
            if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
                return rc;
            }

            return NGX_DONE;
        }

        ngx_http_discard_request_body(r);
        return ngx_http_webrtc_error(r, NGX_HTTP_NOT_ALLOWED,
                                     "events support GET and POST");
    }

    switch (r->method) {

    case NGX_HTTP_POST:
        if (t->id) {
            break;
        }

        if (ngx_http_webrtc_content_type(r, "application/sdp") != NGX_OK) {
            ngx_http_discard_request_body(r);
            return ngx_http_webrtc_error(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                         "expected application/sdp");
        }

        if (r->headers_in.content_length_n > (off_t) wlcf->max_sdp_size) {
            ngx_http_discard_request_body(r);
            return ngx_http_webrtc_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                         "SDP offer too large");
        }

        rc = ngx_http_read_client_request_body(r, ngx_http_webrtc_post_body);
        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;

    case NGX_HTTP_PATCH:
        if (t->id == NULL) {
            break;
        }

        if (ngx_http_webrtc_content_type(r, "application/trickle-ice-sdpfrag")
            != NGX_OK)
        {
            ngx_http_discard_request_body(r);
            return ngx_http_webrtc_error(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                     "expected application/trickle-ice-sdpfrag");
        }

        rc = ngx_http_read_client_request_body(r, ngx_http_webrtc_patch_body);
        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;

    case NGX_HTTP_DELETE:
        if (t->id == NULL) {
            break;
        }

        ngx_http_discard_request_body(r);
        return ngx_http_webrtc_delete(r, t);

    case NGX_HTTP_GET:
    case NGX_HTTP_HEAD:
        ngx_http_discard_request_body(r);

        if (t->id
            && ngx_webrtc_registry_lookup(&t->stream, t->id, wlcf->owner,
                                          &pid, &port)
               != NGX_OK)
        {
            return ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND,
                                         "no such session");
        }

        r->headers_out.status = NGX_HTTP_OK;
        r->headers_out.content_length_n = 0;
        r->header_only = 1;

        if (wlcf->handler == NGX_HTTP_WEBRTC_WHEP && t->id == NULL) {
            /* WHEP discovery: the endpoint speaks SDP */
            ngx_str_set(&r->headers_out.content_type, "application/sdp");
            r->headers_out.content_type_len = sizeof("application/sdp") - 1;
        }

        return ngx_http_send_header(r);

    default:
        break;
    }

    ngx_http_discard_request_body(r);

    return ngx_http_webrtc_error(r, NGX_HTTP_NOT_ALLOWED,
                                 t->id ? "session supports DELETE and PATCH"
                                       : "endpoint supports POST");
}


/*
 * <location>/<stream> or <location>/<stream>/<id> for a prefix location;
 * for an exact or regex location, the last one or two path segments.
 */

static ngx_int_t
ngx_http_webrtc_target(ngx_http_request_t *r, ngx_http_webrtc_target_t *t)
{
    u_char                    *p, *end, *seg, *slash;
    size_t                     len;
    ngx_uint_t                 i;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    p = r->uri.data;
    end = r->uri.data + r->uri.len;

    if (end > p && end[-1] == '/') {
        end--;
    }

    if (end - p > 7 + NGX_WEBRTC_ID_LEN
        && ngx_strncmp(end - 6, "/layer", 6) == 0
        && end[-7 - NGX_WEBRTC_ID_LEN] == '/')
    {
        /* a session's layer resource: <id>/layer */
        end -= 6;
        t->layer = 1;
    }

    if (!clcf->exact_match
#if (NGX_PCRE)
        && clcf->regex == NULL
#endif
        && clcf->name.len <= r->uri.len
        && ngx_strncmp(clcf->name.data, p, clcf->name.len) == 0)
    {
        seg = p + clcf->name.len;

        if (seg[-1] != '/') {
            if (seg < end && *seg == '/') {
                seg++;

            } else {
                return NGX_ERROR;
            }
        }

    } else {
        /* the last segment, or the last two if the last is an id */

        seg = end;

        while (seg > p && seg[-1] != '/') {
            seg--;
        }

        if (end - seg == NGX_WEBRTC_ID_LEN && seg - 1 > p) {
            seg--;

            while (seg > p && seg[-1] != '/') {
                seg--;
            }
        }
    }

    if (seg > end) {
        return NGX_ERROR;
    }

    slash = ngx_strlchr(seg, end, '/');

    if (slash) {
        len = end - slash - 1;

        if (len != NGX_WEBRTC_ID_LEN) {
            return NGX_ERROR;
        }

        for (i = 0; i < len; i++) {
            if (!((slash[1 + i] >= '0' && slash[1 + i] <= '9')
                  || (slash[1 + i] >= 'a' && slash[1 + i] <= 'f')))
            {
                return NGX_ERROR;
            }
        }

        t->id = slash + 1;

    } else {
        slash = end;
    }

    len = slash - seg;

    if (len == 0 || len > NGX_WEBRTC_STREAM_MAX) {
        return NGX_ERROR;
    }

    for (i = 0; i < len; i++) {
        if (!((seg[i] >= '0' && seg[i] <= '9')
              || (seg[i] >= 'a' && seg[i] <= 'z')
              || (seg[i] >= 'A' && seg[i] <= 'Z')
              || seg[i] == '-' || seg[i] == '_' || seg[i] == '.'))
        {
            return NGX_ERROR;
        }
    }

    if (seg[0] == '.' && (len == 1 || (len == 2 && seg[1] == '.'))) {
        return NGX_ERROR;
    }

    if (t->layer && t->id == NULL) {
        return NGX_ERROR;
    }

    t->stream.data = seg;
    t->stream.len = len;
    t->base.data = p;
    t->base.len = slash - p;

    return NGX_OK;
}


/* NGX_OK, or the status to answer with: 401 (and its challenge) or 403 */

static ngx_int_t
ngx_http_webrtc_auth(ngx_http_request_t *r, ngx_http_webrtc_loc_conf_t *wlcf)
{
    ngx_int_t  rc;
    ngx_str_t  value;

    rc = ngx_http_webrtc_token(r, wlcf);

    if (rc == NGX_OK) {
        return NGX_OK;
    }

    if (rc == NGX_DECLINED) {
        ngx_str_set(&value, "Bearer");

        if (ngx_http_webrtc_add_header(r, "WWW-Authenticate", &value)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_HTTP_UNAUTHORIZED;
    }

    return NGX_HTTP_FORBIDDEN;
}


/*
 * "Authorization: Bearer <token>" (RFC 6750), or a "token" argument for
 * clients that cannot set headers.  Tokens are compared as SHA-256
 * digests with CRYPTO_memcmp(): constant time whatever their lengths.
 * NGX_OK, NGX_DECLINED when there is no token, NGX_ABORT when it is wrong.
 */

static ngx_int_t
ngx_http_webrtc_token(ngx_http_request_t *r, ngx_http_webrtc_loc_conf_t *wlcf)
{
    ngx_str_t         token, *tokens, value;
    ngx_uint_t        i, ok;
    ngx_table_elt_t  *h;
    u_char            md[SHA256_DIGEST_LENGTH], cmd[SHA256_DIGEST_LENGTH];

    if (wlcf->tokens == NULL) {
        return NGX_OK;
    }

    ngx_str_null(&token);

    h = r->headers_in.authorization;

    if (h && h->value.len > 7
        && ngx_strncasecmp(h->value.data, (u_char *) "Bearer ", 7) == 0)
    {
        token.data = h->value.data + 7;
        token.len = h->value.len - 7;

        while (token.len && token.data[0] == ' ') {
            token.data++;
            token.len--;
        }

    } else if (ngx_http_arg(r, (u_char *) "token", 5, &value) == NGX_OK) {
        token = value;
    }

    if (token.len == 0) {
        return NGX_DECLINED;
    }

    SHA256(token.data, token.len, md);

    tokens = wlcf->tokens->elts;
    ok = 0;

    for (i = 0; i < wlcf->tokens->nelts; i++) {
        SHA256(tokens[i].data, tokens[i].len, cmd);
        ok |= (CRYPTO_memcmp(md, cmd, SHA256_DIGEST_LENGTH) == 0);
    }

    return ok ? NGX_OK : NGX_ABORT;
}


static ngx_int_t
ngx_http_webrtc_options(ngx_http_request_t *r,
    ngx_http_webrtc_loc_conf_t *wlcf)
{
    ngx_str_t                  value;
    ngx_http_webrtc_target_t  *t;

    ngx_http_discard_request_body(r);

    t = ngx_http_get_module_ctx(r, ngx_http_webrtc_module);

    if (ngx_http_webrtc_cors(r, wlcf) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&value, "OPTIONS, POST, GET, HEAD, PATCH, DELETE");
    if (ngx_http_webrtc_add_header(r, "Allow", &value) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_webrtc_find_header(r, "Access-Control-Request-Method") != NULL) {
        ngx_str_set(&value, "OPTIONS, POST, GET, HEAD, PATCH, DELETE");
        if (ngx_http_webrtc_add_header(r, "Access-Control-Allow-Methods",
                                       &value)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_str_set(&value, "Authorization, Content-Type, If-Match");
        if (ngx_http_webrtc_add_header(r, "Access-Control-Allow-Headers",
                                       &value)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_str_set(&value, "86400");
        if (ngx_http_webrtc_add_header(r, "Access-Control-Max-Age", &value)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else {
        if (ngx_http_webrtc_add_header(r, "Accept-Post",
                                       &ngx_http_webrtc_sdp_type)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* ICE servers (and TURN credentials) only for authorised clients */
        if (ngx_http_webrtc_token(r, wlcf) == NGX_OK
            && ngx_http_webrtc_links(r, wlcf, &t->stream) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


static void
ngx_http_webrtc_post_body(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_str_t                    body;
    ngx_http_webrtc_target_t    *t;
    ngx_http_webrtc_loc_conf_t  *wlcf;

    t = ngx_http_get_module_ctx(r, ngx_http_webrtc_module);
    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);

    rc = ngx_http_webrtc_read_body(r, &body);

    if (wlcf->handler == NGX_HTTP_WEBRTC_EVENTS) {
        if (rc == NGX_DECLINED) {
            body.len = 0;
            body.data = (u_char *) "";
            rc = NGX_OK;
        }

        rc = (rc == NGX_OK)
             ? ngx_http_webrtc_events_post(r, &t->stream, body.data, body.len)
             : NGX_HTTP_INTERNAL_SERVER_ERROR;

        ngx_http_finalize_request(r, rc);
        return;
    }

    if (rc == NGX_OK && body.len > wlcf->max_sdp_size) {
        rc = ngx_http_webrtc_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                   "SDP offer too large");

    } else if (rc == NGX_OK) {
        rc = ngx_http_webrtc_offer(r, t, body.data, body.len);

    } else if (rc == NGX_DECLINED) {
        rc = ngx_http_webrtc_error(r, NGX_HTTP_BAD_REQUEST,
                                   "empty SDP offer");
    } else {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_finalize_request(r, rc);
}


/* the offer, parsed, to the WHIP or WHEP side */

static ngx_int_t
ngx_http_webrtc_offer(ngx_http_request_t *r, ngx_http_webrtc_target_t *t,
    u_char *body, size_t len)
{
    ngx_webrtc_sdp_t            *sdp;
    ngx_http_webrtc_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);

    sdp = ngx_pcalloc(r->pool, sizeof(ngx_webrtc_sdp_t));
    if (sdp == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_webrtc_sdp_parse(sdp, body, len) != NGX_WEBRTC_PARSE_OK) {
        return ngx_http_webrtc_error(r, NGX_HTTP_BAD_REQUEST,
                                     sdp->error ? sdp->error
                                                : "malformed SDP offer");
    }

    if (wlcf->handler == NGX_HTTP_WEBRTC_WHEP) {
        return ngx_http_webrtc_whep_offer(r, t, sdp);
    }

    return ngx_http_webrtc_whip_offer(r, t, sdp);
}


static ngx_int_t
ngx_http_webrtc_delete(ngx_http_request_t *r, ngx_http_webrtc_target_t *t)
{
    ngx_int_t                    rc;
    ngx_pid_t                    pid;
    in_port_t                    port;
    ngx_http_webrtc_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);

    rc = ngx_webrtc_registry_lookup(&t->stream, t->id, wlcf->owner, &pid,
                                   &port);

    if (rc == NGX_DECLINED) {
        return ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND,
                                     "no such session");
    }

    if (rc == NGX_OK) {
        ngx_webrtc_session_end(pid, port, t->id);
    }

    /* NGX_DONE: it ended a moment ago (the client closed DTLS first) */

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


/*
 * PATCH (RFC 8840, RFC 9725 4.4): the server is ICE-lite and learns the
 * client's address from its checks, so trickled candidates are checked
 * for shape and acknowledged (204).  A fragment with a new ice-ufrag and
 * ice-pwd is an ICE restart: If-Match (the ETag or "*") is required
 * (428), a stale one is 412; the answer is 200 with the server's new
 * credentials and candidates, and a new ETag.  DTLS and SRTP go on.
 */

static void
ngx_http_webrtc_patch_body(ngx_http_request_t *r)
{
    u_char                      ufrag[NGX_WEBRTC_UFRAG_LEN];
    u_char                      pwd[NGX_WEBRTC_PWD_LEN];
    ngx_int_t                   rc;
    ngx_str_t                   body;
    ngx_table_elt_t            *h;
    ngx_webrtc_sdp_frag_t      *frag;
    ngx_http_webrtc_target_t   *t;
    ngx_webrtc_shm_restart_t    rs;
    ngx_http_webrtc_loc_conf_t *wlcf;

    t = ngx_http_get_module_ctx(r, ngx_http_webrtc_module);

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);

    ngx_memzero(&rs, sizeof(ngx_webrtc_shm_restart_t));

    rs.stream = &t->stream;
    rs.id = t->id;
    rs.owner = wlcf->owner;

    if (ngx_webrtc_registry_lookup(&t->stream, t->id, wlcf->owner, &rs.pid,
                                   &rs.port)
        != NGX_OK)
    {
        rc = ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND, "no such session");
        goto done;
    }

    rc = ngx_http_webrtc_read_body(r, &body);

    if (rc == NGX_ERROR) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    if (rc == NGX_DECLINED) {
        body.len = 0;
        body.data = NULL;
    }

    frag = ngx_palloc(r->pool, sizeof(ngx_webrtc_sdp_frag_t));
    if (frag == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    if (ngx_webrtc_sdp_frag_parse(frag, body.data, body.len)
        != NGX_WEBRTC_PARSE_OK)
    {
        rc = ngx_http_webrtc_error(r, NGX_HTTP_BAD_REQUEST, frag->error);
        goto done;
    }

    h = ngx_http_webrtc_find_header(r, "If-Match");

    if (h && ngx_http_webrtc_if_match(&h->value, &rs) != NGX_OK) {
        rc = ngx_http_webrtc_error(r, NGX_HTTP_PRECONDITION_FAILED,
                                   "ETag does not match");
        goto done;
    }

    if (frag->ufrag.len == 0) {

        if (h && rs.any) {
            rc = ngx_http_webrtc_error(r, NGX_HTTP_BAD_REQUEST,
                                  "ICE restart without ice-ufrag and ice-pwd");
            goto done;
        }

        if (h) {
            /* trickle for the current ICE session only */
            rc = ngx_webrtc_registry_restart(&rs);

            if (rc != NGX_OK) {
                rc = (rc == NGX_BUSY)
                     ? ngx_http_webrtc_error(r, NGX_HTTP_PRECONDITION_FAILED,
                                             "ETag does not match")
                     : ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND,
                                             "no such session");
                goto done;
            }
        }

        r->headers_out.status = NGX_HTTP_NO_CONTENT;
        r->headers_out.content_length_n = 0;
        r->header_only = 1;

        rc = ngx_http_send_header(r);
        goto done;
    }

    if (h == NULL) {
        rc = ngx_http_webrtc_error(r, NGX_HTTP_WEBRTC_PRECONDITION_REQUIRED,
                                   "ICE restart requires If-Match");
        goto done;
    }

    rs.remote.data = frag->ufrag.data;
    rs.remote.len = frag->ufrag.len;

    switch (ngx_webrtc_session_restart(&rs, ufrag, pwd)) {

    case NGX_OK:
        /* If-Match was ours: nginx's not_modified filter must not judge it */
        r->disable_not_modified = 1;
        rc = ngx_http_webrtc_restart_answer(r, frag, ufrag, pwd, rs.port);
        break;

    case NGX_BUSY:
        rc = ngx_http_webrtc_error(r, NGX_HTTP_PRECONDITION_FAILED,
                                   "ETag does not match");
        break;

    case NGX_DECLINED:
        rc = ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND, "no such session");
        break;

    default:
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

done:

    ngx_http_finalize_request(r, rc);
}


/*
 * If-Match: "*" or a list of entity tags (RFC 9110 13.1.1, strong
 * comparison: a weak tag never matches).  NGX_OK with the tags that could
 * match in rs, NGX_DECLINED when none can.
 */

static ngx_int_t
ngx_http_webrtc_if_match(ngx_str_t *value, ngx_webrtc_shm_restart_t *rs)
{
    u_char  *p, *end, *tag;

    p = value->data;
    end = p + value->len;

    while (p < end && *p == ' ') {
        p++;
    }

    if (end - p == 1 && *p == '*') {
        rs->any = 1;
        return NGX_OK;
    }

    while (p < end) {

        if (*p == ' ' || *p == ',' || *p == '\t') {
            p++;
            continue;
        }

        if (*p != '"') {
            /* W/"...", or not a tag at all */
            while (p < end && *p != ',') {
                p++;
            }

            continue;
        }

        tag = ++p;

        while (p < end && *p != '"') {
            p++;
        }

        if (p == end) {
            break;
        }

        if (p - tag == NGX_WEBRTC_UFRAG_LEN
            && rs->netags < NGX_WEBRTC_ETAGS_MAX)
        {
            rs->etags[rs->netags++] = tag;
        }

        p++;
    }

    return rs->netags ? NGX_OK : NGX_DECLINED;
}


static ngx_int_t
ngx_http_webrtc_content_type(ngx_http_request_t *r, char *type)
{
    size_t            len;
    ngx_table_elt_t  *h;

    h = r->headers_in.content_type;
    if (h == NULL) {
        return NGX_DECLINED;
    }

    len = ngx_strlen(type);

    if (h->value.len < len
        || ngx_strncasecmp(h->value.data, (u_char *) type, len) != 0)
    {
        return NGX_DECLINED;
    }

    if (h->value.len > len && h->value.data[len] != ';'
        && h->value.data[len] != ' ')
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}
