
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc.h"
#include "ngx_webrtc_stun.h"


/*
 * ICE-lite (RFC 8445 2.5): the server answers connectivity checks on the
 * worker's socket and never sends its own.  A valid check names the
 * session by the local ufrag in USERNAME.
 */


static void *ngx_webrtc_ice_lookup(void *data, u_char *local,
    size_t local_len, u_char *remote, size_t remote_len, u_char **pwd,
    size_t *pwd_len);


ngx_int_t
ngx_webrtc_ice_init(ngx_log_t *log)
{
    uint64_t  tie;

    if (RAND_bytes((u_char *) &tie, sizeof(uint64_t)) != 1) {
        ngx_log_error(NGX_LOG_EMERG, log, 0, "webrtc: RAND_bytes() failed");
        return NGX_ERROR;
    }

    ngx_webrtc_stun_init(tie);

    return NGX_OK;
}


void
ngx_webrtc_ice_handle(ngx_webrtc_worker_t *w, u_char *buf, size_t len,
    struct sockaddr *sa, socklen_t socklen)
{
    size_t                     rlen;
    ngx_webrtc_session_t      *s;
    ngx_webrtc_stun_result_t   res;
    u_char                     out[512];

    rlen = sizeof(out);

    if (ngx_webrtc_stun_process(buf, len, sa, socklen, ngx_webrtc_ice_lookup,
                                w, out, &rlen, &res)
        != NGX_WEBRTC_PARSE_OK)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, w->log, 0,
                       "webrtc: STUN message of %uz bytes dropped", len);
        return;
    }

    s = res.session;

    if (sendto(w->udp->fd, out, rlen, 0, sa, socklen) == -1) {
        ngx_log_error(NGX_LOG_INFO, &s->log, ngx_socket_errno,
                      "webrtc: sendto() of a STUN reply failed");
    }

    if (res.role_conflict) {
        return;
    }

    /*
     * ICE-lite: the first valid check gives a path for DTLS; a nomination
     * (USE-CANDIDATE) moves the session to the chosen pair.
     */

    if (!s->has_peer || res.use_candidate) {
        ngx_webrtc_session_set_peer(s, sa, socklen);
    }

    if (ngx_cmp_sockaddr(sa, socklen, (struct sockaddr *) &s->peer,
                         s->peer_len, 1)
        == NGX_OK)
    {
        ngx_webrtc_session_consent(s);
    }
}


static void *
ngx_webrtc_ice_lookup(void *data, u_char *local, size_t local_len,
    u_char *remote, size_t remote_len, u_char **pwd, size_t *pwd_len)
{
    ngx_webrtc_worker_t   *w;
    ngx_webrtc_session_t  *s;

    w = data;

    s = ngx_webrtc_session_by_ufrag(w, local, local_len);

    if (s == NULL || s->closing) {
        return NULL;
    }

    /* the bundle transport's ufrag from the offer */
    if (s->remote_ufrag.len
        && (s->remote_ufrag.len != remote_len
            || ngx_memcmp(s->remote_ufrag.data, remote, remote_len) != 0))
    {
        return NULL;
    }

    *pwd = s->local_pwd;
    *pwd_len = NGX_WEBRTC_PWD_LEN;

    return s;
}
