
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


typedef struct {
    unsigned                    keyframe:1;   /* packet starts/holds a key */
    unsigned                    frame_start:1;
    unsigned                    has_size:1;
    unsigned                    width;
    unsigned                    height;
} ngx_webrtc_frame_info_t;


/*
 * Inspects one RTP payload of the given codec: H264 (RFC 6184: single NAL,
 * STAP-A, FU-A; IDR = keyframe; SPS gives the size), H265 (RFC 7798: IRAP
 * NAL types 16..21, AP, FU; SPS gives the size), VP8 (RFC 7741: payload
 * descriptor, keyframe bit and frame header size), VP9 (RFC 9628 draft
 * descriptor: P bit, SS data size), AV1 (RTP spec aggregation header N bit;
 * sequence header size when present).  Returns -1 when the payload is
 * malformed for that codec; info is cleared first.
 */
int ngx_webrtc_frame_inspect(ngx_webrtc_codec_e codec, u_char *p, size_t len,
    ngx_webrtc_frame_info_t *info);


/* RTCP (RFC 3550, 4585, 5104) */

#define NGX_WEBRTC_RTCP_MAX_REPORTS  4

typedef struct {
    uint32_t                    ssrc;
    uint8_t                     fraction_lost;
    int32_t                     cumulative_lost;
    uint32_t                    highest_seq;
    uint32_t                    jitter;
    uint32_t                    lsr;
    uint32_t                    dlsr;
} ngx_webrtc_rtcp_report_t;


typedef struct {
    /* sender report, if one was in the compound packet */
    unsigned                    has_sr:1;
    uint32_t                    sr_ssrc;
    uint64_t                    sr_ntp;
    uint32_t                    sr_rtp_ts;
    uint32_t                    sr_packets;
    uint32_t                    sr_octets;

    ngx_webrtc_rtcp_report_t    reports[NGX_WEBRTC_RTCP_MAX_REPORTS];
    unsigned                    nreports;

    unsigned                    pli;          /* count of PLI */
    unsigned                    fir;          /* count of FIR */
    uint32_t                    pli_ssrc;     /* media ssrc of the last */
    unsigned                    nack_packets; /* count of generic NACKs */
    unsigned                    bye:1;
} ngx_webrtc_rtcp_info_t;


/*
 * Walks a compound RTCP packet (plaintext, after SRTCP unprotect) and
 * summarises it.  Returns -1 if any packet's header or length is malformed.
 */
int ngx_webrtc_rtcp_parse(ngx_webrtc_rtcp_info_t *info, u_char *p,
    size_t len);

/*
 * Calls handler for each (pid, blp) pair of every generic NACK (RFC 4585
 * 6.2.1) in a compound packet, at most max pairs; returns the number seen
 * or -1 on malformed input.
 */
int ngx_webrtc_rtcp_nacks(u_char *p, size_t len, unsigned max,
    void (*handler)(void *data, uint32_t media_ssrc, uint16_t pid,
    uint16_t blp), void *data);


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
 * Builders: each writes one RTCP packet into buf (size bytes) and returns
 * its length, or 0 if buf is too small.  Receiver report with one block
 * computed from s (updates the prior counters), or no block if s is NULL;
 * lsr is the middle 32 bits of the last SR's NTP time and dlsr the delay
 * since, in 1/65536 s.
 */
size_t ngx_webrtc_rtcp_write_rr(u_char *buf, size_t size, uint32_t ssrc,
    uint32_t media_ssrc, ngx_webrtc_rtp_source_t *s, uint32_t lsr,
    uint32_t dlsr);
size_t ngx_webrtc_rtcp_write_pli(u_char *buf, size_t size, uint32_t ssrc,
    uint32_t media_ssrc);
size_t ngx_webrtc_rtcp_write_sr(u_char *buf, size_t size, uint32_t ssrc,
    uint64_t ntp, uint32_t rtp_ts, uint32_t packets, uint32_t octets);
size_t ngx_webrtc_rtcp_write_fir(u_char *buf, size_t size, uint32_t ssrc,
    uint32_t media_ssrc, uint8_t seq_nr);


#endif /* _NGX_WEBRTC_RTP_H_INCLUDED_ */
