// A fast decoder for result batches (mutuo/v1/results/{agent}), for the
// receiver, which decodes every batch of every agent.
//
// decode_results() (results.h) is the reference: it parses the payload into a
// JSON tree and then reads the fields from it, which costs a few allocations per
// value. try_decode_results_fast() reads the payload in one pass straight into
// a ResultBatch and applies every rule of the reference decoder on the way
// (types, ranges, ids, required and paired fields, nesting, size). It only
// ever accepts: for any payload it does not accept outright (a rule broken, or
// something it leaves to the reference, such as escaped strings, non-ASCII
// text, negative numbers, duplicate keys or a byte order mark) it returns
// false, and decode_results_fast() asks the reference decoder for the verdict.
//
// The contract, checked by tests/unit/results_fast_test.cpp on the schema's
// examples and on many mutated and random payloads: whenever
// try_decode_results_fast() accepts a payload, decode_results() accepts it too
// and decodes exactly the same batch. So decode_results_fast() accepts,
// rejects and explains exactly as decode_results() does.
#pragma once

#include <string_view>

#include "common/messages/results.h"
#include "common/result.h"

namespace mutuo {

// Decodes `payload` into `*out` and returns true, or returns false (leaving
// `*out` in an unspecified state) when it does not accept it outright.
bool try_decode_results_fast(std::string_view payload, ResultBatch* out);

// Same verdict, batch and error text as decode_results(payload); fast for
// well-formed batches of plain ASCII.
Result<ResultBatch> decode_results_fast(std::string_view payload);

}  // namespace mutuo
