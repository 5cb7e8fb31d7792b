
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc.h"
#include "ngx_webrtc_dcep.h"

#include <usrsctp.h>


/*
 * Data channels: SCTP (usrsctp, no threads of its own, AF_CONN over our
 * DTLS) and DCEP (RFC 8832) per session; a stream's messages go through
 * a byte ring in shared memory, written by whoever sends (publisher,
 * viewer, HTTP POST) under the zone's lock and read by every worker's
 * sessions and event-stream requests on the wake-ups the media ring uses.
 */


#define NGX_WEBRTC_SCTP_PORT      5000
#define NGX_WEBRTC_SCTP_TICK      10
#define NGX_WEBRTC_DRING_MASK     (NGX_WEBRTC_DRING_SIZE - 1)


typedef struct ngx_webrtc_channel_s {
    uint16_t                    sid;
    uint8_t                     type;
    uint32_t                    reliability;
    u_char                      label[NGX_WEBRTC_LABEL_MAX];
    size_t                      label_len;
    unsigned                    used:1;
} ngx_webrtc_channel_t;


static int ngx_webrtc_sctp_output(void *addr, void *buf, size_t length,
    uint8_t tos, uint8_t set_df);
static int ngx_webrtc_sctp_receive(struct socket *sock,
    union sctp_sockstore addr, void *data, size_t datalen,
    struct sctp_rcvinfo rcv, int flags, void *ulp_info);
static void ngx_webrtc_sctp_message(ngx_webrtc_session_t *s, uint16_t sid,
    uint32_t ppid, u_char *data, size_t len);
static void ngx_webrtc_sctp_notification(ngx_webrtc_session_t *s,
    u_char *data, size_t len);
static ngx_int_t ngx_webrtc_sctp_send(ngx_webrtc_session_t *s,
    ngx_webrtc_channel_t *ch, uint32_t ppid, u_char *data, size_t len);
static ngx_webrtc_channel_t *ngx_webrtc_channel_find(ngx_webrtc_session_t *s,
    uint16_t sid);
static ngx_webrtc_channel_t *ngx_webrtc_channel_by_label(
    ngx_webrtc_session_t *s, u_char *label, size_t len);
static void ngx_webrtc_sctp_timer_handler(ngx_event_t *ev);
static void ngx_webrtc_data_deliver(ngx_webrtc_session_t *s);
static void ngx_webrtc_data_event_handler(ngx_event_t *ev);


static ngx_uint_t  ngx_webrtc_sctp_initialized;


ngx_int_t
ngx_webrtc_data_init(ngx_webrtc_worker_t *w)
{
    ngx_queue_init(&w->data_sessions);
    ngx_queue_init(&w->sse);

    w->sctp_timer.handler = ngx_webrtc_sctp_timer_handler;
    w->sctp_timer.data = w;
    w->sctp_timer.log = w->log;
    w->sctp_timer.cancelable = 1;

    w->data_event.handler = ngx_webrtc_data_event_handler;
    w->data_event.data = w;
    w->data_event.log = w->log;

    if (!ngx_webrtc_sctp_initialized) {
        usrsctp_init_nothreads(0, ngx_webrtc_sctp_output, NULL);

        /* WebRTC peers do not use ECN over DTLS; keep the stack quiet */
        usrsctp_sysctl_set_sctp_ecn_enable(0);
        usrsctp_sysctl_set_sctp_blackhole(2);

        ngx_webrtc_sctp_initialized = 1;
    }

    return NGX_OK;
}


/* DTLS is up and the offer had an application m-section */

