
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_stun.h"

#include <stun/stunagent.h>
#include <stun/usages/ice.h>


typedef struct {
    ngx_webrtc_stun_lookup_pt   lookup;
    void                       *data;
    void                       *session;
} ngx_webrtc_stun_ctx_t;


static bool ngx_webrtc_stun_validate(StunAgent *agent, StunMessage *message,
    uint8_t *username, uint16_t username_len, uint8_t **password,
    size_t *password_len, void *user_data);


static StunAgent  ngx_webrtc_stun_agent;
static StunAgent  ngx_webrtc_stun_client;     /* our own checks */
static uint64_t   ngx_webrtc_stun_tie;

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


void
ngx_webrtc_stun_init(uint64_t tie_breaker)
{
    stun_agent_init(&ngx_webrtc_stun_agent, ngx_webrtc_stun_known,
                    STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS
                    | STUN_AGENT_USAGE_USE_FINGERPRINT);

    stun_agent_init(&ngx_webrtc_stun_client, ngx_webrtc_stun_known,
                    STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS
                    | STUN_AGENT_USAGE_USE_FINGERPRINT);

    ngx_webrtc_stun_tie = tie_breaker;
}


size_t
ngx_webrtc_stun_check_create(u_char *out, size_t size, u_char *username,
    size_t username_len, u_char *pwd, size_t pwd_len, uint32_t priority,
    int use_candidate, u_char *tid)
{
    size_t       n;
    StunMessage  msg;

    n = stun_usage_ice_conncheck_create(&ngx_webrtc_stun_client, &msg, out,
                                        size, username, username_len,
                                        pwd, pwd_len, use_candidate ? 1 : 0,
                                        1, priority, ngx_webrtc_stun_tie,
                                        NULL,
                                        STUN_USAGE_ICE_COMPATIBILITY_RFC5245);

    if (n) {
        stun_message_id(&msg, tid);
    }

    return n;
}


void
ngx_webrtc_stun_check_forget(u_char *tid)
{
    (void) stun_agent_forget_transaction(&ngx_webrtc_stun_client, tid);
}


static bool
ngx_webrtc_stun_no_request(StunAgent *agent, StunMessage *message,
    uint8_t *username, uint16_t username_len, uint8_t **password,
    size_t *password_len, void *user_data)
{
    return false;
}


int
ngx_webrtc_stun_check_response(u_char *buf, size_t len, u_char *tid)
{
    StunMessage           msg;
    StunValidationStatus  valid;

    /* the agent knows the transaction and checks with its password */

    valid = stun_agent_validate(&ngx_webrtc_stun_client, &msg, buf, len,
                                ngx_webrtc_stun_no_request, NULL);

    if (valid != STUN_VALIDATION_SUCCESS
        || stun_message_get_class(&msg) != STUN_RESPONSE
        || stun_message_get_method(&msg) != STUN_BINDING)
    {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    stun_message_id(&msg, tid);

    return NGX_WEBRTC_PARSE_OK;
}


int
ngx_webrtc_stun_process(u_char *buf, size_t len, const struct sockaddr *src,
    socklen_t src_len, ngx_webrtc_stun_lookup_pt lookup, void *data,
    u_char *out, size_t *out_len, ngx_webrtc_stun_result_t *res)
{
    bool                      control;
    StunMessage               req, msg;
    StunUsageIceReturn        rc;
    StunValidationStatus      valid;
    ngx_webrtc_stun_ctx_t     ctx;
    struct sockaddr_storage   ss;

    memset(res, 0, sizeof(ngx_webrtc_stun_result_t));

    if (src_len > sizeof(ss)) {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    ctx.lookup = lookup;
    ctx.data = data;
    ctx.session = NULL;

    valid = stun_agent_validate(&ngx_webrtc_stun_agent, &req, buf, len,
                                ngx_webrtc_stun_validate, &ctx);

    if (valid != STUN_VALIDATION_SUCCESS || ctx.session == NULL) {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    if (stun_message_get_class(&req) != STUN_REQUEST
        || stun_message_get_method(&req) != STUN_BINDING)
    {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, src, src_len);

    /* an ICE-lite agent is always controlled */
    control = false;

    rc = stun_usage_ice_conncheck_create_reply(&ngx_webrtc_stun_agent, &req,
                                               &msg, out, out_len, &ss,
                                               src_len, &control,
                                               ngx_webrtc_stun_tie,
                                      STUN_USAGE_ICE_COMPATIBILITY_RFC5245);

    if (rc == STUN_USAGE_ICE_RETURN_ROLE_CONFLICT) {
        res->role_conflict = 1;

    } else if (rc != STUN_USAGE_ICE_RETURN_SUCCESS) {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    res->session = ctx.session;
    res->use_candidate = stun_usage_ice_conncheck_use_candidate(&req) ? 1 : 0;

    return NGX_WEBRTC_PARSE_OK;
}


static bool
ngx_webrtc_stun_validate(StunAgent *agent, StunMessage *message,
    uint8_t *username, uint16_t username_len, uint8_t **password,
    size_t *password_len, void *user_data)
{
    u_char                 *colon;
    ngx_webrtc_stun_ctx_t  *ctx;

    ctx = user_data;

    colon = memchr(username, ':', username_len);
    if (colon == NULL) {
        return false;
    }

    ctx->session = ctx->lookup(ctx->data, username, colon - username,
                               colon + 1, username + username_len - colon - 1,
                               password, password_len);

    return ctx->session != NULL;
}
