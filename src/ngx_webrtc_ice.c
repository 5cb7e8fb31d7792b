
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_ice.h"
#include "ngx_webrtc_stun.h"

#include <openssl/rand.h>


/*
 * ICE-lite: the server answers connectivity checks on the worker's
 * socket and never sends its own.  A valid check names the session by
 * the local ufrag in USERNAME.  Consent: a session whose peer stops
 * sending valid checks for webrtc_consent_timeout has lost it.
 */


static ngx_int_t ngx_webrtc_ice_transaction(ngx_webrtc_ice_check_t *chk,
    u_char *tid, struct sockaddr *sa, socklen_t socklen);
static void *ngx_webrtc_ice_lookup(void *data, u_char *local,
    size_t local_len, u_char *remote, size_t remote_len, u_char **pwd,
    size_t *pwd_len);


static u_char  ngx_webrtc_ice_reply[NGX_WEBRTC_ICE_REPLY_MAX];


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


/* ufrag and password from UFRAG_LEN + PWD_LEN random bytes */

void
ngx_webrtc_ice_create(ngx_webrtc_ice_t *ice, u_char *rnd)
{
    ngx_webrtc_ice_credentials(ice->local_ufrag, ice->local_pwd, rnd);

    ice->last_consent = ngx_current_msec;
}


