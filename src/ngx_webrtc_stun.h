
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_STUN_H_INCLUDED_
#define _NGX_WEBRTC_STUN_H_INCLUDED_


#include "ngx_webrtc_parse.h"

#include <sys/socket.h>


/*
 * ICE-lite connectivity checks (RFC 8445, 5389) with libnice's STUN agent,
 * kept free of nginx so that unit tests (RFC 5769 vectors) and the fuzz
 * target drive the same code as the worker.
 */


/*
 * Maps the USERNAME of a request, "<local ufrag>:<remote ufrag>", to the
 * session and its password; returns NULL for an unknown ufrag.
 */
typedef void *(*ngx_webrtc_stun_lookup_pt)(void *data, u_char *local,
    size_t local_len, u_char *remote, size_t remote_len, u_char **pwd,
    size_t *pwd_len);


/* libnice's transaction ids: the magic cookie and the 12 bytes */
#define NGX_WEBRTC_STUN_TID_LEN  16


typedef struct {
    void                       *session;      /* from the lookup */
    unsigned                    use_candidate:1;
    unsigned                    role_conflict:1;
} ngx_webrtc_stun_result_t;


void ngx_webrtc_stun_init(uint64_t tie_breaker);

/*
 * Validates a Binding request (integrity with the session's password,
 * fingerprint) and writes the success response into out (*out_len is its
 * size on input).  Returns NGX_WEBRTC_PARSE_OK with a reply to send, or
 * NGX_WEBRTC_PARSE_ERROR for anything to drop.
 */
int ngx_webrtc_stun_process(u_char *buf, size_t len,
    const struct sockaddr *src, socklen_t src_len,
    ngx_webrtc_stun_lookup_pt lookup, void *data, u_char *out,
    size_t *out_len, ngx_webrtc_stun_result_t *res);


/*
 * The controlling side, for cascading: a Binding request with USERNAME
 * "<remote ufrag>:<local ufrag>", PRIORITY, ICE-CONTROLLING,
 * USE-CANDIDATE if asked, MESSAGE-INTEGRITY with the remote password
 * (which must stay valid until the transaction is answered or
 * forgotten) and FINGERPRINT; its transaction id into tid.  Returns the
 * length, 0 on failure.  At most one transaction of a session should be
 * outstanding: forget the previous one before a new one.
 */
size_t ngx_webrtc_stun_check_create(u_char *out, size_t size,
    u_char *username, size_t username_len, u_char *pwd, size_t pwd_len,
    uint32_t priority, int use_candidate, u_char *tid);
void ngx_webrtc_stun_check_forget(u_char *tid);

/*
 * A success response to an outstanding check, its integrity verified
 * with the password the check was made with: NGX_WEBRTC_PARSE_OK and
 * its transaction id in tid.
 */
int ngx_webrtc_stun_check_response(u_char *buf, size_t len, u_char *tid);


#endif /* _NGX_WEBRTC_STUN_H_INCLUDED_ */
