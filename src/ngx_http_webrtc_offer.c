
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_http_webrtc.h"


/*
 * What WHIP and WHEP do alike with an offer: check its transport, keep
 * what the session needs of it, register the session, and answer 201
 * with the answer, Location: <endpoint>/<id> (an absolute path), ETag
 * and the Links; and the answer to an ICE restart, the same transport
 * with new credentials.  The ETag is the server's ufrag: new with every
 * restart.
 */


#define NGX_HTTP_WEBRTC_ANSWER_MAX  16384
#define NGX_HTTP_WEBRTC_FRAG_MAX    2048


static ngx_int_t ngx_http_webrtc_offer_remote(ngx_webrtc_session_t *s,
    ngx_webrtc_sdp_selection_t *sel);
static void ngx_http_webrtc_offer_data(ngx_http_request_t *r,
    ngx_webrtc_session_t *s, ngx_webrtc_sdp_t *sdp,
    ngx_webrtc_sdp_selection_t *sel);


static ngx_str_t  ngx_http_webrtc_offer_sdp_type =
    ngx_string("application/sdp");
static ngx_str_t  ngx_http_webrtc_offer_frag_type =
    ngx_string("application/trickle-ice-sdpfrag");


/* NULL, or why the offer's transport is refused (400) */

const char *
ngx_http_webrtc_offer_check(ngx_webrtc_sdp_selection_t *sel)
{
    /* RFC 8839: ufrag 4-256, pwd 22-256 chars; RFC 8122 digests */
    if (sel->transport.ufrag.len < 4 || sel->transport.ufrag.len > 256
        || sel->transport.pwd.len < 22 || sel->transport.pwd.len > 256)
    {
        return "invalid ICE credentials";
    }

    if (sel->transport.fp.len > 3 * 64 || sel->transport.fp_alg.len > 16) {
        return "invalid fingerprint";
    }

    return NULL;
}


/* the offer is freed with the request: the session keeps what it needs */

ngx_int_t
ngx_http_webrtc_offer_session(ngx_http_request_t *r, ngx_webrtc_session_t *s,
    ngx_webrtc_sdp_t *sdp, ngx_webrtc_sdp_selection_t *sel)
{
    if (ngx_http_webrtc_offer_remote(s, sel) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_webrtc_offer_data(r, s, sdp, sel);

    return NGX_OK;
}


/*
 * The session in the shared registry, with the client's User-Agent:
 * NGX_OK, NGX_BUSY (a live publisher), NGX_DECLINED (too many viewers),
 * NGX_ERROR (no memory).
 */

ngx_int_t
ngx_http_webrtc_offer_register(ngx_http_request_t *r,
    ngx_webrtc_session_t *s, ngx_msec_t takeover_idle,
    ngx_webrtc_shm_session_t *replaced)
{
    ngx_str_t               ua;
    ngx_webrtc_shm_entry_t  e;

    ngx_str_null(&ua);

    if (r->headers_in.user_agent) {
        ua = r->headers_in.user_agent->value;
    }

    e.id = s->id;
    e.stream = &s->stream;
    e.role = s->role;
    e.owner = ((ngx_http_webrtc_loc_conf_t *)
                  ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module))
              ->owner;
    e.state = s->state;
    e.user_agent = &ua;
    e.tracks = s->tracks;
    e.ntracks = s->ntracks;
    e.ufrag = s->ice.local_ufrag;

    return ngx_webrtc_registry_add(&e, takeover_idle, &s->shm, replaced,
                                   &s->log);
}


/* the offer's ICE credentials and fingerprint, kept in the session */