ngx_int_t
ngx_webrtc_sctp_start(ngx_webrtc_session_t *s)
{
    int                          on;
    struct linger                l;
    struct socket               *sock;
    struct sctp_event            ev;
    struct sctp_initmsg          init;
    struct sockaddr_conn         sconn;
    struct sctp_assoc_value      av;
    ngx_webrtc_worker_t         *w;

    static uint16_t  events[] = {
        SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT
    };

    w = ngx_webrtc_worker;

    s->channels = ngx_pcalloc(s->pool, NGX_WEBRTC_MAX_CHANNELS
                                       * sizeof(ngx_webrtc_channel_t));
    if (s->channels == NULL) {
        return NGX_ERROR;
    }

    s->next_sid = 1;    /* the DTLS server opens odd streams */

    usrsctp_register_address(s);

    sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP,
                          ngx_webrtc_sctp_receive, NULL, 0, s);
    if (sock == NULL) {
        ngx_log_error(NGX_LOG_ERR, &s->log, ngx_errno,
                      "webrtc: usrsctp_socket() failed");
        usrsctp_deregister_address(s);
        return NGX_ERROR;
    }

    s->sctp = sock;

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
    on = (int) w->wmcf->dc_max_buffered;
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
    sconn.sconn_addr = s;

    if (usrsctp_bind(sock, (struct sockaddr *) &sconn, sizeof(sconn)) != 0) {
        ngx_log_error(NGX_LOG_ERR, &s->log, ngx_errno,
                      "webrtc: usrsctp_bind() failed");
        goto failed;
    }

    sconn.sconn_port = htons((uint16_t) s->sctp_port);

    if (usrsctp_connect(sock, (struct sockaddr *) &sconn, sizeof(sconn)) != 0
        && ngx_errno != EINPROGRESS)
    {
        ngx_log_error(NGX_LOG_ERR, &s->log, ngx_errno,
                      "webrtc: usrsctp_connect() failed");
        goto failed;
    }

    ngx_queue_insert_tail(&w->data_sessions, &s->data_queue);

    if (s->st) {
        /* only what is sent from now on */
        s->dcursor = s->st->dwrite;
    }

    if (w->nsctp++ == 0) {
        w->sctp_time = ngx_current_msec;
        ngx_add_timer(&w->sctp_timer, NGX_WEBRTC_SCTP_TICK);
    }

    return NGX_OK;

failed:

    usrsctp_close(sock);
    usrsctp_deregister_address(s);
    s->sctp = NULL;

    return NGX_ERROR;
}


void
ngx_webrtc_sctp_close(ngx_webrtc_session_t *s)
{
    ngx_webrtc_worker_t  *w;

    if (s->sctp == NULL) {
        return;
    }

    w = ngx_webrtc_worker;

    usrsctp_close(s->sctp);
    usrsctp_deregister_address(s);
    s->sctp = NULL;

    ngx_queue_remove(&s->data_queue);

    if (--w->nsctp == 0 && w->sctp_timer.timer_set) {
        ngx_del_timer(&w->sctp_timer);
    }

    if (s->reasm) {
        ngx_free(s->reasm);
        s->reasm = NULL;
    }
}


void
ngx_webrtc_sctp_input(ngx_webrtc_session_t *s, u_char *buf, size_t len)
{
    if (s->sctp) {
        usrsctp_conninput(s, buf, len, 0);
    }
}


/* SCTP packets out through DTLS: each SSL_write() is one datagram */

static int
ngx_webrtc_sctp_output(void *addr, void *buf, size_t length, uint8_t tos,
    uint8_t set_df)
{
    ngx_webrtc_session_t  *s;

    s = addr;

    if (s == NULL || s->ssl == NULL || !s->dtls_done || s->closing) {
        return -1;
    }

    ERR_clear_error();

    if (SSL_write(s->ssl, buf, (int) length) <= 0) {
        return -1;
    }

    return 0;
}


