
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_sctp.h"
#include "ngx_webrtc_dcep.h"

#include <usrsctp.h>


/*
 * usrsctp with no threads of its own: packets in through
 * usrsctp_conninput(), out through the owner's DTLS, timers driven by one
 * nginx timer while associations exist.  Channels are opened by the peer
 * (DCEP OPEN, answered with ACK) or by the server, on odd stream ids, for
 * a label the peer has not opened.
 */


#define NGX_WEBRTC_SCTP_PORT      5000
#define NGX_WEBRTC_SCTP_TICK      10
#define NGX_WEBRTC_MAX_CHANNELS   16


struct ngx_webrtc_channel_s {
    uint16_t                    sid;
    uint8_t                     type;
    uint32_t                    reliability;
    u_char                      label[NGX_WEBRTC_LABEL_MAX];
    size_t                      label_len;
    unsigned                    used:1;
};


static int ngx_webrtc_sctp_output(void *addr, void *buf, size_t length,
    uint8_t tos, uint8_t set_df);
static int ngx_webrtc_sctp_receive(struct socket *sock,
    union sctp_sockstore addr, void *data, size_t datalen,
    struct sctp_rcvinfo rcv, int flags, void *ulp_info);
static void ngx_webrtc_sctp_message(ngx_webrtc_sctp_t *sctp, uint16_t sid,
    uint32_t ppid, u_char *data, size_t len);
static void ngx_webrtc_sctp_notification(ngx_webrtc_sctp_t *sctp,
    u_char *data, size_t len);
static ngx_int_t ngx_webrtc_sctp_send_channel(ngx_webrtc_sctp_t *sctp,
    ngx_webrtc_channel_t *ch, uint32_t ppid, u_char *data, size_t len);
static ngx_webrtc_channel_t *ngx_webrtc_channel_find(ngx_webrtc_sctp_t *sctp,
    uint16_t sid);
static ngx_webrtc_channel_t *ngx_webrtc_channel_by_label(
    ngx_webrtc_sctp_t *sctp, u_char *label, size_t len);
static void ngx_webrtc_sctp_timer_handler(ngx_event_t *ev);


static ngx_uint_t   ngx_webrtc_sctp_initialized;
static ngx_event_t  ngx_webrtc_sctp_timer;
static ngx_msec_t   ngx_webrtc_sctp_time;
static ngx_uint_t   ngx_webrtc_sctp_count;


void
ngx_webrtc_sctp_init(ngx_log_t *log)
{
    ngx_webrtc_sctp_timer.handler = ngx_webrtc_sctp_timer_handler;
    ngx_webrtc_sctp_timer.data = ngx_webrtc_worker;
    ngx_webrtc_sctp_timer.log = log;
    ngx_webrtc_sctp_timer.cancelable = 1;

    if (!ngx_webrtc_sctp_initialized) {
        usrsctp_init_nothreads(0, ngx_webrtc_sctp_output, NULL);

        /* WebRTC peers do not use ECN over DTLS; keep the stack quiet */
        usrsctp_sysctl_set_sctp_ecn_enable(0);
        usrsctp_sysctl_set_sctp_blackhole(2);

        ngx_webrtc_sctp_initialized = 1;
    }
}


/* DTLS is up and the offer had an application m-section */

