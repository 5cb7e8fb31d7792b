
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_LAYER_H_INCLUDED_
#define _NGX_WEBRTC_LAYER_H_INCLUDED_


#include "ngx_webrtc_parse.h"


/*
 * The body of a WHEP layer request (draft-ietf-wish-whep, "Layer
 * selection"): {"mediaId":"<mid>","encodingId":"<rid>"} pins the video
 * of m-line <mid> to the simulcast layer <rid>; an empty body or {}
 * unpins.  spatialLayerId/temporalLayerId (SVC) are recognized so that
 * they can be refused by name.
 */
typedef struct {
    ngx_webrtc_str_t            media_id;     /* len 0: absent */
    ngx_webrtc_str_t            encoding_id;
    unsigned                    svc:1;        /* spatial/temporal ids */
    const char                 *error;
} ngx_webrtc_layer_req_t;


/*
 * Parses one flat JSON object: string, number, true, false and null
 * values; unknown members are skipped; nested values, escaped strings
 * and anything after the object are refused (NGX_WEBRTC_PARSE_ERROR with
 * req->error set).  Strings point into the input.
 */
int ngx_webrtc_layer_parse(ngx_webrtc_layer_req_t *req, u_char *p,
    size_t len);


#endif /* _NGX_WEBRTC_LAYER_H_INCLUDED_ */
