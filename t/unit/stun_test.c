
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * ICE-lite checks through ngx_webrtc_stun.c with the RFC 5769 test
 * vectors: the sample request (2.1) must validate with its password and
 * get a success response carrying the requester's address; anything
 * tampered with, or with a wrong password or ufrag, must not.
 */


#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "ngx_webrtc_stun.h"

#include <stun/stunagent.h>
#include <stun/stunmessage.h>
#include <stun/usages/ice.h>

#include "tap.h"


/* RFC 5769 2.1: username "evtj:h6vY", password "VOkJxbRl1RmTxUk/WvJxBt" */
static u_char  rfc5769_request[] = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42,
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
    0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74,
    0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1,
    0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
    0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56,
    0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04,
    0xe5, 0x7a, 0x3b, 0xcf
};


typedef struct {
    const char  *ufrag;
    const char  *remote;
    const char  *pwd;
    int          session;
    int          calls;
} lookup_t;


static void *
lookup(void *data, u_char *local, size_t local_len, u_char *remote,
    size_t remote_len, u_char **pwd, size_t *pwd_len)
{
    lookup_t  *l = data;

    l->calls++;

    if (local_len != strlen(l->ufrag)
        || memcmp(local, l->ufrag, local_len) != 0
        || remote_len != strlen(l->remote)
        || memcmp(remote, l->remote, remote_len) != 0)
    {
        return NULL;
    }

    *pwd = (u_char *) l->pwd;
    *pwd_len = strlen(l->pwd);

    return &l->session;
}


static int
process(u_char *req, size_t len, lookup_t *l, u_char *out, size_t *out_len,
    ngx_webrtc_stun_result_t *res, struct sockaddr_in *src)
{
    u_char  copy[512];

    /* the agent validates in place; keep the vector intact */
    memcpy(copy, req, len);
    *out_len = 512;

    return ngx_webrtc_stun_process(copy, len, (struct sockaddr *) src,
                                   sizeof(struct sockaddr_in), lookup, l,
                                   out, out_len, res);
}


