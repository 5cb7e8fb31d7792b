
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_TCP_FRAME_H_INCLUDED_
#define _NGX_WEBRTC_TCP_FRAME_H_INCLUDED_


#include "ngx_webrtc_parse.h"


/*
 * RFC 4571 framing of ICE-TCP (RFC 6544): every STUN, DTLS, RTP and RTCP
 * packet on the stream is preceded by its length, 2 bytes big-endian.
 * The reader takes the bytes as they arrive and gives packets back, free
 * of nginx so that the unit test and the fuzz target drive it alone.
 */


/*
 * The largest packet a peer may send over TCP: what it would send over
 * UDP (its MTU, 1200-1500 bytes) with room to spare.  A length of 0 or
 * above this is a broken or hostile peer.
 */
#define NGX_WEBRTC_TCP_FRAME_MAX   2048


typedef struct {
    size_t                      len;          /* of the current packet */
    size_t                      have;         /* of it in buf */
    unsigned                    nhdr;         /* length bytes seen */
    u_char                      hdr[2];
    u_char                      buf[NGX_WEBRTC_TCP_FRAME_MAX];
} ngx_webrtc_tcp_frame_t;


/*
 * Reads from p (n > 0 bytes) until a packet is complete or the input
 * ends; returns the bytes consumed, and sets *pkt (NULL: not yet) and
 * *pkt_len.  A packet is in p itself when it arrived whole, else in the
 * reader's buffer; either way valid until the next call.  Returns -1
 * for a length of 0 or above NGX_WEBRTC_TCP_FRAME_MAX: close the stream.
 */
ssize_t ngx_webrtc_tcp_frame_read(ngx_webrtc_tcp_frame_t *f, u_char *p,
    size_t n, u_char **pkt, size_t *pkt_len);


#endif /* _NGX_WEBRTC_TCP_FRAME_H_INCLUDED_ */
