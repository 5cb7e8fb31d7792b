
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_cascade.h"

#include <openssl/rand.h>


static void ngx_webrtc_cascade_deleted(ngx_webrtc_http_req_t *hr);


/*
 * The state of a pull or a push in the stream's record, for the status:
 * written only by the worker that runs it, read under the zone's lock.
 */

void
ngx_webrtc_cascade_state(ngx_webrtc_stream_cascade_t *sc, ngx_uint_t state,
    ngx_uint_t status)
{
    if (state == NGX_WEBRTC_CASCADE_POSTING) {
        sc->attempts++;
    }

    sc->state = state;

    if (status) {
        sc->status = status;
    }
}


void
ngx_webrtc_cascade_url(ngx_webrtc_stream_cascade_t *sc,
    ngx_webrtc_http_peer_t *peer, ngx_str_t *uri)
{
    u_char  *p, *end;

    p = sc->url;
    end = sc->url + NGX_WEBRTC_CASCADE_URL_MAX;

    p = ngx_slprintf(p, end, "http://%V%V", &peer->host, uri);

    sc->url_len = p - sc->url;
    sc->attempts = 0;
    sc->status = 0;
    sc->state = 0;
    sc->pid = ngx_pid;
}


/* the payload types of ngx_webrtc_sdp_offer()'s table, for a push */

ngx_uint_t
ngx_webrtc_cascade_pt(ngx_webrtc_codec_e codec)
{
    switch (codec) {
    case NGX_WEBRTC_CODEC_OPUS:
        return 111;
    case NGX_WEBRTC_CODEC_H264:
        return 102;
    case NGX_WEBRTC_CODEC_VP8:
        return 96;
    case NGX_WEBRTC_CODEC_VP9:
        return 98;
    case NGX_WEBRTC_CODEC_AV1:
        return 45;
    case NGX_WEBRTC_CODEC_H265:
        return 49;
    default:
        return 0;
    }
}


/*
 * A publisher-role session (a pull) offers recvonly every codec known;
 * a viewer-role session (a push) sendonly its tracks' codecs and SSRCs.
 */

size_t
ngx_webrtc_cascade_offer(ngx_webrtc_session_t *s, u_char *buf, size_t size)
{
    uint64_t                 sid;
    ngx_str_t               *cand;
    ngx_uint_t               i;
    ngx_webrtc_conf_t       *conf;
    ngx_webrtc_track_t      *t;
    ngx_webrtc_sdp_offer_t   o;

    conf = ngx_webrtc_worker->conf;

    ngx_memzero(&o, sizeof(ngx_webrtc_sdp_offer_t));

    if (RAND_bytes((u_char *) &sid, sizeof(sid)) != 1) {
        sid = ngx_random();
    }

    o.ufrag.data = s->ice.local_ufrag;
    o.ufrag.len = NGX_WEBRTC_UFRAG_LEN;
    o.pwd.data = s->ice.local_pwd;
    o.pwd.len = NGX_WEBRTC_PWD_LEN;
    o.fingerprint.data = ngx_webrtc_worker->fingerprint.data;
    o.fingerprint.len = ngx_webrtc_worker->fingerprint.len;
    o.port = ngx_webrtc_worker->port;
    o.session_id = sid >> 2;

    if (s->role == NGX_WEBRTC_ROLE_PUBLISHER) {
        o.direction = NGX_WEBRTC_DIR_RECVONLY;
        o.audio = 1;
        o.video = 1;

    } else {
        o.direction = NGX_WEBRTC_DIR_SENDONLY;

        for (i = 0; i < s->ntracks; i++) {
            t = &s->tracks[i];

            if (t->kind == NGX_WEBRTC_MEDIA_AUDIO) {
                o.audio = 1;
                o.ssrc_audio = t->out_ssrc;

            } else {
                o.video = 1;
                o.ssrc_video = t->out_ssrc;
                o.video_codec = t->codec;
                o.video_pt = t->pt;
                o.video_fmtp.data = t->fmtp.data;
                o.video_fmtp.len = t->fmtp.len;
            }
        }
    }

    /*
     * the stream's data channel messages between the tiers: a pull's
     * origin sends its viewers the publisher's, a push sends its peer
     * those of the stream as a publisher would
     */
    o.application = 1;
    o.max_message = conf->dc_max_message;

    cand = conf->candidates->elts;

    for (i = 0; i < conf->candidates->nelts
                && i < NGX_WEBRTC_SDP_MAX_CANDIDATES; i++)
    {
        o.candidate_addrs[i].data = cand[i].data;
        o.candidate_addrs[i].len = cand[i].len;
    }

    o.ncandidate_addrs = i;

    return ngx_webrtc_sdp_offer(buf, size, &o);
}