ngx_int_t
ngx_webrtc_sctp_start(ngx_webrtc_sctp_t *sctp, size_t sndbuf)
{
    int                          on;
    struct linger                l;
    struct socket               *sock;
    struct sctp_event            ev;
    struct sctp_initmsg          init;
    struct sockaddr_conn         sconn;
    struct sctp_assoc_value      av;

    static uint16_t  events[] = {
        SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT
    };

    sctp->channels = ngx_pcalloc(sctp->pool, NGX_WEBRTC_MAX_CHANNELS
                                       * sizeof(ngx_webrtc_channel_t));
    if (sctp->channels == NULL) {
        return NGX_ERROR;
    }

    /* RFC 8832 6: the DTLS server opens odd streams, the client even */
    sctp->next_sid = sctp->client ? 0 : 1;

    usrsctp_register_address(sctp);

    sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP,
                          ngx_webrtc_sctp_receive, NULL, 0, sctp);
    if (sock == NULL) {
        ngx_log_error(NGX_LOG_ERR, sctp->log, ngx_errno,
                      "webrtc: usrsctp_socket() failed");
        usrsctp_deregister_address(sctp);
        return NGX_ERROR;
    }

    sctp->sock = sock;

    if (usrsctp_set_non_blocking(sock, 1) != 0) {
        goto failed;
    }

    l.l_onoff = 1;
    l.l_linger = 0;
    (void) usrsctp_setsockopt(sock, SOL_SOCKET, SO_LINGER, &l, sizeof(l));

    on = 1;
    (void) usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_NODELAY, &on,
                              sizeof(on));

    /* webrtc_data_max_buffered: beyond it sends fail and are counted */
    on = (int) sndbuf;
    (void) usrsctp_setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &on, sizeof(on));

    av.assoc_id = SCTP_ALL_ASSOC;
    av.assoc_value = SCTP_ENABLE_RESET_STREAM_REQ;
    (void) usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET,
                              &av, sizeof(av));

    ngx_memzero(&init, sizeof(init));
    init.sinit_num_ostreams = 1024;
    init.sinit_max_instreams = 1024;
    (void) usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_INITMSG, &init,
                              sizeof(init));

    for (on = 0; on < (int) (sizeof(events) / sizeof(events[0])); on++) {
        ngx_memzero(&ev, sizeof(ev));
        ev.se_assoc_id = SCTP_ALL_ASSOC;
        ev.se_type = events[on];
        ev.se_on = 1;
        (void) usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_EVENT, &ev,
                                  sizeof(ev));
    }

    ngx_memzero(&sconn, sizeof(sconn));
    sconn.sconn_family = AF_CONN;
    sconn.sconn_port = htons(NGX_WEBRTC_SCTP_PORT);
    sconn.sconn_addr = sctp;

    if (usrsctp_bind(sock, (struct sockaddr *) &sconn, sizeof(sconn)) != 0) {
        ngx_log_error(NGX_LOG_ERR, sctp->log, ngx_errno,
                      "webrtc: usrsctp_bind() failed");
        goto failed;
    }

    sconn.sconn_port = htons((uint16_t) sctp->port);

    if (usrsctp_connect(sock, (struct sockaddr *) &sconn, sizeof(sconn)) != 0
        && ngx_errno != EINPROGRESS)
    {
        ngx_log_error(NGX_LOG_ERR, sctp->log, ngx_errno,
                      "webrtc: usrsctp_connect() failed");
        goto failed;
    }

    if (ngx_webrtc_sctp_count++ == 0) {
        ngx_webrtc_sctp_time = ngx_current_msec;
        ngx_add_timer(&ngx_webrtc_sctp_timer, NGX_WEBRTC_SCTP_TICK);
    }

    return NGX_OK;

failed:

    usrsctp_close(sock);
    usrsctp_deregister_address(sctp);
    sctp->sock = NULL;

    return NGX_ERROR;
}


void
ngx_webrtc_sctp_close(ngx_webrtc_sctp_t *sctp)
{
    sctp->closing = 1;

    if (sctp->sock == NULL) {
        return;
    }

    usrsctp_close(sctp->sock);
    usrsctp_deregister_address(sctp);
    sctp->sock = NULL;

    if (--ngx_webrtc_sctp_count == 0 && ngx_webrtc_sctp_timer.timer_set) {
        ngx_del_timer(&ngx_webrtc_sctp_timer);
    }

    if (sctp->reasm) {
        ngx_free(sctp->reasm);
        sctp->reasm = NULL;
    }
}


void
ngx_webrtc_sctp_input(ngx_webrtc_sctp_t *sctp, u_char *buf, size_t len)
{
    if (sctp->sock) {
        usrsctp_conninput(sctp, buf, len, 0);
    }
}