int
main(void)
{
    int                        rc;
    size_t                     out_len, i;
    size_t                     req_len;
    u_char                     out[512], bad[sizeof(rfc5769_request)];
    u_char                     req[512];
    StunAgent                  agent;
    StunMessage                msg;
    socklen_t                  alen;
    uint16_t                   plen;
    lookup_t                   l;
    struct sockaddr_in         src, *mapped;
    struct sockaddr_storage    addr;
    ngx_webrtc_stun_result_t   res;

    static const uint16_t  known[] = {
        STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
        STUN_ATTRIBUTE_FINGERPRINT, STUN_ATTRIBUTE_ICE_CONTROLLED,
        STUN_ATTRIBUTE_USERNAME, STUN_ATTRIBUTE_PRIORITY,
        STUN_ATTRIBUTE_USE_CANDIDATE, STUN_ATTRIBUTE_ICE_CONTROLLING, 0
    };

    ngx_webrtc_stun_init(0x0102030405060708ULL);

    memset(&src, 0, sizeof(src));
    src.sin_family = AF_INET;
    src.sin_port = htons(32853);
    src.sin_addr.s_addr = inet_addr("192.0.2.1");

    l.ufrag = "evtj";
    l.remote = "h6vY";
    l.pwd = "VOkJxbRl1RmTxUk/WvJxBt";
    l.calls = 0;

    rc = process(rfc5769_request, sizeof(rfc5769_request), &l, out, &out_len,
                 &res, &src);

    ok(rc == NGX_WEBRTC_PARSE_OK,
       "RFC 5769 2.1 sample request validates (integrity, fingerprint)");
    ok(res.session == &l.session, "session from the USERNAME's local ufrag");
    /*
     * The sample request says ICE-CONTROLLED, and an ICE-lite agent is
     * controlled too: RFC 8445 7.3.1.1 answers 487 (Role Conflict).
     */

    ok(res.role_conflict && !res.use_candidate,
       "ICE-CONTROLLED request to a lite agent: role conflict");
    ok(out_len >= 20 && out[0] == 0x01 && out[1] == 0x11
       && memcmp(out + 4, rfc5769_request + 4, 16) == 0,
       "role conflict gets a Binding error response, same transaction");

    /* a controlling check, as browsers send, built by libnice's agent */

    stun_agent_init(&agent, known, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS
                    | STUN_AGENT_USAGE_USE_FINGERPRINT);

    req_len = stun_usage_ice_conncheck_create(&agent, &msg, req, sizeof(req),
                                              (u_char *) "evtj:h6vY", 9,
                                              (u_char *) l.pwd,
                                              strlen(l.pwd), 1, 1,
                                              0x6e0001ff, 0x1122334455667788ULL,
                                              NULL,
                                      STUN_USAGE_ICE_COMPATIBILITY_RFC5245);

    ok(req_len > 20, "libnice builds a controlling check with USE-CANDIDATE");

    rc = process(req, req_len, &l, out, &out_len, &res, &src);

    ok(rc == NGX_WEBRTC_PARSE_OK && res.use_candidate && !res.role_conflict,
       "controlling check validates, nominates");
    ok(out_len >= 20 && out[0] == 0x01 && out[1] == 0x01
       && memcmp(out + 4, req + 4, 16) == 0,
       "reply is a Binding success response for the same transaction");

    msg.buffer = out;
    msg.buffer_len = out_len;
    msg.agent = &agent;
    msg.key = NULL;
    msg.key_len = 0;

    alen = sizeof(addr);

    ok(stun_message_find_xor_addr(&msg, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS,
                                  &addr, &alen)
       == STUN_MESSAGE_RETURN_SUCCESS
       && addr.ss_family == AF_INET,
       "reply has an IPv4 XOR-MAPPED-ADDRESS");

    mapped = (struct sockaddr_in *) &addr;

    ok(mapped->sin_port == htons(32853)
       && mapped->sin_addr.s_addr == inet_addr("192.0.2.1"),
       "XOR-MAPPED-ADDRESS is the source, 192.0.2.1:32853");

    ok(stun_message_find(&msg, STUN_ATTRIBUTE_MESSAGE_INTEGRITY, &plen) != NULL
       && plen == 20
       && stun_message_find(&msg, STUN_ATTRIBUTE_FINGERPRINT, &plen) != NULL
       && plen == 4,
       "reply carries MESSAGE-INTEGRITY and FINGERPRINT");

    /* failures */

    l.pwd = "VOkJxbRl1RmTxUk/WvJxBT";
    rc = process(rfc5769_request, sizeof(rfc5769_request), &l, out, &out_len,
                 &res, &src);
    ok(rc == NGX_WEBRTC_PARSE_ERROR, "wrong password: dropped");
    l.pwd = "VOkJxbRl1RmTxUk/WvJxBt";

    l.ufrag = "evtk";
    rc = process(rfc5769_request, sizeof(rfc5769_request), &l, out, &out_len,
                 &res, &src);
    ok(rc == NGX_WEBRTC_PARSE_ERROR && res.session == NULL,
       "unknown ufrag: dropped");
    l.ufrag = "evtj";

    l.remote = "h6vZ";
    rc = process(rfc5769_request, sizeof(rfc5769_request), &l, out, &out_len,
                 &res, &src);
    ok(rc == NGX_WEBRTC_PARSE_ERROR, "wrong remote ufrag: dropped");
    l.remote = "h6vY";

    /* every single-bit flip outside the padding must be refused */

    {
        int  accepted = 0;

        for (i = 0; i < sizeof(rfc5769_request) * 8; i++) {
            memcpy(bad, rfc5769_request, sizeof(bad));
            bad[i / 8] ^= (u_char) (1 << (i % 8));

            /* USERNAME's padding (bytes 73..75) is not covered */
            if (i / 8 >= 73 && i / 8 <= 75) {
                continue;
            }

            if (process(bad, sizeof(bad), &l, out, &out_len, &res, &src)
                == NGX_WEBRTC_PARSE_OK)
            {
                accepted++;
            }
        }

        ok(accepted == 0, "no bit flip of the request is accepted (%d were)",
           accepted);
    }

    {
        int  accepted = 0;

        for (i = 0; i < sizeof(rfc5769_request); i++) {
            if (process(rfc5769_request, i, &l, out, &out_len, &res, &src)
                == NGX_WEBRTC_PARSE_OK)
            {
                accepted++;
            }
        }

        ok(accepted == 0, "no truncation of the request is accepted");
    }

    /* a response or an indication is never answered */

    memcpy(bad, rfc5769_request, sizeof(bad));
    bad[1] = 0x11;
    ok(process(bad, sizeof(bad), &l, out, &out_len, &res, &src)
       == NGX_WEBRTC_PARSE_ERROR, "indication class: dropped");

    /* the controlling side (cascading): our check answered by our server */

    {
        u_char    chk[256], reply[512], tid[NGX_WEBRTC_STUN_TID_LEN],
                  tid2[NGX_WEBRTC_STUN_TID_LEN];
        size_t    n, rn;
        lookup_t  o = { "orig", "edge1234", "0123456789abcdefghijklmn",
                        0, 0 };

        memset(tid, 0xee, sizeof(tid));

        n = ngx_webrtc_stun_check_create(chk, sizeof(chk),
                                         (u_char *) "orig:edge1234", 13,
                                         (u_char *) o.pwd, 24, 0x7effffff,
                                         1, tid);
        ok(n > 20 && chk[0] == 0x00 && chk[1] == 0x01,
           "check created: a Binding request of %zu bytes", n);

        rn = sizeof(reply);
        ok(ngx_webrtc_stun_process(chk, n, (struct sockaddr *) &src,
                                   sizeof(src), lookup, &o, reply, &rn,
                                   &res)
           == NGX_WEBRTC_PARSE_OK && res.use_candidate && !res.role_conflict,
           "the check is valid for an ICE-lite server, USE-CANDIDATE, "
           "no role conflict");

        reply[rn - 1] ^= 1;
        ok(ngx_webrtc_stun_check_response(reply, rn, tid2)
           == NGX_WEBRTC_PARSE_ERROR, "a corrupted response is refused");
        reply[rn - 1] ^= 1;

        ok(ngx_webrtc_stun_check_response(reply, rn, tid2)
           == NGX_WEBRTC_PARSE_OK
           && memcmp(tid, tid2, NGX_WEBRTC_STUN_TID_LEN) == 0,
           "its response is accepted, same transaction");

        ok(ngx_webrtc_stun_check_response(reply, rn, tid2)
           == NGX_WEBRTC_PARSE_ERROR, "the same response again is refused");

        n = ngx_webrtc_stun_check_create(chk, sizeof(chk),
                                         (u_char *) "orig:edge1234", 13,
                                         (u_char *) o.pwd, 24, 0x7effffff,
                                         1, tid);
        ngx_webrtc_stun_check_forget(tid);
        rn = sizeof(reply);
        (void) ngx_webrtc_stun_process(chk, n, (struct sockaddr *) &src,
                                       sizeof(src), lookup, &o, reply, &rn,
                                       &res);
        ok(ngx_webrtc_stun_check_response(reply, rn, tid2)
           == NGX_WEBRTC_PARSE_ERROR,
           "the response to a forgotten check is refused");
    }

    return done_testing();
}
