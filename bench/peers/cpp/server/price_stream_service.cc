#include "price_stream_service.h"

#include "price_stream_call.h"

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* PriceStreamService::StreamPrices(
    grpc::CallbackServerContext* context) {
  // Deletes itself in OnDone, as callback reactors do.
  return new PriceStreamCall(context, hub_, buffer_bound_);
}