static void
ngx_webrtc_sctp_timer_handler(ngx_event_t *ev)
{
    ngx_msec_t            now;
    ngx_webrtc_worker_t  *w;

    w = ev->data;
    now = ngx_current_msec;

    usrsctp_handle_timers((uint32_t) (now - w->sctp_time));
    w->sctp_time = now;

    if (w->nsctp) {
        ngx_add_timer(&w->sctp_timer, NGX_WEBRTC_SCTP_TICK);
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
    ngx_webrtc_session_t  *s;

    s = ulp_info;

    if (data == NULL) {
        return 1;
    }

    if (s == NULL || s->closing) {
        free(data);
        return 1;
    }

    if (flags & MSG_NOTIFICATION) {
        ngx_webrtc_sctp_notification(s, data, datalen);
        free(data);
        return 1;
    }

    max = s->max_message + 1;

    if (!(flags & MSG_EOR) || s->reasm_len) {
        /* a message in parts: gather it, up to the size limit */

        if (s->reasm == NULL) {
            s->reasm = ngx_alloc(max, &s->log);
            if (s->reasm == NULL) {
                free(data);
                return 1;
            }
        }

        if (s->reasm_len + datalen <= max) {
            ngx_memcpy(s->reasm + s->reasm_len, data, datalen);
        }

        s->reasm_len += datalen;
        free(data);

        if (!(flags & MSG_EOR)) {
            return 1;
        }

        p = s->reasm;
        datalen = s->reasm_len;
        s->reasm_len = 0;

        if (datalen > max) {
            s->shm->dc_dropped++;
            ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                          "webrtc: data channel message of %uz bytes "
                          "dropped: over %uz", datalen, s->max_message);
            return 1;
        }

        ngx_webrtc_sctp_message(s, rcv.rcv_sid, ntohl(rcv.rcv_ppid), p,
                                datalen);
        return 1;
    }

    ngx_webrtc_sctp_message(s, rcv.rcv_sid, ntohl(rcv.rcv_ppid), data,
                            datalen);
    free(data);

    return 1;
}


static void
ngx_webrtc_sctp_notification(ngx_webrtc_session_t *s, u_char *data,
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
            ngx_log_error(NGX_LOG_INFO, &s->log, 0,
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

            ch = ngx_webrtc_channel_find(s, srs->strreset_stream_list[i]);

            if (ch) {
                ch->used = 0;
                s->shm->channels--;
            }
        }

        break;
    }
}


static void
ngx_webrtc_sctp_message(ngx_webrtc_session_t *s, uint16_t sid, uint32_t ppid,
    u_char *data, size_t len)
{
    int                    kind;
    ngx_str_t              label;
    ngx_uint_t             i, origin;
    ngx_webrtc_dcep_t      d;
    ngx_webrtc_channel_t  *ch;
    u_char                 ack[4];

    if (ppid == NGX_WEBRTC_PPID_DCEP) {

        if (ngx_webrtc_dcep_parse(&d, data, len) != NGX_WEBRTC_PARSE_OK) {
            ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                          "webrtc: invalid DCEP message dropped");
            return;
        }

        if (d.type == NGX_WEBRTC_DCEP_ACK) {
            return;
        }

        /* DATA_CHANNEL_OPEN */

        ch = ngx_webrtc_channel_find(s, sid);

        if (ch == NULL) {
            for (i = 0; i < NGX_WEBRTC_MAX_CHANNELS; i++) {
                if (!s->channels[i].used) {
                    ch = &s->channels[i];
                    break;
                }
            }

            if (ch == NULL) {
                ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                              "webrtc: too many data channels");
                return;
            }

            s->shm->channels++;
        }

        ch->used = 1;
        ch->sid = sid;
        ch->type = d.channel_type;
        ch->reliability = d.reliability;
        ch->label_len = ngx_min(d.label.len, NGX_WEBRTC_LABEL_MAX);
        ngx_memcpy(ch->label, d.label.data, ch->label_len);

        ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                      "webrtc: data channel \"%*s\" opened on stream %ui",
                      ch->label_len, ch->label, (ngx_uint_t) sid);

        (void) ngx_webrtc_sctp_send(s, ch, NGX_WEBRTC_PPID_DCEP, ack,
                                    ngx_webrtc_dcep_write_ack(ack,
                                                              sizeof(ack)));
        return;
    }

    kind = ngx_webrtc_dc_kind(ppid);
    ch = ngx_webrtc_channel_find(s, sid);

    if (kind < 0 || ch == NULL) {
        return;
    }

    if (ppid == NGX_WEBRTC_PPID_STRING_EMPTY
        || ppid == NGX_WEBRTC_PPID_BINARY_EMPTY)
    {
        len = 0;
    }

    s->shm->dc_msgs_in++;
    s->shm->dc_bytes_in += len;

    if (s->st == NULL) {
        return;
    }

    if (s->role == NGX_WEBRTC_ROLE_VIEWER) {
        if (s->dc_viewers == NGX_WEBRTC_DC_OFF) {
            s->shm->dc_dropped++;
            return;
        }

        /* the sender's location decides where its messages go */
        origin = (s->dc_viewers == NGX_WEBRTC_DC_ALL)
                 ? NGX_WEBRTC_ORIGIN_VIEWER_ALL : NGX_WEBRTC_ORIGIN_VIEWER;

    } else {
        origin = NGX_WEBRTC_ORIGIN_PUBLISHER;
    }

    label.data = ch->label;
    label.len = ch->label_len;

    if (ngx_webrtc_data_write(s->st, origin, s->id, &label, kind, data, len)
        != NGX_OK)
    {
        s->shm->dc_dropped++;
    }
}


