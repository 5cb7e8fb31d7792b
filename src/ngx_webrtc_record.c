
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_record.h"


/*
 * The file is written with plain write(2) calls of one fragment each (a
 * part: some tens of kilobytes every few hundred milliseconds), which go
 * to the page cache; a write that fails or comes up short ends the
 * recording with an error in the log, the file kept up to its last whole
 * fragment.
 *
 * A worker killed inside a write would leave half a fragment, which
 * players do not skip (ffmpeg: "partial file", "Invalid NAL unit size").
 * So a fragment goes in with its moof box named "free", and is renamed
 * "moof" by a 4-byte pwrite(2) once it is all there: a tail cut anywhere
 * is a free box and an mdat no moof points to, both skipped.
 *
 * Each write is timed, and the longest is in the notice at the end: it is
 * how long the recording held the worker's event loop (tens of
 * microseconds to the page cache; more only when the kernel throttles a
 * writer of dirty pages on a slow disk).
 */


struct ngx_webrtc_record_s {
    ngx_fd_t                    fd;
    ngx_str_t                   path;
    off_t                       size;
    ngx_uint_t                  writes;
    int64_t                     longest;      /* microseconds */
    ngx_log_t                  *log;
};


static ssize_t ngx_webrtc_record_append(ngx_webrtc_record_t *rec,
    u_char *data, size_t len);
static int64_t ngx_webrtc_record_usec(void);


ngx_webrtc_record_t *
ngx_webrtc_record_open(ngx_str_t *dir, ngx_str_t *stream, ngx_log_t *log)
{
    u_char               *p;
    ngx_tm_t              tm;
    ngx_uint_t            n;
    ngx_webrtc_record_t  *rec;

    rec = ngx_calloc(sizeof(ngx_webrtc_record_t), log);
    if (rec == NULL) {
        return NULL;
    }

    rec->log = log;

    /* <dir>/<stream>-YYYYmmdd-HHMMSS[-n].mp4 */

    rec->path.data = ngx_alloc(dir->len + stream->len
                               + sizeof("/-YYYYmmdd-HHMMSS-99.mp4"), log);
    if (rec->path.data == NULL) {
        ngx_free(rec);
        return NULL;
    }

    ngx_gmtime(ngx_time(), &tm);

    for (n = 0; n < 100; n++) {
        p = ngx_sprintf(rec->path.data, "%V/%V-%4d%02d%02d-%02d%02d%02d",
                        dir, stream, tm.ngx_tm_year, tm.ngx_tm_mon,
                        tm.ngx_tm_mday, tm.ngx_tm_hour, tm.ngx_tm_min,
                        tm.ngx_tm_sec);

        if (n) {
            p = ngx_sprintf(p, "-%ui", n);
        }

        p = ngx_cpymem(p, ".mp4", sizeof(".mp4"));
        rec->path.len = p - 1 - rec->path.data;

        rec->fd = ngx_open_file(rec->path.data, NGX_FILE_WRONLY,
                                NGX_FILE_CREATE_OR_OPEN|O_EXCL,
                                NGX_FILE_DEFAULT_ACCESS);

        if (rec->fd != NGX_INVALID_FILE || ngx_errno != NGX_EEXIST) {
            break;
        }
    }

    if (rec->fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "webrtc: cannot record stream \"%V\": "
                      ngx_open_file_n " \"%s\" failed", stream,
                      rec->path.data);
        ngx_free(rec->path.data);
        ngx_free(rec);
        return NULL;
    }

    ngx_log_error(NGX_LOG_INFO, log, 0, "webrtc: recording stream \"%V\" "
                  "to \"%V\"", stream, &rec->path);

    return rec;
}


ngx_int_t
ngx_webrtc_record_write(ngx_webrtc_record_t *rec, u_char *data, size_t len)
{
    ssize_t   n;
    int64_t   start, took;

    start = ngx_webrtc_record_usec();

    n = ngx_webrtc_record_append(rec, data, len);

    took = ngx_webrtc_record_usec() - start;

    ngx_log_debug3(NGX_LOG_DEBUG_CORE, rec->log, 0,
                   "webrtc record \"%V\": %uz bytes in %L us",
                   &rec->path, len, took);

    rec->writes++;

    if (took > rec->longest) {
        rec->longest = took;
    }

    if (n == (ssize_t) len) {
        rec->size += n;
        return NGX_OK;
    }

    if (n == -1) {
        ngx_log_error(NGX_LOG_ERR, rec->log, ngx_errno,
                      "webrtc: recording \"%V\" stops: write failed",
                      &rec->path);

    } else {
        ngx_log_error(NGX_LOG_ERR, rec->log, 0,
                      "webrtc: recording \"%V\" stops: %z of %uz bytes "
                      "written (disk full?)", &rec->path, n, len);

        /* the last fragment is cut short: the file ends before it */
        if (ftruncate(rec->fd, rec->size) == -1) {
            ngx_log_error(NGX_LOG_ERR, rec->log, ngx_errno,
                          "ftruncate() \"%V\" failed", &rec->path);
        }
    }

    return NGX_ERROR;
}


void
ngx_webrtc_record_close(ngx_webrtc_record_t *rec, int64_t duration)
{
    if (ngx_close_file(rec->fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, rec->log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", &rec->path);
    }

    ngx_log_error(NGX_LOG_NOTICE, rec->log, 0,
                  "webrtc: recorded \"%V\": %O bytes, %.3f s, "
                  "%ui writes, the longest %.3f ms", &rec->path, rec->size,
                  (double) duration / 1000000, rec->writes,
                  (double) rec->longest / 1000);

    ngx_free(rec->path.data);
    ngx_free(rec);
}


static ssize_t
ngx_webrtc_record_append(ngx_webrtc_record_t *rec, u_char *data, size_t len)
{
    u_char        head[8];
    ssize_t       n;
    struct iovec  iov[2];

    if (len < 8 || ngx_memcmp(data + 4, "moof", 4) != 0) {
        return ngx_write_fd(rec->fd, data, len);
    }

    ngx_memcpy(head, data, 4);
    ngx_memcpy(head + 4, "free", 4);

    iov[0].iov_base = head;
    iov[0].iov_len = 8;
    iov[1].iov_base = data + 8;
    iov[1].iov_len = len - 8;

    n = writev(rec->fd, iov, 2);

    if (n != (ssize_t) len) {
        return n;
    }

    if (pwrite(rec->fd, "moof", 4, rec->size + 4) != 4) {
        return -1;
    }

    return n;
}


/* a monotonic clock in microseconds: ngx_current_msec is too coarse */

static int64_t
ngx_webrtc_record_usec(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
