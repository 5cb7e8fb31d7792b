
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc.h"

#include <openssl/hmac.h>
#include <openssl/sha.h>


/*
 * WHIP (RFC 9725), and what WHEP and the event endpoints share with it:
 * targets, auth, CORS, Links, errors, DELETE and PATCH of sessions, the
 * 201 with the answer.  The endpoint is <location>/<stream>; a session is
 * the resource <location>/<stream>/<id>, id being 128 random bits in hex.
 */


#define NGX_HTTP_WEBRTC_ANSWER_MAX  16384



typedef struct {
    ngx_str_t                   stream;
    ngx_str_t                   base;        /* the endpoint's URI */
    u_char                     *id;          /* NULL: the endpoint */
} ngx_http_webrtc_target_t;


static ngx_int_t ngx_http_webrtc_target(ngx_http_request_t *r,
    ngx_http_webrtc_target_t *t);
static ngx_int_t ngx_http_webrtc_auth(ngx_http_request_t *r,
    ngx_http_webrtc_loc_conf_t *wlcf);
static ngx_int_t ngx_http_webrtc_token(ngx_http_request_t *r,
    ngx_http_webrtc_loc_conf_t *wlcf);
static ngx_table_elt_t *ngx_http_webrtc_find_header(ngx_http_request_t *r,
    char *name);
static ngx_int_t ngx_http_webrtc_options(ngx_http_request_t *r,
    ngx_http_webrtc_loc_conf_t *wlcf);
static void ngx_http_webrtc_post_body(ngx_http_request_t *r);
static void ngx_http_webrtc_patch_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_webrtc_delete(ngx_http_request_t *r,
    ngx_http_webrtc_target_t *t);
static ngx_int_t ngx_http_webrtc_offer(ngx_http_request_t *r,
    ngx_http_webrtc_target_t *t, u_char *body, size_t len);
static ngx_int_t ngx_http_webrtc_read_body(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_int_t ngx_http_webrtc_cors(ngx_http_request_t *r,
    ngx_http_webrtc_loc_conf_t *wlcf);
static ngx_int_t ngx_http_webrtc_links(ngx_http_request_t *r,
    ngx_http_webrtc_loc_conf_t *wlcf, ngx_str_t *stream);
static ngx_int_t ngx_http_webrtc_content_type(ngx_http_request_t *r,
    char *type);
static void ngx_http_webrtc_end_session(ngx_pid_t pid, in_port_t port,
    u_char *id);


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
                > (off_t) ngx_webrtc_worker->wmcf->dc_max_message)
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
            && ngx_webrtc_shm_lookup(&t->stream, t->id, &pid, &port)
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
            r->headers_out.content_type = ngx_http_webrtc_sdp_type;
            r->headers_out.content_type_len = ngx_http_webrtc_sdp_type.len;
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


static ngx_table_elt_t *
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