/*
 * A message to the peer on the channel of its label (opened if need be):
 * NGX_DECLINED when it cannot go (too large for the peer, no channel, a
 * full send buffer: the peer is slow).
 */

ngx_int_t
ngx_webrtc_sctp_send(ngx_webrtc_sctp_t *sctp, ngx_str_t *label,
    ngx_uint_t binary, u_char *data, size_t len)
{
    ngx_webrtc_channel_t  *ch;

    if (len > sctp->max_message) {
        return NGX_DECLINED;
    }

    ch = ngx_webrtc_channel_by_label(sctp, label->data, label->len);
    if (ch == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_webrtc_sctp_send_channel(sctp, ch,
                                     ngx_webrtc_dc_ppid(binary, len),
                                     data, len)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* SCTP packets out through the owner's DTLS: each is one record */

static int
ngx_webrtc_sctp_output(void *addr, void *buf, size_t length, uint8_t tos,
    uint8_t set_df)
{
    ngx_webrtc_sctp_t  *sctp;

    sctp = addr;

    if (sctp == NULL || sctp->closing) {
        return -1;
    }

    return (sctp->output(sctp->output_data, buf, length) == NGX_OK) ? 0 : -1;
}


static void
ngx_webrtc_sctp_timer_handler(ngx_event_t *ev)
{
    ngx_msec_t  now;

    now = ngx_current_msec;

    usrsctp_handle_timers((uint32_t) (now - ngx_webrtc_sctp_time));
    ngx_webrtc_sctp_time = now;

    if (ngx_webrtc_sctp_count) {
        ngx_add_timer(&ngx_webrtc_sctp_timer, NGX_WEBRTC_SCTP_TICK);
    }
}


/* called by usrsctp from inside usrsctp_conninput() and its timers */

static int
ngx_webrtc_sctp_receive(struct socket *sock, union sctp_sockstore addr,
    void *data, size_t datalen, struct sctp_rcvinfo rcv, int flags,
    void *ulp_info)
{
    u_char                *p;
    size_t                 max;
    ngx_webrtc_sctp_t     *sctp;

    sctp = ulp_info;

    if (data == NULL) {
        return 1;
    }

    if (sctp == NULL || sctp->closing) {
        free(data);
        return 1;
    }

    if (flags & MSG_NOTIFICATION) {
        ngx_webrtc_sctp_notification(sctp, data, datalen);
        free(data);
        return 1;
    }

    max = sctp->max_message + 1;

    if (!(flags & MSG_EOR) || sctp->reasm_len) {
        /* a message in parts: gather it, up to the size limit */

        if (sctp->reasm == NULL) {
            sctp->reasm = ngx_alloc(max, sctp->log);
            if (sctp->reasm == NULL) {
                free(data);
                return 1;
            }
        }

        if (sctp->reasm_len + datalen <= max) {
            ngx_memcpy(sctp->reasm + sctp->reasm_len, data, datalen);
        }

        sctp->reasm_len += datalen;
        free(data);

        if (!(flags & MSG_EOR)) {
            return 1;
        }

        p = sctp->reasm;
        datalen = sctp->reasm_len;
        sctp->reasm_len = 0;

        if (datalen > max) {
            sctp->stats->dc_dropped++;
            ngx_log_error(NGX_LOG_INFO, sctp->log, 0,
                          "webrtc: data channel message of %uz bytes "
                          "dropped: over %uz", datalen, sctp->max_message);
            return 1;
        }

        ngx_webrtc_sctp_message(sctp, rcv.rcv_sid, ntohl(rcv.rcv_ppid), p,
                                datalen);
        return 1;
    }

    ngx_webrtc_sctp_message(sctp, rcv.rcv_sid, ntohl(rcv.rcv_ppid), data,
                            datalen);
    free(data);

    return 1;
}


static void
ngx_webrtc_sctp_notification(ngx_webrtc_sctp_t *sctp, u_char *data,
    size_t len)
{
    ngx_uint_t                        i, n;
    union sctp_notification          *sn;
    struct sctp_stream_reset_event   *srs;
    ngx_webrtc_channel_t             *ch;

    sn = (union sctp_notification *) data;

    if (len < sizeof(sn->sn_header)) {
        return;
    }

    switch (sn->sn_header.sn_type) {

    case SCTP_ASSOC_CHANGE:
        if (sn->sn_assoc_change.sac_state == SCTP_COMM_UP) {
            ngx_log_error(NGX_LOG_INFO, sctp->log, 0,
                          "webrtc: SCTP association up");
        }

        break;

    case SCTP_STREAM_RESET_EVENT:
        /* the peer closed channels: their streams are reset */
        srs = &sn->sn_strreset_event;

        if (!(srs->strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN)
            || len < sizeof(struct sctp_stream_reset_event))
        {
            break;
        }

        n = (srs->strreset_length - sizeof(struct sctp_stream_reset_event))
            / sizeof(uint16_t);

        for (i = 0; i < n; i++) {
            if (sizeof(struct sctp_stream_reset_event) + (i + 1) * 2 > len) {
                break;
            }

            ch = ngx_webrtc_channel_find(sctp, srs->strreset_stream_list[i]);

            if (ch) {
                ch->used = 0;
                sctp->stats->channels--;
            }
        }

        break;
    }
}


static void
ngx_webrtc_sctp_message(ngx_webrtc_sctp_t *sctp, uint16_t sid, uint32_t ppid,
    u_char *data, size_t len)
{
    int                    kind;
    ngx_str_t              label;
    ngx_uint_t             i;
    ngx_webrtc_dcep_t      d;
    ngx_webrtc_channel_t  *ch;
    u_char                 ack[4];

    if (ppid == NGX_WEBRTC_PPID_DCEP) {

        if (ngx_webrtc_dcep_parse(&d, data, len) != NGX_WEBRTC_PARSE_OK) {
            ngx_log_error(NGX_LOG_INFO, sctp->log, 0,
                          "webrtc: invalid DCEP message dropped");
            return;
        }

        if (d.type == NGX_WEBRTC_DCEP_ACK) {
            return;
        }

        /* DATA_CHANNEL_OPEN */

        ch = ngx_webrtc_channel_find(sctp, sid);

        if (ch == NULL) {
            for (i = 0; i < NGX_WEBRTC_MAX_CHANNELS; i++) {
                if (!sctp->channels[i].used) {
                    ch = &sctp->channels[i];
                    break;
                }
            }

            if (ch == NULL) {
                ngx_log_error(NGX_LOG_INFO, sctp->log, 0,
                              "webrtc: too many data channels");
                return;
            }

            sctp->stats->channels++;
        }

        ch->used = 1;
        ch->sid = sid;
        ch->type = d.channel_type;
        ch->reliability = d.reliability;
        ch->label_len = ngx_min(d.label.len, NGX_WEBRTC_LABEL_MAX);
        ngx_memcpy(ch->label, d.label.data, ch->label_len);

        ngx_log_error(NGX_LOG_INFO, sctp->log, 0,
                      "webrtc: data channel \"%*s\" opened on stream %ui",
                      ch->label_len, ch->label, (ngx_uint_t) sid);

        (void) ngx_webrtc_sctp_send_channel(sctp, ch, NGX_WEBRTC_PPID_DCEP, ack,
                                    ngx_webrtc_dcep_write_ack(ack,
                                                              sizeof(ack)));
        return;
    }

    kind = ngx_webrtc_dc_kind(ppid);
    ch = ngx_webrtc_channel_find(sctp, sid);

    if (kind < 0 || ch == NULL) {
        return;
    }

    if (ppid == NGX_WEBRTC_PPID_STRING_EMPTY
        || ppid == NGX_WEBRTC_PPID_BINARY_EMPTY)
    {
        len = 0;
    }

    label.data = ch->label;
    label.len = ch->label_len;

    sctp->message(sctp->data, &label, kind, data, len);
}


static ngx_webrtc_channel_t *
ngx_webrtc_channel_find(ngx_webrtc_sctp_t *sctp, uint16_t sid)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_WEBRTC_MAX_CHANNELS; i++) {
        if (sctp->channels[i].used && sctp->channels[i].sid == sid) {
            return &sctp->channels[i];
        }
    }

    return NULL;
}


