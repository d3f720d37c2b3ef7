/* What tw-load does with each StreamResponse: classify it by its first byte,
   and decode only what a figure needs (sampled prices, batches, statuses). */
#ifndef TW_MESSAGE_SINK_H
#define TW_MESSAGE_SINK_H

#include "grpc_frames.h"

/* A grpc_message_fn; ctx is the struct load_stream the message arrived on. */
void message_sink_take(void *ctx, const struct grpc_message *message);

#endif