/*
 * The answer parsed into the request's pool; the session keeps the rest.
 * NGX_DECLINED: its candidate is an address a session of this worker
 * already talks to (see ngx_webrtc_cascade_connect()).
 */

ngx_int_t
ngx_webrtc_cascade_answer(ngx_webrtc_session_t *s, ngx_webrtc_http_req_t *hr,
    ngx_webrtc_sdp_t **sdpp, ngx_webrtc_sdp_remote_t *r, ngx_log_t *log)
{
    ngx_addr_t               addr;
    ngx_webrtc_sdp_t        *sdp;
    ngx_webrtc_sdp_media_t  *m;

    sdp = ngx_pcalloc(hr->pool, sizeof(ngx_webrtc_sdp_t));
    if (sdp == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(r, sizeof(ngx_webrtc_sdp_remote_t));

    if (ngx_webrtc_sdp_parse(sdp, hr->body.data, hr->body.len)
        != NGX_WEBRTC_PARSE_OK
        || ngx_webrtc_sdp_answer_read(sdp, r) != NGX_WEBRTC_PARSE_OK)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "webrtc: the peer's answer refused: %s",
                      sdp->error ? sdp->error
                                 : (r->error ? r->error : "invalid SDP"));
        return NGX_ERROR;
    }

    s->dtls.remote_fp_alg.len = r->transport.fp_alg.len;
    s->dtls.remote_fp_alg.data = ngx_pstrdup(s->pool,
                                         (ngx_str_t *) &r->transport.fp_alg);
    s->dtls.remote_fp.len = r->transport.fp.len;
    s->dtls.remote_fp.data = ngx_pstrdup(s->pool,
                                         (ngx_str_t *) &r->transport.fp);
    s->ice.remote_ufrag.len = r->transport.ufrag.len;
    s->ice.remote_ufrag.data = ngx_pstrdup(s->pool,
                                          (ngx_str_t *) &r->transport.ufrag);

    if (s->dtls.remote_fp_alg.data == NULL || s->dtls.remote_fp.data == NULL
        || s->ice.remote_ufrag.data == NULL)
    {
        return NGX_ERROR;
    }

    /* before the session is registered or published: see below */

    if (ngx_parse_addr(s->pool, &addr, r->cand_addr.data, r->cand_addr.len)
        == NGX_OK)
    {
        ngx_inet_set_port(addr.sockaddr, (in_port_t) r->cand_port);

        if (ngx_webrtc_session_by_addr(addr.sockaddr, addr.socklen)) {
            ngx_log_error(NGX_LOG_INFO, log, 0,
                          "webrtc: the peer's address %*s:%ui is in use by "
                          "another session of this worker",
                          r->cand_addr.len, r->cand_addr.data,
                          (ngx_uint_t) r->cand_port);
            return NGX_DECLINED;
        }
    }

    if (r->application >= 0) {
        m = &sdp->media[r->application];

        /* the association starts when DTLS is up; we open even ids */
        s->data.sctp.port = m->sctp_port ? m->sctp_port : 5000;
        s->data.sctp.client = 1;
        s->data.sctp.max_message = m->max_message_size
                                   ? m->max_message_size : 65536;

        if (s->data.sctp.max_message
            > ngx_webrtc_worker->conf->dc_max_message)
        {
            s->data.sctp.max_message = ngx_webrtc_worker->conf->dc_max_message;
        }
    }

    *sdpp = sdp;

    return NGX_OK;
}


