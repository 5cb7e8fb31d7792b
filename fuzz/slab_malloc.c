
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * nginx's slab allocator for the fuzz targets that link ngx_webrtc_ring.c
 * alone: the ring's memory, exactly its size, from malloc(), so that ASan
 * sees every byte past it.
 *
 * A picture of the house drawn from names alone shows an arrow from
 * ngx_webrtc_ring.c up to this file: the ring calls nginx's
 * ngx_slab_alloc_locked(), which this file stands in for in the fuzz
 * build only.  The module links nginx's own; nothing in src/ calls here.
 */


#include <stdlib.h>

#include "ngx_webrtc_ring.h"


void *
ngx_slab_alloc_locked(ngx_slab_pool_t *pool, size_t size)
{
    return malloc(size);
}


void
ngx_slab_free_locked(ngx_slab_pool_t *pool, void *p)
{
    free(p);
}
