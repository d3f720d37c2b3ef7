// tickwire.v1.PriceStream on the generated service's raw callback method:
// StreamPrices gets a reactor over ByteBuffers, so a price encoded once can be
// written to every stream as it is.
#pragma once

#include "hub.h"
#include "tickwire/v1/price_stream.grpc.pb.h"

class PriceStreamService final
    : public tickwire::v1::PriceStream::WithRawCallbackMethod_StreamPrices<tickwire::v1::PriceStream::Service> {
 public:
  PriceStreamService(Hub* hub, int buffer_bound) : hub_(hub), buffer_bound_(buffer_bound) {}

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* StreamPrices(
      grpc::CallbackServerContext* context) override;

 private:
  Hub* const hub_;
  const int buffer_bound_;
};
