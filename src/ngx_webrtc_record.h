
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_RECORD_H_INCLUDED_
#define _NGX_WEBRTC_RECORD_H_INCLUDED_


#include "ngx_webrtc.h"


/*
 * A recording: one fragmented MP4 file per publish, written by the
 * packager (its init segment, then each CMAF fragment as it is cut), so
 * that the file plays while it grows and up to its last whole fragment if
 * the worker dies.  Writes never stall the worker's event loop for long.
 */


typedef struct ngx_webrtc_record_s  ngx_webrtc_record_t;


/*
 * <dir>/<stream>-<UTC start, YYYYmmdd-HHMMSS>.mp4 (a suffix when the name
 * is taken); NULL and an error logged when it cannot be created
 */
ngx_webrtc_record_t *ngx_webrtc_record_open(ngx_str_t *dir,
    ngx_str_t *stream, ngx_log_t *log);

/* appends bytes (an init segment or a fragment); NGX_ERROR: it stopped */
ngx_int_t ngx_webrtc_record_write(ngx_webrtc_record_t *rec, u_char *data,
    size_t len);

/*
 * finishes the file: a notice in the error log with its path, size and
 * duration (microseconds of media), and frees rec
 */
void ngx_webrtc_record_close(ngx_webrtc_record_t *rec, int64_t duration);


#endif /* _NGX_WEBRTC_RECORD_H_INCLUDED_ */