static ngx_int_t
ngx_http_webrtc_offer(ngx_http_request_t *r, ngx_http_webrtc_target_t *t,
    u_char *body, size_t len)
{
    ngx_int_t                     rc;
    ngx_str_t                     ua;
    ngx_uint_t                    i, *codecs;
    ngx_webrtc_sdp_t             *sdp;
    ngx_webrtc_track_t           *tr;
    ngx_webrtc_session_t         *s;
    ngx_webrtc_sdp_media_t       *m;
    ngx_webrtc_sdp_codec_t       *c;
    ngx_webrtc_sdp_prefs_t        prefs;
    ngx_webrtc_shm_session_t      replaced;
    ngx_webrtc_sdp_selection_t   *sel;
    ngx_http_webrtc_loc_conf_t   *wlcf;
    ngx_http_webrtc_main_conf_t  *wmcf;
    int                           idx[2];

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);
    wmcf = ngx_http_get_module_main_conf(r, ngx_http_webrtc_module);

    sdp = ngx_pcalloc(r->pool, sizeof(ngx_webrtc_sdp_t));
    sel = ngx_pcalloc(r->pool, sizeof(ngx_webrtc_sdp_selection_t));
    if (sdp == NULL || sel == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_webrtc_sdp_parse(sdp, body, len) != NGX_WEBRTC_PARSE_OK) {
        return ngx_http_webrtc_error(r, NGX_HTTP_BAD_REQUEST,
                                     sdp->error ? sdp->error
                                                : "malformed SDP offer");
    }

    if (wlcf->handler == NGX_HTTP_WEBRTC_WHEP) {
        return ngx_http_webrtc_whep_offer(r, &t->stream, &t->base, sdp);
    }

    ngx_memzero(&prefs, sizeof(ngx_webrtc_sdp_prefs_t));

    codecs = wlcf->video_codecs->elts;

    for (i = 0; i < wlcf->video_codecs->nelts; i++) {
        prefs.video_codecs[prefs.nvideo_codecs++] = codecs[i];
    }

    prefs.audio_codecs[prefs.naudio_codecs++] = NGX_WEBRTC_CODEC_OPUS;
    prefs.ingest = 1;

    if (ngx_webrtc_sdp_select(sdp, &prefs, sel) != NGX_WEBRTC_PARSE_OK) {
        return ngx_http_webrtc_error(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                     sel->error ? sel->error
                                                : "offer not acceptable");
    }

    /* RFC 8839: ufrag 4-256, pwd 22-256 chars; RFC 8122 digests */
    if (sel->transport.ufrag.len < 4 || sel->transport.ufrag.len > 256
        || sel->transport.pwd.len < 22 || sel->transport.pwd.len > 256)
    {
        return ngx_http_webrtc_error(r, NGX_HTTP_BAD_REQUEST,
                                     "invalid ICE credentials");
    }

    if (sel->transport.fp.len > 3 * 64 || sel->transport.fp_alg.len > 16) {
        return ngx_http_webrtc_error(r, NGX_HTTP_BAD_REQUEST,
                                     "invalid fingerprint");
    }

    if (sel->audio < 0 && sel->video < 0 && sel->application < 0) {
        return ngx_http_webrtc_error(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                     "offer has no audio, video or data");
    }

    s = ngx_webrtc_session_create(r->connection->log, &t->stream,
                                  NGX_WEBRTC_ROLE_PUBLISHER);
    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the offer is freed with the request: keep what the session needs */

    if (ngx_http_webrtc_session_remote(s, sel) != NGX_OK) {
        ngx_webrtc_session_close(s, "no memory");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_webrtc_data_setup(r, s, sdp, sel);

    idx[0] = sel->audio;
    idx[1] = sel->video;

    for (i = 0; i < 2; i++) {
        if (idx[i] < 0) {
            continue;
        }

        m = &sdp->media[idx[i]];
        c = &m->codecs[sel->media[idx[i]].codec];
        tr = &s->tracks[s->ntracks++];

        tr->kind = m->type;
        tr->codec = c->codec;
        tr->pt = c->pt;
        tr->clock_rate = c->clock_rate;
        tr->channels = c->channels;
        tr->fb_pli = c->fb_pli;
        tr->fb_fir = c->fb_fir;

        if (sel->media[idx[i]].rtx >= 0) {
            tr->rtx_pt = m->codecs[sel->media[idx[i]].rtx].pt;
        }

        tr->fmtp.len = c->fmtp.len;
        tr->fmtp.data = ngx_pnalloc(s->pool, c->fmtp.len + 1);
        if (tr->fmtp.data == NULL) {
            ngx_webrtc_session_close(s, "no memory");
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(tr->fmtp.data, c->fmtp.data, c->fmtp.len);

        if (tr->clock_rate == 0) {
            tr->clock_rate = (tr->kind == NGX_WEBRTC_MEDIA_AUDIO) ? 48000
                                                                  : 90000;
        }
    }

    ua.len = 0;
    ua.data = NULL;

    if (r->headers_in.user_agent) {
        ua = r->headers_in.user_agent->value;
    }

    rc = ngx_webrtc_shm_add(s, &ua, wmcf->takeover_idle, &replaced);

    if (rc == NGX_BUSY) {
        ngx_webrtc_session_close(s, "stream busy");
        return ngx_http_webrtc_error(r, NGX_HTTP_CONFLICT,
                                     "stream already has a live publisher");
    }

    if (rc != NGX_OK) {
        ngx_webrtc_session_close(s, "no shared memory");
        return ngx_http_webrtc_retry_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "server is full");
    }

    if (replaced.pid) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "webrtc: publisher %*s of stream \"%V\" replaced "
                      "after %Mms of silence", (size_t) NGX_WEBRTC_ID_LEN,
                      replaced.id, &t->stream,
                      ngx_current_msec - replaced.last_rx);

        ngx_http_webrtc_end_session(replaced.pid, replaced.port, replaced.id);
    }

    s->close_viewers = !wlcf->viewers_follow;

    if (ngx_webrtc_stream_publish(s) != NGX_OK) {
        ngx_webrtc_session_close(s, "no shared memory");
        return ngx_http_webrtc_retry_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "server is full");
    }

    if (ngx_webrtc_session_activate(s) != NGX_OK) {
        ngx_webrtc_session_close(s, "activation failed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "webrtc: publisher %*s of stream \"%V\" created",
                  (size_t) NGX_WEBRTC_ID_LEN, s->id, &t->stream);

    return ngx_http_webrtc_answer(r, s, sdp, sel, &t->base);
}


