/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_DCEP_H_INCLUDED_
#define _NGX_WEBRTC_DCEP_H_INCLUDED_


#include "ngx_webrtc_parse.h"


/* SCTP payload protocol identifiers of data channels (RFC 8831 8) */
#define NGX_WEBRTC_PPID_DCEP                 50
#define NGX_WEBRTC_PPID_STRING               51
#define NGX_WEBRTC_PPID_BINARY_PARTIAL       52   /* deprecated */
#define NGX_WEBRTC_PPID_BINARY               53
#define NGX_WEBRTC_PPID_STRING_PARTIAL       54   /* deprecated */
#define NGX_WEBRTC_PPID_STRING_EMPTY         56
#define NGX_WEBRTC_PPID_BINARY_EMPTY         57


/* DCEP message types (RFC 8832 8.2.1) */
#define NGX_WEBRTC_DCEP_ACK                  0x02
#define NGX_WEBRTC_DCEP_OPEN                 0x03

/* channel types (RFC 8832 8.2.2): bit 7 unordered, low bits reliability */
#define NGX_WEBRTC_DCEP_RELIABLE             0x00
#define NGX_WEBRTC_DCEP_RELIABLE_UNORDERED   0x80
#define NGX_WEBRTC_DCEP_REXMIT               0x01
#define NGX_WEBRTC_DCEP_REXMIT_UNORDERED     0x81
#define NGX_WEBRTC_DCEP_TIMED                0x02
#define NGX_WEBRTC_DCEP_TIMED_UNORDERED      0x82

#define ngx_webrtc_dcep_ordered(ct)          (((ct) & 0x80) == 0)
#define ngx_webrtc_dcep_rexmit(ct)           (((ct) & 0x7f) == 0x01)
#define ngx_webrtc_dcep_timed(ct)            (((ct) & 0x7f) == 0x02)

/* the fixed part of DATA_CHANNEL_OPEN, before label and protocol */
#define NGX_WEBRTC_DCEP_OPEN_SIZE            12


typedef struct {
    uint8_t                     type;          /* 0x03 open, 0x02 ack */
    uint8_t                     channel_type;
    uint16_t                    priority;
    /*
     * retransmissions (rexmit) or lifetime in ms (timed); 0 for reliable
     * channels, whatever the peer sent, as RFC 8832 5.1 says to ignore it
     */
    uint32_t                    reliability;
    ngx_webrtc_str_t            label;         /* point into the message */
    ngx_webrtc_str_t            protocol;
} ngx_webrtc_dcep_t;


/*
 * Parses one DCEP message (PPID 50).  An OPEN must have a known channel
 * type and end exactly after its label and protocol; an ACK is exactly one
 * byte, and leaves the other fields zero and the strings empty.  Returns
 * NGX_WEBRTC_PARSE_OK or NGX_WEBRTC_PARSE_ERROR.
 */
int ngx_webrtc_dcep_parse(ngx_webrtc_dcep_t *d, u_char *p, size_t len);

/*
 * Write a DATA_CHANNEL_OPEN or a DATA_CHANNEL_ACK into buf (size bytes),
 * returning its length; 0 if buf is too small, the channel type unknown or
 * a string longer than 65535.  label and protocol may be NULL for empty;
 * reliability is written as 0 for reliable channel types.
 */
size_t ngx_webrtc_dcep_write_open(u_char *buf, size_t size,
    uint8_t channel_type, uint16_t priority, uint32_t reliability,
    ngx_webrtc_str_t *label, ngx_webrtc_str_t *protocol);
size_t ngx_webrtc_dcep_write_ack(u_char *buf, size_t size);


/*
 * Kind of a data channel message by PPID: 0 text (51, 54, 56), 1 binary
 * (53, 52, 57), -1 not a user message (DCEP 50 or anything else).  The
 * deprecated partial PPIDs are taken as whole messages of their kind.
 */
int ngx_webrtc_dc_kind(uint32_t ppid);

/*
 * Whether the PPID marks an empty message: its payload is one byte that
 * carries nothing and must be dropped (SCTP cannot send 0 bytes).
 */
#define ngx_webrtc_dc_empty(ppid)                                            \
    ((ppid) == NGX_WEBRTC_PPID_STRING_EMPTY                                  \
     || (ppid) == NGX_WEBRTC_PPID_BINARY_EMPTY)

/*
 * PPID to send a message of len bytes with: 51 or 53, or 56 or 57 when len
 * is 0, in which case the caller sends a single 0x00 byte as the payload
 * (RFC 8831 6.6), as browsers do.
 */
uint32_t ngx_webrtc_dc_ppid(int binary, size_t len);


/*
 * Server-Sent Events framing of data channel messages.
 *
 * ngx_webrtc_sse_len() is an upper bound of the bytes ngx_webrtc_sse_write()
 * writes for a label and a message of the given lengths (SIZE_MAX if that
 * does not fit in size_t).
 *
 * ngx_webrtc_sse_write() writes one event and returns its length:
 *
 *     id: <id>
 *     event: <label>          only for a non-empty label; CR and LF in it
 *                             become spaces
 *     data: <line>            text: one per line of the message, split at
 *                             LF, CRLF and CR as EventSource does, so the
 *                             client gets the text back with LF line ends;
 *                             an empty message is one empty data line
 *     data: <base64>          binary: standard base64 with padding
 *     <empty line>
 *
 * Any bytes are safe: the output cannot end the event early or forge
 * fields.  label may be NULL.
 */
size_t ngx_webrtc_sse_len(size_t label_len, size_t data_len, int binary);
size_t ngx_webrtc_sse_write(u_char *buf, uint64_t id, ngx_webrtc_str_t *label,
    u_char *data, size_t len, int binary);


#endif /* _NGX_WEBRTC_DCEP_H_INCLUDED_ */
