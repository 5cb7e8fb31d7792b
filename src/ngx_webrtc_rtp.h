
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_RTP_H_INCLUDED_
#define _NGX_WEBRTC_RTP_H_INCLUDED_


#include "ngx_webrtc_parse.h"


typedef struct {
    unsigned                    marker:1;
    unsigned                    padding:1;
    unsigned                    extension:1;
    unsigned                    pt;
    uint16_t                    seq;
    uint32_t                    ts;
    uint32_t                    ssrc;
    u_char                     *ext;          /* extension data, or NULL */
    size_t                      ext_len;
    uint16_t                    ext_profile;  /* 0xBEDE, 0x100x, ... */
    u_char                     *payload;
    size_t                      payload_len;  /* padding removed */
} ngx_webrtc_rtp_t;


/* RFC 3550 header; -1 on anything malformed (version, lengths, padding) */
int ngx_webrtc_rtp_parse(ngx_webrtc_rtp_t *rtp, u_char *p, size_t len);

/*
 * Finds a one-byte (0xBEDE) or two-byte (0x100x) header extension element
 * by id; returns its data and sets *len, or NULL.
 */
u_char *ngx_webrtc_rtp_ext_find(ngx_webrtc_rtp_t *rtp, unsigned id,
    size_t *len);


/*
 * The RtpStreamId (RFC 8852) in element id of the packet: an RTP stream
 * id is 1..16 alphanumerics (RFC 8851 allows '-' and '_'); trailing NULs
 * (some senders pad) are cut.  Returns NGX_WEBRTC_PARSE_OK and the id in
 * rid, else NGX_WEBRTC_PARSE_ERROR (absent or not an id).
 */
#define NGX_WEBRTC_RID_MAX  16

int ngx_webrtc_rtp_rid(ngx_webrtc_rtp_t *rtp, unsigned id,
    ngx_webrtc_str_t *rid);


/* receiver statistics of one source, RFC 3550 appendix A.1, A.3, A.8 */
typedef struct {
    uint16_t                    max_seq;
    uint32_t                    cycles;
    uint32_t                    base_seq;
    uint32_t                    bad_seq;
    uint32_t                    probation;
    uint32_t                    received;
    uint32_t                    expected_prior;
    uint32_t                    received_prior;
    uint32_t                    transit;
    uint32_t                    jitter;       /* in timestamp units << 4 */
    unsigned                    started:1;
    uint64_t                    recv_mask;    /* bit n: max_seq - n seen */
} ngx_webrtc_rtp_source_t;


/*
 * Counts one packet; zero the structure before the first.  arrival is the
 * arrival time in the stream's clock units.  Returns 0 for a packet
 * counted, 1 for a duplicate or too old sequence number, which the caller
 * may still forward.
 */
int ngx_webrtc_rtp_source_update(ngx_webrtc_rtp_source_t *s, uint16_t seq,
    uint32_t ts, uint32_t arrival);

/* packets lost so far (expected - received), never negative */
uint32_t ngx_webrtc_rtp_source_lost(ngx_webrtc_rtp_source_t *s);


/*
 * The numbering of packets as they go out.  A viewer's SRTP index (ROC <<
 * 16 | SEQ, RFC 3711 3.3.1) is the AES-GCM nonce (the AES-CM counter):
 * two payloads under one index give the plaintexts (and GCM's key for
 * the tag) away.  So a stream gives each packet it keeps a 48-bit index
 * of its own that no other packet of the track gets, and a viewer's
 * index is the stream's plus an offset; a retransmission resends the kept
 * packet under the same index.
 */

#define NGX_WEBRTC_INDEX_NONE       ((uint64_t) -1)


/*
 * A stream's numbering of one track: its publisher's sources, one after
 * the other.  A new source goes on right after the last index given; a
 * packet ahead of the last gets its place (gaps are kept: the viewers
 * see the loss); a late one gets its place only if that is among the last
 * 64, of its own source, and not taken; else NGX_WEBRTC_INDEX_NONE.
 * Zero the structure before the first packet; source = 0: the next packet
 * starts a new source even with the same SSRC.
 */
typedef struct {
    uint64_t                    next;         /* the next new index */
    uint64_t                    floor;        /* the source's first */
    uint64_t                    given;        /* bit i: next - 1 - i */
    uint32_t                    ssrc;         /* the source numbered */
    uint16_t                    off;          /* its seq + off: ours */
    unsigned                    source:1;     /* ssrc is set */
} ngx_webrtc_renumber_t;

uint64_t ngx_webrtc_renumber(ngx_webrtc_renumber_t *rn, uint32_t ssrc,
    uint16_t seq);


/*
 * A viewer's numbering of one track: the stream's index plus an offset,
 * set by start() from the first packet's index and the viewer's first
 * sequence number (below 2^15: no ROC change before a packet it gets).
 * Its receiver tells the ROC from the sequence number alone: an index
 * that far ahead moves the offset so that the viewer's numbering goes on
 * from its highest (the packets before are not sent again), an index
 * that far behind or before the offset's first is not sent
 * (NGX_WEBRTC_INDEX_NONE).  resend: a retransmission, which moves
 * nothing.
 */
typedef struct {
    int64_t                     off;          /* stream index + off: ours */
    uint64_t                    floor;        /* ours since the offset */
    uint64_t                    next;         /* highest sent + 1 */
} ngx_webrtc_out_index_t;

void ngx_webrtc_out_index_start(ngx_webrtc_out_index_t *o, uint64_t index,
    uint16_t first);
uint64_t ngx_webrtc_out_index(ngx_webrtc_out_index_t *o, uint64_t index,
    int resend);
/*
 * The next packet, of this index, goes out right after the highest sent,
 * and nothing before it is sent again: a viewer that skipped packets
 * (ICE-TCP backpressure) or moved to another numbering (a simulcast
 * layer).
 */
void ngx_webrtc_out_index_resume(ngx_webrtc_out_index_t *o, uint64_t index);


#endif /* _NGX_WEBRTC_RTP_H_INCLUDED_ */
