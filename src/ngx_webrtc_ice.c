
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc.h"

#include <stun/stunagent.h>
#include <stun/usages/ice.h>


/*
 * ICE-lite (RFC 8445 2.5) with libnice's STUN agent: the server answers
 * connectivity checks on the worker's socket and never sends its own.
 * A valid check names the session by the local ufrag in USERNAME.
 */


typedef struct {
    ngx_webrtc_worker_t   *worker;
    ngx_webrtc_session_t  *session;
} ngx_webrtc_ice_ctx_t;


static bool ngx_webrtc_ice_validate(StunAgent *agent, StunMessage *message,
    uint8_t *username, uint16_t username_len, uint8_t **password,
    size_t *password_len, void *user_data);


static StunAgent  ngx_webrtc_stun_agent;
static uint64_t   ngx_webrtc_ice_tie;

static const uint16_t  ngx_webrtc_stun_known[] = {
    STUN_ATTRIBUTE_USERNAME,
    STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
    STUN_ATTRIBUTE_FINGERPRINT,
    STUN_ATTRIBUTE_PRIORITY,
    STUN_ATTRIBUTE_USE_CANDIDATE,
    STUN_ATTRIBUTE_ICE_CONTROLLED,
    STUN_ATTRIBUTE_ICE_CONTROLLING,
    STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS,
    0
};


ngx_int_t
ngx_webrtc_ice_init(ngx_log_t *log)
{
    stun_agent_init(&ngx_webrtc_stun_agent, ngx_webrtc_stun_known,
                    STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS
                    | STUN_AGENT_USAGE_USE_FINGERPRINT);

    if (RAND_bytes((u_char *) &ngx_webrtc_ice_tie, sizeof(uint64_t)) != 1) {
        ngx_log_error(NGX_LOG_EMERG, log, 0, "webrtc: RAND_bytes() failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_webrtc_ice_handle(ngx_webrtc_worker_t *w, u_char *buf, size_t len,
    struct sockaddr *sa, socklen_t socklen)
{
    bool                      control;
    size_t                    rlen;
    ngx_webrtc_ice_ctx_t      ctx;
    StunMessage               req, msg;
    StunValidationStatus      valid;
    StunUsageIceReturn        rc;
    struct sockaddr_storage   src;
    u_char                    out[1024];

    ctx.worker = w;
    ctx.session = NULL;

    valid = stun_agent_validate(&ngx_webrtc_stun_agent, &req, buf, len,
                                ngx_webrtc_ice_validate, &ctx);

    if (valid != STUN_VALIDATION_SUCCESS || ctx.session == NULL) {
        ngx_log_debug2(NGX_LOG_DEBUG_EVENT, w->log, 0,
                       "webrtc: STUN message of %uz bytes dropped: %d",
                       len, (int) valid);
        return;
    }

    if (stun_message_get_class(&req) != STUN_REQUEST
        || stun_message_get_method(&req) != STUN_BINDING)
    {
        return;
    }

    if (ctx.session->closing) {
        return;
    }

    ngx_memzero(&src, sizeof(src));
    ngx_memcpy(&src, sa, socklen);

    control = false;
    rlen = sizeof(out);

    rc = stun_usage_ice_conncheck_create_reply(&ngx_webrtc_stun_agent, &req,
                                               &msg, out, &rlen, &src,
                                               socklen, &control,
                                               ngx_webrtc_ice_tie,
                                      STUN_USAGE_ICE_COMPATIBILITY_RFC5245);

    if (rc != STUN_USAGE_ICE_RETURN_SUCCESS
        && rc != STUN_USAGE_ICE_RETURN_ROLE_CONFLICT)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, &ctx.session->log, 0,
                       "webrtc: STUN reply not built: %d", (int) rc);
        return;
    }

    if (sendto(w->udp->fd, out, rlen, 0, sa, socklen) == -1) {
        ngx_log_error(NGX_LOG_INFO, &ctx.session->log, ngx_socket_errno,
                      "webrtc: sendto() of a STUN reply failed");
    }

    if (rc == STUN_USAGE_ICE_RETURN_ROLE_CONFLICT) {
        return;
    }

    /*
     * ICE-lite: the first valid check gives a path for DTLS; a nomination
     * (USE-CANDIDATE) moves the session to the chosen pair.
     */

    if (!ctx.session->has_peer || stun_usage_ice_conncheck_use_candidate(&req))
    {
        ngx_webrtc_session_set_peer(ctx.session, sa, socklen);
    }

    if (ngx_cmp_sockaddr(sa, socklen, (struct sockaddr *) &ctx.session->peer,
                         ctx.session->peer_len, 1)
        == NGX_OK)
    {
        ngx_webrtc_session_consent(ctx.session);
    }
}


/* USERNAME is "<our ufrag>:<their ufrag>" in requests sent to us */

static bool
ngx_webrtc_ice_validate(StunAgent *agent, StunMessage *message,
    uint8_t *username, uint16_t username_len, uint8_t **password,
    size_t *password_len, void *user_data)
{
    u_char                *colon;
    ngx_webrtc_ice_ctx_t  *ctx;
    ngx_webrtc_session_t  *s;

    ctx = user_data;

    colon = ngx_strlchr(username, username + username_len, ':');
    if (colon == NULL) {
        return false;
    }

    s = ngx_webrtc_session_by_ufrag(ctx->worker, username, colon - username);
    if (s == NULL) {
        return false;
    }

    if (s->remote_ufrag.len
        && (s->remote_ufrag.len != (size_t) (username + username_len
                                              - colon - 1)
            || ngx_memcmp(s->remote_ufrag.data, colon + 1,
                          s->remote_ufrag.len)
               != 0))
    {
        return false;
    }

    ctx->session = s;

    *password = s->local_pwd;
    *password_len = NGX_WEBRTC_PWD_LEN;

    return true;
}