static ngx_webrtc_channel_t *
ngx_webrtc_channel_by_label(ngx_webrtc_sctp_t *sctp, u_char *label,
    size_t len)
{
    size_t                 n;
    ngx_str_t              l, proto;
    ngx_uint_t             i;
    ngx_webrtc_channel_t  *ch;
    u_char                 open[16 + NGX_WEBRTC_LABEL_MAX];

    for (i = 0; i < NGX_WEBRTC_MAX_CHANNELS; i++) {
        ch = &sctp->channels[i];

        if (ch->used && ch->label_len == len
            && ngx_memcmp(ch->label, label, len) == 0)
        {
            return ch;
        }
    }

    /* none of that name: the server opens one (an odd stream id) */

    for (i = 0; i < NGX_WEBRTC_MAX_CHANNELS; i++) {
        if (!sctp->channels[i].used) {
            break;
        }
    }

    if (i == NGX_WEBRTC_MAX_CHANNELS || sctp->next_sid > 1023) {
        return NULL;
    }

    /* a peer may use odd ids too (aiortc picks them by its ICE role) */
    while (ngx_webrtc_channel_find(sctp, sctp->next_sid) != NULL) {
        sctp->next_sid += 2;
    }

    if (sctp->next_sid > 1023) {
        return NULL;
    }

    ch = &sctp->channels[i];
    ch->used = 1;
    ch->sid = sctp->next_sid;
    ch->type = 0;
    ch->reliability = 0;
    ch->label_len = ngx_min(len, NGX_WEBRTC_LABEL_MAX);
    ngx_memcpy(ch->label, label, ch->label_len);

    sctp->next_sid += 2;

    l.data = ch->label;
    l.len = ch->label_len;
    ngx_str_null(&proto);

    n = ngx_webrtc_dcep_write_open(open, sizeof(open), 0, 0, 0,
                                   (ngx_webrtc_str_t *) &l,
                                   (ngx_webrtc_str_t *) &proto);

    if (n == 0
        || ngx_webrtc_sctp_send_channel(sctp, ch, NGX_WEBRTC_PPID_DCEP, open, n)
           != NGX_OK)
    {
        ch->used = 0;
        return NULL;
    }

    sctp->stats->channels++;

    return ch;
}