/*
 * After ngx_webrtc_session_activate(): ICE, then DTLS, to the candidate.
 * NGX_DECLINED: a session of this worker already talks to that address
 * (the worker's socket tells sessions apart by the peer's address), so
 * the caller asks again: another POST may land on another peer worker.
 */

ngx_int_t
ngx_webrtc_cascade_connect(ngx_webrtc_session_t *s,
    ngx_webrtc_sdp_remote_t *r, ngx_log_t *log)
{
    ngx_int_t   rc;
    ngx_str_t   pwd;
    ngx_addr_t  addr;

    if (ngx_parse_addr(s->pool, &addr, r->cand_addr.data, r->cand_addr.len)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "webrtc: the peer's candidate \"%*s\" is not an "
                      "address", r->cand_addr.len, r->cand_addr.data);
        return NGX_ERROR;
    }

    ngx_inet_set_port(addr.sockaddr, (in_port_t) r->cand_port);

    pwd.data = r->transport.pwd.data;
    pwd.len = r->transport.pwd.len;

    rc = ngx_webrtc_session_connect(s, addr.sockaddr, addr.socklen,
                                    &s->ice.remote_ufrag, &pwd);
    if (rc != NGX_OK) {
        if (rc == NGX_DECLINED) {
            ngx_log_error(NGX_LOG_INFO, log, 0,
                          "webrtc: the peer's address %*s:%ui is in use by "
                          "another session of this worker",
                          r->cand_addr.len, r->cand_addr.data,
                          (ngx_uint_t) r->cand_port);
        }

        return rc;
    }

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "webrtc: session %*s connects to %*s:%ui",
                  (size_t) NGX_WEBRTC_ID_LEN, s->id, r->cand_addr.len,
                  r->cand_addr.data, (ngx_uint_t) r->cand_port);

    return NGX_OK;
}


/* Location: a path, or an http:// URL of the same peer */

void
ngx_webrtc_cascade_location(ngx_webrtc_http_req_t *hr,
    ngx_webrtc_cascade_location_t *loc, ngx_log_t *log)
{
    u_char  *l;
    size_t   i, len;

    l = hr->res.location.data;
    len = hr->res.location.len;

    if (len > 7 && ngx_strncasecmp(l, (u_char *) "http://", 7) == 0) {
        l = ngx_strlchr(l + 7, l + len, '/');
        len = l ? (size_t) (hr->res.location.data + len - l) : 0;
    }

    if (l && len && len <= NGX_WEBRTC_CASCADE_LOCATION_MAX && l[0] == '/') {

        /*
         * it goes into the DELETE's request line: no spaces (the parser
         * took control characters out already)
         */

        for (i = 0; i < len; i++) {
            if (l[i] <= ' ' || l[i] >= 127) {
                break;
            }
        }

        if (i == len) {
            ngx_memcpy(loc->data, l, len);
            loc->len = len;
            return;
        }
    }

    loc->len = 0;

    ngx_log_error(NGX_LOG_WARN, log, 0,
                  "webrtc: the peer answered without a usable Location");
}


/* the peer's session, if any, DELETEd: nobody waits for the answer */

void
ngx_webrtc_cascade_delete(ngx_webrtc_http_peer_t *peer,
    ngx_webrtc_cascade_location_t *loc)
{
    ngx_str_t  uri;

    if (loc->len == 0) {
        return;
    }

    uri.data = loc->data;
    uri.len = loc->len;

    (void) ngx_webrtc_http_request(peer, "DELETE", &uri, NULL, NULL,
                                   ngx_webrtc_cascade_deleted, NULL,
                                   ngx_webrtc_worker->log);

    loc->len = 0;
}


static void
ngx_webrtc_cascade_deleted(ngx_webrtc_http_req_t *hr)
{
    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, hr->log, 0,
                   "webrtc: cascading DELETE answered %ui",
                   (ngx_uint_t) hr->res.status);
}