void
ngx_webrtc_ice_credentials(u_char *ufrag, u_char *pwd, u_char *rnd)
{
    ngx_uint_t  i;

    static u_char  alphabet[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";

    for (i = 0; i < NGX_WEBRTC_UFRAG_LEN; i++) {
        ufrag[i] = alphabet[rnd[i] & 63];
    }

    rnd += NGX_WEBRTC_UFRAG_LEN;

    for (i = 0; i < NGX_WEBRTC_PWD_LEN; i++) {
        pwd[i] = alphabet[rnd[i] & 63];
    }
}


/*
 * An ICE restart (RFC 8445 9): both sides' new credentials.  The old
 * ufrag stops authenticating at once, without a grace: a client sends
 * its checks with the new ones only after it has read them in the PATCH
 * response, and until then its consent checks on the old path may fail
 * for a moment, far within webrtc_consent_timeout (10 s at least).  The
 * first nomination after the restart may move the path at once: a
 * restart is a path change.  remote_buf has NGX_WEBRTC_ICE_UFRAG_MAX
 * bytes, remote_len is at most that.
 */

void
ngx_webrtc_ice_restart(ngx_webrtc_ice_t *ice, u_char *ufrag, u_char *pwd,
    u_char *remote, size_t remote_len)
{
    ngx_memcpy(ice->local_ufrag, ufrag, NGX_WEBRTC_UFRAG_LEN);
    ngx_memcpy(ice->local_pwd, pwd, NGX_WEBRTC_PWD_LEN);

    ngx_memcpy(ice->remote_buf, remote, remote_len);
    ice->remote_ufrag.data = ice->remote_buf;
    ice->remote_ufrag.len = remote_len;

    ice->restarts++;
    ice->restarted = 1;
}


/*
 * A Binding request: NGX_OK with the success response to send back and
 * the session it is for in chk, NGX_DECLINED for anything to drop.
 */

ngx_int_t
ngx_webrtc_ice_input(u_char *buf, size_t len, struct sockaddr *sa,
    socklen_t socklen, ngx_webrtc_ice_lookup_pt lookup,
    ngx_webrtc_ice_check_t *chk)
{
    ngx_webrtc_stun_result_t  res;

    chk->reply = ngx_webrtc_ice_reply;
    chk->reply_len = sizeof(ngx_webrtc_ice_reply);

    if (ngx_webrtc_stun_process(buf, len, sa, socklen, ngx_webrtc_ice_lookup,
                                (void *) lookup, chk->reply, &chk->reply_len,
                                &res)
        != NGX_WEBRTC_PARSE_OK)
    {
        return NGX_DECLINED;
    }

    chk->ice = res.session;
    chk->use_candidate = res.use_candidate;
    chk->role_conflict = res.role_conflict;

    return ngx_webrtc_ice_transaction(chk, buf + 8, sa, socklen);
}


/*
 * A transaction id is used once: the same check again from its source is
 * a retransmission (answered, changes nothing), from anywhere else a
 * replay (dropped), so that a captured check cannot move the session.
 */

static ngx_int_t
ngx_webrtc_ice_transaction(ngx_webrtc_ice_check_t *chk, u_char *tid,
    struct sockaddr *sa, socklen_t socklen)
{
    uint32_t               addr;
    ngx_uint_t             i;
    ngx_webrtc_ice_t      *ice;
    ngx_webrtc_ice_tid_t  *t;

    ice = chk->ice;
    addr = ngx_crc32_short((u_char *) sa, socklen);

    for (i = 0; i < NGX_WEBRTC_ICE_TIDS; i++) {
        t = &ice->tids[i];

        if (ngx_memcmp(t->tid, tid, 12) == 0) {
            if (t->addr != addr) {
                return NGX_DECLINED;
            }

            chk->retransmit = 1;
            return NGX_OK;
        }
    }

    t = &ice->tids[ice->ntids++ % NGX_WEBRTC_ICE_TIDS];
    ngx_memcpy(t->tid, tid, 12);
    t->addr = addr;

    chk->retransmit = 0;

    return NGX_OK;
}


static void *
ngx_webrtc_ice_lookup(void *data, u_char *local, size_t local_len,
    u_char *remote, size_t remote_len, u_char **pwd, size_t *pwd_len)
{
    ngx_webrtc_ice_t          *ice;
    ngx_webrtc_ice_lookup_pt   lookup;

    lookup = (ngx_webrtc_ice_lookup_pt) data;

    ice = lookup(local, local_len);
    if (ice == NULL) {
        return NULL;
    }

    /* the bundle transport's ufrag from the offer */
    if (ice->remote_ufrag.len
        && (ice->remote_ufrag.len != remote_len
            || ngx_memcmp(ice->remote_ufrag.data, remote, remote_len) != 0))
    {
        return NULL;
    }

    *pwd = ice->local_pwd;
    *pwd_len = NGX_WEBRTC_PWD_LEN;

    return ice;
}


void
ngx_webrtc_ice_consent(ngx_webrtc_ice_t *ice)
{
    ice->last_consent = ngx_current_msec;
}


/*
 * An alert record to a session that released its SSL cannot be checked:
 * the peer's close_notify, or a forgery.  The session then ends unless
 * the peer shows it is alive (an ICE consent check or an SRTCP packet,
 * both authenticated; browsers send them every second or two) within
 * NGX_WEBRTC_ALERT_GRACE: a forged alert cannot end a live session.
 * NGX_OK: the consent timer was set to the grace.
 */

ngx_int_t
ngx_webrtc_ice_alert(ngx_webrtc_ice_t *ice)
{
    if (ice->alert) {
        return NGX_DECLINED;
    }

    ice->alert = 1;
    ice->alert_time = ngx_current_msec;

    if (ice->consent_timer.timer_set) {
        ngx_del_timer(&ice->consent_timer);
    }

    ngx_add_timer(&ice->consent_timer, NGX_WEBRTC_ALERT_GRACE);

    return NGX_OK;
}


/*
 * The consent timer fired: NGX_OK with the timer set again, or
 * NGX_DECLINED with the reason the session lost its consent.
 */

ngx_int_t
ngx_webrtc_ice_consent_check(ngx_webrtc_ice_t *ice, ngx_msec_t timeout,
    ngx_msec_t last_rx, const char **reason)
{
    ngx_msec_t  idle;

    if (ice->alert) {
        ice->alert = 0;

        if ((ngx_msec_int_t) (ice->last_consent - ice->alert_time) <= 0
            && (ngx_msec_int_t) (last_rx - ice->alert_time) <= 0)
        {
            *reason = "DTLS closed by peer";
            return NGX_DECLINED;
        }
    }

    idle = ngx_current_msec - ice->last_consent;

    if (idle >= timeout) {
        ngx_log_error(NGX_LOG_INFO, ice->consent_timer.log, 0,
                      "webrtc: no ICE consent for %Mms", idle);
        *reason = "consent expired";
        return NGX_DECLINED;
    }

    ngx_add_timer(&ice->consent_timer, timeout - idle);

    return NGX_OK;
}
