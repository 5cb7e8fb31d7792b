
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_data.h"


/*
 * Messages of a stream between its sessions: a publisher's reach its
 * viewers; a viewer's reach the publisher, or everyone, as its
 * location's webrtc_data_from_viewers says; an HTTP POST's reach all.
 * Nobody gets its own messages back.
 */


static void ngx_webrtc_data_message(void *data, ngx_str_t *label,
    ngx_uint_t binary, u_char *buf, size_t len);
static void ngx_webrtc_data_read(ngx_webrtc_reader_t *rd, ngx_uint_t event);


static u_char  ngx_webrtc_data_buf[NGX_WEBRTC_MSG_MAX];


/* DTLS is up: the association starts, the session reads the stream */

ngx_int_t
ngx_webrtc_data_start(ngx_webrtc_data_t *dc, size_t sndbuf)
{
    dc->sctp.message = ngx_webrtc_data_message;
    dc->sctp.data = dc;

    if (ngx_webrtc_sctp_start(&dc->sctp, sndbuf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (dc->st == NULL) {
        return NGX_OK;
    }

    /* only what is sent from now on */
    dc->cursor = dc->st->mring.write;

    dc->reader.st = dc->st;
    dc->reader.handler = ngx_webrtc_data_read;
    dc->reader.data = dc;

    return ngx_webrtc_stream_reader_add(&dc->reader);
}


void
ngx_webrtc_data_close(ngx_webrtc_data_t *dc)
{
    ngx_webrtc_stream_reader_del(&dc->reader);
    ngx_webrtc_sctp_close(&dc->sctp);
}


/* a message from the peer */

static void
ngx_webrtc_data_message(void *data, ngx_str_t *label, ngx_uint_t binary,
    u_char *buf, size_t len)
{
    ngx_uint_t                 origin;
    ngx_webrtc_data_t         *dc;
    ngx_webrtc_shm_session_t  *stats;

    dc = data;
    stats = dc->sctp.stats;

    stats->dc_msgs_in++;
    stats->dc_bytes_in += len;

    if (dc->st == NULL) {
        return;
    }

    if (dc->role == NGX_WEBRTC_ROLE_VIEWER) {
        if (dc->from_viewers == NGX_WEBRTC_DC_OFF) {
            stats->dc_dropped++;
            return;
        }

        /* the sender's location decides where its messages go */
        origin = (dc->from_viewers == NGX_WEBRTC_DC_ALL)
                 ? NGX_WEBRTC_ORIGIN_VIEWER_ALL : NGX_WEBRTC_ORIGIN_VIEWER;

    } else {
        origin = NGX_WEBRTC_ORIGIN_PUBLISHER;
    }

    if (ngx_webrtc_stream_message(dc->st, origin, dc->id, label, binary, buf,
                                  len)
        != NGX_OK)
    {
        stats->dc_dropped++;
    }
}


/* new messages in the stream's ring: those for this peer go out */

static void
ngx_webrtc_data_read(ngx_webrtc_reader_t *rd, ngx_uint_t event)
{
    ngx_int_t                  rc;
    ngx_str_t                  label;
    ngx_uint_t                 own;
    ngx_webrtc_msg_t          *msg;
    ngx_webrtc_data_t         *dc;
    ngx_webrtc_shm_session_t  *stats;

    dc = rd->data;
    stats = dc->sctp.stats;

    if (event != NGX_WEBRTC_READ_NEW || dc->sctp.closing) {
        return;
    }

    msg = (ngx_webrtc_msg_t *) ngx_webrtc_data_buf;

    for ( ;; ) {
        rc = ngx_webrtc_mring_read(&dc->st->mring, &dc->cursor,
                                   ngx_webrtc_data_buf);

        if (rc == NGX_DONE) {
            return;
        }

        if (rc == NGX_ABORT) {
            /* this reader fell a whole ring behind */
            stats->dc_dropped++;
            return;
        }

        own = (ngx_memcmp(msg->origin_id, dc->id, 8) == 0);

        /* who gets what */

        if (dc->role == NGX_WEBRTC_ROLE_PUBLISHER) {
            if (msg->origin == NGX_WEBRTC_ORIGIN_PUBLISHER) {
                continue;
            }

        } else if (own || msg->origin == NGX_WEBRTC_ORIGIN_VIEWER) {
            continue;
        }

        label.data = (u_char *) (msg + 1);
        label.len = msg->label_len;

        if (ngx_webrtc_sctp_send(&dc->sctp, &label, msg->binary,
                                 label.data + label.len, msg->len)
            != NGX_OK)
        {
            stats->dc_dropped++;
            continue;
        }

        stats->dc_msgs_out++;
        stats->dc_bytes_out += msg->len;
    }
}
