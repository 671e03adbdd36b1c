#pragma once
namespace smooch {
/// The library version, e.g. "0.1.0"; sent as `User-Agent: smooch-cpp/<version>`.
const char* version() noexcept;
}  // namespace smooch