static ngx_webrtc_channel_t *
ngx_webrtc_channel_find(ngx_webrtc_session_t *s, uint16_t sid)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_WEBRTC_MAX_CHANNELS; i++) {
        if (s->channels[i].used && s->channels[i].sid == sid) {
            return &s->channels[i];
        }
    }

    return NULL;
}


static ngx_webrtc_channel_t *
ngx_webrtc_channel_by_label(ngx_webrtc_session_t *s, u_char *label,
    size_t len)
{
    size_t                 n;
    ngx_str_t              l, proto;
    ngx_uint_t             i;
    ngx_webrtc_channel_t  *ch;
    u_char                 open[16 + NGX_WEBRTC_LABEL_MAX];

    for (i = 0; i < NGX_WEBRTC_MAX_CHANNELS; i++) {
        ch = &s->channels[i];

        if (ch->used && ch->label_len == len
            && ngx_memcmp(ch->label, label, len) == 0)
        {
            return ch;
        }
    }

    /* none of that name: the server opens one (an odd stream id) */

    for (i = 0; i < NGX_WEBRTC_MAX_CHANNELS; i++) {
        if (!s->channels[i].used) {
            break;
        }
    }

    if (i == NGX_WEBRTC_MAX_CHANNELS || s->next_sid > 1023) {
        return NULL;
    }

    /* a peer may use odd ids too (aiortc picks them by its ICE role) */
    while (ngx_webrtc_channel_find(s, s->next_sid) != NULL) {
        s->next_sid += 2;
    }

    if (s->next_sid > 1023) {
        return NULL;
    }

    ch = &s->channels[i];
    ch->used = 1;
    ch->sid = s->next_sid;
    ch->type = 0;
    ch->reliability = 0;
    ch->label_len = ngx_min(len, NGX_WEBRTC_LABEL_MAX);
    ngx_memcpy(ch->label, label, ch->label_len);

    s->next_sid += 2;

    l.data = ch->label;
    l.len = ch->label_len;
    ngx_str_null(&proto);

    n = ngx_webrtc_dcep_write_open(open, sizeof(open), 0, 0, 0,
                                   (ngx_webrtc_str_t *) &l,
                                   (ngx_webrtc_str_t *) &proto);

    if (n == 0
        || ngx_webrtc_sctp_send(s, ch, NGX_WEBRTC_PPID_DCEP, open, n)
           != NGX_OK)
    {
        ch->used = 0;
        return NULL;
    }

    s->shm->channels++;

    return ch;
}


