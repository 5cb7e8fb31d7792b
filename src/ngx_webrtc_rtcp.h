
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_RTCP_H_INCLUDED_
#define _NGX_WEBRTC_RTCP_H_INCLUDED_


#include "ngx_webrtc_rtp.h"


/* RFC 3550, 4585, 5104 */

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


#endif /* _NGX_WEBRTC_RTCP_H_INCLUDED_ */