/* the offer's data channel m-section, if any, and the location's rules */

void
ngx_http_webrtc_data_setup(ngx_http_request_t *r, ngx_webrtc_session_t *s,
    ngx_webrtc_sdp_t *sdp, ngx_webrtc_sdp_selection_t *sel)
{
    ngx_webrtc_sdp_media_t       *m;
    ngx_http_webrtc_loc_conf_t   *wlcf;
    ngx_http_webrtc_main_conf_t  *wmcf;

    if (sel->application < 0) {
        return;
    }

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);
    wmcf = ngx_http_get_module_main_conf(r, ngx_http_webrtc_module);

    m = &sdp->media[sel->application];

    s->sctp_port = m->sctp_port ? m->sctp_port : 5000;
    s->dc_viewers = wlcf->dc_viewers;

    /* RFC 8841: 64 KiB when the peer says nothing */
    s->max_message = m->max_message_size ? m->max_message_size : 65536;

    if (s->max_message > wmcf->dc_max_message) {
        s->max_message = wmcf->dc_max_message;
    }
}


/*
 * 201 with the answer, Location: <endpoint>/<id> (an absolute path),
 * ETag and the ice-server Links; the session is closed on failure.
 */

ngx_int_t
ngx_http_webrtc_answer(ngx_http_request_t *r, ngx_webrtc_session_t *s,
    ngx_webrtc_sdp_t *sdp, ngx_webrtc_sdp_selection_t *sel, ngx_str_t *base)
{
    size_t                        n;
    ngx_int_t                     rc;
    ngx_str_t                     value, *cand;
    ngx_uint_t                    i;
    ngx_buf_t                    *b;
    ngx_chain_t                   out;
    ngx_webrtc_sdp_answer_t       ans;
    ngx_http_webrtc_loc_conf_t   *wlcf;
    ngx_http_webrtc_main_conf_t  *wmcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);
    wmcf = ngx_http_get_module_main_conf(r, ngx_http_webrtc_module);

    ngx_memzero(&ans, sizeof(ngx_webrtc_sdp_answer_t));

    ans.ufrag.data = s->local_ufrag;
    ans.ufrag.len = NGX_WEBRTC_UFRAG_LEN;
    ans.pwd.data = s->local_pwd;
    ans.pwd.len = NGX_WEBRTC_PWD_LEN;
    ans.fingerprint.data = ngx_webrtc_worker->fingerprint.data;
    ans.fingerprint.len = ngx_webrtc_worker->fingerprint.len;
    ans.port = ngx_webrtc_worker->port;
    ans.session_version = ngx_time();

    if (s->role == NGX_WEBRTC_ROLE_PUBLISHER) {
        ans.direction = NGX_WEBRTC_DIR_RECVONLY;

    } else {
        ans.direction = NGX_WEBRTC_DIR_SENDONLY;

        for (i = 0; i < s->ntracks; i++) {
            if (s->tracks[i].kind == NGX_WEBRTC_MEDIA_AUDIO) {
                ans.ssrc_audio = s->tracks[i].out_ssrc;

            } else {
                ans.ssrc_video = s->tracks[i].out_ssrc;
            }
        }
    }

    cand = wmcf->candidates->elts;

    for (i = 0; i < wmcf->candidates->nelts
                && i < NGX_WEBRTC_SDP_MAX_CANDIDATES; i++)
    {
        ans.candidate_addrs[i].data = cand[i].data;
        ans.candidate_addrs[i].len = cand[i].len;
    }

    ans.ncandidate_addrs = i;

    b = ngx_create_temp_buf(r->pool, NGX_HTTP_WEBRTC_ANSWER_MAX);
    if (b == NULL) {
        goto failed;
    }

    n = ngx_webrtc_sdp_answer(b->pos, NGX_HTTP_WEBRTC_ANSWER_MAX, sdp, sel,
                              &ans);
    if (n == 0) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "webrtc: SDP answer does not fit in %uz bytes",
                      (size_t) NGX_HTTP_WEBRTC_ANSWER_MAX);
        goto failed;
    }

    b->last = b->pos + n;
    b->last_buf = 1;
    b->last_in_chain = 1;

    value.len = base->len + 1 + NGX_WEBRTC_ID_LEN;
    value.data = ngx_pnalloc(r->pool, value.len);
    if (value.data == NULL) {
        goto failed;
    }

    ngx_sprintf(value.data, "%V/%*s", base, (size_t) NGX_WEBRTC_ID_LEN,
                s->id);

    /* not r->headers_out.location: nginx would make it an absolute URL */

    if (ngx_http_webrtc_add_header(r, "Location", &value) != NGX_OK) {
        goto failed;
    }

    value.len = NGX_WEBRTC_UFRAG_LEN + 2;
    value.data = ngx_pnalloc(r->pool, value.len);
    if (value.data == NULL) {
        goto failed;
    }

    ngx_sprintf(value.data, "\"%*s\"", (size_t) NGX_WEBRTC_UFRAG_LEN,
                s->local_ufrag);

    if (ngx_http_webrtc_add_header(r, "ETag", &value) != NGX_OK
        || ngx_http_webrtc_links(r, wlcf, &s->stream) != NGX_OK)
    {
        goto failed;
    }

    if (wlcf->events_url.len) {
        /* the stream's messages as server-sent events */
        value.len = wlcf->events_url.len + s->stream.len
                    + sizeof("<>; rel=\"urn:ietf:params:whep:ext:core:"
                             "server-sent-events\"") - 1;
        value.data = ngx_pnalloc(r->pool, value.len);
        if (value.data == NULL) {
            goto failed;
        }

        ngx_sprintf(value.data, "<%V%V>; rel=\"urn:ietf:params:whep:ext:"
                    "core:server-sent-events\"", &wlcf->events_url,
                    &s->stream);

        if (ngx_http_webrtc_add_header(r, "Link", &value) != NGX_OK) {
            goto failed;
        }
    }

    r->headers_out.status = NGX_HTTP_CREATED;
    r->headers_out.content_type = ngx_http_webrtc_sdp_type;
    r->headers_out.content_type_len = ngx_http_webrtc_sdp_type.len;
    r->headers_out.content_length_n = n;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);