static ngx_int_t
ngx_webrtc_sctp_send_channel(ngx_webrtc_sctp_t *sctp, ngx_webrtc_channel_t *ch,
    uint32_t ppid, u_char *data, size_t len)
{
    ssize_t                 n;
    struct sctp_sendv_spa   spa;
    u_char                  zero;

    if (sctp->sock == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(&spa, sizeof(spa));

    spa.sendv_sndinfo.snd_sid = ch->sid;
    spa.sendv_sndinfo.snd_ppid = htonl(ppid);
    spa.sendv_sndinfo.snd_flags = SCTP_EOR;
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;

    if (ppid != NGX_WEBRTC_PPID_DCEP) {
        if (!ngx_webrtc_dcep_ordered(ch->type)) {
            spa.sendv_sndinfo.snd_flags |= SCTP_UNORDERED;
        }

        if (ngx_webrtc_dcep_rexmit(ch->type)) {
            spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_RTX;
            spa.sendv_prinfo.pr_value = ch->reliability;
            spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;

        } else if (ngx_webrtc_dcep_timed(ch->type)) {
            spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_TTL;
            spa.sendv_prinfo.pr_value = ch->reliability;
            spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
        }
    }

    if (len == 0) {
        /* an empty message is one zero byte with the "empty" PPID */
        zero = 0;
        data = &zero;
        len = 1;
    }

    n = usrsctp_sendv(sctp->sock, data, len, NULL, 0, &spa, sizeof(spa),
                      SCTP_SENDV_SPA, 0);

    if (n < 0) {
        return NGX_ERROR;
    }

    return NGX_OK;
}
