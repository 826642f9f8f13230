//===- Error.h - the runtime's exception type -------------------*- C++ -*-===//
//
// Every invalid argument the runtime detects (shape mismatch, wrong dtype,
// out-of-range id, ...) throws heed::rt::Error with a message naming the op and
// the offending shapes/values. The frontend checks shapes statically, so most of
// these are internal-consistency checks; ids come from data at run time.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <stdexcept>
#include <string>

namespace heed::rt {

class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

}  // namespace heed::rt