static ngx_int_t
ngx_http_webrtc_offer_remote(ngx_webrtc_session_t *s,
    ngx_webrtc_sdp_selection_t *sel)
{
    ngx_webrtc_sdp_transport_t  *t;

    t = &sel->transport;

    s->ice.remote_ufrag.data = ngx_pstrdup(s->pool,
                                           (ngx_str_t *) &t->ufrag);
    s->ice.remote_ufrag.len = t->ufrag.len;
    s->dtls.remote_fp_alg.data = ngx_pstrdup(s->pool,
                                             (ngx_str_t *) &t->fp_alg);
    s->dtls.remote_fp_alg.len = t->fp_alg.len;
    s->dtls.remote_fp.data = ngx_pstrdup(s->pool, (ngx_str_t *) &t->fp);
    s->dtls.remote_fp.len = t->fp.len;

    if (s->ice.remote_ufrag.data == NULL
        || s->dtls.remote_fp_alg.data == NULL
        || s->dtls.remote_fp.data == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the offer's data channel m-section, if any, and the location's rules */

static void
ngx_http_webrtc_offer_data(ngx_http_request_t *r, ngx_webrtc_session_t *s,
    ngx_webrtc_sdp_t *sdp, ngx_webrtc_sdp_selection_t *sel)
{
    ngx_webrtc_sdp_media_t       *m;
    ngx_http_webrtc_loc_conf_t   *wlcf;
    ngx_webrtc_conf_t            *conf;

    if (sel->application < 0) {
        return;
    }

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);
    conf = ngx_webrtc_worker->conf;

    m = &sdp->media[sel->application];

    s->data.sctp.port = m->sctp_port ? m->sctp_port : 5000;
    s->data.from_viewers = wlcf->dc_viewers;

    /* RFC 8841: 64 KiB when the peer says nothing */
    s->data.sctp.max_message = m->max_message_size ? m->max_message_size : 65536;

    if (s->data.sctp.max_message > conf->dc_max_message) {
        s->data.sctp.max_message = conf->dc_max_message;
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
    u_char                       *p;
    size_t                        n, esc;
    ngx_str_t                     value;
    ngx_uint_t                    i;
    ngx_buf_t                    *b;
    ngx_webrtc_sdp_answer_t       ans;
    ngx_http_webrtc_loc_conf_t   *wlcf;
    ngx_http_webrtc_target_t     *t;
    ngx_webrtc_conf_t            *conf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);
    conf = ngx_webrtc_worker->conf;

    ngx_http_webrtc_answer_transport(&ans, s->ice.local_ufrag,
                                     s->ice.local_pwd,
                                     ngx_webrtc_worker->port);

    ans.session_version = ngx_time();
    ans.max_message = conf->dc_max_message;

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

    /*
     * the base is the decoded URI: escaped again, a regex location's
     * %0D%0A cannot become a header line
     */

    esc = 2 * ngx_escape_uri(NULL, base->data, base->len, NGX_ESCAPE_URI);

    value.len = base->len + esc + 1 + NGX_WEBRTC_ID_LEN;
    value.data = ngx_pnalloc(r->pool, value.len);
    if (value.data == NULL) {
        goto failed;
    }

    p = (u_char *) ngx_escape_uri(value.data, base->data, base->len,
                                  NGX_ESCAPE_URI);
    ngx_sprintf(p, "/%*s", (size_t) NGX_WEBRTC_ID_LEN, s->id);

    /* $webrtc_session: the id, in the request's pool (it outlives s) */
    t = ngx_http_get_module_ctx(r, ngx_http_webrtc_module);
    t->created = p + 1;

    /* not r->headers_out.location: nginx would make it an absolute URL */

    if (ngx_http_webrtc_add_header(r, "Location", &value) != NGX_OK) {
        goto failed;
    }

    if (ngx_http_webrtc_etag(r, s->ice.local_ufrag) != NGX_OK
        || ngx_http_webrtc_links(r, wlcf, &s->stream) != NGX_OK)
    {
        goto failed;
    }

    if (s->role == NGX_WEBRTC_ROLE_VIEWER && s->st
        && s->st->tracks[2].kind)
    {
        /* a simulcast stream: the WHEP layer extension */
        value.len = base->len + esc + 1 + NGX_WEBRTC_ID_LEN
                    + sizeof("</layer>; rel=\"urn:ietf:params:whep:ext:core:"
                             "layer\"") - 1;
        value.data = ngx_pnalloc(r->pool, value.len);
        if (value.data == NULL) {
            goto failed;
        }

        p = ngx_cpymem(value.data, "<", 1);
        p = (u_char *) ngx_escape_uri(p, base->data, base->len,
                                      NGX_ESCAPE_URI);
        ngx_sprintf(p, "/%*s/layer>; rel=\"urn:ietf:params:whep:ext:core:"
                    "layer\"", (size_t) NGX_WEBRTC_ID_LEN, s->id);

        if (ngx_http_webrtc_add_header(r, "Link", &value) != NGX_OK) {
            goto failed;
        }
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

    return ngx_http_webrtc_send(r, NGX_HTTP_CREATED,
                                &ngx_http_webrtc_offer_sdp_type, b);

failed:

    ngx_webrtc_session_close(s, "answer failed");
    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/* what the answer and a restart's fragment say alike of the transport */

void
ngx_http_webrtc_answer_transport(ngx_webrtc_sdp_answer_t *ans,
    u_char *ufrag, u_char *pwd, in_port_t port)
{
    ngx_str_t          *cand;
    ngx_uint_t          i;
    ngx_webrtc_conf_t  *conf;

    conf = ngx_webrtc_worker->conf;

    ngx_memzero(ans, sizeof(ngx_webrtc_sdp_answer_t));

    ans->ufrag.data = ufrag;
    ans->ufrag.len = NGX_WEBRTC_UFRAG_LEN;
    ans->pwd.data = pwd;
    ans->pwd.len = NGX_WEBRTC_PWD_LEN;
    ans->fingerprint.data = ngx_webrtc_worker->fingerprint.data;
    ans->fingerprint.len = ngx_webrtc_worker->fingerprint.len;
    ans->port = port;

    /*
     * ICE-TCP: a worker listens on TCP at its UDP port's number (the
     * owner of a restarted session may be another worker)
     */
    ans->tcp_port = conf->ice_tcp ? port : 0;

    cand = conf->candidates->elts;

    for (i = 0; i < conf->candidates->nelts
                && i < NGX_WEBRTC_SDP_MAX_CANDIDATES; i++)
    {
        ans->candidate_addrs[i].data = cand[i].data;
        ans->candidate_addrs[i].len = cand[i].len;
    }

    ans->ncandidate_addrs = i;
}


ngx_int_t
ngx_http_webrtc_etag(ngx_http_request_t *r, u_char *ufrag)
{
    ngx_str_t  value;

    value.len = NGX_WEBRTC_UFRAG_LEN + 2;
    value.data = ngx_pnalloc(r->pool, value.len);
    if (value.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(value.data, "\"%*s\"", (size_t) NGX_WEBRTC_UFRAG_LEN, ufrag);

    return ngx_http_webrtc_add_header(r, "ETag", &value);
}


/*
 * 200 to an ICE restart (RFC 9725 4.4.2): the server's new ufrag and
 * pwd and its candidates (at the owner worker's port), the new ETag.
 */

ngx_int_t
ngx_http_webrtc_restart_answer(ngx_http_request_t *r,
    ngx_webrtc_sdp_frag_t *frag, u_char *ufrag, u_char *pwd, in_port_t port)
{
    size_t                   n;
    ngx_buf_t               *b;
    ngx_webrtc_sdp_answer_t  ans;

    ngx_http_webrtc_answer_transport(&ans, ufrag, pwd, port);

    b = ngx_create_temp_buf(r->pool, NGX_HTTP_WEBRTC_FRAG_MAX);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = ngx_webrtc_sdp_frag_answer(b->pos, NGX_HTTP_WEBRTC_FRAG_MAX, frag,
                                   &ans);
    if (n == 0) {
        /* the client's m= line or mid was too long to echo: leave them */
        frag->media.len = 0;

        n = ngx_webrtc_sdp_frag_answer(b->pos, NGX_HTTP_WEBRTC_FRAG_MAX,
                                       frag, &ans);
        if (n == 0) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    b->last = b->pos + n;

    if (ngx_http_webrtc_etag(r, ufrag) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_webrtc_send(r, NGX_HTTP_OK,
                                &ngx_http_webrtc_offer_frag_type, b);
}