failed:

    ngx_webrtc_session_close(s, "answer failed");
    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


static ngx_int_t
ngx_http_webrtc_delete(ngx_http_request_t *r, ngx_http_webrtc_target_t *t)
{
    ngx_int_t  rc;
    ngx_pid_t  pid;
    in_port_t  port;

    rc = ngx_webrtc_shm_lookup(&t->stream, t->id, &pid, &port);

    if (rc == NGX_DECLINED) {
        return ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND,
                                     "no such session");
    }

    if (rc == NGX_OK) {
        ngx_http_webrtc_end_session(pid, port, t->id);
    }

    /* NGX_DONE: it ended a moment ago (the client closed DTLS first) */

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


/* a session is ended by its own worker; others are asked over UDP */

static void
ngx_http_webrtc_end_session(ngx_pid_t pid, in_port_t port, u_char *id)
{
    ngx_webrtc_session_t  *s;

    if (pid == ngx_pid) {
        s = ngx_webrtc_session_find(id);
        if (s) {
            ngx_webrtc_session_close(s, "deleted");
        }

        return;
    }

    ngx_webrtc_shm_mark_closing(id);
    (void) ngx_webrtc_ctl_send(port, NGX_WEBRTC_CTL_CLOSE, id);
}


/*
 * Trickle ICE (RFC 8840): the server is ICE-lite and learns the client's
 * address from its checks, so candidates are checked for shape and
 * acknowledged.  ICE restart is not supported: 422.
 */