static ngx_int_t
ngx_webrtc_sctp_send(ngx_webrtc_session_t *s, ngx_webrtc_channel_t *ch,
    uint32_t ppid, u_char *data, size_t len)
{
    ssize_t                 n;
    struct sctp_sendv_spa   spa;
    u_char                  zero;

    if (s->sctp == NULL) {
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

    n = usrsctp_sendv(s->sctp, data, len, NULL, 0, &spa, sizeof(spa),
                      SCTP_SENDV_SPA, 0);

    if (n < 0) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A message into the stream's ring, under the zone's lock: many workers
 * write.  Readers check "dreserved" after copying, so a record the
 * writer started to overwrite is never delivered torn.
 */

ngx_int_t
ngx_webrtc_data_write(ngx_webrtc_shm_stream_t *st, ngx_uint_t origin,
    u_char *origin_id, ngx_str_t *label, ngx_uint_t binary, u_char *data,
    size_t len)
{
    size_t                        size, room;
    uint64_t                      pos;
    ngx_uint_t                    log;
    ngx_time_t                   *tp;
    ngx_slab_pool_t              *shpool;
    ngx_webrtc_drec_t            *rec;
    ngx_http_webrtc_main_conf_t  *wmcf;

    wmcf = ngx_webrtc_worker->wmcf;

    if (len > wmcf->dc_max_message) {
        return NGX_DECLINED;
    }

    size = ngx_align(sizeof(ngx_webrtc_drec_t) + label->len + len, 8);

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    if (st->dring == NULL
        && ngx_webrtc_dring_init_locked(shpool, st) != NGX_OK)
    {
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_ERROR;
    }

    /* webrtc_data_rate: messages a second per stream */

    tp = ngx_timeofday();

    if (st->drate_sec != tp->sec) {
        st->drate_sec = tp->sec;
        st->drate_count = 0;
    }

    if (wmcf->dc_rate && ++st->drate_count > wmcf->dc_rate) {

        /* logged once a flood: not again while the seconds go on dropping */
        log = (st->drate_dropped != tp->sec && st->drate_dropped != tp->sec - 1);
        st->drate_dropped = tp->sec;

        ngx_shmtx_unlock(&shpool->mutex);

        if (log) {
            ngx_log_error(NGX_LOG_INFO, ngx_webrtc_worker->log, 0,
                          "webrtc: stream \"%*s\" sends more than %ui "
                          "messages a second, dropping", st->name_len,
                          st->name, wmcf->dc_rate);
        }

        return NGX_DECLINED;
    }

    pos = st->dwrite;
    room = NGX_WEBRTC_DRING_SIZE - (pos & NGX_WEBRTC_DRING_MASK);

    if (room < size) {
        /* no wrapping inside a record: pad to the end of the ring */
        st->dreserved = pos + room + size;
        ngx_memory_barrier();

        rec = (ngx_webrtc_drec_t *) (st->dring + (pos & NGX_WEBRTC_DRING_MASK));
        rec->id = 0;
        rec->size = (uint32_t) room;
        pos += room;

    } else {
        st->dreserved = pos + size;
        ngx_memory_barrier();
    }

    rec = (ngx_webrtc_drec_t *) (st->dring + (pos & NGX_WEBRTC_DRING_MASK));

    rec->id = ++st->dnext_id;
    rec->size = (uint32_t) size;
    rec->len = (uint32_t) len;
    rec->label_len = (uint16_t) label->len;
    rec->binary = (uint8_t) binary;
    rec->origin = (uint8_t) origin;
    ngx_memcpy(rec->origin_id, origin_id, 8);

    ngx_memcpy((u_char *) (rec + 1), label->data, label->len);
    ngx_memcpy((u_char *) (rec + 1) + label->len, data, len);

    st->dids[rec->id % NGX_WEBRTC_DRING_IDS] = pos;

    ngx_memory_barrier();
    st->dwrite = pos + size;

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_webrtc_data_wake_all(st);

    return NGX_OK;
}


ngx_int_t
ngx_webrtc_dring_init_locked(ngx_slab_pool_t *shpool,
    ngx_webrtc_shm_stream_t *st)
{
    if (st->dring) {
        return NGX_OK;
    }

    st->dring = ngx_slab_alloc_locked(shpool, NGX_WEBRTC_DRING_SIZE);
    if (st->dring == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* every worker with readers of the stream, and the publisher's, is woken */

void
ngx_webrtc_data_wake_all(ngx_webrtc_shm_stream_t *st)
{
    ngx_uint_t                 i;
    ngx_webrtc_worker_t       *w;
    ngx_webrtc_shm_sworker_t  *sw;

    w = ngx_webrtc_worker;

    for (i = 0; i < NGX_WEBRTC_STREAM_WORKERS; i++) {
        sw = &st->workers[i];

        if (sw->pid && sw->pid != ngx_pid) {
            (void) ngx_webrtc_ctl_send(sw->port, NGX_WEBRTC_CTL_WAKE,
                                       st->pub_id);
        }
    }

    if (st->pub_pid && st->pub_pid != ngx_pid) {
        (void) ngx_webrtc_ctl_send(st->pub_port, NGX_WEBRTC_CTL_WAKE,
                                   st->pub_id);
    }

    /*
     * this worker's readers: after the current handler, never from inside
     * usrsctp's receive callback
     */
    if (!w->data_event.posted) {
        ngx_post_event(&w->data_event, &ngx_posted_events);
    }
}


static void
ngx_webrtc_data_event_handler(ngx_event_t *ev)
{
    ngx_webrtc_data_pump(ev->data);
}


/* new messages to this worker's sessions and event streams */

void
ngx_webrtc_data_pump(ngx_webrtc_worker_t *w)
{
    ngx_queue_t           *q, *next;
    ngx_webrtc_session_t  *s;

    for (q = ngx_queue_head(&w->data_sessions);
         q != ngx_queue_sentinel(&w->data_sessions);
         q = next)
    {
        next = ngx_queue_next(q);
        s = ngx_queue_data(q, ngx_webrtc_session_t, data_queue);

        if (s->st && s->st->dring && s->st->dwrite != s->dcursor) {
            ngx_webrtc_data_deliver(s);
        }
    }

    ngx_http_webrtc_events_pump(w);
}


static void
ngx_webrtc_data_deliver(ngx_webrtc_session_t *s)
{
    u_char                   *p;
    uint64_t                  end;
    ngx_uint_t                own;
    ngx_webrtc_drec_t         rec;
    ngx_webrtc_channel_t     *ch;
    ngx_webrtc_shm_stream_t  *st;
    static u_char             buf[sizeof(ngx_webrtc_drec_t)
                                  + NGX_WEBRTC_LABEL_MAX
                                  + NGX_WEBRTC_DC_MESSAGE_MAX + 8];

    st = s->st;
    end = st->dwrite;
    ngx_memory_barrier();

    if (end - s->dcursor > NGX_WEBRTC_DRING_SIZE) {
        /* this reader fell a whole ring behind */
        s->shm->dc_dropped++;
        s->dcursor = end;
        return;
    }

    while (s->dcursor < end) {
        p = st->dring + (s->dcursor & NGX_WEBRTC_DRING_MASK);
        ngx_memcpy(&rec, p, sizeof(ngx_webrtc_drec_t));

        if (rec.size < sizeof(ngx_webrtc_drec_t) || rec.size > end - s->dcursor
            || (rec.id && rec.size > sizeof(buf)))
        {
            s->dcursor = end;
            return;
        }

        if (rec.id == 0) {
            s->dcursor += rec.size;
            continue;
        }

        ngx_memcpy(buf, p, rec.size);
        ngx_memory_barrier();

        if (st->dreserved - s->dcursor > NGX_WEBRTC_DRING_SIZE) {
            /* overwritten while we copied */
            s->dcursor = end;
            return;
        }

        s->dcursor += rec.size;

        own = (ngx_memcmp(rec.origin_id, s->id, 8) == 0);

        /* who gets what */

        if (s->role == NGX_WEBRTC_ROLE_PUBLISHER) {
            if (rec.origin == NGX_WEBRTC_ORIGIN_PUBLISHER) {
                continue;
            }

        } else if (own || rec.origin == NGX_WEBRTC_ORIGIN_VIEWER) {
            continue;
        }

        if (rec.len > s->max_message) {
            s->shm->dc_dropped++;
            continue;
        }

        ch = ngx_webrtc_channel_by_label(s, buf + sizeof(ngx_webrtc_drec_t),
                                         rec.label_len);
        if (ch == NULL) {
            s->shm->dc_dropped++;
            continue;
        }

        if (ngx_webrtc_sctp_send(s, ch,
                                 ngx_webrtc_dc_ppid(rec.binary, rec.len),
                                 buf + sizeof(ngx_webrtc_drec_t)
                                 + rec.label_len, rec.len)
            != NGX_OK)
        {
            /* the association's send buffer is full: the peer is slow */
            s->shm->dc_dropped++;
            continue;
        }

        s->shm->dc_msgs_out++;
        s->shm->dc_bytes_out += rec.len;
    }
}