static void
ngx_http_webrtc_patch_body(ngx_http_request_t *r)
{
    u_char                    *p, *end, *line;
    size_t                     len;
    ngx_int_t                  rc;
    ngx_str_t                  body;
    ngx_pid_t                  pid;
    in_port_t                  port;
    ngx_table_elt_t           *h;
    ngx_http_webrtc_target_t  *t;

    t = ngx_http_get_module_ctx(r, ngx_http_webrtc_module);

    if (ngx_webrtc_shm_lookup(&t->stream, t->id, &pid, &port) != NGX_OK) {
        rc = ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND, "no such session");
        goto done;
    }

    h = ngx_http_webrtc_find_header(r, "If-Match");

    if (h && h->value.len == 1 && h->value.data[0] == '*') {
        rc = ngx_http_webrtc_error(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                   "ICE restart is not supported");
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

    /* every line of an SDP fragment is "<letter>=<value>" */

    for (p = body.data, end = p + body.len; p < end; p++) {
        line = p;

        while (p < end && *p != '\n') {
            p++;
        }

        len = p - line;

        if (len && line[len - 1] == '\r') {
            len--;
        }

        if (len == 0) {
            continue;
        }

        if (len < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
            rc = ngx_http_webrtc_error(r, NGX_HTTP_BAD_REQUEST,
                                       "malformed SDP fragment");
            goto done;
        }

        if (len > 12 && ngx_strncmp(line, "a=ice-ufrag:", 12) == 0) {
            rc = ngx_http_webrtc_error(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                       "ICE restart is not supported");
            goto done;
        }
    }

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    rc = ngx_http_send_header(r);

done:

    ngx_http_finalize_request(r, rc);
}


/* NGX_OK with the whole body, NGX_DECLINED for none, NGX_ERROR */

static ngx_int_t
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


/* the offer's ICE credentials and fingerprint, kept in the session */

ngx_int_t
ngx_http_webrtc_session_remote(ngx_webrtc_session_t *s,
    ngx_webrtc_sdp_selection_t *sel)
{
    ngx_webrtc_sdp_transport_t  *t;

    t = &sel->transport;

    s->remote_ufrag.data = ngx_pstrdup(s->pool, (ngx_str_t *) &t->ufrag);
    s->remote_ufrag.len = t->ufrag.len;
    s->remote_fp_alg.data = ngx_pstrdup(s->pool, (ngx_str_t *) &t->fp_alg);
    s->remote_fp_alg.len = t->fp_alg.len;
    s->remote_fp.data = ngx_pstrdup(s->pool, (ngx_str_t *) &t->fp);
    s->remote_fp.len = t->fp.len;

    if (s->remote_ufrag.data == NULL || s->remote_fp_alg.data == NULL
        || s->remote_fp.data == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a one-line reason, logged once at info */

ngx_int_t
ngx_http_webrtc_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *reason)
{
    size_t        len;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "webrtc: %ui: %s", status, reason);

    len = ngx_strlen(reason);

    b = ngx_create_temp_buf(r->pool, len + 1);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, reason, len);
    *b->last++ = '\n';
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    ngx_str_set(&r->headers_out.content_type, "text/plain");
    r->headers_out.content_type_len = sizeof("text/plain") - 1;
    r->headers_out.content_length_n = len + 1;

    if (status == NGX_HTTP_NOT_ALLOWED) {
        ngx_str_t  allow = ngx_string("OPTIONS, POST, GET, HEAD, PATCH, "
                                      "DELETE");

        if (ngx_http_webrtc_add_header(r, "Allow", &allow) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    r->keepalive = r->keepalive && r->discard_body == 0
                   && r->reading_body == 0;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
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


static ngx_int_t
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

static ngx_int_t
ngx_http_webrtc_links(ngx_http_request_t *r, ngx_http_webrtc_loc_conf_t *wlcf,
    ngx_str_t *stream)
{
    u_char                   *p;
    size_t                    len;
    ngx_str_t                 value, user, cred, mac;
    ngx_uint_t                i;
    unsigned int              maclen;
    ngx_webrtc_ice_server_t  *ice;
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
